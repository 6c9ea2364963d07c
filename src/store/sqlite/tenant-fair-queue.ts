/**
 * The reads waiting for a reader thread, served tenant by tenant: next is the waiting tenant
 * with the fewest reads running, among equals the one whose last read started longest ago
 * (or never), and each tenant's own reads in arrival order. With one FIFO, a tenant that queued fifty raw scans made every
 * other tenant wait behind all of them; now another tenant's read goes before the busy
 * tenant's next one. A tenant may also hold only `maxPerTenant` of
 * the `maxTotal` waiting places, so one tenant's flood fills its own share, not the queue the
 * others need.
 */
export class TenantFairQueue<T> {
  /** Tenants with reads waiting, in the order they first queued; each a FIFO. */
  private readonly waiting = new Map<string, T[]>();
  /** Reads running per tenant (started and not finished). */
  private readonly running = new Map<string, number>();
  /** When each tenant's last read started (a counter), for tenants waiting or running. */
  private readonly lastStarted = new Map<string, number>();
  private clock = 0;
  private total = 0;

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerTenant: number,
  ) {}

  get size(): number {
    return this.total;
  }

  /** Why `tenant` cannot queue one more read now, or undefined when it can. */
  refusal(tenant: string): 'full' | 'tenant-share' | undefined {
    if (this.total >= this.maxTotal) return 'full';
    if ((this.waiting.get(tenant)?.length ?? 0) >= this.maxPerTenant) return 'tenant-share';
    return undefined;
  }

  /** Queues `item` (check `refusal` first: this does not). */
  push(tenant: string, item: T): void {
    const own = this.waiting.get(tenant);
    if (own) own.push(item);
    else this.waiting.set(tenant, [item]);
    this.total++;
  }

  /** A read of `tenant` went to a reader (from this queue or straight to an idle one). */
  started(tenant: string): void {
    this.running.set(tenant, (this.running.get(tenant) ?? 0) + 1);
    this.lastStarted.set(tenant, ++this.clock);
  }

  /** A read of `tenant` ended, answered or failed. */
  finished(tenant: string): void {
    const left = (this.running.get(tenant) ?? 1) - 1;
    if (left > 0) this.running.set(tenant, left);
    else this.running.delete(tenant);
    if (left <= 0 && !this.waiting.has(tenant)) this.lastStarted.delete(tenant);
  }

  /** The next read (see the class comment); call `started` when it runs. */
  shift(): T | undefined {
    let tenant: string | undefined;
    let best: [running: number, lastStarted: number] = [Infinity, Infinity];
    for (const candidate of this.waiting.keys()) {
      const rank: [number, number] = [this.running.get(candidate) ?? 0, this.lastStarted.get(candidate) ?? 0];
      if (rank[0] < best[0] || (rank[0] === best[0] && rank[1] < best[1])) [tenant, best] = [candidate, rank];
    }
    if (tenant === undefined) return undefined;
    const own = this.waiting.get(tenant)!;
    const item = own.shift()!;
    if (own.length === 0) this.waiting.delete(tenant);
    this.total--;
    return item;
  }

  /** Takes every waiting read out, oldest tenant first. */
  drain(): T[] {
    const all = [...this.waiting.values()].flat();
    for (const tenant of this.waiting.keys()) if (!this.running.has(tenant)) this.lastStarted.delete(tenant);
    this.waiting.clear();
    this.total = 0;
    return all;
  }
}
