import type { AnomalyKind, Severity } from '../../../domain/anomalies/anomaly';
import type { ChannelKind, DeliveryOutcome, DueDelivery, Webhook, WebhookDelivery, WebhookCreation } from '../../../domain/webhooks';
import type { Session } from '../session';
import { SQL as ANOMALY_SQL, toAnomaly } from './anomalies';

/** Webhooks and their delivery outbox. */

const DELIVERY_COLUMNS = 'id, tenant_id, webhook_id, anomaly_seq, status, attempts, next_attempt_at, last_status_code, last_error, delivered_at, created_at';

interface DeliveryRow {
  ID: number;
  TENANT_ID: string;
  WEBHOOK_ID: string;
  ANOMALY_SEQ: number;
  STATUS: WebhookDelivery['status'];
  ATTEMPTS: number;
  NEXT_ATTEMPT_AT: number;
  LAST_STATUS_CODE: number | null;
  LAST_ERROR: string | null;
  DELIVERED_AT: number | null;
  CREATED_AT: number;
}

const toDelivery = (row: DeliveryRow): WebhookDelivery => ({
  id: row.ID,
  tenantId: row.TENANT_ID,
  webhookId: row.WEBHOOK_ID,
  anomalySeq: row.ANOMALY_SEQ,
  status: row.STATUS,
  attempts: row.ATTEMPTS,
  nextAttemptAt: row.STATUS === 'PENDING' ? row.NEXT_ATTEMPT_AT : null,
  lastStatusCode: row.LAST_STATUS_CODE,
  lastError: row.LAST_ERROR,
  deliveredAt: row.DELIVERED_AT,
  createdAt: row.CREATED_AT,
});

export const SQL = {
  // Serialises a tenant's webhook creations: the count holds until the transaction ends.
  lockTenant: 'SELECT id FROM tenants WHERE id = :tenant_id FOR UPDATE',
  countWebhooks: 'SELECT COUNT(*) AS n FROM webhooks WHERE tenant_id = :tenant_id',
  insertWebhook: `INSERT INTO webhooks (tenant_id, id, channel, url, min_severity, kinds, tags, secret, created_at)
                  VALUES (:tenant_id, :id, :channel, :url, :min_severity, :kinds, :tags, :secret, :created_at)`,
  listWebhooks: 'SELECT tenant_id, id, channel, url, min_severity, kinds, tags, created_at FROM webhooks WHERE tenant_id = :tenant_id ORDER BY created_at, id',
  deleteWebhook: 'DELETE FROM webhooks WHERE tenant_id = :tenant_id AND id = :id',
  deleteDeliveries: 'DELETE FROM webhook_deliveries WHERE tenant_id = :tenant_id AND webhook_id = :id',
  listDeliveries: `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE tenant_id = :tenant_id AND webhook_id = :webhook_id ORDER BY id DESC FETCH FIRST :limit_rows ROWS ONLY`,
  // SKIP LOCKED: several consumers may claim at once without taking the same delivery.
  dueDeliveries: `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE status = 'PENDING' AND next_attempt_at <= :now_ms
                  ORDER BY next_attempt_at, id FETCH FIRST :limit_rows ROWS ONLY FOR UPDATE SKIP LOCKED`,
  lease: 'UPDATE webhook_deliveries SET next_attempt_at = :lease_until WHERE id = :id',
  webhookSecret: 'SELECT channel, url, secret FROM webhooks WHERE tenant_id = :tenant_id AND id = :id',
  recordAttempt: `UPDATE webhook_deliveries SET status = :status, attempts = attempts + 1, next_attempt_at = :next_attempt_at,
                    last_status_code = :status_code, last_error = :last_error, delivered_at = :delivered_at
                  WHERE id = :id`,
} as const;

/** Locks the tenant, counts its webhooks and inserts unless at the limit; the caller commits. */
export async function createWebhook(session: Session, webhook: Webhook & { secret: string }, maxPerTenant: number): Promise<WebhookCreation> {
  await session.execute(SQL.lockTenant, { tenant_id: webhook.tenantId });
  const existing = (await session.execute<{ N: number }>(SQL.countWebhooks, { tenant_id: webhook.tenantId })).rows?.[0]?.N ?? 0;
  if (existing >= maxPerTenant) return { outcome: 'LIMIT_REACHED' };
  await session.execute(SQL.insertWebhook, {
    tenant_id: webhook.tenantId,
    id: webhook.id,
    channel: webhook.channel,
    url: webhook.url,
    min_severity: webhook.minSeverity,
    kinds: webhook.kinds === null ? null : JSON.stringify(webhook.kinds),
    tags: webhook.tags === null ? null : JSON.stringify(webhook.tags),
    secret: webhook.secret,
    created_at: webhook.createdAt,
  });
  const { secret: _secret, ...created } = webhook;
  return { outcome: 'CREATED', webhook: created };
}

export async function listWebhooks(session: Session, tenantId: string): Promise<Webhook[]> {
  const rows =
    (
      await session.execute<{
        TENANT_ID: string;
        ID: string;
        CHANNEL: ChannelKind;
        URL: string;
        MIN_SEVERITY: Severity;
        KINDS: string | null;
        TAGS: string | null;
        CREATED_AT: number;
      }>(SQL.listWebhooks, { tenant_id: tenantId })
    ).rows ?? [];
  return rows.map((row) => ({
    tenantId: row.TENANT_ID,
    id: row.ID,
    channel: row.CHANNEL,
    url: row.URL,
    minSeverity: row.MIN_SEVERITY,
    kinds: row.KINDS === null ? null : (JSON.parse(row.KINDS) as AnomalyKind[]),
    tags: row.TAGS === null ? null : (JSON.parse(row.TAGS) as string[]),
    createdAt: row.CREATED_AT,
  }));
}

export async function deleteWebhook(session: Session, tenantId: string, id: string): Promise<boolean> {
  const deleted = ((await session.execute(SQL.deleteWebhook, { tenant_id: tenantId, id })).rowsAffected ?? 0) > 0;
  if (deleted) await session.execute(SQL.deleteDeliveries, { tenant_id: tenantId, id });
  return deleted;
}

export async function listDeliveries(session: Session, tenantId: string, webhookId: string, limit: number): Promise<WebhookDelivery[]> {
  return ((await session.execute<DeliveryRow>(SQL.listDeliveries, { tenant_id: tenantId, webhook_id: webhookId, limit_rows: limit })).rows ?? []).map(
    toDelivery,
  );
}

export async function claimDue(session: Session, now: number, limit: number, leaseMs: number): Promise<DueDelivery[]> {
  const rows = (await session.execute<DeliveryRow>(SQL.dueDeliveries, { now_ms: now, limit_rows: limit })).rows ?? [];
  const due: DueDelivery[] = [];
  for (const row of rows) {
    await session.execute(SQL.lease, { lease_until: now + leaseMs, id: row.ID });
    const [target] =
      (await session.execute<{ CHANNEL: ChannelKind; URL: string; SECRET: string }>(SQL.webhookSecret, { tenant_id: row.TENANT_ID, id: row.WEBHOOK_ID }))
        .rows ?? [];
    const [anomaly] = (await session.execute<Parameters<typeof toAnomaly>[0]>(ANOMALY_SQL.anomalyById, { id: row.ANOMALY_SEQ })).rows ?? [];
    if (target && anomaly)
      due.push({
        delivery: toDelivery({ ...row, NEXT_ATTEMPT_AT: now + leaseMs }),
        channel: target.CHANNEL,
        url: target.URL,
        secret: target.SECRET,
        anomaly: toAnomaly(anomaly),
      });
  }
  return due;
}

export async function recordAttempt(session: Session, deliveryId: number, outcome: DeliveryOutcome): Promise<void> {
  await session.execute(SQL.recordAttempt, {
    status: outcome.delivered ? 'DELIVERED' : outcome.nextAttemptAt === null ? 'FAILED' : 'PENDING',
    next_attempt_at: outcome.nextAttemptAt ?? outcome.at,
    status_code: outcome.statusCode,
    last_error: outcome.error?.slice(0, 1000) ?? null,
    delivered_at: outcome.delivered ? outcome.at : null,
    id: deliveryId,
  });
}
