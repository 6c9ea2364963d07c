import { TelemetryError } from './errors';
import { ROLLUP_RESOLUTIONS_MS } from './timeseries/buckets';
import { defineVocabulary, type ValueOf } from './vocabulary';

/** What retention removes, each kind on its own clock. */
export const RETENTION_KINDS = defineVocabulary({
  RAW_READINGS: 'Raw readings, by their timestamp.',
  MINUTE_ROLLUPS: 'One-minute rollups, by bucket start.',
  HOUR_ROLLUPS: 'One-hour rollups, by bucket start.',
  DAY_ROLLUPS: 'One-day rollups, by bucket start.',
  RESOLVED_ANOMALIES: 'Anomalies resolved for longer than this (open and acknowledged ones are kept).',
  DEAD_LETTERS: 'Dead letters, by when they were stored.',
  WEBHOOK_DELIVERIES: 'Finished webhook deliveries (delivered or failed), by when they were created; pending ones are kept.',
  EVENT_IDS: 'Event ids kept for deduplication, by reading timestamp: a duplicate older than this is no longer detected by its id.',
});
export type RetentionKind = ValueOf<typeof RETENTION_KINDS>;

/** How long each kind is kept, ms. */
export type RetentionPolicy = Readonly<Record<RetentionKind, number>>;

/** A tenant's own settings: a kind left out follows the service default. */
export type RetentionOverrides = Partial<RetentionPolicy>;

/** The rollup kind of each rollup resolution, finest first (as ROLLUP_RESOLUTIONS_MS). */
export const ROLLUP_KINDS: readonly { readonly kind: RetentionKind; readonly resolutionMs: number }[] = [
  { kind: 'MINUTE_ROLLUPS', resolutionMs: ROLLUP_RESOLUTIONS_MS[0] },
  { kind: 'HOUR_ROLLUPS', resolutionMs: ROLLUP_RESOLUTIONS_MS[1] },
  { kind: 'DAY_ROLLUPS', resolutionMs: ROLLUP_RESOLUTIONS_MS[2] },
];

/** Levels from finest to coarsest: each must be kept at least as long as the one before. */
const LEVELS: readonly RetentionKind[] = ['RAW_READINGS', 'MINUTE_ROLLUPS', 'HOUR_ROLLUPS', 'DAY_ROLLUPS'];

const DAY_MS = 86_400_000;
/** Longest retention accepted: 100 years (what a "keep everything" setting would be). */
export const MAX_RETENTION_MS = 36_500 * DAY_MS;

/** The policy a tenant gets: its overrides over the service defaults. */
export const effectivePolicy = (defaults: RetentionPolicy, overrides: RetentionOverrides): RetentionPolicy => ({ ...defaults, ...overrides });

export interface RetentionProblem {
  readonly kind: RetentionKind;
  readonly message: string;
}

/**
 * The policy's problems (empty when it is valid): every duration positive and at most
 * MAX_RETENTION_MS, and each rollup level kept at least as long as the finer level it is built
 * from, so a query over a removed range still finds a coarser level that covers it. `name`
 * says how a kind is spelled to whoever set it (a GraphQL field, an environment variable).
 */
export function retentionProblems(policy: RetentionPolicy, name: (kind: RetentionKind) => string = (kind) => kind): RetentionProblem[] {
  const problems: RetentionProblem[] = [];
  for (const kind of RETENTION_KINDS.values) {
    const ms = policy[kind];
    if (!Number.isInteger(ms) || ms <= 0 || ms > MAX_RETENTION_MS) {
      problems.push({ kind, message: `${name(kind)} must be a positive duration of at most ${MAX_RETENTION_MS / DAY_MS} days` });
    }
  }
  for (let i = 1; i < LEVELS.length; i++) {
    const [finer, coarser] = [LEVELS[i - 1]!, LEVELS[i]!];
    if (policy[coarser] < policy[finer]) {
      problems.push({
        kind: coarser,
        message: `${name(coarser)} (${policy[coarser] / DAY_MS} days) must be at least ${name(finer)} (${policy[finer] / DAY_MS} days): a coarser level is kept at least as long as the finer one it is built from`,
      });
    }
  }
  return problems;
}

/** Throws BAD_USER_INPUT listing every problem, naming the first field at fault in details. */
export function checkRetentionPolicy(policy: RetentionPolicy, name: (kind: RetentionKind) => string): void {
  const problems = retentionProblems(policy, name);
  if (problems.length > 0) {
    throw new TelemetryError('BAD_USER_INPUT', problems.map((p) => p.message).join('; '), { details: { field: name(problems[0]!.kind) } });
  }
}

/**
 * Where each level's data may begin at `now`: before this instant, retention may have removed
 * it (it is removed at the next pass). Queries plan around these.
 */
export interface RetentionHorizons {
  /** Raw readings may be gone before this. */
  readonly raw: number;
  /** Per rollup resolution (ms), the instant before which its buckets may be gone. */
  readonly rollups: ReadonlyMap<number, number>;
}

export function horizonsOf(policy: RetentionPolicy, now: number): RetentionHorizons {
  return {
    raw: now - policy.RAW_READINGS,
    rollups: new Map(ROLLUP_KINDS.map(({ kind, resolutionMs }) => [resolutionMs, firstKeptBucket(now - policy[kind], resolutionMs)])),
  };
}

/**
 * A rollup bucket is removed once it ends at or before the cut-off (all its readings are older
 * than the policy): a bucket holding a newer reading is kept whole. The first bucket kept
 * therefore starts at the cut-off rounded down to the resolution.
 */
export const firstKeptBucket = (cutoff: number, resolutionMs: number): number => Math.floor(cutoff / resolutionMs) * resolutionMs;

/** The resolution of a rollup kind, ms. */
export const resolutionOf = (kind: RetentionKind): number => {
  const level = ROLLUP_KINDS.find((candidate) => candidate.kind === kind);
  if (!level) throw new Error(`${kind} is not a rollup level`);
  return level.resolutionMs;
};
