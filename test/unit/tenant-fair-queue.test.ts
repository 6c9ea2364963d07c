import { TenantFairQueue } from '../../src/store/sqlite/tenant-fair-queue';

describe('TenantFairQueue', () => {
  /** Serves the queue as one reader would: each item runs and ends before the next is taken. */
  function serveOneAtATime(queue: TenantFairQueue<string>): string[] {
    const served: string[] = [];
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      queue.started(item[0]!);
      served.push(item);
      queue.finished(item[0]!);
    }
    return served;
  }

  it('serves tenants in turn, each in arrival order, a tenant going to the back after each item', () => {
    const queue = new TenantFairQueue<string>(100, 100);
    for (const item of ['a1', 'a2', 'a3', 'b1', 'c1', 'b2']) queue.push(item[0]!, item);
    expect(serveOneAtATime(queue)).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3']);
    expect(queue.size).toBe(0);
  });

  it('puts a tenant whose read just ran behind one that has waited, even when it queued first', () => {
    const queue = new TenantFairQueue<string>(100, 100);
    queue.started('a'); // a1 went straight to an idle reader
    queue.push('a', 'a2');
    queue.push('b', 'b1');
    queue.finished('a');
    expect(serveOneAtATime(queue)).toEqual(['b1', 'a2']);
  });

  it('with several readers, serves first the waiting tenant that has the fewest reads running', () => {
    const queue = new TenantFairQueue<string>(100, 100);
    queue.started('a');
    queue.started('a');
    queue.started('b');
    ['a3', 'b2', 'c1'].forEach((item) => queue.push(item[0]!, item));
    expect(queue.shift()).toBe('c1');
    queue.started('c');
    expect(queue.shift()).toBe('b2');
    queue.started('b');
    expect(queue.shift()).toBe('a3');
  });

  it("refuses past the total, and past a tenant's share while others still fit", () => {
    const queue = new TenantFairQueue<number>(4, 3);
    for (let i = 0; i < 3; i++) {
      expect(queue.refusal('a')).toBeUndefined();
      queue.push('a', i);
    }
    expect(queue.refusal('a')).toBe('tenant-share');
    expect(queue.refusal('b')).toBeUndefined();
    queue.push('b', 9);
    expect(queue.refusal('b')).toBe('full');
    expect(queue.shift()).toBe(0);
    expect(queue.refusal('a')).toBeUndefined();
  });

  it('drains everything, oldest tenant first', () => {
    const queue = new TenantFairQueue<string>(10, 10);
    ['a1', 'b1', 'a2'].forEach((item) => queue.push(item[0]!, item));
    expect(queue.drain()).toEqual(['a1', 'a2', 'b1']);
    expect(queue.size).toBe(0);
    expect(queue.shift()).toBeUndefined();
  });
});
