import path from 'node:path';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { SqliteReaderPool } from '../store/sqlite/reader-pool';
import { SqliteStore } from '../store/sqlite/sqlite-store';
import type { Store } from '../store/store';
import { EmbeddedStream } from '../stream/embedded/embedded-stream';
import type { Stream } from '../stream/stream';
import type { NotificationPublisher } from '../notifications/notification-publisher';
import { ensureDataDir, openInDataDir } from './data-dir';
import { WAL_BACKSTOP_PAGES } from './checkpoint-thread';
import type { WakeSignal } from '../stream/wake-signal';

/**
 * Picks the backends from the configuration: the only place that names an implementation.
 * The Oracle driver and the OCI SDK are loaded only when configured (require at the point of
 * use): together they are a large part of a process's start-up, which a function's cold start
 * and every embedded node would otherwise pay for nothing.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- loaded when configured, see above */

export function storeFile(config: Config): string {
  return path.join(config.dataDir, 'telemetry.db');
}

export function streamFile(config: Config): string {
  return path.join(config.dataDir, 'stream.db');
}

/**
 * The store: Oracle Autonomous Database when configured (TELEMETRY_STORE=oracle), SQLite
 * otherwise. `forQueries`: the API's store, whose SQLite reads serving queries run on a pool of
 * reader threads (TELEMETRY_SQLITE_READERS); Oracle is asynchronous over its own connection
 * pool already. The consumer and the CLI read and write on their own thread.
 */
export async function openStore(config: Config, forQueries?: { readonly logger: Logger }): Promise<Store> {
  if (config.oracle) {
    const { OracleStore } = require('../store/oracle/oracle-store') as typeof import('../store/oracle/oracle-store');
    return OracleStore.connect(config.oracle);
  }
  ensureDataDir(config.dataDir);
  const { readers, maxQueuedReads, readerNice } = config.sqlite;
  const pool =
    forQueries && readers > 0
      ? (file: string) =>
          new SqliteReaderPool({
            file,
            size: readers,
            maxQueued: maxQueuedReads,
            niceIncrement: readerNice,
            onReaderFailure: (error) => forQueries.logger.error({ err: error }, 'a database reader thread stopped; replacing it'),
            onPriorityKept: (reason) =>
              forQueries.logger.info({ reason }, "the database reader threads run at the node's CPU priority: TELEMETRY_SQLITE_READER_NICE was not applied"),
          })
      : undefined;
  // The consumer's thread checkpoints the log in the background (startCheckpointThread).
  return openInDataDir(
    config.dataDir,
    storeFile(config),
    'database',
    () => new SqliteStore({ file: storeFile(config), walAutocheckpointPages: WAL_BACKSTOP_PAGES, ...(pool ? { readers: pool } : {}) }),
  );
}

let sdkWarningsRouted = false;

/**
 * The stream: OCI Streaming when configured (TELEMETRY_STREAM=oci), the embedded log otherwise.
 * `logger` is the stream component's (it receives the OCI SDK's retry lines).
 * `embedded.readingsAppended`: rung by the embedded log's writer thread after each commit that
 * appended readings (EmbeddedStreamOptions); ignored by OCI Streaming.
 */
export async function openStream(config: Config, logger: Logger, embedded: { readonly readingsAppended?: WakeSignal } = {}): Promise<Stream> {
  const oci = config.stream.oci;
  if (oci) {
    const { ociAuthentication } = require('../stream/oci/oci-auth') as typeof import('../stream/oci/oci-auth');
    const { OciStream } = require('../stream/oci/oci-stream') as typeof import('../stream/oci/oci-stream');
    const { routeOciRetrierWarnings } = require('../stream/oci/sdk-console') as typeof import('../stream/oci/sdk-console');
    if (!sdkWarningsRouted) routeOciRetrierWarnings(logger); // once per thread
    sdkWarningsRouted = true;
    return new OciStream({
      messagesEndpoint: oci.messagesEndpoint,
      streamIds: { readings: oci.readingsStreamId, events: oci.eventsStreamId },
      partitions: config.partitions,
      auth: await ociAuthentication(oci),
      tailReadsPerSecondPerPartition: oci.tailReadsPerSecond,
      produceTimeoutMs: oci.produceTimeoutMs,
    });
  }
  ensureDataDir(config.dataDir);
  return openInDataDir(
    config.dataDir,
    streamFile(config),
    'stream log',
    () =>
      new EmbeddedStream({
        file: streamFile(config),
        partitions: config.partitions,
        synchronous: config.stream.synchronous,
        ...(embedded.readingsAppended ? { readingsAppended: embedded.readingsAppended.buffer } : {}),
      }),
  );
}

/**
 * The publisher to OCI Notifications topics (ONS channels) when TELEMETRY_ONS_ENDPOINT is set,
 * authenticated like the stream; undefined otherwise. `logger` receives the OCI SDK's retry lines.
 */
export async function openNotifications(config: Config, logger: Logger): Promise<NotificationPublisher | undefined> {
  const ons = config.webhooks.ons;
  if (!ons) return undefined;
  const { ociAuthentication } = require('../stream/oci/oci-auth') as typeof import('../stream/oci/oci-auth');
  const { OnsPublisher } = require('../notifications/oci/ons-publisher') as typeof import('../notifications/oci/ons-publisher');
  const { routeOciRetrierWarnings } = require('../stream/oci/sdk-console') as typeof import('../stream/oci/sdk-console');
  if (!sdkWarningsRouted) routeOciRetrierWarnings(logger); // once per thread
  sdkWarningsRouted = true;
  return new OnsPublisher({ endpoint: ons.endpoint, auth: await ociAuthentication(ons) });
}
