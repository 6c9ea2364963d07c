import type { DeliveryOutcome, DueDelivery, Webhook, WebhookCreation, WebhookDelivery } from '../../domain/webhooks';

/** Webhooks and their delivery queue. */
export interface WebhookStore {
  /** Creates a webhook unless the tenant has `maxPerTenant` already; counted and inserted in one transaction. */
  createWebhook(webhook: Webhook & { readonly secret: string }, maxPerTenant: number): Promise<WebhookCreation>;
  listWebhooks(tenantId: string): Promise<Webhook[]>;
  /** Deletes the webhook and its delivery history; false when it does not exist in the tenant. */
  deleteWebhook(tenantId: string, id: string): Promise<boolean>;
  /** Newest first. */
  listWebhookDeliveries(tenantId: string, webhookId: string, limit: number): Promise<WebhookDelivery[]>;
  /**
   * Pending deliveries due at `now`, leased for `leaseMs`: a deliverer that dies mid-send
   * leaves them to be retried when the lease ends (at-least-once).
   */
  claimDueDeliveries(now: number, limit: number, leaseMs: number): Promise<DueDelivery[]>;
  recordDeliveryAttempt(deliveryId: number, outcome: DeliveryOutcome): Promise<void>;
}
