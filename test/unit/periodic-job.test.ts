import { PeriodicJob, type JobPass } from '../../src/jobs/periodic-job';
import { recordingLogger } from '../support/logger';
import { eventually } from '../support/server';

const HOUR = 3_600_000;

/** A pass the test controls: records each call, and finishes when told (with `more`, or by throwing). */
function controlledPass() {
  const calls: { limit: number | undefined; signal: AbortSignal; finish: (more: boolean) => void; fail: (error: Error) => void }[] = [];
  const pass: JobPass = (limit, signal) =>
    new Promise<boolean>((resolve, reject) => {
      calls.push({ limit, signal, finish: resolve, fail: reject });
    });
  return { pass, calls, last: () => calls[calls.length - 1]! };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('a periodic job', () => {
  let jobs: PeriodicJob[] = [];
  const make = (pass: JobPass, options: { intervalMs?: number; limit?: number } = {}) => {
    const logger = recordingLogger();
    const job = new PeriodicJob({ name: 'sweep', intervalMs: options.intervalMs ?? 1000, limit: options.limit }, pass, logger);
    jobs.push(job);
    return { job, logger };
  };
  afterEach(async () => {
    await Promise.all(jobs.map((job) => job.stop()));
    jobs = [];
  });

  describe('driven by runIfDue (the OCI Function)', () => {
    it('runs when never run, then only once its interval has elapsed since the last pass started', async () => {
      const { pass, calls } = controlledPass();
      const { job } = make(pass, { intervalMs: 1000, limit: 50 });
      const first = job.runIfDue(10_000);
      calls[0]!.finish(false);
      expect(await first).toBe('ran');
      expect(calls[0]!.limit).toBe(50);
      expect(await job.runIfDue(10_999)).toBe('not-due');
      expect(calls).toHaveLength(1);
      const second = job.runIfDue(11_000);
      calls[1]!.finish(false);
      expect(await second).toBe('ran');
    });

    it('under a deadline: the pass sees it abort, and once it has, a due job is deferred and stays due', async () => {
      const { pass, calls } = controlledPass();
      const { job } = make(pass, { intervalMs: HOUR, limit: 10 });
      const deadline = new AbortController();
      const first = job.runIfDue(0, deadline.signal);
      expect(calls[0]!.signal.aborted).toBe(false);
      deadline.abort();
      // The pass is told (it stops between units) and says more remains.
      expect(calls[0]!.signal.aborted).toBe(true);
      calls[0]!.finish(true);
      expect(await first).toBe('more');
      expect(await job.runIfDue(1, deadline.signal)).toBe('deferred');
      expect(calls).toHaveLength(1);
      // The next invocation, with time left, runs it.
      const next = job.runIfDue(2, new AbortController().signal);
      calls[1]!.finish(false);
      expect(await next).toBe('ran');
    });

    it('reports "more" when the pass stopped at its limit, and stays due until a pass finishes the work', async () => {
      const { pass, calls } = controlledPass();
      const { job } = make(pass, { intervalMs: HOUR, limit: 10 });
      const first = job.runIfDue(0);
      calls[0]!.finish(true);
      expect(await first).toBe('more');
      const second = job.runIfDue(1); // long before the interval
      calls[1]!.finish(false);
      expect(await second).toBe('ran');
      expect(await job.runIfDue(2)).toBe('not-due');
    });

    it('never starts a second pass while one runs: the other caller gets "running"', async () => {
      const { pass, calls } = controlledPass();
      const { job } = make(pass, { intervalMs: 1 });
      const first = job.runIfDue(0);
      expect(await job.runIfDue(100)).toBe('running');
      expect(calls).toHaveLength(1);
      calls[0]!.finish(false);
      expect(await first).toBe('ran');
      const again = job.runIfDue(200);
      calls[1]!.finish(false);
      expect(await again).toBe('ran');
    });

    it('reports a failing pass as "failed", logs it with the job name, and runs it again after the interval', async () => {
      const { pass, calls } = controlledPass();
      const { job, logger } = make(pass, { intervalMs: 1000 });
      const first = job.runIfDue(0);
      calls[0]!.fail(new Error('database is locked'));
      expect(await first).toBe('failed');
      expect(logger.lines).toEqual([
        expect.objectContaining({ level: 'warn', message: 'sweep pass failed', fields: expect.objectContaining({ job: 'sweep' }) }),
      ]);
      expect(await job.runIfDue(500)).toBe('not-due');
      const retried = job.runIfDue(1000);
      calls[1]!.finish(false);
      expect(await retried).toBe('ran');
    });

    it('is due at once after a wake, interval or not', async () => {
      const { pass, calls } = controlledPass();
      const { job } = make(pass, { intervalMs: HOUR });
      const first = job.runIfDue(0);
      calls[0]!.finish(false);
      await first;
      expect(await job.runIfDue(1)).toBe('not-due');
      job.wake();
      expect(calls).toHaveLength(1); // a wake alone runs nothing without a timer
      const woken = job.runIfDue(2);
      calls[1]!.finish(false);
      expect(await woken).toBe('ran');
    });
  });

  describe('on its timer (the long-running consumer)', () => {
    it('runs an unbounded pass on wake, and one more right after when woken during a pass', async () => {
      const { pass, calls } = controlledPass();
      const { job } = make(pass, { intervalMs: HOUR, limit: 10 });
      job.start();
      job.wake();
      expect(calls).toHaveLength(1);
      expect(calls[0]!.limit).toBeUndefined();
      job.wake();
      job.wake();
      expect(calls).toHaveLength(1);
      calls[0]!.finish(false);
      await eventually(() => (calls.length === 2 ? true : undefined));
      calls[1]!.finish(false);
      await turn();
      expect(calls).toHaveLength(2);
    });

    it('runs a pass every interval', async () => {
      const { pass, calls } = controlledPass();
      const { job } = make(pass, { intervalMs: 10 });
      job.start();
      await eventually(() => (calls.length === 1 ? true : undefined));
      calls[0]!.finish(false);
      await eventually(() => (calls.length === 2 ? true : undefined));
      calls[1]!.finish(false);
    });

    it('stop asks the pass under way to stop, waits for it, and runs nothing after', async () => {
      const { pass, calls } = controlledPass();
      const { job } = make(pass, { intervalMs: HOUR });
      job.start();
      job.wake();
      let stopped = false;
      const stopping = job.stop().then(() => (stopped = true));
      expect(calls[0]!.signal.aborted).toBe(true);
      await turn();
      expect(stopped).toBe(false);
      calls[0]!.finish(true);
      await stopping;
      expect(stopped).toBe(true);
      job.wake();
      expect(await job.runIfDue(Date.now() + HOUR)).toBe('not-due');
      expect(calls).toHaveLength(1);
    });
  });
});
