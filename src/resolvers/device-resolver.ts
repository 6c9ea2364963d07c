import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { decodePageCursor, encodePageCursor } from '../domain/cursor';
import { TelemetryError } from '../domain/errors';
import { DEVICE_ID_PATTERN } from '../domain/validation';
import type { Device as DeviceRecord } from '../store/store';
import { DeviceFilter, RegisterDeviceInput } from '../schema/inputs';
import { Device, DeviceConnection, MetricPoint } from '../schema/types';
import { authorize } from './authorize';
import type { GraphQLContext } from './context';
import { invalidCursor, pageSize } from './paging';

const isString = (value: unknown): value is string => typeof value === 'string';
const MAX_TAGS = 32;
const TAG_PATTERN = /^[\p{L}\p{N}_.:\-/ ]{1,64}$/u;

const toDevice = (record: DeviceRecord): Device => ({ id: record.id, name: record.name, tags: [...record.tags], createdAt: record.createdAt });

@Resolver(() => Device)
export class DeviceResolver {
  @Query(() => Device, { nullable: true, description: 'A device of your tenant, or null.' })
  async device(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Device | null> {
    authorize(ctx.caller, 'read');
    const [record] = await ctx.services.store.getDevices(ctx.caller.tenantId, [id]);
    return record ? toDevice(record) : null;
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
    const edges = page.items.map((record) => ({ cursor: encodePageCursor(record.id), node: toDevice(record) }));
    return { edges, pageInfo: { hasNextPage: page.hasMore, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  @Mutation(() => Device, { description: 'Registers a device in your tenant. Fails with ALREADY_EXISTS if the id is taken.' })
  async registerDevice(@Arg('input', () => RegisterDeviceInput) input: RegisterDeviceInput, @Ctx() ctx: GraphQLContext): Promise<Device> {
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
    const record = await ctx.services.store.registerDevice(ctx.caller.tenantId, { id: input.id, name, tags });
    ctx.services.devices.remember(ctx.caller.tenantId, record.id);
    return toDevice(record);
  }

  @FieldResolver(() => [MetricPoint], { description: 'The newest stored value of each metric of the device.' })
  latest(@Root() device: Device, @Ctx() ctx: GraphQLContext): Promise<MetricPoint[]> {
    return ctx.loaders.latest.load(device.id);
  }
}
