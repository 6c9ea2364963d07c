import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AedesPublishPacket, AuthenticateError, Client, PublishPacket } from 'aedes' with { 'resolution-mode': 'import' };
import type { Caller } from '../../domain/caller';
import { isTelemetryError, TelemetryError } from '../../domain/errors';
import { parseCommandResponse, type Command } from '../../domain/command';
import { answeredCommandId, checkDevicePublish, checkDeviceSubscribe, errorsTopic, readingsTopic, topicMatches } from '../../domain/mqtt-topics';
import type { IngestService } from '../../ingest/ingest-service';
import { ingestMqttPayload } from '../../ingest/mqtt-payload';
import type { Logger } from '../../logger';
import { loadAedes } from './load-aedes';
import { PacketSizeGuard } from './packet-size-guard';
import { CommandDelivery, type DeviceCommands } from './command-delivery';

export interface MqttBrokerOptions {
  /** Resolves an API key to its caller (the same authenticator, and cache, as HTTP). */
  readonly authenticate: (secret: string) => Promise<Caller | undefined>;
  readonly ingest: IngestService;
  /** The per-key rate limit: the error to refuse a message with (RATE_LIMITED: it waits), or undefined to admit it. */
  readonly admit: (caller: Caller) => TelemetryError | undefined;
  /** Largest payload ingested; a larger one is refused with PAYLOAD_TOO_LARGE on the errors topic. */
  readonly maxPayloadBytes: number;
  readonly maxConnectionsPerTenant: number;
  /** Longest keep-alive a client may ask for (a CONNECT asking more, or none, is refused). */
  readonly keepAliveLimitSeconds: number;
  /**
   * The command service: devices' answers, acknowledgements and subscriptions go to it
   * (command-delivery.ts). Absent: commands are never written, every answer is NOT_FOUND.
   */
  readonly commands?: DeviceCommands | undefined;
  /** Told of each device's connections opening and closing (devices/device-presence.ts). */
  readonly presence?: ConnectionPresence | undefined;
  readonly logger: Logger;
}

/** What follows a device's MQTT connections: its status (ONLINE while one is open). */
export interface ConnectionPresence {
  connected(tenantId: string, deviceId: string): void;
  disconnected(tenantId: string, deviceId: string): void;
}

export interface MqttBroker {
  /** Serves one MQTT connection (TCP, TLS, or a WebSocket's stream). */
  handle(stream: Duplex, request?: IncomingMessage): void;
  /**
   * Writes a command to the device's connections on this node subscribed to its topic; false
   * when it has none here. DELIVERED follows from the device's PUBACK (command-delivery.ts).
   */
  writeCommand(command: Command): boolean;
  /** Closes every connection authenticated with these keys (they were revoked). */
  closeConnectionsOf(keyIds: readonly string[]): void;
  /** Closes every connection of this device (it was deleted), whatever key it used. */
  closeDeviceConnections(tenantId: string, deviceId: string): void;
  /** The keys that hold connections open now. */
  connectedKeyIds(): IterableIterator<string>;
  /** Authenticated connections open now. */
  readonly connections: number;
  close(): Promise<void>;
}

/** CONNACK return codes of MQTT 3.1.1: aedes speaks 3.1.1 and 3.1 only and itself refuses an MQTT 5 CONNECT with 1 (unacceptable protocol version). */
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

/**
 * Packets beyond this are not even read: the connection is closed (packet-size-guard.ts).
 * Below it, a payload over `maxPayloadBytes` is read and refused with PAYLOAD_TOO_LARGE.
 */
export const hardPacketLimit = (maxPayloadBytes: number): number => 2 * maxPayloadBytes + 64 * 1024;

/**
 * The built-in MQTT broker (aedes), for devices: a device connects with username = its id and
 * password = its device key, publishes readings to `devices/{id}/readings`, and may subscribe
 * only under `devices/{id}/` (domain/mqtt-topics.ts).
 *
 * Exactly-once, as over HTTP: a QoS 1 PUBLISH is acknowledged only once the stream durably
 * holds its readings (aedes sends PUBACK after authorizePublish calls back, and this one calls
 * back only then); when the stream is unavailable the connection is closed without PUBACK, so
 * the device sends the message again, and event-id and natural-key dedup keep it stored once.
 * A message refused for its content (bad JSON, a bad reading, over size) is acknowledged and
 * answered on `devices/{id}/errors` with the codes and messages GraphQL and POST /ingest give;
 * sending it again would be refused again. Over the key's rate, a message waits (see admitted).
 *
 * Topics are global inside aedes while device ids are unique per tenant only, so nothing is
 * routed between clients: readings are never forwarded, and what the service says to a device
 * is written to that connection alone. A device's last will is therefore delivered to nobody:
 * its status, which the service changes itself when a connection opens or closes
 * (`presence`, published on `deviceStatusChanged`), takes the will's place. Client ids are
 * prefixed with the tenant, so devices of two tenants with the same client id do not take
 * each other's session over.
 */
export async function createMqttBroker(options: MqttBrokerOptions): Promise<MqttBroker> {
  const Aedes = await loadAedes();
  const callers = new WeakMap<Client, Caller>();
  const clientsByKey = new Map<string, Set<Client>>();
  const clientsByDevice = new Map<string, Set<Client>>();
  const deviceKey = (tenantId: string, deviceId: string) => `${tenantId}\u0000${deviceId}`;
  const connectionsByTenant = new Map<string, number>();
  let connections = 0;
  const delivery = options.commands ? new CommandDelivery(options.commands, options.logger) : undefined;

  const refuseConnect = (client: Client, returnCode: number, message: string, done: (error: AuthenticateError | null, success: boolean | null) => void) => {
    options.logger.debug({ clientId: client.id, returnCode }, `MQTT connection refused: ${message}`);
    // aedes reads `returnCode` (its AuthErrorCode, a const enum the types cannot name here).
    const error = new Error(message) as Error & { returnCode: number };
    error.returnCode = returnCode;
    done(error, false);
  };

  /** Counts an authenticated connection against its tenant and key until its stream closes. */
  const track = (client: Client, caller: Caller) => {
    connections++;
    connectionsByTenant.set(caller.tenantId, (connectionsByTenant.get(caller.tenantId) ?? 0) + 1);
    const ofKey = clientsByKey.get(caller.keyId) ?? new Set<Client>();
    ofKey.add(client);
    clientsByKey.set(caller.keyId, ofKey);
    const deviceId = caller.deviceId;
    const ofDevice = deviceId ? (clientsByDevice.get(deviceKey(caller.tenantId, deviceId)) ?? new Set<Client>()) : undefined;
    if (deviceId && ofDevice) {
      ofDevice.add(client);
      clientsByDevice.set(deviceKey(caller.tenantId, deviceId), ofDevice);
      options.presence?.connected(caller.tenantId, deviceId);
      delivery?.track(client, caller.tenantId, deviceId);
    }
    // However the connection ends (DISCONNECT, keep-alive timeout, lost socket, closed here).
    client.conn.once('close', () => {
      if (deviceId && ofDevice) {
        options.presence?.disconnected(caller.tenantId, deviceId);
        ofDevice.delete(client);
        const topic = deviceKey(caller.tenantId, deviceId);
        if (ofDevice.size === 0 && clientsByDevice.get(topic) === ofDevice) clientsByDevice.delete(topic);
      }
      connections--;
      const left = (connectionsByTenant.get(caller.tenantId) ?? 1) - 1;
      if (left === 0) connectionsByTenant.delete(caller.tenantId);
      else connectionsByTenant.set(caller.tenantId, left);
      ofKey.delete(client);
      if (ofKey.size === 0 && clientsByKey.get(caller.keyId) === ofKey) clientsByKey.delete(caller.keyId);
    });
  };

  /**
   * Tells a device on its errors topic what became of a message: on each of its connections to
   * this node that subscribed to it, not only the one that published (a device may listen on a
   * connection of its own, as `mosquitto_sub` beside `mosquitto_pub` does). Never another
   * device's connection: the listeners are found by tenant and device id.
   */
  const tell = (client: Client, deviceId: string, body: Record<string, unknown>) => {
    const topic = errorsTopic(deviceId);
    const caller = callers.get(client);
    const listeners = (caller && clientsByDevice.get(deviceKey(caller.tenantId, deviceId))) || new Set([client]);
    const payload = Buffer.from(JSON.stringify(body));
    for (const listener of listeners) {
      const subscribed = Object.keys((listener as unknown as { subscriptions: Record<string, unknown> }).subscriptions);
      if (!subscribed.some((filter) => topicMatches(filter, topic))) continue;
      listener.publish({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false }, () => {});
    }
  };

  /**
   * Waits until the key's rate admits one more message. Over the rate a message is delayed, not
   * refused: its PUBACK is held (and aedes reads no further packets of the connection meanwhile),
   * so the device slows to the rate and nothing it was told is stored is lost; it hears
   * RATE_LIMITED on its errors topic for each wait. (A refused and acknowledged message would
   * be lost for a device that does not watch its errors topic.)
   */
  const admitted = async (caller: Caller, answer: (body: Record<string, unknown>) => void): Promise<void> => {
    for (let refused = options.admit(caller); refused; refused = options.admit(caller)) {
      answer({ error: errorBody(refused) });
      const seconds = typeof refused.details?.['retryAfterSeconds'] === 'number' ? refused.details['retryAfterSeconds'] : 1;
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    }
  };

  const errorBody = (error: TelemetryError) => ({ code: error.code, message: error.message, retryable: error.retryable, ...error.details });

  const broker = new Aedes({
    keepaliveLimit: options.keepAliveLimitSeconds,
    // Nothing is routed between clients (see above): no cluster heartbeat is needed often.
    heartbeatInterval: 60_000,
    authenticate: (client, username, password, done) => {
      const secret = password?.toString('utf8');
      if (!username || !secret) {
        refuseConnect(client, BAD_USERNAME_OR_PASSWORD, 'give the device id as username and its device key as password', done);
        return;
      }
      options.authenticate(secret).then(
        (caller) => {
          const refusal = connectRefusal(caller, username, connectionsByTenant, options.maxConnectionsPerTenant);
          if (refusal || !caller) {
            refuseConnect(client, refusal?.returnCode ?? BAD_USERNAME_OR_PASSWORD, refusal?.message ?? 'unknown key', done);
            return;
          }
          callers.set(client, caller);
          // Client ids are the broker's session keys: scoped by tenant (see above).
          (client as { id: string }).id = `${caller.tenantId}/${client.id}`;
          track(client, caller);
          done(null, true);
        },
        (error: unknown) => {
          options.logger.warn({ err: error }, 'MQTT authentication failed');
          refuseConnect(client, SERVER_UNAVAILABLE, 'the service could not check the credentials; retry later', done);
        },
      );
    },
    authorizePublish: (client, packet, callback) => {
      const caller = client ? callers.get(client) : undefined;
      if (!client || !caller?.deviceId) {
        callback(new Error('not authenticated'));
        return;
      }
      const deviceId = caller.deviceId;
      // MQTT 3.1.1 has no way to refuse one PUBLISH: the connection is closed.
      const protocolRefusal =
        checkDevicePublish(deviceId, packet.topic) ??
        (packet.qos === 2 ? 'QoS 2 is not supported: publish readings with QoS 1 (each is stored exactly once)' : undefined);
      if (protocolRefusal) {
        callback(new Error(protocolRefusal));
        return;
      }
      // A retained reading would be replayed to whoever subscribes to the topic next.
      packet.retain = false;
      const answer = (body: Record<string, unknown>) => tell(client, deviceId, { topic: packet.topic, messageId: packet.messageId, ...body });
      const tooLarge = payloadRefusal(packet.payload, options.maxPayloadBytes);
      if (tooLarge) {
        answer({ error: errorBody(tooLarge) });
        callback(null);
        return;
      }
      const commandId = answeredCommandId(deviceId, packet.topic);
      if (commandId !== undefined) {
        // Never ingested as readings. Refused for its content: acknowledged, told on the errors topic.
        const commands = options.commands;
        Promise.resolve()
          .then(() => {
            const response = parseCommandResponse(toBytes(packet.payload));
            if (!commands) throw new TelemetryError('NOT_FOUND', `no command "${commandId}" for this device`);
            return commands.answer(caller, commandId, response);
          })
          .then(
            () => callback(null),
            (error: unknown) => {
              if (isTelemetryError(error) && error.code !== 'UNAVAILABLE') {
                answer({ error: errorBody(error) });
                callback(null);
                return;
              }
              options.logger.warn({ err: error, deviceId, commandId }, 'MQTT command response not acknowledged: it was not stored');
              callback(error instanceof Error ? error : new Error(String(error)));
            },
          );
        return;
      }
      admitted(caller, answer)
        .then(() => ingestMqttPayload(options.ingest, caller, toBytes(packet.payload)))
        .then(
          ({ accepted, rejected }) => {
            if (rejected.length > 0) answer({ acceptedCount: accepted.length, rejectedCount: rejected.length, rejected });
            callback(null);
          },
          (error: unknown) => {
            if (isTelemetryError(error) && error.code !== 'UNAVAILABLE') {
              answer({ error: errorBody(error) });
              callback(null);
              return;
            }
            // Nothing stored (or not known to be): no PUBACK; the device sends it again once reconnected.
            options.logger.warn({ err: error, deviceId }, 'MQTT message not acknowledged: the stream did not take it');
            callback(error instanceof Error ? error : new Error(String(error)));
          },
        );
    },
    authorizeSubscribe: (client, subscription, callback) => {
      const deviceId = callers.get(client)?.deviceId;
      // A refused filter gets SUBACK 0x80 (failure); the connection stays open.
      if (!deviceId || checkDeviceSubscribe(deviceId, subscription.topic)) {
        callback(null, null);
        return;
      }
      // Granted as asked (aedes 1.2 cannot lower the granted QoS): the service publishes nothing above QoS 1.
      callback(null, subscription);
    },
    // Only what the service writes to a device's own connection is delivered; never a reading.
    authorizeForward: (client, packet: AedesPublishPacket) => {
      const deviceId = callers.get(client)?.deviceId;
      if (!deviceId || !packet.topic.startsWith(`devices/${deviceId}/`) || packet.topic === readingsTopic(deviceId)) return null;
      return packet;
    },
  });
  await broker.listen();
  if (delivery) {
    // Whichever way a device comes to listen for its commands: a SUBSCRIBE, or a persistent session restored on CONNECT.
    const subscribed = (client: Client) => {
      const caller = callers.get(client);
      if (caller?.deviceId) delivery.onSubscriptions(client, caller.tenantId, caller.deviceId);
    };
    broker.on('subscribe', (_subscriptions, client) => subscribed(client));
    broker.on('clientReady', subscribed);
    broker.on('ack', (packet, client) => delivery.onAck(packet as AedesPublishPacket | undefined, client));
  }
  broker.on('clientError', (client, error) => options.logger.debug({ clientId: client.id, err: error }, 'MQTT connection closed on error'));
  broker.on('connectionError', (_client, error) => options.logger.debug({ err: error }, 'MQTT connection failed before CONNECT'));

  return {
    handle: (stream, request) => {
      broker.handle(stream, request);
      // After aedes' 'readable' listener: chunks are observed as aedes reads them, without
      // switching the stream to flowing mode.
      const guard = new PacketSizeGuard(hardPacketLimit(options.maxPayloadBytes));
      stream.on('data', (chunk: Buffer) => {
        if (!guard.accept(chunk)) {
          options.logger.debug({}, 'MQTT connection closed: a packet over the size limit');
          stream.destroy();
        }
      });
    },
    writeCommand: (command) => delivery?.write(command) ?? false,
    closeConnectionsOf(keyIds) {
      for (const keyId of keyIds) for (const client of clientsByKey.get(keyId) ?? []) client.close();
    },
    closeDeviceConnections(tenantId, deviceId) {
      for (const client of clientsByDevice.get(deviceKey(tenantId, deviceId)) ?? []) client.close();
    },
    connectedKeyIds: () => clientsByKey.keys(),
    get connections() {
      return connections;
    },
    close: () => new Promise<void>((resolve) => broker.close(() => resolve())),
  };
}

/** Why a caller may not connect as the device `username`; undefined when it may. */
function connectRefusal(
  caller: Caller | undefined,
  username: string,
  connectionsByTenant: ReadonlyMap<string, number>,
  maxConnectionsPerTenant: number,
): { returnCode: number; message: string } | undefined {
  if (!caller || (caller.role === 'device' && caller.deviceId !== username))
    return { returnCode: BAD_USERNAME_OR_PASSWORD, message: 'the username must be a device id and the password that device’s key' };
  if (caller.role !== 'device') return { returnCode: NOT_AUTHORIZED, message: `a ${caller.role} key cannot connect over MQTT: use the device's key` };
  if ((connectionsByTenant.get(caller.tenantId) ?? 0) >= maxConnectionsPerTenant)
    return { returnCode: SERVER_UNAVAILABLE, message: `the tenant has ${maxConnectionsPerTenant} MQTT connections open already` };
  return undefined;
}

function payloadRefusal(payload: PublishPacket['payload'], maxPayloadBytes: number): TelemetryError | undefined {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  if (size <= maxPayloadBytes) return undefined;
  return new TelemetryError('PAYLOAD_TOO_LARGE', `the MQTT payload exceeds ${maxPayloadBytes} bytes`, { details: { limit: maxPayloadBytes } });
}

const toBytes = (payload: PublishPacket['payload']): Uint8Array => (typeof payload === 'string' ? Buffer.from(payload) : payload);
