import { Arg, ID, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { openAnomalyFeed, type AnomalyFeedItem } from '../subscriptions/anomaly-feed';
import { AsyncQueue } from '../subscriptions/async-queue';
import type { DeviceStatusChange, Severity } from '../domain/anomalies/anomaly';
import { decodePageCursor } from '../domain/cursor';
import { TelemetryError } from '../domain/errors';
import { Anomaly, DeviceStatusEvent } from '../schema/anomaly-types';
import { SeverityEnum } from '../schema/enums';
import { toAnomaly } from './anomaly-view';
import { authorize } from './authorize';
import type { GraphQLContext } from './context';
import { DEFAULT_MAX_BUFFERED, slowSubscriber } from '../subscriptions/resumable-feed';

const isSeq = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

interface AnomalyDetectedArgs {
  deviceId?: string | null;
  minSeverity?: Severity | null;
  after?: string | null;
}

async function subscribeAnomalyDetected({
  args,
  context,
}: SubscribeResolverData<unknown, AnomalyDetectedArgs, GraphQLContext>): Promise<AsyncIterable<AnomalyFeedItem>> {
  authorize(context.caller, 'read');
  const afterSeq = args.after ? decodePageCursor(args.after, isSeq) : undefined;
  if (args.after && afterSeq === undefined)
    throw new TelemetryError('BAD_USER_INPUT', 'after is not a cursor this API issued', { details: { argument: 'after' } });
  if (args.deviceId) await context.services.devices.require(context.caller.tenantId, [args.deviceId]);
  return openAnomalyFeed({
    hub: context.services.anomalyHub,
    publishedThrough: context.services.anomaliesPublishedThrough,
    store: context.services.store,
    tenantId: context.caller.tenantId,
    deviceId: args.deviceId ?? undefined,
    minSeverity: args.minSeverity ?? undefined,
    afterSeq,
    observer: context.services.feedObserver,
  });
}

async function subscribeDeviceStatusChanged({
  args,
  context,
}: SubscribeResolverData<unknown, { deviceId?: string | null }, GraphQLContext>): Promise<AsyncIterable<DeviceStatusChange>> {
  authorize(context.caller, 'read');
  if (args.deviceId) await context.services.devices.require(context.caller.tenantId, [args.deviceId]);
  let unsubscribe = () => {};
  const queue = new AsyncQueue<DeviceStatusChange>(() => unsubscribe());
  unsubscribe = context.services.statusHub.subscribe(context.caller.tenantId, (change) => {
    if (args.deviceId && change.deviceId !== args.deviceId) return;
    // Live only, so nothing to read back: a client that lets changes pile up is ended, not
    // allowed to grow the server's memory without bound.
    if (queue.size >= DEFAULT_MAX_BUFFERED) {
      queue.fail(slowSubscriber(DEFAULT_MAX_BUFFERED, 'status changes'));
      unsubscribe();
      return;
    }
    queue.push(change);
  });
  return queue;
}

@Resolver()
export class MonitoringSubscriptionResolver {
  @Subscription(() => Anomaly, {
    subscribe: subscribeAnomalyDetected,
    description:
      'Anomalies as they are stored: raised, then again (same id, new cursor) each time a trigger updates one, it clears, or a key acknowledges or resolves it. Pass `after` (the cursor of an anomaly) to first receive what you missed, with no gap and no duplicate.',
  })
  anomalyDetected(
    @Root() item: AnomalyFeedItem,
    @Arg('deviceId', () => ID, { nullable: true }) _deviceId?: string,
    @Arg('minSeverity', () => SeverityEnum, { nullable: true }) _minSeverity?: Severity,
    @Arg('after', () => String, { nullable: true }) _after?: string,
  ): Anomaly {
    return toAnomaly(item.anomaly);
  }

  @Subscription(() => DeviceStatusEvent, {
    subscribe: subscribeDeviceStatusChanged,
    description: 'Devices going online, offline (silent past their heartbeat timeout) or decommissioned. Live only: query `device` for the current status.',
  })
  deviceStatusChanged(@Root() change: DeviceStatusChange, @Arg('deviceId', () => ID, { nullable: true }) _deviceId?: string): DeviceStatusEvent {
    return change;
  }
}
