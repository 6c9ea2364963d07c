import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { applyBatch } from '../../src/consumers/pipeline/apply-batch';
import { databaseAtVersion } from '../support/sqlite-at-version';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import { encodeMetrics, eventIdOf, eventKey } from '../../src/store/sqlite/sql/event-rows';
import { newDataDir } from '../support/server';

/**
 * Event rows in their compact form (migration 14): a canonical UUID id as 16 bytes, any other
 * id as its text, metrics as [name, value] pairs; every id and value reads back as it was.
 */

const LOWER = '0190a3b4-c5d6-7e8f-9a0b-1c2d3e4f5a6b';
const UPPER = LOWER.toUpperCase();
const OTHER = 'gateway-7:reading/42';
const BASE = Date.parse('2026-06-01T00:00:00Z');
// Doubles whose shortest JSON text is long, tiny, huge, negative, whole.
const VALUES = [0.1 + 0.2, 1e-300, 1.7976931348623157e308, -273.15, 21, 123456789.12345679, 5e-324];

describe('event ids', () => {
  it('map a canonical lowercase UUID to its 16 bytes and back, and leave every other id as text', () => {
    expect(eventKey(LOWER)).toEqual(Buffer.from(LOWER.replaceAll('-', ''), 'hex'));
    expect(eventIdOf(eventKey(LOWER))).toBe(LOWER);
    for (const id of [UPPER, OTHER, `${LOWER}x`, LOWER.replaceAll('-', '')]) expect(eventKey(id)).toBe(id);
  });

  it('take the 16-byte form for exactly the ids the canonical pattern matches', () => {
    const canonical = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    // Every one-character change of a canonical id: each position, each character that could
    // be mistaken for a digit or a dash (neighbours of the ranges, upper case, non-ASCII).
    const replacements = ['0', '9', 'a', 'f', 'g', 'A', 'F', '-', '/', ':', '`', '\u00e9', '\u0660', '\uff10'];
    let checked = 0;
    for (let i = 0; i < LOWER.length; i++) {
      for (const character of replacements) {
        const id = LOWER.slice(0, i) + character + LOWER.slice(i + 1);
        const key = eventKey(id);
        if (canonical.test(id)) {
          expect(key).toEqual(Buffer.from(id.replaceAll('-', ''), 'hex'));
          expect(eventIdOf(key)).toBe(id);
        } else expect(key).toBe(id);
        checked++;
      }
    }
    expect(checked).toBe(36 * replacements.length);
  });
});

describe('event metrics as stored', () => {
  it('are the text JSON.stringify gives for [name, value] pairs, whatever the names and values', () => {
    const names = ['temperature', 'say "hi"', 'back\\slash', 'tab\there', 'caf\u00e9', '\u{1f321}', '', '\u2028'];
    const values = [...VALUES, -0, NaN, Infinity, -Infinity];
    const cases = [
      [],
      ...names.map((name, i) => [{ name, value: values[i % values.length]! }]),
      names.map((name, i) => ({ name, value: values[values.length - 1 - i]! })),
    ];
    for (const metrics of cases) expect(encodeMetrics(metrics)).toBe(JSON.stringify(metrics.map((m) => [m.name, m.value])));
  });
});

describe('reading events stored before migration 14 (text ids, metrics as objects)', () => {
  it('read back with the same ids and exact values after it, and event-id deduplication still holds', async () => {
    const dir = newDataDir();
    const file = path.join(dir, 'telemetry.db');
    const old = databaseAtVersion(file, 13);
    old.prepare("INSERT INTO tenants (id, name, created_at) VALUES ('t', 't', 0)").run();
    old.prepare("INSERT INTO devices (tenant_id, id, name, created_at) VALUES ('t', 'd', 'd', 0)").run();
    const insert = old.prepare(
      "INSERT INTO reading_events (tenant_id, event_id, device_id, stream_partition, stream_offset, ts, metrics) VALUES ('t', ?, 'd', 0, ?, ?, ?)",
    );
    const events = [
      { eventId: LOWER, metrics: VALUES.map((value, i) => ({ name: `m${i}`, value })) },
      { eventId: UPPER, metrics: [{ name: 'temp', value: 20.5 }] },
      { eventId: OTHER, metrics: [] },
    ];
    // As the build before wrote them: JSON.stringify of the metric objects.
    events.forEach((e, offset) => insert.run(e.eventId, offset, BASE + offset, JSON.stringify(e.metrics)));
    old.prepare("INSERT INTO stream_watermarks VALUES ('readings', 0, 2, 0)").run();
    old.close();

    const store = new SqliteStore({ file });
    try {
      const expected = events.map((e, offset) => ({
        tenantId: 't',
        deviceId: 'd',
        partition: 0,
        offset,
        eventId: e.eventId,
        timestamp: BASE + offset,
        metrics: e.metrics,
      }));
      expect(await store.readingEventsByIds('t', [OTHER, LOWER, UPPER, LOWER])).toEqual(expect.arrayContaining(expected));
      expect(await store.readingEventsByIds('t', [OTHER, LOWER, UPPER, LOWER])).toHaveLength(3);
      expect(await store.readingEventsAfter({ tenantId: 't', deviceIds: ['d'], after: new Map([[0, -1]]), limit: 10 })).toEqual(expected);
      const db = new Database(file, { readonly: true });
      expect(db.prepare('SELECT typeof(event_id) FROM reading_events ORDER BY stream_offset').pluck().all()).toEqual(['blob', 'text', 'text']);
      db.close();

      // Each stored id again is a duplicate, whichever way it is stored; a new UUID is stored.
      const fresh = '0190a3b4-c5d6-7e8f-9a0b-1c2d3e4f5a6c';
      const reading = (eventId: string, offset: number) => ({
        tenantId: 't',
        deviceId: 'd',
        eventId,
        timestamp: BASE + 100 + offset,
        metrics: [{ name: 'temp', value: offset }],
        offset,
      });
      const result = await applyBatch(store, {
        source: 'readings',
        partitions: [{ partition: 0, lastOffset: 6, readings: [reading(LOWER, 3), reading(UPPER, 4), reading(OTHER, 5), reading(fresh, 6)], deadLetters: [] }],
      });
      expect(result.persisted.map((r) => r.eventId)).toEqual([fresh]);
      expect((await store.readingEventsByIds('t', [fresh]))[0]).toMatchObject({ eventId: fresh, metrics: [{ name: 'temp', value: 6 }] });
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
