import fc from 'fast-check';
import { envelopeEncoder, fromEnvelope, toEnvelope } from '../../src/domain/cloud-event';
import { decodeCursor, decodePageCursor, encodeCursor, encodePageCursor } from '../../src/domain/cursor';
import { backoffDelay, retry } from '../../src/domain/retry';
import { BackendError } from '../../src/domain/errors';
import type { Reading } from '../../src/domain/reading';
import { utcText } from '../../src/domain/utc-text';

const reading: Reading = {
  tenantId: 't1',
  deviceId: 'dev-1',
  eventId: 'e-1',
  timestamp: Date.parse('2026-01-01T00:00:00Z'),
  metrics: [{ name: 'temp', value: 21.5 }],
};

describe('CloudEvents envelope', () => {
  it('carries a reading as a structured CloudEvent 1.0 and back', () => {
    const envelope = toEnvelope(reading, 'io.telemetry');
    expect(envelope).toMatchObject({
      specversion: '1.0',
      id: 'e-1',
      source: '/devices/dev-1',
      type: 'io.telemetry.reading.v1',
      subject: 'dev-1',
      time: '2026-01-01T00:00:00.000Z',
      tenantid: 't1',
      datacontenttype: 'application/json',
    });
    expect(fromEnvelope(JSON.stringify(envelope), 'io.telemetry')).toEqual({ ok: true, reading });
  });

  it.each([
    ['not JSON', '{', /not valid JSON/],
    ['another spec version', JSON.stringify({ ...toEnvelope(reading, 'io.telemetry'), specversion: '0.3' }), /specversion/],
    ['another event type', JSON.stringify(toEnvelope(reading, 'com.other')), /unexpected event type/],
    ['no tenant', JSON.stringify({ ...toEnvelope(reading, 'io.telemetry'), tenantid: undefined }), /tenantid/],
    [
      'a non-finite value',
      JSON.stringify(toEnvelope({ ...reading, metrics: [{ name: 'x', value: 1 }] }, 'io.telemetry')).replace('"value":1', '"value":"1"'),
      /invalid metric/,
    ],
  ])('refuses %s with a reason (dead letter)', (_label, text, reason) => {
    const decoded = fromEnvelope(text, 'io.telemetry');
    expect(decoded.ok).toBe(false);
    expect(!decoded.ok && decoded.reason).toMatch(reason);
  });
});

describe('the envelope encoder', () => {
  // Any string, lone surrogates and control characters included, and any number.
  const awkward = fc.array(fc.constantFrom('"', '\\', '\ud800', '\udfff', '\u2028', '\n', '\x7f', 'é', 'a'), { maxLength: 6 }).map((parts) => parts.join(''));
  const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), awkward, fc.stringMatching(/^[A-Za-z0-9._:-]{1,20}$/));
  const instant = fc.oneof(fc.integer({ min: -8.64e15, max: 8.64e15 }), fc.integer({ min: 1.5e12, max: 2e12 }));
  const readings = fc.record({
    tenantId: text,
    deviceId: text,
    eventId: text,
    timestamp: instant,
    metrics: fc.array(fc.record({ name: text, value: fc.double() }), { minLength: 1, maxLength: 4 }),
  });

  // A trace context as a propagator writes it, or any text (the encoder must not care).
  const traces = fc.option(
    fc.record(
      { traceparent: fc.oneof(fc.constant('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'), text), tracestate: fc.option(text, { nil: undefined }) },
      { requiredKeys: ['traceparent'] },
    ),
    { nil: undefined },
  );

  it('writes exactly the JSON text of the envelope, for any reading, trace context and origin', () => {
    for (const prefix of ['io.telemetry', 'com.example "quoted" \\ é']) {
      const encode = envelopeEncoder(prefix);
      fc.assert(
        fc.property(readings, traces, fc.constantFrom(undefined, 'import' as const), (r, trace, origin) => {
          expect(encode(r, trace, origin)).toBe(JSON.stringify(toEnvelope(r, prefix, trace, origin)));
        }),
        { numRuns: 2000 },
      );
    }
  });

  it('is decoded back to the reading', () => {
    expect(fromEnvelope(envelopeEncoder('io.telemetry')(reading), 'io.telemetry')).toEqual({ ok: true, reading });
  });

  it('marks imported history with the telemetryorigin extension, and ignores an origin it does not know', () => {
    const text = envelopeEncoder('io.telemetry')(reading, undefined, 'import');
    expect(JSON.parse(text)).toMatchObject({ telemetryorigin: 'import' });
    expect(fromEnvelope(text, 'io.telemetry')).toEqual({ ok: true, reading, origin: 'import' });
    const other = JSON.stringify({ ...JSON.parse(text), telemetryorigin: 'elsewhere' });
    expect(fromEnvelope(other, 'io.telemetry')).toEqual({ ok: true, reading });
  });

  it('carries the trace context as the CloudEvents distributed-tracing extension, and a message without it still decodes', () => {
    const trace = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'apm=1' };
    const text = envelopeEncoder('io.telemetry')(reading, trace);
    expect(JSON.parse(text)).toMatchObject(trace);
    expect(fromEnvelope(text, 'io.telemetry')).toEqual({ ok: true, reading, trace });
    const withoutState = envelopeEncoder('io.telemetry')(reading, { traceparent: trace.traceparent });
    expect(fromEnvelope(withoutState, 'io.telemetry')).toEqual({ ok: true, reading, trace: { traceparent: trace.traceparent } });
    // Written before tracing existed (or with tracing off): no trace, same reading.
    const decoded = fromEnvelope(JSON.stringify(toEnvelope(reading, 'io.telemetry')), 'io.telemetry');
    expect(decoded).toEqual({ ok: true, reading });
    expect('trace' in decoded).toBe(false);
    // A malformed extension is the tracer's business (it ignores it), never a dead letter.
    expect(fromEnvelope(JSON.stringify({ ...toEnvelope(reading, 'io.telemetry'), traceparent: 42 }), 'io.telemetry')).toEqual({ ok: true, reading });
  });
});

describe('utcText', () => {
  it('is toISOString, across the whole range a Date holds and within one hour', () => {
    const same = (ms: number) => expect({ ms, text: utcText(ms) }).toEqual({ ms, text: new Date(ms).toISOString() });
    fc.assert(fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), same), { numRuns: 5000 });
    fc.assert(fc.property(fc.integer({ min: 1_767_225_600_000, max: 1_767_229_200_000 }), same), { numRuns: 2000 });
    for (const ms of [0, -0, -1, 1, 8.64e15, -8.64e15, -62_167_219_200_001, 253_402_300_799_999, 253_402_300_800_000, 1.5, -1.5]) same(ms);
  });

  it('throws what toISOString throws', () => {
    for (const ms of [Number.NaN, 8.64e15 + 1, Infinity]) expect(() => utcText(ms)).toThrow(RangeError);
  });
});

describe('cursors', () => {
  it('round-trip per-partition positions and refuse foreign text', () => {
    const positions = new Map([
      [3, 17],
      [0, -1],
      [1, 1_000_000_000_000],
    ]);
    expect(decodeCursor(encodeCursor(positions))).toEqual(positions);
    expect(decodeCursor('garbage')).toBeUndefined();
    expect(decodeCursor(Buffer.from('v1:0=a').toString('base64url'))).toBeUndefined();
    expect(decodeCursor(encodeCursor(new Map()))).toEqual(new Map());
  });

  it('page cursors check the decoded type', () => {
    const isNumber = (v: unknown): v is number => typeof v === 'number';
    expect(decodePageCursor(encodePageCursor(42), isNumber)).toBe(42);
    expect(decodePageCursor(encodePageCursor('x'), isNumber)).toBeUndefined();
    expect(decodePageCursor('%%%', isNumber)).toBeUndefined();
  });
});

describe('retry policy', () => {
  it('grows the backoff ceiling exponentially up to the maximum, with full jitter', () => {
    const policy = { initialDelayMs: 10, maxDelayMs: 1000, multiplier: 2 };
    expect([0, 1, 2, 3, 10].map((attempt) => backoffDelay(policy, attempt, () => 1))).toEqual([10, 20, 40, 80, 1000]);
    expect(backoffDelay(policy, 5, () => 0)).toBe(0);
  });

  it('retries retryable failures only', async () => {
    let calls = 0;
    const sleeps: number[] = [];
    const result = await retry(
      async () => {
        calls++;
        if (calls < 3) throw new BackendError('busy', true);
        return 'done';
      },
      { isRetryable: (e) => e instanceof BackendError && e.retryable, sleep: async (ms) => void sleeps.push(ms) },
    );
    expect({ result, calls, waits: sleeps.length }).toEqual({ result: 'done', calls: 3, waits: 2 });
    await expect(
      retry(async () => Promise.reject(new BackendError('constraint', false)), { isRetryable: (e) => e instanceof BackendError && e.retryable }),
    ).rejects.toThrow('constraint');
  });
});
