import { GraphQLError, GraphQLInt, GraphQLObjectType, GraphQLSchema, GraphQLString, type ExecutionResult } from 'graphql';
import { makeServer, MessageType, type Context } from 'graphql-ws';
import type { ConnectionExtra, FrameWriter } from '../../src/server/graphql-ws-transport';
import { operationOutlet } from '../../src/server/operation-outlet';
import { OutletMember, type NextFrameOutlet } from '../../src/server/outlet-member';
import { expandNextFrame, SharedNextPayloads, type PendingPayloads } from '../../src/server/shared-next-payload';
import { SubscriptionCohorts } from '../../src/server/subscription-cohorts';
import { AsyncQueue } from '../../src/subscriptions/async-queue';

/** A socket as an outlet sees it: `ready` is the high-water mark, `release()` lets the oldest waiting frame leave. */
class FakeOutlet implements NextFrameOutlet {
  open = true;
  ready = true;
  readonly sent: unknown[] = [];
  private readonly waiting: (() => void)[] = [];

  send(result: ExecutionResult, written?: () => void): void {
    this.sent.push(result.data?.['tick']);
    if (written) this.waiting.push(written);
  }

  release(): void {
    this.waiting.shift()?.();
  }
}

const tick = (value: number): ExecutionResult => ({ data: { tick: value } });

/** Whether a promise has settled once everything already queued has run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('a cohort member written straight to its socket', () => {
  function member(maxQueued = 10) {
    const outlet = new FakeOutlet();
    let closes = 0;
    const m = new OutletMember(outlet, maxQueued, () => closes++);
    return { outlet, m, closes: () => closes };
  }

  it('writes each result at once while the socket takes them, and yields nothing to graphql-ws until it ends', async () => {
    const { outlet, m, closes } = member();
    for (const value of [1, 2, 3]) expect(m.accept(tick(value))).toBe(true);
    expect(outlet.sent).toEqual([1, 2, 3]);
    const next = m.next();
    expect(await settled(next)).toBe(false);
    m.end();
    expect(await next).toEqual({ value: undefined, done: true });
    expect(m.closed).toBe(true);
    expect(closes()).toBe(1);
  });

  it('above the high-water mark waits for its frame to leave, queues the rest in order, and refuses past maxQueued', () => {
    const { outlet, m } = member(2);
    outlet.ready = false;
    expect(m.accept(tick(1))).toBe(true);
    expect(m.accept(tick(2))).toBe(true);
    expect(m.accept(tick(3))).toBe(true);
    expect(m.size).toBe(2);
    expect(m.accept(tick(4))).toBe(false);
    expect(outlet.sent).toEqual([1]);
    outlet.ready = true;
    outlet.release();
    expect(outlet.sent).toEqual([1, 2, 3]);
    expect(m.size).toBe(0);
    expect(m.accept(tick(5))).toBe(true);
    expect(outlet.sent).toEqual([1, 2, 3, 5]);
  });

  it('fails, or ends, only after what it had queued was written', async () => {
    const { outlet, m } = member();
    outlet.ready = false;
    m.accept(tick(1));
    m.accept(tick(2));
    const failure = new Error('slow');
    m.fail(failure);
    m.accept(tick(3)); // after the ending: dropped
    const next = m.next();
    expect(await settled(next)).toBe(false);
    outlet.release();
    expect(await settled(next)).toBe(false);
    outlet.release();
    await expect(next).rejects.toBe(failure);
    expect(outlet.sent).toEqual([1, 2]);
    expect(await m.next()).toEqual({ value: undefined, done: true });

    const ended = member();
    ended.outlet.ready = false;
    ended.m.accept(tick(1));
    ended.m.accept(tick(2));
    ended.m.end();
    const endedNext = ended.m.next();
    ended.outlet.release();
    expect(await settled(endedNext)).toBe(false);
    ended.outlet.release();
    expect(await endedNext).toEqual({ value: undefined, done: true });
    expect(ended.outlet.sent).toEqual([1, 2]);
  });

  it('return() (the client completed, the socket closed) drops what is queued and answers the pending next()', async () => {
    const { outlet, m, closes } = member();
    outlet.ready = false;
    m.accept(tick(1));
    m.accept(tick(2));
    const next = m.next();
    expect(await m.return()).toEqual({ value: undefined, done: true });
    expect(await next).toEqual({ value: undefined, done: true });
    outlet.release();
    m.accept(tick(3));
    expect(outlet.sent).toEqual([1]);
    await m.return();
    expect(closes()).toBe(1);
  });

  it('writes nothing once its outlet is closed', () => {
    const { outlet, m } = member();
    outlet.open = false;
    expect(m.accept(tick(1))).toBe(true);
    expect(outlet.sent).toEqual([]);
  });
});

/**
 * The same session through graphql-ws's protocol core twice: cohort members pulled by
 * graphql-ws (the path before outlets) and members written straight to the socket. A client
 * must not be able to tell them apart, frame for frame.
 */
describe('frames written by the cohort are the frames graphql-ws would write', () => {
  type Ctx = Context<Record<string, unknown> | undefined, ConnectionExtra>;

  async function session(direct: boolean, ready: () => boolean): Promise<string[]> {
    const channels = new Set<AsyncQueue<number>>();
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt } } }),
      subscription: new GraphQLObjectType({
        name: 'Subscription',
        fields: {
          tick: {
            type: GraphQLInt,
            args: { channel: { type: GraphQLString } },
            subscribe: () => {
              const queue: AsyncQueue<number> = new AsyncQueue(() => channels.delete(queue));
              channels.add(queue);
              return queue;
            },
            resolve: (value: number) => {
              if (value < 0) throw new GraphQLError(`negative: ${value}`, { extensions: { code: 'BAD_VALUE' } });
              return value;
            },
          },
        },
      }),
    });
    const payloads = new SharedNextPayloads((result) => result);
    const outlets = new WeakMap<object, NextFrameOutlet>();
    const cohorts = new SubscriptionCohorts({
      scopeOf: () => 'tenant',
      slowMember: (field, max) => new Error(`slow ${field} ${max}`),
      outletOf: direct ? (contextValue) => outlets.get(contextValue as object) : undefined,
    });
    const frames: string[] = [];
    const writer: FrameWriter = {
      open: true,
      get ready() {
        return ready();
      },
      write(data, written) {
        frames.push(data.toString());
        if (written) setImmediate(written);
      },
    };
    const pending: PendingPayloads = new Map();
    let delivered = 0;
    const server = makeServer<Record<string, unknown> | undefined, ConnectionExtra>({
      schema,
      context: (ctx: Ctx, id) => {
        const contextValue = {};
        outlets.set(
          contextValue,
          operationOutlet(ctx, id, payloads, () => delivered++),
        );
        return contextValue;
      },
      subscribe: cohorts.subscribe,
      onNext: (ctx, id, _payload, _args, result) => (delivered++, payloads.standIn(ctx.extra.nextPayloads, id, result)),
    });
    let receive: (data: string) => Promise<void> = async () => {};
    const closed = server.opened(
      {
        protocol: 'graphql-transport-ws',
        send: (message) => writer.write(expandNextFrame(message, pending)),
        close: () => {},
        onMessage: (callback) => (receive = callback),
      },
      { nextPayloads: pending, frames: writer } as unknown as ConnectionExtra,
    );
    const client = (message: object) => void receive(JSON.stringify(message));
    const framesReach = async (count: number) => {
      for (let turn = 0; frames.length < count; turn++) {
        if (turn > 1_000) throw new Error(`${frames.length} of ${count} frames: ${frames.join(' ')}`);
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const publish = (...values: number[]) => {
      for (const value of values) for (const channel of channels) channel.push(value);
    };
    const subscribe = (id: string) => client({ id, type: MessageType.Subscribe, payload: { query: 'subscription { tick(channel: "c") }' } });

    client({ type: MessageType.ConnectionInit });
    await framesReach(1); // connection_ack
    subscribe('1');
    subscribe('quote"and\\slash');
    await new Promise((resolve) => setImmediate(resolve));
    expect(cohorts.stats).toEqual({ cohorts: 1, members: 2 });
    publish(1, 2, -3);
    await framesReach(1 + 6);
    client({ id: '1', type: MessageType.Complete });
    subscribe('ünï');
    await new Promise((resolve) => setImmediate(resolve));
    expect(cohorts.stats).toEqual({ cohorts: 1, members: 2 });
    publish(4);
    await framesReach(7 + 2);
    for (const channel of channels) channel.end();
    await framesReach(9 + 2); // both complete
    expect(delivered).toBe(8);
    expect(cohorts.stats).toEqual({ cohorts: 0, members: 0 });
    await closed(1000, 'done');
    return frames;
  }

  /** Each operation's frames in order: what the protocol orders (operations interleave as their sockets drain). */
  const byOperation = (frames: string[]) => {
    const operations = new Map<string, string[]>();
    for (const frame of frames) {
      const id = String((JSON.parse(frame) as { id?: string }).id);
      operations.set(id, [...(operations.get(id) ?? []), frame]);
    }
    return operations;
  };

  it('sends the same frames in the same order, below and above the high-water mark', async () => {
    const pulled = await session(false, () => true);
    expect(pulled.filter((frame) => frame.includes('"next"'))).toHaveLength(8);
    expect(pulled.at(-1)).toBe(JSON.stringify({ id: 'ünï', type: 'complete' }));
    expect(pulled).toContainEqual(
      JSON.stringify({
        id: 'quote"and\\slash',
        type: 'next',
        payload: {
          errors: [{ message: 'negative: -3', locations: [{ line: 1, column: 16 }], path: ['tick'], extensions: { code: 'BAD_VALUE' } }],
          data: { tick: null },
        },
      }),
    );
    expect(await session(true, () => true)).toEqual(pulled);
    // Every frame above the mark: each waits for the one before it to leave.
    expect(await session(true, () => false)).toEqual(pulled);
    let writes = 0;
    expect(byOperation(await session(true, () => ++writes % 2 === 0))).toEqual(byOperation(pulled));
  });
});
