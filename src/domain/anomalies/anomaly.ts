import { defineVocabulary, type ValueOf } from '../vocabulary';

/** Anomalies: what detection finds, and the lifecycle an operator moves it through. */

/** Which detector found an anomaly. */
export const ANOMALY_KINDS = defineVocabulary({
  ZSCORE: 'A change from the previous value far outside the recent changes: |z| (robust, median/MAD) above the threshold.',
  THRESHOLD: 'Value below min or above max.',
  RATE_OF_CHANGE: 'Value changed faster than maxRatePerSecond since the previous reading.',
  SILENCE: 'The device sent nothing for its heartbeat timeout and went offline.',
});
export type AnomalyKind = ValueOf<typeof ANOMALY_KINDS>;

/** How much an anomaly matters: set by the rule that found it, lowest first. */
export const SEVERITIES = defineVocabulary({
  INFO: 'The lowest severity: for information.',
  WARNING: 'Above INFO. The default of a rule, and the severity of SILENCE.',
  CRITICAL: 'The highest severity.',
});
export type Severity = ValueOf<typeof SEVERITIES>;

/** Where an anomaly is in its lifecycle: OPEN -> ACKNOWLEDGED -> RESOLVED (or OPEN -> RESOLVED). */
export const ANOMALY_STATUSES = defineVocabulary({
  OPEN: 'Found; neither acknowledged nor resolved yet. New triggers of the same series and kind update it.',
  ACKNOWLEDGED: 'Acknowledged by a key (acknowledgeAnomaly): someone is on it. New triggers still update it.',
  RESOLVED:
    "Closed by a key (resolveAnomaly), or by 'system': when the signal stayed normal for the rule's clearAfter, or when a silent device came back online.",
});
export type AnomalyStatus = ValueOf<typeof ANOMALY_STATUSES>;

export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { INFO: 0, WARNING: 1, CRITICAL: 2 };
export const atLeast = (severity: Severity, minimum: Severity): boolean => SEVERITY_RANK[severity] >= SEVERITY_RANK[minimum];

/** What a detector reports for one value, before it is stored. */
export interface Finding {
  readonly kind: AnomalyKind;
  readonly severity: Severity;
  /** z for ZSCORE, the distance past the limit for THRESHOLD, units/s for RATE_OF_CHANGE, silent time / timeout for SILENCE. */
  readonly score: number;
  readonly value: number | null;
  readonly expectedMin: number | null;
  readonly expectedMax: number | null;
}

export interface Anomaly extends Finding {
  /**
   * Increases in commit order: the resume position of anomaly subscriptions. Every change the
   * consumer makes to an anomaly (a new trigger, an automatic clear) gives it a new seq, so a
   * subscriber resuming after seq N sees each anomaly changed since, once, as it is now.
   */
  readonly seq: number;
  /** The anomaly's identity: the seq it was first stored with; it never changes. */
  readonly id: number;
  readonly tenantId: string;
  readonly deviceId: string;
  /** null for SILENCE (a device, not a metric, went quiet). */
  readonly metric: string | null;
  /** Timestamp of the reading that raised it (SILENCE: when the device was last seen). */
  readonly timestamp: number;
  /** Triggers merged into it: 1 when raised, one more for each later trigger while it was open or acknowledged. */
  readonly occurrences: number;
  /** Value and timestamp of the latest trigger (the first one's until a second comes). */
  readonly lastValue: number | null;
  readonly lastTimestamp: number;
  readonly detectedAt: number;
  readonly status: AnomalyStatus;
  readonly acknowledgedBy: string | null;
  readonly acknowledgedAt: number | null;
  readonly resolvedBy: string | null;
  readonly resolvedAt: number | null;
}

/** An anomaly as first raised, before it is stored. */
export type NewAnomaly = Omit<
  Anomaly,
  'seq' | 'id' | 'status' | 'acknowledgedBy' | 'acknowledgedAt' | 'resolvedBy' | 'resolvedAt' | 'occurrences' | 'lastValue' | 'lastTimestamp'
>;

/** An anomaly with everything but its position: what the batch inserts, or stores again under a new seq. */
export type AnomalyRecord = Omit<Anomaly, 'seq' | 'id'> & { readonly id?: number };

/** A freshly raised anomaly: open, one occurrence. */
export const raised = (anomaly: NewAnomaly): AnomalyRecord => ({
  ...anomaly,
  status: 'OPEN',
  acknowledgedBy: null,
  acknowledgedAt: null,
  resolvedBy: null,
  resolvedAt: null,
  occurrences: 1,
  lastValue: anomaly.value,
  lastTimestamp: anomaly.timestamp,
});

/** Liveness of a device, from its readings and its heartbeat timeout. */
export const DEVICE_STATUSES = defineVocabulary({
  NEVER_SEEN: 'Registered, no reading accepted yet.',
  ONLINE: 'Sending readings: not silent past its heartbeat timeout.',
  OFFLINE: 'Silent past its heartbeat timeout (with a SILENCE anomaly); its next reading brings it back ONLINE.',
  DECOMMISSIONED: 'Retired: no longer checked for silence. Its data stays.',
});
export type DeviceStatus = ValueOf<typeof DEVICE_STATUSES>;

export interface DeviceStatusChange {
  readonly tenantId: string;
  readonly deviceId: string;
  readonly status: DeviceStatus;
  readonly previousStatus: DeviceStatus;
  /** When the change took effect: arrival of the reading, or the moment silence was detected. */
  readonly at: number;
  readonly lastSeenAt: number | null;
}

/** An admin's move of an anomaly along its lifecycle. */
export type AnomalyTransition = { readonly action: 'acknowledge' | 'resolve'; readonly by: string; readonly at: number };

/** What a liveness sweep changed. */
export interface SilenceSweep {
  readonly anomalies: Anomaly[];
  readonly statusChanges: DeviceStatusChange[];
}
