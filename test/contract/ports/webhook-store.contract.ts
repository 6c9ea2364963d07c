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
          url: `https://example.com/${id}`,
          minSeverity: 'WARNING' as const,
          createdAt: 1,
          secret: 's',
        });
        const outcomes = await Promise.all([store.createWebhook(hook('w1'), 2), store.createWebhook(hook('w2'), 2), store.createWebhook(hook('w3'), 2)]);
        expect(outcomes.map((o) => o.outcome)).toEqual(['CREATED', 'CREATED', 'LIMIT_REACHED']);
        expect((await store.listWebhooks(T1)).map((w) => w.id)).toEqual(['w1', 'w2']);
        expect(await store.createWebhook(hook('w4', T2), 2)).toMatchObject({ outcome: 'CREATED', webhook: { id: 'w4', tenantId: T2 } });
      });
    });
  });
}
