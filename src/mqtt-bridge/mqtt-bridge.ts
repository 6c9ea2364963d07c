import { connect, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Caller } from '../domain/caller';
import { TelemetryError } from '../domain/errors';
import { backoffDelay, retry, type RetryPolicy } from '../domain/retry';
import type { TopicPattern } from '../domain/topic-pattern';
import type { ParsedItem } from '../ingest/http-envelope';
import { parseMqttPayload } from '../ingest/mqtt-payload';
import type { IngestService, RejectedReading } from '../ingest/ingest-service';
import { ingestParsedItems } from '../ingest/ingest-items';
import type { Logger } from '../logger';

/** What became of one message the bridge received (a bounded metrics label). */
export type BridgeOutcome =
  /** Every reading of the message is in the stream. */
  | 'stored'
  /** Some readings are in the stream, the others were rejected (logged with their codes). */
  | 'partly_rejected'
  /** Every reading was rejected by the ingest rules (bad metrics, timestamps...). */
  | 'rejected'
  /** Every reading names a device the tenant has not registered. */
  | 'unknown_device'
  /** Not readings at all: too large, not UTF-8 JSON, an empty array. */
  | 'bad_payload'
  /** The topic does not match the pattern (a broker's filter is wider than the pattern's levels). */
  | 'unmatched_topic';

/** Told about the bridge's messages and connection (metrics). */
export interface BridgeObserver {
  message(outcome: BridgeOutcome): void;
  /** The connection to the broker came up (true) or went down (false). */
  connection(up: boolean): void;
}

export interface MqttBridgeOptions {
  /** `mqtt://`, `mqtts://`, `ws://` or `wss://` URL of the broker. */
  readonly url: string;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** PEM contents: the CA that signed the broker's certificate, and a client certificate and key for mutual TLS. */
  readonly tls?: { readonly ca?: Buffer | undefined; readonly cert?: Buffer | undefined; readonly key?: Buffer | undefined };
  /** Which topics to take, and where in a topic the device id is. */
  readonly pattern: TopicPattern;
  /** When set, subscribe as a member of this shared subscription (`$share/<group>/<filter>`): the broker gives each message to one member. */
  readonly shareGroup?: string | undefined;
  /** The tenant every reading of this bridge belongs to. */
  readonly tenantId: string;
  /**
   * The MQTT client id; stable across restarts, so that the broker keeps the session
   * (clean session off) and redelivers what was not acknowledged.
   */
  readonly clientId: string;
  readonly ingest: IngestService;
  /** Largest message payload; larger ones are refused as bad payloads. */
  readonly maxPayloadBytes: number;
  /** Delays between reconnection attempts. @default 500 ms doubling up to 30 s, full jitter */
  readonly reconnect?: RetryPolicy;
  /** Delays between attempts to hand a message to a stream that refused it. @default DEFAULT_RETRY_POLICY */
  readonly streamRetry?: RetryPolicy;
  readonly logger: Logger;
  readonly observer?: BridgeObserver;
}

const DEFAULT_RECONNECT: RetryPolicy = { initialDelayMs: 500, maxDelayMs: 30_000, multiplier: 2 };
/** The key id the bridge's readings are ingested under (it has no API key: the broker authenticated the publisher). */
export const BRIDGE_KEY_ID = 'mqtt-bridge';
/** Most rejections one log line lists (a batch of bad readings must not make a huge line). */
const LOGGED_REJECTIONS = 5;

/** The stream took some readings of a message but not all: the whole message is handed over again. */
class PartlyProduced extends Error {}

/**
 * A client of an existing MQTT broker (Mosquitto, EMQX, HiveMQ, the OCI IoT Platform) that
 * ingests the readings published there, through the same ingest service as POST /ingest.
 *
 * A QoS 1 message is acknowledged (PUBACK) only once the stream durably holds its readings:
 * while the stream refuses them the bridge retries with backoff and holds the acknowledgement,
 * and if it stops first, the broker redelivers the message to the next session (the session
 * is persistent: clean session off, a stable client id). Redelivery is harmless: a reading's
 * event id, or else its (device, metric, timestamp), makes the consumer store it once.
 * Messages are handled one at a time, in order, as MQTT requires PUBACKs in the order the
 * PUBLISHes came (MQTT 3.1.1 §4.6); that also keeps each device's readings in order.
 * What can never be stored (bad payloads, unknown devices, rejected readings) is acknowledged,
 * counted and logged: resending it would not help.
 */
export class MqttBridge {
  private client: MqttClient | undefined;
  private closing = false;
  private reconnectAttempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Counts connections: a message's PUBACK is sent only on the connection that delivered it. */
  private connection = 0;
  private readonly caller: (deviceId: string) => Caller;

  constructor(private readonly options: MqttBridgeOptions) {
    this.caller = (deviceId) => ({ tenantId: options.tenantId, role: 'device', deviceId, keyId: BRIDGE_KEY_ID });
  }

  /** Starts connecting; does not wait for the broker (an unreachable broker is retried, never a failed start). */
  start(): void {
    const { url, username, password, tls, clientId } = this.options;
    const clientOptions: IClientOptions = {
      clientId,
      clean: false,
      // Reconnection is ours (backoff with jitter); mqtt.js only retries at a fixed period.
      reconnectPeriod: 0,
      // Subscribed again on every connection without a session (below), not from mqtt.js's memory.
      resubscribe: false,
      ...(username !== undefined ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(tls?.ca ? { ca: tls.ca } : {}),
      ...(tls?.cert ? { cert: tls.cert } : {}),
      ...(tls?.key ? { key: tls.key } : {}),
    };
    const client = connect(url, clientOptions);
    this.client = client;
    client.handleMessage = (packet, done) => {
      const delivered = this.connection;
      this.handle(packet).then(
        (acknowledge) => {
          // mqtt.js would send the PUBACK on whatever connection is current, where the packet
          // id may name another message: after a reconnection the broker redelivers this one
          // instead (stored once). Not acknowledged either when the bridge closed first.
          if (acknowledge && delivered === this.connection) done();
        },
        (error: unknown) => {
          // Unforeseen: nothing is acknowledged, and the connection is dropped so that the
          // reconnection (below) gets the message redelivered instead of the client waiting forever.
          this.options.logger.error({ err: error, topic: packet.topic }, 'the MQTT bridge failed on a message');
          client.stream.destroy();
        },
      );
    };
    client.on('connect', (connack) => {
      this.reconnectAttempt = 0;
      this.options.observer?.connection(true);
      this.options.logger.info({ url: redact(url), sessionPresent: connack.sessionPresent }, 'MQTT bridge connected');
      if (!connack.sessionPresent) this.subscribe(client);
    });
    client.on('close', () => {
      this.connection++;
      this.options.observer?.connection(false);
      this.scheduleReconnect(client);
    });
    client.on('error', (error) => this.options.logger.warn({ err: error, url: redact(url) }, 'MQTT bridge connection failed'));
  }

  /** Stops: no more messages; one being handed to the stream is left unacknowledged, for the broker to redeliver. */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    if (!client) return;
    // Forced: a graceful end would wait for the message in progress, whose stream may be stalled.
    await client.endAsync(true);
  }

  private subscribe(client: MqttClient): void {
    const { pattern, shareGroup } = this.options;
    const topic = shareGroup ? `$share/${shareGroup}/${pattern.filter}` : pattern.filter;
    // QoS 1: a message published at QoS 2 is delivered at 1 (acknowledged once stored; the event id deduplicates).
    client.subscribe(topic, { qos: 1 }, (error, granted) => {
      const refused = granted?.find((grant) => grant.qos === 128);
      if (error || refused) this.options.logger.error({ err: error, topic }, 'the broker refused the MQTT bridge its subscription');
      else this.options.logger.info({ topic }, 'MQTT bridge subscribed');
    });
  }

  private scheduleReconnect(client: MqttClient): void {
    if (this.closing || this.reconnectTimer !== undefined) return;
    const delay = backoffDelay(this.options.reconnect ?? DEFAULT_RECONNECT, this.reconnectAttempt++);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.closing) client.reconnect();
    }, delay);
  }

  /** Whether to acknowledge the message: false only when the bridge closed before the stream took it. */
  private async handle(packet: IPublishPacket): Promise<boolean> {
    const { pattern, logger } = this.options;
    const topic = packet.topic;
    const deviceId = pattern.deviceIdOf(topic);
    if (deviceId === undefined) {
      logger.warn({ topic }, 'MQTT bridge: the topic does not name a device in the pattern; message dropped');
      return this.done('unmatched_topic');
    }
    let parsed: ParsedItem[];
    try {
      parsed = this.parse(packet.payload, deviceId);
    } catch (error) {
      logger.warn({ topic, deviceId, reason: error instanceof TelemetryError ? error.message : String(error) }, 'MQTT bridge: bad payload; message dropped');
      return this.done('bad_payload');
    }
    let rejected: RejectedReading[];
    let acceptedCount: number;
    try {
      const outcome = await retry(() => this.ingestWhole(deviceId, parsed), {
        policy: this.options.streamRetry,
        // Anything but a refusal of the payload itself: the message waits at the broker, never
        // dropped, even when the stream calls its failure lasting (disk full) or it is unforeseen.
        isRetryable: (error) => !isPayloadRefusal(error),
        shouldStop: () => this.closing,
        onRetry: (error, attempt, delayMs) =>
          logger.warn({ err: error, topic, attempt, delayMs }, 'MQTT bridge: the stream did not take the readings; retrying, not acknowledged'),
      });
      rejected = outcome.rejected;
      acceptedCount = outcome.accepted.length;
    } catch (error) {
      if (this.closing || !isPayloadRefusal(error)) return false;
      logger.warn({ topic, deviceId, code: error.code, reason: error.message }, 'MQTT bridge: bad payload; message dropped');
      return this.done('bad_payload');
    }
    if (rejected.length === 0) return this.done('stored');
    const outcome: BridgeOutcome =
      acceptedCount > 0 ? 'partly_rejected' : rejected.every((item) => item.code === 'UNKNOWN_DEVICE') ? 'unknown_device' : 'rejected';
    logger.warn(
      { topic, deviceId, accepted: acceptedCount, rejected: rejected.length, rejections: rejected.slice(0, LOGGED_REJECTIONS) },
      'MQTT bridge: readings rejected',
    );
    return this.done(outcome);
  }

  private done(outcome: BridgeOutcome): true {
    this.options.observer?.message(outcome);
    return true;
  }

  /**
   * The payload as readings, in any form POST /ingest takes as `application/json` (a plain
   * reading, a CloudEvent, or an array of them); a reading without a device id is the topic's.
   */
  private parse(payload: Buffer | string, deviceId: string): ParsedItem[] {
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    if (bytes.length > this.options.maxPayloadBytes) throw new TelemetryError('PAYLOAD_TOO_LARGE', `the payload exceeds ${this.options.maxPayloadBytes} bytes`);
    return parseMqttPayload(bytes, this.options.ingest.eventType, deviceId);
  }

  /** One attempt; a message the stream took only in part is retried as a whole (redelivered readings are stored once). */
  private async ingestWhole(deviceId: string, parsed: readonly ParsedItem[]) {
    const outcome = await ingestParsedItems(this.options.ingest, this.caller(deviceId), parsed, 'mqtt-bridge');
    if (outcome.rejected.some((item) => item.code === 'STREAM_UNAVAILABLE')) throw new PartlyProduced('the stream took only some of the readings');
    return outcome;
  }
}

/** The ingest service refused the payload as a whole (too many readings, an empty batch): sending it again would not help. */
const isPayloadRefusal = (error: unknown): error is TelemetryError => error instanceof TelemetryError && error.code !== 'UNAVAILABLE';

/** Whether a payload named its device (parsed JSON: the typed string may be absent). */
/** The URL without its password, for logs. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}
