import { uuidv7 } from '../../src/domain/ids';

describe('uuidv7', () => {
  it('is a well-formed version 7, variant 1 UUID carrying the time', () => {
    const now = Date.parse('2026-11-21T06:00:00Z');
    const id = uuidv7(now);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(now);
  });

  it('sorts by time and does not repeat', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => uuidv7(1_700_000_000_000 + i));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(Array.from({ length: 10_000 }, () => uuidv7(1)))).toHaveProperty('size', 10_000);
    // Every random digit takes every value: none is lost to the version and variant bits.
    const sample = Array.from({ length: 2000 }, () => uuidv7(1).replace(/-/g, ''));
    for (const digit of [13, 14, 15, 17, 31]) expect(new Set(sample.map((id) => id[digit])).size).toBe(16);
    expect(new Set(sample.map((id) => id[16]))).toEqual(new Set(['8', '9', 'a', 'b']));
    // The time prefix is reused while the time stays the same, and rebuilt when it changes.
    for (const now of [5, 5, 1_700_000_000_000, 5]) expect(parseInt(uuidv7(now).slice(0, 8) + uuidv7(now).slice(9, 13), 16)).toBe(now);
  });
});
