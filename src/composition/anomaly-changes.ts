import type { Anomaly } from '../domain/anomalies/anomaly';
import type { FanoutMessage } from '../domain/events-topic';
import type { Logger } from '../logger';
import type { Stream } from '../stream/stream';
import type { AnomalyOrder } from '../subscriptions/anomaly-order';

/**
 * Where an anomaly an admin acknowledged or resolved goes so that every `anomalyDetected`
 * subscriber hears of it (the consumer publishes the changes detection makes itself):
 *
 * - fed by the events topic (role `api`, or a shared OCI stream): into the topic, under the
 *   one `anomalies` key, so every API node (this one too, through its tail) orders it by seq
 *   with the consumer's changes. If the produce fails the change is committed all the same:
 *   nodes read it from the database when the next anomaly shows the gap in seq, and resumes
 *   replay it.
 * - otherwise (one process): straight into this node's seq ordering, which reads from the
 *   database any consumer change committed before it but not yet delivered.
 */
export function anomalyChangePublisher(options: {
  readonly viaEventsTopic: boolean;
  readonly stream: Stream;
  readonly order: AnomalyOrder;
  readonly logger: Logger;
}): (anomaly: Anomaly) => void {
  const { stream, order, logger } = options;
  if (!options.viaEventsTopic) return (anomaly) => order.push([anomaly]);
  return (anomaly) => {
    const message: FanoutMessage = { kind: 'anomalies', anomalies: [anomaly] };
    stream
      .produce('events', [{ key: 'anomalies', value: JSON.stringify(message) }])
      .catch((error: unknown) => logger.warn({ err: error, anomalyId: anomaly.id }, 'could not publish an anomaly change to the events topic'));
  };
}
