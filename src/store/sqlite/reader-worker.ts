import { parentPort, workerData } from 'node:worker_threads';
import { openReaderConnection } from './reader-connection';
import { runRead } from './read-operations';
import { encodeResult } from './result-codecs';
import { encodeError, transferablesOf, type FromReader, type ToReader } from './reader-protocol';
import { lowerThreadPriority } from './thread-priority';

/**
 * One reader thread of SqliteReaderPool: its own connection to the database file, running the
 * named reads it is sent one at a time. WAL lets it read while the consumer writes; each read
 * is its own short transaction (runRead), so no snapshot outlives the read that took it.
 */
const { file, busyTimeoutMs, niceIncrement } = workerData as { file: string; busyTimeoutMs: number; niceIncrement: number };
const port = parentPort!;
// A long scan then takes a core only when the threads that serve sockets and persist readings
// leave it free (SqliteReaderPoolOptions.niceIncrement).
const priorityKept = lowerThreadPriority(niceIncrement);
const db = openReaderConnection(file, busyTimeoutMs);
port.postMessage({ type: 'ready', ...(priorityKept !== undefined && { priorityKept }) } satisfies FromReader);

port.on('message', (message: ToReader) => {
  if (message.type === 'close') {
    db.close();
    port.close();
    return;
  }
  if (message.type === 'crash') throw new Error('reader crash injected');
  let reply: FromReader;
  try {
    reply = { type: 'result', id: message.id, value: encodeResult(message.name, runRead(db, message.name, message.args as never)) };
  } catch (error) {
    reply = { type: 'failed', id: message.id, error: encodeError(error) };
  }
  port.postMessage(reply, reply.type === 'result' ? transferablesOf(reply.value) : []);
});
