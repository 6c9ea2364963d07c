import type { TopicName } from '../stream';
import type { AppendGroup } from './log-append';
import type { LogConnectionOptions } from './log-connection';

/** What the writer thread is started with. */
export interface LogWriterData {
  readonly connection: LogConnectionOptions;
  /** Partitions of each topic, as the log file records them. */
  readonly partitions: readonly (readonly [TopicName, number])[];
  /** A WakeSignal's buffer to ring after each commit that appended readings. */
  readonly readingsAppended?: SharedArrayBuffer;
}

/** From the stream to its writer thread, handled in order. */
export type ToLogWriter =
  /** Append one group of produces in one transaction; answered by `appended` or `failed`. */
  | { readonly type: 'append'; readonly group: AppendGroup }
  /** Close the connection and end the thread (sent once nothing is in flight). */
  | { readonly type: 'close' };

/** From the writer thread: one answer per `append`, in order. */
export type FromLogWriter =
  /** Committed (durable): the packed position of every record of the group, in order. */
  | { readonly type: 'appended'; readonly positions: Float64Array }
  /** Rolled back: nothing of the group was appended. `code` is SQLite's (SQLITE_FULL…) when it gave one. */
  | { readonly type: 'failed'; readonly message: string; readonly code?: string };
