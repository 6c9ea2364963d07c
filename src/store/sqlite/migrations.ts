/**
 * Versioned schema of the embedded database. Append new versions; never edit a shipped one.
 * Timestamps are UTC milliseconds in INTEGER columns.
 */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'tenants, keys, devices, readings, events, watermarks, dead letters',
    sql: `
      CREATE TABLE tenants (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants (id),
        role TEXT NOT NULL CHECK (role IN ('device', 'reader', 'admin')),
        device_id TEXT,
        label TEXT NOT NULL,
        secret_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER,
        revoked_at INTEGER
      );
      CREATE TABLE devices (
        tenant_id TEXT NOT NULL REFERENCES tenants (id),
        id TEXT NOT NULL,
        name TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, id)
      ) WITHOUT ROWID;
      -- Natural key (tenant, device, metric, ts): a repeated measurement is stored once.
      CREATE TABLE readings (
        tenant_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        metric TEXT NOT NULL,
        ts INTEGER NOT NULL,
        value REAL NOT NULL,
        PRIMARY KEY (tenant_id, device_id, metric, ts)
      ) WITHOUT ROWID;
      -- One row per applied stream message: event-id deduplication (the primary key) and
      -- gap-free replay of subscriptions by stream position (the index). Keyed by event id,
      -- not by position: generated ids are time-ordered, so the wide rows are appended, and
      -- only the narrow index entries land at each device's position (20% faster inserts).
      -- metrics holds only the values this event newly stored.
      CREATE TABLE reading_events (
        tenant_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        stream_partition INTEGER NOT NULL,
        stream_offset INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        metrics TEXT NOT NULL,
        PRIMARY KEY (tenant_id, event_id)
      ) WITHOUT ROWID;
      CREATE INDEX reading_events_by_position ON reading_events (tenant_id, device_id, stream_partition, stream_offset);
      CREATE TABLE latest_readings (
        tenant_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        metric TEXT NOT NULL,
        ts INTEGER NOT NULL,
        value REAL NOT NULL,
        PRIMARY KEY (tenant_id, device_id, metric)
      ) WITHOUT ROWID;
      -- Highest stream offset applied per partition, written in the same transaction as the data.
      CREATE TABLE stream_watermarks (
        source TEXT NOT NULL,
        stream_partition INTEGER NOT NULL,
        applied_offset INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (source, stream_partition)
      ) WITHOUT ROWID;
      CREATE TABLE dead_letters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id TEXT,
        topic TEXT NOT NULL,
        stream_partition INTEGER NOT NULL,
        stream_offset INTEGER NOT NULL,
        reason TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        replayed_at INTEGER
      );
      CREATE INDEX dead_letters_by_tenant ON dead_letters (tenant_id, id);
    `,
  },
  {
    version: 2,
    description: 'rollups: mergeable partial sums per minute, hour and day',
    sql: `
      -- One row per (series, resolution, bucket). Partial sums, never averages, so buckets
      -- merge exactly into coarser ones and across devices. first/last keep their timestamps
      -- so late readings land correctly.
      CREATE TABLE rollups (
        tenant_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        metric TEXT NOT NULL,
        resolution_ms INTEGER NOT NULL,
        bucket_start INTEGER NOT NULL,
        count INTEGER NOT NULL,
        sum REAL NOT NULL,
        sum_sq REAL NOT NULL,
        min REAL NOT NULL,
        max REAL NOT NULL,
        first_ts INTEGER NOT NULL,
        first_value REAL NOT NULL,
        last_ts INTEGER NOT NULL,
        last_value REAL NOT NULL,
        PRIMARY KEY (tenant_id, device_id, metric, resolution_ms, bucket_start)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    description: 'anomaly rules, detector state, anomalies, device liveness',
    sql: `
      -- One rule per (scope, metric); metric '*' means every metric. A NULL setting is off.
      CREATE TABLE anomaly_rules (
        tenant_id TEXT NOT NULL REFERENCES tenants (id),
        id TEXT NOT NULL,
        scope_kind TEXT NOT NULL CHECK (scope_kind IN ('tenant', 'device', 'tag')),
        scope_value TEXT NOT NULL,
        metric TEXT NOT NULL,
        zscore_threshold REAL,
        zscore_window INTEGER,
        zscore_warmup INTEGER,
        min_value REAL,
        max_value REAL,
        max_rate_per_second REAL,
        severity TEXT NOT NULL CHECK (severity IN ('INFO', 'WARNING', 'CRITICAL')),
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, id),
        UNIQUE (tenant_id, scope_kind, scope_value, metric)
      );
      -- Per-series detector state, written in the batch transaction that changed it.
      CREATE TABLE detector_state (
        tenant_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        metric TEXT NOT NULL,
        state TEXT NOT NULL,
        PRIMARY KEY (tenant_id, device_id, metric)
      ) WITHOUT ROWID;
      -- seq grows in commit order: anomaly subscriptions resume from it.
      CREATE TABLE anomalies (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        metric TEXT,
        kind TEXT NOT NULL CHECK (kind IN ('ZSCORE', 'THRESHOLD', 'RATE_OF_CHANGE', 'SILENCE')),
        severity TEXT NOT NULL CHECK (severity IN ('INFO', 'WARNING', 'CRITICAL')),
        score REAL NOT NULL,
        value REAL,
        expected_min REAL,
        expected_max REAL,
        ts INTEGER NOT NULL,
        detected_at INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'ACKNOWLEDGED', 'RESOLVED')),
        acknowledged_by TEXT,
        acknowledged_at INTEGER,
        resolved_by TEXT,
        resolved_at INTEGER
      );
      CREATE INDEX anomalies_by_tenant ON anomalies (tenant_id, seq);
      CREATE INDEX anomalies_by_device ON anomalies (tenant_id, device_id, seq);
      ALTER TABLE devices ADD COLUMN status TEXT NOT NULL DEFAULT 'NEVER_SEEN'
        CHECK (status IN ('NEVER_SEEN', 'ONLINE', 'OFFLINE', 'DECOMMISSIONED'));
      ALTER TABLE devices ADD COLUMN last_seen_at INTEGER;
      -- NULL: the service-wide default heartbeat timeout.
      ALTER TABLE devices ADD COLUMN heartbeat_timeout_ms INTEGER;
      CREATE INDEX devices_online_by_last_seen ON devices (status, last_seen_at);
    `,
  },
  {
    version: 4,
    description: 'webhooks and their delivery outbox',
    sql: `
      -- The secret signs deliveries (HMAC-SHA256), so it must be kept readable, unlike API keys.
      CREATE TABLE webhooks (
        tenant_id TEXT NOT NULL REFERENCES tenants (id),
        id TEXT NOT NULL,
        url TEXT NOT NULL,
        min_severity TEXT NOT NULL CHECK (min_severity IN ('INFO', 'WARNING', 'CRITICAL')),
        secret TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, id)
      );
      -- Outbox: a delivery row is written in the transaction that stores its anomaly.
      CREATE TABLE webhook_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id TEXT NOT NULL,
        webhook_id TEXT NOT NULL,
        anomaly_seq INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_status_code INTEGER,
        last_error TEXT,
        delivered_at INTEGER,
        created_at INTEGER NOT NULL,
        UNIQUE (webhook_id, anomaly_seq)
      );
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
      CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (tenant_id, webhook_id, id);
    `,
  },
  {
    version: 5,
    description: 'fan-out progress of the events topic',
    sql: `
      -- How far the consumer has published committed events to the events topic, per readings
      -- partition ('readings:<p>' -> offset) and for anomalies ('anomalies' -> seq). A consumer
      -- that restarts republishes what lies between this and the watermark.
      CREATE TABLE fanout_progress (
        name TEXT PRIMARY KEY,
        position INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 6,
    description: 'rollups keep when their min and max happened (chart series from rollups)',
    sql: `
      -- NULL in rows written before: a series over them reads raw readings instead.
      ALTER TABLE rollups ADD COLUMN min_ts INTEGER;
      ALTER TABLE rollups ADD COLUMN max_ts INTEGER;
    `,
  },
  {
    version: 7,
    description: "alarm lifecycle: anomalies keep an id across updates, count occurrences, and clear after a rule's clearAfter",
    sql: `
      -- id: the anomaly's identity, the seq it was first stored with; seq moves forward each time
      -- the consumer changes the anomaly (subscribers resume by seq). Existing rows: id = seq.
      ALTER TABLE anomalies ADD COLUMN id INTEGER;
      UPDATE anomalies SET id = seq;
      CREATE UNIQUE INDEX anomalies_by_id ON anomalies (id);
      ALTER TABLE anomalies ADD COLUMN occurrences INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE anomalies ADD COLUMN last_value REAL;
      ALTER TABLE anomalies ADD COLUMN last_ts INTEGER;
      UPDATE anomalies SET last_value = value, last_ts = ts;
      -- The open anomalies of a series, read by every batch that stores a value of it: small, as
      -- only rows not RESOLVED are in it.
      CREATE INDEX anomalies_open_by_series ON anomalies (tenant_id, device_id, metric) WHERE status <> 'RESOLVED';
      -- NULL: the service default (TELEMETRY_ANOMALY_CLEAR_AFTER_SECONDS).
      ALTER TABLE anomaly_rules ADD COLUMN clear_after_ms INTEGER;
    `,
  },
  {
    version: 8,
    description: 'retention: per-tenant settings, and event ids found by timestamp',
    sql: `
      -- One row per setting a tenant chose; a kind without a row follows the service default.
      CREATE TABLE tenant_retention (
        tenant_id TEXT NOT NULL REFERENCES tenants (id),
        kind TEXT NOT NULL,
        retention_ms INTEGER NOT NULL CHECK (retention_ms > 0),
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, kind)
      ) WITHOUT ROWID;
      -- The event-id window: retention removes the ids older than it, oldest first, in small
      -- batches; without this index each batch would scan every event of the tenant.
      CREATE INDEX reading_events_by_ts ON reading_events (tenant_id, ts);
      `,
  },
  {
    version: 9,
    description: 'devices that change: free-form attributes (and their index), deleted devices',
    sql: `
      -- attributes: key -> JSON value. attribute_index: the same as "key=<canonical JSON>" entries
      -- (domain/device-attributes.ts), so "attribute equals" is a membership test like a tag's.
      ALTER TABLE devices ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(attributes));
      ALTER TABLE devices ADD COLUMN attribute_index TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(attribute_index));
      -- A device deleted, until its id is registered again: the consumer dead-letters readings
      -- of it still in the stream, inside its batch transaction (a cache cannot race a delete).
      CREATE TABLE deleted_devices (
        tenant_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        deleted_at INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, device_id)
      ) WITHOUT ROWID;
      `,
  },
  {
    version: 10,
    description: 'notification channels: a webhook row is a WEBHOOK or an OCI Notifications (ONS) channel, with kind and device-tag filters',
    sql: `
      -- ONS: url holds the topic OCID. kinds, tags: JSON arrays; NULL matches every anomaly.
      ALTER TABLE webhooks ADD COLUMN channel TEXT NOT NULL DEFAULT 'WEBHOOK' CHECK (channel IN ('WEBHOOK', 'ONS'));
      ALTER TABLE webhooks ADD COLUMN kinds TEXT CHECK (kinds IS NULL OR json_valid(kinds));
      ALTER TABLE webhooks ADD COLUMN tags TEXT CHECK (tags IS NULL OR json_valid(tags));
    `,
  },
  {
    version: 11,
    description: 'commands to devices over MQTT, with their status',
    sql: `
      CREATE TABLE commands (
        tenant_id TEXT NOT NULL REFERENCES tenants (id),
        id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        name TEXT NOT NULL,
        payload TEXT NOT NULL CHECK (json_valid(payload)),
        status TEXT NOT NULL CHECK (status IN ('PENDING', 'DELIVERED', 'SUCCEEDED', 'FAILED', 'EXPIRED')),
        result TEXT CHECK (result IS NULL OR json_valid(result)),
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, id)
      ) WITHOUT ROWID;
      -- commands(deviceId), newest first, and the PENDING ones delivered when the device connects.
      CREATE INDEX commands_by_device ON commands (tenant_id, device_id, created_at);
      -- The expiry sweep reads only commands still open, by deadline.
      CREATE INDEX commands_open_by_deadline ON commands (expires_at) WHERE status IN ('PENDING', 'DELIVERED');
      `,
  },
  {
    version: 12,
    description: 'how far retention removed the events that subscriptions resume from (expired cursors)',
    sql: `
      -- The highest stream offset of a removed event, per device and partition, written in the
      -- transaction that removes it: a readingAdded cursor before it would miss that event.
      CREATE TABLE pruned_reading_events (
        tenant_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        stream_partition INTEGER NOT NULL,
        max_offset INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, device_id, stream_partition)
      ) WITHOUT ROWID;
      -- The highest seq of a removed (resolved) anomaly, per tenant: an anomalyDetected cursor
      -- before it would miss that anomaly's last state.
      CREATE TABLE pruned_anomalies (
        tenant_id TEXT NOT NULL PRIMARY KEY,
        max_seq INTEGER NOT NULL
      ) WITHOUT ROWID;
      `,
  },
  {
    version: 13,
    description: 'raw readings keyed by an integer series id: series (tenant, device, metric) and samples (series, ts, value)',
    sql: `
      -- One row per series ever stored. Rows are never deleted (not by retention, not by a device
      -- delete): the consumer caches name -> id, and an id must never come to mean another series.
      CREATE TABLE series (
        id INTEGER PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        metric TEXT NOT NULL,
        UNIQUE (tenant_id, device_id, metric)
      );
      -- The raw values, keyed (series, ts): a repeated measurement is stored once, as before, in
      -- about a third of the bytes of a row that repeats the tenant, device and metric names.
      CREATE TABLE samples (
        series_id INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        value REAL NOT NULL,
        PRIMARY KEY (series_id, ts)
      ) WITHOUT ROWID;
      -- Ids in the old key order, then the values in the new key order: both copies append.
      INSERT INTO series (tenant_id, device_id, metric)
        SELECT tenant_id, device_id, metric FROM readings GROUP BY tenant_id, device_id, metric ORDER BY tenant_id, device_id, metric;
      INSERT INTO samples (series_id, ts, value)
        SELECT s.id, r.ts, r.value FROM series s CROSS JOIN readings r ON r.tenant_id = s.tenant_id AND r.device_id = s.device_id AND r.metric = s.metric
        ORDER BY s.id, r.ts;
      DROP TABLE readings;
    `,
  },
  {
    version: 14,
    description: 'event ids: a canonical UUID as its 16 bytes, metrics as [name, value] pairs (sql/event-rows.ts)',
    sql: `
      -- event_id has no declared type, so that a BLOB (a canonical lowercase UUID's 16 bytes) and a
      -- TEXT (any other id) are each stored as they are; the two never compare equal.
      CREATE TABLE reading_events_compact (
        tenant_id TEXT NOT NULL,
        event_id NOT NULL,
        device_id TEXT NOT NULL,
        stream_partition INTEGER NOT NULL,
        stream_offset INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        metrics TEXT NOT NULL,
        PRIMARY KEY (tenant_id, event_id)
      ) WITHOUT ROWID;
      -- '->' keeps each number's JSON text as it was written, so every value reads back exactly.
      INSERT INTO reading_events_compact (tenant_id, event_id, device_id, stream_partition, stream_offset, ts, metrics)
        SELECT e.tenant_id,
               CASE WHEN e.event_id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'
                    THEN unhex(replace(e.event_id, '-', '')) ELSE e.event_id END,
               e.device_id, e.stream_partition, e.stream_offset, e.ts,
               (SELECT json_group_array(json_array(m.value ->> '$.name', m.value -> '$.value') ORDER BY m.key) FROM json_each(e.metrics) m)
        FROM reading_events e;
      DROP TABLE reading_events;
      ALTER TABLE reading_events_compact RENAME TO reading_events;
      CREATE INDEX reading_events_by_position ON reading_events (tenant_id, device_id, stream_partition, stream_offset);
      CREATE INDEX reading_events_by_ts ON reading_events (tenant_id, ts);
    `,
  },
  {
    version: 15,
    description: 'rollups keyed by series id: (series_id, resolution_ms, bucket_start)',
    sql: `
      -- A series whose raw values retention removed may still have rollups: give it its id.
      INSERT OR IGNORE INTO series (tenant_id, device_id, metric)
        SELECT tenant_id, device_id, metric FROM rollups GROUP BY tenant_id, device_id, metric ORDER BY tenant_id, device_id, metric;
      CREATE TABLE series_rollups (
        series_id INTEGER NOT NULL,
        resolution_ms INTEGER NOT NULL,
        bucket_start INTEGER NOT NULL,
        count INTEGER NOT NULL,
        sum REAL NOT NULL,
        sum_sq REAL NOT NULL,
        min REAL NOT NULL,
        max REAL NOT NULL,
        first_ts INTEGER NOT NULL,
        first_value REAL NOT NULL,
        last_ts INTEGER NOT NULL,
        last_value REAL NOT NULL,
        min_ts INTEGER,
        max_ts INTEGER,
        PRIMARY KEY (series_id, resolution_ms, bucket_start)
      ) WITHOUT ROWID;
      INSERT INTO series_rollups (series_id, resolution_ms, bucket_start, count, sum, sum_sq, min, max, first_ts, first_value, last_ts, last_value, min_ts, max_ts)
        SELECT s.id, r.resolution_ms, r.bucket_start, r.count, r.sum, r.sum_sq, r.min, r.max, r.first_ts, r.first_value, r.last_ts, r.last_value, r.min_ts, r.max_ts
        FROM series s CROSS JOIN rollups r ON r.tenant_id = s.tenant_id AND r.device_id = s.device_id AND r.metric = s.metric
        ORDER BY s.id, r.resolution_ms, r.bucket_start;
      DROP TABLE rollups;
      ALTER TABLE series_rollups RENAME TO rollups;
    `,
  },
  {
    version: 16,
    description: 'deleted devices whose raw values, rollups and event ids are still being removed in the background',
    sql: `
      -- 1 from deleteDevice(keepData: false) until DeletedDeviceDataRemover has removed the last
      -- row; registering the id again is refused meanwhile.
      ALTER TABLE deleted_devices ADD COLUMN removing_data INTEGER NOT NULL DEFAULT 0;
    `,
  },
];
