import { TelemetryError } from '../errors';
import type { Anomaly, AnomalyRecord, AnomalyTransition } from './anomaly';

/** The statuses each action may start from. */
const ALLOWED_FROM = { acknowledge: ['OPEN'], resolve: ['OPEN', 'ACKNOWLEDGED'] } as const;

/**
 * The anomaly after an admin's acknowledge or resolve, recording who and when. The store keeps
 * it under a new seq, like any other change, so `anomalyDetected` delivers it (and a resume
 * replays it) to everyone watching. TelemetryError BAD_USER_INPUT when its status does not
 * allow the action.
 */
export function transitioned(anomaly: Anomaly, transition: AnomalyTransition): AnomalyRecord {
  if (!(ALLOWED_FROM[transition.action] as readonly string[]).includes(anomaly.status)) {
    throw new TelemetryError('BAD_USER_INPUT', `anomaly ${anomaly.id} is ${anomaly.status}; it cannot be ${transition.action}d`, {
      details: { status: anomaly.status },
    });
  }
  const { seq: _previousSeq, ...record } = anomaly;
  return transition.action === 'acknowledge'
    ? { ...record, status: 'ACKNOWLEDGED', acknowledgedBy: transition.by, acknowledgedAt: transition.at }
    : { ...record, status: 'RESOLVED', resolvedBy: transition.by, resolvedAt: transition.at };
}
