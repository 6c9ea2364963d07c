import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HTTPGraphQLResponse } from '@apollo/server';
import type { DocumentNode, ExecutionResult, GraphQLError } from 'graphql';
import type { ApiMetrics } from '../metrics/api-metrics';
import type { CompiledOperation, CompiledOperations } from './compiled-operations';

/** Distinct Accept headers whose answer type is remembered; others keep going through Apollo. */
const MAX_ACCEPT_HEADERS = 64;

export interface CompiledHttpPathOptions<TContext extends object> {
  readonly operations: CompiledOperations;
  /** The request's context: authentication and the rate limit, as for any GraphQL request (throws to refuse). */
  readonly context: (request: IncomingMessage) => Promise<TContext>;
  /** The cost limit, as the cost plugin applies it (query-limits.ts). */
  readonly checkCost: (document: DocumentNode, variables: Record<string, unknown> | undefined, operationName: string | undefined) => GraphQLError | undefined;
  readonly metrics?: Pick<ApiMetrics, 'graphqlOperation' | 'graphqlCompiledAnswer'> | undefined;
}

/** What a POST body asks for, when it is a request Apollo takes as it is. */
interface PlainCall {
  readonly source: string;
  readonly operationName: string | undefined;
  readonly variables: Record<string, unknown> | undefined;
}

/** The compiled path answered the request itself. */
export const ANSWERED = Symbol('answered by the compiled path');

/**
 * GraphQL over HTTP for the ingest mutations, without Apollo Server's request pipeline once
 * a document is compiled (compiled-operations.ts). Apollo's pipeline (plugins, document
 * store, hashing, content negotiation, the response's assembly) cost a single
 * `ingestReading` more of the API thread than running it did.
 *
 * The path answers only what Apollo would answer with the operation's data alone: a POST of a
 * plain JSON request (query, operationName, variables; no extensions) whose document and
 * operation name were compiled after Apollo validated them, within the cost limit, from an
 * Accept header Apollo has already answered (the answer's media type is Apollo's choice,
 * remembered), and whose result has no error. Everything else goes to Apollo as before:
 *  - a request the path does not take, before anything ran;
 *  - a caller refused by authentication or the rate limit: Apollo gets the same refusal (the
 *    limit is charged once);
 *  - variables the compiled code refused: no resolver ran, Apollo runs the request again and
 *    graphql-js reports them precisely;
 *  - a resolver's error, or a failure of the run or of writing its result: the resolvers ran,
 *    so Apollo answers with what the run gave (handed over to its executor) and formats it,
 *    without running anything again.
 */
export class CompiledHttpPath<TContext extends object> {
  private readonly answerTypes = new Map<string, string>();

  constructor(private readonly options: CompiledHttpPathOptions<TContext>) {}

  /**
   * Answers the request, or says how Apollo should: undefined to handle it from the start, or
   * a context function giving what this path got (authentication and the rate limit ran once):
   * the context, possibly carrying the run's outcome, or the refusal it throws.
   */
  async answer(request: IncomingMessage, response: ServerResponse, body: unknown): Promise<typeof ANSWERED | (() => Promise<TContext>) | undefined> {
    const call = plainCall(body);
    const compiled = call && this.options.operations.compiled(call.source, call.operationName);
    const answerType = compiled && this.answerTypeFor(request.headers.accept ?? '');
    if (!call || !compiled || !answerType || this.costRefuses(compiled, call)) return undefined;
    let context: TContext;
    try {
      context = await this.options.context(request);
    } catch (refusal) {
      return () => {
        throw refusal;
      };
    }
    // From here the resolvers may run: whatever happens goes to Apollo as it happened, never run again.
    const started = performance.now();
    const running = Promise.resolve().then(() => compiled.query.query(undefined, context, call.variables));
    let text: string;
    try {
      const result = await running;
      if (result.errors?.length) return this.toApollo(context, result.data === undefined ? undefined : running);
      // As Apollo writes a result: its fields in the order errors, data, extensions, and a newline.
      text = `${JSON.stringify({ data: result.data })}\n`;
    } catch {
      return this.toApollo(context, running);
    }
    response.statusCode = 200;
    response.setHeader('content-type', answerType);
    response.end(text);
    this.options.metrics?.graphqlOperation(compiled.operation.operation, 'OK', (performance.now() - started) / 1000);
    this.options.metrics?.graphqlCompiledAnswer();
    return ANSWERED;
  }

  /**
   * Remembers the media type Apollo answered a POST with for its Accept header: for a
   * complete single result Apollo chooses it from the Accept header alone. The least recently
   * used header goes first when there are too many.
   */
  learn(request: IncomingMessage, result: HTTPGraphQLResponse): void {
    const accept = request.headers.accept ?? '';
    if (request.method !== 'POST' || (result.status ?? 200) !== 200 || result.body.kind !== 'complete' || this.answerTypes.has(accept)) return;
    const type = result.headers.get('content-type');
    if (!type?.startsWith('application/')) return;
    if (this.answerTypes.size >= MAX_ACCEPT_HEADERS) this.answerTypes.delete(this.answerTypes.keys().next().value!);
    this.answerTypes.set(accept, type);
  }

  private answerTypeFor(accept: string): string | undefined {
    const type = this.answerTypes.get(accept);
    if (type !== undefined) {
      this.answerTypes.delete(accept);
      this.answerTypes.set(accept, type);
    }
    return type;
  }

  /** Whether the cost limit refuses the call; a check that fails is left to Apollo's, which reports it. */
  private costRefuses(compiled: CompiledOperation, call: PlainCall): boolean {
    try {
      return this.options.checkCost(compiled.document, call.variables, call.operationName) !== undefined;
    } catch {
      return true;
    }
  }

  /**
   * Apollo answers with this context: with what the run gave (a result with errors after its
   * resolvers ran, or a failure) handed over to its executor; with nothing handed over when
   * no resolver ran (refused variables), so that graphql-js runs them again and says why.
   */
  private toApollo(context: TContext, outcome: Promise<ExecutionResult> | undefined): () => Promise<TContext> {
    const answerWith = outcome === undefined ? context : this.options.operations.handOver(context, outcome);
    return () => Promise.resolve(answerWith);
  }
}

/** A JSON body Apollo would take as it is, without extensions (persisted queries and the like stay Apollo's). */
function plainCall(body: unknown): PlainCall | undefined {
  if (!isRecord(body)) return undefined;
  const { query, operationName, variables, extensions } = body;
  if (typeof query !== 'string' || (extensions !== undefined && extensions !== null)) return undefined;
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return undefined;
  if (variables !== undefined && variables !== null && !isRecord(variables)) return undefined;
  return { source: query, operationName: operationName ?? undefined, variables: variables ?? undefined };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}
