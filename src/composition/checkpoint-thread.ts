import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../logger';

/**
 * Log size, in pages, past which a connection to the embedded store checkpoints inside its own
 * commit. The checkpoint thread keeps the log far below it (it copies every few hundred ms);
 * this only bounds the log (~40 MiB) should that thread fall behind or stop.
 */
export const WAL_BACKSTOP_PAGES = 10_000;

/** How often the checkpoint thread copies the log back into the database file, ms. */
const CHECKPOINT_EVERY_MS = 200;

export interface CheckpointThread {
  stop(): Promise<void>;
}

/**
 * Runs a WalCheckpointer on `file` in a thread of its own, so that neither the consumer's
 * batches nor the API's writes pay for copying the log back (store/sqlite/wal-checkpointer.ts).
 */
export function startCheckpointThread(file: string, logger: Logger, intervalMs = CHECKPOINT_EVERY_MS): CheckpointThread {
  const worker = new Worker(path.join(__dirname, 'checkpoint-worker.js'), { workerData: { file, intervalMs } });
  // Housekeeping never keeps a process alive on its own.
  worker.unref();
  let warned = false;
  worker.on('message', (message: { type: 'failed'; message: string }) => {
    if (warned) return; // once: the cause (a busy disk) would repeat every interval
    warned = true;
    logger.warn({ reason: message.message }, 'background WAL checkpoint failed; commits checkpoint themselves past the backstop');
  });
  worker.on('error', (error) => logger.warn({ err: error }, 'WAL checkpoint thread stopped; commits checkpoint themselves past the backstop'));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async stop() {
      worker.postMessage({ type: 'stop' });
      // A checkpoint waiting on a busy disk must not hold shutdown up.
      const deadline = setTimeout(() => void worker.terminate(), 10_000);
      await exited;
      clearTimeout(deadline);
    },
  };
}
