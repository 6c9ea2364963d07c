/**
 * Versioned schema of the Oracle store (Autonomous Database, 19c and later). Append new
 * versions; never edit a shipped one. Each version is a list of statements (Oracle runs DDL
 * one statement per call). Timestamps are UTC milliseconds in NUMBER(15) columns, as in the
 * embedded store, so both backends share the domain code.
 */
export interface OracleMigration {
  readonly version: number;
  readonly description: string;
  readonly statements: readonly string[];
}

export const ORACLE_MIGRATIONS: readonly OracleMigration[] = [
  {
    version: 1,
    description: 'the whole schema: tenants, keys, devices, readings (interval-partitioned by day), events, rollups, anomalies, webhooks',
    statements: [
      `CREATE TABLE tenants (
         id VARCHAR2(64) PRIMARY KEY,
         name VARCHAR2(200) NOT NULL,
         created_at NUMBER(15) NOT NULL)`,
      `CREATE TABLE api_keys (
         id VARCHAR2(64) PRIMARY KEY,
         tenant_id VARCHAR2(64) NOT NULL REFERENCES tenants (id),
         role VARCHAR2(10) NOT NULL CHECK (role IN ('device', 'reader', 'admin')),
         device_id VARCHAR2(128),
         label VARCHAR2(200) NOT NULL,
         secret_hash CHAR(64) NOT NULL CONSTRAINT api_keys_secret_uq UNIQUE,
         created_at NUMBER(15) NOT NULL,
         last_used_at NUMBER(15),
         revoked_at NUMBER(15))`,
      `CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at)`,
      `CREATE TABLE devices (
         tenant_id VARCHAR2(64) NOT NULL REFERENCES tenants (id),
         id VARCHAR2(128) NOT NULL,
         name VARCHAR2(200) NOT NULL,
         tags VARCHAR2(4000) DEFAULT '[]' NOT NULL CHECK (tags IS JSON),
         created_at NUMBER(15) NOT NULL,
         status VARCHAR2(16) DEFAULT 'NEVER_SEEN' NOT NULL CHECK (status IN ('NEVER_SEEN', 'ONLINE', 'OFFLINE', 'DECOMMISSIONED')),
         last_seen_at NUMBER(15),
         heartbeat_timeout_ms NUMBER(12),
         CONSTRAINT devices_pk PRIMARY KEY (tenant_id, id))`,
      `CREATE INDEX devices_online_by_last_seen ON devices (status, last_seen_at)`,
      // One partition per day of reading time; the primary key is a local index (it holds ts).
      `CREATE TABLE readings (
         tenant_id VARCHAR2(64) NOT NULL,
         device_id VARCHAR2(128) NOT NULL,
         metric VARCHAR2(64) NOT NULL,
         ts NUMBER(15) NOT NULL,
         value BINARY_DOUBLE NOT NULL,
         CONSTRAINT readings_pk PRIMARY KEY (tenant_id, device_id, metric, ts) USING INDEX LOCAL)
       PARTITION BY RANGE (ts) INTERVAL (86400000) (PARTITION readings_before_1970 VALUES LESS THAN (0))`,
      `CREATE TABLE reading_events (
         tenant_id VARCHAR2(64) NOT NULL,
         event_id VARCHAR2(128) NOT NULL,
         device_id VARCHAR2(128) NOT NULL,
         stream_partition NUMBER(5) NOT NULL,
         stream_offset NUMBER(19) NOT NULL,
         ts NUMBER(15) NOT NULL,
         metrics CLOB NOT NULL CHECK (metrics IS JSON),
         CONSTRAINT reading_events_pk PRIMARY KEY (tenant_id, event_id))`,
      `CREATE INDEX reading_events_by_position ON reading_events (tenant_id, device_id, stream_partition, stream_offset)`,
      `CREATE TABLE latest_readings (
         tenant_id VARCHAR2(64) NOT NULL,
         device_id VARCHAR2(128) NOT NULL,
         metric VARCHAR2(64) NOT NULL,
         ts NUMBER(15) NOT NULL,
         value BINARY_DOUBLE NOT NULL,
         CONSTRAINT latest_readings_pk PRIMARY KEY (tenant_id, device_id, metric))`,
      `CREATE TABLE stream_watermarks (
         source VARCHAR2(64) NOT NULL,
         stream_partition NUMBER(5) NOT NULL,
         applied_offset NUMBER(19) NOT NULL,
         updated_at NUMBER(15) NOT NULL,
         CONSTRAINT stream_watermarks_pk PRIMARY KEY (source, stream_partition))`,
      `CREATE TABLE dead_letters (
         id NUMBER GENERATED ALWAYS AS IDENTITY (ORDER) PRIMARY KEY,
         tenant_id VARCHAR2(64),
         topic VARCHAR2(32) NOT NULL,
         stream_partition NUMBER(5) NOT NULL,
         stream_offset NUMBER(19) NOT NULL,
         reason VARCHAR2(4000) NOT NULL,
         payload CLOB NOT NULL,
         created_at NUMBER(15) NOT NULL,
         replayed_at NUMBER(15))`,
      `CREATE INDEX dead_letters_by_tenant ON dead_letters (tenant_id, id)`,
      `CREATE TABLE rollups (
         tenant_id VARCHAR2(64) NOT NULL,
         device_id VARCHAR2(128) NOT NULL,
         metric VARCHAR2(64) NOT NULL,
         resolution_ms NUMBER(9) NOT NULL,
         bucket_start NUMBER(15) NOT NULL,
         cnt NUMBER(12) NOT NULL,
         sum_value BINARY_DOUBLE NOT NULL,
         sum_sq BINARY_DOUBLE NOT NULL,
         min_value BINARY_DOUBLE NOT NULL,
         max_value BINARY_DOUBLE NOT NULL,
         first_ts NUMBER(15) NOT NULL,
         first_value BINARY_DOUBLE NOT NULL,
         last_ts NUMBER(15) NOT NULL,
         last_value BINARY_DOUBLE NOT NULL,
         CONSTRAINT rollups_pk PRIMARY KEY (tenant_id, device_id, metric, resolution_ms, bucket_start))`,
      `CREATE TABLE anomaly_rules (
         tenant_id VARCHAR2(64) NOT NULL REFERENCES tenants (id),
         id VARCHAR2(64) NOT NULL,
         scope_kind VARCHAR2(8) NOT NULL CHECK (scope_kind IN ('tenant', 'device', 'tag')),
         scope_value VARCHAR2(128) NOT NULL,
         metric VARCHAR2(64) NOT NULL,
         zscore_threshold BINARY_DOUBLE,
         zscore_window NUMBER(6),
         zscore_warmup NUMBER(9),
         min_value BINARY_DOUBLE,
         max_value BINARY_DOUBLE,
         max_rate_per_second BINARY_DOUBLE,
         severity VARCHAR2(8) NOT NULL CHECK (severity IN ('INFO', 'WARNING', 'CRITICAL')),
         updated_at NUMBER(15) NOT NULL,
         CONSTRAINT anomaly_rules_pk PRIMARY KEY (tenant_id, id),
         CONSTRAINT anomaly_rules_scope_uq UNIQUE (tenant_id, scope_kind, scope_value, metric))`,
      `CREATE TABLE detector_state (
         tenant_id VARCHAR2(64) NOT NULL,
         device_id VARCHAR2(128) NOT NULL,
         metric VARCHAR2(64) NOT NULL,
         state CLOB NOT NULL CHECK (state IS JSON),
         CONSTRAINT detector_state_pk PRIMARY KEY (tenant_id, device_id, metric))`,
      // ORDER: numbers are handed out in request order across RAC instances (Autonomous
      // Database is one). Commit order comes from the anomaly_sequencer lock (version 2).
      `CREATE TABLE anomalies (
         seq NUMBER GENERATED ALWAYS AS IDENTITY (ORDER) PRIMARY KEY,
         tenant_id VARCHAR2(64) NOT NULL,
         device_id VARCHAR2(128) NOT NULL,
         metric VARCHAR2(64),
         kind VARCHAR2(16) NOT NULL CHECK (kind IN ('ZSCORE', 'THRESHOLD', 'RATE_OF_CHANGE', 'SILENCE')),
         severity VARCHAR2(8) NOT NULL CHECK (severity IN ('INFO', 'WARNING', 'CRITICAL')),
         score BINARY_DOUBLE NOT NULL,
         value BINARY_DOUBLE,
         expected_min BINARY_DOUBLE,
         expected_max BINARY_DOUBLE,
         ts NUMBER(15) NOT NULL,
         detected_at NUMBER(15) NOT NULL,
         status VARCHAR2(12) DEFAULT 'OPEN' NOT NULL CHECK (status IN ('OPEN', 'ACKNOWLEDGED', 'RESOLVED')),
         acknowledged_by VARCHAR2(200),
         acknowledged_at NUMBER(15),
         resolved_by VARCHAR2(200),
         resolved_at NUMBER(15))`,
      `CREATE INDEX anomalies_by_tenant ON anomalies (tenant_id, seq)`,
      `CREATE INDEX anomalies_by_device ON anomalies (tenant_id, device_id, seq)`,
      `CREATE TABLE webhooks (
         tenant_id VARCHAR2(64) NOT NULL REFERENCES tenants (id),
         id VARCHAR2(64) NOT NULL,
         url VARCHAR2(2048) NOT NULL,
         min_severity VARCHAR2(8) NOT NULL CHECK (min_severity IN ('INFO', 'WARNING', 'CRITICAL')),
         secret VARCHAR2(128) NOT NULL,
         created_at NUMBER(15) NOT NULL,
         CONSTRAINT webhooks_pk PRIMARY KEY (tenant_id, id))`,
      `CREATE TABLE webhook_deliveries (
         id NUMBER GENERATED ALWAYS AS IDENTITY (ORDER) PRIMARY KEY,
         tenant_id VARCHAR2(64) NOT NULL,
         webhook_id VARCHAR2(64) NOT NULL,
         anomaly_seq NUMBER NOT NULL,
         status VARCHAR2(10) DEFAULT 'PENDING' NOT NULL CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
         attempts NUMBER(4) DEFAULT 0 NOT NULL,
         next_attempt_at NUMBER(15) NOT NULL,
         last_status_code NUMBER(3),
         last_error VARCHAR2(1000),
         delivered_at NUMBER(15),
         created_at NUMBER(15) NOT NULL,
         CONSTRAINT webhook_deliveries_uq UNIQUE (webhook_id, anomaly_seq))`,
      `CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at)`,
      `CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (tenant_id, webhook_id, id)`,
      `CREATE TABLE fanout_progress (
         name VARCHAR2(64) PRIMARY KEY,
         position NUMBER(19) NOT NULL)`,
    ],
  },
  {
    version: 2,
    description: 'anomaly_sequencer: one row that every transaction inserting anomalies locks first, so anomaly seq grows in commit order',
    statements: [
      // Without it two consumers could commit seq 11 before seq 10, and a subscriber resuming
      // "after 11" would never see 10. The lock is held only by transactions that insert anomalies.
      `CREATE TABLE anomaly_sequencer (id NUMBER(1) PRIMARY KEY CHECK (id = 1))`,
      `INSERT INTO anomaly_sequencer (id) VALUES (1)`,
    ],
  },
  {
    version: 3,
    description: 'rollups keep when their min and max happened (chart series from rollups)',
    // NULL in rows written before: a series over them reads raw readings instead.
    statements: [`ALTER TABLE rollups ADD (min_ts NUMBER(15), max_ts NUMBER(15))`],
  },
  {
    version: 4,
    description: "alarm lifecycle: anomalies keep an id across updates, count occurrences, and clear after a rule's clearAfter",
    statements: [
      // id: the anomaly's identity, the seq it was first stored with; each change the consumer
      // makes stores the anomaly again under a new seq (subscribers resume by seq).
      `ALTER TABLE anomalies ADD (id NUMBER, occurrences NUMBER(12) DEFAULT 1 NOT NULL, last_value BINARY_DOUBLE, last_ts NUMBER(15))`,
      `UPDATE anomalies SET id = seq, last_value = value, last_ts = ts`,
      `CREATE UNIQUE INDEX anomalies_by_id ON anomalies (id)`,
      `CREATE INDEX anomalies_by_series ON anomalies (tenant_id, device_id, metric, status)`,
      // NULL: the service default (TELEMETRY_ANOMALY_CLEAR_AFTER_SECONDS).
      `ALTER TABLE anomaly_rules ADD (clear_after_ms NUMBER(12))`,
    ],
  },
  {
    version: 5,
    description: 'retention: per-tenant settings, and event ids found by timestamp',
    statements: [
      // One row per setting a tenant chose; a kind without a row follows the service default.
      `CREATE TABLE tenant_retention (
         tenant_id VARCHAR2(64) NOT NULL REFERENCES tenants (id),
         kind VARCHAR2(32) NOT NULL,
         retention_ms NUMBER(15) NOT NULL CHECK (retention_ms > 0),
         updated_at NUMBER(15) NOT NULL,
         CONSTRAINT tenant_retention_pk PRIMARY KEY (tenant_id, kind))`,
      // The event-id window is removed oldest first, in small batches: without this index each
      // batch would scan every event of the tenant.
      `CREATE INDEX reading_events_by_ts ON reading_events (tenant_id, ts)`,
    ],
  },
  {
    version: 6,
    description: 'devices that change: free-form attributes (and their index), deleted devices',
    statements: [
      // attribute_index: "key=<canonical JSON>" entries (domain/device-attributes.ts), so
      // "attribute equals" is a JSON_EXISTS membership test like a tag's, with no dynamic path.
      `ALTER TABLE devices ADD (attributes VARCHAR2(4000) DEFAULT '{}' NOT NULL CHECK (attributes IS JSON),
                               attribute_index CLOB DEFAULT '[]' NOT NULL CHECK (attribute_index IS JSON))`,
      // A device deleted, until its id is registered again: the consumer dead-letters readings
      // of it still in the stream, inside its batch transaction.
      `CREATE TABLE deleted_devices (
         tenant_id VARCHAR2(64) NOT NULL,
         device_id VARCHAR2(128) NOT NULL,
         deleted_at NUMBER(15) NOT NULL,
         CONSTRAINT deleted_devices_pk PRIMARY KEY (tenant_id, device_id))`,
    ],
  },
  {
    version: 7,
    description: 'notification channels: a webhook row is a WEBHOOK or an OCI Notifications (ONS) channel, with kind and device-tag filters',
    // ONS: url holds the topic OCID. kinds, tags: JSON arrays; NULL matches every anomaly.
    statements: [
      `ALTER TABLE webhooks ADD (channel VARCHAR2(16) DEFAULT 'WEBHOOK' NOT NULL CHECK (channel IN ('WEBHOOK', 'ONS')),
        kinds VARCHAR2(4000) CHECK (kinds IS JSON), tags VARCHAR2(4000) CHECK (tags IS JSON))`,
    ],
  },
  {
    version: 8,
    description: 'commands to devices over MQTT, with their status',
    statements: [
      `CREATE TABLE commands (
         tenant_id VARCHAR2(64) NOT NULL,
         id VARCHAR2(64) NOT NULL,
         device_id VARCHAR2(128) NOT NULL,
         name VARCHAR2(64) NOT NULL,
         payload CLOB NOT NULL CHECK (payload IS JSON),
         status VARCHAR2(16) NOT NULL CHECK (status IN ('PENDING', 'DELIVERED', 'SUCCEEDED', 'FAILED', 'EXPIRED')),
         result CLOB CHECK (result IS JSON),
         created_at NUMBER(15) NOT NULL,
         expires_at NUMBER(15) NOT NULL,
         updated_at NUMBER(15) NOT NULL,
         CONSTRAINT commands_pk PRIMARY KEY (tenant_id, id))`,
      // commands(deviceId), newest first, and the PENDING ones delivered when the device connects.
      'CREATE INDEX commands_by_device ON commands (tenant_id, device_id, created_at)',
      // The expiry sweep: open commands by deadline (NULL for final ones keeps them out of the index).
      "CREATE INDEX commands_open_by_deadline ON commands (CASE WHEN status IN ('PENDING', 'DELIVERED') THEN expires_at END)",
    ],
  },
  {
    version: 9,
    description: 'how far retention removed the events that subscriptions resume from (expired cursors)',
    statements: [
      // The highest stream offset of a removed event, per device and partition, written in the
      // transaction that removes it: a readingAdded cursor before it would miss that event.
      `CREATE TABLE pruned_reading_events (
         tenant_id VARCHAR2(64) NOT NULL,
         device_id VARCHAR2(128) NOT NULL,
         stream_partition NUMBER(5) NOT NULL,
         max_offset NUMBER(19) NOT NULL,
         CONSTRAINT pruned_reading_events_pk PRIMARY KEY (tenant_id, device_id, stream_partition))`,
      // The highest seq of a removed (resolved) anomaly, per tenant: an anomalyDetected cursor
      // before it would miss that anomaly's last state.
      `CREATE TABLE pruned_anomalies (
         tenant_id VARCHAR2(64) NOT NULL,
         max_seq NUMBER(19) NOT NULL,
         CONSTRAINT pruned_anomalies_pk PRIMARY KEY (tenant_id))`,
    ],
  },
  {
    version: 10,
    description: 'footprint: Advanced Row Compression for the raw readings (new daily partitions), rollups and event ids',
    // The consumer writes these tables by MERGE (conventional DML, rows arriving a batch at a
    // time, rollups updated in place). Advanced Row Compression compresses blocks written by any
    // DML, and Autonomous Database honours it on both workload types: Transaction Processing
    // compresses nothing unless asked, and Data Warehouse defaults to Hybrid Columnar
    // Compression, which Oracle advises against for tables changed by UPDATE and MERGE (changed
    // rows lose their compression and the DML slows). Only blocks written from now on are
    // compressed: existing partitions keep their format until moved (docs/STORAGE.md), and
    // retention drops them in time.
    statements: [
      // Interval partitions take the table's default attributes when the first row of a day creates them.
      'ALTER TABLE readings MODIFY DEFAULT ATTRIBUTES ROW STORE COMPRESS ADVANCED',
      'ALTER TABLE rollups ROW STORE COMPRESS ADVANCED',
      'ALTER TABLE reading_events ROW STORE COMPRESS ADVANCED',
    ],
  },
  {
    version: 11,
    description: 'deleted devices whose raw values, rollups and event ids are still being removed in the background',
    statements: [
      // 1 from deleteDevice(keepData: false) until DeletedDeviceDataRemover has removed the last
      // row; registering the id again is refused meanwhile.
      'ALTER TABLE deleted_devices ADD (removing_data NUMBER(1) DEFAULT 0 NOT NULL)',
    ],
  },
];
