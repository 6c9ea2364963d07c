import { parentPort, workerData } from 'node:worker_threads';
import { LogAppender } from './log-append';
import { openLogConnection } from './log-connection';
import type { FromLogWriter, LogWriterData, ToLogWriter } from './log-writer-messages';
import { WakeSignal } from '../wake-signal';

/**
 * Worker-thread entry of the log's writer (started by LogWriterThread): its own connection
 * runs every append transaction and its fsync, so the thread that serves requests never
 * blocks on them. An error opening the log ends the thread; its owner reports that.
 */
const port = parentPort;
if (!port) throw new Error('log-writer-worker must run in a worker thread');
const data = workerData as LogWriterData;
const db = openLogConnection(data.connection);
const appender = new LogAppender(db, new Map(data.partitions));
const readingsAppended = data.readingsAppended && new WakeSignal(data.readingsAppended);

port.on('message', (message: ToLogWriter) => {
  if (message.type === 'close') {
    db.close();
    port.close(); // nothing else keeps the thread alive: it exits
    return;
  }
  let positions: Float64Array;
  try {
    positions = appender.append(message.group);
  } catch (error) {
    // Rolled back: nothing of the group is in the log.
    const code = (error as { code?: unknown }).code;
    port.postMessage({ type: 'failed', message: (error as Error).message, ...(typeof code === 'string' ? { code } : {}) } satisfies FromLogWriter);
    return;
  }
  port.postMessage({ type: 'appended', positions } satisfies FromLogWriter, [positions.buffer as ArrayBuffer]);
  // After the answer: the produces are acknowledged first, then the consumer starts on them.
  if (readingsAppended && message.group.runs.some((run) => run.topic === 'readings')) readingsAppended.ring();
});
