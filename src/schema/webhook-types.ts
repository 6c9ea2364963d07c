import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import type { AnomalyKind, Severity } from '../domain/anomalies/anomaly';
import type { ChannelKind, DeliveryStatus } from '../domain/webhooks';
import { AnomalyKindEnum, ChannelKindEnum, DeliveryStatusEnum, SeverityEnum } from './enums';
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

@ObjectType({
  description:
    'A notification channel: anomalies at or above minSeverity (and matching kinds and tags) are POSTed to a WEBHOOK, signed with HMAC-SHA256 (docs/PROTOCOL.md), or published to an OCI Notifications topic (ONS).',
})
export class Webhook {
  @Field(() => ID)
  id!: string;

  @Field(() => ChannelKindEnum)
  channel!: ChannelKind;

  @Field(() => String, { description: 'The URL (WEBHOOK) or the topic OCID (ONS).' })
  url!: string;

  @Field(() => SeverityEnum)
  minSeverity!: Severity;

  @Field(() => [AnomalyKindEnum], { nullable: true, description: 'Only anomalies of these kinds; null: every kind.' })
  kinds!: readonly AnomalyKind[] | null;

  @Field(() => [String], { nullable: true, description: 'Only anomalies of devices with at least one of these tags; null: every device.' })
  tags!: readonly string[] | null;

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

/**
 * What every channel may filter on (webhooks and ONS channels alike): fields inherited by their
 * inputs. Decorated so type-graphql records the fields; no operation takes it by itself.
 */
@InputType('ChannelFilters', { description: 'Filters of a notification channel (webhook or ONS).' })
class ChannelFiltersInput {
  @Field(() => SeverityEnum, { defaultValue: 'WARNING' satisfies Severity })
  minSeverity!: Severity;

  @Field(() => [AnomalyKindEnum], { nullable: true, description: 'Only anomalies of these kinds (default: every kind).' })
  kinds?: AnomalyKind[] | null;

  @Field(() => [String], { nullable: true, description: 'Only anomalies of devices with at least one of these tags (default: every device).' })
  tags?: string[] | null;
}

@InputType()
export class CreateWebhookInput extends ChannelFiltersInput {
  @Field(() => String, { description: 'http(s) URL, at most 2048 characters.' })
  url!: string;
}

@InputType()
export class CreateOnsChannelInput extends ChannelFiltersInput {
  @Field(() => String, { description: 'The OCI Notifications topic OCID (ocid1.onstopic...).' })
  topicId!: string;
}
