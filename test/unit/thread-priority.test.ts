import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

/**
 * lowerThreadPriority (the reader threads' TELEMETRY_SQLITE_READER_NICE): lowers the thread
 * that calls it, by the given steps, never past Linux's lowest priority (nice 19).
 */

const MODULE = path.join(__dirname, '..', '..', 'src', 'store', 'sqlite', 'thread-priority.js');

/** The calling thread's nice value (field 19 of /proc/thread-self/stat). */
const NICE_OF_THIS_THREAD = `(() => { const stat = require('node:fs').readFileSync('/proc/thread-self/stat', 'utf8'); return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]); })()`;

/** Runs lowerThreadPriority(increment) on a new thread: what it returned, and the thread's nice before and after. */
function lowerOnThread(increment: number): Promise<{ before: number; after: number; returned: string | null }> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    const { lowerThreadPriority } = require(${JSON.stringify(MODULE)});
    const before = ${NICE_OF_THIS_THREAD};
    const returned = lowerThreadPriority(${increment}) ?? null;
    parentPort.postMessage({ before, after: ${NICE_OF_THIS_THREAD}, returned });`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true });
    worker.once('message', (message: { before: number; after: number; returned: string | null }) => {
      resolve(message);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

function niceOfMainThread(): number {
  const stat = readFileSync(`/proc/self/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

const onLinux = process.platform === 'linux' ? describe : describe.skip;

onLinux('lowerThreadPriority', () => {
  it('lowers the calling thread by the steps asked, and leaves the others', async () => {
    const main = niceOfMainThread();
    const result = await lowerOnThread(3);
    expect(result).toEqual({ before: main, after: Math.min(19, main + 3), returned: null });
    expect(niceOfMainThread()).toBe(main);
  });

  it('stops at the lowest priority, nice 19', async () => {
    const result = await lowerOnThread(40);
    expect(result.after).toBe(19);
    expect(result.returned).toBeNull();
  });

  it('changes nothing when asked for 0 steps', async () => {
    const result = await lowerOnThread(0);
    expect(result.after).toBe(result.before);
    expect(result.returned).toBeNull();
  });
});
