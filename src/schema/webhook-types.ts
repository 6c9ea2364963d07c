import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import type { Severity } from '../domain/anomalies/anomaly';
import type { DeliveryStatus } from '../domain/webhooks';
import { DeliveryStatusEnum, SeverityEnum } from './enums';
import { DateTimeScalar } from './scalars';

@ObjectType({ description: 'One anomaly sent (or being sent) to a webhook.' })
export class WebhookDelivery {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  anomalyId!: string;

  @Field(() => DeliveryStatusEnum)
  status!: DeliveryStatus;

  @Field(() => Int)
  attempts!: number;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Next try, while PENDING.' })
  nextAttemptAt!: number | null;

  @Field(() => Int, { nullable: true, description: 'HTTP status of the last attempt (null: no response).' })
  lastStatusCode!: number | null;

  @Field(() => String, { nullable: true })
  lastError!: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  deliveredAt!: number | null;

  @Field(() => DateTimeScalar)
  createdAt!: number;
}

@ObjectType({ description: 'Anomalies at or above minSeverity are POSTed here, signed with HMAC-SHA256 (docs/PROTOCOL.md).' })
export class Webhook {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  url!: string;

  @Field(() => SeverityEnum)
  minSeverity!: Severity;

  @Field(() => DateTimeScalar)
  createdAt!: number;
}

@ObjectType()
export class CreatedWebhook {
  @Field(() => Webhook)
  webhook!: Webhook;

  @Field(() => String, { description: 'Signing secret. Shown once: store it with the receiver.' })
  secret!: string;
}

@InputType()
export class CreateWebhookInput {
  @Field(() => String, { description: 'http(s) URL, at most 2048 characters.' })
  url!: string;

  @Field(() => SeverityEnum, { defaultValue: 'WARNING' satisfies Severity })
  minSeverity!: Severity;
}
