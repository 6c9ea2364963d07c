import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The service as a child process, started exactly as `npm start` starts it. */
export interface ServiceProcess {
  /** The process spawned: node itself, or npm when started `via: 'npm'`. */
  readonly child: ChildProcess;
  /** The node process serving (the child itself unless started through npm). */
  readonly pid: number;
  readonly url: string;
  readonly output: () => string;
  /** Resolves once the output (stdout and stderr) matches `pattern`; rejects if the process exits first. */
  readonly waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpExecArray>;
}

export interface ServiceProcessOptions {
  /**
   * `node` runs dist/src/main.js directly; `npm` runs `npm start` (its `start` script only, in
   * its own process group, so that a test can signal the group as a terminal or supervisor
   * would). @default 'node'
   */
  readonly via?: 'node' | 'npm';
  /**
   * Run as an operator does: without the NODE_ENV=test that jest sets and the service inherits
   * (libraries behave differently under it; Apollo Server, for one, then leaves signals alone).
   * @default false
   */
  readonly asOperator?: boolean;
  /**
   * A command that runs node for the test, e.g. `unshare` setting up a mount namespace: the
   * service is started as `...launcher <node> main.js <args>`. Only with `via: 'node'`.
   */
  readonly launcher?: readonly string[];
}

const MAIN = path.join(__dirname, '..', '..', 'src', 'main.js');
/** The package root (dist/test/support/../../..). */
export const PACKAGE_ROOT = path.join(__dirname, '..', '..', '..');

/** Spawns the service and waits for its "started" log line (the URL it serves). */
export function startServiceProcess(env: Record<string, string>, args: readonly string[] = [], options: ServiceProcessOptions = {}): Promise<ServiceProcess> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: '0', TELEMETRY_MQTT_PORT: 'off', LOG_LEVEL: 'info', ...env };
  if (options.asOperator) delete childEnv['NODE_ENV'];
  const child =
    options.via === 'npm'
      ? spawn('npm', ['start', '--ignore-scripts', '--silent', '--', ...args], {
          cwd: PACKAGE_ROOT,
          env: { ...childEnv, npm_config_update_notifier: 'false' },
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        })
      : options.launcher
        ? spawn(options.launcher[0]!, [...options.launcher.slice(1), process.execPath, MAIN, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(process.execPath, [MAIN, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const waitFor = (pattern: RegExp, timeoutMs = 20_000) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(output);
        if (match) done(() => resolve(match));
      };
      const onExit = (code: number | null, signal: string | null) =>
        done(() => reject(new Error(`service exited (${code ?? signal}) before its output matched ${pattern}:\n${output}`)));
      const timer = setTimeout(() => done(() => reject(new Error(`no output matched ${pattern} within ${timeoutMs} ms:\n${output}`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        child.off('exit', onExit);
        settle();
      };
      listeners.add(check);
      child.once('exit', onExit);
      check();
    });
  return waitFor(/"pid":(\d+),[^\n]*"url":"(http:\/\/[^"]+)"/).then(
    (match) => ({ child, pid: Number(match[1]), url: match[2]!, output: () => output, waitFor }),
    (error: unknown) => {
      // Never leave a half-started service behind (with npm, its whole process group).
      if (child.exitCode === null && child.signalCode === null) {
        if (options.via === 'npm') process.kill(-child.pid!, 'SIGKILL');
        else child.kill('SIGKILL');
      }
      throw error;
    },
  );
}

/** Whether a process is alive (a zombie, dead but not yet reaped, counts as gone). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** kill -9: no shutdown hook runs, exactly like a power cut of the process. */
export function killHard(service: ServiceProcess): Promise<void> {
  return new Promise((resolve) => {
    if (service.child.exitCode !== null || service.child.signalCode !== null) {
      resolve();
      return;
    }
    service.child.once('exit', () => resolve());
    service.child.kill('SIGKILL');
  });
}

export function stopGracefully(service: ServiceProcess): Promise<number | null> {
  return new Promise((resolve) => {
    service.child.once('exit', (code) => resolve(code));
    service.child.kill('SIGTERM');
  });
}

/** Runs `main.js create-tenant <id>` against a data directory; returns the admin key it prints once. */
export function createTenantWithCli(dataDir: string, tenantId: string): Promise<string> {
  const child = spawn(process.execPath, [MAIN, 'create-tenant', tenantId], {
    env: { ...process.env, TELEMETRY_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      const key = /\b(tk_[A-Za-z0-9_-]{43})\b/.exec(output)?.[1];
      if (code === 0 && key) resolve(key);
      else reject(new Error(`create-tenant exited with ${code}:\n${output}`));
    });
  });
}
