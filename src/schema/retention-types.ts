import { Field, InputType, Int, ObjectType } from 'type-graphql';
import type { RetentionKind } from '../domain/retention';
import { RetentionKindEnum } from './enums';

/** The GraphQL field of each retention kind (in days), in Retention and RetentionInput. */
export const RETENTION_FIELDS = {
  RAW_READINGS: 'rawReadingsDays',
  MINUTE_ROLLUPS: 'minuteRollupsDays',
  HOUR_ROLLUPS: 'hourRollupsDays',
  DAY_ROLLUPS: 'dayRollupsDays',
  RESOLVED_ANOMALIES: 'resolvedAnomaliesDays',
  DEAD_LETTERS: 'deadLettersDays',
  WEBHOOK_DELIVERIES: 'webhookDeliveriesDays',
  EVENT_IDS: 'eventIdsDays',
} as const satisfies Record<RetentionKind, string>;

type RetentionFields<T> = { [K in (typeof RETENTION_FIELDS)[RetentionKind]]: T };

@ObjectType({ description: "How long your tenant's data is kept, in days: your own settings, or the service defaults." })
export class Retention implements RetentionFields<number> {
  @Field(() => Int, { description: 'Raw readings. Older ranges are answered from the rollups that remain (bucket `source` says which).' })
  rawReadingsDays!: number;

  @Field(() => Int, { description: 'One-minute rollups (at least rawReadingsDays).' })
  minuteRollupsDays!: number;

  @Field(() => Int, { description: 'One-hour rollups (at least minuteRollupsDays).' })
  hourRollupsDays!: number;

  @Field(() => Int, { description: 'One-day rollups (at least hourRollupsDays).' })
  dayRollupsDays!: number;

  @Field(() => Int, { description: 'Anomalies, counted from when they were resolved; open and acknowledged ones are kept.' })
  resolvedAnomaliesDays!: number;

  @Field(() => Int)
  deadLettersDays!: number;

  @Field(() => Int, { description: 'Finished webhook deliveries; pending ones are kept until they finish.' })
  webhookDeliveriesDays!: number;

  @Field(() => Int, {
    description: 'Event-id deduplication window, by reading timestamp: a duplicate older than this is no longer recognised by its event id.',
  })
  eventIdsDays!: number;

  @Field(() => [RetentionKindEnum], { description: 'The kinds your tenant set itself; the others follow the service defaults.' })
  overridden!: RetentionKind[];
}

@InputType({
  description:
    'Replaces your retention settings. A field left out (or null) follows the service default. Each rollup level must be kept at least as long as the finer level.',
})
export class RetentionInput implements Partial<RetentionFields<number | null>> {
  @Field(() => Int, { nullable: true })
  rawReadingsDays?: number | null;

  @Field(() => Int, { nullable: true })
  minuteRollupsDays?: number | null;

  @Field(() => Int, { nullable: true })
  hourRollupsDays?: number | null;

  @Field(() => Int, { nullable: true })
  dayRollupsDays?: number | null;

  @Field(() => Int, { nullable: true })
  resolvedAnomaliesDays?: number | null;

  @Field(() => Int, { nullable: true })
  deadLettersDays?: number | null;

  @Field(() => Int, { nullable: true })
  webhookDeliveriesDays?: number | null;

  @Field(() => Int, { nullable: true })
  eventIdsDays?: number | null;
}
