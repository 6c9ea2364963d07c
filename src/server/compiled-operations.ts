import { Kind, OperationTypeNode, type DocumentNode, type ExecutionResult, type OperationDefinitionNode } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { GraphQLSchema } from 'graphql';

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

/** Where a context carries a result the HTTP path computed (handOver). */
const HANDED_OVER = Symbol('result handed over');

/** A document that ran once, through graphql-js. */
const SEEN_ONCE = Symbol('seen once');

/** An operation compiled after Apollo Server parsed and validated its document. */
export interface CompiledOperation {
  readonly query: CompiledQuery;
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
}

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
 * The ingest operations compiled so far, by document text and operation name. Only Apollo
 * Server's executor adds to it, so every document here passed Apollo's parsing, its validation
 * rules and the document limits (which depend on the text alone, never on the caller): the
 * HTTP path may run one again without Apollo's pipeline (compiled-http-path.ts).
 *
 * A document is compiled when it runs a second time: compiling costs about twice graphql-js's
 * validation, which a client sending a new document each time must not make the node pay.
 */
export class CompiledOperations {
  private readonly entries = new Map<string, CompiledOperation | null | typeof SEEN_ONCE>();
  // Apollo keeps parsed documents, so an operation node comes back with every run of its text:
  // whether it can be compiled is worked out once, not on every request.
  private readonly compilable = new WeakMap<OperationDefinitionNode, boolean>();

  constructor(private readonly schema: GraphQLSchema) {}

  /**
   * The compiled form of an operation Apollo Server is about to execute, or null: not an
   * ingest mutation, too long, seen for the first time, or not compilable.
   */
  forExecution(source: string, document: DocumentNode, operation: OperationDefinitionNode, operationName: string | null): CompiledOperation | null {
    if (source.length > MAX_COMPILED_SOURCE || !this.isCompilable(operation)) return null;
    const key = keyOf(source, operationName);
    const known = this.entries.get(key);
    this.entries.delete(key); // set again below: the map's order is the order of last runs
    if (known === undefined && this.entries.size >= MAX_COMPILED) this.entries.delete(this.entries.keys().next().value!);
    if (known === undefined) {
      this.entries.set(key, SEEN_ONCE);
      return null;
    }
    let kept: CompiledOperation | null = known === SEEN_ONCE ? null : known;
    if (known === SEEN_ONCE) {
      const query = compileQuery(this.schema, document, operationName ?? undefined);
      if (isCompiledQuery(query)) kept = { query, document, operation };
    }
    this.entries.set(key, kept);
    return kept;
  }

  /**
   * The compiled operation of a document text and operation name (as the client sent it), once
   * compiled; a run like any other for the order of last runs.
   */
  compiled(source: string, operationName: string | undefined): CompiledOperation | undefined {
    if (source.length > MAX_COMPILED_SOURCE) return undefined;
    const key = keyOf(source, operationName ?? null);
    const known = this.entries.get(key);
    if (known === undefined || known === null || known === SEEN_ONCE) return undefined;
    this.entries.delete(key);
    this.entries.set(key, known);
    return known;
  }

  /**
   * The context for Apollo Server to answer with what the HTTP path's run of the operation gave
   * (a result with errors, or a failure): its executor takes that instead of running the
   * operation again (its resolvers have run). It travels in the context itself, since Apollo
   * executes a shallow copy of the context it is given.
   */
  handOver<TContext extends object>(context: TContext, outcome: Promise<ExecutionResult>): TContext {
    return Object.assign(Object.create(Object.getPrototypeOf(context) as object) as TContext, context, { [HANDED_OVER]: outcome });
  }

  /** What was handed over in this context (or a copy of it), if anything. */
  takeHandedOver(context: object): Promise<ExecutionResult> | undefined {
    return (context as { [HANDED_OVER]?: Promise<ExecutionResult> })[HANDED_OVER];
  }

  private isCompilable(operation: OperationDefinitionNode): boolean {
    let known = this.compilable.get(operation);
    if (known === undefined) this.compilable.set(operation, (known = isCompiledOperation(operation)));
    return known;
  }
}

/**
 * One key per text and name, never the same for two pairs: a name the client sent may hold any
 * character, so it goes first with its length (no name: an empty name is another request,
 * which Apollo refuses when the document has no operation of that name).
 */
function keyOf(source: string, operationName: string | null): string {
  return operationName === null ? `\n${source}` : `${operationName.length}:${operationName}\n${source}`;
}
