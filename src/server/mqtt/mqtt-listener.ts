import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { describeSystemError, StartupError } from '../../startup-error';
import { listen } from '../listen';
import type { MqttBroker } from './mqtt-broker';

export interface MqttListenerSettings {
  readonly host: string;
  readonly port: number;
  /** PEM files: MQTT over TLS (mqtts) instead of plain TCP. */
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
}

export interface MqttListener {
  readonly port: number;
  /** `mqtt://host:port` or `mqtts://host:port`. */
  readonly url: string;
  /** Stops accepting connections (the broker closes the open ones). */
  close(): Promise<void>;
}

/** MQTT over TCP, or TLS, on TELEMETRY_MQTT_PORT; each connection is handed to the broker. */
export async function startMqttListener(broker: MqttBroker, settings: MqttListenerSettings): Promise<MqttListener> {
  const sockets = new Set<Socket>();
  const accept = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(socket);
  };
  const server: Server = settings.tls ? createTlsServer(readTls(settings.tls), accept) : createServer(accept);
  // A TLS handshake failing (a client without the CA, a port scan) concerns that client only.
  server.on('tlsClientError', (_error, socket: Socket) => socket.destroy());
  const address = await listen(server, settings, 'TELEMETRY_MQTT_PORT');
  const host = settings.host === '0.0.0.0' || settings.host === '::' ? 'localhost' : settings.host;
  return {
    port: address.port,
    url: `${settings.tls ? 'mqtts' : 'mqtt'}://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

function readTls(files: { readonly certFile: string; readonly keyFile: string }): { cert: Buffer; key: Buffer } {
  try {
    return { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) };
  } catch (error) {
    throw new StartupError(
      `cannot read the MQTT TLS certificate or key (TELEMETRY_MQTT_TLS_CERT, TELEMETRY_MQTT_TLS_KEY): ${describeSystemError(error)}`,
      ['TELEMETRY_MQTT_TLS_CERT', 'TELEMETRY_MQTT_TLS_KEY'],
      error,
    );
  }
}
