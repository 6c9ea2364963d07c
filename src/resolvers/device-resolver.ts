import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { decodePageCursor, encodePageCursor } from '../domain/cursor';
import { TelemetryError } from '../domain/errors';
import { DEVICE_ID_PATTERN } from '../domain/validation';
import type { Device as DeviceRecord } from '../store/store';
import { DeviceFilter, RegisterDeviceInput } from '../schema/inputs';
import { Device, DeviceConnection, MetricPoint } from '../schema/types';
import { RegisteredDevice } from '../schema/api-key-types';
import { authorize } from './authorize';
import type { GraphQLContext } from './context';
import { invalidCursor, pageSize } from './paging';

const isString = (value: unknown): value is string => typeof value === 'string';
const MAX_TAGS = 32;
const TAG_PATTERN = /^[\p{L}\p{N}_.:\-/ ]{1,64}$/u;

const MAX_HEARTBEAT_SECONDS = 30 * 86_400;

const toDevice = (record: DeviceRecord, defaultHeartbeatTimeoutMs: number): Device => ({
  id: record.id,
  name: record.name,
  tags: [...record.tags],
  createdAt: record.createdAt,
  status: record.status,
  lastSeenAt: record.lastSeenAt,
  heartbeatTimeoutSeconds: Math.round((record.heartbeatTimeoutMs ?? defaultHeartbeatTimeoutMs) / 1000),
});

function heartbeatMs(seconds: number | null | undefined): number | null {
  if (seconds === null || seconds === undefined) return null;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_HEARTBEAT_SECONDS) {
    throw new TelemetryError('BAD_USER_INPUT', `heartbeatTimeoutSeconds must be from 1 to ${MAX_HEARTBEAT_SECONDS}`, { details: { field: 'heartbeatTimeoutSeconds' } });
  }
  return seconds * 1000;
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
      { tag: filter?.tag ?? undefined, nameContains: filter?.nameContains ?? undefined },
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
    if (!DEVICE_ID_PATTERN.test(input.id)) {
      throw new TelemetryError('BAD_USER_INPUT', 'id must be 1-128 characters of [A-Za-z0-9._:-], starting with a letter or digit', { details: { field: 'id' } });
    }
    const name = input.name ?? input.id;
    if (name.length === 0 || name.length > 200) throw new TelemetryError('BAD_USER_INPUT', 'name must be 1-200 characters', { details: { field: 'name' } });
    const tags = [...new Set(input.tags ?? [])];
    if (tags.length > MAX_TAGS || tags.some((tag) => !TAG_PATTERN.test(tag))) {
      throw new TelemetryError('BAD_USER_INPUT', `at most ${MAX_TAGS} tags of 1-64 letters, digits, spaces or _.:-/`, { details: { field: 'tags' } });
    }
    const heartbeatTimeoutMs = heartbeatMs(input.heartbeatTimeoutSeconds);
    const record = await ctx.services.store.registerDevice(ctx.caller.tenantId, { id: input.id, name, tags, heartbeatTimeoutMs });
    ctx.services.devices.remember(ctx.caller.tenantId, record.id);
    const { secret } = await ctx.services.keys.issueDeviceKey(ctx.caller.tenantId, record.id);
    return { device: toDevice(record, ctx.services.defaultHeartbeatTimeoutMs), deviceKey: secret };
  }

  @Mutation(() => Device, { description: 'Sets the silence after which the device goes OFFLINE; null restores the service default.' })
  async setHeartbeatTimeout(
    @Arg('deviceId', () => ID) deviceId: string,
    @Arg('seconds', () => Int, { nullable: true }) seconds: number | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Device> {
    authorize(ctx.caller, 'manage');
    const record = await ctx.services.store.setHeartbeatTimeout(ctx.caller.tenantId, deviceId, heartbeatMs(seconds));
    if (!record) throw new TelemetryError('NOT_FOUND', `no device "${deviceId}"`);
    return toDevice(record, ctx.services.defaultHeartbeatTimeoutMs);
  }

  @Mutation(() => Device, { description: 'Marks a device DECOMMISSIONED: it is no longer checked for silence. Its data stays.' })
  async decommissionDevice(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Device> {
    authorize(ctx.caller, 'manage');
    const change = await ctx.services.store.decommissionDevice(ctx.caller.tenantId, id, Date.now());
    if (!change) throw new TelemetryError('NOT_FOUND', `no device "${id}"`);
    if (change.previousStatus !== change.status) ctx.services.statusHub.publish([change]);
    const [record] = await ctx.services.store.getDevices(ctx.caller.tenantId, [id]);
    return toDevice(record!, ctx.services.defaultHeartbeatTimeoutMs);
  }

  @FieldResolver(() => [MetricPoint], { description: 'The newest stored value of each metric of the device.' })
  latest(@Root() device: Device, @Ctx() ctx: GraphQLContext): Promise<MetricPoint[]> {
    return ctx.loaders.latest.load(device.id);
  }
}
