import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import type { IngestOutcome } from '../ingest/ingest-service';
import { ReadingInput } from '../schema/inputs';
import { IngestResult, type RejectionCode } from '../schema/types';
import { authorize } from './authorize';
import type { GraphQLContext } from './context';

const toResult = (outcome: IngestOutcome): IngestResult => ({
  accepted: outcome.accepted,
  rejected: outcome.rejected.map((r) => ({ ...r, code: r.code as RejectionCode })),
  acceptedCount: outcome.accepted.length,
  rejectedCount: outcome.rejected.length,
});

@Resolver()
export class IngestResolver {
  @Mutation(() => IngestResult, { description: 'Sends one reading. Succeeds only once the stream has durably accepted it.' })
  async ingestReading(@Arg('reading', () => ReadingInput) reading: ReadingInput, @Ctx() ctx: GraphQLContext): Promise<IngestResult> {
    authorize(ctx.caller, 'ingest');
    return toResult(await ctx.services.ingest.ingest(ctx.caller, [reading]));
  }

  @Mutation(() => IngestResult, {
    description: 'Sends a batch of readings (at most the configured batch size). Valid items are accepted, invalid ones reported by index; nothing rejected is written.',
  })
  async ingestReadings(@Arg('readings', () => [ReadingInput]) readings: ReadingInput[], @Ctx() ctx: GraphQLContext): Promise<IngestResult> {
    authorize(ctx.caller, 'ingest');
    return toResult(await ctx.services.ingest.ingest(ctx.caller, readings));
  }
}
