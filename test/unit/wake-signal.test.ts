import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { WakeSignal } from '../../src/stream/wake-signal';

/** A thread that listens to the signal, reports each call, and stops listening when told. */
const LISTENER = `
const { parentPort, workerData } = require('node:worker_threads');
const { WakeSignal } = require(workerData.module);
let calls = 0;
const stop = new WakeSignal(workerData.buffer).listen(() => parentPort.postMessage({ calls: ++calls }));
parentPort.on('message', () => { stop(); parentPort.close(); });
parentPort.postMessage('listening');
`;

describe('WakeSignal', () => {
  it('calls the listener after a ring, and once for rings that came while it was busy', async () => {
    const signal = new WakeSignal();
    let calls = 0;
    let rang: () => void = () => {};
    const stop = signal.listen(() => {
      calls++;
      rang();
    });
    await new Promise<void>((resolve) => {
      rang = resolve;
      signal.ring();
    });
    expect(calls).toBe(1);
    await new Promise<void>((resolve) => {
      rang = resolve;
      for (let i = 0; i < 100; i++) signal.ring();
    });
    expect(calls).toBe(2);
    stop();
  });

  it('notifies a waiting listener once for a burst of rings, and not at all while it is busy', async () => {
    const signal = new WakeSignal();
    const notify = jest.spyOn(Atomics, 'notify');
    let rang: () => void = () => {};
    let calls = 0;
    const stop = signal.listen(() => {
      calls++;
      // Rings while the listener is busy: counted, never notified.
      if (calls === 1) for (let i = 0; i < 50; i++) signal.ring();
      rang();
    });
    try {
      await new Promise<void>((resolve) => setImmediate(resolve)); // the listener is waiting now
      const woken = new Promise<void>((resolve) => (rang = resolve));
      for (let i = 0; i < 100; i++) signal.ring();
      await woken;
      expect(calls).toBe(1);
      expect(notify).toHaveBeenCalledTimes(1);
      // The rings made during the call are not lost: they make the next call.
      await new Promise<void>((resolve) => (rang = resolve));
      expect(calls).toBe(2);
      expect(notify).toHaveBeenCalledTimes(1);
    } finally {
      stop();
      notify.mockRestore();
    }
  });

  it('wakes another thread without a message, and lets that thread exit once it stops listening', async () => {
    const signal = new WakeSignal();
    const worker = new Worker(LISTENER, {
      eval: true,
      workerData: { buffer: signal.buffer, module: path.join(__dirname, '../../src/stream/wake-signal.js') },
    });
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    const messages: unknown[] = [];
    let arrived: () => void = () => {};
    worker.on('message', (message: unknown) => {
      messages.push(message);
      arrived();
    });
    const next = () => new Promise<void>((resolve) => (arrived = resolve));
    await next(); // listening
    const first = next();
    signal.ring();
    await first;
    expect(messages).toEqual(['listening', { calls: 1 }]);
    const second = next();
    for (let i = 0; i < 1000; i++) signal.ring();
    await second;
    expect(messages.length).toBeGreaterThanOrEqual(3);
    expect(messages.length).toBeLessThanOrEqual(1002);
    // A pending wait must not keep the thread alive once the listener stopped.
    worker.postMessage('stop');
    expect(await exited).toBe(0);
  });
});
