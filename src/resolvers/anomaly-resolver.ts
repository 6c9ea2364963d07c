import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { AnomalyRule as RuleRecord } from '../domain/anomalies/rules';
import { anomalyCursor } from '../subscriptions/anomaly-feed';
import { decodePageCursor } from '../domain/cursor';
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
  clearAfterSeconds: record.clearAfterMs === null ? null : record.clearAfterMs / 1000,
});

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
      {
        deviceId: filter?.deviceId ?? undefined,
        status: filter?.status ?? undefined,
        kind: filter?.kind ?? undefined,
        minSeverity: filter?.minSeverity ?? undefined,
      },
      { first: size, afterKey: afterSeq === undefined ? undefined : String(afterSeq) },
    );
    const edges = page.items.map((record) => ({ cursor: anomalyCursor(record.seq), node: toAnomaly(record) }));
    return { edges, pageInfo: { hasNextPage: page.hasMore, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  @Query(() => String, {
    description:
      'An `anomalyDetected` cursor at the newest anomaly change stored now (the start when there is none yet). Read it before a list of anomalies and subscribe with it as `after`: every change from then on arrives, none lost between the query and the subscription.',
  })
  async anomalyCursor(@Ctx() ctx: GraphQLContext): Promise<string> {
    authorize(ctx.caller, 'read');
    return anomalyCursor(await ctx.services.store.lastAnomalySeq());
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
    return toRule(await ctx.services.anomalies.setRule(ctx.caller.tenantId, input));
  }

  @Mutation(() => Boolean, { description: 'Deletes a rule; NOT_FOUND if your tenant has no such rule.' })
  async deleteAnomalyRule(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    authorize(ctx.caller, 'manage');
    await ctx.services.anomalies.deleteRule(ctx.caller.tenantId, id);
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
  return toAnomaly(await ctx.services.anomalies.transition(ctx.caller.tenantId, id, action, ctx.caller.keyId));
}
