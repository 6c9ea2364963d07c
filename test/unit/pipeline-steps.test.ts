import { runAsync, runSync, step, type Steps } from '../../src/store/batch-steps';

/** A pipeline of two primitive calls that reports what it saw, and whether it could clean up. */
function* twoSteps(first: () => unknown, second: () => unknown, log: string[]): Steps<string> {
  try {
    const a = yield* step(first());
    const b = yield* step(second());
    return `${String(a)}+${String(b)}`;
  } catch (error) {
    log.push(`caught: ${(error as Error).message}`);
    throw error;
  }
}

describe('Running the batch pipeline over a synchronous or an asynchronous driver', () => {
  it('runs synchronously when every primitive answers with a value: nothing else can run in between', () => {
    let interleaved = false;
    void Promise.resolve().then(() => (interleaved = true));
    expect(
      runSync(
        twoSteps(
          () => 1,
          () => 2,
          [],
        ),
      ),
    ).toBe('1+2');
    expect(interleaved).toBe(false);
  });

  it('refuses a promise in a synchronous run, failing the pipeline (and so its transaction)', () => {
    const log: string[] = [];
    expect(() =>
      runSync(
        twoSteps(
          () => 1,
          () => Promise.resolve(2),
          log,
        ),
      ),
    ).toThrow(/synchronous batch transaction answered with a promise/);
    expect(log).toEqual(['caught: a synchronous batch transaction answered with a promise']);
  });

  it('awaits each answer in an asynchronous run, and hands a rejection back to the pipeline', async () => {
    await expect(
      runAsync(
        twoSteps(
          async () => 1,
          () => 2,
          [],
        ),
      ),
    ).resolves.toBe('1+2');
    const log: string[] = [];
    await expect(
      runAsync(
        twoSteps(
          async () => 1,
          () => Promise.reject(new Error('ORA-03113')),
          log,
        ),
      ),
    ).rejects.toThrow('ORA-03113');
    expect(log).toEqual(['caught: ORA-03113']);
  });

  it('lets a primitive that throws fail the pipeline', async () => {
    const fail = () => {
      throw new Error('SQLITE_BUSY');
    };
    expect(() => runSync(twoSteps(() => 1, fail, []))).toThrow('SQLITE_BUSY');
    await expect(runAsync(twoSteps(fail, () => 2, []))).rejects.toThrow('SQLITE_BUSY');
  });
});
