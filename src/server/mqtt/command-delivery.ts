import type { AedesPublishPacket, Client, PublishPacket } from 'aedes' with { 'resolution-mode': 'import' };
import type { Caller } from '../../domain/caller';
import type { Command, CommandResponse } from '../../domain/command';
import { commandTopic, topicMatches } from '../../domain/mqtt-topics';
import type { Logger } from '../../logger';

/** What the broker tells the command service (commands/command-service.ts), and asks of it. */
export interface DeviceCommands {
  /** Records a device's answer (a TelemetryError, e.g. NOT_FOUND, is told to the device on its errors topic). */
  answer(caller: Caller, commandId: string, response: CommandResponse): Promise<void>;
  /** The device acknowledged the command (PUBACK; at QoS 0, once it was written). */
  delivered(tenantId: string, commandId: string): Promise<void>;
  /** The device subscribed to its commands here: its PENDING ones are due. */
  deliverPending(tenantId: string, deviceId: string): Promise<void>;
}

/** The message a device receives on `devices/{id}/commands/{name}` (docs/PROTOCOL.md). */
export interface CommandMessage {
  readonly commandId: string;
  readonly payload: unknown;
}

/**
 * Writes commands to the devices' own connections, and follows their acknowledgements.
 *
 * A command goes to each of the device's connections on this node that subscribed to its topic,
 * at the QoS they were granted (at most 1, since a device may subscribe at QoS 2 but the service
 * publishes nothing above 1). It is DELIVERED when the device acknowledges it: at QoS 1 its
 * PUBACK, at QoS 0 once written (nothing more can be known). A connection that closes before
 * its PUBACK leaves the command PENDING: it is written again when the device next subscribes,
 * so a device may receive a command twice and should act once per `commandId`.
 *
 * Which command a PUBACK acknowledges: aedes reports the acknowledged packet only for a
 * persistent session (it keeps those packets); for a clean session it reports the PUBACK alone.
 * Commands are the only QoS 1 messages the service sends a device, and MQTT 3.1.1 requires
 * PUBACKs in the order the PUBLISH packets came ([MQTT-4.6.0-2]), so each connection's
 * commands in flight are a queue, and an unnamed PUBACK acknowledges the oldest.
 */
export class CommandDelivery {
  private readonly clientsByDevice = new Map<string, Set<Client>>();
  private readonly inFlight = new Map<Client, { readonly tenantId: string; commandIds: string[] }>();

  constructor(
    private readonly commands: DeviceCommands,
    private readonly logger: Logger,
  ) {}

  /** A device's authenticated connection opened; forgotten when it closes. */
  track(client: Client, tenantId: string, deviceId: string): void {
    const key = deviceKey(tenantId, deviceId);
    const clients = this.clientsByDevice.get(key) ?? new Set<Client>();
    clients.add(client);
    this.clientsByDevice.set(key, clients);
    this.inFlight.set(client, { tenantId, commandIds: [] });
    client.conn.once('close', () => {
      this.inFlight.delete(client);
      clients.delete(client);
      if (clients.size === 0 && this.clientsByDevice.get(key) === clients) this.clientsByDevice.delete(key);
    });
  }

  /** Writes a command to the device's subscribed connections here; false when there are none. */
  write(command: Command): boolean {
    const topic = commandTopic(command.deviceId, command.name);
    let written = false;
    for (const client of this.clientsByDevice.get(deviceKey(command.tenantId, command.deviceId)) ?? []) {
      const qos = grantedQos(client, topic);
      const flight = this.inFlight.get(client);
      if (qos === undefined || !flight) continue;
      written = true;
      // Already written to this connection and not yet acknowledged: once is enough.
      if (flight.commandIds.includes(command.id)) continue;
      const message: CommandMessage = { commandId: command.id, payload: command.payload };
      const packet = { cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(message)), qos, retain: false, dup: false } as PublishPacket;
      if (qos === 1) flight.commandIds.push(command.id);
      client.publish(packet, () => {
        if (qos === 0) this.acknowledged(command.tenantId, command.id);
      });
    }
    return written;
  }

  /** aedes' `ack` event: a PUBACK from `client`, with the packet it acknowledges when aedes kept it. */
  onAck(packet: AedesPublishPacket | undefined, client: Client): void {
    const flight = this.inFlight.get(client);
    if (!flight) return;
    const named = packet ? commandIdOf(packet.payload) : undefined;
    const commandId = named ?? flight.commandIds[0];
    if (commandId === undefined) return;
    flight.commandIds = flight.commandIds.filter((id) => id !== commandId);
    this.acknowledged(flight.tenantId, commandId);
  }

  /**
   * After a SUBSCRIBE (or a persistent session restored on connect): the device's PENDING
   * commands are due. `write` sends each only to connections whose subscriptions match its topic.
   */
  onSubscriptions(client: Client, tenantId: string, deviceId: string): void {
    if (Object.keys(subscriptionsOf(client)).length === 0) return;
    this.commands
      .deliverPending(tenantId, deviceId)
      .catch((error: unknown) => this.logger.warn({ err: error, deviceId }, 'could not deliver the PENDING commands of a device'));
  }

  private acknowledged(tenantId: string, commandId: string): void {
    this.commands
      .delivered(tenantId, commandId)
      .catch((error: unknown) => this.logger.warn({ err: error, commandId }, 'could not record a command as DELIVERED'));
  }
}

const deviceKey = (tenantId: string, deviceId: string): string => `${tenantId}\u0000${deviceId}`;

/** The QoS a command on `topic` goes out at: the highest of the matching subscriptions, at most 1; undefined when none matches. */
function grantedQos(client: Client, topic: string): 0 | 1 | undefined {
  const subscriptions = subscriptionsOf(client);
  // aedes lowers a packet to the QoS of a subscription to exactly its topic: follow it, or a PUBACK would be awaited that never comes.
  const exact = subscriptions[topic];
  if (exact) return (exact.qos ?? 0) > 0 ? 1 : 0;
  let qos: 0 | 1 | undefined;
  for (const [filter, subscription] of Object.entries(subscriptions)) {
    if (!topicMatches(filter, topic)) continue;
    qos = (subscription.qos ?? 0) > 0 ? 1 : (qos ?? 0);
  }
  return qos;
}

/** The client's subscriptions by filter (aedes keeps them on the client; its types do not say so). */
const subscriptionsOf = (client: Client): Record<string, { qos?: number }> =>
  (client as unknown as { subscriptions: Record<string, { qos?: number }> }).subscriptions;

function commandIdOf(payload: PublishPacket['payload']): string | undefined {
  try {
    const message = JSON.parse(Buffer.from(payload).toString('utf8')) as Partial<CommandMessage>;
    return typeof message.commandId === 'string' ? message.commandId : undefined;
  } catch {
    return undefined;
  }
}
