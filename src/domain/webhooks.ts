import { createHmac } from 'node:crypto';
import type { Anomaly, AnomalyKind, Severity } from './anomalies/anomaly';
import { defineVocabulary, type ValueOf } from './vocabulary';

/**
 * Notification channels: where anomalies are pushed (a webhook, or an OCI Notifications topic),
 * and how each delivery went. Both kinds share one outbox: a delivery row is written in the
 * transaction that stores its anomaly, and sent, retried and reported the same way.
 */

/** What a channel delivers to. */
export const CHANNEL_KINDS = defineVocabulary({
  WEBHOOK: 'An http(s) URL: each anomaly is POSTed as JSON, signed with HMAC-SHA256.',
  ONS: "An OCI Notifications topic (its OCID in `url`): a readable message with the JSON details, fanned out by the topic's subscriptions (email, SMS, Slack, PagerDuty...).",
});
export type ChannelKind = ValueOf<typeof CHANNEL_KINDS>;

export interface Webhook {
  readonly tenantId: string;
  readonly id: string;
  readonly channel: ChannelKind;
  /** Where deliveries go: the URL (WEBHOOK), the topic OCID (ONS). */
  readonly url: string;
  readonly minSeverity: Severity;
  /** Only anomalies of these kinds; null: every kind. */
  readonly kinds: readonly AnomalyKind[] | null;
  /** Only anomalies of devices with at least one of these tags; null: every device. */
  readonly tags: readonly string[] | null;
  readonly createdAt: number;
}

/** How the delivery of one anomaly to one webhook stands. */
export const DELIVERY_STATUSES = defineVocabulary({
  PENDING: 'Queued, or retrying after a failed attempt.',
  DELIVERED: 'The receiver answered 2xx.',
  FAILED: 'Out of attempts; it will not be retried.',
});
export type DeliveryStatus = ValueOf<typeof DELIVERY_STATUSES>;

export interface WebhookDelivery {
  readonly id: number;
  readonly tenantId: string;
  readonly webhookId: string;
  readonly anomalySeq: number;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly nextAttemptAt: number | null;
  readonly lastStatusCode: number | null;
  readonly lastError: string | null;
  readonly deliveredAt: number | null;
  readonly createdAt: number;
}

/** A delivery due now, with what it takes to send it. */
export interface DueDelivery {
  readonly delivery: WebhookDelivery;
  readonly channel: ChannelKind;
  readonly url: string;
  readonly secret: string;
  readonly anomaly: Anomaly;
}

export interface DeliveryOutcome {
  readonly at: number;
  readonly delivered: boolean;
  readonly statusCode: number | null;
  readonly error: string | null;
  /** When to try again; null when delivered or out of attempts (FAILED). */
  readonly nextAttemptAt: number | null;
}

export const SIGNATURE_HEADER = 'x-telemetry-signature';

/**
 * Signature header value: `t=<unix ms>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. Signing the
 * timestamp with the body lets receivers refuse replays of old deliveries.
 */
export function signWebhookBody(secret: string, timestamp: number, body: string): string {
  const digest = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${digest}`;
}

/** What creating a webhook did. */
export type WebhookCreation =
  | { readonly outcome: 'CREATED'; readonly webhook: Webhook }
  /** The tenant has its maximum of webhooks already: nothing was created. */
  | { readonly outcome: 'LIMIT_REACHED' };
