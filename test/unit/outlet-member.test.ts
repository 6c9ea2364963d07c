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

type Ctx = Context<Record<string, unknown> | undefined, ConnectionExtra>;

interface ConnectionOptions {
  /** Members written straight to the socket (the service's way), or pulled by graphql-ws. */
  readonly direct: boolean;
  /** The socket's high-water mark, asked before each frame the cohort writes. */
  readonly ready?: () => boolean;
  /** When a frame written above the mark has left: at once (next turn), or when the test says (`leave()`). */
  readonly frameLeaves?: 'soon' | 'when-told';
  readonly maxQueued?: number;
  /** Formats a result's payload (the service formats errors); may throw. */
  readonly format?: (result: ExecutionResult) => unknown;
}

/**
 * One graphql-ws connection as the service serves it, over graphql-ws's own protocol core,
 * small: `tick(channel)` streams what is published, a negative number is a field error, and a
 * subscriber's own source may be slow to close (`closeSlowly`), as when it joins a cohort.
 */
async function connection(options: ConnectionOptions) {
  const channels = new Set<AsyncQueue<number>>();
  let slowClose: Promise<void> | undefined;
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
            const closing = slowClose;
            if (!closing) return queue;
            // A source whose close takes a while: a joining subscriber awaits it inside subscribe.
            return Object.assign(Object.create(queue) as AsyncQueue<number>, {
              return: async () => (await closing, queue.return()),
            });
          },
          resolve: (value: number) => {
            if (value < 0) throw new GraphQLError(`negative: ${value}`, { extensions: { code: 'BAD_VALUE' } });
            return value;
          },
        },
      },
    }),
  });
  const payloads = new SharedNextPayloads(options.format ?? ((result) => result));
  const outlets = new WeakMap<object, NextFrameOutlet>();
  const cohorts = new SubscriptionCohorts({
    scopeOf: () => 'tenant',
    slowMember: (field, max) => new Error(`slow ${field} ${max}`),
    maxQueued: options.maxQueued,
    outletOf: options.direct ? (contextValue) => outlets.get(contextValue as object) : undefined,
  });
  const frames: string[] = [];
  const leaving: (() => void)[] = [];
  const writer: FrameWriter = {
    open: true,
    get ready() {
      return options.ready?.() ?? true;
    },
    write(data, written) {
      frames.push(typeof data === 'string' ? data : new TextDecoder('utf-8', { fatal: true }).decode(data));
      if (!written) return;
      if (options.frameLeaves === 'when-told') leaving.push(written);
      else setImmediate(written);
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
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  const connection = {
    frames,
    cohorts,
    channels,
    delivered: () => delivered,
    client: (message: object) => void receive(JSON.stringify(message)),
    subscribe: (id: string) => connection.client({ id, type: MessageType.Subscribe, payload: { query: 'subscription { tick(channel: "c") }' } }),
    publish(...values: number[]) {
      for (const value of values) for (const channel of channels) channel.push(value);
    },
    /** Sources created from now on close only when `open()` is called. */
    closeSlowly(): () => void {
      let open!: () => void;
      slowClose = new Promise((resolve) => (open = resolve));
      return () => {
        slowClose = undefined;
        open();
      };
    },
    /** Lets the oldest frame waiting above the high-water mark leave. */
    leave: () => leaving.shift()?.(),
    turn,
    async framesReach(count: number) {
      for (let turns = 0; frames.length < count; turns++) {
        if (turns > 1_000) throw new Error(`${frames.length} of ${count} frames: ${frames.join(' ')}`);
        await turn();
      }
    },
    close: () => closed(1000, 'done'),
  };
  connection.client({ type: MessageType.ConnectionInit });
  await connection.framesReach(1); // connection_ack
  return connection;
}

const framesOf = (frames: string[], id: string) => frames.filter((frame) => (JSON.parse(frame) as { id?: string }).id === id);

/**
 * The same session through graphql-ws's protocol core twice: cohort members pulled by
 * graphql-ws (the path before outlets) and members written straight to the socket. A client
 * must not be able to tell them apart, frame for frame.
 */
describe('frames written by the cohort are the frames graphql-ws would write', () => {
  async function session(direct: boolean, ready: () => boolean): Promise<string[]> {
    const c = await connection({ direct, ready });
    c.subscribe('1');
    c.subscribe('quote"and\\slash');
    await c.turn();
    expect(c.cohorts.stats).toEqual({ cohorts: 1, members: 2, catchingUp: 0 });
    c.publish(1, 2, -3);
    await c.framesReach(1 + 6);
    c.client({ id: '1', type: MessageType.Complete });
    c.subscribe('ünï');
    await c.turn();
    expect(c.cohorts.stats).toEqual({ cohorts: 1, members: 2, catchingUp: 0 });
    c.publish(4);
    await c.framesReach(7 + 2);
    for (const channel of c.channels) channel.end();
    await c.framesReach(9 + 2); // both complete
    expect(c.delivered()).toBe(8);
    expect(c.cohorts.stats).toEqual({ cohorts: 0, members: 0, catchingUp: 0 });
    await c.close();
    return c.frames;
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

  it('writes nothing for an operation the client completed while it was still joining its cohort', async () => {
    const c = await connection({ direct: true });
    c.subscribe('first');
    await c.turn();
    const open = c.closeSlowly();
    c.subscribe('joining');
    await c.turn();
    // Joined the cohort; graphql-ws has not registered its iterator yet (its own source is closing).
    expect(c.cohorts.stats).toEqual({ cohorts: 1, members: 2, catchingUp: 0 });
    c.client({ id: 'joining', type: MessageType.Complete });
    await c.turn();
    c.publish(1);
    await c.framesReach(2);
    open();
    for (let turns = 0; c.cohorts.stats.members > 1; turns++) {
      if (turns > 1_000) throw new Error('the completed member never left');
      await c.turn();
    }
    c.publish(2);
    await c.framesReach(3);
    expect(framesOf(c.frames, 'first')).toHaveLength(2);
    expect(framesOf(c.frames, 'joining')).toEqual([]);
    await c.close();
  });

  it('drops what waits above the high-water mark when the client completes, and sends no complete', async () => {
    const c = await connection({ direct: true, ready: () => false, frameLeaves: 'when-told' });
    c.subscribe('1');
    await c.turn();
    c.publish(1, 2, 3);
    await c.framesReach(2);
    c.client({ id: '1', type: MessageType.Complete });
    await c.turn();
    expect(c.cohorts.stats).toEqual({ cohorts: 0, members: 0, catchingUp: 0 });
    c.leave();
    await c.turn();
    expect(framesOf(c.frames, '1')).toEqual([JSON.stringify({ id: '1', type: 'next', payload: { data: { tick: 1 } } })]);
    await c.close();
  });

  it('ends a member that fell maxQueued behind with its error after the frames it had queued; the others go on', async () => {
    let slowSocket = true;
    const c = await connection({ direct: true, maxQueued: 2, ready: () => !slowSocket, frameLeaves: 'when-told' });
    c.subscribe('slow');
    await c.turn();
    c.publish(1, 2, 3, 4);
    await c.framesReach(2);
    slowSocket = false;
    c.subscribe('fast');
    await c.turn();
    c.publish(5);
    await c.framesReach(3);
    c.leave(); // frame 1 left: 2 and 3 follow, then the error (4 was refused)
    await c.framesReach(6);
    expect(framesOf(c.frames, 'slow')).toEqual([
      ...[1, 2, 3].map((tick) => JSON.stringify({ id: 'slow', type: 'next', payload: { data: { tick } } })),
      JSON.stringify({ id: 'slow', type: 'error', payload: [{ message: 'slow tick 2' }] }),
    ]);
    expect(c.cohorts.stats).toEqual({ cohorts: 1, members: 1, catchingUp: 0 });
    c.publish(6);
    await c.framesReach(7);
    expect(framesOf(c.frames, 'fast').map((frame) => (JSON.parse(frame) as { payload: { data: { tick: number } } }).payload.data.tick)).toEqual([5, 6]);
    await c.close();
  });

  it('ends only the operations whose frame could not be written with that error, and releases the source once none is left', async () => {
    const c = await connection({
      direct: true,
      format: (result) => {
        if (result.data?.['tick'] === 13) throw new Error('cannot format 13');
        return result;
      },
    });
    c.subscribe('1');
    c.subscribe('2');
    await c.turn();
    c.publish(12, 13, 14);
    await c.framesReach(1 + 4);
    for (const id of ['1', '2'])
      expect(framesOf(c.frames, id)).toEqual([
        JSON.stringify({ id, type: 'next', payload: { data: { tick: 12 } } }),
        JSON.stringify({ id, type: 'error', payload: [{ message: 'cannot format 13' }] }),
      ]);
    for (let turns = 0; c.channels.size > 0; turns++) {
      if (turns > 1_000) throw new Error('the shared source was never released');
      await c.turn();
    }
    expect(c.cohorts.stats).toEqual({ cohorts: 0, members: 0, catchingUp: 0 });
    await c.close();
  });
});
