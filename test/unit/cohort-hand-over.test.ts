import { GraphQLID, GraphQLInt, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString, parse, type ExecutionResult } from 'graphql';
import { decodeCursor, encodeCursor } from '../../src/domain/cursor';
import type { NextFrameOutlet, OutletMember } from '../../src/server/outlet-member';
import { SubscriptionCohorts } from '../../src/server/subscription-cohorts';
import { openReadingFeed, type FeedItem } from '../../src/subscriptions/reading-feed';
import { FakeReadings, TENANT } from '../support/fake-readings';

const PARTITIONS = [0, 1];

interface Delivered {
  readonly deviceId: string;
  readonly partition: number;
  readonly offset: number;
  readonly cursor: string;
}

/** A socket as an outlet sees it: `ready` is the high-water mark, `release()` lets the waiting frames leave. */
class FakeOutlet implements NextFrameOutlet {
  open = true;
  ready = true;
  readonly sent: Delivered[] = [];
  private waiting: (() => void)[] = [];

  send(result: ExecutionResult, written?: () => void): void {
    if (result.errors) throw new Error(`unexpected errors: ${JSON.stringify(result.errors)}`);
    this.sent.push(result.data!['readingAdded'] as Delivered);
    if (written) this.waiting.push(written);
  }

  release(): void {
    this.ready = true;
    const waiting = this.waiting;
    this.waiting = [];
    for (const written of waiting) written();
  }

  ids(): string[] {
    return this.sent.map((event) => `${event.partition}/${event.offset}`);
  }
}

function harness(options: { maxQueued?: number; slowestFollowerWaitMs?: number; replayGatherMs?: number } = {}) {
  const readings = new FakeReadings();
  const ReadingEvent = new GraphQLObjectType({
    name: 'ReadingEvent',
    fields: {
      deviceId: { type: GraphQLString },
      partition: { type: GraphQLInt },
      offset: { type: GraphQLInt },
      cursor: { type: GraphQLString },
      echo: { type: GraphQLString, args: { text: { type: GraphQLString } }, resolve: (_, args: { text?: string }) => args.text ?? null },
    },
  });
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        readingAdded: {
          type: ReadingEvent,
          args: { deviceId: { type: new GraphQLNonNull(GraphQLID) }, after: { type: GraphQLString } },
          subscribe: (_, args: { deviceId: string; after?: string | null }) =>
            openReadingFeed({
              hub: readings.hub,
              store: readings.store,
              partitions: PARTITIONS,
              tenantId: TENANT,
              deviceIds: [args.deviceId],
              after: args.after ? decodeCursor(args.after) : undefined,
              replayPageSize: 4,
            }),
          // A context's `gate` holds its executions back: a cohort whose first member has one lags.
          resolve: ({ reading, cursor }: FeedItem, _args, context: { gate?: Promise<void> }) =>
            context.gate ? context.gate.then(() => ({ ...reading, cursor })) : { ...reading, cursor },
        },
      },
    }),
  });
  const cohorts = new SubscriptionCohorts({
    scopeOf: () => TENANT,
    slowMember: () => new Error('slow'),
    // Tries to join again a millisecond after one that could not: the tests wait for the join, never for a time.
    catchUpRetryDelaysMs: [1, 1],
    // A replay starts at once unless a test says otherwise; tests hold replay reads (readGate) to gather followers.
    replayGatherMs: options.replayGatherMs ?? 0,
    ...(options.maxQueued !== undefined ? { maxQueued: options.maxQueued } : {}),
    ...(options.slowestFollowerWaitMs !== undefined ? { slowestFollowerWaitMs: options.slowestFollowerWaitMs } : {}),
    outletOf: (contextValue) => (contextValue as { outlet?: NextFrameOutlet }).outlet,
  });
  const document = parse(
    'subscription Readings($device: ID!, $after: String) { readingAdded(deviceId: $device, after: $after) { deviceId partition offset cursor } }',
  );

  /** A subscriber of `device`, resuming after `after` when given; its frames collect in the returned outlet. */
  async function subscribe(device: string, after?: string, gate?: Promise<void>): Promise<{ outlet: FakeOutlet; member: AsyncIterator<unknown> }> {
    const outlet = new FakeOutlet();
    const member = await cohorts.subscribe({ schema, document, variableValues: { device, after: after ?? null }, contextValue: { outlet, gate } });
    if (!('next' in member)) throw new Error(`subscribe failed: ${JSON.stringify(member)}`);
    return { outlet, member };
  }
  return { readings, cohorts, subscribe, schema };
}

/** Lets everything already queued run (promise jobs and the I/O turn after them), many times over. */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Until `condition` holds, checking after each timer turn (the join waits on a retry timer), for at most 5 s. */
async function until(condition: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 5000; !condition();) {
    if (Date.now() > deadline) throw new Error('condition never held');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

const cursorAt = (positions: Record<number, number>) => encodeCursor(new Map(Object.entries(positions).map(([p, o]) => [Number(p), o])));

describe('a resumed subscription leaves its own feed for the live cohort once caught up', () => {
  it('replays, joins the cohort, and gets every event after its cursor once, in order, while commits and publications go on', async () => {
    const h = harness();
    const { readings } = h;
    for (let i = 0; i < 6; i++) {
      readings.commit('a-1', 3);
      readings.commit('a-2', 2);
      readings.commit('b-1', 4); // partition 1: never a-1's, but it moves the watermark there
    }
    readings.publish();
    const live = await h.subscribe('a-1');
    expect(h.cohorts.stats).toEqual({ cohorts: 1, members: 1, catchingUp: 0 });

    // Resumes from early on (partition 0 at offset 4, partition 1 at 2): its positions in partition 1
    // stay behind the cohort's, with no event of a-1 between them.
    const cursor = cursorAt({ 0: 4, 1: 2 });
    let commits = 0;
    readings.duringRead = () => {
      if (commits++ < 5) {
        readings.commit('a-1');
        readings.commit('b-1');
        readings.publish(1); // publication lags its commit
      }
    };
    const resumed = await h.subscribe('a-1', cursor);
    await settle();
    readings.duringRead = () => {};
    readings.publish();
    await until(() => h.cohorts.stats.catchingUp === 0);

    expect(h.cohorts.stats).toEqual({ cohorts: 1, members: 2, catchingUp: 0 });
    expect(readings.hub.activeSubscriptions).toBe(1); // its own feed released
    readings.commit('a-1', 3);
    readings.commit('b-1', 2);
    readings.publish();
    await settle();

    const expected = readings.storedOf('a-1', decodeCursor(cursor));
    expect(resumed.outlet.ids()).toEqual(expected);
    expect(live.outlet.ids()).toEqual(expected.slice(-live.outlet.sent.length));

    // The last cursor it got (the cohort's now) resumes where it stopped: no gap, no duplicate.
    const last = resumed.outlet.sent.at(-1)!.cursor;
    const again = await h.subscribe('a-1', last);
    readings.commit('a-1', 2);
    readings.publish();
    await settle();
    expect(again.outlet.ids()).toEqual(readings.storedOf('a-1').slice(-2));
    expect(resumed.outlet.ids()).toEqual(readings.storedOf('a-1', decodeCursor(cursor)));
    expect(h.cohorts.stats).toEqual({ cohorts: 1, members: 3, catchingUp: 0 });
  });

  it('does not join while an event between its position and the cohort is stored but not yet published; delivers it alone, then joins', async () => {
    const h = harness();
    const { readings } = h;
    readings.commit('a-1', 3);
    readings.publish();
    // Resumes from the start; its socket holds its first frame, so it cannot try to join yet.
    const resumed = await h.subscribe('a-1', cursorAt({ 0: -1, 1: -1 }));
    resumed.outlet.ready = false;
    await settle();
    expect(resumed.outlet.ids()).toEqual(['0/0']);

    // Committed after its replay read, not yet published: a live subscriber opening now starts
    // beyond it, so the cohort will never deliver it.
    readings.commit('a-1');
    const live = await h.subscribe('a-1');
    resumed.outlet.release();
    await settle();
    expect(resumed.outlet.ids()).toEqual(['0/0', '0/1', '0/2']);
    expect(h.cohorts.stats).toEqual({ cohorts: 1, members: 1, catchingUp: 1 });

    readings.publish();
    await settle();
    expect(resumed.outlet.ids()).toEqual(['0/0', '0/1', '0/2', '0/3']);
    expect(live.outlet.ids()).toEqual([]);
    // It tries again, and joins.
    await until(() => h.cohorts.stats.catchingUp === 0);
    readings.commit('a-1', 2);
    readings.publish();
    await settle();
    expect(h.cohorts.stats).toEqual({ cohorts: 1, members: 2, catchingUp: 0 });
    expect(resumed.outlet.ids()).toEqual(readings.storedOf('a-1'));
    expect(live.outlet.ids()).toEqual(['0/4', '0/5']);
  });

  it('ahead of the cohort (its replay read what was not yet published), joins once the cohort has caught up, with no event of its own to wake it', async () => {
    const h = harness();
    const { readings } = h;
    readings.commit('a-1', 3);
    readings.publish();
    const live = await h.subscribe('a-1');
    readings.commit('a-1', 2); // stored, not yet published: the cohort is behind
    const resumed = await h.subscribe('a-1', cursorAt({ 0: -1, 1: -1 }));
    await settle();
    expect(resumed.outlet.ids()).toEqual(['0/0', '0/1', '0/2', '0/3', '0/4']);
    expect(h.cohorts.stats).toEqual({ cohorts: 1, members: 1, catchingUp: 1 });
    readings.publish(); // the resumed feed has these already: nothing reaches it
    await until(() => h.cohorts.stats.catchingUp === 0);
    expect(h.cohorts.stats).toEqual({ cohorts: 1, members: 2, catchingUp: 0 });
    readings.commit('a-1');
    readings.publish();
    await settle();
    expect(resumed.outlet.ids()).toEqual(readings.storedOf('a-1'));
    expect(live.outlet.ids()).toEqual(['0/3', '0/4', '0/5']);
  });

  it('skips what the cohort still holds of the events it delivered itself', async () => {
    const h = harness();
    const { readings } = h;
    readings.commit('a-1', 2);
    readings.publish();
    // The cohort's executions wait: events published now stay in its pipeline.
    let open = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    const live = await h.subscribe('a-1', undefined, gate);
    readings.commit('a-1', 3);
    readings.publish();
    const resumed = await h.subscribe('a-1', cursorAt({ 0: 0, 1: -1 }));
    await settle();
    expect(resumed.outlet.ids()).toEqual(['0/1', '0/2', '0/3', '0/4']);
    expect(h.cohorts.stats).toEqual({ cohorts: 1, members: 2, catchingUp: 0 });
    open();
    await settle();
    readings.commit('a-1');
    readings.publish();
    await settle();
    expect(live.outlet.ids()).toEqual(['0/2', '0/3', '0/4', '0/5']);
    expect(resumed.outlet.ids()).toEqual(['0/1', '0/2', '0/3', '0/4', '0/5']);
  });

  it('does not join a cohort that is ending (its device deleted before this subscription opened)', async () => {
    const h = harness();
    const { readings } = h;
    readings.commit('a-1', 2);
    readings.publish();
    let open = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    const live = await h.subscribe('a-1', undefined, gate);
    const liveEnding = live.member.next();
    readings.commit('a-1', 2);
    readings.publish(); // held in the cohort's pipeline while its executions wait
    const { mark } = readings.hub.subscribedDevices();
    const resumed = await h.subscribe('a-1', cursorAt({ 0: 0, 1: -1 }));
    let resumedFailure: unknown;
    resumed.member.next().catch((error: unknown) => (resumedFailure = error));
    // Deleted and registered again: subscriptions opened before ("live") end, later ones go on.
    const deleted = new Error('device deleted');
    readings.hub.endDevice(TENANT, 'a-1', deleted, mark);
    await settle();
    expect(resumed.outlet.ids()).toEqual(['0/1', '0/2', '0/3']);
    expect(h.cohorts.stats).toEqual({ cohorts: 1, members: 1, catchingUp: 1 });
    open();
    await expect(liveEnding).rejects.toBe(deleted);
    await until(() => h.cohorts.stats.catchingUp === 0);
    expect(h.cohorts.stats).toEqual({ cohorts: 1, members: 1, catchingUp: 0 });
    readings.commit('a-1');
    readings.publish();
    await settle();
    expect(resumed.outlet.ids()).toEqual(['0/1', '0/2', '0/3', '0/4']);
    expect(resumedFailure).toBeUndefined();
  });

  it('with no cohort yet, its own feed becomes the cohort that later live subscribers join', async () => {
    const h = harness();
    const { readings } = h;
    readings.commit('a-1', 5);
    readings.publish();
    const resumed = await h.subscribe('a-1', cursorAt({ 0: 1, 1: -1 }));
    await settle();
    expect(h.cohorts.stats).toEqual({ cohorts: 1, members: 1, catchingUp: 0 });
    const live = await h.subscribe('a-1');
    expect(h.cohorts.stats).toEqual({ cohorts: 1, members: 2, catchingUp: 0 });
    expect(readings.hub.activeSubscriptions).toBe(1);
    readings.commit('a-1', 2);
    readings.publish();
    await settle();
    expect(resumed.outlet.ids()).toEqual(['0/2', '0/3', '0/4', '0/5', '0/6']);
    expect(live.outlet.ids()).toEqual(['0/5', '0/6']);

    // Members leave; the last one releases the feed it brought.
    await resumed.member.return!();
    expect(h.cohorts.stats).toEqual({ cohorts: 1, members: 1, catchingUp: 0 });
    await live.member.return!();
    await settle();
    expect(h.cohorts.stats).toEqual({ cohorts: 0, members: 0, catchingUp: 0 });
    expect(readings.hub.activeSubscriptions).toBe(0);
  });

  it('paces its replay by its socket, and releases its feed when the client leaves while catching up', async () => {
    const h = harness();
    const { readings } = h;
    readings.commit('a-1', 40);
    readings.publish();
    const resumed = await h.subscribe('a-1', cursorAt({ 0: -1, 1: -1 }));
    resumed.outlet.ready = false;
    await settle();
    // One frame waits for the network; nothing more is read or executed meanwhile.
    expect(resumed.outlet.sent).toHaveLength(1);
    resumed.outlet.release();
    resumed.outlet.ready = false;
    await settle();
    expect(resumed.outlet.sent).toHaveLength(2);
    expect(h.cohorts.stats.catchingUp).toBe(1);
    await resumed.member.return!();
    await settle();
    expect(h.cohorts.stats.catchingUp).toBe(0);
    expect(readings.hub.activeSubscriptions).toBe(0);
    expect(h.cohorts.stats).toEqual({ cohorts: 0, members: 0, catchingUp: 0 });
  });

  it('stays alone when `after` is written in the document or read by another field', async () => {
    const h = harness();
    const { readings } = h;
    readings.commit('a-1', 3);
    readings.publish();
    const live = await h.subscribe('a-1');
    const literal = parse(`subscription { readingAdded(deviceId: "a-1", after: "${cursorAt({ 0: 0, 1: -1 })}") { partition offset } }`);
    const twice = parse(
      'subscription Readings($device: ID!, $after: String) { readingAdded(deviceId: $device, after: $after) { partition offset echo(text: $after) } }',
    );
    const results: string[][] = [];
    for (const source of [literal, twice]) {
      // Given a socket to write to, it is still pulled as graphql-js's own subscribe is.
      const outlet = new FakeOutlet();
      const iterator = (await h.cohorts.subscribe({
        schema: h.schema,
        document: source,
        variableValues: { device: 'a-1', after: cursorAt({ 0: 0, 1: -1 }) },
        contextValue: { outlet },
      })) as AsyncIterator<ExecutionResult>;
      const seen: string[] = [];
      for (let i = 0; i < 2; i++) {
        const { value } = await iterator.next();
        const event = (value as ExecutionResult).data!['readingAdded'] as Delivered & { echo?: string };
        seen.push(`${event.partition}/${event.offset}${event.echo ? ' echo' : ''}`);
      }
      results.push(seen);
      expect(outlet.sent).toEqual([]);
      await iterator.return!();
    }
    expect(results).toEqual([
      ['0/1', '0/2'],
      ['0/1 echo', '0/2 echo'],
    ]);
    expect(h.cohorts.stats).toEqual({ cohorts: 1, members: 1, catchingUp: 0 });
    await live.member.return!();
  });
});

describe('subscribers resuming from one cursor share one replay', () => {
  /** Holds every replay read until `open()`: subscribers that come meanwhile find the first replay where it started. */
  function holdReads(readings: FakeReadings): () => void {
    let open = () => {};
    readings.readGate = new Promise<void>((resolve) => (open = resolve));
    return () => {
      readings.readGate = undefined;
      open();
    };
  }

  /**
   * `count` readings of a-1 stored, then two subscribers resuming from before them, the second
   * following the first's replay (its reads held until `open()`).
   */
  async function twoSharingOneReplay(h: ReturnType<typeof harness>, count: number) {
    h.readings.commit('a-1', count);
    h.readings.publish();
    const cursor = cursorAt({ 0: -1, 1: -1 });
    const open = holdReads(h.readings);
    const first = await h.subscribe('a-1', cursor);
    const second = await h.subscribe('a-1', cursor);
    return { first, second, open, cursor };
  }

  /** The replay reads one subscriber resuming alone from `cursor` makes, over what `setup` stores. */
  async function readsOfOne(setup: (readings: FakeReadings) => void, cursor: string): Promise<number> {
    const h = harness();
    setup(h.readings);
    await h.subscribe('a-1', cursor);
    await until(() => h.cohorts.stats.catchingUp === 0);
    return h.readings.pageReads.length;
  }

  it('reads and executes once for all of them; each gets every event after the cursor once, in order, and all join the cohort', async () => {
    const h = harness();
    const { readings } = h;
    const setup = (readings: FakeReadings) => {
      readings.commit('a-1', 10);
      readings.commit('b-1', 3);
      readings.publish();
    };
    setup(readings);
    const cursor = cursorAt({ 0: 2, 1: -1 });
    const open = holdReads(readings);
    const first = await h.subscribe('a-1', cursor);
    const others = [await h.subscribe('a-1', cursor), await h.subscribe('a-1', cursor)];
    // Their own feeds closed once they followed the first one: one feed listens.
    expect(readings.hub.activeSubscriptions).toBe(1);
    expect(h.cohorts.replays).toBe(1);
    expect(h.cohorts.stats).toEqual({ cohorts: 0, members: 0, catchingUp: 3 });
    open();
    await until(() => h.cohorts.stats.catchingUp === 0);
    expect(h.cohorts.stats).toEqual({ cohorts: 1, members: 3, catchingUp: 0 });
    // Three subscribers, the reads of one.
    expect(readings.pageReads).toHaveLength(await readsOfOne(setup, cursor));
    readings.commit('a-1', 2);
    readings.publish();
    await settle();
    const expected = readings.storedOf('a-1', decodeCursor(cursor));
    expect(expected).toHaveLength(9);
    for (const subscriber of [first, ...others]) expect(subscriber.outlet.ids()).toEqual(expected);
    // One execution for all: each frame carries the same cursor, and the last resumes with nothing missed.
    const cursors = (subscriber: { outlet: FakeOutlet }) => subscriber.outlet.sent.map((event) => event.cursor);
    for (const other of others) expect(cursors(other)).toEqual(cursors(first));
    const again = await h.subscribe('a-1', others[1]!.outlet.sent.at(-1)!.cursor);
    readings.commit('a-1');
    readings.publish();
    await settle();
    expect(again.outlet.ids()).toEqual(readings.storedOf('a-1').slice(-1));
  });

  it('is not followed from a cursor it has moved past, nor from one behind it; it is from exactly where it stands', async () => {
    const h = harness();
    const { readings } = h;
    readings.commit('a-1', 8);
    readings.publish();
    const first = await h.subscribe('a-1', cursorAt({ 0: -1, 1: -1 }));
    // Its socket holds its first frame: the replay stands at event 0/0.
    first.outlet.ready = false;
    await settle();
    expect(first.outlet.ids()).toEqual(['0/0']);
    const fromStart = await h.subscribe('a-1', cursorAt({ 0: -1, 1: -1 })); // behind it: a replay of its own
    const fromAhead = await h.subscribe('a-1', cursorAt({ 0: 3, 1: -1 })); // ahead of it: of its own too
    const fromThere = await h.subscribe('a-1', cursorAt({ 0: 0, 1: -1 })); // where it stands: follows
    expect(readings.hub.activeSubscriptions).toBe(3);
    first.outlet.release();
    await until(() => h.cohorts.stats.catchingUp === 0);
    readings.commit('a-1');
    readings.publish();
    await settle();
    expect(first.outlet.ids()).toEqual(readings.storedOf('a-1'));
    expect(fromStart.outlet.ids()).toEqual(readings.storedOf('a-1'));
    expect(fromAhead.outlet.ids()).toEqual(readings.storedOf('a-1', new Map([[0, 3]])));
    expect(fromThere.outlet.ids()).toEqual(readings.storedOf('a-1', new Map([[0, 0]])));
    expect(h.cohorts.stats).toEqual({ cohorts: 1, members: 4, catchingUp: 0 });
  });

  it('leaves behind a follower whose socket stops taking frames: the others go on; it gets its frames in order once its socket drains', async () => {
    const h = harness({ slowestFollowerWaitMs: 1 });
    const { readings } = h;
    const { first: fast, second: stuck, open } = await twoSharingOneReplay(h, 30);
    stuck.outlet.ready = false;
    open();
    await until(() => fast.outlet.sent.length === 30);
    expect(stuck.outlet.ids()).toEqual(['0/0']);
    stuck.outlet.release();
    await until(() => h.cohorts.stats.catchingUp === 0);
    readings.commit('a-1');
    readings.publish();
    await settle();
    expect(fast.outlet.ids()).toEqual(readings.storedOf('a-1'));
    expect(stuck.outlet.ids()).toEqual(readings.storedOf('a-1'));
  });

  it('ends a follower left behind past its queue with SLOW_SUBSCRIBER, after what it queued; the others are not ended', async () => {
    const h = harness({ slowestFollowerWaitMs: 1, maxQueued: 5 });
    const { readings } = h;
    const { first: fast, second: stuck, open } = await twoSharingOneReplay(h, 30);
    stuck.outlet.ready = false;
    const ending = stuck.member.next();
    open();
    await until(() => fast.outlet.sent.length === 30);
    stuck.outlet.release();
    await expect(ending).rejects.toThrow('slow');
    // The frame on the wire and the five it could queue; the rest is for its last cursor to resume.
    expect(stuck.outlet.ids()).toEqual(readings.storedOf('a-1').slice(0, 6));
    await until(() => h.cohorts.stats.catchingUp === 0);
    expect(h.cohorts.stats).toEqual({ cohorts: 1, members: 1, catchingUp: 0 });
    expect(h.cohorts.replays).toBe(0);
  });

  it('paces the replay by a subscriber left behind once it is the only one left: it is not ended for a queue it did not choose', async () => {
    const h = harness({ slowestFollowerWaitMs: 1, maxQueued: 2 });
    const { readings } = h;
    const { first: fast, second: slow, open } = await twoSharingOneReplay(h, 30);
    fast.outlet.ready = false;
    slow.outlet.ready = false;
    let slowFailure: unknown;
    slow.member.next().catch((error: unknown) => (slowFailure = error));
    open();
    await settle();
    expect(fast.outlet.ids()).toEqual(['0/0']);
    expect(slow.outlet.ids()).toEqual(['0/0']);
    // The fast one takes two more frames; the slow one, still holding its first, is left behind
    // and queues them: its queue is full.
    for (const taken of [2, 3]) {
      fast.outlet.release();
      fast.outlet.ready = false;
      await until(() => fast.outlet.sent.length === taken);
    }
    expect([slow.outlet.sent.length, (slow.member as OutletMember).size]).toEqual([1, 2]);
    // The fast one leaves while the replay waits for someone to take a frame. Alone now, the slow
    // one is waited for, however long: not one more event is taken for its full queue.
    await fast.member.return!();
    await settle();
    expect([slow.outlet.sent.length, (slow.member as OutletMember).size]).toEqual([1, 2]);
    expect(slowFailure).toBeUndefined();
    slow.outlet.release();
    await until(() => h.cohorts.stats.catchingUp === 0);
    readings.commit('a-1');
    readings.publish();
    await settle();
    expect(slow.outlet.ids()).toEqual(readings.storedOf('a-1'));
    expect(slowFailure).toBeUndefined();
  });

  it('gathers subscribers resuming from the same cursor for a moment before it starts', async () => {
    // Long enough never to pass between three subscribes; the test waits for the deliveries, not for a time.
    const h = harness({ replayGatherMs: 1000 });
    const { readings } = h;
    const setup = (readings: FakeReadings) => {
      readings.commit('a-1', 5);
      readings.publish();
    };
    setup(readings);
    const cursor = cursorAt({ 0: 1, 1: -1 });
    const subscribers = [await h.subscribe('a-1', cursor), await h.subscribe('a-1', cursor), await h.subscribe('a-1', cursor)];
    expect(readings.hub.activeSubscriptions).toBe(1);
    await until(() => h.cohorts.stats.catchingUp === 0);
    for (const subscriber of subscribers) expect(subscriber.outlet.ids()).toEqual(['0/2', '0/3', '0/4']);
    expect(readings.pageReads).toHaveLength(await readsOfOne(setup, cursor));
  });

  it('is not followed once its feed is ending: one resuming from where it stands replays alone', async () => {
    const h = harness();
    const { readings } = h;
    readings.commit('a-1', 6);
    readings.publish();
    const first = await h.subscribe('a-1', cursorAt({ 0: -1, 1: -1 }));
    // Its socket holds its first frame: the replay stands at 0/0, its feed open.
    first.outlet.ready = false;
    await settle();
    expect(first.outlet.ids()).toEqual(['0/0']);
    let firstFailure: unknown;
    first.member.next().catch((error: unknown) => (firstFailure = error));
    // Deleted and registered again: the feed opened before ends (after what it holds), later ones go on.
    const { mark } = readings.hub.subscribedDevices();
    const deleted = new Error('device deleted');
    readings.hub.endDevice(TENANT, 'a-1', deleted, mark);
    const late = await h.subscribe('a-1', cursorAt({ 0: 0, 1: -1 }));
    expect(h.cohorts.replays).toBe(2);
    await until(() => late.outlet.sent.length === 5);
    expect(late.outlet.ids()).toEqual(readings.storedOf('a-1', new Map([[0, 0]])));
    first.outlet.release();
    await until(() => firstFailure !== undefined);
    expect(firstFailure).toBe(deleted);
    await until(() => h.cohorts.replays === 0);
  });

  it('a follower leaving does not end the replay for the others; the last one leaving releases its feed', async () => {
    const h = harness();
    const { readings } = h;
    const { first: opener, second: follower, open, cursor } = await twoSharingOneReplay(h, 6);
    await opener.member.return!(); // the one that opened it leaves first
    expect(h.cohorts.stats.catchingUp).toBe(1);
    open();
    await until(() => h.cohorts.stats.catchingUp === 0);
    expect(follower.outlet.ids()).toEqual(readings.storedOf('a-1'));
    expect(opener.outlet.ids()).toEqual([]);
    await follower.member.return!();
    await settle();
    expect(h.cohorts.stats).toEqual({ cohorts: 0, members: 0, catchingUp: 0 });
    expect(readings.hub.activeSubscriptions).toBe(0);

    // Both leave while it replays: its feed is released.
    const reopen = holdReads(readings);
    const a = await h.subscribe('a-1', cursor);
    const b = await h.subscribe('a-1', cursor);
    await a.member.return!();
    expect(h.cohorts.replays).toBe(1);
    await b.member.return!();
    expect(h.cohorts.replays).toBe(0);
    reopen();
    await settle();
    expect(h.cohorts.stats).toEqual({ cohorts: 0, members: 0, catchingUp: 0 });
    expect(readings.hub.activeSubscriptions).toBe(0);
  });
});
