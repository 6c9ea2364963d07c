import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { GraphQLError } from 'graphql';
import { mediaType, parseJsonBody, readBody } from './body';
import { ANSWERED, type CompiledHttpPath } from './compiled-http-path';

export interface GraphQLHttpOptions<TContext extends object> {
  readonly apollo: ApolloServer<TContext>;
  readonly maxBodyBytes: number;
  /** Builds the request context; throw a GraphQLError with extensions.http.status to refuse. */
  readonly context: (request: IncomingMessage) => Promise<TContext>;
  /**
   * Checks the document's text once the context is built and before Apollo parses it: the
   * error to refuse the request with (extensions.http.status), or undefined. Apollo has no
   * later hook that refuses a request before graphql-js's validation rules run.
   */
  readonly checkDocument: (source: string) => GraphQLError | undefined;
  /** Compiled ingest mutations answered without Apollo's pipeline when it would add nothing; none: all go to Apollo. */
  readonly compiledPath?: CompiledHttpPath<TContext> | undefined;
}

/**
 * Apollo Server on a plain Node HTTP server (its documented integration contract,
 * executeHTTPGraphQLRequest), so HTTP and the WebSocket endpoint share one port and path
 * without a web framework in between.
 */
export function createGraphQLHttpHandler<TContext extends object>(options: GraphQLHttpOptions<TContext>) {
  const { compiledPath } = options;
  return async (request: IncomingMessage, response: ServerResponse, search: string): Promise<void> => {
    let body: unknown;
    if (request.method === 'POST') {
      const raw = await readBody(request, options.maxBodyBytes);
      const type = mediaType(request);
      body = type === 'application/json' || type === 'application/graphql-response+json' ? parseJsonBody(raw) : raw.toString('utf8');
    }
    let context = async (): Promise<TContext> => {
      const built = await options.context(request);
      const source = querySource(request.method, body, search);
      const refused = source === undefined ? undefined : options.checkDocument(source);
      if (refused) throw refused;
      return built;
    };
    if (compiledPath && request.method === 'POST') {
      const outcome = await compiledPath.answer(request, response, body);
      if (outcome === ANSWERED) return;
      // The context it built, or its refusal: a document it knew passed the document checks.
      if (outcome) context = outcome;
    }
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const result = await options.apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: request.method ?? 'GET', headers, search, body },
      context,
    });
    compiledPath?.learn(request, result);
    for (const [name, value] of result.headers) response.setHeader(name, value);
    response.statusCode = result.status ?? 200;
    if (result.body.kind === 'complete') {
      if (response.statusCode === 400 && isLegacyJsonRequestError(result.headers.get('content-type'), result.body.string)) response.statusCode = 200;
      response.end(result.body.string);
      return;
    }
    for await (const chunk of result.body.asyncIterator) response.write(chunk);
    response.end();
  };
}

/** The document text of a GET or POST request; undefined when absent or malformed (Apollo refuses those). */
function querySource(method: string | undefined, body: unknown, search: string): string | undefined {
  const query =
    method === 'GET'
      ? new URLSearchParams(search).get('query')
      : typeof body === 'object' && body !== null && !Array.isArray(body)
        ? (body as { query?: unknown }).query
        : undefined;
  return typeof query === 'string' ? query : undefined;
}

/** Errors of a well-formed GraphQL-over-HTTP request that the document or its variables cause. */
const REQUEST_ERROR_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'OPERATION_RESOLUTION_FAILURE']);

/**
 * GraphQL over HTTP: a client that accepts only `application/json` (the legacy type) gets
 * document, operation and variable errors with status 200, as the specification asks; clients
 * accepting `application/graphql-response+json` get 400. A malformed HTTP request (BAD_REQUEST)
 * stays 400 either way.
 */
function isLegacyJsonRequestError(contentType: string | undefined, body: string): boolean {
  if (!contentType?.startsWith('application/json')) return false;
  try {
    const errors = (JSON.parse(body) as { errors?: { extensions?: { code?: unknown } }[] }).errors ?? [];
    return errors.length > 0 && errors.every((error) => REQUEST_ERROR_CODES.has(String(error.extensions?.code)));
  } catch {
    return false;
  }
}
