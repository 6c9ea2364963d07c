import type { Step } from './batch-transaction';

/**
 * How one pipeline runs over a synchronous and an asynchronous database driver.
 *
 * The pipeline is a generator: each call of a BatchTransaction primitive is handed to a runner
 * with `yield* step(tx.primitive(...))`, which resumes the pipeline with the primitive's answer.
 *
 * - `runAsync` (oracledb) awaits each answer: the transaction lives on one pooled connection
 *   that nothing else uses until it commits.
 * - `runSync` (better-sqlite3) resumes at once, so the whole pipeline runs in one synchronous
 *   call, inside better-sqlite3's `db.transaction(...).immediate()`, exactly as hand-written
 *   synchronous code would. Why not an async pipeline inside a manual BEGIN IMMEDIATE ...
 *   COMMIT: every `await` yields to the event loop, and a SqliteStore's one connection serves
 *   every Store method called on it meanwhile (in the consumer: the liveness sweep, the device
 *   directory, the fan-out publisher), whose statements would then run inside the batch
 *   transaction: reading rows not yet committed, or writing into a batch that may roll back.
 *   A lock around every Store method would queue each of them behind the batch; a synchronous
 *   run needs none, and leaves no gap for anything to run in.
 */

/** A pipeline (or one of its steps) that yields primitive answers and returns T. */
export type Steps<T> = Generator<Step<unknown>, T, unknown>;

/** Hands one primitive's answer to the runner; resumes with its value. */
export function* step<T>(answer: Step<T>): Generator<Step<T>, T, unknown> {
  return (yield answer) as T;
}

const isPromise = (value: unknown): value is Promise<unknown> => typeof (value as { then?: unknown } | null)?.then === 'function';

/** Runs steps whose primitives all answer synchronously; throws if one answers with a promise. */
export function runSync<T>(steps: Steps<T>): T {
  let next = steps.next();
  while (!next.done) {
    const answer = next.value;
    if (isPromise(answer)) {
      answer.catch(() => {});
      next = steps.throw(new Error('a synchronous batch transaction answered with a promise'));
    } else {
      next = steps.next(answer);
    }
  }
  return next.value;
}

/** Runs steps whose primitives answer with promises (or values), one after another. */
export async function runAsync<T>(steps: Steps<T>): Promise<T> {
  let next = steps.next();
  while (!next.done) {
    let answer: unknown;
    try {
      answer = await next.value;
    } catch (error) {
      next = steps.throw(error);
      continue;
    }
    next = steps.next(answer);
  }
  return next.value;
}
