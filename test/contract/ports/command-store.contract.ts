import type { Command } from '../../../src/domain/command';
import type { CommandStore } from '../../../src/store/ports/command-store';
import type { PortHarness, TenantSetup } from './fixtures';

export type CommandStoreHarness = PortHarness<CommandStore & TenantSetup>;

const command = (id: string, overrides: Partial<Command> = {}): Command => ({
  id,
  tenantId: 'ct1',
  deviceId: 'pump-1',
  name: 'reboot',
  payload: { delay: 1, tags: ['a'] },
  status: 'PENDING',
  createdAt: 100,
  expiresAt: 1000,
  updatedAt: 100,
  ...overrides,
});

/** The CommandStore contract: commands to devices, tenant-scoped, moved by compare-and-set on their status. */
export function describeCommandStoreContract(name: string, create: () => Promise<CommandStoreHarness>): void {
  describe(`CommandStore contract: ${name}`, () => {
    let harness: CommandStoreHarness;
    beforeEach(async () => {
      harness = await create();
      await harness.store.ensureTenant('ct1', 'CT1');
      await harness.store.ensureTenant('ct2', 'CT2');
    });
    afterEach(() => harness.close());

    it('stores a command with its JSON payload and finds it only in its own tenant', async () => {
      const store = harness.store;
      await store.insertCommand(command('c1'));
      await store.insertCommand(command('c2', { createdAt: 200 }));
      await store.insertCommand(command('c3', { tenantId: 'ct2' }));
      expect(await store.command('ct1', 'c1')).toEqual(command('c1'));
      expect(await store.command('ct2', 'c1')).toBeUndefined();
      expect((await store.commandsOf('ct1', 'pump-1', { first: 10 })).items.map((c) => c.id)).toEqual(['c2', 'c1']);
      expect(await store.commandsOf('ct1', 'pump-1', { first: 1 })).toMatchObject({ items: [{ id: 'c2' }], hasMore: true });
      expect((await store.commandsOf('ct2', 'pump-1', { first: 10 })).items.map((c) => c.id)).toEqual(['c3']);
    });

    it('pages the commands of a device newest first, ties on the creation time by id, every command on exactly one page', async () => {
      const store = harness.store;
      const created = [300, 100, 200, 200, 200, 100];
      for (const [i, createdAt] of created.entries()) await store.insertCommand(command(`p${i}`, { createdAt }));
      await store.insertCommand(command('elsewhere', { deviceId: 'pump-2', createdAt: 250 }));
      const seen: string[] = [];
      let after: { createdAt: number; id: string } | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = await store.commandsOf('ct1', 'pump-1', { first: 2, after });
        seen.push(...page.items.map((c) => c.id));
        const last = page.items.at(-1);
        if (!page.hasMore || !last) break;
        after = { createdAt: last.createdAt, id: last.id };
      }
      expect(seen).toEqual(['p0', 'p4', 'p3', 'p2', 'p5', 'p1']);
    });

    it('moves a status only from the one it was read with, keeping the result', async () => {
      const store = harness.store;
      await store.insertCommand(command('c1'));
      expect(await store.updateCommand(command('c1', { status: 'DELIVERED', updatedAt: 150 }), 'PENDING')).toBe(true);
      // A second node that also read it PENDING loses.
      expect(await store.updateCommand(command('c1', { status: 'DELIVERED', updatedAt: 160 }), 'PENDING')).toBe(false);
      expect(await store.updateCommand(command('c1', { status: 'SUCCEEDED', result: { ok: [1] }, updatedAt: 170 }), 'DELIVERED')).toBe(true);
      expect(await store.command('ct1', 'c1')).toEqual(command('c1', { status: 'SUCCEEDED', result: { ok: [1] }, updatedAt: 170 }));
      expect(await store.updateCommand(command('c1', { tenantId: 'ct2', status: 'FAILED' }), 'SUCCEEDED')).toBe(false);
    });

    it('lists the PENDING commands not yet expired of a device, and the open ones past their deadline', async () => {
      const store = harness.store;
      await store.insertCommand(command('old', { createdAt: 50, expiresAt: 400 }));
      await store.insertCommand(command('new'));
      await store.insertCommand(command('sent', { status: 'DELIVERED', expiresAt: 300 }));
      await store.insertCommand(command('done', { status: 'SUCCEEDED', expiresAt: 300 }));
      await store.insertCommand(command('other', { deviceId: 'pump-2' }));
      expect((await store.pendingCommands('ct1', 'pump-1', 350)).map((c) => c.id)).toEqual(['old', 'new']);
      expect((await store.pendingCommands('ct1', 'pump-1', 400)).map((c) => c.id)).toEqual(['new']);
      expect((await store.pendingCommands('ct2', 'pump-1', 0)).map((c) => c.id)).toEqual([]);
      expect((await store.dueCommands(400, 10)).map((c) => c.id)).toEqual(['sent', 'old']);
      expect((await store.dueCommands(400, 1)).map((c) => c.id)).toEqual(['sent']);
    });
  });
}
