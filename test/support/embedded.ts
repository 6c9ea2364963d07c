import path from 'node:path';
import { rmSync } from 'node:fs';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import { EmbeddedStream } from '../../src/stream/embedded/embedded-stream';
import { newDataDir } from './server';

export interface EmbeddedBackends {
  readonly stream: EmbeddedStream;
  readonly store: SqliteStore;
  close(): Promise<void>;
}

/** A fresh embedded stream (2 partitions) and store in a temporary directory, with tenant t and device d1. */
export async function openEmbeddedBackends(): Promise<EmbeddedBackends> {
  const dir = newDataDir();
  const stream = new EmbeddedStream({ file: path.join(dir, 'stream.db'), partitions: 2, synchronous: 'normal' });
  const store = new SqliteStore({ file: path.join(dir, 'telemetry.db') });
  await store.ensureTenant('t', 'T');
  await store.registerDevice('t', { id: 'd1', name: 'd1', tags: [] });
  return {
    stream,
    store,
    async close() {
      await stream.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
