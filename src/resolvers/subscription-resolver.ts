import { Arg, Ctx, ID, Query, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { openReadingFeed, storedReadingsCursor, type FeedItem } from '../subscriptions/reading-feed';
import { decodeCursor } from '../domain/cursor';
import { TelemetryError } from '../domain/errors';
import { ReadingEvent } from '../schema/types';
import { authorize } from './authorize';
import type { GraphQLContext } from './context';

/** Most devices one readingAdded subscription may name. */
export const MAX_SUBSCRIBED_DEVICES = 1000;

interface ReadingAddedArgs {
  deviceId?: string | null;
  deviceIds?: string[] | null;
  metric?: string | null;
  after?: string | null;
}

async function subscribeReadingAdded({ args, context }: SubscribeResolverData<unknown, ReadingAddedArgs, GraphQLContext>): Promise<AsyncIterable<FeedItem>> {
  authorize(context.caller, 'read');
  const deviceIds = [...new Set([...(args.deviceId ? [args.deviceId] : []), ...(args.deviceIds ?? [])])];
  if (deviceIds.length === 0) throw new TelemetryError('BAD_USER_INPUT', 'name a deviceId or at least one of deviceIds');
  if (deviceIds.length > MAX_SUBSCRIBED_DEVICES) {
    throw new TelemetryError('BAD_USER_INPUT', `a subscription names at most ${MAX_SUBSCRIBED_DEVICES} devices`, {
      details: { limit: MAX_SUBSCRIBED_DEVICES },
    });
  }
  const after = args.after ? decodeCursor(args.after) : undefined;
  if (args.after && after === undefined)
    throw new TelemetryError('BAD_USER_INPUT', 'after is not a cursor this API issued', { details: { argument: 'after' } });
  await context.services.devices.require(context.caller.tenantId, deviceIds);
  return openReadingFeed({
    hub: context.services.hub,
    store: context.services.store,
    partitions: context.services.partitions,
    tenantId: context.caller.tenantId,
    deviceIds,
    metric: args.metric ?? undefined,
    after,
    observer: context.services.feedObserver,
  });
}

@Resolver()
export class SubscriptionResolver {
  @Query(() => String, {
    description:
      'A `readingAdded` cursor at the readings stored now. Read it before a query of readings and subscribe with it as `after`: every reading stored from then on arrives, none lost between the query and the subscription (one the query returned may arrive again).',
  })
  async readingCursor(@Ctx() ctx: GraphQLContext): Promise<string> {
    authorize(ctx.caller, 'read');
    return storedReadingsCursor(ctx.services.store, ctx.services.partitions);
  }

  @Subscription(() => ReadingEvent, {
    subscribe: subscribeReadingAdded,
    description:
      'Readings of the given devices, delivered after they are stored. Pass `after` (a cursor from an earlier event) to first receive what you missed, then live events, with no gap and no duplicate.',
  })
  readingAdded(
    @Root() item: FeedItem,
    @Arg('deviceId', () => ID, { nullable: true }) _deviceId?: string,
    @Arg('deviceIds', () => [ID], { nullable: true }) _deviceIds?: string[],
    @Arg('metric', () => String, { nullable: true }) _metric?: string,
    @Arg('after', () => String, { nullable: true }) _after?: string,
  ): ReadingEvent {
    return toReadingEvent(item);
  }
}

function toReadingEvent({ reading, cursor }: FeedItem): ReadingEvent {
  return {
    deviceId: reading.deviceId,
    timestamp: reading.timestamp,
    metrics: reading.metrics as ReadingEvent['metrics'],
    eventId: reading.eventId,
    partition: reading.partition,
    offset: reading.offset,
    cursor,
  };
}

/**
 * Runs once per delivered event: as a plain resolver it skips type-graphql's per-call
 * argument conversion (the arguments were consumed when the subscription started).
 * build-schema installs it in place of the generated resolver; behaviour is identical.
 */
export const PLAIN_SUBSCRIPTION_RESOLVERS = {
  readingAdded: (item: FeedItem) => toReadingEvent(item),
} as const;
