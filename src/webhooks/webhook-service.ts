import { randomBytes } from 'node:crypto';
import type { AnomalyKind, Severity } from '../domain/anomalies/anomaly';
import { TelemetryError } from '../domain/errors';
import { uuidv7 } from '../domain/ids';
import { nonPublicHostReason } from '../domain/network';
import type { ChannelKind, Webhook, WebhookDelivery } from '../domain/webhooks';
import type { WebhookStore } from '../store/ports/webhook-store';

/** Webhooks one tenant may have. */
export const MAX_WEBHOOKS_PER_TENANT = 20;
/** Deliveries one listing may return. */
export const MAX_DELIVERIES_LISTED = 100;
/** Longest URL accepted, in characters. */
const MAX_URL_LENGTH = 2048;

export interface WebhookServiceOptions {
  /** Webhooks may target loopback, private and link-local addresses (development and tests only). @default false */
  readonly allowPrivateNetworks?: boolean;
}

/**
 * The URL policy: http or https, no credentials, at most MAX_URL_LENGTH characters, and a
 * public address unless private networks are allowed. Delivery checks the address again at
 * connection time (webhook-post.ts), so a name that later resolves elsewhere is refused too.
 */
export function checkWebhookUrl(text: string, allowPrivateNetworks: boolean): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TelemetryError('BAD_USER_INPUT', 'url is not a valid URL', { details: { field: 'url' } });
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || text.length > MAX_URL_LENGTH || url.username || url.password) {
    throw new TelemetryError('BAD_USER_INPUT', `url must be an http or https URL of at most ${MAX_URL_LENGTH} characters, without credentials`, {
      details: { field: 'url' },
    });
  }
  const refused = allowPrivateNetworks ? null : nonPublicHostReason(url);
  if (refused !== null) {
    throw new TelemetryError(
      'BAD_USER_INPUT',
      `url must reach a public address (loopback, private, link-local and other special-purpose addresses are refused): ${refused}; a development service may allow them with TELEMETRY_WEBHOOK_ALLOW_PRIVATE_NETWORKS=on`,
      { details: { field: 'url' } },
    );
  }
  return url.toString();
}

/** Tags a channel may filter on, and the longest tag. */
const MAX_FILTER_TAGS = 20;
const MAX_TAG_LENGTH = 64;
/** An OCI Notifications topic OCID. */
const TOPIC_OCID = /^ocid1\.onstopic\.[a-z0-9-]+\.[a-z0-9-]*\.[a-z0-9]{1,255}$/;

/** What a channel is told of: severity at least, and optionally only some kinds and device tags. */
export interface ChannelFilters {
  readonly minSeverity: Severity;
  /** null or absent: every kind. */
  readonly kinds?: readonly AnomalyKind[] | null;
  /** null or absent: every device; otherwise devices with at least one of these tags. */
  readonly tags?: readonly string[] | null;
}

function checkFilters(filters: ChannelFilters): { kinds: readonly AnomalyKind[] | null; tags: readonly string[] | null } {
  const kinds = filters.kinds ?? null;
  const tags = filters.tags ?? null;
  if (kinds !== null && kinds.length === 0)
    throw new TelemetryError('BAD_USER_INPUT', 'kinds must name at least one kind (leave it out for every kind)', { details: { field: 'kinds' } });
  if (tags !== null && (tags.length === 0 || tags.length > MAX_FILTER_TAGS || tags.some((tag) => tag.length === 0 || tag.length > MAX_TAG_LENGTH)))
    throw new TelemetryError(
      'BAD_USER_INPUT',
      `tags must hold 1 to ${MAX_FILTER_TAGS} tags of 1 to ${MAX_TAG_LENGTH} characters (leave it out for every device)`,
      { details: { field: 'tags' } },
    );
  return { kinds: kinds === null ? null : [...new Set(kinds)], tags: tags === null ? null : [...new Set(tags)] };
}

/** A signing secret: 256 random bits, URL-safe, shown once to whoever registers the webhook. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64url')}`;

/** Registers, lists and deletes a tenant's webhooks under the rules above. */
export class WebhookService {
  private readonly allowPrivateNetworks: boolean;

  constructor(
    private readonly store: WebhookStore,
    { allowPrivateNetworks = false }: WebhookServiceOptions = {},
  ) {
    this.allowPrivateNetworks = allowPrivateNetworks;
  }

  list(tenantId: string): Promise<Webhook[]> {
    return this.store.listWebhooks(tenantId);
  }

  /** Registers a webhook; returns it with its signing secret (the only time the secret is shown). */
  async create(tenantId: string, input: ChannelFilters & { readonly url: string }): Promise<{ webhook: Webhook; secret: string }> {
    const url = checkWebhookUrl(input.url, this.allowPrivateNetworks);
    const secret = newWebhookSecret();
    return { webhook: await this.register(tenantId, 'WEBHOOK', url, input, secret), secret };
  }

  /**
   * Registers an OCI Notifications channel: the topic's subscriptions (email, SMS, Slack,
   * PagerDuty...) receive its anomalies. It counts towards the same limit as webhooks.
   */
  async createOnsChannel(tenantId: string, input: ChannelFilters & { readonly topicId: string }): Promise<Webhook> {
    if (!TOPIC_OCID.test(input.topicId))
      throw new TelemetryError('BAD_USER_INPUT', 'topicId must be an OCI Notifications topic OCID (ocid1.onstopic...)', { details: { field: 'topicId' } });
    // Unused by ONS deliveries (they are signed by the service's OCI identity); kept so every channel row has one.
    return this.register(tenantId, 'ONS', input.topicId, input, newWebhookSecret());
  }

  private async register(tenantId: string, channel: ChannelKind, url: string, filters: ChannelFilters, secret: string): Promise<Webhook> {
    const { kinds, tags } = checkFilters(filters);
    // The store counts and inserts in one transaction, so concurrent calls cannot overshoot.
    const created = await this.store.createWebhook(
      { tenantId, id: uuidv7(), channel, url, minSeverity: filters.minSeverity, kinds, tags, createdAt: Date.now(), secret },
      MAX_WEBHOOKS_PER_TENANT,
    );
    if (created.outcome === 'LIMIT_REACHED') {
      throw new TelemetryError('BAD_USER_INPUT', `a tenant has at most ${MAX_WEBHOOKS_PER_TENANT} webhooks and channels`, {
        details: { limit: MAX_WEBHOOKS_PER_TENANT },
      });
    }
    return created.webhook;
  }

  /** Deletes a webhook and its delivery history; NOT_FOUND when the tenant has no such webhook. */
  async delete(tenantId: string, id: string): Promise<void> {
    if (!(await this.store.deleteWebhook(tenantId, id))) throw new TelemetryError('NOT_FOUND', `no webhook "${id}"`);
  }

  /** The webhook's most recent deliveries first, at most MAX_DELIVERIES_LISTED. */
  async deliveries(tenantId: string, webhookId: string, first: number): Promise<WebhookDelivery[]> {
    if (first < 1 || first > MAX_DELIVERIES_LISTED)
      throw new TelemetryError('BAD_USER_INPUT', `first must be from 1 to ${MAX_DELIVERIES_LISTED}`, { details: { argument: 'first' } });
    return this.store.listWebhookDeliveries(tenantId, webhookId, first);
  }
}
