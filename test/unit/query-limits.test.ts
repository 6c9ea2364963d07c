import 'reflect-metadata';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSchema, getIntrospectionQuery, GraphQLScalarType, parse, visit, type DocumentNode } from 'graphql';
import { getComplexity, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';
import { buildTelemetrySchema } from '../../src/schema/build-schema';
import { measureDocument, overlappingPairs } from '../../src/server/document-shape';
import { listSizeOf, queryCost } from '../../src/server/query-cost';
import { checkCost, checkDocument, checkSource, MAX_OVERLAPPING_PAIRS, maxNesting, parseDocument, type QueryLimits } from '../../src/server/query-limits';
import { deepNesting, doublingFragments, fragmentChain, manyFragments, repeatedFields } from '../support/adversarial-documents';

/**
 * The document limits must cost time linear in the document's size, whatever it does with
 * fragments: these tests count the work done (nodes visited, selections costed) rather than
 * time it, on documents that a walk re-entering fragments at every spread could not finish.
 */

const LIMITS: QueryLimits = { maxTokens: 20_000, maxDepth: 12, maxAliases: 100, maxCost: 20_000, maxListSize: 1000 };

const selectionCount = (document: DocumentNode): number => {
  let count = 0;
  const count1 = () => {
    count++;
  };
  visit(document, { Field: count1, InlineFragment: count1, FragmentSpread: count1 });
  return count;
};

describe('document limits run in time linear in the document', () => {
  const schema = buildTelemetrySchema();

  it.each([22, 30, 40])('measures %i fragments each spreading the next twice by visiting each selection at most twice', (n) => {
    const document = parse(doublingFragments(n));
    const started = Date.now();
    const shape = measureDocument(document);
    expect(shape.selections).toBe(3 * 2 ** n); // every spread expanded, as many times as written
    expect(shape.visited).toBeLessThanOrEqual(2 * selectionCount(document));
    expect(checkDocument(document, LIMITS)?.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED' });
    // Generous: linear work is well under a millisecond here; 2^40 visits would take hours.
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it.each([22, 30, 40])('costs %i doubling fragments by costing each written selection once', (n) => {
    const document = parse(doublingFragments(n));
    const { cost, evaluated } = queryCost(schema, document, {}, undefined, 1000);
    expect(cost).toBe(1 + 2 ** n); // viewer, and keyId once per expanded spread, as before
    expect(evaluated).toBeLessThanOrEqual(selectionCount(document));
  });

  it('costs exactly what graphql-query-complexity did, on documents it can handle', () => {
    const sdl = `
      interface Named { name: String!, parts(first: Int): [Part!]! }
      type Part implements Named { name: String!, parts(first: Int): [Part!]!, size: Int }
      type Tool implements Named { name: String!, parts(first: Int): [Part!]!, weight(points: Int): [Int!]! }
      type Query { named(first: Int): [Named!]!, series(deviceIds: [ID!]!): [Part!]!, part: Part }`;
    const small = buildSchema(sdl);
    const list: ComplexityEstimator = ({ args, childComplexity }) => {
      const size = listSizeOf(args);
      return size === undefined ? undefined : 1 + Math.min(1000, Math.max(1, size)) * Math.max(1, childComplexity);
    };
    const documents: [string, Record<string, unknown>][] = [
      ['{ part { name size } }', {}],
      ['query($n: Int) { named(first: $n) { name ... on Tool { weight(points: 250) } ...P } } fragment P on Part { size parts(first: 3) { name } }', { n: 7 }],
      [
        'query($skip: Boolean!) { series(deviceIds: ["a", "b"]) { name @skip(if: $skip) ...P ...P } } fragment P on Part { parts { ...Q } } fragment Q on Part { size }',
        { skip: true },
      ],
      ['{ named(first: 5000) { __typename parts(first: 0) { name } } }', {}],
      [
        doublingFragments(8)
          .replace(/Viewer/g, 'Part')
          .replace('viewer', 'part')
          .replace('keyId', 'size'),
        {},
      ],
    ];
    for (const [source, variables] of documents) {
      const document = parse(source);
      const expected = getComplexity({ schema: small, query: document, variables, estimators: [list, simpleEstimator({ defaultComplexity: 1 })] });
      expect({ source, cost: queryCost(small, document, variables, undefined, 1000).cost }).toEqual({ source, cost: expected });
    }
  });

  it('refuses a fragment cycle before following it, however the cycle is entered', () => {
    const cycles = [
      'query { viewer { ...A } } fragment A on Viewer { ...B } fragment B on Viewer { ...A }',
      'query { viewer { ...A } } fragment A on Viewer { keyId ...A ...A }',
      `query { viewer { ...A } } fragment A on Viewer { ...B ...B } fragment B on Viewer { ...A ...A ...C } ${doublingFragments(30).replace('query { viewer { ...F0 } }', 'fragment C on Viewer { ...F0 }')}`,
    ];
    for (const source of cycles) {
      const error = checkDocument(parse(source), LIMITS);
      expect(error?.message).toMatch(/^Cannot spread fragment "[AB]" within itself/);
      expect(queryCost(buildTelemetrySchema(), parse(source), {}, undefined, 1000).evaluated).toBeLessThanOrEqual(selectionCount(parse(source)));
    }
  });

  it('measures a chain of 10,000 fragments without exhausting the stack, and refuses its nesting', () => {
    const document = parse(fragmentChain(10_000));
    expect(measureDocument(document).nesting).toBe(10_003); // the operation, viewer and 10,001 fragments
    expect(checkDocument(document, LIMITS)).toMatchObject({
      message: `the operation nests selection sets more than ${maxNesting(LIMITS)} deep (fragments followed)`,
    });
  });

  it('refuses 10,000 nested brackets before the parser recurses into them', () => {
    for (const source of [deepNesting(10_000), `{ devices(filter: ${'['.repeat(10_000)}1${']'.repeat(10_000)}) { totalCount } }`]) {
      const error = checkSource(source, { maxTokens: 10_000_000, maxDepth: 12 });
      expect(error?.extensions).toEqual({ code: 'GRAPHQL_PARSE_FAILED', http: { status: 400 }, limit: 40 });
      expect(() => parseDocument(source, { maxTokens: 10_000_000, maxDepth: 12 })).toThrow(`the document nests brackets more than 40 deep`);
    }
    // The deepest document the depth limit allows still parses.
    expect(checkSource(deepNesting(12), LIMITS)).toBeUndefined();
  });

  it('refuses many copies of one field before graphql-js compares them pairwise', () => {
    const copies = (n: number) => parse(repeatedFields(n));
    expect(overlappingPairs(copies(20), Infinity)).toBe(4 * ((20 * 19) / 2));
    expect(checkDocument(copies(20), LIMITS)).toBeUndefined();
    expect(checkDocument(copies(1000), LIMITS)).toMatchObject({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit: MAX_OVERLAPPING_PAIRS } });
    // Copies reached through fragments count the same.
    expect(checkDocument(parse(manyFragments(200)), LIMITS)?.extensions).toMatchObject({ limit: MAX_OVERLAPPING_PAIRS });
  });

  it("passes the standard introspection queries, whose nine-deep ofType chain a depth of 12 refused, but still bounds an ofType chain's nesting", () => {
    // GraphiQL, codegen and API explorers all send graphql-js's query (depth 15 counting ofType).
    for (const options of [
      {},
      { descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true },
    ]) {
      const source = getIntrospectionQuery(options);
      expect(checkSource(source, LIMITS) ?? checkDocument(parse(source), LIMITS)).toBeUndefined();
      expect(measureDocument(parse(source)).depth).toBe(6);
    }
    // Other fields still count: a depth of 13 without ofType is refused as before.
    const nested = ['__schema', 'types', ...Array<string[]>(5).fill(['fields', 'type']).flat()]; // 12 fields, and a leaf
    const deep = `{ ${nested.map((field) => `${field} { `).join('')}name${' }'.repeat(nested.length)} }`;
    expect(checkDocument(parse(deep), LIMITS)?.extensions).toMatchObject({ limit: 12 });
    const chain = (n: number) => `{ __type(name: "Device") { ${'ofType { '.repeat(n)}name${' }'.repeat(n)} } }`;
    expect(checkDocument(parse(chain(30)), LIMITS)).toBeUndefined();
    expect(checkDocument(parse(chain(maxNesting(LIMITS))), LIMITS)?.extensions).toMatchObject({ limit: maxNesting(LIMITS) });
  });

  it('passes the operations clients use', () => {
    const dir = path.join(__dirname, '..', '..', '..', 'test', 'operations');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.graphql'))) {
      const source = readFileSync(path.join(dir, file), 'utf8');
      expect({ file, error: checkSource(source, LIMITS) ?? checkDocument(parse(source), LIMITS) }).toEqual({ file, error: undefined });
    }
  });
});

describe('the cost check reads only the variables the cost depends on', () => {
  // A batch of readings is coerced by execution; coercing it a second time for the cost
  // doubled the API thread's coercion work on every ingestReadings call.
  let parsed = 0;
  const schema = buildSchema(`
    scalar Stamp
    input Item { at: Stamp! }
    type Part { size: Int }
    type Query { put(items: [Item!]!, label: String): Int, parts(first: Int, items: [Item!]): [Part!]! }`);
  const stamp = schema.getType('Stamp') as GraphQLScalarType;
  stamp.parseValue = (value: unknown) => {
    parsed++;
    if (typeof value !== 'number') throw new TypeError('a Stamp is a number');
    return value;
  };
  const items = (n: number, at: unknown = 1) => Array.from({ length: n }, () => ({ at }));
  const limits = { maxCost: 100, maxListSize: 1000 };

  beforeEach(() => {
    parsed = 0;
  });

  it('costs a batch without coercing its items', () => {
    const document = parse('query($items: [Item!]!, $n: Int) { put(items: $items) parts(first: $n) { size } }');
    expect(queryCost(schema, document, { items: items(500), n: 7 }, undefined, 1000).cost).toBe(1 + 1 + 7);
    expect(parsed).toBe(0);
    expect(checkCost(schema, document, { items: items(500), n: 7 }, undefined, limits)).toBeUndefined();
    expect(parsed).toBe(0);
  });

  it('still reads list sizes and @skip/@include from variables, also through fragments', () => {
    const document = parse(
      `query($n: Int, $skip: Boolean!) { ...F parts(first: 2) { size @include(if: $skip) } } fragment F on Query { parts(first: $n) { size } }`,
    );
    expect(queryCost(schema, document, { n: 300, skip: false }, undefined, 1000).cost).toBe(1 + 300 + 1 + 2);
    expect(checkCost(schema, document, { n: 300, skip: false }, undefined, limits)?.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', cost: 304 });
    // A list-size variable that does not coerce: execution reports it.
    expect(checkCost(schema, document, { n: 'many', skip: false }, undefined, limits)).toBeUndefined();
  });

  it('costs one parsed document afresh for each request, whatever it remembers of the document', () => {
    // Apollo hands the same DocumentNode to every request with the same text.
    const document = parse('query($n: Int) { parts(first: $n) { size } }');
    expect(checkCost(schema, document, { n: 5 }, undefined, limits)).toBeUndefined();
    expect(checkCost(schema, document, { n: 500 }, undefined, limits)?.extensions).toMatchObject({ cost: 501, limit: 100 });
    expect(checkCost(schema, document, { n: 5 }, undefined, limits)).toBeUndefined();
  });

  it('costs a document whose cost reads no variable once, for each list-size cap and operation name', () => {
    // The ingest mutations: their readings are variables the cost never reads.
    const document = parse('query A($items: [Item!]!) { put(items: $items) parts(first: 2000) { size } } query B { parts(first: 3) { size } }');
    const first = queryCost(schema, document, { items: items(500) }, 'A', 1000);
    expect(first.cost).toBe(1 + 1 + 1000);
    expect(queryCost(schema, document, { items: items(2) }, 'A', 1000)).toBe(first);
    expect(queryCost(schema, document, { items: items(2) }, 'A', 10).cost).toBe(1 + 1 + 10);
    expect(queryCost(schema, document, {}, 'B', 1000).cost).toBe(1 + 3);
    expect(queryCost(schema, parse('query B { parts(first: 4) { size } }'), {}, 'B', 1000).cost).toBe(1 + 4);
    expect(parsed).toBe(0);
  });

  it('refuses a costly operation only when all its variables coerce, so bad ones get their precise error', () => {
    const document = parse('query($items: [Item!]!, $n: Int) { put(items: $items) parts(first: $n, items: $items) { size } }');
    expect(checkCost(schema, document, { items: items(2), n: 500 }, undefined, limits)?.extensions).toMatchObject({ cost: 502, limit: 100 });
    expect(checkCost(schema, document, { items: items(2, 'soon'), n: 500 }, undefined, limits)).toBeUndefined();
    expect(checkCost(schema, document, { n: 500 }, undefined, limits)).toBeUndefined();
    // Within the limit the items are never coerced, valid or not: execution checks them.
    expect(checkCost(schema, document, { items: items(2, 'soon'), n: 5 }, undefined, limits)).toBeUndefined();
  });
});
