import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { getOperationAST, GraphQLError, parse } from 'graphql';
import type { Caller } from '../../src/domain/caller';
import { TelemetryError } from '../../src/domain/errors';
import type { ReadingInput } from '../../src/domain/reading';
import type { GraphQLContext } from '../../src/resolvers/context';
import { buildTelemetrySchema } from '../../src/schema/build-schema';
import { CompiledHttpPath } from '../../src/server/compiled-http-path';
import { CompiledOperations } from '../../src/server/compiled-operations';
import { createErrorFormatter } from '../../src/server/errors';
import { createGraphQLExecutor, staticSchemaGateway } from '../../src/server/graphql-executor';
import { createGraphQLHttpHandler } from '../../src/server/graphql-http';
import { httpSemanticsPlugin } from '../../src/server/http-semantics';
import { metricsPlugin } from '../../src/server/metrics-plugin';
import { checkCost, costLimitPlugin, createDocumentGuard, type QueryLimits } from '../../src/server/query-limits';
import { silentLogger } from '../support/logger';

/**
 * The compiled HTTP path (compiled-http-path.ts) answers a compiled ingest mutation without
 * Apollo Server's pipeline. Differential: each request is sent four times through the real
 * handler, Apollo Server and executor, over the real schema and resolvers; the first two runs
 * go through Apollo (the second compiles), the later ones may take the path. Every run must
 * answer alike (status, media type, Retry-After, body), the ingest service must be called once
 * per run that reaches it (never again for a result handed back to Apollo), and the path must
 * answer exactly the runs it is meant to.
 */

const schema = buildTelemetrySchema();
const limits: QueryLimits = { maxTokens: 20_000, maxDepth: 12, maxAliases: 100, maxCost: 20_000, maxListSize: 1000 };
const caller: Caller = { tenantId: 't', role: 'admin', deviceId: null, keyId: 'k' };

interface Harness {
  readonly url: string;
  /** Batches the ingest service was handed. */
  readonly ingested: ReadingInput[][];
  /** Contexts built (authentication and the rate limit ran). */
  contexts: number;
  /** Requests the compiled path answered, and operations timed with their outcome. */
  compiledAnswers: number;
  readonly operations: string[];
  readonly compiledOperations: CompiledOperations;
  close(): Promise<void>;
}

async function startHarness(): Promise<Harness> {
  const harness = { ingested: [] as ReadingInput[][], contexts: 0, compiledAnswers: 0, operations: [] as string[] };
  const ingest = (_caller: Caller, readings: readonly ReadingInput[]) => {
    harness.ingested.push([...readings]);
    // Refused after it was recorded: running it again would show as a second batch.
    if (readings.some((reading) => reading.deviceId === 'refused')) {
      return Promise.reject(new TelemetryError('PAYLOAD_TOO_LARGE', 'refused on purpose', { details: { limit: 1 } }));
    }
    return Promise.resolve({
      accepted: readings.flatMap((reading, index) =>
        reading.deviceId === 'unknown' ? [] : [{ index, eventId: `e-${index}`, deviceId: reading.deviceId, partition: 0, offset: index }],
      ),
      rejected: readings.flatMap((reading, index) =>
        reading.deviceId === 'unknown' ? [{ index, code: 'UNKNOWN_DEVICE' as const, message: 'no device "unknown" is registered' }] : [],
      ),
    });
  };
  const context = (request: IncomingMessage): Promise<GraphQLContext> => {
    harness.contexts++;
    if (request.headers.authorization !== 'Bearer good') {
      return Promise.reject(new GraphQLError('send a valid API key', { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } }));
    }
    if (request.headers['x-test-limited'] !== undefined) {
      return Promise.reject(
        new GraphQLError('too many requests', {
          extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 3, http: { status: 429, headers: new HeaderMap([['retry-after', '3']]) } },
        }),
      );
    }
    return Promise.resolve({ caller, services: { ingest: { ingest } } } as unknown as GraphQLContext);
  };
  const metrics = {
    graphqlOperation: (type: string, outcome: string) => void harness.operations.push(`${type} ${outcome}`),
    graphqlCompiledAnswer: () => {
      harness.compiledAnswers++;
    },
  };
  const compiledOperations = new CompiledOperations(schema);
  const apollo = new ApolloServer<GraphQLContext>({
    gateway: staticSchemaGateway(schema, createGraphQLExecutor(schema, compiledOperations)),
    formatError: createErrorFormatter(silentLogger),
    includeStacktraceInErrorResponses: false,
    csrfPrevention: false,
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginCacheControlDisabled(),
      httpSemanticsPlugin(),
      costLimitPlugin(schema, limits),
      metricsPlugin<GraphQLContext>(metrics),
      ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();
  const handler = createGraphQLHttpHandler({
    apollo,
    maxBodyBytes: 1_000_000,
    context,
    checkDocument: createDocumentGuard(limits),
    compiledPath: new CompiledHttpPath({
      operations: compiledOperations,
      context,
      checkCost: (document, variables, operationName) => checkCost(schema, document, variables, operationName, limits),
      metrics,
    }),
  });
  const server: Server = createServer((request, response) => {
    handler(request, response, '').catch((error: unknown) => {
      response.statusCode = 500;
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  return Object.assign(harness, {
    url,
    compiledOperations,
    close: async () => {
      await new Promise((resolve) => server.close(resolve));
      await apollo.stop();
    },
  });
}

interface Sent {
  readonly status: number;
  readonly type: string | null;
  readonly retryAfter: string | null;
  readonly body: string;
}

async function send(harness: Harness, body: unknown, headers: Record<string, string> = {}): Promise<Sent> {
  const response = await fetch(harness.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer good', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, type: response.headers.get('content-type'), retryAfter: response.headers.get('retry-after'), body: await response.text() };
}

const ONE = 'mutation One($r: ReadingInput!) { ingestReading(reading: $r) { acceptedCount rejected { index code message } } }';
const BATCH = 'mutation Batch($r: [ReadingInput!]!) { ingestReadings(readings: $r) { acceptedCount accepted { index eventId deviceId } } }';
const reading = (overrides: Record<string, unknown> = {}) => ({
  deviceId: 'd-1',
  timestamp: '2026-12-01T10:00:00Z',
  metrics: [{ name: 'temperature', value: 21.5 }],
  ...overrides,
});

describe('the compiled HTTP path: ingest mutations answered without Apollo, as Apollo answers them', () => {
  let harness: Harness;
  beforeEach(async () => {
    harness = await startHarness();
  });
  afterEach(() => harness.close());

  // Columns: the request, its headers, the status every run gets, batches the ingest service is
  // handed per run, and how many of the four runs the compiled path answers itself.
  it.each<[string, Record<string, unknown>, Record<string, string>, number, number, number]>([
    ['one reading, no Accept header', { query: ONE, variables: { r: reading() } }, {}, 200, 1, 2],
    [
      'a batch, accepting application/graphql-response+json',
      { query: BATCH, variables: { r: [reading(), reading()] } },
      { accept: 'application/graphql-response+json' },
      200,
      1,
      2,
    ],
    [
      'a reading rejected on its own (an answer with data only)',
      { query: ONE, variables: { r: reading({ deviceId: 'unknown' }) } },
      { accept: 'application/json' },
      200,
      1,
      2,
    ],
    ['the operation named in a document of two', { query: `${ONE} ${BATCH}`, operationName: 'Batch', variables: { r: [reading()] } }, {}, 200, 1, 2],
    ['null operation name and extensions', { query: ONE, operationName: null, extensions: null, variables: { r: reading() } }, {}, 200, 1, 2],
    [
      'a resolver refusing after its side effect: handed back to Apollo, not run again',
      { query: ONE, variables: { r: reading({ deviceId: 'refused' }) } },
      {},
      200,
      1,
      0,
    ],
    [
      'variables the compiled code refuses: Apollo runs them again through graphql-js',
      { query: BATCH, variables: { r: [reading({ timestamp: '2026-02-30T00:00:00Z' })] } },
      {},
      200,
      0,
      0,
    ],
    ['no variables at all', { query: ONE }, {}, 200, 0, 0],
    ['variables as a list', { query: ONE, variables: [reading()] }, {}, 400, 0, 0],
    ['an unauthenticated caller', { query: ONE, variables: { r: reading() } }, { authorization: 'Bearer bad' }, 401, 0, 0],
    ['a caller over its rate', { query: ONE, variables: { r: reading() } }, { 'x-test-limited': '1' }, 429, 0, 0],
    ['an Accept header Apollo refuses (it executes, then answers 406)', { query: ONE, variables: { r: reading() } }, { accept: 'text/html' }, 406, 1, 0],
    ['extensions (left to Apollo: persisted queries and the like)', { query: ONE, variables: { r: reading() }, extensions: { x: 1 } }, {}, 200, 1, 0],
    ['an empty operation name (names no operation)', { query: ONE, operationName: '', variables: { r: reading() } }, {}, 200, 0, 0],
    ['a document over the compiled length', { query: `${ONE} # ${'x'.repeat(4096)}`, variables: { r: reading() } }, {}, 200, 1, 0],
  ])('%s', async (_name, body, headers, status, batchesPerRun, answeredByPath) => {
    // Apollo's first answer for this Accept header teaches the path its media type.
    const runs: Sent[] = [];
    for (let run = 0; run < 4; run++) runs.push(await send(harness, body, headers));
    expect(runs[0]!.status).toBe(status);
    for (const later of runs.slice(1)) expect(later).toEqual(runs[0]);
    expect(harness.ingested).toHaveLength(4 * batchesPerRun);
    expect(harness.compiledAnswers).toBe(answeredByPath);
    // Authentication and the rate limit run once per request, whichever path answers.
    expect(harness.contexts).toBe(4);
  });

  it('times every operation it answers as the metrics plugin does, and answers with the data Apollo gives', async () => {
    const body = { query: BATCH, variables: { r: [reading(), reading({ deviceId: 'd-2' })] } };
    const runs = [await send(harness, body), await send(harness, body), await send(harness, body)];
    expect(JSON.parse(runs[2]!.body)).toEqual({
      data: {
        ingestReadings: {
          acceptedCount: 2,
          accepted: [
            { index: 0, eventId: 'e-0', deviceId: 'd-1' },
            { index: 1, eventId: 'e-1', deviceId: 'd-2' },
          ],
        },
      },
    });
    expect(harness.compiledAnswers).toBe(1);
    expect(harness.operations).toEqual(['mutation OK', 'mutation OK', 'mutation OK']);
  });

  it('never runs a compiled document for a request whose text and operation name only concatenate to the same', async () => {
    // Compiled: the operation "A" of a document that breaks a line after its keyword.
    const compiled = 'mutation\nA($r: ReadingInput!) { ingestReading(reading: $r) { acceptedCount } }';
    for (let run = 0; run < 3; run++) expect((await send(harness, { query: compiled, operationName: 'A', variables: { r: reading() } })).status).toBe(200);
    expect(harness.compiledAnswers).toBe(1);
    // The name "A\nmutation" and the rest of the text: the same characters once joined by a newline.
    const crafted = await send(harness, { query: compiled.slice('mutation\n'.length), operationName: 'A\nmutation', variables: { r: reading() } });
    expect(JSON.parse(crafted.body)).toMatchObject({ errors: [{ extensions: { code: 'GRAPHQL_PARSE_FAILED' } }] });
    expect(harness.compiledAnswers).toBe(1);
    expect(harness.ingested).toHaveLength(3);
  });
  it('hands a run that fails to Apollo, which answers it as it did before, without running it again', async () => {
    const body = { query: ONE, variables: { r: reading() } };
    for (let run = 0; run < 2; run++) await send(harness, body);
    let runs = 0;
    harness.compiledOperations.compiled(ONE, undefined)!.query.query = () => {
      runs++;
      throw new Error('a fault inside the compiled code');
    };
    const failed = await send(harness, body);
    expect(failed.status).toBe(500);
    expect(JSON.parse(failed.body)).toMatchObject({ errors: [{ extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    expect(failed.body).not.toContain('a fault inside');
    expect(runs).toBe(1);
    expect(harness.compiledAnswers).toBe(0);
  });

  it('keeps the Accept headers used last: one Apollo answer teaches it a new one however many came before', async () => {
    for (let n = 0; n < 70; n++) {
      expect((await send(harness, { query: '{ __typename }' }, { accept: `application/json, x/junk-${n}` })).status).toBe(200);
    }
    const body = { query: ONE, variables: { r: reading() } };
    for (let run = 0; run < 4; run++) await send(harness, body, { accept: 'application/json, x/new' });
    expect(harness.compiledAnswers).toBe(2);
  });
});

describe('the compiled operations', () => {
  const schema = buildTelemetrySchema();
  const run = (operations: CompiledOperations, source: string) => {
    const document = parse(source);
    return operations.forExecution(source, document, getOperationAST(document)!, null);
  };

  it('keeps the documents run last: one answered by the HTTP path is not the first to go', () => {
    const operations = new CompiledOperations(schema);
    run(operations, ONE);
    expect(run(operations, ONE)).not.toBeNull();
    // More new documents than the cache holds, the hot one answered between each.
    for (let n = 0; n < 300; n++) {
      run(operations, `${ONE} # ${n}`);
      expect(operations.compiled(ONE, undefined)).toBeDefined();
    }
  });
});
