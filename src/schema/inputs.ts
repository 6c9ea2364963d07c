import { Field, Float, ID, InputType, Int } from 'type-graphql';
import { DateTimeScalar } from './scalars';

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
}

@InputType()
export class DeviceFilter {
  @Field(() => String, { nullable: true, description: 'Only devices carrying this tag.' })
  tag?: string | null;

  @Field(() => String, { nullable: true, description: 'Only devices whose name contains this text (case-insensitive).' })
  nameContains?: string | null;
}
