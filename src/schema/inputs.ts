import { Field, Float, ID, InputType, Int } from 'type-graphql';
import type { DeviceStatus } from '../domain/anomalies/anomaly';
import { DeviceStatusEnum } from './enums';
import { DateTimeScalar, JsonScalar } from './scalars';

@InputType({ description: 'One named value, e.g. { name: "temperature", value: 21.4 }.' })
export class MetricInput {
  @Field(() => String, { description: 'Letters, digits, "_" and "."; starts with a letter or "_"; at most 64 characters.' })
  name!: string;

  @Field(() => Float)
  value!: number;
}

@InputType({ description: 'A reading from one device at one instant.' })
export class ReadingInput {
  @Field(() => ID)
  deviceId!: string;

  @Field(() => DateTimeScalar)
  timestamp!: number;

  @Field(() => [MetricInput])
  metrics!: MetricInput[];

  @Field(() => String, {
    nullable: true,
    description: 'Idempotency key: a reading sent twice with the same eventId is stored once. Generated when absent.',
  })
  eventId?: string | null;
}

@InputType()
export class RegisterDeviceInput {
  @Field(() => ID, { description: '1-128 characters of [A-Za-z0-9._:-], unique in the tenant.' })
  id!: string;

  @Field(() => String, { nullable: true, description: 'Display name; defaults to the id.' })
  name?: string | null;

  @Field(() => [String], { nullable: true })
  tags?: string[] | null;

  @Field(() => Int, { nullable: true, description: 'Silence after which the device goes OFFLINE, 1-2592000 s; the service default when absent.' })
  heartbeatTimeoutSeconds?: number | null;

  @Field(() => JsonScalar, {
    nullable: true,
    description: 'Free-form attributes: an object of at most 32 keys (1-64 of [A-Za-z0-9_.:-]) to any JSON value, at most 1024 bytes as JSON.',
  })
  attributes?: unknown;
}

@InputType({ description: 'What updateDevice changes: a field left out stays as it is.' })
export class UpdateDeviceInput {
  @Field(() => String, { nullable: true, description: 'New display name.' })
  name?: string | null;

  @Field(() => [String], { nullable: true, description: 'Replaces every tag.' })
  tags?: string[] | null;

  @Field(() => Int, { nullable: true, description: 'Silence after which the device goes OFFLINE, 1-2592000 s; null restores the service default.' })
  heartbeatTimeoutSeconds?: number | null;

  @Field(() => JsonScalar, { nullable: true, description: 'Replaces every attribute (same limits as at registration); {} removes them all.' })
  attributes?: unknown;
}

@InputType({ description: 'An attribute and the JSON value it must equal (objects match whatever their key order).' })
export class AttributeEquals {
  @Field(() => String)
  key!: string;

  @Field(() => JsonScalar)
  equals!: unknown;
}

@InputType()
export class DeviceFilter {
  @Field(() => DeviceStatusEnum, { nullable: true, description: 'Only devices in this status.' })
  status?: DeviceStatus | null;

  @Field(() => AttributeEquals, { nullable: true, description: 'Only devices whose attribute `key` equals `equals`.' })
  attribute?: AttributeEquals | null;

  @Field(() => String, { nullable: true, description: 'Only devices carrying this tag.' })
  tag?: string | null;

  @Field(() => String, { nullable: true, description: 'Only devices whose name contains this text (case-insensitive).' })
  nameContains?: string | null;
}
