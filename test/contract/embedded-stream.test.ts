import { rmSync } from 'node:fs';
import path from 'node:path';
import { EmbeddedStream } from '../../src/stream/embedded/embedded-stream';
import { newDataDir } from '../support/server';
import { describeStreamContract } from './stream-contract';

describeStreamContract('embedded SQLite log', async (partitions) => {
  const dir = newDataDir();
  const file = path.join(dir, 'stream.db');
  const stream = new EmbeddedStream({ file, partitions, synchronous: 'normal' });
  return {
    stream,
    reopen: async () => new EmbeddedStream({ file, partitions, synchronous: 'normal' }),
    close: async () => {
      await stream.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('embedded log specifics', () => {
  it('stores consumer-group offsets per group and partition (informational: the database watermark is the truth)', async () => {
    const dir = newDataDir();
    const stream = new EmbeddedStream({ file: path.join(dir, 'stream.db'), partitions: 4 });
    expect(await stream.committed('persister', 'readings', 1)).toBeUndefined();
    await stream.commit('persister', 'readings', 1, 41);
    await stream.commit('persister', 'readings', 1, 42);
    await stream.commit('audit', 'readings', 1, 7);
    expect(await stream.committed('persister', 'readings', 1)).toBe(42);
    expect(await stream.committed('audit', 'readings', 1)).toBe(7);
    expect(await stream.committed('persister', 'readings', 2)).toBeUndefined();
    await stream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to open an existing log with another partition count', async () => {
    const dir = newDataDir();
    const file = path.join(dir, 'stream.db');
    await new EmbeddedStream({ file, partitions: 4 }).close();
    expect(() => new EmbeddedStream({ file, partitions: 8 })).toThrow(/TELEMETRY_PARTITIONS/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('drops messages older than the retention cut-off and keeps offsets growing', async () => {
    const dir = newDataDir();
    const stream = new EmbeddedStream({ file: path.join(dir, 'stream.db'), partitions: 1, synchronous: 'normal' });
    await stream.produce('readings', [
      { key: 'a', value: 'old-1' },
      { key: 'a', value: 'old-2' },
    ]);
    const cutoff = Date.now() + 1;
    await new Promise((resolve) => setTimeout(resolve, 5));
    await stream.produce('readings', [{ key: 'a', value: 'new' }]);
    expect(stream.deleteOlderThan(cutoff)).toBe(2);
    const remaining = await stream.read('readings', 0, 0, 10);
    expect(remaining.map((m) => [m.offset, m.value])).toEqual([[2, 'new']]);
    const [next] = await stream.produce('readings', [{ key: 'a', value: 'newer' }]);
    expect(next!.offset).toBe(3);
    await stream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps expired messages the persisters have not committed, so a long outage loses nothing', async () => {
    const dir = newDataDir();
    const stream = new EmbeddedStream({ file: path.join(dir, 'stream.db'), partitions: 1, synchronous: 'normal' });
    await stream.produce(
      'readings',
      ['r0', 'r1', 'r2', 'r3'].map((value) => ({ key: 'a', value })),
    );
    await stream.produce('events', [{ key: 'a', value: 'e0' }]);
    const cutoff = Date.now() + 1;
    await new Promise((resolve) => setTimeout(resolve, 5));
    // Nothing committed yet: every reading stays, the events topic (no group named) is trimmed.
    expect(stream.deleteOlderThan(cutoff, { readings: 'persister' })).toBe(1);
    const member = await stream.joinGroup('persister', 'readings', 'only-one');
    await member.commit(new Map([[0, 2]]));
    expect(await stream.committed('persister', 'readings', 0)).toBe(2);
    expect(stream.deleteOlderThan(cutoff, { readings: 'persister' })).toBe(2);
    expect((await stream.read('readings', 0, 0, 10)).map((m) => m.value)).toEqual(['r2', 'r3']);
    await stream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('bounds the events topic by the same retention on every partition, read or not, keeping what is newer', async () => {
    const dir = newDataDir();
    const stream = new EmbeddedStream({ file: path.join(dir, 'stream.db'), partitions: 3, synchronous: 'normal' });
    const keys = ['tenant/a', 'tenant/b', 'tenant/c', 'tenant/d', 'tenant/e', 'tenant/f'];
    await stream.produce(
      'events',
      keys.map((key) => ({ key, value: `old ${key}` })),
    );
    const cutoff = Date.now() + 1;
    // Waits on the clock itself (no timer): the next messages are appended after the cut-off.
    while (Date.now() <= cutoff);
    await stream.produce(
      'events',
      keys.map((key) => ({ key, value: `new ${key}` })),
    );
    // The consumer trims with its persister group named for readings only: events go by time.
    expect(stream.deleteOlderThan(cutoff, { readings: 'persister' })).toBe(keys.length);
    const left: string[] = [];
    for (let p = 0; p < 3; p++) left.push(...(await stream.read('events', p, 0, 100)).map((m) => m.value));
    expect(left.sort()).toEqual(keys.map((key) => `new ${key}`).sort());
    await stream.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
