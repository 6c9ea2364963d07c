import { randomUUID } from 'node:crypto';
import type { ConsumerGroupMember, Stream, StreamMessage } from '../../src/stream/stream';
import { readThrough } from '../support/paging';

/** Polls until `count` messages of the partitions in `from` came back, advancing `from` like a consumer. */
/**
 * Polls until `count` messages came or 15 s passed. A member may answer empty polls while its
 * stream catches up (OCI: cursors, pacing); a fixed number of attempts made this depend on how
 * fast the machine polls (it failed once in CI with 50 empty polls in a row).
 */
async function pollUntil(member: ConsumerGroupMember, from: Map<number, number>, count: number): Promise<StreamMessage[]> {
  const seen: StreamMessage[] = [];
  const deadline = Date.now() + 15_000;
  while (seen.length < count && Date.now() < deadline) {
    let got = 0;
    for (const [partition, messages] of await member.poll(from, 100)) {
      seen.push(...messages);
      got += messages.length;
      if (messages.length > 0) from.set(partition, messages[messages.length - 1]!.offset + 1);
    }
    if (got === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return seen;
}

export interface StreamHarness {
  readonly stream: Stream;
  /** A second handle on the same log (another process or node would have its own). */
  reopen(): Promise<Stream>;
  close(): Promise<void>;
}

/**
 * The Stream contract, written against the interface only: every backend (embedded, OCI)
 * must pass it. `create` gives a log with `partitions` partitions per topic. It may already
 * hold messages (a live OCI stream is reused from test to test and run to run), so every test
 * works relative to what it produced itself: offsets from its first position, values and
 * group names unique to the run.
 */
export function describeStreamContract(name: string, create: (partitions: number) => Promise<StreamHarness>): void {
  describe(`Stream contract: ${name}`, () => {
    let harness: StreamHarness;
    /** Unique per test: values and group names never collide with earlier runs. */
    let run = '';
    beforeEach(async () => {
      harness = await create(4);
      run = randomUUID().slice(0, 8);
    });
    afterEach(() => harness.close());
    const key = (name: string) => `${run}-${name}`;

    it('lists its partitions', async () => {
      expect(await harness.stream.partitions('readings')).toEqual([0, 1, 2, 3]);
    });

    it('keeps every key in one partition and assigns consecutive offsets in produce order', async () => {
      const records = Array.from({ length: 40 }, (_, i) => ({ key: key(`device-${i % 5}`), value: JSON.stringify({ i }) }));
      const positions = await harness.stream.produce('readings', records);
      expect(positions).toHaveLength(40);
      const partitionOfKey = new Map<string, number>();
      positions.forEach((position, i) => {
        const recordKey = records[i]!.key;
        expect(partitionOfKey.get(recordKey) ?? position.partition).toBe(position.partition);
        partitionOfKey.set(recordKey, position.partition);
      });
      for (const partition of await harness.stream.partitions('readings')) {
        const offsets = positions.filter((p) => p.partition === partition).map((p) => p.offset);
        expect(offsets).toEqual(offsets.map((_, i) => offsets[0]! + i));
      }
    });

    it('reads a partition in offset order from any offset, in batches', async () => {
      const positions = await harness.stream.produce(
        'readings',
        Array.from({ length: 10 }, (_, i) => ({ key: key('same-key'), value: `v${i}` })),
      );
      const { partition, offset: base } = positions[0]!;
      // A read returns *up to* its limit (OCI answers at most 1 MB, sometimes less): read on to the last.
      const all = await readThrough(harness.stream, 'readings', partition, base, base + 9);
      expect(all.map((m) => m.value)).toEqual(Array.from({ length: 10 }, (_, i) => `v${i}`));
      expect(all.map((m) => m.offset)).toEqual(Array.from({ length: 10 }, (_, i) => base + i));
      expect(all.every((m) => m.key === key('same-key') && m.partition === partition && m.timestamp > 0)).toBe(true);
      const middle = await harness.stream.read('readings', partition, base + 4, 3);
      expect(middle.map((m) => m.offset)).toEqual([base + 4, base + 5, base + 6]);
      expect(await harness.stream.read('readings', partition, base + 10, 5)).toEqual([]);
    });

    it('accepts concurrent produces and returns the position of each record in input order', async () => {
      const calls = Array.from({ length: 20 }, (_, c) =>
        harness.stream.produce(
          'readings',
          Array.from({ length: 5 }, (_, i) => ({ key: key(`k${c}`), value: `${run}:${c}:${i}` })),
        ),
      );
      const results = await Promise.all(calls);
      const firstOffset = new Map<number, number>();
      const lastOffset = new Map<number, number>();
      for (const [c, positions] of results.entries()) {
        // One key, one partition, offsets increasing in input order.
        expect(new Set(positions.map((p) => p.partition)).size).toBe(1);
        expect(positions.map((p) => p.offset)).toEqual([...positions.map((p) => p.offset)].sort((a, b) => a - b));
        for (const [i, position] of positions.entries()) {
          firstOffset.set(position.partition, Math.min(position.offset, firstOffset.get(position.partition) ?? Infinity));
          lastOffset.set(position.partition, Math.max(position.offset, lastOffset.get(position.partition) ?? -Infinity));
          const [message] = await harness.stream.read('readings', position.partition, position.offset, 1);
          expect(message?.value).toBe(`${run}:${c}:${i}`);
        }
      }
      // Exactly these 100 were appended: no record lost or written twice (every page from the first to the last position).
      let total = 0;
      for (const [partition, from] of firstOffset)
        total += (await readThrough(harness.stream, 'readings', partition, from, lastOffset.get(partition)!)).filter((m) =>
          m.value.startsWith(`${run}:`),
        ).length;
      expect(total).toBe(100);
    });

    it('tails a partition live: only messages appended after the tail was opened', async () => {
      const [before] = await harness.stream.produce('events', [{ key: key('tail'), value: 'before' }]);
      const tail = await harness.stream.openTail('events', before!.partition);
      expect(await tail.next(10)).toEqual([]);
      await harness.stream.produce('events', [
        { key: key('tail'), value: 'after-1' },
        { key: key('tail'), value: 'after-2' },
      ]);
      expect((await tail.next(1)).map((m) => m.value)).toEqual(['after-1']);
      expect((await tail.next(10)).map((m) => m.value)).toEqual(['after-2']);
      expect(await tail.next(10)).toEqual([]);
    });

    it('is durable: another handle sees what produce acknowledged', async () => {
      const [position] = await harness.stream.produce('readings', [{ key: key('durable'), value: 'kept' }]);
      const other = await harness.reopen();
      try {
        const [message] = await other.read('readings', position!.partition, position!.offset, 1);
        expect(message?.value).toBe('kept');
        // Offsets continue across handles: no handle reuses another's offsets.
        const [next] = await other.produce('readings', [{ key: key('durable'), value: 'next' }]);
        expect(next).toEqual({ partition: position!.partition, offset: position!.offset + 1 });
      } finally {
        await other.close();
      }
    });

    it('keeps topics apart', async () => {
      // Start markers bound what to read: a reused stream holds far more than one page before them.
      const [readingsStart] = await harness.stream.produce('readings', [{ key: key('x'), value: `${run}:start` }]);
      const [eventsStart] = await harness.stream.produce('events', [{ key: key('x'), value: `${run}:start` }]);
      const [position] = await harness.stream.produce('events', [{ key: key('x'), value: `${run}:event` }]);
      const [marker] = await harness.stream.produce('readings', [{ key: key('x'), value: `${run}:reading` }]);
      // The readings partition holds the reading and never the event, the events one the reverse.
      const readings = await readThrough(harness.stream, 'readings', marker!.partition, readingsStart!.offset, marker!.offset);
      expect(readings.filter((m) => m.value.startsWith(`${run}:`)).map((m) => m.value)).toEqual([`${run}:start`, `${run}:reading`]);
      const events = await readThrough(harness.stream, 'events', position!.partition, eventsStart!.offset, position!.offset);
      expect(events.filter((m) => m.value.startsWith(`${run}:`)).map((m) => m.value)).toEqual([`${run}:start`, `${run}:event`]);
    });

    it('gives a lone consumer-group member every partition', async () => {
      const member = await harness.stream.joinGroup(key('group'), 'readings', 'only-one');
      expect(await member.assigned()).toEqual([0, 1, 2, 3]);
      await member.leave();
    });

    it('polls each held partition of a group from the offset the consumer gives, skipping what is before it', async () => {
      const positions = await harness.stream.produce(
        'readings',
        Array.from({ length: 10 }, (_, i) => ({ key: key('one-device'), value: `m${i}` })),
      );
      const { partition, offset: base } = positions[0]!;
      const member = await harness.stream.joinGroup(key('group'), 'readings', 'member-1');
      expect(await member.assigned()).toContain(partition);
      const polled = await pollUntil(member, new Map([[partition, base + 3]]), 7);
      expect(polled.map((m) => [m.offset - base, m.value])).toEqual([3, 4, 5, 6, 7, 8, 9].map((offset) => [offset, `m${offset}`]));
      await member.commit(new Map([[partition, base + 10]]));
      await member.leave();
    });

    it("lets the database decide where a rejoining member resumes, behind or ahead of the group's commits", async () => {
      const positions = await harness.stream.produce(
        'readings',
        Array.from({ length: 10 }, (_, i) => ({ key: key('one-device'), value: `m${i}` })),
      );
      const { partition, offset: base } = positions[0]!;
      const first = await harness.stream.joinGroup(key('group'), 'readings', 'member-1');
      await first.assigned();
      expect(await pollUntil(first, new Map([[partition, base]]), 10)).toHaveLength(10);
      await first.commit(new Map([[partition, base + 10]]));
      await first.leave();
      // The database holds less than the group committed (a restored database): 5..9 again.
      const again = await harness.stream.joinGroup(key('group'), 'readings', 'member-1');
      await again.assigned();
      expect((await pollUntil(again, new Map([[partition, base + 5]]), 5)).map((m) => m.offset - base)).toEqual([5, 6, 7, 8, 9]);
      // The database holds more than the group committed: nothing before its offset comes back.
      await harness.stream.produce(
        'readings',
        Array.from({ length: 4 }, (_, i) => ({ key: key('one-device'), value: `n${i}` })),
      );
      expect((await pollUntil(again, new Map([[partition, base + 12]]), 2)).map((m) => m.value)).toEqual(['n2', 'n3']);
      await again.leave();
    });

    it('refuses a partition that does not exist', async () => {
      await expect(harness.stream.read('readings', 99, 0, 1)).rejects.toThrow(/partition/);
    });
  });
}
