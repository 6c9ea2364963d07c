import { OciGroupMember, type GroupCalls } from '../../src/stream/oci/oci-group-member';
import type { StreamMessage } from '../../src/stream/stream';

/**
 * OciGroupMember's bookkeeping against a scripted group cursor: what it asks OCI for, and
 * when it commits. The real HTTP path runs in the Stream contract against the stand-in.
 */
const message = (partition: number, offset: number): StreamMessage => ({ partition, offset, key: 'k', value: `p${partition}o${offset}`, timestamp: 0 });
const range = (partition: number, from: number, to: number) => Array.from({ length: to - from }, (_, i) => message(partition, from + i));

function scripted(options: { log: Record<number, StreamMessage[]>; groupBatches: StreamMessage[][]; reserved?: number[] }) {
  const calls = { getMessages: 0, readAt: [] as [number, number, number][], commits: [] as string[], heartbeats: 0, order: [] as string[] };
  let batch = 0;
  const io: GroupCalls = {
    getMessages: async (cursor, limit) => {
      calls.getMessages++;
      calls.order.push(`get ${limit}`);
      const messages = options.groupBatches[batch] ?? [];
      batch++;
      return { messages, nextCursor: `${cursor}+${batch}` };
    },
    readAt: async (partition, offset, limit) => {
      calls.readAt.push([partition, offset, limit]);
      return (options.log[partition] ?? []).filter((m) => m.offset >= offset).slice(0, limit);
    },
    heartbeat: async (cursor) => {
      calls.heartbeats++;
      return cursor;
    },
    commit: async (cursor) => {
      calls.commits.push(cursor);
      return cursor;
    },
    reservedPartitions: async () => {
      calls.order.push('group');
      return options.reserved ?? [0, 1];
    },
  };
  return { member: new OciGroupMember('c', io), calls };
}

describe('OciGroupMember', () => {
  it('commits only once every message the group cursor returned is applied, and not again when nothing is new', async () => {
    const { member, calls } = scripted({ log: { 0: range(0, 0, 5), 1: range(1, 0, 3) }, groupBatches: [[...range(0, 0, 5), ...range(1, 0, 3)]] });
    const polled = await member.poll(
      new Map([
        [0, 0],
        [1, 0],
      ]),
      100,
    );
    expect(polled.get(0)!.map((m) => m.offset)).toEqual([0, 1, 2, 3, 4]);
    expect(polled.get(1)!.map((m) => m.offset)).toEqual([0, 1, 2]);
    await member.commit(
      new Map([
        [0, 5],
        [1, 2],
      ]),
    ); // partition 1's offset 2 is not applied yet
    expect(calls.commits).toEqual([]);
    await member.commit(
      new Map([
        [0, 5],
        [1, 3],
      ]),
    );
    expect(calls.commits).toEqual(['c+1']); // the cursor after the GetMessages that returned them
    await member.commit(
      new Map([
        [0, 5],
        [1, 3],
      ]),
    );
    expect(calls.commits).toHaveLength(1);
  });

  it('skips group messages below the watermark, and reads a gap above it with AT_OFFSET before the group messages', async () => {
    // The group committed 2 on partition 0 (the database holds up to 3); on partition 1 it
    // committed 6 while the database holds only up to 1 (a restored database).
    const { member, calls } = scripted({ log: { 0: range(0, 0, 8), 1: range(1, 0, 8) }, groupBatches: [[...range(0, 2, 8), ...range(1, 6, 8)]] });
    const first = await member.poll(
      new Map([
        [0, 4],
        [1, 2],
      ]),
      100,
    );
    expect(first.get(0)!.map((m) => m.offset)).toEqual([4, 5, 6, 7]);
    expect(first.get(1)!.map((m) => m.offset)).toEqual([2, 3, 4, 5]);
    expect(calls.readAt).toEqual([[1, 2, 4]]);
    const second = await member.poll(
      new Map([
        [0, 8],
        [1, 6],
      ]),
      100,
    );
    expect(second.get(1)!.map((m) => m.offset)).toEqual([6, 7]);
    await member.commit(
      new Map([
        [0, 8],
        [1, 8],
      ]),
    );
    expect(calls.commits).toHaveLength(1);
  });

  it('catches a newly held partition up from the watermark even when the group cursor returns nothing for it', async () => {
    const { member, calls } = scripted({ log: { 0: range(0, 0, 6) }, groupBatches: [] });
    const first = await member.poll(new Map([[0, 3]]), 100);
    expect(first.get(0)!.map((m) => m.offset)).toEqual([3, 4, 5]);
    await member.poll(new Map([[0, 6]]), 100); // reads to the end: caught up
    const reads = calls.readAt.length;
    await member.poll(new Map([[0, 6]]), 100);
    expect(calls.readAt).toHaveLength(reads); // now the group cursor alone follows the partition
  });

  it('stops fetching while a catching-up partition already holds a batch of group messages', async () => {
    const { member, calls } = scripted({ log: { 0: range(0, 0, 30) }, groupBatches: [range(0, 20, 30), range(0, 30, 40)] });
    await member.poll(new Map([[0, 0]]), 10); // fetch 20..29, read 0..9
    await member.poll(new Map([[0, 10]]), 10); // 10 buffered: no fetch, read 10..19
    expect(calls.getMessages).toBe(1);
    const third = await member.poll(new Map([[0, 20]]), 10);
    expect(third.get(0)!.map((m) => m.offset)).toEqual(range(0, 20, 30).map((m) => m.offset));
  });

  it('keeps delivering the polled partitions when the group cursor returns a batch of one the caller does not poll', async () => {
    // OCI reserved partition 0 before the caller's next assigned(): the caller polls only 1.
    const { member, calls } = scripted({
      log: { 0: range(0, 0, 10), 1: range(1, 0, 2) },
      groupBatches: [[message(1, 0)], range(0, 0, 10), [message(1, 1)]],
    });
    expect((await member.poll(new Map([[1, 0]]), 10)).get(1)!.map((m) => m.offset)).toEqual([0]);
    expect((await member.poll(new Map([[1, 1]]), 10)).get(1)).toBeUndefined(); // the batch of partition 0
    // Held, partition 0's ten messages stopped every fetch: partition 1's next never came.
    expect((await member.poll(new Map([[1, 1]]), 10)).get(1)!.map((m) => m.offset)).toEqual([1]);
    expect(calls.getMessages).toBe(3);
    // Partition 0, polled at last, reads what the group cursor returned from its watermark.
    const both = await member.poll(
      new Map([
        [0, 0],
        [1, 2],
      ]),
      10,
    );
    expect(both.get(0)!.map((m) => m.offset)).toEqual(range(0, 0, 10).map((m) => m.offset));
    expect(calls.readAt).toEqual([[0, 0, 10]]);
    // Returned by the group cursor, partition 0's messages hold back the commit until applied.
    await member.commit(new Map([[1, 2]]));
    expect(calls.commits).toEqual([]);
    await member.commit(
      new Map([
        [0, 10],
        [1, 2],
      ]),
    );
    expect(calls.commits).toHaveLength(1);
  });

  it('calls GetMessages before its first GetGroup (OCI may reserve partitions only then) and keeps what it returned', async () => {
    const { member, calls } = scripted({ log: {}, groupBatches: [[message(0, 0)]], reserved: [0] });
    expect(await member.assigned()).toEqual([0]);
    await member.assigned();
    expect(calls.order).toEqual(['get 1', 'group', 'group']);
    expect((await member.poll(new Map([[0, 0]]), 100)).get(0)!.map((m) => m.offset)).toEqual([0]);
  });

  it('forgets a partition OCI gave to another instance, so it does not hold back commits', async () => {
    const { member, calls } = scripted({ log: {}, groupBatches: [[...range(0, 0, 2), ...range(1, 0, 2)]], reserved: [0] });
    await member.poll(new Map([[0, 0]]), 100);
    await member.commit(new Map([[0, 2]]));
    expect(calls.commits).toEqual([]); // partition 1's messages were returned and not applied
    expect(await member.assigned()).toEqual([0]);
    expect(calls.heartbeats).toBe(1);
    await member.commit(new Map([[0, 2]]));
    expect(calls.commits).toHaveLength(1);
  });
});
