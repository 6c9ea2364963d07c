import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { TelemetryError } from '../domain/errors';
import { decodePageCursor, encodePageCursor } from '../domain/cursor';
import { DeadLetterConnection, DeadLetterReplay } from '../schema/types';
import { authorize } from './authorize';
import type { GraphQLContext } from './context';
import { invalidCursor, pageSize } from './paging';

const isId = (value: unknown): value is number => Number.isSafeInteger(value);

@Resolver()
export class DeadLetterResolver {
  @Query(() => DeadLetterConnection, { description: 'Stream messages of your tenant the consumer could never apply (admin).' })
  async deadLetters(
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { defaultValue: 50 }) first = 50,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<DeadLetterConnection> {
    authorize(ctx.caller, 'manage');
    const size = pageSize(first, ctx.services.limits.maxPageSize);
    const afterId = after ? decodePageCursor(after, isId) : undefined;
    if (after && afterId === undefined) throw invalidCursor('after');
    const page = await ctx.services.store.listDeadLetters(ctx.caller.tenantId, { first: size, afterKey: afterId === undefined ? undefined : String(afterId) });
    const edges = page.items.map((letter) => ({ cursor: encodePageCursor(letter.id), node: { ...letter, id: String(letter.id) } }));
    return { edges, pageInfo: { hasNextPage: page.hasMore, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  @Mutation(() => DeadLetterReplay, {
    description: 'Sends a dead letter back to the stream, e.g. after registering the device it named (admin). It is applied like any new message.',
  })
  async replayDeadLetter(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<DeadLetterReplay> {
    authorize(ctx.caller, 'manage');
    const numericId = Number(id);
    if (!Number.isSafeInteger(numericId) || numericId < 1) throw new TelemetryError('NOT_FOUND', `no dead letter "${id}"`);
    const replay = await ctx.services.replayDeadLetter(ctx.caller.tenantId, numericId);
    return { deadLetterId: id, partition: replay.position.partition, offset: replay.position.offset };
  }
}
