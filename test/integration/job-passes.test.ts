import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Anomaly } from '../../src/domain/anomalies/anomaly';
import { CommandExpiry } from '../../src/commands/command-expiry';
import { CommandService } from '../../src/commands/command-service';
import type { DetectionEvents } from '../../src/consumers/batch-applier';
import { LivenessSweep } from '../../src/consumers/liveness-sweep';
import { applyBatch } from '../../src/consumers/pipeline/apply-batch';
import type { Command } from '../../src/domain/command';
import { RETENTION_KINDS, type RetentionPolicy } from '../../src/domain/retention';
import type { DeliveryOutcome, DueDelivery } from '../../src/domain/webhooks';
import { RetentionEnforcer } from '../../src/retention/retention-enforcer';
import type { WebhookStore } from '../../src/store/ports/webhook-store';
import { WebhookDeliverer } from '../../src/webhooks/webhook-deliverer';
import { openEmbeddedBackends, type EmbeddedBackends } from '../support/embedded';
import { silentLogger } from '../support/logger';

/**
 * Each background job's single pass, as the OCI Function runs it (jobs/periodic-job.ts
 * runIfDue): it does at most its limit, says "more" when it stopped there, and the next pass
 * finishes the work; without a limit (the long-running consumer's timer) it does everything.
 */
const MINUTE = 60_000;

const ANOMALY: Anomaly = {
  seq: 1,
  id: 1,
  tenantId: 't',
  deviceId: 'd1',
  metric: 'v',
  kind: 'THRESHOLD',
  severity: 'CRITICAL',
  score: 3,
  value: 100,
  expectedMin: null,
  expectedMax: 90,
  timestamp: 1000,
  detectedAt: 1000,
  occurrences: 1,
  lastValue: 100,
  lastTimestamp: 1000,
  status: 'OPEN',
  acknowledgedBy: null,
  acknowledgedAt: null,
  resolvedBy: null,
  resolvedAt: null,
};

describe('background job passes: bounded by their limit, "more" until the work is done', () => {
  let backends: EmbeddedBackends;
  beforeEach(async () => {
    backends = await openEmbeddedBackends();
  });
  afterEach(() => backends.close());

  it('liveness: takes at most `limit` silent devices offline per pass', async () => {
    const { store } = backends;
    for (const id of ['a', 'b', 'c']) {
      await store.registerDevice('t', { id, name: id, tags: [] });
      await store.markConnection('t', id, true, 1000);
    }
    const published: DetectionEvents[] = [];
    const sweep = new LivenessSweep(
      store,
      { defaultHeartbeatTimeoutMs: MINUTE, checkIntervalMs: 1000 },
      (events) => published.push(events),
      () => 1000 + 10 * MINUTE,
    );
    expect(await sweep.run(2)).toBe(true);
    expect(published.flatMap((events) => events.statusChanges.map((change) => change.deviceId))).toEqual(['a', 'b']);
    expect(await sweep.run(2)).toBe(false);
    expect(published.flatMap((events) => events.anomalies.map((anomaly) => [anomaly.deviceId, anomaly.kind]))).toEqual([
      ['a', 'SILENCE'],
      ['b', 'SILENCE'],
      ['c', 'SILENCE'],
    ]);
    expect((await store.getDevices('t', ['a', 'b', 'c'])).map((device) => device.status)).toEqual(['OFFLINE', 'OFFLINE', 'OFFLINE']);
  });

  it('command expiry: expires at most `limit` commands per pass, in batches', async () => {
    const { store } = backends;
    for (let i = 0; i < 5; i++) {
      await store.insertCommand({
        id: `c${i}`,
        tenantId: 't',
        deviceId: 'd1',
        name: 'reboot',
        payload: null,
        status: 'PENDING',
        createdAt: 100 + i,
        expiresAt: 200 + i,
        updatedAt: 100 + i,
      });
    }
    const changed: Command[] = [];
    const service = new CommandService(
      store,
      () => false,
      (command) => changed.push(command),
      () => 1000,
    );
    const expiry = new CommandExpiry(service, { intervalMs: 1000, batchSize: 2 }, silentLogger);
    expect(await expiry.run(3)).toBe(true);
    expect(changed).toHaveLength(3);
    expect(await expiry.run()).toBe(false);
    expect(changed.map((command) => [command.id, command.status]).sort()).toEqual([0, 1, 2, 3, 4].map((i) => [`c${i}`, 'EXPIRED']));
  });

  it('retention: removes at most `limit` rows per pass, and a pass without a limit removes the rest', async () => {
    const { store } = backends;
    await applyBatch(store, {
      source: 'readings',
      partitions: [
        {
          partition: 0,
          lastOffset: 24,
          readings: Array.from({ length: 25 }, (_, i) => ({
            tenantId: 't',
            deviceId: 'd1',
            eventId: `e${i}`,
            timestamp: 1000 + i,
            offset: i,
            metrics: [{ name: 'v', value: i }],
          })),
          deadLetters: [],
        },
      ],
    });
    let removed = 0;
    const defaults = Object.fromEntries(RETENTION_KINDS.values.map((kind) => [kind, 86_400_000])) as RetentionPolicy;
    const enforcer = new RetentionEnforcer(store, { defaults, intervalMs: 1000, batchRows: 10 }, silentLogger, (_kind, rows) => (removed += rows));
    const stored = async () => (await store.queryReadings('t', { deviceId: 'd1', metric: 'v', first: 100, order: 'OLDEST_FIRST' })).items.length;
    expect(await stored()).toBe(25);
    expect(await enforcer.run(15)).toBe(true);
    expect(removed).toBe(15);
    expect(await enforcer.run()).toBe(false);
    expect(await stored()).toBe(0);
  });

  it('webhooks: sends at most `limit` deliveries per pass, claiming no more than it may send', async () => {
    const queue = Array.from({ length: 25 }, (_, i) => i + 1);
    const claims: number[] = [];
    const recorded: [number, DeliveryOutcome][] = [];
    // Deliveries to an OCI Notifications channel with ONS not configured: each attempt fails
    // without a network call, and is recorded for a retry.
    const store: Pick<WebhookStore, 'claimDueDeliveries' | 'recordDeliveryAttempt'> = {
      claimDueDeliveries: async (_now, limit) => {
        claims.push(limit);
        return queue.splice(0, limit).map((id) => ({ delivery: { id, attempts: 0 }, channel: 'ONS', url: 'ocid1.onstopic.oc1..x' }) as unknown as DueDelivery);
      },
      recordDeliveryAttempt: async (id, outcome) => void recorded.push([id, outcome]),
    };
    const deliverer = new WebhookDeliverer(
      store as WebhookStore,
      {
        pollIntervalMs: 1000,
        maxAttempts: 3,
        timeoutMs: 1000,
        allowPrivateNetworks: false,
        retry: { initialDelayMs: 1000, multiplier: 2, maxDelayMs: 10_000 },
      },
      silentLogger,
    );
    expect(await deliverer.run(30 - 5)).toBe(true);
    expect(claims).toEqual([20, 5]);
    expect(recorded).toHaveLength(25);
    expect(recorded.every(([, outcome]) => !outcome.delivered && outcome.nextAttemptAt !== null)).toBe(true);
    queue.push(26, 27);
    expect(await deliverer.run(10)).toBe(false);
    expect(claims).toEqual([20, 5, 10]);
    expect(recorded).toHaveLength(27);
  });

  it('webhooks: a POST cut short by the end of its pass records no attempt; the delivery stays claimed until its lease lapses', async () => {
    const stop = new AbortController();
    const server = createServer(() => stop.abort()); // receives the POST and never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const recorded: number[] = [];
    let claimed = false;
    const store: Pick<WebhookStore, 'claimDueDeliveries' | 'recordDeliveryAttempt'> = {
      claimDueDeliveries: async () => {
        if (claimed) return [];
        claimed = true;
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
        return [{ delivery: { id: 1, webhookId: 1, attempts: 0 }, channel: 'WEBHOOK', url, secret: 's', anomaly: ANOMALY } as unknown as DueDelivery];
      },
      recordDeliveryAttempt: async (id) => void recorded.push(id),
    };
    const deliverer = new WebhookDeliverer(
      store as WebhookStore,
      {
        pollIntervalMs: 1000,
        maxAttempts: 3,
        timeoutMs: 60_000,
        allowPrivateNetworks: true,
        retry: { initialDelayMs: 1000, multiplier: 2, maxDelayMs: 10_000 },
      },
      silentLogger,
    );
    try {
      expect(await deliverer.run(10, stop.signal)).toBe(false);
      expect(recorded).toEqual([]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('stream trimming: drops at most `limit` old messages, the oldest first', async () => {
    const { stream } = backends;
    await stream.produce(
      'readings',
      Array.from({ length: 6 }, (_, i) => ({ key: 'same-key', value: `m${i}` })),
    );
    const future = Date.now() + MINUTE;
    const partition = (await stream.produce('readings', [{ key: 'same-key', value: 'probe' }]))[0]!.partition;
    expect(stream.deleteOlderThan(future, {}, 4)).toBe(4);
    expect((await stream.read('readings', partition, 0, 100)).map((message) => message.value)).toEqual(['m4', 'm5', 'probe']);
    expect(stream.deleteOlderThan(future, {}, 10)).toBe(3);
  });
});
