import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import { execute, Kind, locatedError, printSchema, type FieldNode, type GraphQLError, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { CompiledOperations } from './compiled-operations';

/**
 * Executes what Apollo Server has parsed and validated: ingest mutations compiled from their
 * second run on (compiled-operations.ts), everything else with graphql-js's `execute`, as
 * Apollo would. A compiled operation that refuses its variables is executed again by
 * graphql-js, which refuses them with its precise messages (the path of the bad value and the
 * scalar's reason); no resolver has run when variables are refused. A result the HTTP path
 * already computed for this request (compiled-http-path.ts) is answered as it is, not run again.
 */
export function createGraphQLExecutor(schema: GraphQLSchema, operations = new CompiledOperations(schema)): GatewayExecutor {
  return async (request) => {
    const { document, context } = request;
    // The name the client sent, as Apollo hands it to graphql-js (the context's own
    // `operationName` is that of the operation Apollo resolved, null when none: graphql-js
    // then says why).
    const { operationName = null, variables } = request.request;
    const operation = request.operation as OperationDefinitionNode | undefined;
    // Taken first, whatever the cache holds now: its resolvers ran, they must not run again.
    const handedOver = operations.takeHandedOver(context);
    const compiled = handedOver === undefined && operation ? operations.forExecution(request.source, document, operation, operationName) : null;
    const result = handedOver ? await handedOver : compiled ? await compiled.query.query(undefined, context, variables) : undefined;
    if (result && operation) {
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
