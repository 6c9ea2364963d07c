import { anomalyDetails } from '../domain/anomalies/anomaly-details';
import { backoffDelay, type RetryPolicy } from '../domain/retry';
import { signWebhookBody, SIGNATURE_HEADER, type DeliveryOutcome, type DueDelivery } from '../domain/webhooks';
import { anomalyNotification } from '../domain/anomalies/anomaly-notification';
import type { Logger } from '../logger';
import type { NotificationPublisher } from '../notifications/notification-publisher';
import type { WebhookStore } from '../store/ports/webhook-store';
import { postJson, PostCutShortError } from './webhook-post';

export interface WebhookSettings {
  /** How often due deliveries are looked for (a wake() after new anomalies comes sooner). */
  readonly pollIntervalMs: number;
  /** Attempts before a delivery is marked FAILED. */
  readonly maxAttempts: number;
  /** Backoff between attempts (full jitter). */
  readonly retry: RetryPolicy;
  /** Per-request timeout. */
  readonly timeoutMs: number;
  /** Deliver to loopback, private and link-local addresses too (development only). */
  readonly allowPrivateNetworks: boolean;
  /** Publishes to OCI Notifications topics (ONS channels); undefined: not configured, their deliveries fail saying so. */
  readonly notifications?: NotificationPublisher;
}

/**
 * Shortest wait after a throttled publication, ms: OCI Notifications takes 60 messages per
 * minute per topic, so retrying sooner than a second only meets the same limit.
 */
const THROTTLED_MIN_DELAY_MS = 1000;

/** Deliveries claimed (and sent in parallel) at a time. */
const CLAIM_BATCH = 20;

/** What post() answers for a POST its pass stopped: no attempt to record. */
const CUT_SHORT = Symbol('cut short');

/** How one attempt went, whatever the channel. */
interface Attempt {
  readonly statusCode: number | null;
  /** null: delivered. */
  readonly error: string | null;
  /** false: trying again cannot help (the identity or topic is refused). @default true */
  readonly retryable?: boolean;
  /** Throttled: wait at least THROTTLED_MIN_DELAY_MS. */
  readonly throttled?: boolean;
}

/** JSON body of a delivery; receivers verify the signature header over it. */
export function deliveryBody(due: DueDelivery): string {
  return JSON.stringify({
    type: 'anomaly.detected',
    deliveryId: due.delivery.id,
    webhookId: due.delivery.webhookId,
    anomaly: anomalyDetails(due.anomaly),
  });
}

/**
 * Sends queued deliveries (the outbox rows written with their anomalies) to their channel:
 * HMAC-signed POSTs to webhooks, PublishMessage to OCI Notifications topics. Each is retried
 * with exponential backoff and full jitter until it succeeds or `maxAttempts`; a throttled
 * topic waits at least a second. At-least-once: a delivery in flight when the process dies is
 * sent again after its lease.
 */
/** How one delivery attempt ended: delivered, failed with attempts left, or failed for good. */
export type DeliveryAttemptOutcome = 'delivered' | 'will_retry' | 'gave_up';

export class WebhookDeliverer {
  constructor(
    private readonly store: WebhookStore,
    private readonly settings: WebhookSettings,
    private readonly logger: Logger,
    /** Told how each delivery attempt ended (metrics). */
    private readonly onAttempt: (outcome: DeliveryAttemptOutcome) => void = () => {},
  ) {}

  /**
   * One pass of the webhooks job (every `pollIntervalMs`, and woken by new anomalies; see
   * jobs/periodic-job.ts): sends at most `limit` due deliveries (all that are due when
   * undefined), CLAIM_BATCH at a time, and resolves with whether more may be due. A failure to
   * claim or record rejects; a failed delivery is recorded (and retried later), not thrown.
   */
  async run(limit?: number, signal?: AbortSignal): Promise<boolean> {
    const leaseMs = this.settings.timeoutMs * 2;
    let left = limit ?? Infinity;
    while (left > 0 && !signal?.aborted) {
      const claim = Math.min(CLAIM_BATCH, left);
      const due = await this.store.claimDueDeliveries(Date.now(), claim, leaseMs);
      await Promise.all(due.map((item) => this.send(item, signal)));
      if (due.length < claim) return false;
      left -= due.length;
    }
    return true;
  }

  /**
   * A POST cut short by `signal` (the pass stopped: the function's jobs time is up, or the
   * service stops) is not an attempt: nothing is recorded, and the delivery is claimed again
   * once its lease lapses (two timeouts), its attempts unspent.
   */
  private async send(due: DueDelivery, signal?: AbortSignal): Promise<void> {
    const attempt = due.channel === 'ONS' ? await this.publish(due) : await this.post(due, signal);
    if (attempt === CUT_SHORT) {
      this.logger.info({ deliveryId: due.delivery.id, url: due.url }, 'delivery cut short by the end of its pass; it is sent again once its claim lapses');
      return;
    }
    const attempts = due.delivery.attempts + 1;
    const now = Date.now();
    const retry = attempt.error !== null && (attempt.retryable ?? true) && attempts < this.settings.maxAttempts;
    const delay = Math.max(backoffDelay(this.settings.retry, attempts - 1), attempt.throttled ? THROTTLED_MIN_DELAY_MS : 0);
    const outcome: DeliveryOutcome = {
      at: now,
      delivered: attempt.error === null,
      statusCode: attempt.statusCode,
      error: attempt.error,
      nextAttemptAt: retry ? now + delay : null,
    };
    if (attempt.error !== null)
      this.logger.warn(
        { deliveryId: due.delivery.id, channel: due.channel, url: due.url, attempts, error: attempt.error },
        outcome.nextAttemptAt ? 'delivery failed; will retry' : 'delivery failed for good',
      );
    await this.store.recordDeliveryAttempt(due.delivery.id, outcome);
    this.onAttempt(outcome.delivered ? 'delivered' : outcome.nextAttemptAt ? 'will_retry' : 'gave_up');
  }

  private async post(due: DueDelivery, signal?: AbortSignal): Promise<Attempt | typeof CUT_SHORT> {
    const body = deliveryBody(due);
    try {
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'iot-telemetry-webhooks/1',
        'x-telemetry-delivery': String(due.delivery.id),
        [SIGNATURE_HEADER]: signWebhookBody(due.secret, Date.now(), body),
      };
      const statusCode = await postJson(due.url, headers, body, {
        timeoutMs: this.settings.timeoutMs,
        allowPrivateNetworks: this.settings.allowPrivateNetworks,
        signal,
      });
      return { statusCode, error: statusCode < 200 || statusCode >= 300 ? `HTTP ${statusCode}` : null };
    } catch (failure) {
      if (failure instanceof PostCutShortError) return CUT_SHORT;
      return { statusCode: null, error: (failure as Error).message };
    }
  }

  private async publish(due: DueDelivery): Promise<Attempt> {
    // Retried: the setting may be added and the service restarted before attempts run out.
    if (!this.settings.notifications) return { statusCode: null, error: 'OCI Notifications is not configured here (TELEMETRY_ONS_ENDPOINT)' };
    const outcome = await this.settings.notifications.publish(due.url, anomalyNotification(due.anomaly));
    if (outcome.published) return { statusCode: outcome.statusCode, error: null };
    return { statusCode: outcome.statusCode, error: outcome.error, retryable: outcome.retryable, throttled: outcome.statusCode === 429 };
  }
}
