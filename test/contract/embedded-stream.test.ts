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
    await stream.produce('readings', [{ key: 'a', value: 'old-1' }, { key: 'a', value: 'old-2' }]);
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
});
