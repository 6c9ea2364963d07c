import { availableParallelism, hostname } from 'node:os';
import path from 'node:path';
import leven from 'leven';
import { z } from 'zod';
import type { OidcSettings } from './server/oidc';
import { RETENTION_KINDS, retentionProblems, type RetentionKind, type RetentionPolicy } from './domain/retention';
import { parseTopicPattern } from './domain/topic-pattern';
import { parseTrustedProxies } from './domain/trusted-proxies';
import { DEFAULT_TENANT_ID, TENANT_ID_PATTERN } from './tenants/tenant-service';

/**
 * Environment -> typed, validated configuration. Every setting has an embedded default, so
 * `npm start` needs none; an invalid value stops start-up with a message naming the variable.
 *
 * Each variable is documented here, beside its schema entry; the README's configuration table
 * is generated from these entries (`npm run docs:config`), and a unit test fails when it is stale.
 */
const integer = (min: number, max: number) => {
  const message = `must be an integer from ${min} to ${max}`;
  return z.coerce.number(message).int(message).min(min, message).max(max, message);
};

/** The documentation of one row of the README's configuration table. */
export interface SettingDoc {
  /** What the variable does (the Meaning column), Markdown on one line. */
  readonly doc: string;
  /**
   * What leaving an optional variable unset means (the Default column), when the schema has
   * no default value that says it: "generated on first start". Absent: the cell stays empty.
   */
  readonly ifUnset?: string;
}

/** Every schema entry's documentation; variables documented together share one SettingDoc. */
const SETTING_DOCS = z.registry<SettingDoc>();

declare const documented: unique symbol;
/** A schema entry that went through setting() or together(): the schema accepts no other. */
type Documented<S extends z.ZodType> = S & { readonly [documented]: true };

/** Attaches `doc` to one variable's schema (each variable has its own schema instance). */
function documentWith<S extends z.ZodType>(schema: S, doc: SettingDoc): Documented<S> {
  if (SETTING_DOCS.has(schema)) throw new Error('one schema instance per variable: its documentation is attached to it');
  SETTING_DOCS.add(schema, doc);
  return schema as Documented<S>;
}

/** One variable: its schema and, beside it, its documentation (one row of the table). */
function setting<S extends z.ZodType>({ schema, ...doc }: SettingDoc & { readonly schema: S }): Documented<S> {
  return documentWith(schema, doc);
}

/** Variables set together and documented in one row (spread into the schema, in this order). */
function together<V extends Record<string, z.ZodType>>({ variables, ...doc }: SettingDoc & { readonly variables: V }): { [K in keyof V]: Documented<V[K]> } {
  for (const schema of Object.values(variables)) documentWith(schema, doc);
  return variables as { [K in keyof V]: Documented<V[K]> };
}

/** A zod check that runs a parser of the domain and reports its Error's message as the issue. */
const checkWith =
  (parse: (text: string) => unknown) =>
  (value: string, context: z.RefinementCtx): void => {
    try {
      parse(value);
    } catch (error) {
      context.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
    }
  };

/** Every environment variable the service reads, in the order the README's table lists them. */
const shape = {
  PORT: setting({
    schema: integer(0, 65535).default(4000),
    doc: 'HTTP and WebSocket port (`0`: any free port). The MQTT broker has its own, `TELEMETRY_MQTT_PORT`.',
  }),
  HOST: setting({
    schema: z.string().min(1).default('127.0.0.1'),
    doc: 'Interface to listen on (`0.0.0.0` for all).',
  }),
  TELEMETRY_METRICS_PORT: setting({
    schema: integer(0, 65535).optional(),
    doc: "Port of `GET /metrics` (Prometheus text format), on `HOST`, on every role. A port of its own, not the API's: the API port can be public while metrics (which name the service's internals) stay on the cluster network, without a token for Prometheus to hold. The Kubernetes manifests set `9464` and carry `prometheus.io/scrape` annotations. `0`: any free port.",
    ifUnset: 'no metrics endpoint',
  }),
  TELEMETRY_MQTT_PORT: setting({
    schema: z.union([z.literal('off'), integer(0, 65535)], 'must be "off" or an integer from 0 to 65535').default(1883),
    doc: 'Port of the built-in MQTT broker for devices (MQTT 3.1.1 and 3.1, not 5, over TCP, on `HOST`, on the `all` and `api` roles); `off`: none. MQTT over WebSocket is served on `PORT` at `/mqtt` whenever the broker runs. `0`: any free port. See [MQTT](#mqtt).',
  }),
  ...together({
    doc: 'PEM files of a certificate (with its chain) and its private key: the MQTT port then speaks TLS (`mqtts`, usually port 8883).',
    ifUnset: 'plain TCP',
    variables: {
      TELEMETRY_MQTT_TLS_CERT: z.string().min(1).optional(),
      TELEMETRY_MQTT_TLS_KEY: z.string().min(1).optional(),
    },
  }),
  TELEMETRY_MQTT_MAX_PAYLOAD_BYTES: setting({
    schema: integer(64, 64 * 1024 * 1024).default(256 * 1024),
    doc: 'Largest MQTT message payload ingested; a larger one is refused with `PAYLOAD_TOO_LARGE` on `devices/{id}/errors`, and a packet over twice this (plus 64 KiB) closes the connection unread.',
  }),
  TELEMETRY_MQTT_MAX_CONNECTIONS_PER_TENANT: setting({
    schema: integer(1, 10_000_000).default(10_000),
    doc: 'Open MQTT connections per tenant on one node; more are refused at CONNECT (return code 3, server unavailable).',
  }),
  TELEMETRY_MQTT_KEEPALIVE_LIMIT_SECONDS: setting({
    schema: integer(1, 65_535).default(600),
    doc: 'Longest MQTT keep-alive a device may ask for: a CONNECT asking for more (or for none, `0`) is refused. A silent connection is closed after 1.5 × its keep-alive.',
  }),
  TELEMETRY_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: setting({
    schema: integer(1, 3600).default(65),
    doc: "How long an idle keep-alive connection stays open (Node's own default is 5 s). Keep it above the idle timeout of the load balancer and client pools in front (60 s for most; OCI's load balancer keeps idle backend connections 300 s, so the split manifest sets 310), so that they close idle connections, not the service: a pooled socket closed under a client fails its request with `ECONNRESET`. Sent as `Keep-Alive: timeout=<s>`.",
  }),
  TELEMETRY_HTTP_HEADERS_TIMEOUT_SECONDS: setting({
    schema: integer(1, 3600).default(66),
    doc: "Longest wait for a request's headers. Node applies it also to a connection opened ahead of its first request, so it must exceed the keep-alive timeout (checked at start-up).",
  }),
  TELEMETRY_HTTP_REQUEST_TIMEOUT_SECONDS: setting({
    schema: integer(1, 3600).default(300),
    doc: 'Longest wait for a whole request; at least the headers timeout.',
  }),
  TELEMETRY_SHUTDOWN_DRAIN_SECONDS: setting({
    schema: integer(0, 3600).default(15),
    doc: 'On `SIGTERM`/`SIGINT`, how long requests already received may take to be answered before their connections are closed.',
  }),
  TELEMETRY_DATA_DIR: setting({
    schema: z.string().min(1).default('./data'),
    doc: 'Where the embedded stream (`stream.db`) and database (`telemetry.db`) live.',
  }),
  TELEMETRY_ADMIN_KEY: setting({
    schema: z
      .string()
      .regex(/^[A-Za-z0-9_-]{32,256}$/, 'must be 32-256 characters of [A-Za-z0-9_-]')
      .optional(),
    doc: 'Bootstrap admin key, 32-256 chars of `[A-Za-z0-9_-]`. Registered (hashed) if new.',
    ifUnset: 'generated on first start',
  }),
  TELEMETRY_REVOCATION_CHECK_MS: setting({
    schema: z.union([z.literal('off'), integer(0, 3_600_000)], 'must be "off" or an integer from 0 to 3600000').default(5000),
    doc: 'How often each API node asks the database whether keys holding its WebSocket or MQTT connections were revoked, and whether devices its `readingAdded` subscriptions listen to were deleted, and closes or ends theirs: a revocation or deletion whose notice on the `events` topic was lost still ends them within this time (one query for the keys and one per tenant for the devices per check, none while no connection or subscription is open). `off` or `0`: never.',
  }),
  TELEMETRY_PARTITIONS: setting({
    schema: integer(1, 256).default(4),
    doc: 'Partitions of the stream; fixed once the log exists.',
  }),
  TELEMETRY_MAX_BATCH_SIZE: setting({
    schema: integer(1, 100_000).default(1000),
    doc: 'Most readings per ingest call.',
  }),
  TELEMETRY_MAX_BODY_BYTES: setting({
    schema: integer(1024, 256 * 1024 * 1024).default(4 * 1024 * 1024),
    doc: 'Largest HTTP body and WebSocket message.',
  }),
  TELEMETRY_MAX_METRICS_PER_READING: setting({
    schema: integer(1, 1000).default(32),
    doc: 'Most metrics in one reading.',
  }),
  TELEMETRY_MAX_FUTURE_SKEW_SECONDS: setting({
    schema: integer(0, 365 * 86_400).default(300),
    doc: 'How far ahead of the server clock a timestamp may be.',
  }),
  TELEMETRY_MAX_READING_AGE_DAYS: setting({
    schema: integer(1, 36_500).default(365),
    doc: "How old a reading may be (and never older than the tenant's raw-readings retention, `TELEMETRY_RETENTION_RAW_DAYS`).",
  }),
  TELEMETRY_MAX_PAGE_SIZE: setting({
    schema: integer(1, 100_000).default(1000),
    doc: 'Largest `first` of list queries.',
  }),
  TELEMETRY_MAX_QUERY_DEPTH: setting({
    schema: integer(2, 100).default(12),
    doc: "Deepest field nesting of a GraphQL operation. `ofType` (introspection's chain of type wrappers) adds no depth, so the standard introspection query is 6 deep.",
  }),
  TELEMETRY_MAX_SUBSCRIPTIONS_PER_CONNECTION: setting({
    schema: integer(1, 10_000).default(100),
    doc: 'Concurrent subscriptions per WebSocket.',
  }),
  TELEMETRY_MAX_CONNECTIONS_PER_KEY: setting({
    schema: integer(1, 100_000).default(100),
    doc: 'Open WebSocket connections per API key.',
  }),
  TELEMETRY_MAX_QUERY_COST: setting({
    schema: integer(10, 10_000_000).default(20_000),
    doc: 'Most cost of one operation (1 per field; list fields × `first`, `deviceIds`, `points`/100).',
  }),
  TELEMETRY_MAX_QUERY_TOKENS: setting({
    schema: integer(100, 10_000_000).default(20_000),
    doc: 'Most tokens in a GraphQL document (send batches as variables).',
  }),
  TELEMETRY_MAX_ALIASES: setting({
    schema: integer(0, 100_000).default(100),
    doc: 'Most aliased fields in a document.',
  }),
  TELEMETRY_RATE_LIMIT_PER_SECOND: setting({
    schema: integer(1, 10_000_000).default(100),
    doc: 'Requests per second per API key (GraphQL requests, `/ingest` calls, subscription starts).',
  }),
  TELEMETRY_RATE_LIMIT_BURST: setting({
    schema: integer(1, 10_000_000).default(200),
    doc: 'Requests a key may make at once before the rate applies.',
  }),
  ...together({
    doc: 'Set all three to accept OIDC tokens (`iss`, JWKS location, `aud`).',
    ifUnset: 'unset',
    variables: {
      TELEMETRY_OIDC_ISSUER: z.url('must be a URL').optional(),
      TELEMETRY_OIDC_JWKS_URL: z.url('must be a URL').optional(),
      TELEMETRY_OIDC_AUDIENCE: z.string().min(1).optional(),
    },
  }),
  ...together({
    doc: 'Claims naming the tenant and the role of a token.',
    variables: {
      TELEMETRY_OIDC_TENANT_CLAIM: z.string().min(1).default('tenant'),
      TELEMETRY_OIDC_ROLE_CLAIM: z.string().min(1).default('role'),
    },
  }),
  ...together({
    doc: 'The web console\'s "Sign in with <issuer>" (authorization code + PKCE): its public client id, and the endpoints when the issuer\'s discovery document should not be read.',
    ifUnset: "unset: the console signs in with API keys only; the endpoints default to the discovery document's",
    variables: {
      TELEMETRY_OIDC_CLIENT_ID: z.string().min(1).optional(),
      TELEMETRY_OIDC_AUTHORIZATION_URL: z.url('must be a URL').optional(),
      TELEMETRY_OIDC_TOKEN_URL: z.url('must be a URL').optional(),
    },
  }),
  TELEMETRY_INTROSPECTION: setting({
    schema: z.enum(['on', 'off'], 'must be "on" or "off"').default('on'),
    doc: '`off` in production: no introspection and no schema hints in errors (the error of an introspection query names this variable).',
  }),
  TELEMETRY_GRAPHQL_IDE: setting({
    schema: z.enum(['graphiql', 'sandbox', 'off'], 'must be "graphiql", "sandbox" or "off"').default('graphiql'),
    doc: "What a browser opening `/graphql` gets: `graphiql`, bundled and served by the node (works offline, signs in with the web console's key); `sandbox`, Apollo Sandbox (loaded from Apollo's CDN, needs internet); `off`, nothing (a JSON 400). The console at `/` is always served.",
  }),
  TELEMETRY_MAX_AGGREGATE_BUCKETS: setting({
    schema: integer(1, 1_000_000).default(10_000),
    doc: 'Most buckets one `aggregates` query may produce.',
  }),
  TELEMETRY_MAX_SERIES_READINGS: setting({
    schema: integer(1000, 100_000_000).default(5_000_000),
    doc: 'Most raw readings one `series` query reads before downsampling.',
  }),
  TELEMETRY_HEARTBEAT_TIMEOUT_SECONDS: setting({
    schema: integer(1, 30 * 86_400).default(300),
    doc: 'Silence after which a device without its own timeout goes `OFFLINE`.',
  }),
  TELEMETRY_ANOMALY_CLEAR_AFTER_SECONDS: setting({
    schema: integer(0, 30 * 86_400).default(300),
    doc: "Readings' time a series must stay normal after an anomaly's latest trigger before the anomaly clears by itself (`RESOLVED` by `system`), for rules without `clearAfterSeconds`.",
  }),
  TELEMETRY_LIVENESS_CHECK_MS: setting({
    schema: integer(10, 3_600_000).default(5000),
    doc: 'How often the consumer looks for silent devices.',
  }),
  TELEMETRY_COMMAND_EXPIRY_CHECK_MS: setting({
    schema: integer(10, 3_600_000).default(1000),
    doc: 'How often the consumer marks EXPIRED the commands to devices that were not answered within their `timeoutSeconds` (so an expiry is seen at most this late).',
  }),
  TELEMETRY_WEBHOOK_POLL_MS: setting({
    schema: integer(10, 3_600_000).default(1000),
    doc: 'How often due webhook deliveries are looked for (new anomalies wake it sooner).',
  }),
  TELEMETRY_WEBHOOK_MAX_ATTEMPTS: setting({
    schema: integer(1, 100).default(8),
    doc: 'Attempts before a delivery is marked `FAILED`.',
  }),
  TELEMETRY_WEBHOOK_RETRY_BASE_MS: setting({
    schema: integer(1, 3_600_000).default(2000),
    doc: 'First retry delay ceiling; doubles per attempt (full jitter), capped at 1 h.',
  }),
  TELEMETRY_WEBHOOK_TIMEOUT_MS: setting({
    schema: integer(100, 120_000).default(10_000),
    doc: 'Longest a webhook POST may take, from connecting to the last byte of the answer (a receiver trickling bytes cannot stretch it); a delivery is claimed for twice this.',
  }),
  TELEMETRY_WEBHOOK_ALLOW_PRIVATE_NETWORKS: setting({
    schema: z.enum(['on', 'off'], 'must be "on" or "off"').default('off'),
    doc: '`on` lets webhooks reach loopback, private, link-local and other non-public addresses (development only).',
  }),
  TELEMETRY_ONS_ENDPOINT: setting({
    schema: z.url('must be a URL').optional(),
    doc: "The OCI Notifications endpoint of the channels' topics, e.g. `https://notification.eu-frankfurt-1.oci.oraclecloud.com`; authenticated like the stream (`TELEMETRY_OCI_AUTH`). See [Notifications](#notifications).",
    ifUnset: 'ONS channels fail their deliveries, saying so',
  }),
  TELEMETRY_STORE: setting({
    schema: z.enum(['sqlite', 'oracle'], 'must be "sqlite" or "oracle"').default('sqlite'),
    doc: '`oracle` to use Oracle (Autonomous) Database instead of the embedded SQLite file.',
  }),
  ...together({
    doc: 'The schema user (required with `oracle`).',
    variables: {
      TELEMETRY_ORACLE_USER: z.string().min(1).optional(),
      TELEMETRY_ORACLE_PASSWORD: z.string().min(1).optional(),
    },
  }),
  TELEMETRY_ORACLE_CONNECT_STRING: setting({
    schema: z.string().min(1).optional(),
    doc: "A TNS alias from the wallet's `tnsnames.ora` (e.g. `mydb_low`), an Easy Connect string or a full descriptor.",
  }),
  ...together({
    doc: 'mTLS: the unzipped wallet and its password. Omit both for TLS without a wallet (a descriptor with `(security=(ssl_server_dn_match=yes))`).',
    variables: {
      TELEMETRY_ORACLE_WALLET_DIR: z.string().min(1).optional(),
      TELEMETRY_ORACLE_WALLET_PASSWORD: z.string().min(1).optional(),
    },
  }),
  TELEMETRY_ORACLE_CONFIG_DIR: setting({
    schema: z.string().min(1).optional(),
    doc: 'Where `tnsnames.ora` is, when not in the wallet directory.',
    ifUnset: 'the wallet directory',
  }),
  TELEMETRY_ORACLE_POOL_MAX: setting({
    schema: integer(1, 1000).default(8),
    doc: 'Connections per process.',
  }),
  TELEMETRY_SQLITE_READERS: setting({
    schema: integer(0, 64).optional(),
    doc: 'Embedded SQLite: threads, each with its own connection, that run the reads serving queries (ranges, aggregates, listings), so a heavy scan never holds the thread that serves sockets. `0` runs them on the API thread.',
    ifUnset: 'the cores available (`os.availableParallelism()`), at most 4',
  }),
  TELEMETRY_SQLITE_READER_NICE: setting({
    schema: integer(0, 19).default(10),
    doc: 'Embedded SQLite, Linux: how many nice steps below the rest of the node the reader threads run. On a busy machine a heavy scan then yields its core to the threads that serve sockets and persist readings, and delays live deliveries and ingest acknowledgements less; queries wait a little longer while ingest saturates the machine; on an idle one nothing changes. `0`: the same priority.',
  }),
  TELEMETRY_SQLITE_READ_QUEUE: setting({
    schema: integer(1, 100_000).default(256),
    doc: 'Embedded SQLite: most queries waiting for a free reader; more are refused with `UNAVAILABLE` (HTTP 503, `Retry-After`) until the readers catch up. Tenants take turns, and one tenant may hold three quarters of the places.',
  }),
  TELEMETRY_STREAM: setting({
    schema: z.enum(['embedded', 'oci'], 'must be "embedded" or "oci"').default('embedded'),
    doc: '`oci` to use OCI Streaming instead of the embedded log (see [OCI Streaming](#oci-streaming)).',
  }),
  TELEMETRY_OCI_MESSAGES_ENDPOINT: setting({
    schema: z.url('must be a URL').optional(),
    doc: "The stream pool's messages endpoint, e.g. `https://cell-1.streaming.eu-frankfurt-1.oci.oraclecloud.com`.",
  }),
  ...together({
    doc: 'The two streams (`TELEMETRY_PARTITIONS` must equal their partition count).',
    variables: {
      TELEMETRY_OCI_READINGS_STREAM_OCID: z
        .string()
        .regex(/^ocid1\.stream\./, 'must be a stream OCID (ocid1.stream...)')
        .optional(),
      TELEMETRY_OCI_EVENTS_STREAM_OCID: z
        .string()
        .regex(/^ocid1\.stream\./, 'must be a stream OCID (ocid1.stream...)')
        .optional(),
    },
  }),
  TELEMETRY_OCI_AUTH: setting({
    schema: z
      .enum(
        ['config-file', 'instance-principal', 'resource-principal', 'oke-workload-identity'],
        'must be config-file, instance-principal, resource-principal or oke-workload-identity',
      )
      .default('config-file'),
    doc: '`config-file` (API key), `instance-principal` (VMs, OKE nodes), `resource-principal` (Container Instances, Functions: the `OCI_RESOURCE_PRINCIPAL_*` variables the platform sets) or `oke-workload-identity` (pods on enhanced OKE clusters).',
  }),
  ...together({
    doc: 'For `config-file` authentication.',
    ifUnset: '`~/.oci/config`',
    variables: {
      TELEMETRY_OCI_CONFIG_FILE: z.string().min(1).optional(),
      TELEMETRY_OCI_PROFILE: z.string().min(1).default('DEFAULT'),
    },
  }),
  TELEMETRY_OCI_PRODUCE_TIMEOUT_MS: setting({
    schema: integer(100, 120_000).default(10_000),
    doc: 'How long an ingest call retries throttled or failed PutMessages entries before it answers. Entries still refused then are rejected one by one with `STREAM_UNAVAILABLE` (the others are stored).',
  }),
  TELEMETRY_OCI_TAIL_READS_PER_SECOND: setting({
    schema: z.coerce.number('must be a number from 0.1 to 5').min(0.1, 'must be a number from 0.1 to 5').max(5, 'must be a number from 0.1 to 5').default(2),
    doc: "GetMessages per second per events partition for each API node's live tail (0.1–5). OCI allows 5 per partition across all readers: keep this × API nodes ≤ 5. Subscribers on OCI wait up to 1/this seconds longer.",
  }),
  TELEMETRY_OCI_MONITORING_ENDPOINT: setting({
    schema: z.url('must be an https URL').optional(),
    doc: "Publishes readings accepted and applied, consumer lag, anomalies and dead letters to OCI Monitoring as custom metrics, once a minute (see [OCI Monitoring](#oci-monitoring)): the region's telemetry-ingestion endpoint, e.g. `https://telemetry-ingestion.eu-frankfurt-1.oraclecloud.com`. Authenticates like the stream (`TELEMETRY_OCI_AUTH`).",
    ifUnset: 'not published',
  }),
  TELEMETRY_OCI_MONITORING_COMPARTMENT_OCID: setting({
    schema: z
      .string()
      .regex(/^ocid1\.(compartment|tenancy)\./, 'must be a compartment OCID (ocid1.compartment...)')
      .optional(),
    doc: 'The compartment the metrics are posted to; required with `TELEMETRY_OCI_MONITORING_ENDPOINT`.',
  }),
  TELEMETRY_OCI_MONITORING_NAMESPACE: setting({
    schema: z
      .string()
      .regex(/^(?!oci_|oracle_)[a-z][a-z0-9_]*[a-z0-9]$/, 'must be lowercase letters, digits and _, start with a letter, and not start with oci_ or oracle_')
      .default('iot_telemetry'),
    doc: 'The custom metric namespace (OCI reserves `oci_` and `oracle_`).',
  }),
  TELEMETRY_OCI_MONITORING_INTERVAL_SECONDS: setting({
    schema: integer(10, 3600).default(60),
    doc: 'How often a batch of datapoints is posted. A failed post is retried at the next interval, at most 3 times, then dropped (logged and counted in `telemetry_oci_monitoring_posts_total`).',
  }),
  TELEMETRY_STREAM_SYNC: setting({
    schema: z.enum(['full', 'normal'], 'must be "full" or "normal"').default('full'),
    doc: '`full`: fsync every stream commit (survives power loss); `normal`: survives process crashes only.',
  }),
  TELEMETRY_STREAM_RETENTION_HOURS: setting({
    schema: integer(1, 24 * 365).default(168),
    doc: 'Embedded log: messages older than this are deleted, except readings the consumer has not committed yet.',
  }),
  TELEMETRY_RETENTION_RAW_DAYS: setting({
    schema: integer(1, 36_500).default(730),
    doc: 'Days raw readings are kept, for tenants that set no `rawReadingsDays` of their own (`setRetention`). Older ranges are answered from the rollups that remain, and ingest refuses readings older than this (`TIMESTAMP_TOO_OLD`), history imports included. The default is twice `TELEMETRY_MAX_READING_AGE_DAYS`: an upgrade removes nothing a client could still send, and an import may load a second year of history.',
  }),
  TELEMETRY_RETENTION_MINUTE_ROLLUP_DAYS: setting({
    schema: integer(1, 36_500).default(730),
    doc: "Days one-minute rollups are kept (at least the raw readings' days).",
  }),
  TELEMETRY_RETENTION_HOUR_ROLLUP_DAYS: setting({
    schema: integer(1, 36_500).default(730),
    doc: "Days one-hour rollups are kept (at least the minute rollups' days).",
  }),
  TELEMETRY_RETENTION_DAY_ROLLUP_DAYS: setting({
    schema: integer(1, 36_500).default(3650),
    doc: "Days one-day rollups are kept (at least the hour rollups' days).",
  }),
  TELEMETRY_RETENTION_RESOLVED_ANOMALY_DAYS: setting({
    schema: integer(1, 36_500).default(365),
    doc: 'Days an anomaly is kept once resolved (open and acknowledged ones are always kept).',
  }),
  TELEMETRY_RETENTION_DEAD_LETTER_DAYS: setting({
    schema: integer(1, 36_500).default(30),
    doc: 'Days dead letters are kept (also those of no tenant).',
  }),
  TELEMETRY_RETENTION_WEBHOOK_DELIVERY_DAYS: setting({
    schema: integer(1, 36_500).default(30),
    doc: 'Days finished webhook deliveries (delivered or failed) are kept; pending ones are kept until they finish.',
  }),
  TELEMETRY_RETENTION_EVENT_ID_DAYS: setting({
    schema: integer(1, 36_500).default(7),
    doc: 'Event-id deduplication window, by reading timestamp: a duplicate older than this is no longer recognised by its event id (readings are still deduplicated by device, metric and timestamp while they are kept).',
  }),
  TELEMETRY_RETENTION_INTERVAL_SECONDS: setting({
    schema: integer(1, 86_400).default(3600),
    doc: 'Time between two retention passes of the consumer (each logs one line and counts `telemetry_retention_removed_rows_total`).',
  }),
  TELEMETRY_RETENTION_BATCH_ROWS: setting({
    schema: integer(10, 100_000).default(1000),
    doc: 'Most rows one retention batch deletes; each batch is its own transaction, so this bounds how long ingest can wait behind retention.',
  }),
  TELEMETRY_DELETED_DEVICE_DATA_CHECK_MS: setting({
    schema: integer(10, 3_600_000).default(1000),
    doc: 'How often the consumer looks for devices deleted with `keepData: false` whose readings, rollups and event ids are still to be removed; it removes them in steps of `TELEMETRY_RETENTION_BATCH_ROWS` rows per table, pausing after each step twice as long as it took.',
  }),
  TELEMETRY_CONSUMER_BATCH_SIZE: setting({
    schema: integer(1, 100_000).default(1000),
    doc: "Most messages the consumer reads from one partition per round (on OCI, per GetMessages). A round holds up to this many per partition in memory, decoded: 5000 (the default until 2026-12-02) made the consumer thread's heap peak at 182 MiB under batch ingest with 4 partitions, 2000 at 72 MiB, for the same throughput; 1000 took another 11-30 MiB off the service's peak RSS under the peer bench (455-466 MiB against 477-485, two runs each), again for the same throughput.",
  }),
  TELEMETRY_CONSUMER_POLL_MS: setting({
    schema: integer(1, 60_000).default(10),
    doc: 'Consumer sleep when the stream is empty (ingest wakes it at once).',
  }),
  TELEMETRY_CONSUMER_LINGER_MS: setting({
    schema: integer(0, 10_000).default(30),
    doc: 'Under load only (the previous consumer round read at least `TELEMETRY_CONSUMER_LINGER_ABOVE` messages): shortest time between the starts of two rounds, so a backlog is applied in fewer, larger transactions. A quiet stream is applied at once.',
  }),
  TELEMETRY_CONSUMER_LINGER_ABOVE: setting({
    schema: integer(1, 1_000_000).default(1000),
    doc: 'Messages in one consumer round from which the next round lingers (`TELEMETRY_CONSUMER_LINGER_MS`); below it, rounds follow each other at once (group commit).',
  }),
  TELEMETRY_CONSUMER_STUCK_SECONDS: setting({
    schema: integer(1, 86_400).default(60),
    doc: 'A consumer retrying one batch (e.g. `SQLITE_FULL`, a database down) or inside one round for longer than this is reported stuck: `/healthz` degraded, `/readyz` not ready.',
  }),
  TELEMETRY_CONSUMER_INSTANCE: setting({
    schema: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of [A-Za-z0-9._-]')
      .optional(),
    doc: "This consumer's name in the stream's consumer group.",
    ifUnset: '`<hostname>-<pid>`',
  }),
  TELEMETRY_EVENT_TYPE_PREFIX: setting({
    schema: z
      .string()
      .regex(/^[a-z0-9]+(\.[a-z0-9-]+)*$/, 'must be a reverse-DNS prefix such as io.telemetry')
      .default('io.telemetry'),
    doc: 'CloudEvents type prefix (`<prefix>.reading.v1`).',
  }),
  TELEMETRY_ACCESS_LOG: setting({
    schema: z.enum(['on', 'off'], 'must be "on" or "off"').default('off'),
    doc: '`on`: one info line per HTTP request answered (method, route, status, duration, `requestId`). Every answer carries its id in `X-Request-Id` (a sane one a proxy sent is kept), and the same id is on the log lines of the request and is the `correlationId` of a masked error.',
  }),
  OTEL_TRACES_EXPORTER: setting({
    schema: z.enum(['none', 'otlp', 'console'], 'must be "none", "otlp" or "console"').default('none'),
    doc: 'OpenTelemetry tracing (see [Tracing](#tracing-opentelemetry)): `otlp` exports spans over OTLP/HTTP (JSON) to `OTEL_EXPORTER_OTLP_ENDPOINT`, from the API thread and the consumer thread each; `console` prints them; `none` loads no SDK and writes no trace context into messages.',
  }),
  ...together({
    doc: "Where `otlp` sends spans: the base URL (`/v1/traces` is appended), or the full traces URL, and the headers of each export as `name=value` pairs separated by commas (e.g. OCI APM's `authorization=dataKey <private data key>`). The standard OpenTelemetry variables.",
    ifUnset: '`http://localhost:4318`',
    variables: {
      OTEL_EXPORTER_OTLP_ENDPOINT: z.url('must be an http(s) URL').optional(),
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url('must be an http(s) URL').optional(),
      OTEL_EXPORTER_OTLP_HEADERS: z.string().optional(),
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: z.string().optional(),
    },
  }),
  OTEL_SERVICE_NAME: setting({
    schema: z.string().min(1).default('iot-telemetry-api'),
    doc: 'The `service.name` of the spans (the consumer thread reports as the same service).',
  }),
  OTEL_TRACES_SAMPLER_ARG: setting({
    schema: z.coerce.number('must be a number from 0 to 1').min(0, 'must be a number from 0 to 1').max(1, 'must be a number from 0 to 1').default(1),
    doc: 'Share of new traces recorded (parent-based: a request whose `traceparent` says sampled is always recorded, one that says not sampled never is).',
  }),
  TELEMETRY_TRUSTED_PROXIES: setting({
    schema: z.string().superRefine(checkWith(parseTrustedProxies)).optional(),
    doc: "Comma-separated CIDR ranges and addresses of the proxies in front (API Gateway, load balancer, ingress), e.g. `10.0.0.0/16`. `X-Forwarded-For` and `X-Forwarded-Proto` are believed only from these peers, so logs show the real client address; from any other peer they are the client's own claim and are ignored.",
    ifUnset: 'no proxy trusted: the peer is the client',
  }),
  TELEMETRY_MQTT_BRIDGE_URL: setting({
    schema: z
      .string()
      .regex(/^(mqtts?|wss?):\/\/[^/?#]+/, 'must be an mqtt://, mqtts://, ws:// or wss:// URL with a host')
      .optional(),
    doc: 'An existing MQTT broker (Mosquitto, EMQX, HiveMQ, the OCI IoT Platform) whose readings the API role ingests as a client: it subscribes to `TELEMETRY_MQTT_BRIDGE_TOPIC` and acknowledges each QoS 1 message once the stream holds it (README, "MQTT bridge").',
    ifUnset: 'no bridge',
  }),
  ...together({
    doc: "The bridge's credentials at the broker.",
    ifUnset: 'none',
    variables: {
      TELEMETRY_MQTT_BRIDGE_USERNAME: z.string().min(1).optional(),
      TELEMETRY_MQTT_BRIDGE_PASSWORD: z.string().min(1).optional(),
    },
  }),
  ...together({
    doc: "PEM files for `mqtts://` and `wss://`: the CA that signed the broker's certificate (else the system's), and a client certificate and key for mutual TLS.",
    ifUnset: 'none',
    variables: {
      TELEMETRY_MQTT_BRIDGE_CA_FILE: z.string().min(1).optional(),
      TELEMETRY_MQTT_BRIDGE_CERT_FILE: z.string().min(1).optional(),
      TELEMETRY_MQTT_BRIDGE_KEY_FILE: z.string().min(1).optional(),
    },
  }),
  TELEMETRY_MQTT_BRIDGE_TOPIC: setting({
    schema: z.string().min(1).superRefine(checkWith(parseTopicPattern)).default('devices/+deviceId/readings'),
    doc: 'The topics the bridge takes, as an MQTT filter whose `+deviceId` level is the device id (`fleet/+deviceId/telemetry`; `+` and a final `#` as in MQTT).',
  }),
  TELEMETRY_MQTT_BRIDGE_TENANT: setting({
    schema: z.string().regex(TENANT_ID_PATTERN, 'must be a tenant id (1-64 characters of [a-z0-9-])').default(DEFAULT_TENANT_ID),
    doc: "The tenant of every reading the bridge ingests (one bridge per tenant's broker); its devices must be registered there.",
  }),
  TELEMETRY_MQTT_BRIDGE_CLIENT_ID: setting({
    schema: z.string().min(1).max(128).optional(),
    doc: "The bridge's MQTT client id. The session is persistent, so a restarted bridge gets what it had not acknowledged: keep it stable per API node and unique across nodes.",
    ifUnset: '`telemetry-bridge-<hostname>`',
  }),
  TELEMETRY_MQTT_BRIDGE_SHARE_GROUP: setting({
    schema: z
      .string()
      .regex(/^[^/+#]+$/, 'must be a name without /, + or #')
      .optional(),
    doc: 'Several API nodes: subscribe as `$share/<group>/<filter>` so the broker gives each message to one node (MQTT 5 shared subscriptions; Mosquitto 2, EMQX and HiveMQ accept them from MQTT 3.1.1 clients too). Unset with several nodes, each node ingests every message (stored once, but the work is repeated).',
    ifUnset: 'not shared',
  }),
  LOG_LEVEL: setting({
    schema: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'must be one of fatal, error, warn, info, debug, trace, silent')
      .default('info'),
    doc: '`fatal` … `trace`, or `silent`. Logs are JSON lines on stdout.',
  }),
} satisfies Record<string, Documented<z.ZodType>>;

const schema = z.object(shape);

/** The parsed variables; the closed vocabularies of Config come from here. */
type Variables = z.infer<typeof schema>;

export type ConfigVariable = keyof typeof shape;

/** Every environment variable the service reads (deployment files are checked against it). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(shape);

/** A variable as the README documents it. */
export interface DocumentedVariable {
  readonly name: ConfigVariable;
  /** The value it takes when unset; undefined for an optional variable. */
  readonly defaultValue: string | number | boolean | undefined;
  /** Its row's documentation: variables documented together share the same object. */
  readonly doc: SettingDoc;
}

const DAY_MS = 86_400_000;

/** The variable that sets each retention kind's service default, in days. */
const RETENTION_VARIABLES = {
  RAW_READINGS: 'TELEMETRY_RETENTION_RAW_DAYS',
  MINUTE_ROLLUPS: 'TELEMETRY_RETENTION_MINUTE_ROLLUP_DAYS',
  HOUR_ROLLUPS: 'TELEMETRY_RETENTION_HOUR_ROLLUP_DAYS',
  DAY_ROLLUPS: 'TELEMETRY_RETENTION_DAY_ROLLUP_DAYS',
  RESOLVED_ANOMALIES: 'TELEMETRY_RETENTION_RESOLVED_ANOMALY_DAYS',
  DEAD_LETTERS: 'TELEMETRY_RETENTION_DEAD_LETTER_DAYS',
  WEBHOOK_DELIVERIES: 'TELEMETRY_RETENTION_WEBHOOK_DELIVERY_DAYS',
  EVENT_IDS: 'TELEMETRY_RETENTION_EVENT_ID_DAYS',
} as const satisfies Record<RetentionKind, ConfigVariable>;

/** An environment variable's default is a string, or what a string becomes (a number, a flag). */
function scalarDefault(name: string, value: unknown): DocumentedVariable['defaultValue'] {
  if (value === undefined || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  throw new Error(`${name}: a default the configuration table cannot show (${typeof value})`);
}

/** Every variable in the table's order, with its documentation (src/tools/config-table.ts renders them). */
export function documentedVariables(): DocumentedVariable[] {
  return (Object.entries(shape) as [ConfigVariable, z.ZodType][]).map(([name, entry]) => {
    const unset = entry.safeParse(undefined);
    return { name, defaultValue: unset.success ? scalarDefault(name, unset.data) : undefined, doc: SETTING_DOCS.get(entry)! };
  });
}

/** Oracle Autonomous Database connection settings (the Oracle store's pool reads them). */
export interface OracleConnectionOptions {
  readonly user: string;
  readonly password: string;
  /** Easy Connect string, full descriptor, or a TNS alias from tnsnames.ora in configDir. */
  readonly connectString: string;
  /** Directory with tnsnames.ora (and, for mTLS, ewallet.pem): the unzipped wallet. */
  readonly configDir?: string | undefined;
  /** mTLS: the wallet directory and its password; omit both for TLS without a wallet. */
  readonly walletLocation?: string | undefined;
  readonly walletPassword?: string | undefined;
  readonly poolMin?: number;
  readonly poolMax?: number;
  /** How long a caller waits for a pooled connection before NJS-040 (retryable), ms. @default 10000 */
  readonly queueTimeoutMs?: number;
}

export interface Config {
  readonly port: number;
  readonly host: string;
  /** Port of GET /metrics (its own listener, on `host`); undefined: no metrics endpoint. */
  readonly metricsPort: number | undefined;
  readonly http: HttpSettings;
  /** The built-in MQTT broker; undefined when TELEMETRY_MQTT_PORT is off. */
  readonly mqtt: MqttSettings | undefined;
  readonly dataDir: string;
  /** Bootstrap admin key; generated and printed once on first start when absent. */
  readonly adminKey: string | undefined;
  /** How often an API node checks whether the keys holding its connections were revoked and the devices of its readings subscriptions deleted (keys/revocation-check.ts); undefined: never. */
  readonly revocationCheckMs: number | undefined;
  readonly partitions: number;
  readonly limits: {
    /** Most readings in one ingest call. */
    readonly maxBatchSize: number;
    /** Largest HTTP request body, bytes. */
    readonly maxBodyBytes: number;
    readonly maxPageSize: number;
    readonly maxQueryDepth: number;
    readonly maxSubscriptionsPerConnection: number;
    readonly maxQueryCost: number;
    readonly maxQueryTokens: number;
    readonly maxAliases: number;
    /** Requests per second per API key (token bucket refill) and the bucket size. */
    readonly ratePerSecond: number;
    readonly rateBurst: number;
    /** Open WebSocket connections one API key may hold. */
    readonly maxConnectionsPerKey: number;
    /** Most buckets one aggregates query may produce. */
    readonly maxAggregateBuckets: number;
    /** Most raw readings one series query may read before downsampling. */
    readonly maxSeriesReadings: number;
  };
  readonly validation: {
    readonly maxMetricsPerReading: number;
    readonly maxFutureSkewMs: number;
    readonly maxAgeMs: number;
  };
  /** Oracle Autonomous Database instead of the embedded SQLite store; undefined for SQLite. */
  readonly oracle: OracleConnectionOptions | undefined;
  /** The embedded SQLite store's reader threads (the API's queries run there). */
  readonly sqlite: {
    /** Reader threads; 0: queries read on the API thread's own connection. */
    readonly readers: number;
    /** Most queries waiting for a free reader before more are refused (UNAVAILABLE). */
    readonly maxQueuedReads: number;
    /** Nice steps below the node's CPU priority that reader threads run at (Linux). */
    readonly readerNice: number;
  };
  readonly stream: {
    readonly synchronous: Variables['TELEMETRY_STREAM_SYNC'];
    readonly retentionMs: number;
    /** OCI Streaming instead of the embedded log; undefined for the embedded log. */
    readonly oci: OciStreamSettings | undefined;
  };
  readonly consumer: {
    readonly batchSize: number;
    readonly pollIntervalMs: number;
    /** Linger between rounds under load (ReadingPersisterOptions.lingerMs, consumers/round-cadence.ts). */
    readonly lingerMs: number;
    /** Messages in a round from which the next one lingers. */
    readonly lingerAboveMessages: number;
    /** This consumer's name in the stream's consumer group (unique per running consumer). */
    readonly instance: string;
    /**
     * How long the consumer may retry a failing batch, or spend on one round, before health
     * reports it stuck (/healthz degraded, /readyz not ready), ms.
     */
    readonly stuckAfterMs: number;
  };
  /** Retention: the service defaults and how the consumer enforces them (retention/retention-enforcer.ts). */
  readonly retention: {
    readonly defaults: RetentionPolicy;
    readonly intervalMs: number;
    readonly batchRows: number;
    /** How often deleted devices' data is looked for (devices/deleted-device-data-remover.ts), ms. */
    readonly deletedDeviceDataCheckMs: number;
  };
  readonly anomalies: {
    /** How long a series stays normal before its anomaly clears, for rules that do not say (ms). */
    readonly clearAfterMs: number;
  };
  readonly liveness: {
    /** Silence after which a device without its own timeout goes offline. */
    readonly defaultHeartbeatTimeoutMs: number;
    /** How often the consumer looks for silent devices. */
    readonly checkIntervalMs: number;
  };
  readonly commands: {
    /** How often the consumer looks for commands past their deadline (commands/command-expiry.ts). */
    readonly expiryCheckMs: number;
  };
  readonly webhooks: {
    readonly pollIntervalMs: number;
    readonly maxAttempts: number;
    readonly retryBaseMs: number;
    readonly timeoutMs: number;
    /** Deliver to loopback, private and link-local addresses (development only). */
    readonly allowPrivateNetworks: boolean;
    /** OCI Notifications for ONS channels; undefined when TELEMETRY_ONS_ENDPOINT is unset. */
    readonly ons: OnsSettings | undefined;
  };
  /** Sign-in with OIDC tokens; undefined when not configured (API keys only). */
  readonly oidc: OidcSettings | undefined;
  /** Schema introspection; off also drops "Did you mean" hints from errors. */
  readonly introspection: boolean;
  /** The GraphQL IDE a browser's GET /graphql gets (bundled GraphiQL, Apollo Sandbox, or none). */
  readonly graphqlIde: Variables['TELEMETRY_GRAPHQL_IDE'];
  readonly eventTypePrefix: string;
  readonly logLevel: Variables['LOG_LEVEL'];
  /** One info line per HTTP request answered. */
  readonly accessLog: boolean;
  /** Publishing key metrics to OCI Monitoring; undefined when off. */
  readonly ociMonitoring: OciMonitoringSettings | undefined;
  /** OpenTelemetry tracing; undefined when off (no SDK is loaded). */
  readonly tracing: TracingSettings | undefined;
  /** Proxies whose X-Forwarded-For/-Proto are believed: CIDR ranges and addresses, comma-separated ('' trusts none). */
  readonly trustedProxies: string;
  /** The bridge to an existing MQTT broker; undefined when TELEMETRY_MQTT_BRIDGE_URL is unset. */
  readonly mqttBridge: MqttBridgeSettings | undefined;
}

/** TELEMETRY_MQTT_BRIDGE_*: see the README's configuration table. */
export interface MqttBridgeSettings {
  readonly url: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly caFile: string | undefined;
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  /** The topic pattern, with its `+deviceId` level. */
  readonly topic: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly shareGroup: string | undefined;
}

/** Timeouts of every HTTP server the service runs (API and the consumer role's probes). */
export interface HttpSettings {
  /**
   * How long an idle keep-alive connection stays open, ms. Above the idle timeout of the
   * load balancers and client pools in front (60 s for most; OCI's load balancer keeps idle
   * backend connections for 300 s, so the split manifest raises it), so that they, not this
   * server, close idle connections: a pooled socket this server closes while a client reuses
   * it fails that request with ECONNRESET. Node's own default is 5 s. Sent to clients as
   * `Keep-Alive: timeout=<s>`, which Node's fetch (undici) honours.
   */
  readonly keepAliveTimeoutMs: number;
  /**
   * Longest time to receive a request's headers, ms. Node also applies it to a new connection
   * before its first request, and pools and load balancers open connections ahead of use, so
   * it must exceed keepAliveTimeoutMs (checked).
   */
  readonly headersTimeoutMs: number;
  /** Longest time to receive a whole request, ms; at least headersTimeoutMs (checked). */
  readonly requestTimeoutMs: number;
  /**
   * On SIGTERM/SIGINT, how long requests already received (an ingest call waiting for the
   * stream) may take to finish before their connections are closed, ms.
   */
  readonly drainTimeoutMs: number;
}

/** OCI Notifications: the endpoint, and the same OCI identity settings as the stream's. */
export interface OnsSettings extends Pick<OciStreamSettings, 'auth' | 'configFile' | 'profile'> {
  readonly endpoint: string;
}

export interface OciMonitoringSettings {
  /** The region's telemetry-ingestion endpoint (PostMetricData). */
  readonly endpoint: string;
  readonly compartmentId: string;
  readonly namespace: string;
  readonly intervalMs: number;
  /** The stream's authentication settings (TELEMETRY_OCI_AUTH and its file and profile). */
  readonly auth: OciStreamSettings['auth'];
  readonly configFile: string | undefined;
  readonly profile: string;
}

export interface TracingSettings {
  readonly exporter: 'otlp' | 'console';
  /** The OTLP/HTTP traces URL. */
  readonly url: string;
  /** Headers of each export (e.g. OCI APM's data key). */
  readonly headers: Readonly<Record<string, string>>;
  readonly serviceName: string;
  /** Share of new traces sampled (parent-based). */
  readonly sampleRatio: number;
}

/** `name=value,name=value` (values URL-encoded, as the OpenTelemetry specification says) -> headers. */
function parseOtlpHeaders(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    headers[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return headers;
}

/** The built-in MQTT broker's listener and limits. */
export interface MqttSettings {
  readonly port: number;
  /** PEM files: the port speaks TLS; undefined: plain TCP. */
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  readonly maxPayloadBytes: number;
  readonly maxConnectionsPerTenant: number;
  readonly keepAliveLimitSeconds: number;
}

export interface OciStreamSettings {
  readonly messagesEndpoint: string;
  readonly readingsStreamId: string;
  readonly eventsStreamId: string;
  readonly auth: Variables['TELEMETRY_OCI_AUTH'];
  /** For config-file authentication; the SDK's default (~/.oci/config) when undefined. */
  readonly configFile: string | undefined;
  readonly profile: string;
  /**
   * GetMessages per second per events partition for this API node's live tail. OCI allows 5
   * per partition across all readers, so the API nodes together must stay under 5.
   */
  readonly tailReadsPerSecond: number;
  /** How long an ingest call's PutMessages retries throttling before it answers, ms. */
  readonly produceTimeoutMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** TELEMETRY_* variables read by the tools and examples, not by the service. */
const TOOL_VARIABLES = new Set(['TELEMETRY_URL', 'TELEMETRY_KEY']);

/**
 * Variables named like a setting that no setting has: a misspelt one would otherwise leave its
 * default in place without a word (`TELEMETRY_RETENTION_EVENT_IDS_DAYS=1` kept event ids a
 * week). One line per variable, naming the setting it is closest to when that is a likely typo.
 */
export function unknownSettings(env: NodeJS.ProcessEnv = process.env): string[] {
  const known = Object.keys(schema.shape);
  return Object.keys(env)
    .filter((name) => name.startsWith('TELEMETRY_') && !(name in schema.shape) && !TOOL_VARIABLES.has(name))
    .sort()
    .map((name) => {
      const [closest] = known.map((setting) => ({ setting, distance: leven(name, setting) })).sort((a, b) => a.distance - b.distance);
      const hint = closest && closest.distance <= 3 ? ` (did you mean ${closest.setting}?)` : '';
      return `${name} is not a setting of this service and is ignored${hint}`;
    });
}

/** Reads the configuration; empty strings count as unset so `FOO=` falls back to the default. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') input[key] = value.trim();
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const variable = String(issue.path[0] ?? '?');
        return `${variable}=${JSON.stringify(input[variable] ?? '')}: ${issue.message}`;
      }),
    );
  }
  const v = parsed.data;
  if (v.TELEMETRY_STORE === 'oracle') {
    const missing = (['TELEMETRY_ORACLE_USER', 'TELEMETRY_ORACLE_PASSWORD', 'TELEMETRY_ORACLE_CONNECT_STRING'] as const).filter(
      (name) => v[name] === undefined,
    );
    if (missing.length > 0) throw new ConfigError(missing.map((name) => `${name}: required when TELEMETRY_STORE=oracle`));
  }
  if (v.TELEMETRY_STREAM === 'oci') {
    const missing = (['TELEMETRY_OCI_MESSAGES_ENDPOINT', 'TELEMETRY_OCI_READINGS_STREAM_OCID', 'TELEMETRY_OCI_EVENTS_STREAM_OCID'] as const).filter(
      (name) => v[name] === undefined,
    );
    if (missing.length > 0) throw new ConfigError(missing.map((name) => `${name}: required when TELEMETRY_STREAM=oci`));
  }
  if (v.TELEMETRY_HTTP_HEADERS_TIMEOUT_SECONDS <= v.TELEMETRY_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS) {
    throw new ConfigError([
      `TELEMETRY_HTTP_HEADERS_TIMEOUT_SECONDS=${v.TELEMETRY_HTTP_HEADERS_TIMEOUT_SECONDS}: must exceed TELEMETRY_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS (${v.TELEMETRY_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS}), or connections opened ahead of use are closed before keep-alive would`,
    ]);
  }
  if (v.TELEMETRY_HTTP_REQUEST_TIMEOUT_SECONDS < v.TELEMETRY_HTTP_HEADERS_TIMEOUT_SECONDS) {
    throw new ConfigError([
      `TELEMETRY_HTTP_REQUEST_TIMEOUT_SECONDS=${v.TELEMETRY_HTTP_REQUEST_TIMEOUT_SECONDS}: must be at least TELEMETRY_HTTP_HEADERS_TIMEOUT_SECONDS (${v.TELEMETRY_HTTP_HEADERS_TIMEOUT_SECONDS})`,
    ]);
  }
  if (v.TELEMETRY_METRICS_PORT !== undefined && v.TELEMETRY_METRICS_PORT !== 0 && v.TELEMETRY_METRICS_PORT === v.PORT) {
    throw new ConfigError([`TELEMETRY_METRICS_PORT=${v.TELEMETRY_METRICS_PORT}: must differ from PORT (metrics have a port of their own)`]);
  }
  const retentionDefaults = Object.fromEntries(RETENTION_KINDS.values.map((kind) => [kind, v[RETENTION_VARIABLES[kind]] * DAY_MS])) as Record<
    RetentionKind,
    number
  >;
  const retentionErrors = retentionProblems(retentionDefaults, (kind) => RETENTION_VARIABLES[kind]);
  if (retentionErrors.length > 0) throw new ConfigError(retentionErrors.map((problem) => problem.message));
  if (v.TELEMETRY_OCI_MONITORING_ENDPOINT !== undefined && v.TELEMETRY_OCI_MONITORING_COMPARTMENT_OCID === undefined) {
    throw new ConfigError(['TELEMETRY_OCI_MONITORING_COMPARTMENT_OCID: required when TELEMETRY_OCI_MONITORING_ENDPOINT is set']);
  }
  if ((v.TELEMETRY_MQTT_TLS_CERT === undefined) !== (v.TELEMETRY_MQTT_TLS_KEY === undefined)) {
    throw new ConfigError(['TELEMETRY_MQTT_TLS_CERT and TELEMETRY_MQTT_TLS_KEY: set both for MQTT over TLS, or neither']);
  }
  if (
    v.TELEMETRY_MQTT_PORT !== 'off' &&
    v.TELEMETRY_MQTT_PORT !== 0 &&
    (v.TELEMETRY_MQTT_PORT === v.PORT || v.TELEMETRY_MQTT_PORT === v.TELEMETRY_METRICS_PORT)
  ) {
    throw new ConfigError([
      `TELEMETRY_MQTT_PORT=${v.TELEMETRY_MQTT_PORT}: must differ from PORT and TELEMETRY_METRICS_PORT (MQTT over WebSocket is served on PORT at /mqtt)`,
    ]);
  }
  if ((v.TELEMETRY_MQTT_BRIDGE_CERT_FILE === undefined) !== (v.TELEMETRY_MQTT_BRIDGE_KEY_FILE === undefined)) {
    throw new ConfigError(['TELEMETRY_MQTT_BRIDGE_CERT_FILE and TELEMETRY_MQTT_BRIDGE_KEY_FILE: set both for mutual TLS, or neither']);
  }
  const oidcVariables = [v.TELEMETRY_OIDC_ISSUER, v.TELEMETRY_OIDC_JWKS_URL, v.TELEMETRY_OIDC_AUDIENCE];
  if (oidcVariables.some((value) => value !== undefined) && oidcVariables.some((value) => value === undefined)) {
    throw new ConfigError(['TELEMETRY_OIDC_ISSUER, TELEMETRY_OIDC_JWKS_URL and TELEMETRY_OIDC_AUDIENCE: set all three to enable OIDC sign-in, or none']);
  }
  if (v.TELEMETRY_OIDC_CLIENT_ID !== undefined && v.TELEMETRY_OIDC_ISSUER === undefined) {
    throw new ConfigError(['TELEMETRY_OIDC_CLIENT_ID: the console signs in with the issuer TELEMETRY_OIDC_ISSUER names: set it too']);
  }
  return {
    port: v.PORT,
    host: v.HOST,
    metricsPort: v.TELEMETRY_METRICS_PORT,
    http: {
      keepAliveTimeoutMs: v.TELEMETRY_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
      headersTimeoutMs: v.TELEMETRY_HTTP_HEADERS_TIMEOUT_SECONDS * 1000,
      requestTimeoutMs: v.TELEMETRY_HTTP_REQUEST_TIMEOUT_SECONDS * 1000,
      drainTimeoutMs: v.TELEMETRY_SHUTDOWN_DRAIN_SECONDS * 1000,
    },
    mqtt:
      v.TELEMETRY_MQTT_PORT === 'off'
        ? undefined
        : {
            port: v.TELEMETRY_MQTT_PORT,
            tls: v.TELEMETRY_MQTT_TLS_CERT && v.TELEMETRY_MQTT_TLS_KEY ? { certFile: v.TELEMETRY_MQTT_TLS_CERT, keyFile: v.TELEMETRY_MQTT_TLS_KEY } : undefined,
            maxPayloadBytes: v.TELEMETRY_MQTT_MAX_PAYLOAD_BYTES,
            maxConnectionsPerTenant: v.TELEMETRY_MQTT_MAX_CONNECTIONS_PER_TENANT,
            keepAliveLimitSeconds: v.TELEMETRY_MQTT_KEEPALIVE_LIMIT_SECONDS,
          },
    dataDir: path.resolve(v.TELEMETRY_DATA_DIR),
    adminKey: v.TELEMETRY_ADMIN_KEY,
    revocationCheckMs: v.TELEMETRY_REVOCATION_CHECK_MS === 'off' || v.TELEMETRY_REVOCATION_CHECK_MS === 0 ? undefined : v.TELEMETRY_REVOCATION_CHECK_MS,
    partitions: v.TELEMETRY_PARTITIONS,
    limits: {
      maxBatchSize: v.TELEMETRY_MAX_BATCH_SIZE,
      maxBodyBytes: v.TELEMETRY_MAX_BODY_BYTES,
      maxPageSize: v.TELEMETRY_MAX_PAGE_SIZE,
      maxQueryDepth: v.TELEMETRY_MAX_QUERY_DEPTH,
      maxSubscriptionsPerConnection: v.TELEMETRY_MAX_SUBSCRIPTIONS_PER_CONNECTION,
      maxQueryCost: v.TELEMETRY_MAX_QUERY_COST,
      maxQueryTokens: v.TELEMETRY_MAX_QUERY_TOKENS,
      maxAliases: v.TELEMETRY_MAX_ALIASES,
      ratePerSecond: v.TELEMETRY_RATE_LIMIT_PER_SECOND,
      rateBurst: v.TELEMETRY_RATE_LIMIT_BURST,
      maxConnectionsPerKey: v.TELEMETRY_MAX_CONNECTIONS_PER_KEY,
      maxAggregateBuckets: v.TELEMETRY_MAX_AGGREGATE_BUCKETS,
      maxSeriesReadings: v.TELEMETRY_MAX_SERIES_READINGS,
    },
    validation: {
      maxMetricsPerReading: v.TELEMETRY_MAX_METRICS_PER_READING,
      maxFutureSkewMs: v.TELEMETRY_MAX_FUTURE_SKEW_SECONDS * 1000,
      maxAgeMs: v.TELEMETRY_MAX_READING_AGE_DAYS * 86_400_000,
    },
    oracle:
      v.TELEMETRY_STORE === 'oracle'
        ? {
            user: v.TELEMETRY_ORACLE_USER!,
            password: v.TELEMETRY_ORACLE_PASSWORD!,
            connectString: v.TELEMETRY_ORACLE_CONNECT_STRING!,
            configDir: v.TELEMETRY_ORACLE_CONFIG_DIR ?? v.TELEMETRY_ORACLE_WALLET_DIR,
            walletLocation: v.TELEMETRY_ORACLE_WALLET_DIR,
            walletPassword: v.TELEMETRY_ORACLE_WALLET_PASSWORD,
            poolMax: v.TELEMETRY_ORACLE_POOL_MAX,
          }
        : undefined,
    sqlite: {
      // One reader per core: a reader is busy only while SQLite works, so more than the cores
      // only adds connections (and their caches); past 4 the file's I/O, not the CPU, limits.
      readers: v.TELEMETRY_SQLITE_READERS ?? Math.min(4, availableParallelism()),
      maxQueuedReads: v.TELEMETRY_SQLITE_READ_QUEUE,
      readerNice: v.TELEMETRY_SQLITE_READER_NICE,
    },
    stream: {
      synchronous: v.TELEMETRY_STREAM_SYNC,
      retentionMs: v.TELEMETRY_STREAM_RETENTION_HOURS * 3_600_000,
      oci:
        v.TELEMETRY_STREAM === 'oci'
          ? {
              messagesEndpoint: v.TELEMETRY_OCI_MESSAGES_ENDPOINT!,
              readingsStreamId: v.TELEMETRY_OCI_READINGS_STREAM_OCID!,
              eventsStreamId: v.TELEMETRY_OCI_EVENTS_STREAM_OCID!,
              auth: v.TELEMETRY_OCI_AUTH,
              configFile: v.TELEMETRY_OCI_CONFIG_FILE,
              profile: v.TELEMETRY_OCI_PROFILE,
              tailReadsPerSecond: v.TELEMETRY_OCI_TAIL_READS_PER_SECOND,
              produceTimeoutMs: v.TELEMETRY_OCI_PRODUCE_TIMEOUT_MS,
            }
          : undefined,
    },
    consumer: {
      batchSize: v.TELEMETRY_CONSUMER_BATCH_SIZE,
      pollIntervalMs: v.TELEMETRY_CONSUMER_POLL_MS,
      lingerMs: v.TELEMETRY_CONSUMER_LINGER_MS,
      lingerAboveMessages: v.TELEMETRY_CONSUMER_LINGER_ABOVE,
      // A pod's hostname is its name: unique in a Deployment, stable across its restarts.
      instance:
        v.TELEMETRY_CONSUMER_INSTANCE ??
        `${hostname()
          .replace(/[^A-Za-z0-9._-]/g, '-')
          .slice(0, 48)}-${process.pid}`,
      stuckAfterMs: v.TELEMETRY_CONSUMER_STUCK_SECONDS * 1000,
    },
    retention: {
      defaults: retentionDefaults,
      intervalMs: v.TELEMETRY_RETENTION_INTERVAL_SECONDS * 1000,
      batchRows: v.TELEMETRY_RETENTION_BATCH_ROWS,
      deletedDeviceDataCheckMs: v.TELEMETRY_DELETED_DEVICE_DATA_CHECK_MS,
    },
    anomalies: { clearAfterMs: v.TELEMETRY_ANOMALY_CLEAR_AFTER_SECONDS * 1000 },
    liveness: { defaultHeartbeatTimeoutMs: v.TELEMETRY_HEARTBEAT_TIMEOUT_SECONDS * 1000, checkIntervalMs: v.TELEMETRY_LIVENESS_CHECK_MS },
    commands: { expiryCheckMs: v.TELEMETRY_COMMAND_EXPIRY_CHECK_MS },
    webhooks: {
      pollIntervalMs: v.TELEMETRY_WEBHOOK_POLL_MS,
      maxAttempts: v.TELEMETRY_WEBHOOK_MAX_ATTEMPTS,
      retryBaseMs: v.TELEMETRY_WEBHOOK_RETRY_BASE_MS,
      timeoutMs: v.TELEMETRY_WEBHOOK_TIMEOUT_MS,
      allowPrivateNetworks: v.TELEMETRY_WEBHOOK_ALLOW_PRIVATE_NETWORKS === 'on',
      ons: v.TELEMETRY_ONS_ENDPOINT
        ? { endpoint: v.TELEMETRY_ONS_ENDPOINT, auth: v.TELEMETRY_OCI_AUTH, configFile: v.TELEMETRY_OCI_CONFIG_FILE, profile: v.TELEMETRY_OCI_PROFILE }
        : undefined,
    },
    oidc:
      v.TELEMETRY_OIDC_ISSUER && v.TELEMETRY_OIDC_JWKS_URL && v.TELEMETRY_OIDC_AUDIENCE
        ? {
            issuer: v.TELEMETRY_OIDC_ISSUER,
            jwksUrl: v.TELEMETRY_OIDC_JWKS_URL,
            audience: v.TELEMETRY_OIDC_AUDIENCE,
            tenantClaim: v.TELEMETRY_OIDC_TENANT_CLAIM,
            roleClaim: v.TELEMETRY_OIDC_ROLE_CLAIM,
            clientId: v.TELEMETRY_OIDC_CLIENT_ID,
            authorizationUrl: v.TELEMETRY_OIDC_AUTHORIZATION_URL,
            tokenUrl: v.TELEMETRY_OIDC_TOKEN_URL,
          }
        : undefined,
    introspection: v.TELEMETRY_INTROSPECTION === 'on',
    graphqlIde: v.TELEMETRY_GRAPHQL_IDE,
    eventTypePrefix: v.TELEMETRY_EVENT_TYPE_PREFIX,
    logLevel: v.LOG_LEVEL,
    accessLog: v.TELEMETRY_ACCESS_LOG === 'on',
    ociMonitoring: v.TELEMETRY_OCI_MONITORING_ENDPOINT
      ? {
          endpoint: v.TELEMETRY_OCI_MONITORING_ENDPOINT,
          compartmentId: v.TELEMETRY_OCI_MONITORING_COMPARTMENT_OCID!,
          namespace: v.TELEMETRY_OCI_MONITORING_NAMESPACE,
          intervalMs: v.TELEMETRY_OCI_MONITORING_INTERVAL_SECONDS * 1000,
          auth: v.TELEMETRY_OCI_AUTH,
          configFile: v.TELEMETRY_OCI_CONFIG_FILE,
          profile: v.TELEMETRY_OCI_PROFILE,
        }
      : undefined,
    tracing:
      v.OTEL_TRACES_EXPORTER === 'none'
        ? undefined
        : {
            exporter: v.OTEL_TRACES_EXPORTER,
            url: v.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${(v.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318').replace(/\/+$/, '')}/v1/traces`,
            headers: parseOtlpHeaders(v.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? v.OTEL_EXPORTER_OTLP_HEADERS),
            serviceName: v.OTEL_SERVICE_NAME,
            sampleRatio: v.OTEL_TRACES_SAMPLER_ARG,
          },
    trustedProxies: v.TELEMETRY_TRUSTED_PROXIES ?? '',
    mqttBridge: v.TELEMETRY_MQTT_BRIDGE_URL
      ? {
          url: v.TELEMETRY_MQTT_BRIDGE_URL,
          username: v.TELEMETRY_MQTT_BRIDGE_USERNAME,
          password: v.TELEMETRY_MQTT_BRIDGE_PASSWORD,
          caFile: v.TELEMETRY_MQTT_BRIDGE_CA_FILE,
          certFile: v.TELEMETRY_MQTT_BRIDGE_CERT_FILE,
          keyFile: v.TELEMETRY_MQTT_BRIDGE_KEY_FILE,
          topic: v.TELEMETRY_MQTT_BRIDGE_TOPIC,
          tenantId: v.TELEMETRY_MQTT_BRIDGE_TENANT,
          clientId: v.TELEMETRY_MQTT_BRIDGE_CLIENT_ID ?? `telemetry-bridge-${hostname()}`,
          shareGroup: v.TELEMETRY_MQTT_BRIDGE_SHARE_GROUP,
        }
      : undefined,
  };
}
