import { createHash } from 'node:crypto';
import { GraphQLError, Lexer, parse, Source, TokenKind, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import { measureDocument, overlappingPairs } from './document-shape';
import { CostVariablesError, queryCost, variablesCoerce } from './query-cost';

/**
 * Limits on a GraphQL document, the same over HTTP and WebSocket, each checked in time linear
 * in the document's size and before the work it protects:
 *  1. before parsing: tokens and bracket nesting (the parser recurses per bracket);
 *  2. before graphql-js's validation rules: aliases, fragment cycles, nesting and depth with
 *     fragments followed, selections once fragments are expanded, and repeated same-named
 *     fields (which graphql-js's OverlappingFieldsCanBeMerged compares pairwise);
 *  3. once variables are known: cost.
 * A refusal is GRAPHQL_PARSE_FAILED (1) or GRAPHQL_VALIDATION_FAILED (2, 3), with the limit
 * in `extensions.limit`.
 */
export interface QueryLimits {
  /** Tokens of a document (TELEMETRY_MAX_QUERY_TOKENS). @default 20000 */
  readonly maxTokens: number;
  /** Fields nested in one another, fragments followed (TELEMETRY_MAX_QUERY_DEPTH). @default 12 */
  readonly maxDepth: number;
  /** Aliased fields in a document (TELEMETRY_MAX_ALIASES). @default 100 */
  readonly maxAliases: number;
  /**
   * Cost of an operation (query-cost.ts), and the most selections it may expand to once
   * fragments are spread: each field costs at least 1 (TELEMETRY_MAX_QUERY_COST). @default 20000
   */
  readonly maxCost: number;
  /** The largest page a list field returns (TELEMETRY_MAX_PAGE_SIZE). @default 1000 */
  readonly maxListSize: number;
}

/**
 * Brackets (and selection sets, fragments followed) may nest this much deeper than twice the
 * depth limit: a field's selection set and arguments, inline fragments and list values nest
 * too. Far below where graphql-js's recursive parser and rules exhaust the stack (~2,500).
 */
const NESTING_ALLOWANCE = 16;
export const maxNesting = (limits: Pick<QueryLimits, 'maxDepth'>): number => 2 * limits.maxDepth + NESTING_ALLOWANCE;

/**
 * Pairs of fields sharing a response path, summed over the operation, that a document may
 * make validation compare. graphql-js meters this work itself but stops only after ~0.1 s of
 * it (~100,000 pairs here); ordinary documents have none, or a few where fragments select
 * the same fields.
 */
export const MAX_OVERLAPPING_PAIRS = 5_000;

const refused = (code: 'GRAPHQL_PARSE_FAILED' | 'GRAPHQL_VALIDATION_FAILED', message: string, extensions: Record<string, unknown>) =>
  new GraphQLError(message, { extensions: { code, http: { status: 400 }, ...extensions } });

/**
 * Refuses a source whose brackets nest deeper than the nesting limit, reading its tokens
 * without building anything. Stops after `maxTokens` tokens and on a lexical error: parsing
 * refuses both more precisely.
 */
export function checkSource(source: string, limits: Pick<QueryLimits, 'maxTokens' | 'maxDepth'>): GraphQLError | undefined {
  const max = maxNesting(limits);
  const lexer = new Lexer(new Source(source));
  let nesting = 0;
  try {
    for (let token = lexer.advance(), count = 1; token.kind !== TokenKind.EOF && count <= limits.maxTokens; token = lexer.advance(), count++) {
      if (token.kind === TokenKind.BRACE_L || token.kind === TokenKind.BRACKET_L || token.kind === TokenKind.PAREN_L) {
        if (++nesting > max) return refused('GRAPHQL_PARSE_FAILED', `the document nests brackets more than ${max} deep`, { limit: max });
      } else if (token.kind === TokenKind.BRACE_R || token.kind === TokenKind.BRACKET_R || token.kind === TokenKind.PAREN_R) {
        nesting--;
      }
    }
  } catch (error) {
    if (error instanceof GraphQLError) return undefined;
    throw error;
  }
  return undefined;
}

/** Parses with the token and nesting limits; throws a GraphQLError (GRAPHQL_PARSE_FAILED or a syntax error). */
export function parseDocument(source: string, limits: Pick<QueryLimits, 'maxTokens' | 'maxDepth'>): DocumentNode {
  const error = checkSource(source, limits);
  if (error) throw error;
  return parse(source, { maxLexicalTokens: limits.maxTokens });
}

/** The first limit a parsed document breaks, checked before graphql-js's validation rules; else undefined. */
export function checkDocument(document: DocumentNode, limits: Pick<QueryLimits, 'maxDepth' | 'maxAliases' | 'maxCost'>): GraphQLError | undefined {
  const shape = measureDocument(document);
  const invalid = (message: string, extensions: Record<string, unknown>) => refused('GRAPHQL_VALIDATION_FAILED', message, extensions);
  if (shape.aliases > limits.maxAliases) return invalid(`the document uses more than ${limits.maxAliases} aliases`, { limit: limits.maxAliases });
  // Reported here because the counts below assume no cycle; graphql-js would refuse it too.
  if (shape.cycle !== undefined) return invalid(`Cannot spread fragment "${shape.cycle}" within itself.`, {});
  const nesting = maxNesting(limits);
  if (shape.nesting > nesting) return invalid(`the operation nests selection sets more than ${nesting} deep (fragments followed)`, { limit: nesting });
  if (shape.depth > limits.maxDepth) return invalid(`the operation is nested deeper than the limit of ${limits.maxDepth} fields`, { limit: limits.maxDepth });
  if (shape.selections > limits.maxCost) {
    return invalid(
      `the operation has ${shape.selections} selections once its fragments are spread; it costs at least that, and at most ${limits.maxCost} is allowed`,
      {
        limit: limits.maxCost,
        selections: shape.selections,
      },
    );
  }
  const pairs = overlappingPairs(document, MAX_OVERLAPPING_PAIRS);
  if (pairs > MAX_OVERLAPPING_PAIRS) {
    return invalid(`the operation selects the same fields too many times over (more than ${MAX_OVERLAPPING_PAIRS} pairs of same-named fields to merge)`, {
      limit: MAX_OVERLAPPING_PAIRS,
    });
  }
  return undefined;
}

/** A GraphQLError when the operation costs more than the limit, else undefined. */
export function checkCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName: string | undefined,
  limits: Pick<QueryLimits, 'maxCost' | 'maxListSize'>,
): GraphQLError | undefined {
  const max = limits.maxCost;
  let cost: number;
  try {
    cost = queryCost(schema, document, variables, operationName, limits.maxListSize).cost;
  } catch (error) {
    // Bad variables: execution reports them precisely.
    if (error instanceof CostVariablesError) return undefined;
    throw error;
  }
  // Bad variables the cost does not read: execution reports them precisely, as for any other request.
  if (cost <= max || !variablesCoerce(schema, document, variables, operationName)) return undefined;
  return refused('GRAPHQL_VALIDATION_FAILED', `the operation costs ${cost}; at most ${max} is allowed (ask for smaller pages or fewer fields)`, {
    cost,
    limit: max,
  });
}

/**
 * The document checks of HTTP requests, run before Apollo parses and validates the document
 * (Apollo offers no hook there that can refuse a request cleanly). Remembers the hashes of
 * the last `remember` documents that passed, so a client repeating its operations pays for
 * the checks once, as Apollo parses and validates them once. Undefined for a document
 * within the limits, and for a syntax error or too many tokens, which Apollo's parser
 * reports itself.
 */
export function createDocumentGuard(limits: QueryLimits, remember = 1000): (source: string) => GraphQLError | undefined {
  const passed = new Map<string, true>();
  return (source) => {
    const key = createHash('sha256').update(source).digest('base64');
    if (passed.delete(key)) {
      passed.set(key, true);
      return undefined;
    }
    const tooNested = checkSource(source, limits);
    if (tooNested) return tooNested;
    let document: DocumentNode;
    try {
      document = parse(source, { maxLexicalTokens: limits.maxTokens });
    } catch (error) {
      if (error instanceof GraphQLError) return undefined;
      throw error;
    }
    const overLimit = checkDocument(document, limits);
    if (overLimit) return overLimit;
    passed.set(key, true);
    if (passed.size > remember) passed.delete(passed.keys().next().value!);
    return undefined;
  };
}

/** Apollo plugin: refuses an operation over the cost limit once its variables are known. */
export function costLimitPlugin<TContext extends object>(schema: GraphQLSchema, limits: QueryLimits): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request }) {
          const error = checkCost(schema, document, request.variables, request.operationName, limits);
          if (error) throw error;
        },
      };
    },
  };
}
