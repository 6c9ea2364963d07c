import type Database from 'better-sqlite3';
import type { AggregateQuery, EventReplayQuery } from '../ports/reading-store';
import { readRawBuckets, readRollupBuckets } from './sql/rollups';
import { readSeriesColumns } from './sql/series';
import * as keys from './sql/keys';
import * as devices from './sql/devices';
import * as readings from './sql/readings';
import * as anomalies from './sql/anomalies';
import * as webhooks from './sql/webhooks';
import * as deadLetters from './sql/dead-letters';

/**
 * The reads that serve GraphQL queries, by name, so that a reader thread can run them on its
 * own connection (reader-pool.ts) with nothing but a name and plain arguments crossing the
 * thread boundary. Point lookups the API thread needs on every request (an API key by hash, a
 * device by id for ingest) are not here: they cost less than the hop to a thread, and ingest
 * must never wait behind a heavy scan queued for a reader. Every read names its tenant first:
 * the reader pool queues reads per tenant (tenant-fair-queue.ts).
 */
export const READ_OPERATIONS = {
  listApiKeys: keys.listApiKeys,
  listDevices: devices.listDevices,
  latestReadings: readings.latestReadings,
  queryReadings: readings.queryReadings,
  // The query carries its tenant; the pool's turn-taking needs it first, like every other read.
  readingEventsAfter: (db: Database.Database, tenantId: string, query: EventReplayQuery) => readings.readingEventsAfter(db, { ...query, tenantId }),
  aggregateBuckets: (db: Database.Database, tenantId: string, runs: readonly AggregateQuery[]) =>
    runs.map((query) =>
      query.source === 'raw' ? readRawBuckets(db, tenantId, query, query.withValues ?? false) : readRollupBuckets(db, tenantId, query, query.source),
    ),
  seriesColumns: readSeriesColumns,
  listAnomalyRules: anomalies.listAnomalyRules,
  listAnomalies: anomalies.listAnomalies,
  anomaliesAfter: anomalies.anomaliesAfter,
  listWebhooks: webhooks.listWebhooks,
  listWebhookDeliveries: webhooks.listWebhookDeliveries,
  listDeadLetters: deadLetters.listDeadLetters,
} satisfies Record<string, (db: Database.Database, tenantId: string, ...args: never[]) => unknown>;

type Operations = typeof READ_OPERATIONS;
export type ReadName = keyof Operations;
/** The arguments of a read after the connection. */
export type ReadArgs<K extends ReadName> = Operations[K] extends (db: Database.Database, tenantId: string, ...args: infer A) => unknown
  ? [tenantId: string, ...A]
  : never;
export type ReadResult<K extends ReadName> = ReturnType<Operations[K]>;

/**
 * Runs one read in one DEFERRED transaction: its statements read one snapshot (a batch the
 * consumer commits meanwhile is seen wholly or not at all), and the snapshot ends with the
 * read, so the next read sees everything committed before it starts, the API's own writes
 * included.
 */
export function runRead<K extends ReadName>(db: Database.Database, name: K, args: ReadArgs<K>): ReadResult<K> {
  const operation = READ_OPERATIONS[name] as unknown as (db: Database.Database, ...args: ReadArgs<K>) => ReadResult<K>;
  return db.transaction(() => operation(db, ...args)).deferred();
}
