import type { TenantKeyStore } from '../../../src/store/ports/tenant-key-store';
import { ensureTenants, T1, T2, type PortHarness } from './fixtures';

/** TenantKeyStore alone (its own ensureTenant does the setup). */
export type TenantKeyStoreHarness = PortHarness<TenantKeyStore>;

/** The TenantKeyStore contract, against the port only (setup: ensureTenants). */
export function describeTenantKeyStoreContract(name: string, create: () => Promise<TenantKeyStoreHarness>): void {
  describe(`TenantKeyStore contract: ${name}`, () => {
    let harness: TenantKeyStoreHarness;
    let store: TenantKeyStoreHarness['store'];
    beforeEach(async () => {
      harness = await create();
      store = harness.store;
      await ensureTenants(store);
    });
    afterEach(() => harness.close());

    describe('API keys', () => {
      it('finds keys by secret hash only, scoped to their tenant and role', async () => {
        expect(await store.countAdminKeys()).toBe(0);
        await store.createApiKey({ id: 'k1', tenantId: T1, role: 'admin', label: 'ops', secretHash: 'f'.repeat(64) });
        await store.createApiKey({ id: 'k2', tenantId: T2, role: 'device', deviceId: 'a', label: 'dev', secretHash: 'e'.repeat(64) });
        expect(await store.findApiKeyBySecretHash('f'.repeat(64))).toEqual({ id: 'k1', tenantId: T1, role: 'admin', deviceId: null, label: 'ops' });
        expect(await store.findApiKeyBySecretHash('e'.repeat(64))).toMatchObject({ tenantId: T2, role: 'device', deviceId: 'a' });
        expect(await store.findApiKeyBySecretHash('0'.repeat(64))).toBeUndefined();
        expect(await store.countAdminKeys()).toBe(1);
      });

      it("revokes any key but the tenant's last active admin key, in one transaction", async () => {
        await store.createApiKey({ id: 'a1', tenantId: T1, role: 'admin', label: 'one', secretHash: '1'.repeat(64) });
        await store.createApiKey({ id: 'a2', tenantId: T1, role: 'admin', label: 'two', secretHash: '2'.repeat(64) });
        await store.createApiKey({ id: 'r1', tenantId: T1, role: 'reader', label: 'reader', secretHash: '3'.repeat(64) });
        await store.createApiKey({ id: 'b1', tenantId: T2, role: 'admin', label: 'other tenant', secretHash: '4'.repeat(64) });
        // Both admins revoked "at once": the second finds the first already revoked.
        const outcomes = await Promise.all([store.revokeApiKey(T1, 'a1', 5), store.revokeApiKey(T1, 'a2', 5)]);
        expect(outcomes.map((o) => o.outcome)).toEqual(['REVOKED', 'LAST_ADMIN_KEY']);
        expect(outcomes[0]).toMatchObject({ key: { id: 'a1', revokedAt: 5 } });
        expect((await store.listApiKeys(T1, false)).map((k) => k.id).sort()).toEqual(['a2', 'r1']);
        expect(await store.revokeApiKey(T1, 'r1', 6)).toMatchObject({ outcome: 'REVOKED', key: { id: 'r1', revokedAt: 6 } });
        expect(await store.revokeApiKey(T1, 'b1', 6)).toEqual({ outcome: 'NOT_FOUND' }); // another tenant's
        expect(await store.revokeApiKey(T1, 'nope', 6)).toEqual({ outcome: 'NOT_FOUND' });
        expect((await store.listApiKeys(T2, false)).map((k) => k.id)).toEqual(['b1']);
      });

      it('tells which of many key ids, of any tenant, are revoked (unknown ids are not)', async () => {
        await store.createApiKey({ id: 'a1', tenantId: T1, role: 'admin', label: 'admin', secretHash: '1'.repeat(64) });
        await store.createApiKey({ id: 'r1', tenantId: T1, role: 'reader', label: 'kept', secretHash: '2'.repeat(64) });
        await store.createApiKey({ id: 'r2', tenantId: T1, role: 'reader', label: 'revoked', secretHash: '3'.repeat(64) });
        await store.createApiKey({ id: 'b0', tenantId: T2, role: 'admin', label: 'admin', secretHash: '4'.repeat(64) });
        await store.createApiKey({ id: 'b1', tenantId: T2, role: 'device', deviceId: 'a', label: 'old device key', secretHash: '5'.repeat(64) });
        await store.revokeApiKey(T1, 'r2', 5);
        expect(
          await store.replaceDeviceKeys(T2, 'a', { id: 'b2', tenantId: T2, role: 'device', deviceId: 'a', label: 'new', secretHash: '6'.repeat(64) }, 6),
        ).toEqual(['b1']);
        expect(await store.revokedApiKeyIds([])).toEqual([]);
        expect((await store.revokedApiKeyIds(['a1', 'r1', 'r2', 'b1', 'b2', 'oidc:someone', 'nope'])).sort()).toEqual(['b1', 'r2']);
        // Many ids at once (an API node holding thousands of connections), in any number of round trips.
        const many = [...Array.from({ length: 2500 }, (_, i) => `unknown-${i}`), 'r2', 'b1', 'r1'];
        expect((await store.revokedApiKeyIds(many)).sort()).toEqual(['b1', 'r2']);
      });
    });
  });
}
