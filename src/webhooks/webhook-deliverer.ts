import { anomalyDetails } from '../domain/anomalies/anomaly-details';
import { backoffDelay, type RetryPolicy } from '../domain/retry';
import { signWebhookBody, SIGNATURE_HEADER, type DeliveryOutcome, type DueDelivery } from '../domain/webhooks';
import type { Logger } from '../logger';
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
 * Sends queued webhook deliveries (the outbox rows written with their anomalies): HMAC-signed
 * POSTs, retried with exponential backoff and full jitter until a 2xx or `maxAttempts`.
 * At-least-once: a delivery in flight when the process dies is sent again after its lease.
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
    const body = deliveryBody(due);
    const sentAt = Date.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'iot-telemetry-webhooks/1',
        'x-telemetry-delivery': String(due.delivery.id),
        [SIGNATURE_HEADER]: signWebhookBody(due.secret, sentAt, body),
      };
      statusCode = await postJson(due.url, headers, body, { timeoutMs: this.settings.timeoutMs, allowPrivateNetworks: this.settings.allowPrivateNetworks });
      if (statusCode < 200 || statusCode >= 300) error = `HTTP ${statusCode}`;
    } catch (failure) {
      error = (failure as Error).message;
    }
    const attempts = due.delivery.attempts + 1;
    const now = Date.now();
    const outcome: DeliveryOutcome = {
      at: now,
      delivered: error === null,
      statusCode,
      error,
      nextAttemptAt: error === null || attempts >= this.settings.maxAttempts ? null : now + backoffDelay(this.settings.retry, attempts - 1),
    };
    if (error !== null)
      this.logger.warn(
        { deliveryId: due.delivery.id, url: due.url, attempts, error },
        outcome.nextAttemptAt ? 'webhook delivery failed; will retry' : 'webhook delivery failed for good',
      );
    await this.store.recordDeliveryAttempt(due.delivery.id, outcome);
    this.onAttempt(outcome.delivered ? 'delivered' : outcome.nextAttemptAt ? 'will_retry' : 'gave_up');
  }
}
