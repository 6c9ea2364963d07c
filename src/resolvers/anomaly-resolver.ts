import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { MAX_ZSCORE_WINDOW, type AnomalyRule as RuleRecord, type RuleScope } from '../domain/anomalies/rules';
import { anomalyCursor } from '../subscriptions/anomaly-feed';
import { decodePageCursor } from '../domain/cursor';
import { TelemetryError } from '../domain/errors';
import { uuidv7 } from '../domain/ids';
import { METRIC_NAME_PATTERN } from '../domain/validation';
import { Anomaly, AnomalyConnection, AnomalyFilter, AnomalyRule, AnomalyRuleInput } from '../schema/anomaly-types';
import { toAnomaly } from './anomaly-view';
import { authorize } from './authorize';
import type { GraphQLContext } from './context';
import { invalidCursor, pageSize } from './paging';

const isSeq = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) > 0;

const toRule = (record: RuleRecord): AnomalyRule => ({
  ...record,
  deviceId: record.scope.kind === 'device' ? record.scope.deviceId : null,
  tag: record.scope.kind === 'tag' ? record.scope.tag : null,
});

/** Anomaly ids are decimal seqs; anything else names nothing. */
function parseAnomalyId(id: string): number {
  const seq = /^[1-9]\d{0,15}$/.test(id) ? Number(id) : NaN;
  if (!Number.isSafeInteger(seq)) throw new TelemetryError('NOT_FOUND', `no anomaly "${id}"`);
  return seq;
}

const bad = (field: string, message: string) => new TelemetryError('BAD_USER_INPUT', message, { details: { field } });

function checkRuleInput(input: AnomalyRuleInput): void {
  if (input.deviceId && input.tag) throw bad('tag', 'give deviceId or tag, not both');
  if (input.metric !== '*' && !METRIC_NAME_PATTERN.test(input.metric)) throw bad('metric', "metric must be a metric name or '*'");
  const z = input.zScore;
  if (z) {
    if (!(Number.isFinite(z.threshold) && z.threshold > 0)) throw bad('zScore.threshold', 'zScore.threshold must be a number above 0');
    if (!(z.window >= 2 && z.window <= MAX_ZSCORE_WINDOW)) throw bad('zScore.window', `zScore.window must be from 2 to ${MAX_ZSCORE_WINDOW}`);
    if (!(z.warmup >= 2 && z.warmup <= 1_000_000)) throw bad('zScore.warmup', 'zScore.warmup must be from 2 to 1000000');
  }
  for (const field of ['min', 'max', 'maxRatePerSecond'] as const) {
    const value = input[field];
    if (value !== null && value !== undefined && !Number.isFinite(value)) throw bad(field, `${field} must be a finite number`);
  }
  if (input.min != null && input.max != null && input.min > input.max) throw bad('min', 'min must not exceed max');
  if (input.maxRatePerSecond != null && input.maxRatePerSecond <= 0) throw bad('maxRatePerSecond', 'maxRatePerSecond must be above 0');
}

@Resolver()
export class AnomalyResolver {
  @Query(() => AnomalyConnection, { description: 'Anomalies of your tenant, newest first.' })
  async anomalies(
    @Ctx() ctx: GraphQLContext,
    @Arg('filter', () => AnomalyFilter, { nullable: true }) filter?: AnomalyFilter | null,
    @Arg('first', () => Int, { defaultValue: 50 }) first = 50,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<AnomalyConnection> {
    authorize(ctx.caller, 'read');
    const size = pageSize(first, ctx.services.limits.maxPageSize);
    const afterSeq = after ? decodePageCursor(after, isSeq) : undefined;
    if (after && afterSeq === undefined) throw invalidCursor('after');
    const page = await ctx.services.store.listAnomalies(
      ctx.caller.tenantId,
      { deviceId: filter?.deviceId ?? undefined, status: filter?.status ?? undefined, kind: filter?.kind ?? undefined, minSeverity: filter?.minSeverity ?? undefined },
      { first: size, afterKey: afterSeq === undefined ? undefined : String(afterSeq) },
    );
    const edges = page.items.map((record) => ({ cursor: anomalyCursor(record.seq), node: toAnomaly(record) }));
    return { edges, pageInfo: { hasNextPage: page.hasMore, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  @Query(() => [AnomalyRule], { description: 'Detection rules of your tenant. Series without a matching rule use z-score (3, window 60, warm-up 20).' })
  async anomalyRules(@Ctx() ctx: GraphQLContext): Promise<AnomalyRule[]> {
    authorize(ctx.caller, 'read');
    return (await ctx.services.store.listAnomalyRules(ctx.caller.tenantId)).map(toRule);
  }

  @Mutation(() => AnomalyRule, {
    description: 'Creates or replaces the rule for a scope and metric. The most specific rule applies to a series: device > tag > tenant, named metric > "*".',
  })
  async setAnomalyRule(@Arg('input', () => AnomalyRuleInput) input: AnomalyRuleInput, @Ctx() ctx: GraphQLContext): Promise<AnomalyRule> {
    authorize(ctx.caller, 'manage');
    checkRuleInput(input);
    if (input.deviceId) await ctx.services.devices.require(ctx.caller.tenantId, [input.deviceId]);
    const scope: RuleScope = input.deviceId ? { kind: 'device', deviceId: input.deviceId } : input.tag ? { kind: 'tag', tag: input.tag } : { kind: 'tenant' };
    const rule = await ctx.services.store.putAnomalyRule({
      id: uuidv7(),
      tenantId: ctx.caller.tenantId,
      scope,
      metric: input.metric,
      zScore: input.zScore ? { threshold: input.zScore.threshold, window: input.zScore.window, warmup: input.zScore.warmup } : null,
      min: input.min ?? null,
      max: input.max ?? null,
      maxRatePerSecond: input.maxRatePerSecond ?? null,
      severity: input.severity,
      updatedAt: Date.now(),
    });
    return toRule(rule);
  }

  @Mutation(() => Boolean, { description: 'Deletes a rule; NOT_FOUND if your tenant has no such rule.' })
  async deleteAnomalyRule(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    authorize(ctx.caller, 'manage');
    if (!(await ctx.services.store.deleteAnomalyRule(ctx.caller.tenantId, id))) throw new TelemetryError('NOT_FOUND', `no anomaly rule "${id}"`);
    return true;
  }

  @Mutation(() => Anomaly, { description: 'OPEN -> ACKNOWLEDGED, recording who and when.' })
  acknowledgeAnomaly(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Anomaly> {
    return transition(ctx, id, 'acknowledge');
  }

  @Mutation(() => Anomaly, { description: 'OPEN or ACKNOWLEDGED -> RESOLVED, recording who and when.' })
  resolveAnomaly(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Anomaly> {
    return transition(ctx, id, 'resolve');
  }
}

async function transition(ctx: GraphQLContext, id: string, action: 'acknowledge' | 'resolve'): Promise<Anomaly> {
  authorize(ctx.caller, 'manage');
  const updated = await ctx.services.store.transitionAnomaly(ctx.caller.tenantId, parseAnomalyId(id), { action, by: ctx.caller.keyId, at: Date.now() });
  if (!updated) throw new TelemetryError('NOT_FOUND', `no anomaly "${id}"`);
  return toAnomaly(updated);
}
