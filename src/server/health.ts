/**
 * GET /healthz and GET /readyz, for Kubernetes probes (README, "Health and probes"):
 *  - liveness (/healthz): the process does its job. 503 only when a part is stuck in a way a
 *    restart may cure (the consumer retrying a batch or inside one round for longer than
 *    TELEMETRY_CONSUMER_STUCK_SECONDS); an unreachable database is not a reason to restart.
 *  - readiness (/readyz): this node should get traffic now: the database answers, the stream
 *    takes writes, and the consumer (where this role runs one) makes progress or is idle.
 * Both answer JSON with every check and, when failing, the reasons.
 */

/** The parts probes check; each role has some of them. */
export type CheckName =
  /** The persister: making progress, or idle with nothing to do. */
  | 'consumer'
  /** The database answers a read. */
  | 'store'
  /** The stream took this process's last write (or no write has failed lately). */
  | 'stream';

/** /healthz status values. */
export type LiveStatus =
  /** Every liveness check passes. */
  | 'ok'
  /** A part is stuck (503); `reasons` says which and why. */
  | 'degraded';

/** /readyz status values. */
export type ReadyStatus =
  /** Every readiness check passes. */
  | 'ready'
  /** At least one fails (503); `reasons` says which and why. */
  | 'not ready';

export interface CheckResult {
  readonly ok: boolean;
  /** A word for what the part is doing (e.g. the consumer's state). */
  readonly state?: string;
  /** Why it fails, or what it is going through while still passing (a short retry). */
  readonly reason?: string;
}

export type Check = () => CheckResult | Promise<CheckResult>;

/** What both probes answer (as JSON). */
interface ProbeBody<Status> {
  readonly status: Status;
  /** The role of this process (all, api or consumer). */
  readonly role: string;
  /** Why a check fails ("<check>: <reason>"); only when one does. */
  readonly reasons?: readonly string[];
  readonly checks: Readonly<Partial<Record<CheckName, CheckResult>>>;
}

/** /healthz's answer: its checks, then the role's details (see HealthProbeOptions.details). */
export type LiveBody<Details> = ProbeBody<LiveStatus> & Details;

/** /readyz's answer. */
export type ReadyBody = ProbeBody<ReadyStatus>;

export interface ProbeAnswer<Body> {
  /** 200 when true, 503 otherwise. */
  readonly ok: boolean;
  readonly body: Body;
}

/** The probes as the HTTP servers see them; `Details` is what /healthz adds to its checks. */
export interface HealthProbes<Details = unknown> {
  live(): Promise<ProbeAnswer<LiveBody<Details>>>;
  ready(): Promise<ProbeAnswer<ReadyBody>>;
}

export interface HealthProbeOptions<Details> {
  /** The role named in every answer. */
  readonly role: string;
  /** Checks deciding liveness (a subset of readiness: they decide both). */
  readonly live: Partial<Record<CheckName, Check>>;
  /** Further checks deciding readiness only. */
  readonly ready: Partial<Record<CheckName, Check>>;
  /** Counters added to /healthz for people and benchmarks (consumer progress, subscriptions). */
  readonly details: () => Details;
  /** A check taking longer fails with "no answer within ...", ms. @default 2000 */
  readonly checkTimeoutMs?: number;
}

export function createHealthProbes<Details extends object>({
  role,
  live,
  ready,
  details,
  checkTimeoutMs = 2000,
}: HealthProbeOptions<Details>): HealthProbes<Details> {
  const run = async (checks: Partial<Record<CheckName, Check>>) => {
    const entries = await Promise.all(Object.entries(checks).map(async ([name, check]) => [name, await settle(check, checkTimeoutMs)] as const));
    const results: Partial<Record<CheckName, CheckResult>> = Object.fromEntries(entries);
    const reasons = entries.filter(([, result]) => !result.ok).map(([name, result]) => `${name}: ${result.reason ?? 'failing'}`);
    return { results, reasons };
  };
  return {
    async live() {
      const { results, reasons } = await run(live);
      const status: LiveStatus = reasons.length === 0 ? 'ok' : 'degraded';
      return { ok: reasons.length === 0, body: { status, role, ...(reasons.length ? { reasons } : {}), checks: results, ...details() } };
    },
    async ready() {
      const { results, reasons } = await run({ ...live, ...ready });
      const status: ReadyStatus = reasons.length === 0 ? 'ready' : 'not ready';
      return { ok: reasons.length === 0, body: { status, role, ...(reasons.length ? { reasons } : {}), checks: results } };
    },
  };
}

async function settle(check: Check, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, reason: `no answer within ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve().then(check), timeout]);
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}
