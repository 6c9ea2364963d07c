import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface BenchService {
  readonly child: ChildProcess;
  readonly url: string;
  /** Peak resident set size of the service process so far, MiB (Linux VmHWM). */
  peakRssMiB(): number;
  stop(): Promise<void>;
}

/** Starts the service exactly as `npm start` does, in its own process, on a free port. */
export function startService(env: Record<string, string>): Promise<BenchService> {
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'src', 'main.js')], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /GraphQL \(HTTP\):\s+(http:\/\/\S+)/.exec(output);
      if (!match) return;
      resolve({
        child,
        url: match[1]!,
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
