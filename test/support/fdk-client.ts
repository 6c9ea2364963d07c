import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import type { StreamMessage } from '../../src/stream/stream';
import { eventually } from './server';

/**
 * The Fn platform's side of the FDK's http-stream contract, offline: start the packaged
 * function entry point with FN_FORMAT and FN_LISTENER, wait until the FDK links its unix
 * socket into place, then send each invocation as POST /call with the Fn-* headers.
 */
export const FUNCTION_ENTRY = path.join(__dirname, '..', '..', 'src', 'functions', 'consumer-function.js');

export interface FunctionProcess {
  readonly child: ChildProcess;
  readonly socket: string;
  readonly output: () => string;
  /** Invokes the function once with `body` (JSON text); the FDK's status and body. */
  call(body: string): Promise<{ status: number; body: string }>;
  stop(): Promise<void>;
}

/** Starts the entry point with its socket in `dir` and `env` added to this process's environment. */
export async function startFunctionProcess(dir: string, env: Record<string, string>): Promise<FunctionProcess> {
  const socket = path.join(dir, 'lsnr.sock');
  const child = spawn(process.execPath, [FUNCTION_ENTRY], {
    env: { ...process.env, FN_FORMAT: 'http-stream', FN_LISTENER: `unix:${socket}`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  // 'close', not 'exit': 'exit' may come before the last of its output has been read.
  const closed = new Promise((resolve) => child.once('close', resolve));
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await eventually(() => (existsSync(socket) ? true : undefined), 15_000, "the FDK's socket");
  return {
    child,
    socket,
    output: () => output,
    call: (body) => call(socket, body),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await closed;
    },
  };
}

function call(socketPath: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        path: '/call',
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'Fn-Call-Id': `call-${Date.now()}`,
          'Fn-Deadline': new Date(Date.now() + 60_000).toISOString(),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Stream messages as a Connector Hub stream -> function connector delivers them (base64 key and value, partition as a string, ISO timestamp). */
export const asConnectorBatch = (messages: readonly StreamMessage[]) =>
  messages.map((message) => ({
    stream: 'telemetry-readings',
    partition: String(message.partition),
    key: Buffer.from(message.key, 'utf8').toString('base64'),
    value: Buffer.from(message.value, 'utf8').toString('base64'),
    offset: message.offset,
    timestamp: new Date(message.timestamp).toISOString(),
  }));
