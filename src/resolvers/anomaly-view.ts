import type { Anomaly as AnomalyRecord } from '../domain/anomalies/anomaly';
import type { Anomaly } from '../schema/anomaly-types';
import { anomalyCursor } from '../subscriptions/anomaly-feed';

/** An anomaly as the schema shows it, in queries and in `anomalyDetected` alike: id is its identity, cursor its latest change. */
export const toAnomaly = (record: AnomalyRecord): Anomaly => ({ ...record, id: String(record.id), cursor: anomalyCursor(record.seq) });
