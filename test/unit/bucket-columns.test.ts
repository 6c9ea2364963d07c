import type { BucketData } from '../../src/domain/timeseries/aggregate-buckets';
import type { DeviceBuckets } from '../../src/store/ports/reading-store';
import { transferablesOf } from '../../src/store/sqlite/reader-protocol';
import { decodeResult, encodeResult } from '../../src/store/sqlite/result-codecs';

const bucket = (base: number, extra: Partial<BucketData> = {}): BucketData => ({
  partial: {
    count: 3,
    sum: base * 3,
    sumSq: base * base * 3,
    min: base - 1,
    max: base + 1,
    minTs: base * 1000,
    maxTs: base * 1000 + 2,
    firstTs: base * 1000 - 5,
    firstValue: base,
    lastTs: base * 1000 + 9,
    lastValue: base + 0.5,
  },
  source: 'ROLLUP_1M',
  ...extra,
});

describe('aggregate buckets crossing from a reader thread (bucket-columns.ts)', () => {
  it('come back equal: runs, devices in order, absent buckets, unknown extremes, sources and raw values', () => {
    const legacy = bucket(7);
    const runs: DeviceBuckets[] = [
      new Map([
        ['b', [bucket(1), undefined, bucket(2, { source: 'ROLLUP_1H' })]],
        ['a', [undefined]],
      ]),
      new Map(),
      new Map([
        [
          'a',
          [
            { ...legacy, partial: { ...legacy.partial, minTs: null, maxTs: null } },
            bucket(3, { source: 'RAW', values: [2, 3, 4] }),
            bucket(4, { source: 'RAW', values: [] }),
          ],
        ],
      ]),
    ];
    const decoded = decodeResult('aggregateBuckets', encodeResult('aggregateBuckets', runs));
    expect(decoded).toEqual(runs);
    expect([...decoded[0]!.keys()]).toEqual(['b', 'a']);
    expect(decoded[0]!.get('b')!.length).toBe(3);
    expect(1 in decoded[0]!.get('b')!).toBe(false);
  });

  it('move their numbers as buffers instead of cloning one object per bucket', () => {
    const many: DeviceBuckets[] = [new Map([['d', Array.from({ length: 43_200 }, (_, i) => bucket(i))]])];
    const encoded = encodeResult('aggregateBuckets', many);
    // Two buffers (sources, fields) whatever the bucket count: nothing per bucket is cloned.
    expect(transferablesOf(encoded)).toHaveLength(2);
    expect(decodeResult('aggregateBuckets', encoded)[0]!.get('d')![43_199]!.partial.firstValue).toBe(43_199);
  });
});
