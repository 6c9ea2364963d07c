import type { WebhookStore } from '../../../src/store/ports/webhook-store';
import { ensureTenants, T1, T2, type PortHarness, type TenantSetup } from './fixtures';

/** WebhookStore, plus ensureTenant (tenant-key port) for setup. */
export type WebhookStoreHarness = PortHarness<WebhookStore & TenantSetup>;

/** The WebhookStore contract, against the port only (setup: ensureTenants). */
export function describeWebhookStoreContract(name: string, create: () => Promise<WebhookStoreHarness>): void {
  describe(`WebhookStore contract: ${name}`, () => {
    let harness: WebhookStoreHarness;
    let store: WebhookStoreHarness['store'];
    beforeEach(async () => {
      harness = await create();
      store = harness.store;
      await ensureTenants(store);
    });
    afterEach(() => harness.close());

    describe('webhooks', () => {
      it('creates webhooks up to the limit, counted with the insert', async () => {
        const hook = (id: string, tenantId = T1) => ({
          tenantId,
          id,
          channel: 'WEBHOOK' as const,
          url: `https://example.com/${id}`,
          minSeverity: 'WARNING' as const,
          kinds: null,
          tags: null,
          createdAt: 1,
          secret: 's',
        });
        const outcomes = await Promise.all([store.createWebhook(hook('w1'), 2), store.createWebhook(hook('w2'), 2), store.createWebhook(hook('w3'), 2)]);
        expect(outcomes.map((o) => o.outcome)).toEqual(['CREATED', 'CREATED', 'LIMIT_REACHED']);
        expect((await store.listWebhooks(T1)).map((w) => w.id)).toEqual(['w1', 'w2']);
        expect(await store.createWebhook(hook('w4', T2), 2)).toMatchObject({ outcome: 'CREATED', webhook: { id: 'w4', tenantId: T2 } });
      });

      it("keeps a channel's kind and filters: an ONS topic with kinds and tags, a webhook without", async () => {
        const ons = {
          tenantId: T1,
          id: 'c1',
          channel: 'ONS' as const,
          url: 'ocid1.onstopic.oc1.eu-frankfurt-1.abc',
          minSeverity: 'INFO' as const,
          kinds: ['THRESHOLD' as const, 'SILENCE' as const],
          tags: ['hall-a'],
          createdAt: 1,
          secret: 's',
        };
        const { secret: _secret, ...created } = ons;
        expect(await store.createWebhook(ons, 5)).toEqual({ outcome: 'CREATED', webhook: created });
        expect(await store.listWebhooks(T1)).toEqual([created]);
      });
    });
  });
}
