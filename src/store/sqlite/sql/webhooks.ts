import type Database from 'better-sqlite3';
import type { ChannelKind, DeliveryOutcome, DueDelivery, Webhook, WebhookDelivery, WebhookCreation } from '../../../domain/webhooks';
import type { AnomalyKind, Severity } from '../../../domain/anomalies/anomaly';
import { ANOMALY_COLUMNS, toAnomaly, type AnomalyRow } from './anomaly-rows';

/** SQLite statements for webhooks and the delivery outbox. */

interface WebhookRow {
  tenant_id: string;
  id: string;
  channel: ChannelKind;
  url: string;
  min_severity: Severity;
  kinds: string | null;
  tags: string | null;
  created_at: number;
}

const WEBHOOK_COLUMNS = 'tenant_id, id, channel, url, min_severity, kinds, tags, created_at';

const toWebhook = (row: WebhookRow): Webhook => ({
  tenantId: row.tenant_id,
  id: row.id,
  channel: row.channel,
  url: row.url,
  minSeverity: row.min_severity,
  kinds: row.kinds === null ? null : (JSON.parse(row.kinds) as AnomalyKind[]),
  tags: row.tags === null ? null : (JSON.parse(row.tags) as string[]),
  createdAt: row.created_at,
});

const DELIVERY_COLUMNS = 'id, tenant_id, webhook_id, anomaly_seq, status, attempts, next_attempt_at, last_status_code, last_error, delivered_at, created_at';

interface DeliveryRow {
  id: number;
  tenant_id: string;
  webhook_id: string;
  anomaly_seq: number;
  status: WebhookDelivery['status'];
  attempts: number;
  next_attempt_at: number;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: number | null;
  created_at: number;
}

const toDelivery = (row: DeliveryRow): WebhookDelivery => ({
  id: row.id,
  tenantId: row.tenant_id,
  webhookId: row.webhook_id,
  anomalySeq: row.anomaly_seq,
  status: row.status,
  attempts: row.attempts,
  nextAttemptAt: row.status === 'PENDING' ? row.next_attempt_at : null,
  lastStatusCode: row.last_status_code,
  lastError: row.last_error,
  deliveredAt: row.delivered_at,
  createdAt: row.created_at,
});

/** Call inside an IMMEDIATE transaction: the count and the insert must not interleave. */
export function createWebhook(db: Database.Database, webhook: Webhook & { secret: string }, maxPerTenant: number): WebhookCreation {
  const existing = db.prepare('SELECT COUNT(*) AS n FROM webhooks WHERE tenant_id = ?').get(webhook.tenantId) as { n: number };
  if (existing.n >= maxPerTenant) return { outcome: 'LIMIT_REACHED' };
  db.prepare('INSERT INTO webhooks (tenant_id, id, channel, url, min_severity, kinds, tags, secret, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
    webhook.tenantId,
    webhook.id,
    webhook.channel,
    webhook.url,
    webhook.minSeverity,
    webhook.kinds === null ? null : JSON.stringify(webhook.kinds),
    webhook.tags === null ? null : JSON.stringify(webhook.tags),
    webhook.secret,
    webhook.createdAt,
  );
  const { secret: _secret, ...created } = webhook;
  return { outcome: 'CREATED', webhook: created };
}

export function listWebhooks(db: Database.Database, tenantId: string): Webhook[] {
  return (db.prepare(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE tenant_id = ? ORDER BY created_at, id`).all(tenantId) as WebhookRow[]).map(toWebhook);
}

export function deleteWebhook(db: Database.Database, tenantId: string, id: string): boolean {
  const deleted = db.prepare('DELETE FROM webhooks WHERE tenant_id = ? AND id = ?').run(tenantId, id).changes > 0;
  if (deleted) db.prepare('DELETE FROM webhook_deliveries WHERE tenant_id = ? AND webhook_id = ?').run(tenantId, id);
  return deleted;
}

export function listWebhookDeliveries(db: Database.Database, tenantId: string, webhookId: string, limit: number): WebhookDelivery[] {
  return (
    db
      .prepare(`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE tenant_id = ? AND webhook_id = ? ORDER BY id DESC LIMIT ?`)
      .all(tenantId, webhookId, limit) as DeliveryRow[]
  ).map(toDelivery);
}

export function claimDueDeliveries(db: Database.Database, now: number, limit: number, leaseMs: number): DueDelivery[] {
  const rows = db
    .prepare(
      `UPDATE webhook_deliveries SET next_attempt_at = ?
       WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'PENDING' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?)
       RETURNING ${DELIVERY_COLUMNS}`,
    )
    .all(now + leaseMs, now, limit) as DeliveryRow[];
  const webhook = db.prepare('SELECT channel, url, secret FROM webhooks WHERE tenant_id = ? AND id = ?');
  // anomaly_seq holds the anomaly's id (its first seq), which stays when the anomaly changes.
  const anomaly = db.prepare(`SELECT ${ANOMALY_COLUMNS} FROM anomalies WHERE id = ?`);
  return rows.flatMap((row) => {
    const target = webhook.get(row.tenant_id, row.webhook_id) as { channel: ChannelKind; url: string; secret: string } | undefined;
    const found = anomaly.get(row.anomaly_seq) as AnomalyRow | undefined;
    return target && found ? [{ delivery: toDelivery(row), channel: target.channel, url: target.url, secret: target.secret, anomaly: toAnomaly(found) }] : [];
  });
}

export function recordDeliveryAttempt(db: Database.Database, deliveryId: number, outcome: DeliveryOutcome): void {
  const status = outcome.delivered ? 'DELIVERED' : outcome.nextAttemptAt === null ? 'FAILED' : 'PENDING';
  db.prepare(
    `UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, next_attempt_at = ?, last_status_code = ?, last_error = ?, delivered_at = ?
     WHERE id = ?`,
  ).run(status, outcome.nextAttemptAt ?? outcome.at, outcome.statusCode, outcome.error, outcome.delivered ? outcome.at : null, deliveryId);
}
