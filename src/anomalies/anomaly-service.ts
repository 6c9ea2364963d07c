import type { Anomaly, Severity } from '../domain/anomalies/anomaly';
import { MAX_ZSCORE_WINDOW, type AnomalyRule, type RuleScope, type ZScoreSettings } from '../domain/anomalies/rules';
import { TelemetryError } from '../domain/errors';
import { uuidv7 } from '../domain/ids';
import { METRIC_NAME_PATTERN } from '../domain/validation';
import type { DeviceDirectory } from '../devices/device-directory';
import type { AnomalyStore } from '../store/ports/anomaly-store';

/** A detection rule as an admin sets it: deviceId, or tag, or neither (the tenant-wide rule). */
export interface RuleInput {
  readonly deviceId?: string | null | undefined;
  readonly tag?: string | null | undefined;
  /** A metric name, or '*' for every metric. */
  readonly metric: string;
  /** null turns z-score detection off. */
  readonly zScore?: ZScoreSettings | null | undefined;
  readonly min?: number | null | undefined;
  readonly max?: number | null | undefined;
  readonly maxRatePerSecond?: number | null | undefined;
  readonly severity: Severity;
  /** Seconds the series must stay normal before an anomaly clears by itself; null: the service default. */
  readonly clearAfterSeconds?: number | null | undefined;
}

/** Longest clearAfter: 30 days. */
const MAX_CLEAR_AFTER_SECONDS = 30 * 86_400;

/** Largest z-score warm-up, in values. */
const MAX_WARMUP = 1_000_000;

const bad = (field: string, message: string) => new TelemetryError('BAD_USER_INPUT', message, { details: { field } });

/** The limits of a rule: one scope, a metric name or '*', z-score settings in range, min <= max, a positive rate. */
function checkRuleInput(input: RuleInput): void {
  if (input.deviceId && input.tag) throw bad('tag', 'give deviceId or tag, not both');
  if (input.metric !== '*' && !METRIC_NAME_PATTERN.test(input.metric)) throw bad('metric', "metric must be a metric name or '*'");
  const z = input.zScore;
  if (z) {
    if (!(Number.isFinite(z.threshold) && z.threshold > 0)) throw bad('zScore.threshold', 'zScore.threshold must be a number above 0');
    if (!(z.window >= 2 && z.window <= MAX_ZSCORE_WINDOW)) throw bad('zScore.window', `zScore.window must be from 2 to ${MAX_ZSCORE_WINDOW}`);
    if (!(z.warmup >= 2 && z.warmup <= MAX_WARMUP)) throw bad('zScore.warmup', `zScore.warmup must be from 2 to ${MAX_WARMUP}`);
  }
  for (const field of ['min', 'max', 'maxRatePerSecond'] as const) {
    const value = input[field];
    if (value !== null && value !== undefined && !Number.isFinite(value)) throw bad(field, `${field} must be a finite number`);
  }
  if (input.min != null && input.max != null && input.min > input.max) throw bad('min', 'min must not exceed max');
  if (input.maxRatePerSecond != null && input.maxRatePerSecond <= 0) throw bad('maxRatePerSecond', 'maxRatePerSecond must be above 0');
  const clear = input.clearAfterSeconds;
  if (clear != null && !(Number.isFinite(clear) && clear >= 0 && clear <= MAX_CLEAR_AFTER_SECONDS))
    throw bad('clearAfterSeconds', `clearAfterSeconds must be from 0 to ${MAX_CLEAR_AFTER_SECONDS} (30 days)`);
}

/** Anomaly ids are decimal numbers (the seq each was first stored with); anything else names nothing. */
function parseAnomalyId(id: string): number {
  const seq = /^[1-9]\d{0,15}$/.test(id) ? Number(id) : NaN;
  if (!Number.isSafeInteger(seq)) throw new TelemetryError('NOT_FOUND', `no anomaly "${id}"`);
  return seq;
}

/** Detection rules and the anomaly lifecycle (open -> acknowledged -> resolved), with their rules. */
export class AnomalyService {
  /**
   * @param publishChange hears each anomaly an acknowledge or resolve stored (under a new seq),
   * for `anomalyDetected`; the consumer publishes the changes detection makes. @default none
   */
  constructor(
    private readonly store: AnomalyStore,
    private readonly devices: Pick<DeviceDirectory, 'require'>,
    private readonly publishChange: (anomaly: Anomaly) => void = () => {},
  ) {}

  /** Creates or replaces the rule for a scope and metric. */
  async setRule(tenantId: string, input: RuleInput): Promise<AnomalyRule> {
    checkRuleInput(input);
    if (input.deviceId) await this.devices.require(tenantId, [input.deviceId]);
    const scope: RuleScope = input.deviceId ? { kind: 'device', deviceId: input.deviceId } : input.tag ? { kind: 'tag', tag: input.tag } : { kind: 'tenant' };
    return this.store.putAnomalyRule({
      id: uuidv7(),
      tenantId,
      scope,
      metric: input.metric,
      zScore: input.zScore ? { threshold: input.zScore.threshold, window: input.zScore.window, warmup: input.zScore.warmup } : null,
      min: input.min ?? null,
      max: input.max ?? null,
      maxRatePerSecond: input.maxRatePerSecond ?? null,
      severity: input.severity,
      clearAfterMs: input.clearAfterSeconds == null ? null : Math.round(input.clearAfterSeconds * 1000),
      updatedAt: Date.now(),
    });
  }

  /** NOT_FOUND when the tenant has no such rule. */
  async deleteRule(tenantId: string, id: string): Promise<void> {
    if (!(await this.store.deleteAnomalyRule(tenantId, id))) throw new TelemetryError('NOT_FOUND', `no anomaly rule "${id}"`);
  }

  /** Acknowledges (OPEN -> ACKNOWLEDGED) or resolves (-> RESOLVED) an anomaly, recording who and when. */
  async transition(tenantId: string, id: string, action: 'acknowledge' | 'resolve', by: string): Promise<Anomaly> {
    const updated = await this.store.transitionAnomaly(tenantId, parseAnomalyId(id), { action, by, at: Date.now() });
    if (!updated) throw new TelemetryError('NOT_FOUND', `no anomaly "${id}"`);
    this.publishChange(updated);
    return updated;
  }
}
