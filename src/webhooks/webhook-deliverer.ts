import { anomalyDetails } from '../domain/anomalies/anomaly-details';
import { backoffDelay, type RetryPolicy } from '../domain/retry';
import { signWebhookBody, SIGNATURE_HEADER, type DeliveryOutcome, type DueDelivery } from '../domain/webhooks';
import { anomalyNotification } from '../domain/anomalies/anomaly-notification';
import type { Logger } from '../logger';
import type { NotificationPublisher } from '../notifications/notification-publisher';
import type { WebhookStore } from '../store/ports/webhook-store';
import { postJson } from './webhook-post';

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
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly store: WebhookStore,
    private readonly settings: WebhookSettings,
    private readonly logger: Logger,
    /** Told how each delivery attempt ended (metrics). */
    private readonly onAttempt: (outcome: DeliveryAttemptOutcome) => void = () => {},
  ) {}

  start(): void {
    this.timer = setInterval(() => this.wake(), this.settings.pollIntervalMs);
    this.timer.unref();
  }

  /** Runs a pass now (or right after the current one). */
  wake(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.again = false;
    await this.running;
  }

  private async drain(): Promise<void> {
    try {
      const leaseMs = this.settings.timeoutMs * 2;
      for (;;) {
        const due = await this.store.claimDueDeliveries(Date.now(), 20, leaseMs);
        if (due.length === 0) return;
        await Promise.all(due.map((item) => this.send(item)));
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'webhook delivery pass failed');
    }
  }

  private async send(due: DueDelivery): Promise<void> {
    const attempt = due.channel === 'ONS' ? await this.publish(due) : await this.post(due);
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

  private async post(due: DueDelivery): Promise<Attempt> {
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
      });
      return { statusCode, error: statusCode < 200 || statusCode >= 300 ? `HTTP ${statusCode}` : null };
    } catch (failure) {
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
