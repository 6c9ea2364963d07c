import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import type { BucketSource } from '../domain/timeseries/aggregate-buckets';
import type { SeriesSource } from '../domain/timeseries/plans';
import { BucketSourceEnum, SeriesSourceEnum } from './enums';
import { DateTimeScalar } from './scalars';

@ObjectType({ description: 'Statistics of one time bucket. Values are null when the bucket is empty and not filled.' })
export class AggregateBucket {
  @Field(() => DateTimeScalar, { description: 'Start of the bucket (the first may begin before `from`).' })
  start!: number;

  @Field(() => DateTimeScalar, { description: 'Exclusive end of the bucket.' })
  end!: number;

  @Field(() => Int)
  count!: number;

  @Field(() => Float, { nullable: true })
  sum!: number | null;

  @Field(() => Float, { nullable: true })
  avg!: number | null;

  @Field(() => Float, { nullable: true })
  min!: number | null;

  @Field(() => Float, { nullable: true })
  max!: number | null;

  @Field(() => Float, { nullable: true, description: 'Sample standard deviation; null for fewer than two readings.' })
  stddev!: number | null;

  @Field(() => Float, { nullable: true, description: 'Value of the earliest reading.' })
  first!: number | null;

  @Field(() => Float, { nullable: true, description: 'Value of the latest reading.' })
  last!: number | null;

  @Field(() => Float, { nullable: true, description: 'Median (continuous, linear interpolation), from raw readings.' })
  p50!: number | null;

  @Field(() => Float, { nullable: true })
  p90!: number | null;

  @Field(() => Float, { nullable: true })
  p95!: number | null;

  @Field(() => Float, { nullable: true })
  p99!: number | null;

  @Field(() => Boolean, { description: 'True when the values were filled in for an empty bucket.' })
  filled!: boolean;

  @Field(() => BucketSourceEnum, { nullable: true, description: 'Rollup level or raw readings; null for an empty bucket.' })
  source!: BucketSource | null;
}

@ObjectType({ description: 'Buckets of one device, or of all requested devices combined.' })
export class AggregateSeries {
  @Field(() => ID, { nullable: true, description: 'null when combineDevices was true.' })
  deviceId!: string | null;

  @Field(() => [AggregateBucket])
  buckets!: AggregateBucket[];
}

@ObjectType()
export class TimeValue {
  @Field(() => DateTimeScalar)
  timestamp!: number;

  @Field(() => Float)
  value!: number;
}

@ObjectType({ description: 'A series ready to chart: at most `points` points that keep its shape.' })
export class Series {
  @Field(() => ID)
  deviceId!: string;

  @Field(() => String)
  metric!: string;

  @Field(() => Int, { description: 'Readings stored in the range, before downsampling.' })
  totalPoints!: number;

  @Field(() => Boolean, { description: 'True when points is a downsampled subset (largest-triangle-three-buckets).' })
  downsampled!: boolean;

  @Field(() => SeriesSourceEnum)
  source!: SeriesSource;

  @Field(() => [TimeValue])
  points!: TimeValue[];
}
