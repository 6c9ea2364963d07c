import type { Anomaly } from './anomaly';

/**
 * An anomaly as the channels that announce it send it (webhook bodies, the JSON details of an
 * OCI Notifications message): ids as strings, times as ISO 8601, the status as it is when the
 * message is sent (a later trigger may have escalated it).
 */
export function anomalyDetails(anomaly: Anomaly) {
  return {
    id: String(anomaly.id),
    deviceId: anomaly.deviceId,
    metric: anomaly.metric,
    kind: anomaly.kind,
    severity: anomaly.severity,
    score: anomaly.score,
    value: anomaly.value,
    expectedMin: anomaly.expectedMin,
    expectedMax: anomaly.expectedMax,
    timestamp: new Date(anomaly.timestamp).toISOString(),
    detectedAt: new Date(anomaly.detectedAt).toISOString(),
    status: anomaly.status,
    occurrences: anomaly.occurrences,
    lastValue: anomaly.lastValue,
    lastTimestamp: new Date(anomaly.lastTimestamp).toISOString(),
  };
}
