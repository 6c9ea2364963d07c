import type { GraphQLFieldResolver } from 'graphql';
import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import type { ReadingInput as DomainReadingInput } from '../domain/reading';
import type { IngestOutcome } from '../ingest/ingest-service';
import { ReadingInput } from '../schema/inputs';
import { IngestResult } from '../schema/types';
import { authorize } from './authorize';
import type { GraphQLContext } from './context';

const toResult = (outcome: IngestOutcome): IngestResult => ({
  accepted: outcome.accepted,
  rejected: outcome.rejected,
  acceptedCount: outcome.accepted.length,
  rejectedCount: outcome.rejected.length,
});

async function ingest(readings: readonly DomainReadingInput[], ctx: GraphQLContext): Promise<IngestResult> {
  authorize(ctx.caller, 'ingest');
  return toResult(await ctx.services.ingest.ingest(ctx.caller, readings, { traceHeaders: ctx.traceHeaders }));
}

@Resolver()
export class IngestResolver {
  @Mutation(() => IngestResult, { description: 'Sends one reading. Succeeds only once the stream has durably accepted it.' })
  ingestReading(@Arg('reading', () => ReadingInput) reading: ReadingInput, @Ctx() ctx: GraphQLContext): Promise<IngestResult> {
    return ingest([reading], ctx);
  }

  @Mutation(() => IngestResult, {
    description:
      'Sends a batch of readings (at most the configured batch size). Valid items are accepted, invalid ones reported by index; nothing rejected is written.',
  })
  ingestReadings(@Arg('readings', () => [ReadingInput]) readings: ReadingInput[], @Ctx() ctx: GraphQLContext): Promise<IngestResult> {
    return ingest(readings, ctx);
  }
}

/**
 * The same two mutations as plain graphql-js resolvers. type-graphql copies every input object
 * into a class instance by reflection before calling a resolver; on a 500-reading batch that
 * is thousands of allocations on the ingest hot path, and the domain validates plain objects
 * anyway. build-schema installs these in place of the generated resolvers (same behaviour).
 */
export const PLAIN_INGEST_RESOLVERS: Readonly<Record<'ingestReading' | 'ingestReadings', GraphQLFieldResolver<unknown, GraphQLContext>>> = {
  ingestReading: (_root, args: { reading: DomainReadingInput }, ctx) => ingest([args.reading], ctx),
  ingestReadings: (_root, args: { readings: DomainReadingInput[] }, ctx) => ingest(args.readings, ctx),
};
