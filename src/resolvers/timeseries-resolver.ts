import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, ID, Info, Int, Query, Resolver } from 'type-graphql';
import { TelemetryError } from '../domain/errors';
import { parseBucket } from '../domain/timeseries/buckets';
import { PERCENTILES } from '../domain/timeseries/percentile';
import { DateTimeScalar } from '../schema/scalars';
import type { GapFill } from '../domain/timeseries/aggregate-buckets';
import type { AggregatePlan } from '../domain/timeseries/plans';
import { AggregatePlanEnum, GapFillEnum } from '../schema/enums';
import { AggregateSeries, Series } from '../schema/timeseries-types';
import { runAggregates } from '../queries/aggregates';
import { runSeries } from '../queries/series';
import { authorize } from './authorize';
import type { GraphQLContext } from './context';
import { selectedFieldNames } from './selection';

/** Most devices one aggregates query may name. */
export const MAX_AGGREGATE_DEVICES = 100;
const MAX_SERIES_POINTS = 10_000;

@Resolver()
export class TimeSeriesResolver {
  @Query(() => [AggregateSeries], {
    description:
      'Statistics of one metric per time bucket over [from, to), per device or combined. Percentiles come from raw readings; everything else from rollups whenever they answer a bucket exactly (the result is the same either way). Where retention removed the raw readings, buckets come from the finest rollup kept there and widen to its grid: their `source`, `start` and `end` say so (percentiles are null there).',
  })
  async aggregates(
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('deviceIds', () => [ID]) deviceIds: string[],
    @Arg('metric', () => String) metric: string,
    @Arg('from', () => DateTimeScalar, { description: 'Inclusive.' }) from: number,
    @Arg('to', () => DateTimeScalar, { description: 'Exclusive.' }) to: number,
    @Arg('bucket', () => String, { description: 'A fixed width from "1s" to "1d" (s, m, h, d; aligned to UTC), or "day", "week" (from Monday), "month".' })
    bucket: string,
    @Arg('timeZone', () => String, { defaultValue: 'UTC', description: 'IANA time zone of calendar buckets, e.g. "Europe/Paris".' }) timeZone: string,
    @Arg('fill', () => GapFillEnum, { defaultValue: 'NONE' satisfies GapFill }) fill: GapFill,
    @Arg('combineDevices', () => Boolean, { defaultValue: false, description: 'One series merging all devices instead of one per device.' })
    combineDevices: boolean,
    @Arg('plan', () => AggregatePlanEnum, { defaultValue: 'AUTO' satisfies AggregatePlan }) plan: AggregatePlan,
  ): Promise<AggregateSeries[]> {
    authorize(ctx.caller, 'read');
    const devices = [...new Set(deviceIds)];
    if (devices.length === 0 || devices.length > MAX_AGGREGATE_DEVICES) {
      throw new TelemetryError('BAD_USER_INPUT', `name 1 to ${MAX_AGGREGATE_DEVICES} devices`, {
        details: { argument: 'deviceIds', limit: MAX_AGGREGATE_DEVICES },
      });
    }
    const spec = parseBucket(bucket, timeZone);
    await ctx.services.devices.require(ctx.caller.tenantId, devices);
    const selected = selectedFieldNames(info, ['buckets']);
    const series = await runAggregates(ctx.services.store, ctx.caller.tenantId, {
      deviceIds: devices,
      metric,
      from,
      to,
      bucket: spec,
      fill,
      percentiles: Object.keys(PERCENTILES).some((name) => selected.has(name)),
      combineDevices,
      rawOnly: plan === 'RAW',
      maxBuckets: ctx.services.limits.maxAggregateBuckets,
      horizons: await ctx.services.retention.horizons(ctx.caller.tenantId),
    });
    return series;
  }

  @Query(() => Series, {
    description:
      "One metric of one device over [from, to), downsampled to at most `points` points for charts (LTTB). When one point spans a minute or more, the candidates are each rollup bucket's first, lowest, highest and last readings instead of every reading (`source: ROLLUPS`), and so are ranges reaching back before the raw readings retention keeps.",
  })
  async series(
    @Ctx() ctx: GraphQLContext,
    @Arg('deviceId', () => ID) deviceId: string,
    @Arg('metric', () => String) metric: string,
    @Arg('from', () => DateTimeScalar, { description: 'Inclusive.' }) from: number,
    @Arg('to', () => DateTimeScalar, { description: 'Exclusive.' }) to: number,
    @Arg('points', () => Int, { defaultValue: 1000, description: `3 to ${MAX_SERIES_POINTS}.` }) points: number,
  ): Promise<Series> {
    authorize(ctx.caller, 'read');
    if (!Number.isInteger(points) || points < 3 || points > MAX_SERIES_POINTS) {
      throw new TelemetryError('BAD_USER_INPUT', `points must be from 3 to ${MAX_SERIES_POINTS}`, { details: { argument: 'points' } });
    }
    if (!(from < to)) throw new TelemetryError('BAD_USER_INPUT', 'from must be before to', { details: { argument: 'from' } });
    await ctx.services.devices.require(ctx.caller.tenantId, [deviceId]);
    const result = await runSeries(ctx.services.store, ctx.caller.tenantId, {
      deviceId,
      metric,
      from,
      to,
      points,
      maxRows: ctx.services.limits.maxSeriesReadings,
      horizons: await ctx.services.retention.horizons(ctx.caller.tenantId),
    });
    return {
      deviceId,
      metric,
      totalPoints: result.totalPoints,
      downsampled: result.points.length < result.totalPoints,
      source: result.source,
      points: result.points,
    };
  }
}
