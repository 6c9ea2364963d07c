import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { npmStartNodeOptions } from '../test/support/npm-start';

export interface BenchService {
  readonly child: ChildProcess;
  readonly url: string;
  /** The built-in MQTT broker (`TELEMETRY_MQTT_PORT`, an ephemeral port here). */
  readonly mqttUrl: string | undefined;
  /** Peak resident set size of the service process so far, MiB (Linux VmHWM). */
  peakRssMiB(): number;
  stop(): Promise<void>;
}

/**
 * Starts the service exactly as `npm start` does (its node options included), in its own
 * process, on a free port. `BENCH_NODE_ARGS` adds options to its `node` command line, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile every thread of the service (Node refuses
 * `--cpu-prof` in NODE_OPTIONS).
 */
export function startService(env: Record<string, string>): Promise<BenchService> {
  const nodeArgs = [...npmStartNodeOptions(), ...(process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)];
  const child = spawn(process.execPath, [...nodeArgs, path.join(__dirname, '..', 'src', 'main.js')], {
    env: { ...process.env, PORT: '0', TELEMETRY_MQTT_PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      // The banner's last address line: every URL above it has been written by then.
      const match = /GraphQL \(HTTP\):\s+(http:\/\/\S+)[\s\S]*Data directory:/.exec(output);
      if (!match) return;
      resolve({
        child,
        url: match[1]!,
        mqttUrl: /MQTT \(devices\):\s+(mqtts?:\/\/[^\s,]+)/.exec(output)?.[1],
        peakRssMiB: () => {
          const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
          return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
        },
        stop: () =>
          new Promise((done) => {
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`service exited with ${code}:\n${output}`)));
  });
}

/** A service the benchmark starts for itself; `stop` also deletes its data directory. */
export interface OwnService {
  readonly service: BenchService;
  /** Its admin key, whose rate limit is lifted: one key drives the whole load. */
  readonly key: string;
  stop(): Promise<void>;
}

/** Starts the service on a fresh data directory with an admin key whose rate limit is lifted (default 100 requests/s). */
export async function startOwnService(env: Record<string, string> = {}): Promise<OwnService> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'telemetry-bench-'));
  const key = `tk_${randomBytes(32).toString('base64url')}`;
  const service = await startService({
    TELEMETRY_DATA_DIR: dataDir,
    TELEMETRY_ADMIN_KEY: key,
    TELEMETRY_RATE_LIMIT_PER_SECOND: '1000000',
    TELEMETRY_RATE_LIMIT_BURST: '1000000',
    ...env,
  });
  return {
    service,
    key,
    async stop() {
      await service.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
