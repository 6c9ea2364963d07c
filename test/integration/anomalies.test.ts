import {
  AcknowledgeAnomalyDocument,
  AnomalyCursorDocument,
  AnomaliesDocument,
  AnomalyDetectedDocument,
  AnomalyRulesDocument,
  DecommissionDeviceDocument,
  DeleteAnomalyRuleDocument,
  DeviceStatusChangedDocument,
  DeviceStatusDocument,
  IngestReadingsDocument,
  RegisterDeviceDocument,
  ResolveAnomalyDocument,
  SetAnomalyRuleDocument,
  SetHeartbeatTimeoutDocument,
  type AnomalyDetectedSubscription,
} from '../generated/graphql';
import { connect, subscribe } from '../support/ws-client';
import { eventually, startTestServer, type TestServer } from '../support/server';

const iso = (ms: number) => new Date(ms).toISOString();

describe('anomalies, rules and device liveness', () => {
  let server: TestServer;
  const base = Date.now() - 120_000;
  const send = async (deviceId: string, values: number[], metric = 'pressure', start = base) => {
    const readings = values.map((value, i) => ({ deviceId, timestamp: iso(start + i * 1000), metrics: [{ name: metric, value }] }));
    const result = await server.ok(IngestReadingsDocument, { readings });
    expect(result.ingestReadings.rejectedCount).toBe(0);
  };
  const nodes = async (filter: object = {}) => (await server.ok(AnomaliesDocument, { filter })).anomalies.edges.map((e) => e.node);

  beforeAll(async () => {
    server = await startTestServer({ TELEMETRY_LIVENESS_CHECK_MS: '50' });
    await server.ok(RegisterDeviceDocument, { input: { id: 'press-1', tags: ['hydraulic'] } });
    await server.ok(RegisterDeviceDocument, { input: { id: 'press-2', tags: ['hydraulic'] } });
    await server.ok(RegisterDeviceDocument, { input: { id: 'beacon-1', heartbeatTimeoutSeconds: 1 } });
  });
  afterAll(() => server.close());

  it('detects by rule, publishes after storing, and moves through the lifecycle with who and when', async () => {
    const rule = await server.ok(SetAnomalyRuleDocument, { input: { tag: 'hydraulic', metric: 'pressure', zScore: null, max: 100, severity: 'CRITICAL' } });
    expect(rule.setAnomalyRule).toMatchObject({
      tag: 'hydraulic',
      deviceId: null,
      metric: 'pressure',
      zScore: null,
      max: 100,
      min: null,
      severity: 'CRITICAL',
    });

    const client = connect(server.app.wsUrl, server.adminKey);
    const critical = subscribe(client, AnomalyDetectedDocument, { minSeverity: 'CRITICAL' });
    const otherDevice = subscribe(client, AnomalyDetectedDocument, { deviceId: 'press-2' });
    await eventually(() => (server.app.anomalyHub.subscriberCount === 2 ? true : undefined), 5000, 'subscriptions registered');

    await send('press-1', [50, 60, 150, 70]);
    const [event] = await eventually(() => (critical.received.length >= 1 ? critical.received : undefined), 10_000, 'anomaly delivered');
    const anomaly = event!.data!.anomalyDetected;
    expect(anomaly).toMatchObject({
      deviceId: 'press-1',
      metric: 'pressure',
      kind: 'THRESHOLD',
      severity: 'CRITICAL',
      score: 50,
      value: 150,
      expectedMin: null,
      expectedMax: 100,
    });
    expect(anomaly).toMatchObject({ timestamp: iso(base + 2000), status: 'OPEN', acknowledgedBy: null });
    // Persist, then publish: the delivered anomaly is already queryable.
    expect((await nodes({ kind: 'THRESHOLD' })).map((a) => a.id)).toEqual([anomaly.id]);
    expect(otherDevice.received).toEqual([]);

    const acknowledged = (await server.ok(AcknowledgeAnomalyDocument, { id: anomaly.id })).acknowledgeAnomaly;
    expect(acknowledged).toMatchObject({ status: 'ACKNOWLEDGED', acknowledgedBy: expect.any(String) });
    expect(Date.parse(acknowledged.acknowledgedAt!)).toBeGreaterThan(Date.now() - 10_000);
    const twice = await server.gql(AcknowledgeAnomalyDocument, { id: anomaly.id });
    expect(twice.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/is ACKNOWLEDGED; it cannot be acknowledged/),
      extensions: { code: 'BAD_USER_INPUT' },
    });
    const resolved = (await server.ok(ResolveAnomalyDocument, { id: anomaly.id })).resolveAnomaly;
    expect(resolved).toMatchObject({ status: 'RESOLVED', resolvedBy: acknowledged.acknowledgedBy });
    // Subscribers hear of each transition: the same anomaly again, with a new cursor.
    const changes = await eventually(
      () => (critical.received.length >= 3 ? critical.received.map((r) => r.data!.anomalyDetected) : undefined),
      10_000,
      'transitions',
    );
    expect(changes.map((change) => [change.id, change.status])).toEqual([
      [anomaly.id, 'OPEN'],
      [anomaly.id, 'ACKNOWLEDGED'],
      [anomaly.id, 'RESOLVED'],
    ]);
    expect(new Set(changes.map((change) => change.cursor)).size).toBe(3);
    expect((await server.gql(ResolveAnomalyDocument, { id: anomaly.id })).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    for (const id of ['999999', 'abc', '0'])
      expect((await server.gql(ResolveAnomalyDocument, { id })).errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
    expect(await nodes({ status: 'OPEN', kind: 'THRESHOLD' })).toEqual([]);

    // Resuming from the first anomaly's cursor replays only what came after it (the anomaly as
    // it is now, resolved, and the second one), then goes live.
    await send('press-2', [200], 'pressure', base + 10_000);
    const second = await eventually(
      () => (otherDevice.received.length >= 1 ? otherDevice.received[0]!.data!.anomalyDetected : undefined),
      10_000,
      'second anomaly',
    );
    const resumed = subscribe(client, AnomalyDetectedDocument, { after: anomaly.cursor });
    const replayed = await eventually(() => (resumed.received.length >= 1 ? resumed.received : undefined), 10_000, 'replay');
    await eventually(() => (resumed.received.length >= 2 ? true : undefined), 10_000, 'replay of both');
    expect(replayed.map((r) => [(r.data as AnomalyDetectedSubscription).anomalyDetected.id, r.data!.anomalyDetected.status])).toEqual([
      [anomaly.id, 'RESOLVED'],
      [second.id, 'OPEN'],
    ]);
    await send('press-1', [300], 'pressure', base + 20_000);
    await eventually(() => (resumed.received.length >= 3 ? true : undefined), 10_000, 'live after replay');
    expect(resumed.received.map((r) => r.data!.anomalyDetected.value)).toEqual([150, 200, 300]);
    await client.dispose();
  });

  it('delivers an anomaly again, same id and a new cursor, each time a trigger updates it and when it clears by itself', async () => {
    await server.ok(RegisterDeviceDocument, { input: { id: 'press-3' } });
    const rule = await server.ok(SetAnomalyRuleDocument, { input: { deviceId: 'press-3', zScore: null, max: 100, clearAfterSeconds: 5 } });
    expect(rule.setAnomalyRule.clearAfterSeconds).toBe(5);
    const client = connect(server.app.wsUrl, server.adminKey);
    const live = subscribe(client, AnomalyDetectedDocument, { deviceId: 'press-3' });
    await eventually(() => (server.app.anomalyHub.subscriberCount >= 1 ? true : undefined), 5000, 'subscription registered');
    const changes = async (count: number) =>
      (await eventually(() => (live.received.length >= count ? live.received : undefined), 10_000, `change ${count}`)).map((r) => r.data!.anomalyDetected);

    await send('press-3', [150], 'pressure', base + 30_000);
    const [raised] = await changes(1);
    expect(raised).toMatchObject({ kind: 'THRESHOLD', status: 'OPEN', occurrences: 1, value: 150, lastValue: 150 });
    await send('press-3', [170], 'pressure', base + 31_000);
    const [, updated] = await changes(2);
    expect(updated).toMatchObject({ id: raised!.id, status: 'OPEN', occurrences: 2, value: 150, lastValue: 170, score: 70, lastTimestamp: iso(base + 31_000) });
    expect(updated!.cursor).not.toBe(raised!.cursor);
    // Normal 4 s after the latest trigger: still open. Normal 5 s after: cleared, at that reading.
    await send('press-3', [50, 50], 'pressure', base + 35_000);
    const [, , cleared] = await changes(3);
    expect(cleared).toMatchObject({ id: raised!.id, status: 'RESOLVED', resolvedBy: 'system', resolvedAt: iso(base + 36_000), occurrences: 2 });
    expect(await nodes({ deviceId: 'press-3' })).toEqual([cleared]);
    // Resuming from before the changes replays the anomaly once, as it is now.
    const resumed = subscribe(client, AnomalyDetectedDocument, { deviceId: 'press-3', after: raised!.cursor });
    expect(await eventually(() => (resumed.received.length >= 1 ? resumed.received.map((r) => r.data!.anomalyDetected) : undefined))).toEqual([cleared]);
    expect(live.received).toHaveLength(3);
    await client.dispose();
  });

  it('lists, replaces and deletes rules, and refuses bad ones precisely', async () => {
    const first = await server.ok(SetAnomalyRuleDocument, { input: { deviceId: 'press-1', min: 1, max: 2 } });
    const replaced = await server.ok(SetAnomalyRuleDocument, { input: { deviceId: 'press-1', min: 0, max: 5, severity: 'INFO' } });
    expect(replaced.setAnomalyRule).toMatchObject({
      id: first.setAnomalyRule.id,
      min: 0,
      max: 5,
      severity: 'INFO',
      metric: '*',
      zScore: { threshold: 4, window: 60, warmup: 60 },
    });
    const rules = (await server.ok(AnomalyRulesDocument)).anomalyRules;
    expect(rules.filter((r) => r.deviceId === 'press-1')).toHaveLength(1);
    expect(await server.ok(DeleteAnomalyRuleDocument, { id: first.setAnomalyRule.id })).toEqual({ deleteAnomalyRule: true });
    expect((await server.gql(DeleteAnomalyRuleDocument, { id: first.setAnomalyRule.id })).errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });

    for (const [input, code, message] of [
      [{ deviceId: 'press-1', tag: 'x' }, 'BAD_USER_INPUT', /not both/],
      [{ min: 5, max: 1 }, 'BAD_USER_INPUT', /min must not exceed max/],
      [{ zScore: { window: 1 } }, 'BAD_USER_INPUT', /window must be from 2/],
      [{ zScore: { threshold: 0 } }, 'BAD_USER_INPUT', /threshold must be a number above 0/],
      [{ maxRatePerSecond: -1 }, 'BAD_USER_INPUT', /above 0/],
      [{ clearAfterSeconds: -1 }, 'BAD_USER_INPUT', /clearAfterSeconds must be from 0 to 2592000/],
      [{ metric: 'bad name!' }, 'BAD_USER_INPUT', /metric name/],
      [{ deviceId: 'ghost' }, 'NOT_FOUND', /no device "ghost"/],
    ] as const) {
      const response = await server.gql(SetAnomalyRuleDocument, { input });
      expect({ input, error: response.errors?.[0] }).toMatchObject({ input, error: { message: expect.stringMatching(message), extensions: { code } } });
    }
  });

  it('takes a silent device offline with a SILENCE anomaly, and back online on its next reading', async () => {
    expect((await server.ok(DeviceStatusDocument, { id: 'beacon-1' })).device).toMatchObject({
      status: 'NEVER_SEEN',
      lastSeenAt: null,
      heartbeatTimeoutSeconds: 1,
    });
    const client = connect(server.app.wsUrl, server.adminKey);
    const statuses = subscribe(client, DeviceStatusChangedDocument, { deviceId: 'beacon-1' });
    const anomalies = subscribe(client, AnomalyDetectedDocument, { deviceId: 'beacon-1' });
    await eventually(() => (server.app.statusHub.subscriberCount === 1 && server.app.anomalyHub.subscriberCount === 1 ? true : undefined), 5000, 'subscribed');

    await send('beacon-1', [1], 'battery', Date.now() - 1000);
    const changes = () => statuses.received.map((r) => [r.data!.deviceStatusChanged.previousStatus, r.data!.deviceStatusChanged.status]);
    await eventually(() => (changes().length >= 2 ? true : undefined), 10_000, 'online then offline');
    expect(changes().slice(0, 2)).toEqual([
      ['NEVER_SEEN', 'ONLINE'],
      ['ONLINE', 'OFFLINE'],
    ]);
    const silence = await eventually(() => anomalies.received[0]?.data?.anomalyDetected, 10_000, 'silence anomaly');
    expect(silence).toMatchObject({ kind: 'SILENCE', deviceId: 'beacon-1', metric: null, value: null, status: 'OPEN', severity: 'WARNING' });
    expect(silence.score).toBeGreaterThan(1);
    expect((await server.ok(DeviceStatusDocument, { id: 'beacon-1' })).device).toMatchObject({ status: 'OFFLINE', lastSeenAt: expect.any(String) });

    await server.ok(SetHeartbeatTimeoutDocument, { deviceId: 'beacon-1', seconds: 3600 });
    await send('beacon-1', [2], 'battery', Date.now());
    await eventually(() => (changes().length >= 3 ? true : undefined), 10_000, 'back online');
    expect(changes()[2]).toEqual(['OFFLINE', 'ONLINE']);
    const [stored] = await nodes({ deviceId: 'beacon-1', kind: 'SILENCE' });
    expect(stored).toMatchObject({ id: silence.id, status: 'RESOLVED', resolvedBy: 'system' });

    expect((await server.ok(DecommissionDeviceDocument, { id: 'beacon-1' })).decommissionDevice).toEqual({ id: 'beacon-1', status: 'DECOMMISSIONED' });
    await eventually(() => (changes().length >= 4 ? true : undefined), 10_000, 'decommissioned event');
    expect(changes()[3]).toEqual(['ONLINE', 'DECOMMISSIONED']);
    await client.dispose();
  });

  it('refuses bad heartbeat timeouts and unknown devices', async () => {
    for (const [variables, code] of [
      [{ deviceId: 'press-1', seconds: 0 }, 'BAD_USER_INPUT'],
      [{ deviceId: 'press-1', seconds: 99_999_999 }, 'BAD_USER_INPUT'],
      [{ deviceId: 'ghost', seconds: 10 }, 'NOT_FOUND'],
    ] as const) {
      expect((await server.gql(SetHeartbeatTimeoutDocument, variables)).errors?.[0]?.extensions).toMatchObject({ code });
    }
    expect((await server.ok(SetHeartbeatTimeoutDocument, { deviceId: 'press-1', seconds: null })).setHeartbeatTimeout.heartbeatTimeoutSeconds).toBe(300);
    expect((await server.gql(DecommissionDeviceDocument, { id: 'ghost' })).errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
    const bad = await server.gql(RegisterDeviceDocument, { input: { id: 'x-1', heartbeatTimeoutSeconds: -5 } });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('gives a cursor, read before a change, from which a later subscription receives that change', async () => {
    const { anomalyCursor } = await server.ok(AnomalyCursorDocument, {});
    await send('press-2', [500], 'pressure', base + 60_000);
    const changed = await eventually(async () => (await nodes({ deviceId: 'press-2' })).find((a) => a.lastValue === 500), 10_000, 'change stored');
    const client = connect(server.app.wsUrl, server.adminKey);
    const resumed = subscribe(client, AnomalyDetectedDocument, { after: anomalyCursor });
    const [first] = await eventually(() => (resumed.received.length >= 1 ? resumed.received : undefined), 10_000, 'replayed change');
    expect(first!.data!.anomalyDetected).toMatchObject({ id: changed.id, lastValue: 500 });
    await client.dispose();
  });
});
