import './production-defaults';
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startApp, type Role, type RunningApp } from './app';
import { openStore } from './composition/backends';
import { startTracing, type Tracing } from './composition/tracing-sdk';
import { createTenant, TENANT_ID_PATTERN } from './tenants/tenant-service';
import { ConfigError, loadConfig, unknownSettings, type Config } from './config';
import { isTelemetryError } from './domain/errors';
import type pino from 'pino';
import { createLogger } from './logger';
import { printTelemetrySchema, SCHEMA_FILE } from './schema/emit-schema';

const USAGE = `usage: node dist/src/main.js [command] [options]

commands:
  start          run the service (default): API, consumer, embedded stream and database
  emit-schema    write the GraphQL SDL to ${SCHEMA_FILE}
  create-tenant <id> [--name NAME]
                 create a tenant and its first admin API key (printed once); the service may be running

options:
  --role all       API and consumer in this process (default)
  --role api       the API only; committed events arrive through the events topic
  --role consumer  the consumer only: stores readings, detects anomalies, delivers webhooks,
                   publishes to the events topic; GET /healthz and /readyz on PORT
  -h, --help     show this help

configuration comes from the environment; see README.md ("Configuration").`;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { role: { type: 'string', default: 'all' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const command = positionals[0] ?? 'start';
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (command === 'emit-schema') {
    writeFileSync(path.resolve(SCHEMA_FILE), printTelemetrySchema());
    console.log(`wrote ${SCHEMA_FILE}`);
    return;
  }
  if (command === 'create-tenant') {
    failure = 'create-tenant failed';
    const id = positionals[1];
    if (!id || !TENANT_ID_PATTERN.test(id)) throw new UsageError('create-tenant needs a tenant id of 1-64 characters of [a-z0-9-], e.g. create-tenant acme');
    const config = loadConfig();
    const store = await openStore(config);
    try {
      const key = await createTenant(store, id, values.name ?? id).catch((error: unknown) => {
        if (isTelemetryError(error) && error.code === 'ALREADY_EXISTS') {
          throw new Error(`tenant "${id}" exists already (its admins create more keys with the createApiKey mutation)`);
        }
        throw error;
      });
      process.stderr.write(`\n  Tenant "${id}" created. Its admin API key is shown ONCE and stored only as a hash:\n\n      ${key}\n\n`);
    } finally {
      await store.close();
    }
    return;
  }
  if (command !== 'start') throw new UsageError(`unknown command "${command}"`);
  if (values.role !== 'all' && values.role !== 'api' && values.role !== 'consumer')
    throw new UsageError(`--role must be all, api or consumer; got "${values.role}"`);
  await start(values.role);
}

class UsageError extends Error {}

/** What the last line says when a command fails (start-up is the default command). */
let failure = 'failed to start';

async function start(role: Role): Promise<void> {
  const config = loadConfig();
  const root = createLogger(config.logLevel);
  for (const problem of unknownSettings()) root.child({ component: 'service' }).warn({}, problem);
  // Before the app, so that its first requests are traced; the consumer thread starts its own.
  const tracing = startTracing(config.tracing, root);
  let app: RunningApp;
  try {
    app = await startApp(config, root, role);
  } catch (error) {
    await tracing?.shutdown();
    throw error;
  }
  const logger = root.child({ component: 'service' });
  logger.info(
    { url: app.url, mqttUrl: app.mqttUrl, dataDir: config.dataDir, role },
    role === 'consumer' ? 'telemetry consumer started' : 'telemetry API started',
  );
  if (role === 'consumer') process.stderr.write(`\n  Consumer running. Health: ${app.url}\n  Data directory: ${config.dataDir}\n\n`);
  else printWelcome(app, config);
  handleLifecycle(app, logger, tracing);
}

function printWelcome(app: RunningApp, config: Config): void {
  const lines = [
    '',
    `  GraphQL (HTTP):      ${app.url}`,
    `  GraphQL (WebSocket): ${app.wsUrl}   (graphql-ws protocol)`,
    `  Plain HTTP ingest:   ${app.url.replace(/\/graphql$/, '/ingest')}`,
    `  Web console:         ${app.url.replace(/\/graphql$/, '/')}   (GraphiQL: open the GraphQL URL in a browser)`,
    ...(app.mqttUrl ? [`  MQTT (devices):      ${app.mqttUrl}, and over WebSocket at ${app.wsUrl.replace(/\/graphql$/, '/mqtt')}`] : []),
    `  Data directory:      ${config.dataDir}`,
    '',
  ];
  if (app.generatedAdminKey) {
    lines.push(
      '  A new admin API key was generated. It is shown ONCE and stored only as a hash:',
      '',
      `      ${app.generatedAdminKey}`,
      '',
      '  Keep it: export TELEMETRY_ADMIN_KEY=<key> (the simulator and examples read it).',
    );
  } else {
    lines.push(config.adminKey ? '  Admin key: the value of TELEMETRY_ADMIN_KEY.' : '  Admin key: the one printed on first start (not shown again).');
  }
  lines.push(
    '  Authenticate HTTP with "Authorization: Bearer <key>", WebSocket with connectionParams { authorization: "Bearer <key>" }.',
    '  Try it: npm run simulate -- --devices 50 --rate 10',
    '',
  );
  process.stderr.write(`${lines.join('\n')}\n`);
}

/**
 * SIGTERM (Kubernetes, docker stop, systemd) and SIGINT (Ctrl-C) both shut down gracefully:
 * no new connections, requests in flight answered, the consumer's round finished, files closed.
 * The handlers stay installed: under `npm start` the same signal often arrives twice (once to
 * the process group, once forwarded by npm), and a second one must not kill the process
 * halfway through.
 */
function handleLifecycle(app: RunningApp, logger: pino.Logger, tracing: Tracing | undefined): void {
  app.failed.catch((error: unknown) => {
    logger.fatal({ err: error }, 'a part of the service failed; exiting so that it is restarted (accepted readings are safe in the stream)');
    process.exit(1);
  });

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.info({ signal }, 'already shutting down');
      return;
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: answering requests in flight, then stopping');
    // The spans of the last requests and batches are exported before the process exits.
    app
      .close()
      .then(() => tracing?.shutdown())
      .then(
        () => {
          logger.info({ signal }, 'stopped');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

// One line on stderr naming the cause (StartupError and ConfigError messages name the setting
// too), a non-zero exit code, and nothing left running: startApp closed what it had opened.
main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof UsageError) {
    console.error(error.message);
    if (error instanceof UsageError) console.error(`\n${USAGE}`);
    process.exit(2);
  }
  console.error(`${failure}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
