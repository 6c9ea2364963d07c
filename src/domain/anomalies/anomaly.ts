/** Anomalies: what detection finds, and the lifecycle an operator moves it through. */

export type AnomalyKind = 'ZSCORE' | 'THRESHOLD' | 'RATE_OF_CHANGE' | 'SILENCE';
export type Severity = 'INFO' | 'WARNING' | 'CRITICAL';
export type AnomalyStatus = 'OPEN' | 'ACKNOWLEDGED' | 'RESOLVED';

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
  /** Increases in commit order: the resume position of anomaly subscriptions. */
  readonly seq: number;
  readonly tenantId: string;
  readonly deviceId: string;
  /** null for SILENCE (a device, not a metric, went quiet). */
  readonly metric: string | null;
  /** Timestamp of the reading that raised it (SILENCE: when the device was last seen). */
  readonly timestamp: number;
  readonly detectedAt: number;
  readonly status: AnomalyStatus;
  readonly acknowledgedBy: string | null;
  readonly acknowledgedAt: number | null;
  readonly resolvedBy: string | null;
  readonly resolvedAt: number | null;
}

export type NewAnomaly = Omit<Anomaly, 'seq' | 'status' | 'acknowledgedBy' | 'acknowledgedAt' | 'resolvedBy' | 'resolvedAt'>;

export type DeviceStatus = 'NEVER_SEEN' | 'ONLINE' | 'OFFLINE' | 'DECOMMISSIONED';

export interface DeviceStatusChange {
  readonly tenantId: string;
  readonly deviceId: string;
  readonly status: DeviceStatus;
  readonly previousStatus: DeviceStatus;
  /** When the change took effect: arrival of the reading, or the moment silence was detected. */
  readonly at: number;
  readonly lastSeenAt: number | null;
}
