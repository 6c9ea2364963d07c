import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { startApp, type RunningApp } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { createLogger, type Logger } from '../../src/logger';

export interface GraphQLResponse<T> {
  readonly status: number;
  readonly data?: T | null;
  readonly errors?: { message: string; path?: readonly (string | number)[]; extensions?: Record<string, unknown> }[];
}

export interface TestServer {
  readonly app: RunningApp;
  readonly config: Config;
  readonly adminKey: string;
  readonly dataDir: string;
  readonly baseUrl: string;
  /** Runs a typed operation over HTTP as the admin (or with `key`). */
  gql<TData, TVariables>(document: TypedDocumentNode<TData, TVariables>, variables?: TVariables, key?: string | null): Promise<GraphQLResponse<TData>>;
  /** Same, failing the test on any GraphQL error. */
  ok<TData, TVariables>(document: TypedDocumentNode<TData, TVariables>, variables?: TVariables): Promise<TData>;
  close(): Promise<void>;
}

export function newDataDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'telemetry-test-'));
}

export function randomKey(): string {
  return `tk_${randomBytes(32).toString('base64url')}`;
}

/** The settings every test service starts with (an ephemeral port, no fsync, no rate limit, no MQTT broker), then `env`. */
export function testServiceConfig(dataDir: string, adminKey: string, env: Record<string, string> = {}) {
  return loadConfig({
    PORT: '0',
    TELEMETRY_DATA_DIR: dataDir,
    TELEMETRY_ADMIN_KEY: adminKey,
    TELEMETRY_STREAM_SYNC: 'normal',
    // Tests drive many requests from one key; the rate-limit tests set their own limits.
    TELEMETRY_RATE_LIMIT_PER_SECOND: '1000000',
    TELEMETRY_RATE_LIMIT_BURST: '1000000',
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    // No broker on 1883 per test server: the MQTT suites ask for one on an ephemeral port ('0').
    TELEMETRY_MQTT_PORT: 'off',
    ...env,
  });
}

/** Starts the real service (API, consumer worker, embedded stream and store) on an ephemeral port; `logger` to read its log lines. */
export async function startTestServer(env: Record<string, string> = {}, dataDir: string = newDataDir(), logger?: Logger): Promise<TestServer> {
  const adminKey = env['TELEMETRY_ADMIN_KEY'] ?? randomKey();
  const config = testServiceConfig(dataDir, adminKey, env);
  const app = await startApp(config, logger ?? createLogger(config.logLevel));
  const baseUrl = app.url.replace(/\/graphql$/, '');
  const gql = async <TData, TVariables>(document: TypedDocumentNode<TData, TVariables>, variables?: TVariables, key: string | null = adminKey) => {
    const response = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query: print(document), variables }),
    });
    const body = (await response.json()) as Omit<GraphQLResponse<TData>, 'status'>;
    return { status: response.status, ...body };
  };
  return {
    app,
    config,
    adminKey,
    dataDir,
    baseUrl,
    gql,
    async ok(document, variables) {
      const result = await gql(document, variables);
      if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
      return result.data!;
    },
    async close() {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a value other than undefined (tests never sleep blindly). */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
