import { GraphQLInt, GraphQLObjectType, GraphQLSchema, type ExecutionResult } from 'graphql';
import { makeServer, MessageType } from 'graphql-ws';
import { expandNextFrame, SharedNextPayloads, type PendingPayloads } from '../../src/server/shared-next-payload';

/**
 * graphql-ws's own protocol core with the two hooks as the service sets them: each subscriber
 * of one ExecutionResult gets its own exact `next` frame, and the payload is serialised once.
 */
describe('next payloads serialised once', () => {
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt } } }),
    subscription: new GraphQLObjectType({ name: 'Subscription', fields: { tick: { type: GraphQLInt } } }),
  });

  it('sends every subscriber a frame with its own id and the shared payload, serialising it once', async () => {
    let serialisations = 0;
    const data = { tick: 7, toJSON: () => (serialisations++, { tick: 7 }) };
    const shared: ExecutionResult = { data };
    const payloads = new SharedNextPayloads((result) => result);
    const server = makeServer<undefined, { pending: PendingPayloads }>({
      schema,
      // Every subscription yields the same result object, as the members of a cohort do.
      subscribe: () =>
        (async function* () {
          yield shared;
        })(),
      onNext: (ctx, id, _payload, _args, result) => payloads.standIn(ctx.extra.pending, id, result),
    });
    const frames: string[] = [];
    const pending: PendingPayloads = new Map();
    let deliver: (data: string) => Promise<void> = async () => {};
    const closed = server.opened(
      {
        protocol: 'graphql-transport-ws',
        send: (message) => void frames.push(expandNextFrame(message, pending)),
        close: () => {},
        onMessage: (callback) => (deliver = callback),
      },
      { pending },
    );
    await deliver(JSON.stringify({ type: MessageType.ConnectionInit }));
    const ids = ['1', 'quote"and\\slash', 'ünï'];
    for (const id of ids) await deliver(JSON.stringify({ id, type: MessageType.Subscribe, payload: { query: 'subscription { tick }' } }));

    const nexts = frames.filter((frame) => frame.includes('"type":"next"'));
    expect(nexts).toEqual(ids.map((id) => JSON.stringify({ id, type: 'next', payload: { data: { tick: 7 } } })));
    expect(serialisations).toBe(1);
    // The other messages pass through unchanged; nothing is left waiting for a frame.
    expect(frames.filter((frame) => frame.includes('"type":"complete"'))).toEqual(ids.map((id) => JSON.stringify({ id, type: 'complete' })));
    expect(pending.size).toBe(0);
    await closed(1000, 'done');
  });

  it('leaves every other message as graphql-ws wrote it', () => {
    const pending: PendingPayloads = new Map();
    for (const message of [
      JSON.stringify({ type: 'connection_ack' }),
      JSON.stringify({ id: '1', type: 'next', payload: { data: { text: ',"type":"next","payload":"x"}' } } }),
      JSON.stringify({ id: '1', type: 'error', payload: [{ message: 'no' }] }),
    ])
      expect(expandNextFrame(message, pending)).toBe(message);
  });
});
