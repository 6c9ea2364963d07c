import { Arg, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import { decodePageCursor, encodePageCursor } from '../domain/cursor';
import { TelemetryError } from '../domain/errors';
import { DateTimeScalar } from '../schema/scalars';
import type { SortOrder } from '../domain/reading';
import { SortOrderEnum } from '../schema/enums';
import { MetricPointConnection } from '../schema/types';
import { authorize } from './authorize';
import type { GraphQLContext } from './context';
import { invalidCursor, pageSize } from './paging';

const isTimestamp = (value: unknown): value is number => Number.isSafeInteger(value);

@Resolver()
export class ReadingResolver {
  @Query(() => MetricPointConnection, { description: 'Raw values of one metric of one device in [from, to), with cursor pagination.' })
  async readings(
    @Ctx() ctx: GraphQLContext,
    @Arg('deviceId', () => ID) deviceId: string,
    @Arg('metric', () => String) metric: string,
    @Arg('from', () => DateTimeScalar, { nullable: true, description: 'Inclusive.' }) from?: number | null,
    @Arg('to', () => DateTimeScalar, { nullable: true, description: 'Exclusive.' }) to?: number | null,
    @Arg('first', () => Int, { defaultValue: 100 }) first = 100,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
    @Arg('order', () => SortOrderEnum, { defaultValue: 'NEWEST_FIRST' satisfies SortOrder }) order: SortOrder = 'NEWEST_FIRST',
  ): Promise<MetricPointConnection> {
    authorize(ctx.caller, 'read');
    const size = pageSize(first, ctx.services.limits.maxPageSize);
    const afterTimestamp = after ? decodePageCursor(after, isTimestamp) : undefined;
    if (after && afterTimestamp === undefined) throw invalidCursor('after');
    const [device] = await ctx.services.store.getDevices(ctx.caller.tenantId, [deviceId]);
    if (!device) throw new TelemetryError('NOT_FOUND', `no device "${deviceId}"`);
    const page = await ctx.services.store.queryReadings(ctx.caller.tenantId, {
      deviceId,
      metric,
      from: from ?? undefined,
      to: to ?? undefined,
      first: size,
      afterTimestamp,
      order,
    });
    const edges = page.items.map((point) => ({ cursor: encodePageCursor(point.timestamp), node: point }));
    return { edges, pageInfo: { hasNextPage: page.hasMore, endCursor: edges.at(-1)?.cursor ?? null } };
  }
}
