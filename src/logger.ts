import pino from 'pino';

/**
 * The part of the service a log line comes from, bound once at the composition root with
 * `logger.child({ component })`; every line the service writes carries one.
 */
export type Component =
  /** Start-up, shutdown, and a part of the service failing (main.ts, app.ts). */
  | 'service'
  /** The API: GraphQL over HTTP and WebSocket, POST /ingest, API key bookkeeping. */
  | 'api'
  /** The persister and its thread: partition assignment, batches, retries, stream retention. */
  | 'consumer'
  /** The sweep that takes silent devices offline. */
  | 'liveness'
  /** Webhook deliveries and their retries. */
  | 'webhooks'
  /** The retention passes of the consumer (one line per pass: rows removed by kind), and the removal of deleted devices' data. */
  | 'retention'
  /** Commands to devices: the consumer's expiry sweep, and deliveries that could not be recorded. */
  | 'commands'
  /** The events topic: publishing what the consumer committed, and tailing it on API nodes. */
  | 'events'
  /** The MQTT bridge: its connection to an existing broker, and the messages it could not ingest. */
  | 'mqtt-bridge'
  /** The stream backend (the OCI SDK's own retry lines). */
  | 'stream'
  /** The store backend (the embedded store's reader threads). */
  | 'store'
  /** The OpenTelemetry SDK: exports refused, a collector unreachable. */
  | 'tracing'
  /** Posting metrics to OCI Monitoring. */
  | 'oci-monitoring';

/** What a child logger adds to every line it writes. */
export interface LogBindings {
  readonly component: Component;
}

/** Structured fields of one line; an error goes under `err` (serialized with its stack). */
export type LogFields = Readonly<Record<string, unknown>>;

/**
 * The logger the code depends on: a level method per severity taking (fields, message), and
 * child loggers. Implemented by pino (createLogger); tests pass their own.
 */
export interface Logger {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
  /** A logger that adds `bindings` to every line. */
  child(bindings: LogBindings): Logger;
}

/**
 * The root logger: JSON lines on stdout (or `destination`), as log shippers expect, with the
 * time in ISO 8601. It is a pino logger, so the entry point may also log at `fatal`.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): pino.Logger {
  const options: pino.LoggerOptions = { name: 'telemetry', level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(options, destination) : pino(options);
}
