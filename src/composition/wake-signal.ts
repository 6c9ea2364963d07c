/**
 * A doorbell between threads on shared memory. Ringing is an atomic increment and a notify:
 * no message to serialise, and no event-loop turn on the ringing side. The API thread rings
 * the consumer's after every produce, thousands of times a second under single-reading
 * ingest, where a postMessage each time cost it ~8 µs of CPU (and the consumer a message to
 * handle); rings that come while the listener is busy make one call.
 */
export class WakeSignal {
  private readonly cell: Int32Array;

  /** A new signal, or one whose buffer came from another thread (workerData). */
  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT)) {
    this.cell = new Int32Array(buffer);
  }

  ring(): void {
    Atomics.add(this.cell, 0, 1);
    Atomics.notify(this.cell, 0);
  }

  /** Calls `onRing` once after each ring or run of rings, until the returned function stops it. */
  listen(onRing: () => void): () => void {
    let stopped = false;
    const isStopped = () => stopped; // read after awaits (a plain variable would stay narrowed)
    let seen = Atomics.load(this.cell, 0);
    void (async () => {
      while (!isStopped()) {
        // Returns at once ('not-equal') when a ring came since `seen` was read: none is missed.
        const wait = Atomics.waitAsync(this.cell, 0, seen);
        // A synchronous answer yields a turn anyway: a burst of rings from the other thread
        // must not keep this loop from letting its own thread work.
        await (wait.async ? wait.value : new Promise<void>((resolve) => setImmediate(resolve)));
        if (isStopped()) return; // stopped during the wait
        const now = Atomics.load(this.cell, 0);
        if (now !== seen) {
          seen = now;
          onRing();
        }
      }
    })();
    return () => {
      stopped = true;
      Atomics.notify(this.cell, 0); // releases the pending wait, so the thread can exit
    };
  }
}
