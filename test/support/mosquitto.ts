import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Debian's broker and its clients (`apt-get install mosquitto mosquitto-clients`; .ci/run installs them). */
const MOSQUITTO = ['/usr/sbin/mosquitto', 'mosquitto'];

function found(command: string): boolean {
  return spawnSync(command, ['--help'], { stdio: 'ignore' }).error === undefined;
}

/** The mosquitto binary, or undefined when it is not installed. */
export const mosquittoBinary: string | undefined = MOSQUITTO.find(found);
/** Whether `mosquitto_pub`, `mosquitto_sub` and `mosquitto_passwd` can be run. */
export const hasMosquittoClients: boolean = found('mosquitto_pub') && found('mosquitto_sub') && found('mosquitto_passwd');

/** A free TCP port on 127.0.0.1 (mosquitto takes a port number, not 0). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Mosquitto {
  readonly port: number;
  readonly url: string;
  /** Everything the broker logged (log_type all: every CONNECT, SUBSCRIBE, PUBLISH, PUBACK). */
  readonly log: () => string;
  /** Resolves once the log matches `pattern` (waiting for a condition, never for a time). */
  readonly waitForLog: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpExecArray>;
  close(): Promise<void>;
}

/**
 * A real Mosquitto on loopback with its own temporary configuration: one listener on a free
 * port of 127.0.0.1, no anonymous clients, a password file made with `mosquitto_passwd -b`
 * for `users`, and no persistence to disk (sessions live in the broker's memory, which is
 * what a persistent session of the bridge needs here).
 */
export async function startMosquitto(users: Readonly<Record<string, string>>): Promise<Mosquitto> {
  if (!mosquittoBinary) throw new Error('mosquitto is not installed');
  const dir = mkdtempSync(path.join(tmpdir(), 'mosquitto-test-'));
  // Run as root, mosquitto drops to its own user before it reads the password file.
  chmodSync(dir, 0o755);
  const passwordFile = path.join(dir, 'passwd');
  writeFileSync(passwordFile, '');
  for (const [user, password] of Object.entries(users)) execFileSync('mosquitto_passwd', ['-b', passwordFile, user, password]);
  chmodSync(passwordFile, 0o644);
  const port = await freePort();
  const config = path.join(dir, 'mosquitto.conf');
  writeFileSync(
    config,
    [`listener ${port} 127.0.0.1`, 'allow_anonymous false', `password_file ${passwordFile}`, 'persistence false', 'log_dest stderr', 'log_type all', ''].join(
      '\n',
    ),
  );
  const child: ChildProcess = spawn(mosquittoBinary, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const waitForLog = (pattern: RegExp, timeoutMs = 20_000) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(output);
        if (match) done(() => resolve(match));
      };
      const onExit = (code: number | null) => done(() => reject(new Error(`mosquitto exited (${code}) before its log matched ${pattern}:\n${output}`)));
      const timer = setTimeout(() => done(() => reject(new Error(`mosquitto's log did not match ${pattern} within ${timeoutMs} ms:\n${output}`))), timeoutMs);
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
  await waitForLog(/mosquitto version \S+ running/);
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    log: () => output,
    waitForLog,
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Lines of mosquitto's log matching `pattern` (e.g. the PUBLISHes it sent to one client). */
export function logLines(log: string, pattern: RegExp): string[] {
  return log.split('\n').filter((line) => pattern.test(line));
}
