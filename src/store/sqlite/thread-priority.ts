import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** The highest nice value: the lowest priority Linux gives a thread. */
const LOWEST = 19;

/**
 * This thread's id on Linux (`/proc/thread-self` links to `<pid>/task/<tid>`); undefined
 * elsewhere, or when the /proc mounted is another pid namespace's (its ids are not ours).
 */
function currentThreadId(): number | undefined {
  try {
    const link = /^(\d+)\/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'));
    return link && Number(link[1]) === process.pid ? Number(link[2]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Lowers the calling thread's CPU priority by `increment` nice steps (at most to 19), leaving
 * the process's other threads as they are: on Linux a nice value belongs to a thread, and
 * setpriority(2) given a thread id changes that thread alone. Raising a nice value needs no
 * privilege. Returns undefined when done (or when `increment` is 0), else why it was not.
 */
export function lowerThreadPriority(increment: number): string | undefined {
  if (increment === 0) return undefined;
  const tid = currentThreadId();
  if (tid === undefined) return "per-thread priorities need Linux and this process's own /proc (/proc/thread-self)";
  try {
    setPriority(tid, Math.min(LOWEST, getPriority(tid) + increment));
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
