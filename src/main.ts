import './production-defaults';
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createTenant, openStore, startApp, TENANT_ID_PATTERN } from './app';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { printTelemetrySchema, SCHEMA_FILE } from './schema/emit-schema';

const USAGE = `usage: node dist/src/main.js [command] [options]

commands:
  start          run the service (default): API, consumer, embedded stream and database
  emit-schema    write the GraphQL SDL to ${SCHEMA_FILE}
  create-tenant <id> [--name NAME]
                 create a tenant and its first admin API key (printed once); the service may be running

options:
  --role all     run every part in this process (the only role on embedded backends)
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
    const id = positionals[1];
    if (!id || !TENANT_ID_PATTERN.test(id)) throw new UsageError('create-tenant needs a tenant id of 1-64 characters of [a-z0-9-], e.g. create-tenant acme');
    const config = loadConfig();
    const store = openStore(config);
    try {
      const key = await createTenant(store, id, values.name ?? id);
      process.stderr.write(`\n  Tenant "${id}" created. Its admin API key is shown ONCE and stored only as a hash:\n\n      ${key}\n\n`);
    } finally {
      await store.close();
    }
    return;
  }
  if (command !== 'start') throw new UsageError(`unknown command "${command}"`);
  if (values.role !== 'all') {
    throw new UsageError(`--role ${values.role} is not available yet: the embedded stream and database run as one process (--role all)`);
  }
  await start();
}

class UsageError extends Error {}

async function start(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const app = await startApp(config, logger);
  logger.info({ url: app.url, dataDir: config.dataDir }, 'telemetry API started');

  const lines = [
    '',
    `  GraphQL (HTTP):      ${app.url}`,
    `  GraphQL (WebSocket): ${app.wsUrl}   (graphql-ws protocol)`,
    `  Plain HTTP ingest:   ${app.url.replace(/\/graphql$/, '/ingest')}`,
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

  app.failed.catch((error: unknown) => {
    logger.fatal({ err: error }, 'a part of the service failed; exiting so that it is restarted (accepted readings are safe in the stream)');
    process.exit(1);
  });

  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof UsageError) {
    console.error(error.message);
    if (error instanceof UsageError) console.error(`\n${USAGE}`);
    process.exit(2);
  }
  console.error('failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
