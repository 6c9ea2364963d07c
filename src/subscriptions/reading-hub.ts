import type { PersistedReading } from '../domain/reading';

export type ReadingListener = (reading: PersistedReading) => void;
/** Told that a subscription can go on no longer (a device of it was deleted), with why. */
export type EndListener = (error: Error) => void;

const topicOf = (tenantId: string, deviceId: string) => `${tenantId}\u0000${deviceId}`;

/**
 * Routes persisted readings to subscribers by topic (tenant, device): publishing a reading
 * costs work proportional to the subscribers of that device, not to all subscribers.
 * Only the persister's committed output is published here (persist, then publish).
 */
export class ReadingHub {
  private readonly topics = new Map<string, Set<ReadingListener>>();
  private readonly enders = new Map<ReadingListener, EndListener>();
  private subscriptions = 0;

  /** Listens to every given device; returns the unsubscribe function (idempotent). */
  subscribe(tenantId: string, deviceIds: readonly string[], listener: ReadingListener, onEnd?: EndListener): () => void {
    if (onEnd) this.enders.set(listener, onEnd);
    const keys = [...new Set(deviceIds)].map((deviceId) => topicOf(tenantId, deviceId));
    for (const key of keys) {
      const listeners = this.topics.get(key) ?? new Set<ReadingListener>();
      listeners.add(listener);
      this.topics.set(key, listeners);
    }
    this.subscriptions++;
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      this.subscriptions--;
      this.enders.delete(listener);
      for (const key of keys) {
        const listeners = this.topics.get(key);
        listeners?.delete(listener);
        if (listeners?.size === 0) this.topics.delete(key);
      }
    };
  }

  publish(readings: readonly PersistedReading[]): void {
    for (const reading of readings) {
      const listeners = this.topics.get(topicOf(reading.tenantId, reading.deviceId));
      if (listeners) for (const listener of listeners) listener(reading);
    }
  }

  /** Ends every subscription to the device (it was deleted): each is told `error` and stops listening. */
  endDevice(tenantId: string, deviceId: string, error: Error): void {
    for (const listener of [...(this.topics.get(topicOf(tenantId, deviceId)) ?? [])]) this.enders.get(listener)?.(error);
  }

  /** Live subscriptions and routed topics: a gauge that proves cleanup. */
  get activeSubscriptions(): number {
    return this.subscriptions;
  }

  get activeTopics(): number {
    return this.topics.size;
  }
}
