import type { ConsumerGroupMember, Stream, StreamMessage } from '../../src/stream/stream';

/** Polls until `count` messages of the partitions in `from` came back, advancing `from` like a consumer. */
async function pollUntil(member: ConsumerGroupMember, from: Map<number, number>, count: number): Promise<StreamMessage[]> {
  const seen: StreamMessage[] = [];
  for (let attempt = 0; attempt < 50 && seen.length < count; attempt++) {
    for (const [partition, messages] of await member.poll(from, 100)) {
      seen.push(...messages);
      if (messages.length > 0) from.set(partition, messages[messages.length - 1]!.offset + 1);
    }
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
 * must pass it. `create` gives a fresh, empty log with `partitions` partitions per topic.
 */
export function describeStreamContract(name: string, create: (partitions: number) => Promise<StreamHarness>): void {
  describe(`Stream contract: ${name}`, () => {
    let harness: StreamHarness;
    beforeEach(async () => {
      harness = await create(4);
    });
    afterEach(() => harness.close());

    it('lists its partitions', async () => {
      expect(await harness.stream.partitions('readings')).toEqual([0, 1, 2, 3]);
    });

    it('keeps every key in one partition and assigns consecutive offsets in produce order', async () => {
      const records = Array.from({ length: 40 }, (_, i) => ({ key: `device-${i % 5}`, value: JSON.stringify({ i }) }));
      const positions = await harness.stream.produce('readings', records);
      expect(positions).toHaveLength(40);
      const partitionOfKey = new Map<string, number>();
      positions.forEach((position, i) => {
        const key = records[i]!.key;
        expect(partitionOfKey.get(key) ?? position.partition).toBe(position.partition);
        partitionOfKey.set(key, position.partition);
      });
      for (const partition of await harness.stream.partitions('readings')) {
        const offsets = positions.filter((p) => p.partition === partition).map((p) => p.offset);
        expect(offsets).toEqual(offsets.map((_, i) => i));
      }
    });

    it('reads a partition in offset order from any offset, in batches', async () => {
      const positions = await harness.stream.produce('readings', Array.from({ length: 10 }, (_, i) => ({ key: 'same-key', value: `v${i}` })));
      const partition = positions[0]!.partition;
      const all = await harness.stream.read('readings', partition, 0, 100);
      expect(all.map((m) => m.value)).toEqual(Array.from({ length: 10 }, (_, i) => `v${i}`));
      expect(all.map((m) => m.offset)).toEqual(Array.from({ length: 10 }, (_, i) => i));
      expect(all.every((m) => m.key === 'same-key' && m.partition === partition && m.timestamp > 0)).toBe(true);
      const middle = await harness.stream.read('readings', partition, 4, 3);
      expect(middle.map((m) => m.offset)).toEqual([4, 5, 6]);
      expect(await harness.stream.read('readings', partition, 10, 5)).toEqual([]);
    });

    it('accepts concurrent produces and returns the position of each record in input order', async () => {
      const calls = Array.from({ length: 20 }, (_, c) =>
        harness.stream.produce('readings', Array.from({ length: 5 }, (_, i) => ({ key: `k${c}`, value: `${c}:${i}` }))),
      );
      const results = await Promise.all(calls);
      for (const [c, positions] of results.entries()) {
        // One key, one partition, offsets increasing in input order.
        expect(new Set(positions.map((p) => p.partition)).size).toBe(1);
        expect(positions.map((p) => p.offset)).toEqual([...positions.map((p) => p.offset)].sort((a, b) => a - b));
        for (const [i, position] of positions.entries()) {
          const [message] = await harness.stream.read('readings', position.partition, position.offset, 1);
          expect(message?.value).toBe(`${c}:${i}`);
        }
      }
      let total = 0;
      for (const partition of await harness.stream.partitions('readings')) total += (await harness.stream.read('readings', partition, 0, 1000)).length;
      expect(total).toBe(100);
    });

    it('tails a partition live: only messages appended after the tail was opened', async () => {
      const [before] = await harness.stream.produce('events', [{ key: 'tail', value: 'before' }]);
      const tail = await harness.stream.openTail('events', before!.partition);
      expect(await tail.next(10)).toEqual([]);
      await harness.stream.produce('events', [{ key: 'tail', value: 'after-1' }, { key: 'tail', value: 'after-2' }]);
      expect((await tail.next(1)).map((m) => m.value)).toEqual(['after-1']);
      expect((await tail.next(10)).map((m) => m.value)).toEqual(['after-2']);
      expect(await tail.next(10)).toEqual([]);
    });

    it('is durable: another handle sees what produce acknowledged', async () => {
      const [position] = await harness.stream.produce('readings', [{ key: 'durable', value: 'kept' }]);
      const other = await harness.reopen();
      try {
        const [message] = await other.read('readings', position!.partition, position!.offset, 1);
        expect(message?.value).toBe('kept');
        // Offsets continue across handles: no handle reuses another's offsets.
        const [next] = await other.produce('readings', [{ key: 'durable', value: 'next' }]);
        expect(next).toEqual({ partition: position!.partition, offset: position!.offset + 1 });
      } finally {
        await other.close();
      }
    });

    it('keeps topics apart', async () => {
      await harness.stream.produce('events', [{ key: 'x', value: 'event' }]);
      for (const partition of await harness.stream.partitions('readings')) expect(await harness.stream.read('readings', partition, 0, 10)).toEqual([]);
    });

    it('gives a lone consumer-group member every partition', async () => {
      const member = await harness.stream.joinGroup('persister', 'readings', 'only-one');
      expect(await member.assigned()).toEqual([0, 1, 2, 3]);
      await member.leave();
    });

    it('polls each held partition of a group from the offset the consumer gives, skipping what is before it', async () => {
      const positions = await harness.stream.produce('readings', Array.from({ length: 10 }, (_, i) => ({ key: 'one-device', value: `m${i}` })));
      const partition = positions[0]!.partition;
      const member = await harness.stream.joinGroup('persister', 'readings', 'member-1');
      expect(await member.assigned()).toContain(partition);
      const polled = await pollUntil(member, new Map([[partition, 3]]), 7);
      expect(polled.map((m) => [m.offset, m.value])).toEqual([3, 4, 5, 6, 7, 8, 9].map((offset) => [offset, `m${offset}`]));
      await member.commit(new Map([[partition, 10]]));
      await member.leave();
    });

    it('lets the database decide where a rejoining member resumes, behind or ahead of the group\'s commits', async () => {
      const positions = await harness.stream.produce('readings', Array.from({ length: 10 }, (_, i) => ({ key: 'one-device', value: `m${i}` })));
      const partition = positions[0]!.partition;
      const first = await harness.stream.joinGroup('persister', 'readings', 'member-1');
      await first.assigned();
      expect(await pollUntil(first, new Map([[partition, 0]]), 10)).toHaveLength(10);
      await first.commit(new Map([[partition, 10]]));
      await first.leave();
      // The database holds less than the group committed (a restored database): 5..9 again.
      const again = await harness.stream.joinGroup('persister', 'readings', 'member-1');
      await again.assigned();
      expect((await pollUntil(again, new Map([[partition, 5]]), 5)).map((m) => m.offset)).toEqual([5, 6, 7, 8, 9]);
      // The database holds more than the group committed: nothing before its offset comes back.
      await harness.stream.produce('readings', Array.from({ length: 4 }, (_, i) => ({ key: 'one-device', value: `n${i}` })));
      expect((await pollUntil(again, new Map([[partition, 12]]), 2)).map((m) => m.value)).toEqual(['n2', 'n3']);
      await again.leave();
    });

    it('refuses a partition that does not exist', async () => {
      await expect(harness.stream.read('readings', 99, 0, 1)).rejects.toThrow(/partition/);
    });
  });
}
