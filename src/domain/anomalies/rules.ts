import type { Severity } from './anomaly';

/**
 * Detection rules are data. A rule applies to the whole tenant, to one device, or to the
 * devices carrying a tag, for one metric or all ('*'). For each (device, metric) the most
 * specific rule wins as a whole (no field-by-field merging, so what you read is what runs):
 * device > tag > tenant, and within each, a named metric > '*'. Among several matching tags
 * the alphabetically first wins. With no rule at all, DEFAULT_DETECTION applies.
 */
export type RuleScope = { readonly kind: 'tenant' } | { readonly kind: 'device'; readonly deviceId: string } | { readonly kind: 'tag'; readonly tag: string };

export interface ZScoreSettings {
  /** Fires when |z| exceeds this (z: a value's change from the previous one, in robust deviations of the recent changes). */
  readonly threshold: number;
  /** Recent changes the median and spread are taken over (change-spread.ts). */
  readonly window: number;
  /** Values seen before the first possible firing. */
  readonly warmup: number;
}

export interface DetectionSettings {
  readonly zScore: ZScoreSettings | null;
  readonly min: number | null;
  readonly max: number | null;
  /** Largest allowed change per second, either direction. */
  readonly maxRatePerSecond: number | null;
  readonly severity: Severity;
  /**
   * How long (ms, in the readings' time) a series must stay normal after an anomaly's latest
   * trigger before that anomaly clears by itself; null: the service default
   * (TELEMETRY_ANOMALY_CLEAR_AFTER_SECONDS).
   */
  readonly clearAfterMs: number | null;
}

export interface AnomalyRule extends DetectionSettings {
  readonly id: string;
  readonly tenantId: string;
  readonly scope: RuleScope;
  /** A metric name, or '*' for every metric. */
  readonly metric: string;
  readonly updatedAt: number;
}

/** change-spread.ts gives the numbers behind these. */
export const DEFAULT_ZSCORE: ZScoreSettings = { threshold: 4, window: 60, warmup: 60 };
export const DEFAULT_DETECTION: DetectionSettings = {
  zScore: DEFAULT_ZSCORE,
  min: null,
  max: null,
  maxRatePerSecond: null,
  severity: 'WARNING',
  clearAfterMs: null,
};
export const MAX_ZSCORE_WINDOW = 1000;

function specificity(rule: AnomalyRule, deviceId: string, tags: ReadonlySet<string>, metric: string): number | undefined {
  const metricRank = rule.metric === metric ? 1 : rule.metric === '*' ? 0 : undefined;
  if (metricRank === undefined) return undefined;
  switch (rule.scope.kind) {
    case 'device':
      return rule.scope.deviceId === deviceId ? 4 + metricRank : undefined;
    case 'tag':
      return tags.has(rule.scope.tag) ? 2 + metricRank : undefined;
    case 'tenant':
      return metricRank;
  }
}

/** The settings that apply to one series; `rules` are the tenant's rules. */
export function resolveDetection(rules: readonly AnomalyRule[], deviceId: string, tags: ReadonlySet<string>, metric: string): DetectionSettings {
  let best: AnomalyRule | undefined;
  let bestRank = -1;
  for (const rule of rules) {
    const rank = specificity(rule, deviceId, tags, metric);
    if (rank === undefined) continue;
    const tieBreak = best && rank === bestRank && rule.scope.kind === 'tag' && best.scope.kind === 'tag' && rule.scope.tag < best.scope.tag;
    if (rank > bestRank || tieBreak) {
      best = rule;
      bestRank = rank;
    }
  }
  return best ?? DEFAULT_DETECTION;
}

/** A rule's scope from the (kind, value) pair the stores keep it as. */
export const scopeFromColumns = (kind: RuleScope['kind'], value: string): RuleScope =>
  kind === 'tenant' ? { kind: 'tenant' } : kind === 'device' ? { kind: 'device', deviceId: value } : { kind: 'tag', tag: value };

/** The z-score settings from their three nullable columns: null when the rule has none. */
export const zScoreFromColumns = (threshold: number | null, window: number | null, warmup: number | null): ZScoreSettings | null =>
  threshold === null ? null : { threshold, window: window!, warmup: warmup! };

export const scopeKey = (scope: RuleScope): string =>
  scope.kind === 'tenant' ? 'tenant:' : scope.kind === 'device' ? `device:${scope.deviceId}` : `tag:${scope.tag}`;
