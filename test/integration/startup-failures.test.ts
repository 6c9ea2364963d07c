import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { newDataDir } from '../support/server';
import { createTenantWithCli } from '../support/service-process';

/**
 * An operator who starts the service wrongly gets one line on stderr naming the cause and the
 * setting to change, a non-zero exit code, and nothing left running: no stack trace, no
 * consumer that started (and applied readings) before the failure.
 */

const MAIN = path.join(__dirname, '..', '..', 'src', 'main.js');

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs main.js to its end (it must end by itself) and returns what an operator sees. */
function run(env: Record<string, string>, args: readonly string[] = [], command: readonly string[] = [process.execPath, MAIN]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      command[0]!,
      [...command.slice(1), ...args],
      { env: { ...process.env, PORT: '0', TELEMETRY_MQTT_PORT: 'off', LOG_LEVEL: 'info', ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      },
    );
  });
}

/** Exactly one line on stderr, matching `pattern`, and no trace of a crash anywhere. */
function expectOneClearLine(outcome: Outcome, pattern: RegExp): void {
  const all = outcome.stdout + outcome.stderr;
  expect({ code: outcome.code, stderr: outcome.stderr.trimEnd() }).toEqual({ code: 1, stderr: expect.stringMatching(pattern) });
  expect(outcome.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(all).not.toMatch(/Unhandled|node:events|^\s+at /m);
}

function occupyPort(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

describe('start-up failures, as an operator sees them', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = newDataDir();
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it.each(['all', 'api', 'consumer'])('names PORT when the port is in use (role %s), before the consumer reads anything', async (role) => {
    const occupier = await occupyPort();
    try {
      const port = (occupier.address() as AddressInfo).port;
      const outcome = await run({ TELEMETRY_DATA_DIR: dataDir, PORT: String(port) }, ['--role', role]);
      expectOneClearLine(
        outcome,
        new RegExp(
          `^failed to start: cannot listen on 127\\.0\\.0\\.1:${port} \\(HOST, PORT\\): the port is in use by another process \\(EADDRINUSE\\); .*set PORT`,
        ),
      );
      // The consumer never started: it logs its partitions when it does.
      expect(outcome.stdout).not.toMatch(/partition assignment changed/);
    } finally {
      occupier.close();
    }
  });

  it('warns, at start, of a variable named like a setting that none is (a typo would otherwise change nothing, silently)', async () => {
    const occupier = await occupyPort();
    try {
      const port = (occupier.address() as AddressInfo).port;
      const outcome = await run({ TELEMETRY_DATA_DIR: dataDir, PORT: String(port), TELEMETRY_RETENTION_EVENT_IDS_DAYS: '1' });
      const warnings = outcome.stdout
        .split('\n')
        .filter((line) => line.includes('is not a setting'))
        .map((line) => JSON.parse(line) as { level: number; msg: string });
      expect(warnings).toEqual([
        expect.objectContaining({
          level: 40, // warn
          msg: 'TELEMETRY_RETENTION_EVENT_IDS_DAYS is not a setting of this service and is ignored (did you mean TELEMETRY_RETENTION_EVENT_ID_DAYS?)',
        }),
      ]);
    } finally {
      occupier.close();
    }
  });

  it('names HOST when it is not an address of this machine', async () => {
    // 192.0.2.1 is reserved for documentation (RFC 5737): no machine has it, and binding to it
    // fails locally without a packet sent.
    const outcome = await run({ TELEMETRY_DATA_DIR: dataDir, HOST: '192.0.2.1' });
    expectOneClearLine(
      outcome,
      /^failed to start: cannot listen on 192\.0\.2\.1:0 \(HOST, PORT\): the host is not an address of this machine \(EADDRNOTAVAIL\); set HOST/,
    );
  });

  it('names the path and the cause when the data directory is under a file', async () => {
    const file = path.join(dataDir, 'not-a-directory');
    writeFileSync(file, '');
    const outcome = await run({ TELEMETRY_DATA_DIR: path.join(file, 'data') });
    expectOneClearLine(
      outcome,
      new RegExp(`^failed to start: cannot create the data directory ${file}/data \\(TELEMETRY_DATA_DIR\\): ${file} is a file, not a directory \\(ENOTDIR\\)$`),
    );
  });

  it('names the database file when it cannot be opened', async () => {
    mkdirSync(path.join(dataDir, 'telemetry.db'));
    const outcome = await run({ TELEMETRY_DATA_DIR: dataDir });
    expectOneClearLine(
      outcome,
      new RegExp(
        `^failed to start: cannot open the database ${dataDir}/telemetry\\.db \\(TELEMETRY_DATA_DIR\\): .*telemetry\\.db: it is a directory, not a file \\(EISDIR\\)$`,
      ),
    );
  });

  describe('on a read-only filesystem', () => {
    // A read-only tmpfs mounted in a private mount namespace (unshare): the service runs in it,
    // nothing outside changes. Tests run as root, where permission bits do not stop writes.
    const unshare = spawnSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o ro tmpfs /mnt'], { encoding: 'utf8' });
    const available = unshare.status === 0;
    const maybe = available ? it : it.skip;
    if (!available)
      console.warn(`read-only filesystem tests skipped: cannot mount a tmpfs in a private namespace (${(unshare.stderr || String(unshare.error)).trim()})`);

    const runOnReadOnly = (dir: string) =>
      run(
        {},
        [],
        ['unshare', '-rm', 'sh', '-c', `mount -t tmpfs -o ro tmpfs "${dataDir}" && TELEMETRY_DATA_DIR="${dir}" exec "${process.execPath}" "${MAIN}"`],
      );

    maybe('says the filesystem is read-only when the data directory must be created', async () => {
      const outcome = await runOnReadOnly(path.join(dataDir, 'data'));
      expectOneClearLine(
        outcome,
        new RegExp(
          `^failed to start: cannot create the data directory ${dataDir}/data \\(TELEMETRY_DATA_DIR\\): ${dataDir}: read-only filesystem \\(EROFS\\)$`,
        ),
      );
    });

    maybe('says the filesystem is read-only, with the path, when the data directory exists', async () => {
      const outcome = await runOnReadOnly(dataDir);
      expectOneClearLine(
        outcome,
        new RegExp(
          `^failed to start: cannot open the database ${dataDir}/telemetry\\.db \\(TELEMETRY_DATA_DIR\\): ${dataDir}: read-only filesystem \\(EROFS\\)$`,
        ),
      );
    });
  });

  it('create-tenant for an existing tenant says so (not "failed to start")', async () => {
    await createTenantWithCli(dataDir, 'acme');
    const outcome = await run({ TELEMETRY_DATA_DIR: dataDir }, ['create-tenant', 'acme']);
    expectOneClearLine(outcome, /^create-tenant failed: tenant "acme" exists already \(its admins create more keys with the createApiKey mutation\)$/);
  });
});
