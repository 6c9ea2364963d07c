import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import type { DeviceStatus } from '../domain/anomalies/anomaly';
import type { RejectionCode } from '../domain/validation';
import { DeviceStatusEnum, RejectionCodeEnum } from './enums';
import { DateTimeScalar, JsonScalar } from './scalars';

@ObjectType({ description: 'One named value of a reading.' })
export class Metric {
  @Field(() => String)
  name!: string;

  @Field(() => Float)
  value!: number;
}

@ObjectType({ description: 'One stored value of one metric of one device.' })
export class MetricPoint {
  @Field(() => ID)
  deviceId!: string;

  @Field(() => String)
  metric!: string;

  @Field(() => DateTimeScalar)
  timestamp!: number;

  @Field(() => Float)
  value!: number;
}

@ObjectType({ description: 'A registered device.' })
export class Device {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => [String])
  tags!: string[];

  @Field(() => DateTimeScalar)
  createdAt!: number;

  @Field(() => DeviceStatusEnum)
  status!: DeviceStatus;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When the service last accepted a reading of the device.' })
  lastSeenAt!: number | null;

  @Field(() => Int, { description: 'Silence after which the device goes OFFLINE (its own setting or the service default).' })
  heartbeatTimeoutSeconds!: number;

  @Field(() => JsonScalar, { description: 'Free-form attributes: an object of key -> JSON value ({} when none).' })
  attributes!: unknown;
}

@ObjectType()
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: 'Pass as `after` to get the next page.' })
  endCursor!: string | null;
}

@ObjectType()
export class DeviceEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Device)
  node!: Device;
}

@ObjectType()
export class DeviceConnection {
  @Field(() => [DeviceEdge])
  edges!: DeviceEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType()
export class MetricPointEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => MetricPoint)
  node!: MetricPoint;
}

@ObjectType()
export class MetricPointConnection {
  @Field(() => [MetricPointEdge])
  edges!: MetricPointEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType({ description: 'A reading that was stored, as subscriptions deliver it.' })
export class ReadingEvent {
  @Field(() => ID)
  deviceId!: string;

  @Field(() => DateTimeScalar)
  timestamp!: number;

  @Field(() => [Metric], { description: 'The values this reading stored (filtered to `metric` when the subscription names one).' })
  metrics!: Metric[];

  @Field(() => String)
  eventId!: string;

  @Field(() => Int, { description: 'Stream partition the reading travelled through.' })
  partition!: number;

  @Field(() => Float, { description: 'Offset of the reading in its partition.' })
  offset!: number;

  @Field(() => String, { description: 'Resume point: subscribe again with `after: cursor` to get exactly what follows this event.' })
  cursor!: string;
}

@ObjectType({ description: 'A reading the stream durably accepted.' })
export class AcceptedReading {
  @Field(() => Int, { description: 'Position of the reading in the request.' })
  index!: number;

  @Field(() => String)
  eventId!: string;

  @Field(() => ID)
  deviceId!: string;

  @Field(() => Int)
  partition!: number;

  @Field(() => Float)
  offset!: number;
}

@ObjectType({ description: 'A reading that was not written, and why.' })
export class RejectedReading {
  @Field(() => Int, { description: 'Position of the reading in the request.' })
  index!: number;

  @Field(() => RejectionCodeEnum)
  code!: RejectionCode;

  @Field(() => String)
  message!: string;
}

@ObjectType({ description: 'Outcome of an ingest call: every input index appears in exactly one list.' })
export class IngestResult {
  @Field(() => [AcceptedReading])
  accepted!: AcceptedReading[];

  @Field(() => [RejectedReading])
  rejected!: RejectedReading[];

  @Field(() => Int)
  acceptedCount!: number;

  @Field(() => Int)
  rejectedCount!: number;
}

@ObjectType({ description: 'A stream message the consumer could never apply, kept with its reason and payload.' })
export class DeadLetter {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  topic!: string;

  @Field(() => Int)
  partition!: number;

  @Field(() => Float)
  offset!: number;

  @Field(() => String)
  reason!: string;

  @Field(() => String, { description: 'The original message, as it was in the stream.' })
  payload!: string;

  @Field(() => DateTimeScalar)
  createdAt!: number;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When it was last sent back to the stream with replayDeadLetter.' })
  replayedAt!: number | null;
}

@ObjectType({ description: 'A dead letter sent back to the stream.' })
export class DeadLetterReplay {
  @Field(() => ID)
  deadLetterId!: string;

  @Field(() => Int, { description: 'Partition the message was appended to.' })
  partition!: number;

  @Field(() => Float, { description: 'Its new offset: the consumer applies it (or dead-letters it again) from there.' })
  offset!: number;
}

@ObjectType()
export class DeadLetterEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => DeadLetter)
  node!: DeadLetter;
}

@ObjectType()
export class DeadLetterConnection {
  @Field(() => [DeadLetterEdge])
  edges!: DeadLetterEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
