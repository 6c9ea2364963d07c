/**
 * Fan-out of committed events of one kind (anomalies, device status changes) to the
 * subscribers of their tenant. Listeners filter further (device, severity) themselves:
 * these events are rare next to readings, so routing by tenant is enough.
 */
export class TenantHub<T extends { readonly tenantId: string }> {
  private readonly listeners = new Map<string, Set<(event: T) => void>>();

  subscribe(tenantId: string, listener: (event: T) => void): () => void {
    const set = this.listeners.get(tenantId) ?? new Set();
    set.add(listener);
    this.listeners.set(tenantId, set);
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(tenantId);
    };
  }

  publish(events: readonly T[]): void {
    for (const event of events) this.listeners.get(event.tenantId)?.forEach((listener) => listener(event));
  }

  get subscriberCount(): number {
    let count = 0;
    for (const set of this.listeners.values()) count += set.size;
    return count;
  }
}
