import { rmSync } from 'node:fs';
import path from 'node:path';
import { CommandService } from '../../src/commands/command-service';
import type { Caller } from '../../src/domain/caller';
import type { Command } from '../../src/domain/command';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import { newDataDir } from '../support/server';

const admin: Caller = { tenantId: 't1', role: 'admin', deviceId: null, keyId: 'k-admin' };
const pump: Caller = { tenantId: 't1', role: 'device', deviceId: 'pump-1', keyId: 'k-pump' };

describe('CommandService over the embedded store', () => {
  let dir: string;
  let store: SqliteStore;
  let now: number;
  let connected: boolean;
  let written: Command[];
  let changes: Command[];
  let service: CommandService;

  beforeEach(async () => {
    dir = newDataDir();
    store = new SqliteStore({ file: path.join(dir, 'telemetry.db') });
    for (const tenant of ['t1', 't2']) {
      await store.ensureTenant(tenant, tenant);
      await store.registerDevice(tenant, { id: 'pump-1', name: 'pump', tags: [], heartbeatTimeoutMs: null, attributes: {} });
    }
    now = 1_000_000;
    connected = true;
    written = [];
    changes = [];
    service = new CommandService(
      store,
      (command) => {
        if (connected) written.push(command);
        return connected;
      },
      (command) => changes.push(command),
      () => now,
    );
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores, writes to a connected device, is DELIVERED once acknowledged, and takes its answer once', async () => {
    const sent = await service.send(admin, 'pump-1', 'reboot', { delay: 5 }, 30);
    expect(sent).toMatchObject({ status: 'PENDING', deviceId: 'pump-1', payload: { delay: 5 }, expiresAt: now + 30_000 });
    expect(written.map((c) => c.id)).toEqual([sent.id]);
    await service.delivered('t1', sent.id);
    await service.delivered('t1', sent.id);
    expect((await service.command('t1', sent.id))?.status).toBe('DELIVERED');
    await service.answer(pump, sent.id, { status: 'SUCCEEDED', result: { up: true } });
    await service.answer(pump, sent.id, { status: 'FAILED' });
    expect(await service.command('t1', sent.id)).toMatchObject({ status: 'SUCCEEDED', result: { up: true } });
    expect(changes.map((c) => c.status)).toEqual(['PENDING', 'DELIVERED', 'SUCCEEDED']);
  });

  it('keeps a command for an offline device PENDING, delivers it when it connects, and expires what is past its deadline', async () => {
    connected = false;
    const first = await service.send(admin, 'pump-1', 'open', 1, 10);
    // Sent a millisecond apart: commands(deviceId) is newest first by creation time.
    now += 1;
    const second = await service.send(admin, 'pump-1', 'close', 2, 60);
    expect([first.status, second.status]).toEqual(['PENDING', 'PENDING']);
    now += 9_999;
    connected = true;
    await service.deliverPending('t1', 'pump-1');
    expect(written.map((c) => c.name)).toEqual(['close']);
    await service.delivered('t1', second.id);
    expect(await service.expireDue(100)).toBe(1);
    expect((await service.commandsOf('t1', 'pump-1', { first: 10 })).items.map((c) => [c.name, c.status])).toEqual([
      ['close', 'DELIVERED'],
      ['open', 'EXPIRED'],
    ]);
    now += 60_000;
    expect(await service.expireDue(100)).toBe(1);
    await service.answer(pump, second.id, { status: 'SUCCEEDED' });
    expect((await service.command('t1', second.id))?.status).toBe('EXPIRED');
  });

  it("refuses another tenant's device id, and a device's answer to a command not its own", async () => {
    await expect(service.send({ ...admin, tenantId: 't3' }, 'pump-1', 'reboot', {}, 30)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(service.send(admin, 'pump-9', 'reboot', {}, 30)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(service.send(admin, 'pump-1', 'a/b', {}, 30)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'name' } });
    await expect(service.send(admin, 'pump-1', 'big', 'x'.repeat(20_000), 30)).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      details: { field: 'payload' },
    });
    const sent = await service.send(admin, 'pump-1', 'reboot', {}, 30);
    await expect(service.answer({ ...pump, tenantId: 't2' }, sent.id, { status: 'FAILED' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(service.answer({ ...pump, deviceId: 'pump-2' }, sent.id, { status: 'FAILED' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await service.command('t1', sent.id))?.status).toBe('PENDING');
    expect(await service.command('t2', sent.id)).toBeUndefined();
  });

  it('writes a command heard from another node only while it is still PENDING here', async () => {
    connected = false;
    const sent = await service.send(admin, 'pump-1', 'reboot', {}, 30);
    connected = true;
    await service.offer(sent);
    expect(written.map((c) => c.id)).toEqual([sent.id]);
    await service.delivered('t1', sent.id);
    // The sending node's own echo of PENDING arrives after the device acknowledged: not written again.
    await service.offer(sent);
    expect(written).toHaveLength(1);
  });
});
