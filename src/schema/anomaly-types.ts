import { Field, Float, ID, InputType, Int, ObjectType } from 'type-graphql';
import type { AnomalyKind, AnomalyStatus, DeviceStatus, Severity } from '../domain/anomalies/anomaly';
import { DEFAULT_ZSCORE } from '../domain/anomalies/rules';
import { AnomalyKindEnum, AnomalyStatusEnum, DeviceStatusEnum, SeverityEnum } from './enums';
import { DateTimeScalar } from './scalars';
import { PageInfo } from './types';

@ObjectType({ description: 'Something a detector found in the readings of a device.' })
export class Anomaly {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  deviceId!: string;

  @Field(() => String, { nullable: true, description: 'null for SILENCE.' })
  metric!: string | null;

  @Field(() => AnomalyKindEnum)
  kind!: AnomalyKind;

  @Field(() => SeverityEnum)
  severity!: Severity;

  @Field(() => Float, {
    description: 'ZSCORE: z. THRESHOLD: distance past the limit. RATE_OF_CHANGE: units per second. SILENCE: silent time / timeout.',
  })
  score!: number;

  @Field(() => Float, { nullable: true, description: 'The offending value (null for SILENCE).' })
  value!: number | null;

  @Field(() => Float, { nullable: true })
  expectedMin!: number | null;

  @Field(() => Float, { nullable: true })
  expectedMax!: number | null;

  @Field(() => DateTimeScalar, { description: 'Timestamp of the reading (SILENCE: when the device was last seen).' })
  timestamp!: number;

  @Field(() => DateTimeScalar, { description: 'When it was first detected.' })
  detectedAt!: number;

  @Field(() => Int, {
    description: 'Triggers merged into it: 1 when raised, one more for each trigger of the same series and kind while it is OPEN or ACKNOWLEDGED.',
  })
  occurrences!: number;

  @Field(() => Float, { nullable: true, description: 'The value of the latest trigger (null for SILENCE).' })
  lastValue!: number | null;

  @Field(() => DateTimeScalar, { description: 'Timestamp of the reading of the latest trigger.' })
  lastTimestamp!: number;

  @Field(() => AnomalyStatusEnum)
  status!: AnomalyStatus;

  @Field(() => String, { nullable: true, description: 'API key id that acknowledged it.' })
  acknowledgedBy!: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  acknowledgedAt!: number | null;

  @Field(() => String, {
    nullable: true,
    description: "API key id that resolved it, or 'system': cleared after its rule's clearAfterSeconds of normal readings, or its device came back online.",
  })
  resolvedBy!: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  resolvedAt!: number | null;

  @Field(() => String, { description: 'Pass as `after` to anomalyDetected to resume after this change of this anomaly.' })
  cursor!: string;
}

@ObjectType()
export class AnomalyEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Anomaly)
  node!: Anomaly;
}

@ObjectType()
export class AnomalyConnection {
  @Field(() => [AnomalyEdge])
  edges!: AnomalyEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType()
export class ZScoreSettings {
  @Field(() => Float)
  threshold!: number;

  @Field(() => Int)
  window!: number;

  @Field(() => Int)
  warmup!: number;
}

@ObjectType({ description: 'Detection settings for a scope (tenant, device or tag) and a metric (or all).' })
export class AnomalyRule {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { nullable: true, description: 'Set for a device rule.' })
  deviceId!: string | null;

  @Field(() => String, { nullable: true, description: 'Set for a tag rule.' })
  tag!: string | null;

  @Field(() => String, { description: "A metric name, or '*' for all metrics." })
  metric!: string;

  @Field(() => ZScoreSettings, { nullable: true, description: 'null: z-score detection off.' })
  zScore!: ZScoreSettings | null;

  @Field(() => Float, { nullable: true })
  min!: number | null;

  @Field(() => Float, { nullable: true })
  max!: number | null;

  @Field(() => Float, { nullable: true })
  maxRatePerSecond!: number | null;

  @Field(() => SeverityEnum)
  severity!: Severity;

  @Field(() => Float, { nullable: true, description: 'Seconds of normal readings after which an anomaly clears by itself; null: the service default.' })
  clearAfterSeconds!: number | null;

  @Field(() => DateTimeScalar)
  updatedAt!: number;
}

@ObjectType({ description: 'A device changed status.' })
export class DeviceStatusEvent {
  @Field(() => ID)
  deviceId!: string;

  @Field(() => DeviceStatusEnum)
  status!: DeviceStatus;

  @Field(() => DeviceStatusEnum)
  previousStatus!: DeviceStatus;

  @Field(() => DateTimeScalar)
  at!: number;

  @Field(() => DateTimeScalar, { nullable: true })
  lastSeenAt!: number | null;
}

@InputType()
export class ZScoreInput {
  @Field(() => Float, { defaultValue: DEFAULT_ZSCORE.threshold, description: 'Fires when |z| exceeds this (> 0).' })
  threshold!: number;

  @Field(() => Int, {
    defaultValue: DEFAULT_ZSCORE.window,
    description: 'Most recent changes (value minus the one before) the median and spread are taken over (2-1000).',
  })
  window!: number;

  @Field(() => Int, { defaultValue: DEFAULT_ZSCORE.warmup, description: 'Values seen before the first possible firing (>= 2).' })
  warmup!: number;
}

@InputType({ description: 'Give deviceId, or tag, or neither (the tenant-wide rule). A rule for the same scope and metric is replaced.' })
export class AnomalyRuleInput {
  @Field(() => ID, { nullable: true })
  deviceId?: string | null;

  @Field(() => String, { nullable: true })
  tag?: string | null;

  @Field(() => String, { defaultValue: '*', description: "A metric name, or '*' for all metrics." })
  metric!: string;

  @Field(() => ZScoreInput, { nullable: true, defaultValue: { ...DEFAULT_ZSCORE }, description: 'null turns z-score detection off.' })
  zScore?: ZScoreInput | null;

  @Field(() => Float, { nullable: true })
  min?: number | null;

  @Field(() => Float, { nullable: true })
  max?: number | null;

  @Field(() => Float, { nullable: true, description: 'Largest allowed change per second (> 0).' })
  maxRatePerSecond?: number | null;

  @Field(() => SeverityEnum, { defaultValue: 'WARNING' satisfies Severity })
  severity!: Severity;

  @Field(() => Float, {
    nullable: true,
    description:
      "Seconds (0 to 30 days, in the readings' time) the series must stay normal after an anomaly's latest trigger before it clears by itself (RESOLVED by system); null: the service default (TELEMETRY_ANOMALY_CLEAR_AFTER_SECONDS).",
  })
  clearAfterSeconds?: number | null;
}

@InputType()
export class AnomalyFilter {
  @Field(() => ID, { nullable: true })
  deviceId?: string | null;

  @Field(() => AnomalyStatusEnum, { nullable: true })
  status?: AnomalyStatus | null;

  @Field(() => AnomalyKindEnum, { nullable: true })
  kind?: AnomalyKind | null;

  @Field(() => SeverityEnum, { nullable: true, description: 'This severity and above.' })
  minSeverity?: Severity | null;
}
