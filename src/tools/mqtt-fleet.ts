/**
 * The simulator's devices over MQTT (`npm run simulate -- --mqtt`): one connection per device to
 * the built-in broker, as the device itself (id and device key), readings published with QoS 1
 * to `devices/{id}/readings`; what the service refuses arrives on `devices/{id}/errors`. The
 * `mqtt` package is a development dependency: loaded only when asked for.
 */
import type { MqttClient } from 'mqtt';

export interface MqttFleet {
  /** Publishes one device's readings as one message; resolves on PUBACK (the stream holds them). */
  publish(deviceId: string, readings: readonly object[]): Promise<void>;
  /** Readings the service refused, as its errors topics reported them so far. */
  readonly rejected: number;
  close(): Promise<void>;
}

export async function connectMqttFleet(url: string, keys: ReadonlyMap<string, string>): Promise<MqttFleet> {
  let mqtt: typeof import('mqtt');
  try {
    mqtt = await import('mqtt');
  } catch (error) {
    throw new Error('--mqtt needs the mqtt package: npm install mqtt', { cause: error });
  }
  const clients = new Map<string, MqttClient>();
  let rejected = 0;
  try {
    for (const [deviceId, key] of keys) {
      // mqtt.js reconnects by itself and sends again what got no PUBACK: it rides out restarts.
      const client = await mqtt.connectAsync(url, { username: deviceId, password: key, clientId: `${deviceId}-sim`, reconnectPeriod: 1000 });
      client.on('message', (_topic, payload) => {
        const answer = JSON.parse(payload.toString()) as { rejectedCount?: number };
        rejected += answer.rejectedCount ?? 1;
      });
      await client.subscribeAsync(`devices/${deviceId}/errors`, { qos: 1 });
      clients.set(deviceId, client);
    }
  } catch (error) {
    await Promise.all([...clients.values()].map((client) => client.endAsync(true)));
    throw new Error(`cannot connect to ${url} over MQTT (${(error as Error).message}); is TELEMETRY_MQTT_PORT on?`, { cause: error });
  }
  return {
    async publish(deviceId, readings) {
      await clients.get(deviceId)!.publishAsync(`devices/${deviceId}/readings`, JSON.stringify(readings), { qos: 1 });
    },
    get rejected() {
      return rejected;
    },
    async close() {
      await Promise.all([...clients.values()].map((client) => client.endAsync()));
    },
  };
}
