import fc from 'fast-check';
import { checkReading, DEVICE_ID_PATTERN, EVENT_ID_PATTERN, METRIC_NAME_PATTERN } from '../../src/domain/validation';
import type { ReadingInput } from '../../src/domain/reading';
import { parseIngestItem } from '../../src/ingest/http-envelope';
import { ReadingsDocument, RegisterDeviceDocument } from '../generated/graphql';
import { allNodes } from '../support/paging';
import { eventually, startTestServer, type TestServer } from '../support/server';

const RULES = { maxMetricsPerReading: 8, maxFutureSkewMs: 300_000, maxAgeMs: 365 * 86_400_000 };
const NOW = Date.parse('2026-11-21T12:00:00Z');

/** Values near and far from valid: every JSON-ish shape, plus plausible readings with one thing off. */
const anyValue = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 1),
  fc.string(),
  fc.constantFrom(null, undefined, true, '12', '1e400'),
  fc.jsonValue(),
);
const deviceId = fc.oneof(fc.constantFrom('fz-1', 'fz-2', 'ghost', '', ' fz-1', 'fz-1\u0000', 'é', 'x'.repeat(129)), fc.string(), anyValue);
const timestamp = fc.oneof(
  fc.integer({ min: NOW - 400 * 86_400_000, max: NOW + 86_400_000 }),
  fc.integer({ min: NOW - 400 * 86_400_000, max: NOW + 86_400_000 }).map((ms) => new Date(ms).toISOString()),
  fc.constantFrom('2026-11-21', '2026-11-21T12:00:00', 'yesterday', '', '9'.repeat(30), 8.64e15 + 1, 1.5),
  anyValue,
);
const metricName = fc.oneof(fc.constantFrom('temp', 'v', '_x.y', '1bad', 'a b', 'm'.repeat(65), ''), fc.string());
const metrics = fc.oneof(
  fc.array(fc.record({ name: metricName, value: anyValue }), { maxLength: 10 }),
  fc.dictionary(metricName, anyValue, { maxKeys: 10 }),
  anyValue,
);
const plainItem = fc.record({ deviceId, timestamp, metrics, eventId: fc.option(fc.oneof(fc.string(), anyValue), { nil: undefined }) }, { requiredKeys: [] });
const cloudEvent = fc.record(
  {
    specversion: fc.constantFrom('1.0', '0.3', 1),
    id: fc.oneof(fc.string(), anyValue),
    source: fc.oneof(fc.constantFrom('/devices/fz-1', '/devices/ghost', '/gateways/g'), fc.string()),
    subject: fc.oneof(deviceId, fc.constant(undefined)),
    type: fc.constantFrom('io.telemetry.reading.v1', 'other', ''),
    time: timestamp,
    data: fc.oneof(fc.record({ metrics }), anyValue),
  },
  { requiredKeys: ['specversion'] },
);
/** Mostly valid readings for the registered devices, with now and then one odd field. */
const nearlyValid = fc.record({
  deviceId: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('fz-1', 'fz-2') }, { weight: 1, arbitrary: deviceId }),
  timestamp: fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: -3_600_000, max: 0 }).map((offset) => new Date(Date.now() + offset).toISOString()) },
    { weight: 1, arbitrary: timestamp },
  ),
  metrics: fc.oneof(
    {
      weight: 8,
      arbitrary: fc.dictionary(fc.constantFrom('temp', 'v', '_x.y'), fc.double({ noNaN: true, noDefaultInfinity: true }), { minKeys: 1, maxKeys: 3 }),
    },
    { weight: 1, arbitrary: metrics },
  ),
});
const item = fc.oneof(nearlyValid, plainItem, cloudEvent, anyValue);

describe('fuzzing ingest', () => {
  it('validation never throws, and whatever it accepts is a valid reading', () => {
    fc.assert(
      fc.property(item, fc.boolean(), (raw, cloudEventsOnly) => {
        const parsed = parseIngestItem(raw, 'io.telemetry.reading.v1', cloudEventsOnly);
        if (!parsed.ok) return;
        const rejection = checkReading(parsed.input, RULES, NOW);
        if (rejection) {
          expect(rejection.message.length).toBeGreaterThan(0);
          return;
        }
        const reading: ReadingInput = parsed.input;
        expect(DEVICE_ID_PATTERN.test(reading.deviceId)).toBe(true);
        expect(Number.isInteger(reading.timestamp)).toBe(true);
        expect(reading.timestamp).toBeGreaterThanOrEqual(NOW - RULES.maxAgeMs);
        expect(reading.timestamp).toBeLessThanOrEqual(NOW + RULES.maxFutureSkewMs);
        expect(reading.metrics.length).toBeGreaterThan(0);
        expect(reading.metrics.length).toBeLessThanOrEqual(RULES.maxMetricsPerReading);
        expect(new Set(reading.metrics.map((m) => m.name)).size).toBe(reading.metrics.length);
        for (const m of reading.metrics) {
          expect(METRIC_NAME_PATTERN.test(m.name)).toBe(true);
          expect(Number.isFinite(m.value)).toBe(true);
        }
        if (reading.eventId !== undefined && reading.eventId !== null) expect(EVENT_ID_PATTERN.test(reading.eventId)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  describe('POST /ingest', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ TELEMETRY_MAX_BATCH_SIZE: '20', TELEMETRY_MAX_METRICS_PER_READING: '8' });
      for (const id of ['fz-1', 'fz-2']) await server.ok(RegisterDeviceDocument, { input: { id } });
    });
    afterAll(() => server.close());

    it('answers every body with a client status, never crashes, and stores only valid rows', async () => {
      const body = fc.oneof(
        item.map((value) => (JSON.stringify(value) as string | undefined) ?? 'null'), // undefined for `undefined`
        fc.array(item, { maxLength: 25 }).map((values) => JSON.stringify(values)),
        fc.string(),
        fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
      );
      const contentType = fc.constantFrom('application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json', 'text/plain', '');
      const statuses = new Set<number>();
      await fc.assert(
        fc.asyncProperty(body, contentType, async (payload, type) => {
          const response = await fetch(`${server.baseUrl}/ingest`, {
            method: 'POST',
            headers: { authorization: `Bearer ${server.adminKey}`, ...(type ? { 'content-type': type } : {}) },
            body: payload,
          });
          statuses.add(response.status);
          const text = await response.text();
          expect([202, 400, 413, 415, 422]).toContain(response.status);
          expect(() => JSON.parse(text)).not.toThrow();
        }),
        { numRuns: 300 },
      );
      // Some bodies got through, others did not: the fuzzer reached both sides.
      expect(statuses.has(202)).toBe(true);
      expect(statuses.has(422)).toBe(true);
      expect(statuses.has(400)).toBe(true);

      // Each device's readings are applied in order: once a sentinel sent after the fuzz is
      // stored, everything the fuzz got accepted for that device is stored too.
      for (const id of ['fz-1', 'fz-2']) {
        const sentinel = await fetch(`${server.baseUrl}/ingest`, {
          method: 'POST',
          headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ deviceId: id, timestamp: Date.now() - 1000, metrics: { sentinel: 1 } }),
        });
        expect(sentinel.status).toBe(202);
        await eventually(
          async () => ((await server.ok(ReadingsDocument, { deviceId: id, metric: 'sentinel', first: 1 })).readings.edges.length === 1 ? true : undefined),
          15_000,
          `${id}'s sentinel stored`,
        );
        for (const name of ['temp', 'v', '_x.y']) {
          const values = await allNodes((after) =>
            server.ok(ReadingsDocument, { deviceId: id, metric: name, first: 1000, after }).then((data) => data.readings),
          );
          for (const node of values) expect(Number.isFinite(node.value)).toBe(true);
        }
      }
    });
  });
});
