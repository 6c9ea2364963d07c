import fc from 'fast-check';
import { TelemetryError } from '../../src/domain/errors';
import { ResumableFeed, type FeedSource } from '../../src/subscriptions/resumable-feed';

interface Event {
  readonly pos: number;
}

/**
 * A store and a hub as the service has them: an event is committed first (a read sees it from
 * then on) and published to live listeners later, in commit order (persist, then publish).
 */
class FakeLog {
  readonly stored: Event[] = [];
  private published = 0;
  readonly listeners = new Set<(event: Event) => void>();
  reads = 0;
  /** Runs during every read, after its snapshot was taken: what commits and publishes meanwhile. */
  duringRead: () => void = () => {};

  commit(count = 1): void {
    for (let i = 0; i < count; i++) this.stored.push({ pos: this.stored.length + 1 });
  }

  publish(count = Infinity): void {
    while (count-- > 0 && this.published < this.stored.length) {
      const event = this.stored[this.published++]!;
      for (const listener of this.listeners) listener(event);
    }
  }

  source(start: number, filter: (event: Event) => boolean = () => true): FeedSource<Event, number> & { position(): number } {
    let position = 0;
    return {
      position: () => position,
      listen: (onEvent) => {
        this.listeners.add(onEvent);
        return () => this.listeners.delete(onEvent);
      },
      start: async () => {
        position = start;
      },
      readAfter: async (limit) => {
        this.reads++;
        const snapshot = this.stored.slice(position, position + limit); // pos n is at index n - 1
        await Promise.resolve();
        this.duringRead();
        return snapshot;
      },
      advance: (event) => {
        if (event.pos <= position) return false;
        position = event.pos;
        return true;
      },
      present: (event) => (filter(event) ? event.pos : undefined),
      positions: () => new Map([[0, position]]),
      positionOf: (item) => [0, item],
      storedIn: async (ranges) => {
        const range = ranges.get(0);
        await Promise.resolve();
        return range !== undefined && this.stored.some((event) => event.pos > range[0] && event.pos <= range[1]);
      },
    };
  }
}

describe('ResumableFeed (the resume algorithm every resumable subscription uses)', () => {
  it('replays 100,000 missed events page by page, then goes live, with no gap or duplicate while commits continue, holding a bounded number of live events', async () => {
    const log = new FakeLog();
    log.commit(100_000);
    log.publish();
    // Ingest goes on during the replay: commits, and their publications some time later.
    let extra = 0;
    log.duringRead = () => {
      if (extra >= 20_000) {
        log.publish();
        return;
      }
      log.commit(97);
      extra += 97;
      log.publish(60);
    };
    const feed = await ResumableFeed.open(log.source(0), { replay: true, pageSize: 500, maxBuffered: 2_000, noun: 'events' });
    const received: number[] = [];
    for await (const pos of feed) {
      received.push(pos);
      if (received.length === log.stored.length && extra >= 20_000) break;
    }
    expect(received.length).toBe(100_000 + extra);
    expect(received.findIndex((pos, index) => pos !== index + 1)).toBe(-1);
    expect(feed.feedStats.maxHeld).toBeLessThanOrEqual(2_000);
    expect(feed.feedStats.overflows).toBeGreaterThan(0); // the bound was really exercised
    expect(log.listeners.size).toBe(0); // breaking out of the loop closed it
  });

  it('delivers every event exactly once in order, for any interleaving of commits, publications and reads (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          missed: fc.integer({ min: 0, max: 60 }),
          start: fc.integer({ min: 0, max: 10 }),
          pageSize: fc.integer({ min: 1, max: 8 }),
          maxBuffered: fc.integer({ min: 1, max: 12 }),
          steps: fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 })), { maxLength: 40 }),
          filterModulo: fc.integer({ min: 1, max: 3 }),
        }),
        async ({ missed, start, pageSize, maxBuffered, steps, filterModulo }) => {
          const log = new FakeLog();
          log.commit(missed);
          const cursor = Math.min(start, missed);
          log.publish(cursor); // the rest is committed but not yet published when the client resumes
          let step = 0;
          const applyStep = () => {
            const [commits, publications] = steps[step++] ?? [0, Infinity];
            log.commit(commits);
            log.publish(publications);
          };
          log.duringRead = applyStep;
          const wanted = (event: Event) => event.pos % filterModulo === 0;
          const expected = () => log.stored.filter((event) => event.pos > cursor && wanted(event)).map((event) => event.pos);
          const open = (after: number) =>
            ResumableFeed.open(log.source(after, wanted), { replay: true, pageSize, maxBuffered: Math.max(maxBuffered, pageSize), noun: 'events' });
          let feed = await open(cursor);
          let resumes = 0;
          const received: number[] = [];
          const settles = async (promise: Promise<unknown>) => {
            let settled = false as boolean; // set by `mark`, which the loop below awaits
            const mark = () => (settled = true);
            void promise.then(mark, mark);
            for (let hop = 0; hop < 50 && !settled; hop++) await Promise.resolve();
            return settled;
          };
          // The schedule also runs between pulls, as commits go on while a client reads.
          while (step < steps.length || received.length < expected().length) {
            applyStep();
            if (received.length === expected().length) continue;
            const next = feed.next();
            if (!(await settles(next))) {
              log.publish(); // a live feed waits for the hub: everything committed reaches it now
              if (!(await settles(next))) throw new Error(`feed stalled after ${received.length} of ${expected().length} events: one was lost`);
            }
            let result: IteratorResult<number>;
            try {
              result = await next;
            } catch (error) {
              // A client that let events pile up is ended; it resumes from the last one it got.
              expect((error as TelemetryError).details).toEqual({ reason: 'SLOW_SUBSCRIBER' });
              expect(log.listeners.size).toBe(0);
              resumes++;
              feed = await open(received.at(-1) ?? cursor);
              continue;
            }
            if (result.done) throw new Error('feed ended early');
            received.push(result.value);
          }
          expect(received).toEqual(expected());
          expect(resumes).toBeLessThan(100);
          await feed.return();
          expect(log.listeners.size).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('ends a live subscriber that lets events pile up with SLOW_SUBSCRIBER, after delivering what was queued, and stops listening', async () => {
    const log = new FakeLog();
    const feed = await ResumableFeed.open(log.source(0), { replay: false, maxBuffered: 100, noun: 'events' });
    log.commit(150);
    log.publish();
    expect(log.listeners.size).toBe(0);
    const received: number[] = [];
    let failure: unknown;
    try {
      for await (const pos of feed) received.push(pos);
    } catch (error) {
      failure = error;
    }
    expect(received).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(failure).toBeInstanceOf(TelemetryError);
    expect((failure as TelemetryError).code).toBe('UNAVAILABLE');
    expect((failure as TelemetryError).details).toEqual({ reason: 'SLOW_SUBSCRIBER' });
  });

  it('a live-only feed delivers only what is published after it starts', async () => {
    const log = new FakeLog();
    log.commit(5);
    log.publish();
    const feed = await ResumableFeed.open(log.source(5), { replay: false, noun: 'events' });
    log.commit(3);
    log.publish();
    expect([(await feed.next()).value, (await feed.next()).value, (await feed.next()).value]).toEqual([6, 7, 8]);
    await feed.return();
    expect(log.reads).toBe(0);
  });

  it('closing while a replay read is in flight ends the iteration and frees the listener', async () => {
    const log = new FakeLog();
    log.commit(10);
    const feed = await ResumableFeed.open(log.source(0), { replay: true, pageSize: 4, noun: 'events' });
    const pending = feed.next();
    await feed.return();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(await feed.next()).toEqual({ value: undefined, done: true });
    expect(log.listeners.size).toBe(0);
  });

  it('refusing to start (a bad cursor) stops listening', async () => {
    const log = new FakeLog();
    const source = log.source(0);
    const refused = new TelemetryError('BAD_USER_INPUT', 'no');
    await expect(ResumableFeed.open({ ...source, start: () => Promise.reject(refused) }, { replay: true, noun: 'events' })).rejects.toBe(refused);
    expect(log.listeners.size).toBe(0);
  });

  it('a caught-up feed asked again and again whether it moved keeps no waiter once each wait timed out, and still wakes the next', async () => {
    const log = new FakeLog();
    log.commit(3);
    log.publish();
    const feed = await ResumableFeed.open(log.source(3), { replay: false, noun: 'events' });
    expect(feed.caughtUp).toBe(true);
    for (let i = 0; i < 50; i++) await feed.whenMoved(1);
    expect(feed.feedStats.waiting).toBe(0);
    const moved = feed.whenMoved(60_000);
    expect(feed.feedStats.waiting).toBe(1);
    log.commit();
    log.publish();
    await moved;
    expect(feed.feedStats.waiting).toBe(0);
    expect(await feed.next()).toEqual({ value: 4, done: false });
    await feed.return();
  });
});
