import { RevocationCheck } from '../../src/keys/revocation-check';
import type { TenantKeyStore } from '../../src/store/ports/tenant-key-store';
import { fakePort } from '../support/fake-port';
import { recordingLogger, silentLogger } from '../support/logger';
import { eventually } from '../support/server';

describe('the periodic revocation check', () => {
  it('asks the store nothing while no connection is open, and one question for every key holding one', async () => {
    const asked: string[][] = [];
    const closed: string[][] = [];
    let connected: string[] = [];
    const check = new RevocationCheck({
      store: fakePort<TenantKeyStore>({
        revokedApiKeyIds: async (ids) => {
          asked.push([...ids]);
          return ids.filter((id) => id.startsWith('gone'));
        },
      }),
      connectedKeyIds: () => connected,
      revoked: (keyIds) => closed.push([...keyIds]),
      intervalMs: 60_000,
      logger: silentLogger,
    });
    expect(await check.check()).toEqual([]);
    expect(asked).toEqual([]);
    // A key with a WebSocket and an MQTT connection is asked about once.
    connected = ['k1', 'gone-2', 'k1', 'gone-3'];
    expect(await check.check()).toEqual(['gone-2', 'gone-3']);
    expect(asked).toEqual([['k1', 'gone-2', 'gone-3']]);
    expect(closed).toEqual([['gone-2', 'gone-3']]);
    // Nothing revoked: nothing closed.
    connected = ['k1'];
    await check.check();
    expect(closed).toHaveLength(1);
  });

  it('runs every interval once started, and goes on after a failed check (logged)', async () => {
    const logger = recordingLogger();
    let calls = 0;
    const check = new RevocationCheck({
      store: fakePort<TenantKeyStore>({
        revokedApiKeyIds: async () => {
          calls++;
          if (calls === 1) throw new Error('database unavailable');
          return [];
        },
      }),
      connectedKeyIds: () => ['k1'],
      revoked: () => {},
      intervalMs: 10,
      logger,
    });
    check.start();
    await eventually(() => (calls >= 3 ? true : undefined), 10_000, 'three checks');
    await check.stop();
    expect(logger.lines.filter((line) => line.level === 'warn').map((line) => line.message)).toEqual([
      'the periodic revocation check failed; retrying at the next one',
    ]);
  });
});
