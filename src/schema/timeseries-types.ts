import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeScalar } from './scalars';

export enum GapFill {
  NONE = 'NONE',
  NULL = 'NULL',
  PREVIOUS = 'PREVIOUS',
  LINEAR = 'LINEAR',
}
registerEnumType(GapFill, {
  name: 'GapFill',
  description: 'What to do with buckets that hold no readings.',
  valuesConfig: {
    NONE: { description: 'Leave them out.' },
    NULL: { description: 'Return them with count 0 and null values.' },
    PREVIOUS: { description: 'Repeat the values of the last bucket with data (null before the first).' },
    LINEAR: { description: 'Interpolate each value between the nearest buckets with data (null at the ends).' },
  },
});

export enum AggregatePlan {
  AUTO = 'AUTO',
  RAW = 'RAW',
}
registerEnumType(AggregatePlan, {
  name: 'AggregatePlan',
  valuesConfig: {
    AUTO: { description: 'Use the coarsest rollup that answers each bucket exactly; raw readings otherwise.' },
    RAW: { description: 'Scan raw readings only (same answer, slower; for comparison).' },
  },
});

export enum BucketSource {
  RAW = 'RAW',
  ROLLUP_1M = 'ROLLUP_1M',
  ROLLUP_1H = 'ROLLUP_1H',
  ROLLUP_1D = 'ROLLUP_1D',
}
registerEnumType(BucketSource, { name: 'BucketSource', description: 'Where the numbers of a bucket came from.' });

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

  @Field(() => BucketSource, { nullable: true, description: 'Rollup level or raw readings; null for an empty bucket.' })
  source!: BucketSource | null;
}

@ObjectType({ description: 'Buckets of one device, or of all requested devices combined.' })
export class AggregateSeries {
  @Field(() => ID, { nullable: true, description: 'null when combineDevices was true.' })
  deviceId!: string | null;

  @Field(() => [AggregateBucket])
  buckets!: AggregateBucket[];
}

export enum SeriesSource {
  RAW = 'RAW',
  ROLLUPS = 'ROLLUPS',
}
registerEnumType(SeriesSource, {
  name: 'SeriesSource',
  description: 'Where the points of a series were chosen from.',
  valuesConfig: {
    RAW: { description: 'Every stored reading in the range.' },
    ROLLUPS: { description: "The first, lowest, highest and last readings of each rollup bucket (a chart point spans at least a minute); every point is still a stored reading." },
  },
});

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

  @Field(() => SeriesSource)
  source!: SeriesSource;

  @Field(() => [TimeValue])
  points!: TimeValue[];
}
