import type { DeviceStatusChange } from '../domain/anomalies/anomaly';
import type { FanoutMessage } from '../domain/events-topic';
import type { Logger } from '../logger';
import type { Stream } from '../stream/stream';

/**
 * Where a status change made outside the consumer (an MQTT connection opening or closing)
 * goes so that every `deviceStatusChanged` subscriber hears of it, the way the liveness
 * sweep's changes go:
 *
 * - fed by the events topic (role `api`, or a shared OCI stream): into the topic under the
 *   `status` key the consumer uses, so every API node (this one too, through its tail)
 *   delivers it. If the produce fails the change is committed all the same; it is logged.
 * - otherwise (one process): straight to this node's subscribers.
 */
export function statusChangePublisher(options: {
  readonly viaEventsTopic: boolean;
  readonly stream: Stream;
  readonly local: (changes: DeviceStatusChange[]) => void;
  readonly logger: Logger;
}): (changes: DeviceStatusChange[]) => void {
  const { stream, logger } = options;
  if (!options.viaEventsTopic) return options.local;
  return (changes) => {
    const message: FanoutMessage = { kind: 'status', changes };
    stream
      .produce('events', [{ key: 'status', value: JSON.stringify(message) }])
      .catch((error: unknown) => logger.warn({ err: error }, 'could not publish a device status change to the events topic'));
  };
}
