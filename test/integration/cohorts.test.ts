import {
  AnomaliesDocument,
  AnomalyCursorDocument,
  AnomalyDetectedDocument,
  IngestReadingsDocument,
  ReadingAddedDocument,
  ReadingCursorDocument,
  RegisterDeviceDocument,
  SetAnomalyRuleDocument,
} from '../generated/graphql';
import { createTenantWithCli } from '../support/service-process';
import { connect, subscribe, type Subscription } from '../support/ws-client';
import { scrape, total } from '../support/metrics';
import { eventually, startTestServer, type TestServer } from '../support/server';

type Received = Subscription<{ readingAdded: { eventId: string; deviceId: string; cursor: string } }>;

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
    server = await startTestServer({ TELEMETRY_METRICS_PORT: '0' });
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
      expect(server.app.subscriptionCohorts()).toEqual({ cohorts: 2, members: 4, catchingUp: 0 });
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
    expect(server.app.subscriptionCohorts()).toEqual({ cohorts: 0, members: 0, catchingUp: 0 });
  });

  it('subscribers resuming from cursors replay alone, then join the live cohort: each gets every reading after its cursor once, in order', async () => {
    const client = connect(server.app.wsUrl, server.adminKey);
    try {
      const live: Received = subscribe(client, ReadingAddedDocument, { deviceId: 'meter-1' });
      await eventually(() => (server.app.subscriptionCohorts().members === 1 ? true : undefined), 10_000, 'the live subscriber');
      // Five resumes from five points in the device's history, readings ingested between them
      // and while they replay.
      const cursors: string[] = [];
      const after: string[][] = [];
      const all: string[] = [];
      for (let i = 0; i < 5; i++) {
        cursors.push((await server.ok(ReadingCursorDocument, {})).readingCursor);
        after.push([]);
        const sent = await ingest(7);
        // Accepted is not yet stored: the next cursor must come after these.
        await eventually(() => (eventIds(live).includes(sent[6]) ? true : undefined), 15_000, 'stored');
        all.push(...sent);
        for (const list of after) list.push(...sent);
      }
      const resumed: Received[] = cursors.map((cursor) => subscribe(client, ReadingAddedDocument, { deviceId: 'meter-1', after: cursor }));
      const during = await ingest(5);
      for (const list of after) list.push(...during);
      all.push(...during);
      for (const subscription of resumed) await eventually(() => (eventIds(subscription).includes(during[4]) ? true : undefined), 15_000, 'caught up');
      // Each joins once caught up; a reading more reaches everyone through the one cohort.
      const more = await ingest(1);
      for (const list of after) list.push(...more);
      for (const subscription of [...resumed, live])
        await eventually(() => (eventIds(subscription).includes(more[0]) ? true : undefined), 15_000, 'the last reading');
      await eventually(() => (server.app.subscriptionCohorts().catchingUp === 0 ? true : undefined), 10_000, 'all joined');
      expect(server.app.subscriptionCohorts()).toEqual({ cohorts: 1, members: 6, catchingUp: 0 });
      expect(server.app.hub.activeSubscriptions).toBe(1);
      resumed.forEach((subscription, i) => expect(eventIds(subscription)).toEqual(after[i]));
      expect(eventIds(live)).toEqual([...all, ...more]);

      // The last cursor each received (the cohort's) resumes with nothing missed and nothing again.
      const next = await ingest(2);
      for (const subscription of resumed) await eventually(() => (eventIds(subscription).includes(next[1]) ? true : undefined), 15_000, 'two more');
      const last = resumed[0]!.received.at(-3)!.data!.readingAdded.cursor;
      const again: Received = subscribe(client, ReadingAddedDocument, { deviceId: 'meter-1', after: last });
      await eventually(() => (eventIds(again).length >= 2 ? true : undefined), 15_000, 'the resume');
      expect(eventIds(again)).toEqual(next);
    } finally {
      await client.dispose();
    }
    await eventually(() => (server.app.hub.activeSubscriptions === 0 ? true : undefined), 10_000, 'hub subscriptions released');
    expect(server.app.subscriptionCohorts()).toEqual({ cohorts: 0, members: 0, catchingUp: 0 });
  });

  it('subscribers resuming from one cursor at once, on several connections, each get every reading after it once, in order, and join one cohort', async () => {
    const clients = [connect(server.app.wsUrl, server.adminKey), connect(server.app.wsUrl, server.adminKey), connect(server.app.wsUrl, server.adminKey)];
    try {
      const live: Received = subscribe(clients[0]!, ReadingAddedDocument, { deviceId: 'meter-1' });
      await eventually(() => (server.app.subscriptionCohorts().members === 1 ? true : undefined), 10_000, 'the live subscriber');
      // The consoles of a fleet after an outage: one cursor, readings stored since.
      const cursor = (await server.ok(ReadingCursorDocument, {})).readingCursor;
      const missed = await ingest(30);
      await eventually(() => (eventIds(live).includes(missed[29]) ? true : undefined), 15_000, 'stored');
      const replayed = async () => total(await scrape(server.app.metricsUrl!), 'telemetry_subscription_replayed_events_total', { feed: 'readings' }) ?? 0;
      const replayedBefore = await replayed();
      // Sent together, they share one replay (the unit tests prove how); here real clients take it.
      const resumed: Received[] = Array.from({ length: 9 }, (_, i) => subscribe(clients[i % 3]!, ReadingAddedDocument, { deviceId: 'meter-1', after: cursor }));
      const during = await ingest(3);
      for (const subscription of resumed) await eventually(() => (eventIds(subscription).includes(during[2]) ? true : undefined), 15_000, 'caught up');
      await eventually(() => (server.app.subscriptionCohorts().catchingUp === 0 ? true : undefined), 10_000, 'all joined');
      const more = await ingest(1);
      for (const subscription of [...resumed, live])
        await eventually(() => (eventIds(subscription).includes(more[0]) ? true : undefined), 15_000, 'the last reading');
      expect(server.app.subscriptionCohorts()).toEqual({ cohorts: 1, members: 10, catchingUp: 0 });
      expect(server.app.hub.activeSubscriptions).toBe(1);
      for (const subscription of resumed) expect(eventIds(subscription)).toEqual([...missed, ...during, ...more]);
      // Nine replays of their own would each have read the thirty back; they arrive within the
      // 50 ms the first replay waits for others, and read fewer.
      expect((await replayed()) - replayedBefore).toBeLessThan(9 * missed.length);
    } finally {
      for (const client of clients) await client.dispose();
    }
    await eventually(() => (server.app.hub.activeSubscriptions === 0 ? true : undefined), 10_000, 'hub subscriptions released');
  });

  it('anomaly subscribers resuming from one cursor at once share one replay: each gets the anomaly as it stands, then every change, once', async () => {
    await server.ok(RegisterDeviceDocument, { input: { id: 'press-3' } });
    await server.ok(SetAnomalyRuleDocument, { input: { deviceId: 'press-3', zScore: null, max: 100 } });
    const clients = [connect(server.app.wsUrl, server.adminKey), connect(server.app.wsUrl, server.adminKey)];
    type Changes = Subscription<{ anomalyDetected: { id: string; occurrences: number } }>;
    const changes = (subscription: Changes) => subscription.received.map((r) => `${r.data?.anomalyDetected.id}×${r.data?.anomalyDetected.occurrences}`);
    try {
      const live: Changes = subscribe(clients[0]!, AnomalyDetectedDocument, { deviceId: 'press-3' });
      await eventually(() => (server.app.subscriptionCohorts().members >= 1 ? true : undefined), 10_000, 'the live subscriber');
      const { anomalyCursor } = await server.ok(AnomalyCursorDocument, {});
      // Four readings over the limit, one at a time: the anomaly is raised, then its occurrences counted.
      for (const value of [150, 160, 170, 180]) {
        const seen = live.received.length;
        await server.ok(IngestReadingsDocument, {
          readings: [{ deviceId: 'press-3', timestamp: new Date(t++).toISOString(), metrics: [{ name: 'p', value }] }],
        });
        await eventually(() => (live.received.length > seen ? true : undefined), 15_000, 'the change');
      }
      const missed = changes(live);
      expect(missed).toHaveLength(4);
      const replayed = async () => total(await scrape(server.app.metricsUrl!), 'telemetry_subscription_replayed_events_total', { feed: 'anomalies' }) ?? 0;
      const replayedBefore = await replayed();
      const resumed: Changes[] = Array.from({ length: 6 }, (_, i) =>
        subscribe(clients[i % 2]!, AnomalyDetectedDocument, { deviceId: 'press-3', after: anomalyCursor }),
      );
      // A replay gives each anomaly changed since the cursor once, as it stands now (docs/PROTOCOL.md).
      for (const subscription of resumed) await eventually(() => (subscription.received.length >= 1 ? true : undefined), 15_000, 'the replay');
      await eventually(() => (server.app.subscriptionCohorts().catchingUp === 0 ? true : undefined), 10_000, 'all joined');
      await server.ok(IngestReadingsDocument, {
        readings: [{ deviceId: 'press-3', timestamp: new Date(t++).toISOString(), metrics: [{ name: 'p', value: 190 }] }],
      });
      await eventually(() => (live.received.length >= 5 ? true : undefined), 15_000, 'one more');
      for (const subscription of resumed) await eventually(() => (subscription.received.length >= 2 ? true : undefined), 15_000, 'one more');
      for (const subscription of resumed) expect(changes(subscription)).toEqual([missed[3], changes(live)[4]]);
      // Six replays of their own would each have read the anomaly back.
      expect((await replayed()) - replayedBefore).toBeLessThan(6);
    } finally {
      for (const client of clients) await client.dispose();
    }
  });

  it("an anomaly subscriber resuming from a cursor joins the live one's cohort though another tenant's anomalies moved the shared seq between them", async () => {
    const rule = { zScore: null, max: 100 };
    await server.ok(RegisterDeviceDocument, { input: { id: 'press-9' } });
    await server.ok(SetAnomalyRuleDocument, { input: { deviceId: 'press-9', ...rule } });
    expect((await server.gql(RegisterDeviceDocument, { input: { id: 'press-b' } }, otherTenantKey)).errors).toBeUndefined();
    expect((await server.gql(SetAnomalyRuleDocument, { input: { deviceId: 'press-b', ...rule } }, otherTenantKey)).errors).toBeUndefined();
    const overLimit = async (deviceId: string, key: string) => {
      const result = await server.gql(
        IngestReadingsDocument,
        { readings: [{ deviceId, timestamp: new Date(t++).toISOString(), metrics: [{ name: 'p', value: 150 }] }] },
        key,
      );
      expect(result.errors).toBeUndefined();
    };
    const client = connect(server.app.wsUrl, server.adminKey);
    try {
      const { anomalyCursor } = await server.ok(AnomalyCursorDocument, {});
      // Tenant b's anomaly takes the next seq: the live subscriber's cohort starts after it,
      // the resumed one's position (tenant a has nothing newer) stays before it.
      await overLimit('press-b', otherTenantKey);
      await eventually(
        async () => ((await server.gql(AnomaliesDocument, {}, otherTenantKey)).data?.anomalies.edges.length ? true : undefined),
        15_000,
        "tenant b's anomaly",
      );
      const live = subscribe(client, AnomalyDetectedDocument, { deviceId: 'press-9' });
      await eventually(() => (server.app.subscriptionCohorts().members === 1 ? true : undefined), 10_000, 'the live subscriber');
      const resumed = subscribe(client, AnomalyDetectedDocument, { deviceId: 'press-9', after: anomalyCursor });
      await eventually(() => (server.app.subscriptionCohorts().members === 2 ? true : undefined), 10_000, 'the resumed one joined');
      expect(server.app.subscriptionCohorts()).toEqual({ cohorts: 1, members: 2, catchingUp: 0 });
      expect(server.app.anomalyHub.subscriberCount).toBe(1);
      await overLimit('press-9', server.adminKey);
      for (const subscription of [live, resumed]) await eventually(() => (subscription.received.length >= 1 ? true : undefined), 15_000, 'the anomaly');
      expect(resumed.received.map((r) => r.data?.anomalyDetected.deviceId)).toEqual(['press-9']);
      expect(live.received.map((r) => r.data?.anomalyDetected.id)).toEqual(resumed.received.map((r) => r.data?.anomalyDetected.id));
    } finally {
      await client.dispose();
    }
  });
});
