import type { GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { execute, getOperationAST, parse, type DocumentNode, type ExecutionResult, type GraphQLError } from 'graphql';
import type { Caller } from '../../src/domain/caller';
import { TelemetryError } from '../../src/domain/errors';
import type { ReadingInput } from '../../src/domain/reading';
import type { GraphQLContext } from '../../src/resolvers/context';
import { buildTelemetrySchema } from '../../src/schema/build-schema';
import { isCompiledOperation } from '../../src/server/compiled-operations';
import { createGraphQLExecutor } from '../../src/server/graphql-executor';

/**
 * The executor Apollo runs (graphql-executor.ts): ingest mutations compiled by graphql-jit from
 * their second run, everything else by graphql-js. Differential: every case is executed both ways against the
 * real schema and resolvers, with an ingest service that records what it is handed; the
 * answers (data, error messages, paths, locations, codes) and the readings handed over must
 * be the same.
 */

const schema = buildTelemetrySchema();

/** A context whose ingest service records the readings and refuses device "refused" with a TelemetryError. */
function recordingContext(): { context: GraphQLContext; received: ReadingInput[][] } {
  const received: ReadingInput[][] = [];
  const ingest = (_caller: unknown, readings: readonly ReadingInput[]) => {
    received.push(readings.map((reading) => ({ ...reading, metrics: reading.metrics.map((metric) => ({ ...metric })) })));
    if (readings.some((reading) => reading.deviceId === 'refused'))
      return Promise.reject(new TelemetryError('PAYLOAD_TOO_LARGE', 'refused on purpose', { details: { limit: 1 } }));
    return Promise.resolve({
      accepted: readings.map((reading, index) => ({ index, eventId: `e-${index}`, deviceId: reading.deviceId, partition: 0, offset: index })),
      rejected: [],
    });
  };
  const context = {
    caller: { tenantId: 't', role: 'admin', deviceId: null, keyId: 'k' } satisfies Caller,
    services: { ingest: { ingest } },
  } as unknown as GraphQLContext;
  return { context, received };
}

/** The parts of an answer a client sees, errors as the formatter reads them. */
function visible(result: ExecutionResult) {
  return {
    data: result.data,
    errors: result.errors?.map((error: GraphQLError) => ({
      message: error.message,
      path: error.path,
      locations: error.locations,
      code: error.extensions['code'],
      nodes: error.nodes?.length,
      original: error.originalError instanceof TelemetryError ? error.originalError.code : undefined,
    })),
  };
}

/**
 * Runs the document through one executor twice (graphql-js the first time, compiled from the
 * second when it is an ingest mutation) and once through graphql-js alone; the two runs of the
 * executor must answer alike. Returns the executor's second run and graphql-js's.
 */
async function bothWays(source: string, variables: Record<string, unknown>, operationName?: string) {
  const document: DocumentNode = parse(source);
  // null when the name names no operation: Apollo then hands the executor none.
  const operation = getOperationAST(document, operationName);
  const executor = createGraphQLExecutor(schema);
  const run = async () => {
    const compiled = recordingContext();
    const request = {
      document,
      operation,
      operationName: operation?.name?.value ?? null,
      context: compiled.context,
      source,
      queryHash: source,
      request: { query: source, variables, operationName },
    } as unknown as GatewayGraphQLRequestContext;
    return { answer: visible(await executor(request)), received: compiled.received };
  };
  const first = await run();
  const second = await run();
  expect(second).toEqual(first);
  const plain = recordingContext();
  const viaGraphQLJs = await execute({ schema, document, contextValue: plain.context, variableValues: variables, operationName });
  return { compiled: second, graphqlJs: { answer: visible(viaGraphQLJs), received: plain.received } };
}

const BATCH =
  'mutation Batch($r: [ReadingInput!]!) { ingestReadings(readings: $r) { acceptedCount rejectedCount accepted { index deviceId } rejected { index code message } } }';
const ONE = 'mutation One($r: ReadingInput!) { ingestReading(reading: $r) { acceptedCount } }';
const reading = (overrides: Record<string, unknown> = {}) => ({
  deviceId: 'd-1',
  timestamp: '2026-12-01T10:00:00Z',
  metrics: [{ name: 'temperature', value: 21.5 }],
  ...overrides,
});

describe('the GraphQL executor: ingest mutations compiled, answering as graphql-js does', () => {
  // The last column: how many batches reached the ingest service (0: the variables were refused).
  it.each<[string, string, Record<string, unknown>, number]>([
    ['a batch', BATCH, { r: [reading(), reading({ deviceId: 'd-2', timestamp: 1764583200000, eventId: 'ev-1' }), reading({ metrics: [] })] }, 1],
    ['one reading', ONE, { r: reading({ eventId: null }) }, 1],
    ['a single object where a list is declared (coerced to a list of one)', BATCH, { r: reading() }, 1],
    ['an Int where a Float is declared', BATCH, { r: [reading({ metrics: [{ name: 'm', value: 3 }] })] }, 1],
    ['a timestamp with an offset', BATCH, { r: [reading({ timestamp: '2026-12-01T11:00:00+01:00' })] }, 1],
    ['an impossible date', BATCH, { r: [reading({ timestamp: '2026-02-30T00:00:00Z' })] }, 0],
    ['a timestamp that is not one', BATCH, { r: [reading(), reading({ timestamp: 'yesterday' })] }, 0],
    ['a missing required field', BATCH, { r: [{ deviceId: 'd-1', metrics: [] }] }, 0],
    ['an unknown field', BATCH, { r: [reading({ colour: 'red' })] }, 0],
    ['null in a list of non-null readings', BATCH, { r: [reading(), null] }, 0],
    ['a string for a value', BATCH, { r: [reading({ metrics: [{ name: 'm', value: '1' }] })] }, 0],
    ['a value past a double (1e400 in JSON text parses as Infinity)', BATCH, { r: [reading({ metrics: [{ name: 'm', value: Infinity }] })] }, 0],
    ['no variables at all', BATCH, {}, 0],
    ['a resolver refusing the batch with a TelemetryError', BATCH, { r: [reading({ deviceId: 'refused' })] }, 1],
    [
      'null for a nullable variable with a default',
      'mutation($r: ReadingInput = { deviceId: "d", timestamp: 0, metrics: [] }) { ingestReading(reading: $r) { acceptedCount } }',
      { r: null },
      0,
    ],
    [
      'null for a variable inside a literal argument',
      'mutation($t: DateTime = 0) { ingestReading(reading: { deviceId: "d", timestamp: $t, metrics: [] }) { acceptedCount } }',
      { t: null },
      0,
    ],
    [
      'an absent nullable variable inside a literal argument',
      'mutation($t: DateTime!, $e: String) { ingestReading(reading: { deviceId: "d", timestamp: $t, metrics: [], eventId: $e }) { acceptedCount } }',
      { t: 0 },
      1,
    ],
  ])('%s', async (_name, source, variables, batches) => {
    const { compiled, graphqlJs } = await bothWays(source, variables);
    expect(compiled).toEqual(graphqlJs);
    expect(compiled.received).toHaveLength(batches);
  });

  it('leaves a mutation of several fields to graphql-js, which runs none after one that fails', async () => {
    const source = `mutation {
      first: ingestReading(reading: { deviceId: "a", timestamp: "2026-12-01T10:00:00Z", metrics: [{ name: "m", value: 1 }] }) { acceptedCount }
      refused: ingestReading(reading: { deviceId: "refused", timestamp: "2026-12-01T10:00:00Z", metrics: [{ name: "m", value: 2 }] }) { acceptedCount }
      last: ingestReadings(readings: [{ deviceId: "b", timestamp: "2026-12-01T10:00:01Z", metrics: [{ name: "m", value: 3 }] }]) { acceptedCount }
    }`;
    const { compiled, graphqlJs } = await bothWays(source, {});
    expect(compiled).toEqual(graphqlJs);
    expect(compiled.received.map((batch) => batch[0]!.deviceId)).toEqual(['a', 'refused']);
    expect(compiled.answer.errors).toEqual([expect.objectContaining({ path: ['refused'], original: 'PAYLOAD_TOO_LARGE', nodes: 1 })]);
  });

  it('answers an aliased ingest field under its alias, with the error located at it', async () => {
    const source = 'mutation($r: [ReadingInput!]!) { sent: ingestReadings(readings: $r) { acceptedCount } }';
    const accepted = await bothWays(source, { r: [reading()] });
    expect(accepted.compiled).toEqual(accepted.graphqlJs);
    expect(accepted.compiled.answer.data).toEqual({ sent: { acceptedCount: 1 } });
    const refused = await bothWays(source, { r: [reading({ deviceId: 'refused' })] });
    expect(refused.compiled).toEqual(refused.graphqlJs);
    expect(refused.compiled.answer.errors).toEqual([expect.objectContaining({ path: ['sent'], locations: [{ line: 1, column: 34 }], nodes: 1 })]);
  });

  it('leaves other operations to graphql-js, and an operation name that names none to its refusal', async () => {
    const source = 'mutation A($r: ReadingInput!) { ingestReading(reading: $r) { acceptedCount } } query B { __typename }';
    expect(await bothWays(source, { r: reading() }, 'B')).toEqual(
      expect.objectContaining({ compiled: expect.objectContaining({ answer: { data: { __typename: 'Query' } } }) }),
    );
    const unknown = await bothWays(source, { r: reading() }, 'C');
    expect(unknown.compiled).toEqual(unknown.graphqlJs);
    expect(unknown.compiled.answer.errors?.[0]?.message).toBe('Unknown operation named "C".');
    expect(unknown.compiled.received).toEqual([]);
  });

  it.each<[string, boolean, string]>([
    ['ingestReadings alone', true, BATCH],
    ['ingestReading alone, aliased', true, 'mutation($r: ReadingInput!) { sent: ingestReading(reading: $r) { acceptedCount } }'],
    [
      'two ingest fields',
      false,
      'mutation($r: ReadingInput!) { a: ingestReading(reading: $r) { acceptedCount } b: ingestReading(reading: $r) { acceptedCount } }',
    ],
    ['another mutation', false, 'mutation { registerDevice(input: { id: "d" }) { device { id } } }'],
    ['a query', false, '{ __typename }'],
    ['a literal argument', false, 'mutation { ingestReading(reading: { deviceId: "d", timestamp: 0, metrics: [] }) { acceptedCount } }'],
    [
      'a variable inside a literal argument',
      false,
      'mutation($t: DateTime!) { ingestReading(reading: { deviceId: "d", timestamp: $t, metrics: [] }) { acceptedCount } }',
    ],
    ['a nullable variable', false, 'mutation($r: ReadingInput) { ingestReading(reading: $r) { acceptedCount } }'],
    ['a fragment at the top', false, 'mutation($r: ReadingInput!) { ...F } fragment F on Mutation { ingestReading(reading: $r) { acceptedCount } }'],
  ])('%s: compiled %s', (_name, expected, source) => {
    expect(isCompiledOperation(getOperationAST(parse(source))!)).toBe(expected);
  });

  /** Which executor called the resolver in each of `runs` runs of `source` through one executor, read off the stack. */
  async function executorsOf(source: string, runs: number): Promise<string[]> {
    const executor = createGraphQLExecutor(schema);
    const document = parse(source);
    const paths: string[] = [];
    const context = {
      caller: { tenantId: 't', role: 'admin', deviceId: null, keyId: 'k' } satisfies Caller,
      services: {
        ingest: {
          ingest: (_caller: unknown, readings: readonly ReadingInput[]) => {
            paths.push(/graphql[\\/]execution[\\/]execute/.test(new Error().stack ?? '') ? 'graphql-js' : 'compiled');
            return Promise.resolve({
              accepted: readings.map((reading, index) => ({ index, eventId: 'e', deviceId: reading.deviceId, partition: 0, offset: index })),
              rejected: [],
            });
          },
        },
      },
    } as unknown as GraphQLContext;
    const request = {
      document,
      operation: getOperationAST(document),
      operationName: null,
      context,
      source,
      queryHash: source,
      request: { variables: { r: [reading()] } },
    } as unknown as GatewayGraphQLRequestContext;
    for (let run = 0; run < runs; run++) expect((await executor(request)).data).toEqual({ ingestReadings: expect.objectContaining({ acceptedCount: 1 }) });
    return paths;
  }

  it('runs an ingest document through graphql-js the first time and compiled from the second on', async () => {
    expect(await executorsOf(BATCH, 3)).toEqual(['graphql-js', 'compiled', 'compiled']);
  });

  it('never compiles a document over 4,096 characters (the cache keeps each document it compiled)', async () => {
    const long = `${BATCH} # ${'x'.repeat(4096)}`;
    expect(await executorsOf(long, 3)).toEqual(['graphql-js', 'graphql-js', 'graphql-js']);
  });
});
