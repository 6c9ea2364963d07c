import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BackendError } from '../../src/domain/errors';
import { EmbeddedStream } from '../../src/stream/embedded/embedded-stream';
import { watchProduces } from '../../src/stream/produce-watch';
import { WakeSignal } from '../../src/stream/wake-signal';
import { newDataDir } from '../support/server';

/** The embedded log's writer thread: group commit, failures, shutdown, durability under kill -9. */

/** Lets one turn of the event loop pass (the stream sends a group once per turn). */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

const record = (value: string) => ({ key: 'device-1', value });

describe('the embedded log writer thread', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = newDataDir();
    file = path.join(dir, 'stream.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('groups the produces that arrive while a commit is in flight into the next commit', async () => {
    const stream = new EmbeddedStream({ file, partitions: 2, synchronous: 'normal' });
    await stream.produce('readings', [record('warm-up')]); // starts the writer thread
    expect(stream.commits).toBe(1);
    // Another connection holds the write lock: the writer's next commit waits for it, while
    // this thread stays free to take more produces (it would block here if it committed itself).
    const blocker = new Database(file);
    blocker.exec('BEGIN IMMEDIATE');
    const first = stream.produce('readings', [record('first')]);
    await nextTurn(); // the first group has left for the writer
    const second = stream.produce('readings', [record('second')]);
    await nextTurn();
    const third = stream.produce('readings', [record('third-a'), record('third-b')]);
    await nextTurn();
    blocker.exec('COMMIT');
    blocker.close();
    const positions = await Promise.all([first, second, third]);
    expect(positions.flat().map((p) => p.offset)).toEqual([1, 2, 3, 4]);
    expect(stream.commits).toBe(3); // warm-up, first, then second and third together
    expect((await stream.read('readings', positions[0][0]!.partition, 0, 10)).map((m) => m.value)).toEqual([
      'warm-up',
      'first',
      'second',
      'third-a',
      'third-b',
    ]);
    await stream.close();
  });

  it('bounds what waits for a stalled commit: past the limit produces fail at once, retryably, and the waiting ones commit later', async () => {
    const stream = new EmbeddedStream({ file, partitions: 2, synchronous: 'normal', maxPendingProduceBytes: 300 });
    await stream.produce('readings', [record('warm-up')]);
    const blocker = new Database(file);
    blocker.exec('BEGIN IMMEDIATE'); // the disk "stalls": the next commit waits
    const inFlight = stream.produce('readings', [record('x'.repeat(1000))]);
    await nextTurn();
    const waiting = [stream.produce('readings', [record('a'.repeat(100))]), stream.produce('readings', [record('b'.repeat(100))])];
    const refused = await stream.produce('readings', [record('c'.repeat(100))]).catch((error: unknown) => error);
    expect(refused).toMatchObject({ name: 'BackendError', retryable: true, message: expect.stringContaining('retry') });
    blocker.exec('COMMIT');
    blocker.close();
    await Promise.all([inFlight, ...waiting]);
    const values = (await stream.read('readings', (await inFlight)[0]!.partition, 0, 10)).map((m) => m.value[0]);
    expect(values).toEqual(['w', 'x', 'a', 'b']); // nothing of the refused produce
    await stream.close();
  });

  it('rejects a group whose commit fails, retryably and appending none of it, and goes on', async () => {
    const stream = new EmbeddedStream({ file, partitions: 2, synchronous: 'normal', busyTimeoutMs: 20 });
    await stream.produce('readings', [record('before')]);
    const blocker = new Database(file);
    blocker.exec('BEGIN IMMEDIATE');
    const failed = await stream.produce('readings', [record('lost-1'), record('lost-2')]).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(BackendError);
    expect(failed).toMatchObject({ retryable: true, message: expect.stringMatching(/^stream append failed: database is locked/) });
    blocker.exec('ROLLBACK');
    blocker.close();
    const [after] = await stream.produce('readings', [record('after')]);
    expect(after!.offset).toBe(1);
    expect((await stream.read('readings', after!.partition, 0, 10)).map((m) => m.value)).toEqual(['before', 'after']);
    await stream.close();
  });

  it('rejects pending and later produces with a retryable BackendError when the writer thread dies, and never hangs', async () => {
    const stream = new EmbeddedStream({ file, partitions: 2, synchronous: 'normal' });
    // The data directory disappears: the stream's own connection stays open, but the writer
    // thread cannot open the log and dies on start.
    rmSync(dir, { recursive: true, force: true });
    const pending = [stream.produce('readings', [record('a')]), stream.produce('events', [record('b')])];
    for (const outcome of await Promise.allSettled(pending)) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as BackendError;
      expect(reason).toBeInstanceOf(BackendError);
      expect(reason.retryable).toBe(true);
      expect(reason.message).toMatch(/^the stream's writer thread (failed|exited)/);
    }
    // Later produces start a new thread, which cannot open the log either; readiness says why.
    const { stream: watched, health } = watchProduces(stream);
    await expect(watched.produce('readings', [record('later')])).rejects.toMatchObject({ name: 'BackendError', retryable: true });
    expect(health.failure()).toMatch(/^the last write to the stream failed \d+ s ago: the stream's writer thread (failed|exited)/);
    await stream.close();
  });

  it('does not start a writer thread per produce while the last one died moments ago', async () => {
    const stream = new EmbeddedStream({ file, partitions: 2, synchronous: 'normal', writerRestartPauseMs: 3_600_000 });
    rmSync(dir, { recursive: true, force: true });
    const first = await stream.produce('readings', [record('a')]).catch((error: unknown) => error);
    expect(first).toMatchObject({ name: 'BackendError', retryable: true });
    // Within the pause: the same refusal, no new thread (a new one would fail with its own error).
    for (let i = 0; i < 5; i++) expect(await stream.produce('readings', [record(`b${i}`)]).catch((error: unknown) => error)).toBe(first);
    await stream.close();
  });

  it('rings the readings-appended signal from its thread after each commit that appended readings, not after events alone', async () => {
    const appended = new WakeSignal();
    const stream = new EmbeddedStream({ file, partitions: 2, synchronous: 'normal', readingsAppended: appended.buffer });
    let heard = 0;
    let onHeard: () => void = () => {};
    // Nothing on this thread rings it: each call comes from the writer thread's ring.
    const stop = appended.listen(() => {
      heard++;
      onHeard();
    });
    try {
      await stream.produce('events', [record('an event')]);
      expect(appended.rings).toBe(0);
      const rung = new Promise<void>((resolve) => (onHeard = resolve));
      await stream.produce('readings', [record('a reading')]);
      await rung;
      expect(appended.rings).toBe(1);
      expect(heard).toBe(1);
      await stream.produce('events', [record('another event')]);
      expect(appended.rings).toBe(1);
    } finally {
      stop();
      await stream.close();
    }
  });

  it('commits what is pending when closed, then refuses produces', async () => {
    const stream = new EmbeddedStream({ file, partitions: 2, synchronous: 'normal' });
    const produced = Array.from({ length: 20 }, (_, i) => stream.produce('readings', [record(`v${i}`)]));
    await stream.close();
    expect((await Promise.all(produced)).map(([position]) => position!.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    await expect(stream.produce('readings', [record('late')])).rejects.toMatchObject({ name: 'BackendError', retryable: true, message: 'stream is closed' });
    const reopened = new EmbeddedStream({ file, partitions: 2, synchronous: 'normal' });
    expect(await reopened.read('readings', (await Promise.all(produced))[0]![0]!.partition, 0, 100)).toHaveLength(20);
    await reopened.close();
  });

  it('keeps every acknowledged record when the process is killed with SIGKILL right after an ack', async () => {
    const child = spawn(process.execPath, [path.join(__dirname, '..', 'support', 'log-producer-process.js'), file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const ACKS = 200;
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`producer exited (${code}) before being killed: ${errors}`)));
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        // Killed in the very turn an ack arrives: produces are in flight in the child.
        if (output.split('\n').length > ACKS) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await exited;
    const acknowledged = output
      .split('\n')
      .slice(0, -1) // a last line without its newline was not wholly printed: not an ack
      .flatMap((line) => JSON.parse(line) as [number, number, string][]);
    expect(acknowledged.length).toBeGreaterThanOrEqual(ACKS * 10);
    const stream = new EmbeddedStream({ file, partitions: 4 });
    const stored = new Map<string, string>();
    for (const partition of await stream.partitions('readings')) {
      for (let from = 0; ;) {
        const messages = await stream.read('readings', partition, from, 1000);
        if (messages.length === 0) break;
        for (const message of messages) stored.set(`${message.partition}/${message.offset}`, message.value);
        from = messages[messages.length - 1]!.offset + 1;
      }
    }
    const missing = acknowledged.filter(([partition, offset, value]) => stored.get(`${partition}/${offset}`) !== value);
    expect(missing).toEqual([]);
    await stream.close();
  });
});
