import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * deploy/oci/api-gateway-deployment.json is an OCI API Gateway deployment specification
 * (ApiSpecification, API Gateway API 20190501). Its documented shape is written here as strict
 * schemas, field names and enums as the OCI SDK's model declares them, so a misspelt field or
 * value fails here rather than at `oci api-gateway deployment create`.
 */
const SPEC = path.join(__dirname, '..', '..', '..', 'deploy', 'oci', 'api-gateway-deployment.json');

const Method = z.enum(['ANY', 'HEAD', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const Cors = z.strictObject({
  allowedOrigins: z.array(z.string().min(1)).min(1),
  allowedMethods: z.array(z.union([Method, z.literal('*')])).optional(),
  allowedHeaders: z.array(z.string().min(1)).optional(),
  exposedHeaders: z.array(z.string().min(1)).optional(),
  isAllowCredentialsEnabled: z.boolean().optional(),
  maxAgeInSeconds: z.number().int().min(0).optional(),
});
const RateLimiting = z.strictObject({ rateKey: z.enum(['CLIENT_IP', 'TOTAL']), rateInRequestsPerSecond: z.number().int().min(1) });
const HeaderValidations = z.strictObject({
  validationMode: z.enum(['ENFORCING', 'PERMISSIVE', 'DISABLED']).optional(),
  headers: z.array(z.strictObject({ name: z.string().min(1), required: z.boolean().optional() })).optional(),
});
const HttpBackend = z.strictObject({
  type: z.literal('HTTP_BACKEND'),
  url: z.url(),
  connectTimeoutInSeconds: z.number().min(1).max(75).optional(),
  readTimeoutInSeconds: z.number().min(1).max(300).optional(),
  sendTimeoutInSeconds: z.number().min(1).max(300).optional(),
  isSslVerifyDisabled: z.boolean().optional(),
});
const LoggingPolicies = z.strictObject({
  accessLog: z.strictObject({ isEnabled: z.boolean() }).optional(),
  executionLog: z.strictObject({ isEnabled: z.boolean(), logLevel: z.enum(['INFO', 'WARN', 'ERROR']).optional() }).optional(),
});
const Route = z.strictObject({
  path: z.string().startsWith('/'),
  methods: z.array(Method).min(1).optional(),
  backend: HttpBackend,
  requestPolicies: z.strictObject({ cors: Cors.optional(), headerValidations: HeaderValidations.optional() }).optional(),
  loggingPolicies: LoggingPolicies.optional(),
});
const ApiSpecification = z.strictObject({
  requestPolicies: z.strictObject({ rateLimiting: RateLimiting.optional(), cors: Cors.optional() }).optional(),
  loggingPolicies: LoggingPolicies.optional(),
  routes: z.array(Route).min(1),
});

describe('the OCI API Gateway deployment specification (deploy/oci/api-gateway-deployment.json)', () => {
  const spec = ApiSpecification.parse(JSON.parse(readFileSync(SPEC, 'utf8')));
  const route = (routePath: string) => spec.routes.find((candidate) => candidate.path === routePath);

  it('has the documented shape (strict: no field the API does not define)', () => {
    expect(spec.routes.length).toBeGreaterThan(0);
  });

  it('routes /graphql (GET for queries and the WebSocket upgrade, POST), /ingest (POST) and /mqtt (the WebSocket upgrade) to the API nodes', () => {
    expect(route('/graphql')?.methods).toEqual(expect.arrayContaining(['GET', 'POST']));
    expect(route('/ingest')?.methods).toEqual(['POST']);
    expect(route('/mqtt')?.methods).toEqual(['GET']);
    const origins = new Set(spec.routes.map((candidate) => new URL(candidate.backend.url).origin));
    expect(origins.size).toBe(1);
    for (const candidate of spec.routes) expect(new URL(candidate.backend.url).pathname).toBe(candidate.path);
  });

  it('lets browsers send the headers the API reads and read the ones it answers with (CORS)', () => {
    const cors = spec.requestPolicies?.cors;
    expect(cors?.allowedHeaders).toEqual(expect.arrayContaining(['authorization', 'content-type', 'x-request-id', 'ce-id', 'ce-source', 'ce-type']));
    expect(cors?.exposedHeaders).toEqual(expect.arrayContaining(['x-request-id', 'retry-after']));
    // Keys travel in the Authorization header, never in cookies: no credentialed CORS.
    expect(cors?.isAllowCredentialsEnabled).toBe(false);
  });

  it('limits requests per client address at the gateway, and waits for long subscriptions and ingest calls', () => {
    expect(spec.requestPolicies?.rateLimiting?.rateKey).toBe('CLIENT_IP');
    expect(route('/graphql')?.backend.readTimeoutInSeconds).toBe(300);
    expect(route('/ingest')?.requestPolicies?.headerValidations?.headers).toEqual([{ name: 'authorization', required: true }]);
  });
});
