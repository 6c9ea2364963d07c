import { Arg, Ctx, Int, Query, Resolver } from 'type-graphql';
import { decodePageCursor, encodePageCursor } from '../domain/cursor';
import { DeadLetterConnection } from '../schema/types';
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
}
