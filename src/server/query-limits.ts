import { GraphQLError, type ASTVisitor, type DocumentNode, type GraphQLSchema, type ValidationContext } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import { getComplexity, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';

/**
 * Limits on the shape of a GraphQL document, the same over HTTP and WebSocket:
 * tokens (at parse time), depth and aliases (validation rules), and cost (after variables
 * are known). All are refused with GRAPHQL_VALIDATION_FAILED and the limit in `extensions`.
 */

export interface QueryLimits {
  readonly maxTokens: number;
  readonly maxDepth: number;
  readonly maxAliases: number;
  readonly maxCost: number;
}

const invalid = (message: string, extensions: Record<string, unknown>) =>
  new GraphQLError(message, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 }, ...extensions } });

/** Refuses documents with more than `max` aliased fields (alias bombs multiply work cheaply). */
export function maxAliasesRule(max: number) {
  return (context: ValidationContext): ASTVisitor => {
    let aliases = 0;
    return {
      Field(node) {
        if (node.alias && ++aliases === max + 1) context.reportError(invalid(`the document uses more than ${max} aliases`, { limit: max }));
      },
    };
  };
}

/**
 * Cost: 1 per field, and a list field with a size argument costs its children times that size
 * (`first`, `points` / 100, or the number of `deviceIds`), so `devices(first: 1000) { latest }`
 * costs what it makes the server do.
 */
/**
 * Sizes above `maxListSize` count as `maxListSize`: such pages are refused by the resolver
 * with a more precise message (the page-size limit).
 */
const listEstimator =
  (maxListSize: number): ComplexityEstimator =>
  ({ args, childComplexity }) => {
    const size =
      typeof args['first'] === 'number' ? args['first'] : Array.isArray(args['deviceIds']) ? args['deviceIds'].length : typeof args['points'] === 'number' ? Math.ceil(args['points'] / 100) : undefined;
    return size === undefined ? undefined : 1 + Math.min(maxListSize, Math.max(1, size)) * Math.max(1, childComplexity);
  };

export interface CostSettings {
  readonly maxCost: number;
  /** The largest page a list field returns (TELEMETRY_MAX_PAGE_SIZE). */
  readonly maxListSize: number;
}

export function queryCost(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown> | undefined, operationName: string | undefined, maxListSize: number): number {
  return getComplexity({
    schema,
    query: document,
    variables: variables ?? {},
    ...(operationName ? { operationName } : {}),
    estimators: [listEstimator(maxListSize), simpleEstimator({ defaultComplexity: 1 })],
  });
}

/** A GraphQLError when the operation costs more than the limit, else undefined. */
export function checkCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName: string | undefined,
  settings: CostSettings,
): GraphQLError | undefined {
  const max = settings.maxCost;
  let cost: number;
  try {
    cost = queryCost(schema, document, variables, operationName, settings.maxListSize);
  } catch {
    // Bad variables: execution reports them precisely.
    return undefined;
  }
  return cost > max ? invalid(`the operation costs ${cost}; at most ${max} is allowed (ask for smaller pages or fewer fields)`, { cost, limit: max }) : undefined;
}

/** Apollo plugin: refuses an operation over the cost limit once its variables are known. */
export function costLimitPlugin<TContext extends object>(schema: GraphQLSchema, settings: CostSettings): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request }) {
          const error = checkCost(schema, document, request.variables, request.operationName, settings);
          if (error) throw error;
        },
      };
    },
  };
}
