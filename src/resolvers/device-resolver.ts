import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { decodePageCursor, encodePageCursor } from '../domain/cursor';
import type { Device as DeviceRecord } from '../domain/device';
import { attributeEntry } from '../domain/device-attributes';
import type { JsonValue } from '../domain/device';
import { TelemetryError } from '../domain/errors';
import { DeviceFilter, RegisterDeviceInput, UpdateDeviceInput } from '../schema/inputs';
import { DeviceDeletionResult, DeviceRegistrationResult } from '../schema/device-types';
import { Device, DeviceConnection, MetricPoint } from '../schema/types';
import { RegisteredDevice } from '../schema/api-key-types';
import { authorize } from './authorize';
import type { GraphQLContext } from './context';
import { invalidCursor, pageSize } from './paging';

const isString = (value: unknown): value is string => typeof value === 'string';

const toDevice = (record: DeviceRecord, defaultHeartbeatTimeoutMs: number): Device => ({
  id: record.id,
  name: record.name,
  tags: [...record.tags],
  createdAt: record.createdAt,
  status: record.status,
  lastSeenAt: record.lastSeenAt,
  heartbeatTimeoutSeconds: Math.round((record.heartbeatTimeoutMs ?? defaultHeartbeatTimeoutMs) / 1000),
  attributes: record.attributes,
});

/** The store's attribute filter from the GraphQL one. */
function attributeFilter(filter: DeviceFilter['attribute']): string | undefined {
  if (!filter) return undefined;
  if (filter.equals === undefined) throw new TelemetryError('BAD_USER_INPUT', 'attribute.equals is required', { details: { field: 'attribute.equals' } });
  return attributeEntry(filter.key, filter.equals as JsonValue);
}

@Resolver(() => Device)
export class DeviceResolver {
  @Query(() => Device, { nullable: true, description: 'A device of your tenant, or null.' })
  async device(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Device | null> {
    authorize(ctx.caller, 'read');
    const [record] = await ctx.services.store.getDevices(ctx.caller.tenantId, [id]);
    return record ? toDevice(record, ctx.services.defaultHeartbeatTimeoutMs) : null;
  }

  @Query(() => DeviceConnection, { description: 'Devices of your tenant ordered by id, with cursor pagination.' })
  async devices(
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { defaultValue: 50 }) first: number,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
    @Arg('filter', () => DeviceFilter, { nullable: true }) filter?: DeviceFilter | null,
  ): Promise<DeviceConnection> {
    authorize(ctx.caller, 'read');
    const size = pageSize(first, ctx.services.limits.maxPageSize);
    const afterKey = after ? decodePageCursor(after, isString) : undefined;
    if (after && afterKey === undefined) throw invalidCursor('after');
    const page = await ctx.services.store.listDevices(
      ctx.caller.tenantId,
      {
        tag: filter?.tag ?? undefined,
        nameContains: filter?.nameContains ?? undefined,
        status: filter?.status ?? undefined,
        attributeEntry: attributeFilter(filter?.attribute),
      },
      { first: size, afterKey },
    );
    const edges = page.items.map((record) => ({ cursor: encodePageCursor(record.id), node: toDevice(record, ctx.services.defaultHeartbeatTimeoutMs) }));
    return { edges, pageInfo: { hasNextPage: page.hasMore, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  @Mutation(() => RegisteredDevice, {
    description: 'Registers a device in your tenant and returns it with its own key (shown once). Fails with ALREADY_EXISTS if the id is taken.',
  })
  async registerDevice(@Arg('input', () => RegisterDeviceInput) input: RegisterDeviceInput, @Ctx() ctx: GraphQLContext): Promise<RegisteredDevice> {
    authorize(ctx.caller, 'manage');
    const { device, deviceKey } = await ctx.services.devices.register(ctx.caller.tenantId, input);
    return { device: toDevice(device, ctx.services.defaultHeartbeatTimeoutMs), deviceKey };
  }

  @Mutation(() => [DeviceRegistrationResult], {
    description:
      'Registers 1-100 devices, each on its own: one refused (bad input, id taken, id whose old data is still being removed) does not stop the others. One result per input, in order.',
  })
  async registerDevices(
    @Arg('inputs', () => [RegisterDeviceInput]) inputs: RegisterDeviceInput[],
    @Ctx() ctx: GraphQLContext,
  ): Promise<DeviceRegistrationResult[]> {
    authorize(ctx.caller, 'manage');
    const results = await ctx.services.devices.registerMany(ctx.caller.tenantId, inputs);
    return results.map((result) =>
      'error' in result
        ? { index: result.index, registered: null, error: { code: result.error.code, message: result.error.message } }
        : {
            index: result.index,
            registered: { device: toDevice(result.device, ctx.services.defaultHeartbeatTimeoutMs), deviceKey: result.deviceKey },
            error: null,
          },
    );
  }

  @Mutation(() => Device, { description: 'Changes the name, tags, heartbeat timeout or attributes of a device; a field left out stays as it is.' })
  async updateDevice(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateDeviceInput) input: UpdateDeviceInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Device> {
    authorize(ctx.caller, 'manage');
    const record = await ctx.services.devices.update(ctx.caller.tenantId, id, input);
    return toDevice(record, ctx.services.defaultHeartbeatTimeoutMs);
  }

  @Mutation(() => DeviceDeletionResult, {
    description:
      'Deletes a device: its keys are revoked (their WebSockets close), its readings subscriptions end, and readings of it still in flight become DEVICE_DELETED dead letters. ' +
      'With keepData: false its anomalies, detector state and latest values go at once, and its readings, rollups and event ids in the background (removingData: true; ' +
      'registering the id again is refused with UNAVAILABLE, reason DEVICE_DATA_REMOVAL, until they are gone); with keepData: true they stay (registering the id again shows them).',
  })
  async deleteDevice(
    @Arg('id', () => ID) id: string,
    @Arg('keepData', () => Boolean) keepData: boolean,
    @Ctx() ctx: GraphQLContext,
  ): Promise<DeviceDeletionResult> {
    authorize(ctx.caller, 'manage');
    const { removingData } = await ctx.services.devices.delete(ctx.caller.tenantId, id, keepData);
    return { id, keptData: keepData, removingData };
  }

  @Mutation(() => Device, { description: 'Sets the silence after which the device goes OFFLINE; null restores the service default.' })
  async setHeartbeatTimeout(
    @Arg('deviceId', () => ID) deviceId: string,
    @Arg('seconds', () => Int, { nullable: true }) seconds: number | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Device> {
    authorize(ctx.caller, 'manage');
    const record = await ctx.services.devices.setHeartbeatTimeout(ctx.caller.tenantId, deviceId, seconds);
    return toDevice(record, ctx.services.defaultHeartbeatTimeoutMs);
  }

  @Mutation(() => Device, { description: 'Marks a device DECOMMISSIONED: it is no longer checked for silence. Its data stays.' })
  async decommissionDevice(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Device> {
    authorize(ctx.caller, 'manage');
    const record = await ctx.services.devices.decommission(ctx.caller.tenantId, id);
    return toDevice(record, ctx.services.defaultHeartbeatTimeoutMs);
  }

  @FieldResolver(() => [MetricPoint], { description: 'The newest stored value of each metric of the device.' })
  latest(@Root() device: Device, @Ctx() ctx: GraphQLContext): Promise<MetricPoint[]> {
    return ctx.loaders.latest.load(device.id);
  }
}
