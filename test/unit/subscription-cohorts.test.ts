import { GraphQLError, GraphQLInt, GraphQLObjectType, GraphQLSchema, GraphQLString, parse, type ExecutionResult } from 'graphql';
import { AsyncQueue } from '../../src/subscriptions/async-queue';
import { SubscriptionCohorts } from '../../src/server/subscription-cohorts';

interface Context {
  readonly tenant: string;
}

/**
 * A hub and a schema as the service has them, small: `tick(channel)` streams the numbers
 * published on a tenant's channel. It counts what cohorts must save: open sources (hub
 * subscriptions) and executions of the subscription field, one per event per cohort.
 */
class Harness {
  readonly listeners = new Set<{ tenant: string; channel: string; queue: AsyncQueue<number> }>();
  /** Channels whose subscribe is refused (as an unknown device is), decided at each subscribe. */
  readonly refused = new Set<string>();
  executions = 0;
  readonly cohorts = new SubscriptionCohorts({
    scopeOf: (context) => (context as Context).tenant,
    slowMember: (rootField, maxQueued) => new Error(`slow: ${rootField} ${maxQueued}`),
    maxQueued: 3,
  });

  readonly schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        tick: {
          type: GraphQLInt,
          args: { channel: { type: GraphQLString }, after: { type: GraphQLString } },
          subscribe: (_root, args: { channel: string }, context: Context) => {
            if (this.refused.has(args.channel)) throw new GraphQLError(`no channel ${args.channel}`, { extensions: { code: 'NOT_FOUND' } });
            const listener = { tenant: context.tenant, channel: args.channel, queue: new AsyncQueue<number>(() => this.listeners.delete(listener)) };
            this.listeners.add(listener);
            return listener.queue;
          },
          resolve: (value: number) => {
            this.executions++;
            return value;
          },
        },
      },
    }),
  });

  publish(tenant: string, channel: string, ...values: number[]): void {
    for (const value of values)
      for (const listener of this.listeners) if (listener.tenant === tenant && listener.channel === channel) listener.queue.push(value);
  }

  async subscribe(
    tenant: string,
    variables: Record<string, unknown>,
    query = 'subscription($channel: String, $after: String) { tick(channel: $channel, after: $after) }',
  ) {
    const result = await this.cohorts.subscribe({ schema: this.schema, document: parse(query), variableValues: variables, contextValue: { tenant } });
    return result as AsyncIterableIterator<ExecutionResult> & ExecutionResult;
  }
}

const values = async (member: AsyncIterator<ExecutionResult>, count: number) => {
  const received: unknown[] = [];
  for (let i = 0; i < count; i++) received.push(((await member.next()).value as ExecutionResult).data?.['tick']);
  return received;
};

describe('subscription cohorts', () => {
  it('executes each event once for every subscriber of the same document, variables and scope, and delivers it to each', async () => {
    const h = new Harness();
    const members = await Promise.all([1, 2, 3, 4, 5].map(() => h.subscribe('a', { channel: 'c' })));
    expect(h.listeners.size).toBe(1);
    expect(h.cohorts.stats).toEqual({ cohorts: 1, members: 5, catchingUp: 0 });
    h.publish('a', 'c', 10, 11, 12);
    for (const member of members) expect(await values(member, 3)).toEqual([10, 11, 12]);
    expect(h.executions).toBe(3);
    // Every member got the very same result object: nothing was executed per subscriber.
    h.publish('a', 'c', 13);
    const shared = await Promise.all(members.map((member) => member.next()));
    expect(new Set(shared.map((step) => step.value)).size).toBe(1);
  });

  it('never merges different variables, tenants or resume cursors', async () => {
    const h = new Harness();
    const a1 = await h.subscribe('a', { channel: 'c' });
    const a2 = await h.subscribe('a', { channel: 'other' });
    const b = await h.subscribe('b', { channel: 'c' });
    const resuming = [await h.subscribe('a', { channel: 'c', after: 'x' }), await h.subscribe('a', { channel: 'c', after: 'x' })];
    expect(h.listeners.size).toBe(5);
    expect(h.cohorts.stats).toEqual({ cohorts: 3, members: 3, catchingUp: 0 });
    h.publish('a', 'c', 1);
    h.publish('b', 'c', 2);
    h.publish('a', 'other', 3);
    expect(await values(a1, 1)).toEqual([1]);
    expect(await values(a2, 1)).toEqual([3]);
    // Tenant b's subscriber of the same document gets b's event, never a's.
    expect(await values(b, 1)).toEqual([2]);
    for (const r of resuming) expect(await values(r, 1)).toEqual([1]);
  });

  it('gives a member arriving mid-stream the events from its arrival on, and a member leaving never stops the others', async () => {
    const h = new Harness();
    const first = await h.subscribe('a', { channel: 'c' });
    h.publish('a', 'c', 1, 2);
    expect(await values(first, 2)).toEqual([1, 2]);
    const late = await h.subscribe('a', { channel: 'c' });
    h.publish('a', 'c', 3);
    expect(await values(late, 1)).toEqual([3]);
    expect(await values(first, 1)).toEqual([3]);
    await first.return!();
    h.publish('a', 'c', 4);
    expect(await values(late, 1)).toEqual([4]);
    expect(h.listeners.size).toBe(1);
    expect(await first.next()).toEqual({ value: undefined, done: true });
  });

  it('closes the shared source when the last member leaves, and opens a new cohort for the next subscriber', async () => {
    const h = new Harness();
    const members = [await h.subscribe('a', { channel: 'c' }), await h.subscribe('a', { channel: 'c' })];
    for (const member of members) await member.return!();
    expect(h.listeners.size).toBe(0);
    expect(h.cohorts.stats).toEqual({ cohorts: 0, members: 0, catchingUp: 0 });
    const again = await h.subscribe('a', { channel: 'c' });
    h.publish('a', 'c', 7);
    expect(await values(again, 1)).toEqual([7]);
    expect(h.cohorts.stats).toEqual({ cohorts: 1, members: 1, catchingUp: 0 });
  });

  it('ends a member that stops reading alone, after what it had queued, while the others keep receiving', async () => {
    const h = new Harness();
    const slow = await h.subscribe('a', { channel: 'c' });
    const fast = await h.subscribe('a', { channel: 'c' });
    const received: unknown[] = [];
    for (let v = 1; v <= 6; v++) {
      h.publish('a', 'c', v);
      received.push(...(await values(fast, 1)));
    }
    expect(received).toEqual([1, 2, 3, 4, 5, 6]);
    expect(h.cohorts.stats).toEqual({ cohorts: 1, members: 1, catchingUp: 0 });
    expect(await values(slow, 3)).toEqual([1, 2, 3]);
    await expect(slow.next()).rejects.toThrow('slow: tick 3');
    h.publish('a', 'c', 7);
    expect(await values(fast, 1)).toEqual([7]);
  });

  it("answers each subscriber's refusal itself: a refusal is never shared, nor an earlier success", async () => {
    const h = new Harness();
    h.refused.add('c');
    const refused = await h.subscribe('a', { channel: 'c' });
    expect(refused.errors?.[0]?.extensions).toEqual({ code: 'NOT_FOUND' });
    h.refused.delete('c');
    const member = await h.subscribe('a', { channel: 'c' });
    expect(member.errors).toBeUndefined();
    // The channel goes away: a new subscriber is refused, the cohort already open goes on.
    h.refused.add('c');
    const refusedAgain = await h.subscribe('a', { channel: 'c' });
    expect(refusedAgain.errors?.[0]?.message).toBe('no channel c');
    h.publish('a', 'c', 5);
    expect(await values(member, 1)).toEqual([5]);
    expect(h.cohorts.stats).toEqual({ cohorts: 1, members: 1, catchingUp: 0 });
  });
});
