import { checkReading, readableDuration, type ValidationRules } from '../../src/domain/validation';

const rules: ValidationRules = { maxMetricsPerReading: 3, maxFutureSkewMs: 60_000, maxAgeMs: 86_400_000 };
const now = Date.parse('2026-06-01T12:00:00Z');
const valid = { deviceId: 'dev-1', timestamp: now - 1000, metrics: [{ name: 'temperature', value: 21.5 }] };

describe('reading validation rules', () => {
  it('accepts a valid reading', () => {
    expect(checkReading(valid, rules, now)).toBeUndefined();
  });

  it.each([
    ['empty device id', { ...valid, deviceId: '' }, 'INVALID_DEVICE_ID'],
    ['device id with a space', { ...valid, deviceId: 'dev 1' }, 'INVALID_DEVICE_ID'],
    ['device id of 129 characters', { ...valid, deviceId: 'd'.repeat(129) }, 'INVALID_DEVICE_ID'],
    ['non-string device id', { ...valid, deviceId: 42 as unknown as string }, 'INVALID_DEVICE_ID'],
    ['no metrics', { ...valid, metrics: [] }, 'INVALID_METRIC_COUNT'],
    ['too many metrics', { ...valid, metrics: ['a', 'b', 'c', 'd'].map((name) => ({ name, value: 1 })) }, 'INVALID_METRIC_COUNT'],
    ['metric name starting with a digit', { ...valid, metrics: [{ name: '1temp', value: 1 }] }, 'INVALID_METRIC_NAME'],
    ['metric name with a dash', { ...valid, metrics: [{ name: 'te-mp', value: 1 }] }, 'INVALID_METRIC_NAME'],
    ['metric name of 65 characters', { ...valid, metrics: [{ name: 'm'.repeat(65), value: 1 }] }, 'INVALID_METRIC_NAME'],
    [
      'repeated metric',
      {
        ...valid,
        metrics: [
          { name: 'a', value: 1 },
          { name: 'a', value: 2 },
        ],
      },
      'DUPLICATE_METRIC',
    ],
    ['NaN value', { ...valid, metrics: [{ name: 'a', value: Number.NaN }] }, 'INVALID_VALUE'],
    ['Infinity value', { ...valid, metrics: [{ name: 'a', value: Number.POSITIVE_INFINITY }] }, 'INVALID_VALUE'],
    ['string value', { ...valid, metrics: [{ name: 'a', value: '1' as unknown as number }] }, 'INVALID_VALUE'],
    ['unparseable timestamp', { ...valid, timestamp: Number.NaN }, 'INVALID_TIMESTAMP'],
    ['timestamp beyond the allowed skew', { ...valid, timestamp: now + 60_001 }, 'TIMESTAMP_IN_FUTURE'],
    ['timestamp older than the maximum age', { ...valid, timestamp: now - 86_400_001 }, 'TIMESTAMP_TOO_OLD'],
    ['event id with a space', { ...valid, eventId: 'a b' }, 'INVALID_EVENT_ID'],
    ['event id that is not a string', { ...valid, eventId: 7 as unknown as string }, 'INVALID_EVENT_ID'],
    ['event id of 129 characters', { ...valid, eventId: 'e'.repeat(129) }, 'INVALID_EVENT_ID'],
  ])('rejects %s', (_label, input, code) => {
    expect(checkReading(input, rules, now)?.code).toBe(code);
  });

  it('accepts timestamps exactly at the configured bounds', () => {
    expect(checkReading({ ...valid, timestamp: now + 60_000 }, rules, now)).toBeUndefined();
    expect(checkReading({ ...valid, timestamp: now - 86_400_000 }, rules, now)).toBeUndefined();
  });
});

describe('readableDuration (limits in messages)', () => {
  it('names the largest whole unit', () => {
    expect([31_536_000_000, 86_400_000, 300_000, 1000, 1500, 7_200_000].map(readableDuration)).toEqual([
      '365 days',
      '1 day',
      '5 minutes',
      '1 second',
      '1500 ms',
      '2 hours',
    ]);
  });
});
