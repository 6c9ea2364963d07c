import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import {
  execute,
  Kind,
  locatedError,
  OperationTypeNode,
  printSchema,
  type ExecutionResult,
  type FieldNode,
  type GraphQLError,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

/**
 * Root fields whose operations run compiled (graphql-jit) instead of through graphql-js: the
 * ingest mutations, where graphql-js's variable coercion walked every field of every reading
 * (28% of the API thread at 500 readings a request, and much of its garbage). A compiled
 * operation coerces its variables with code generated for its own types: 7-14x faster.
 */
const COMPILED_ROOT_FIELDS: ReadonlySet<string> = new Set(['ingestReading', 'ingestReadings']);

/** Most documents kept compiled (or seen once); past it, the least recently run goes. */
const MAX_COMPILED = 256;

/**
 * Longest document text compiled. An ingest document with its readings in variables is a few
 * hundred characters; the cap bounds what the cache holds (each entry keeps its document).
 */
const MAX_COMPILED_SOURCE = 4096;

/** A document that ran once, through graphql-js. */
const SEEN_ONCE = Symbol('seen once');

/**
 * A mutation of one compiled root field whose arguments are all variables declared non-null.
 * One field: when a field of a mutation fails, graphql-js runs none of the fields after it, and
 * graphql-jit runs them all. Whole, non-null variables: graphql-jit checks a variable nested in
 * a literal argument (`reading: { timestamp: $t }`) less strictly than graphql-js (null passes
 * through), and refuses a null for a nullable variable with its own error, without the
 * details the error formatter needs; non-null variables are refused during coercion instead,
 * and graphql-js then refuses them again with its own messages.
 */
export function isCompiledOperation(operation: OperationDefinitionNode): boolean {
  const [only, ...others] = operation.selectionSet.selections;
  if (operation.operation !== OperationTypeNode.MUTATION || others.length > 0 || only?.kind !== Kind.FIELD) return false;
  if (!COMPILED_ROOT_FIELDS.has(only.name.value) || only.arguments === undefined) return false;
  const nonNullVariables = new Set(
    (operation.variableDefinitions ?? [])
      .filter((definition) => definition.type.kind === Kind.NON_NULL_TYPE)
      .map((definition) => definition.variable.name.value),
  );
  return only.arguments.every((argument) => argument.value.kind === Kind.VARIABLE && nonNullVariables.has(argument.value.name.value));
}

/**
 * Executes what Apollo Server has parsed and validated: ingest mutations compiled from their
 * second run on, everything else with graphql-js's `execute`, as Apollo would. A compiled
 * operation that refuses its variables is executed again by graphql-js, which refuses them with
 * its precise messages (the path of the bad value and the scalar's reason); no resolver has run
 * when variables are refused.
 */
export function createGraphQLExecutor(schema: GraphQLSchema): GatewayExecutor {
  // By Apollo's hash of the document text and the operation's name. A document is compiled
  // when it runs a second time: compiling costs about twice graphql-js's validation, which a
  // client sending a new document each time must not make the node pay.
  const compiled = new Map<string, CompiledQuery | null | typeof SEEN_ONCE>();
  // Apollo keeps parsed documents, so an operation node comes back with every run of its text:
  // whether it can be compiled is worked out once, not on every request.
  const compilable = new WeakMap<OperationDefinitionNode, boolean>();
  const isCompilable = (operation: OperationDefinitionNode): boolean => {
    let known = compilable.get(operation);
    if (known === undefined) compilable.set(operation, (known = isCompiledOperation(operation)));
    return known;
  };
  const compiledFor = (request: Parameters<GatewayExecutor>[0], operation: OperationDefinitionNode, operationName: string | null): CompiledQuery | null => {
    if (request.source.length > MAX_COMPILED_SOURCE || !isCompilable(operation)) return null;
    const key = `${request.queryHash}\n${operationName ?? ''}`;
    const known = compiled.get(key);
    compiled.delete(key); // set again below: the map's order is the order of last runs
    if (known === undefined && compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
    if (known === undefined) {
      compiled.set(key, SEEN_ONCE);
      return null;
    }
    const query = known === SEEN_ONCE ? compileQuery(schema, request.document, operationName ?? undefined) : known;
    const kept = query !== null && isCompiledQuery(query) ? query : null;
    compiled.set(key, kept);
    return kept;
  };

  return async (request) => {
    const { document, context } = request;
    // The name the client sent, as Apollo hands it to graphql-js (the context's own
    // `operationName` is that of the operation Apollo resolved, null when none: graphql-js
    // then says why).
    const { operationName = null, variables } = request.request;
    const operation = request.operation as OperationDefinitionNode | undefined;
    const query = operation && compiledFor(request, operation, operationName);
    if (query) {
      const result = (await query.query(undefined, context, variables)) as ExecutionResult;
      if (!result.errors?.length) return result;
      if (result.data !== undefined) return { ...result, errors: result.errors.map((error) => asGraphQLJsError(error, operation)) };
    }
    return execute({ schema, document, contextValue: context, variableValues: variables, operationName });
  };
}

/**
 * A resolver's error as graphql-js reports it: graphql-jit's own error class carries no AST
 * nodes and no extensions object unless the thrown error had one, and the error formatter
 * reads both (the code, the HTTP status, the location). Its path starts at the operation's
 * root field.
 */
function asGraphQLJsError(error: GraphQLError, operation: OperationDefinitionNode): GraphQLError {
  const path = error.path ?? [];
  const nodes = operation.selectionSet.selections.filter(
    (selection): selection is FieldNode => selection.kind === Kind.FIELD && (selection.alias ?? selection.name).value === path[0],
  );
  return locatedError(error.originalError ?? new Error(error.message), nodes, path);
}

/**
 * The executor above handed to Apollo Server the one way it takes one since version 4: as a
 * "gateway" whose schema never changes.
 */
export function staticSchemaGateway(schema: GraphQLSchema, executor: GatewayExecutor): GatewayInterface {
  const listeners = new Set<Parameters<GatewayInterface['onSchemaLoadOrUpdate']>[0]>();
  return {
    onSchemaLoadOrUpdate(callback) {
      listeners.add(callback);
      return () => listeners.delete(callback);
    },
    async load() {
      const loaded = { apiSchema: schema, coreSupergraphSdl: printSchema(schema) };
      for (const listener of listeners) listener(loaded);
      return { executor };
    },
    stop: async () => {},
  };
}
