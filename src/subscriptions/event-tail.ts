import type { Anomaly, DeviceStatusChange } from '../domain/anomalies/anomaly';
import type { Command } from '../domain/command';
import type { FanoutMessage } from '../domain/events-topic';
import type { PersistedReading } from '../domain/reading';
import { parseRevocationNotice } from '../domain/revocation-notice';
import type { Logger } from '../logger';
import type { Stream, StreamTail } from '../stream/stream';
import { contextOf, inSpanSync, SpanKind } from '../tracing/tracing';

/**
 * The reading side of the `events` topic (consumers/event-publisher.ts writes it): every API
 * node tails it into its own hubs, so a subscriber on one node sees what was ingested through
 * another. Duplicates after a publisher's crash are dropped downstream (readings by stream
 * position in the feeds, anomalies by seq in AnomalyOrder).
 */

export interface FanoutTargets {
  readonly readings: (readings: PersistedReading[]) => void;
  readonly anomalies: (anomalies: Anomaly[]) => void;
  readonly statusChanges: (changes: DeviceStatusChange[]) => void;
  readonly commands: (commands: Command[]) => void;
  /** Keys revoked on some API node (this one's own notices come back too: handling one twice is harmless). */
  readonly revokedKeys: (keyIds: readonly string[]) => void;
  /** A device deleted on some API node (likewise). */
  readonly deviceDeleted: (tenantId: string, deviceId: string) => void;
}

/** API side: tails every partition of the events topic from its end and feeds the hubs. */
export class EventTail {
  private readonly tails: StreamTail[] = [];
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly stream: Stream,
    private readonly targets: FanoutTargets,
    private readonly logger: Logger,
    private readonly pollIntervalMs = 10,
  ) {}

  async start(): Promise<void> {
    for (const partition of await this.stream.partitions('events')) this.tails.push(await this.stream.openTail('events', partition));
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let delivered = 0;
      try {
        for (const tail of this.tails) {
          const messages = await tail.next(500);
          for (const message of messages) this.dispatch(message.value);
          delivered += messages.length;
        }
      } catch (error) {
        this.logger.warn({ err: error }, 'reading the events topic failed; retrying');
      }
      if (delivered === 0) await new Promise((resolve) => setTimeout(resolve, this.pollIntervalMs));
    }
  }

  private dispatch(value: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      this.logger.warn({}, 'skipping an events message that is not JSON');
      return;
    }
    if (typeof parsed !== 'object' || parsed === null) {
      this.logger.warn({}, 'skipping an events message that is not a JSON object');
      return;
    }
    const message = parsed as FanoutMessage;
    // One message that a target cannot handle is skipped alone: the tail has already moved past
    // it, so throwing here would lose the rest of the batch read with it.
    try {
      this.deliver(message);
    } catch (error) {
      this.logger.warn({ err: error, kind: message.kind }, 'skipping an events message that could not be delivered');
    }
  }

  private deliver(message: FanoutMessage): void {
    // A message without trace fields (tracing off, or an older publisher) starts no trace of its own.
    if (message.traceparent === undefined) this.route(message);
    else
      inSpanSync(
        `deliver ${message.kind}`,
        { kind: SpanKind.CONSUMER },
        () => this.route(message),
        contextOf({ traceparent: message.traceparent, tracestate: message.tracestate }),
      );
  }

  private route(message: FanoutMessage): void {
    // A kind this version does not know (a newer one publishes it during a rolling deploy) is skipped.
    switch (message.kind) {
      case 'readings':
        this.targets.readings(message.readings);
        break;
      case 'anomalies':
        this.targets.anomalies(message.anomalies);
        break;
      case 'status':
        this.targets.statusChanges(message.changes);
        break;
      case 'commands':
        this.targets.commands(message.commands);
        break;
      case 'revokedKeys':
      case 'deviceDeleted': {
        // Acted on at once by every node: checked first (domain/revocation-notice.ts).
        const parsed = parseRevocationNotice(message);
        if (!parsed.ok) this.logger.warn({ reason: parsed.reason }, 'skipping a malformed revocation notice');
        else if (parsed.notice.kind === 'revokedKeys') this.targets.revokedKeys(parsed.notice.keyIds);
        else this.targets.deviceDeleted(parsed.notice.tenantId, parsed.notice.deviceId);
        break;
      }
    }
  }
}
