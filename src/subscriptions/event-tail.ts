import type { Anomaly, DeviceStatusChange } from '../domain/anomalies/anomaly';
import type { Command } from '../domain/command';
import type { FanoutMessage } from '../domain/events-topic';
import type { PersistedReading } from '../domain/reading';
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
    let message: FanoutMessage;
    try {
      message = JSON.parse(value) as FanoutMessage;
    } catch {
      this.logger.warn({}, 'skipping an events message that is not JSON');
      return;
    }
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
    }
  }
}
