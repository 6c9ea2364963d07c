import { parentPort, workerData } from 'node:worker_threads';
import { WalCheckpointer } from '../store/sqlite/wal-checkpointer';

/** Worker-thread entry of the WAL checkpointer (started by startCheckpointThread). */
const { file, intervalMs } = workerData as { file: string; intervalMs: number };
const port = parentPort!;
const checkpointer = new WalCheckpointer(file);
const timer = setInterval(() => {
  try {
    checkpointer.checkpoint();
  } catch (error) {
    // A busy or failing disk: the writers' own autocheckpoint still bounds the log.
    port.postMessage({ type: 'failed', message: (error as Error).message });
  }
}, intervalMs);
// The one message is 'stop'.
port.on('message', () => {
  clearInterval(timer);
  checkpointer.close();
  port.close();
});
