import { Arg, Ctx, ID, Int, Mutation, Query, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import type { Command as CommandRecord } from '../domain/command';
import { decodePageCursor, encodePageCursor } from '../domain/cursor';
import { AsyncQueue } from '../subscriptions/async-queue';
import { DEFAULT_MAX_BUFFERED, slowSubscriber } from '../subscriptions/resumable-feed';
import { Command, CommandConnection } from '../schema/command-types';
import { JsonScalar } from '../schema/scalars';
import { authorize } from './authorize';
import type { GraphQLContext } from './context';
import { invalidCursor, pageSize } from './paging';

const toCommand = (record: CommandRecord): Command => ({
  id: record.id,
  deviceId: record.deviceId,
  name: record.name,
  payload: record.payload,
  status: record.status,
  result: record.result ?? null,
  createdAt: record.createdAt,
  expiresAt: record.expiresAt,
  updatedAt: record.updatedAt,
});

/** A page cursor of commands: the last command's creation time and id (the store's order). */
const isPosition = (value: unknown): value is [number, string] =>
  Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && typeof value[1] === 'string';

async function subscribeCommandUpdated({
  args,
  context,
}: SubscribeResolverData<unknown, { deviceId?: string | null }, GraphQLContext>): Promise<AsyncIterable<CommandRecord>> {
  authorize(context.caller, 'read');
  if (args.deviceId) await context.services.devices.require(context.caller.tenantId, [args.deviceId]);
  let unsubscribe = () => {};
  const queue = new AsyncQueue<CommandRecord>(() => unsubscribe());
  unsubscribe = context.services.commandHub.subscribe(context.caller.tenantId, (command) => {
    if (args.deviceId && command.deviceId !== args.deviceId) return;
    // Live only (query `command` for the current status): a client that lets changes pile up is ended.
    if (queue.size >= DEFAULT_MAX_BUFFERED) {
      queue.fail(slowSubscriber(DEFAULT_MAX_BUFFERED, 'command changes'));
      unsubscribe();
      return;
    }
    queue.push(command);
  });
  return queue;
}

@Resolver(() => Command)
export class CommandResolver {
  @Mutation(() => Command, {
    description:
      'Sends a command to a device of your tenant (admin keys): stored PENDING, published with QoS 1 to devices/{deviceId}/commands/{name} as {"commandId", "payload"} ' +
      'when the device is connected and subscribed (on any API node), else when it next subscribes; DELIVERED once the device acknowledges it; EXPIRED if not answered within timeoutSeconds (1-604800). ' +
      'name: 1-64 of A-Z a-z 0-9 . _ - ; payload at most 16 KiB as JSON. NOT_FOUND for a device your tenant does not have.',
  })
  async sendCommand(
    @Arg('deviceId', () => ID) deviceId: string,
    @Arg('name', () => String) name: string,
    @Arg('payload', () => JsonScalar, { nullable: true }) payload: unknown,
    @Arg('timeoutSeconds', () => Int) timeoutSeconds: number,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Command> {
    authorize(ctx.caller, 'manage');
    return toCommand(await ctx.services.commands.send(ctx.caller, deviceId, name, payload ?? null, timeoutSeconds));
  }

  @Query(() => Command, { nullable: true, description: 'A command of your tenant, or null.' })
  async command(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Command | null> {
    authorize(ctx.caller, 'read');
    const record = await ctx.services.commands.command(ctx.caller.tenantId, id);
    return record ? toCommand(record) : null;
  }

  @Query(() => CommandConnection, {
    description: "A device's commands, newest first, with cursor pagination. NOT_FOUND for a device your tenant does not have.",
  })
  async commands(
    @Arg('deviceId', () => ID) deviceId: string,
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { defaultValue: 50 }) first: number,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<CommandConnection> {
    authorize(ctx.caller, 'read');
    const size = pageSize(first, ctx.services.limits.maxPageSize);
    const position = after ? decodePageCursor(after, isPosition) : undefined;
    if (after && position === undefined) throw invalidCursor('after');
    await ctx.services.devices.require(ctx.caller.tenantId, [deviceId]);
    const page = await ctx.services.commands.commandsOf(ctx.caller.tenantId, deviceId, {
      first: size,
      after: position && { createdAt: position[0], id: position[1] },
    });
    const edges = page.items.map((record) => ({ cursor: encodePageCursor([record.createdAt, record.id]), node: toCommand(record) }));
    return { edges, pageInfo: { hasNextPage: page.hasMore, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  @Subscription(() => Command, {
    subscribe: subscribeCommandUpdated,
    description:
      "Every status change of your tenant's commands (or one device's): sent (PENDING), DELIVERED, SUCCEEDED, FAILED, EXPIRED, whichever API node saw it. Live only: query `command` for the current status.",
  })
  commandUpdated(@Root() command: CommandRecord, @Arg('deviceId', () => ID, { nullable: true }) _deviceId?: string): Command {
    return toCommand(command);
  }
}
