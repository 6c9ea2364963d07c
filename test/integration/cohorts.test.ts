import { IngestReadingsDocument, ReadingAddedDocument, RegisterDeviceDocument } from '../generated/graphql';
import { createTenantWithCli } from '../support/service-process';
import { connect, subscribe, type Subscription } from '../support/ws-client';
import { eventually, startTestServer, type TestServer } from '../support/server';

type Received = Subscription<{ readingAdded: { eventId: string; deviceId: string } }>;

/**
 * Cohort execution seen by real graphql-ws clients (DESIGN §9): identical subscriptions share one
 * source subscription and one execution per event, while each subscriber still gets every event
 * under its own operation id, its tenant's only.
 */
describe('identical subscriptions share one execution', () => {
  let server: TestServer;
  let otherTenantKey: string;
  let t = Date.now() - 600_000;

  const eventIds = (subscription: Received) => subscription.received.map((event) => event.data?.readingAdded.eventId);
  async function ingest(count: number, key: string | null = null): Promise<string[]> {
    const readings = Array.from({ length: count }, () => ({ deviceId: 'meter-1', timestamp: new Date(t++).toISOString(), metrics: [{ name: 'p', value: 1 }] }));
    const result = await server.gql(IngestReadingsDocument, { readings }, key ?? server.adminKey);
    return result.data!.ingestReadings.accepted.map((item) => item.eventId);
  }

  beforeAll(async () => {
    server = await startTestServer();
    await server.ok(RegisterDeviceDocument, { input: { id: 'meter-1' } });
    otherTenantKey = await createTenantWithCli(server.dataDir, 'tenant-b');
    expect((await server.gql(RegisterDeviceDocument, { input: { id: 'meter-1' } }, otherTenantKey)).errors).toBeUndefined();
  });
  afterAll(() => server.close());

  it('delivers every event to each member under its own id, runs one source per cohort, and keeps tenants apart', async () => {
    const clients = [connect(server.app.wsUrl, server.adminKey), connect(server.app.wsUrl, server.adminKey)];
    const theirs = connect(server.app.wsUrl, otherTenantKey);
    try {
      // Two members on one connection (two operation ids), one on another.
      const ours: Received[] = [
        subscribe(clients[0]!, ReadingAddedDocument, { deviceId: 'meter-1' }),
        subscribe(clients[0]!, ReadingAddedDocument, { deviceId: 'meter-1' }),
        subscribe(clients[1]!, ReadingAddedDocument, { deviceId: 'meter-1' }),
      ];
      // Tenant b, the same document and variables (its own meter-1).
      const other: Received = subscribe(theirs, ReadingAddedDocument, { deviceId: 'meter-1' });
      await eventually(() => (server.app.subscriptionCohorts().members === 4 ? true : undefined), 10_000, 'four members');
      expect(server.app.subscriptionCohorts()).toEqual({ cohorts: 2, members: 4 });
      expect(server.app.hub.activeSubscriptions).toBe(2);
      // Operators see subscribers, not only hub listeners.
      const health = (await (await fetch(new URL('/healthz', server.app.url))).json()) as { subscriptions: number; cohorts: unknown };
      expect(health).toMatchObject({ subscriptions: 2, cohorts: { cohorts: 2, members: 4 } });

      const sent = await ingest(3);
      const theirsSent = await ingest(1, otherTenantKey);
      for (const subscription of ours) await eventually(() => (subscription.received.length >= 3 ? true : undefined), 15_000, 'three events');
      await eventually(() => (other.received.length >= 1 ? true : undefined), 15_000, "tenant b's event");
      for (const subscription of ours) expect(eventIds(subscription)).toEqual(sent);
      expect(eventIds(other)).toEqual(theirsSent);

      // One leaves mid-stream, one arrives: the others go on, the newcomer gets what follows only.
      ours[0]!.stop();
      await eventually(() => (server.app.subscriptionCohorts().members === 3 ? true : undefined), 10_000, 'the first member left');
      const late: Received = subscribe(clients[1]!, ReadingAddedDocument, { deviceId: 'meter-1' });
      await eventually(() => (server.app.subscriptionCohorts().members === 4 ? true : undefined), 10_000, 'the newcomer joined');
      const more = await ingest(2);
      for (const subscription of [ours[1]!, ours[2]!, late])
        await eventually(() => (subscription.received.length >= 2 && eventIds(subscription).includes(more[1]) ? true : undefined), 15_000, 'later events');
      expect(eventIds(ours[1]!)).toEqual([...sent, ...more]);
      expect(eventIds(late)).toEqual(more);
      expect(eventIds(ours[0]!)).toEqual(sent);
      expect(eventIds(other)).toEqual(theirsSent);
      expect(server.app.hub.activeSubscriptions).toBe(2);
    } finally {
      for (const client of [...clients, theirs]) await client.dispose();
    }
    // The last member of each cohort left: its source is closed and its hub subscription freed.
    await eventually(() => (server.app.hub.activeSubscriptions === 0 ? true : undefined), 10_000, 'hub subscriptions released');
    expect(server.app.subscriptionCohorts()).toEqual({ cohorts: 0, members: 0 });
  });
});
