import type { PersistedReading } from '../domain/reading';

export type ReadingListener = (reading: PersistedReading) => void;
/** Told that a subscription can go on no longer (a device of it was deleted), with why. */
export type EndListener = (error: Error) => void;

/**
 * The devices that subscriptions listen to at one moment, by tenant. `mark` tells the
 * subscriptions open at that moment from those opened later (endDevice's `openedBy`).
 */
export interface SubscribedDevices {
  readonly byTenant: ReadonlyMap<string, readonly string[]>;
  readonly mark: number;
}

interface Topic {
  readonly tenantId: string;
  readonly deviceId: string;
  readonly listeners: Set<ReadingListener>;
}

interface Registration {
  readonly onEnd: EndListener | undefined;
  /** The subscription's place in the order subscriptions were opened (1, 2, ...). */
  readonly opened: number;
}

const topicOf = (tenantId: string, deviceId: string) => `${tenantId}\u0000${deviceId}`;

/**
 * Routes persisted readings to subscribers by topic (tenant, device): publishing a reading
 * costs work proportional to the subscribers of that device, not to all subscribers.
 * Only the persister's committed output is published here (persist, then publish).
 */
export class ReadingHub {
  private readonly topics = new Map<string, Topic>();
  private readonly registrations = new Map<ReadingListener, Registration>();
  private subscriptions = 0;
  private opened = 0;

  /**
   * `onCount` is told the number of subscriptions each time it changes, synchronously (before
   * `subscribe` returns): the consumer thread reads it to skip handing over readings no one
   * would receive (composition/subscriber-count.ts says why that loses nothing).
   */
  constructor(private readonly onCount: (subscriptions: number) => void = () => {}) {}

  /** Listens to every given device; returns the unsubscribe function (idempotent). */
  subscribe(tenantId: string, deviceIds: readonly string[], listener: ReadingListener, onEnd?: EndListener): () => void {
    this.registrations.set(listener, { onEnd, opened: ++this.opened });
    const keys = [...new Set(deviceIds)].map((deviceId) => {
      const key = topicOf(tenantId, deviceId);
      const topic = this.topics.get(key) ?? { tenantId, deviceId, listeners: new Set<ReadingListener>() };
      topic.listeners.add(listener);
      this.topics.set(key, topic);
      return key;
    });
    this.onCount(++this.subscriptions);
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      this.onCount(--this.subscriptions);
      this.registrations.delete(listener);
      for (const key of keys) {
        const topic = this.topics.get(key);
        topic?.listeners.delete(listener);
        if (topic?.listeners.size === 0) this.topics.delete(key);
      }
    };
  }

  publish(readings: readonly PersistedReading[]): void {
    for (const reading of readings) {
      const topic = this.topics.get(topicOf(reading.tenantId, reading.deviceId));
      if (topic) for (const listener of topic.listeners) listener(reading);
    }
  }

  /**
   * Ends every subscription to the device (it was deleted): each is told `error` and stops
   * listening. With `openedBy` (a SubscribedDevices mark), only the subscriptions open at that
   * mark: one opened since may be to the device registered again.
   */
  endDevice(tenantId: string, deviceId: string, error: Error, openedBy?: number): void {
    for (const listener of [...(this.topics.get(topicOf(tenantId, deviceId))?.listeners ?? [])]) {
      const registration = this.registrations.get(listener);
      if (openedBy === undefined || (registration?.opened ?? 0) <= openedBy) registration?.onEnd?.(error);
    }
  }

  /** The devices subscriptions listen to now, by tenant. */
  subscribedDevices(): SubscribedDevices {
    const byTenant = new Map<string, string[]>();
    for (const { tenantId, deviceId } of this.topics.values()) {
      const deviceIds = byTenant.get(tenantId) ?? [];
      deviceIds.push(deviceId);
      byTenant.set(tenantId, deviceIds);
    }
    return { byTenant, mark: this.opened };
  }

  /** Live subscriptions and routed topics: a gauge that proves cleanup. */
  get activeSubscriptions(): number {
    return this.subscriptions;
  }

  get activeTopics(): number {
    return this.topics.size;
  }
}
