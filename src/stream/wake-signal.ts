/** Where each cell of the signal's shared buffer is. */
const RINGS = 0;
/** 1 while the listener waits for a ring and no ring has notified it yet. */
const WAITING = 1;

/**
 * A doorbell between threads on shared memory. Ringing is an atomic increment, plus a notify
 * only when the listener is waiting: no message to serialise, and no event-loop turn on the
 * ringing side. The consumer's is rung after every produce, thousands of times a second under
 * single-reading ingest: by the embedded log's writer thread once a commit is durable, or by
 * the API thread (other streams). A postMessage each time cost the API thread ~8 µs of CPU
 * (and the consumer a message to handle), and a notify each time still 5% of its CPU (a notify
 * of an async waiter queues a task for the other thread under a lock); rings that come while
 * the listener is busy, or after one already notified it, cost an atomic add and make one call.
 */
export class WakeSignal {
  private readonly cells: Int32Array;

  /** A new signal, or one whose buffer came from another thread (workerData). */
  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT)) {
    this.cells = new Int32Array(buffer);
  }

  /** Rings so far (diagnostics and tests). */
  get rings(): number {
    return Atomics.load(this.cells, RINGS);
  }

  ring(): void {
    Atomics.add(this.cells, RINGS, 1);
    // Sequentially consistent: a listener that sets WAITING after this read compares the
    // count, incremented above, and returns at once; one that set it before is notified here,
    // by the first ring only (the exchange clears the flag).
    if (Atomics.compareExchange(this.cells, WAITING, 1, 0) === 1) Atomics.notify(this.cells, RINGS);
  }

  /** Calls `onRing` once after each ring or run of rings, until the returned function stops it. */
  listen(onRing: () => void): () => void {
    let stopped = false;
    const isStopped = () => stopped; // read after awaits (a plain variable would stay narrowed)
    let seen = Atomics.load(this.cells, RINGS);
    void (async () => {
      while (!isStopped()) {
        Atomics.store(this.cells, WAITING, 1);
        // Returns at once ('not-equal') when a ring came since `seen` was read: none is missed.
        const wait = Atomics.waitAsync(this.cells, RINGS, seen);
        // A synchronous answer yields a turn anyway: a burst of rings from the other thread
        // must not keep this loop from letting its own thread work.
        await (wait.async ? wait.value : new Promise<void>((resolve) => setImmediate(resolve)));
        Atomics.store(this.cells, WAITING, 0);
        if (isStopped()) return; // stopped during the wait
        const now = Atomics.load(this.cells, RINGS);
        if (now !== seen) {
          seen = now;
          onRing();
        }
      }
    })();
    return () => {
      stopped = true;
      Atomics.notify(this.cells, RINGS); // releases the pending wait, so the thread can exit
    };
  }
}
