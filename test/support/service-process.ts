import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/** The service as a child process, started exactly as `npm start` starts it. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly output: () => string;
}

const MAIN = path.join(__dirname, '..', '..', 'src', 'main.js');

export function startServiceProcess(env: Record<string, string>, args: readonly string[] = []): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1]!, output: () => output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`service exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
}

/** kill -9: no shutdown hook runs, exactly like a power cut of the process. */
export function killHard(service: ServiceProcess): Promise<void> {
  return new Promise((resolve) => {
    if (service.child.exitCode !== null || service.child.signalCode !== null) return resolve();
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
  const child = spawn(process.execPath, [MAIN, 'create-tenant', tenantId], { env: { ...process.env, TELEMETRY_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      const key = /\b(tk_[A-Za-z0-9_-]{43})\b/.exec(output)?.[1];
      if (code === 0 && key) resolve(key);
      else reject(new Error(`create-tenant exited with ${code}:\n${output}`));
    });
  });
}
