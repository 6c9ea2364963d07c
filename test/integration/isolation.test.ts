import { buildTelemetrySchema } from '../../src/schema/build-schema';
import { createTenantWithCli } from '../support/service-process';
import { connect } from '../support/ws-client';
import { eventually, startTestServer, type TestServer } from '../support/server';

/**
 * Isolation matrix: every root field of the schema, called by tenant A's admin, reader and
 * device keys with tenant B's ids, must answer exactly as it does for ids that exist nowhere
 * (same data, same error code and message once the id is masked), and no answer may contain
 * anything of B's. A new root field fails the coverage check until it gets a probe here.
 */

interface Ids {
  readonly device: string;
  /** A device id only registerDevice asks about (it creates the device in the caller's tenant). */
  readonly newDevice: string;
  readonly anomaly: string;
  readonly rule: string;
  readonly webhook: string;
  readonly key: string;
  readonly deadLetter: string;
  readonly command: string;
}

interface Probe {
  readonly kind: 'query' | 'mutation' | 'subscription';
  readonly document: string;
  readonly variables: (ids: Ids) => Record<string, unknown>;
}

const now = () => new Date(Date.now() - 1000).toISOString();
const RANGE = { from: '2026-01-01T00:00:00Z', to: '2027-01-01T00:00:00Z' };

const PROBES: Record<string, Probe> = {
  viewer: { kind: 'query', document: '{ viewer { role deviceId } }', variables: () => ({}) },
  device: { kind: 'query', document: 'query($id: ID!) { device(id: $id) { id name status } }', variables: (ids) => ({ id: ids.device }) },
  devices: { kind: 'query', document: '{ devices(first: 100) { edges { node { id name } } } }', variables: () => ({}) },
  readings: {
    kind: 'query',
    document: 'query($id: ID!) { readings(deviceId: $id, metric: "v") { edges { node { value } } } }',
    variables: (ids) => ({ id: ids.device }),
  },
  aggregates: {
    kind: 'query',
    document:
      'query($id: ID!, $from: DateTime!, $to: DateTime!) { aggregates(deviceIds: [$id], metric: "v", from: $from, to: $to, bucket: "1d") { buckets { count } } }',
    variables: (ids) => ({ id: ids.device, ...RANGE }),
  },
  series: {
    kind: 'query',
    document: 'query($id: ID!, $from: DateTime!, $to: DateTime!) { series(deviceId: $id, metric: "v", from: $from, to: $to) { totalPoints } }',
    variables: (ids) => ({ id: ids.device, ...RANGE }),
  },
  anomalies: {
    kind: 'query',
    document: 'query($id: ID) { anomalies(filter: { deviceId: $id }) { edges { node { id deviceId } } } }',
    variables: (ids) => ({ id: ids.device }),
  },
  // A position in the anomaly sequence, not an anomaly: what it reveals, any anomaly id reveals too.
  anomalyCursor: { kind: 'query', document: '{ anomalyCursor }', variables: () => ({}) },
  anomalyRules: { kind: 'query', document: '{ anomalyRules { id deviceId } }', variables: () => ({}) },
  // Positions in the readings topic, not readings: what it reveals, any readingAdded cursor reveals too.
  readingCursor: { kind: 'query', document: '{ readingCursor }', variables: () => ({}) },
  apiKeys: { kind: 'query', document: '{ apiKeys(includeRevoked: true) { id label deviceId } }', variables: () => ({}) },
  deadLetters: { kind: 'query', document: '{ deadLetters { edges { node { id } } } }', variables: () => ({}) },
  webhooks: { kind: 'query', document: '{ webhooks { id url } }', variables: () => ({}) },
  ingestReading: {
    kind: 'mutation',
    document:
      'mutation($id: ID!, $t: DateTime!) { ingestReading(reading: { deviceId: $id, timestamp: $t, metrics: [{ name: "v", value: 1 }] }) { acceptedCount rejected { code message } } }',
    variables: (ids) => ({ id: ids.device, t: now() }),
  },
  ingestReadings: {
    kind: 'mutation',
    document:
      'mutation($id: ID!, $t: DateTime!) { ingestReadings(readings: [{ deviceId: $id, timestamp: $t, metrics: [{ name: "v", value: 1 }] }]) { acceptedCount rejected { code message } } }',
    variables: (ids) => ({ id: ids.device, t: now() }),
  },
  setAnomalyRule: {
    kind: 'mutation',
    document: 'mutation($id: ID!) { setAnomalyRule(input: { deviceId: $id, max: 3 }) { id } }',
    variables: (ids) => ({ id: ids.device }),
  },
  deleteAnomalyRule: { kind: 'mutation', document: 'mutation($id: ID!) { deleteAnomalyRule(id: $id) }', variables: (ids) => ({ id: ids.rule }) },
  acknowledgeAnomaly: {
    kind: 'mutation',
    document: 'mutation($id: ID!) { acknowledgeAnomaly(id: $id) { id status } }',
    variables: (ids) => ({ id: ids.anomaly }),
  },
  resolveAnomaly: { kind: 'mutation', document: 'mutation($id: ID!) { resolveAnomaly(id: $id) { id status } }', variables: (ids) => ({ id: ids.anomaly }) },
  setHeartbeatTimeout: {
    kind: 'mutation',
    document: 'mutation($id: ID!) { setHeartbeatTimeout(deviceId: $id, seconds: 60) { id } }',
    variables: (ids) => ({ id: ids.device }),
  },
  decommissionDevice: {
    kind: 'mutation',
    document: 'mutation($id: ID!) { decommissionDevice(id: $id) { id status } }',
    variables: (ids) => ({ id: ids.device }),
  },
  updateDevice: {
    kind: 'mutation',
    document: 'mutation($id: ID!) { updateDevice(id: $id, input: { name: "probe", tags: ["p"], attributes: { a: 1 } }) { id name attributes } }',
    variables: (ids) => ({ id: ids.device }),
  },
  createApiKey: {
    kind: 'mutation',
    document: 'mutation($id: ID!) { createApiKey(input: { role: DEVICE, label: "probe", deviceId: $id }) { key { deviceId } } }',
    variables: (ids) => ({ id: ids.device }),
  },
  revokeApiKey: { kind: 'mutation', document: 'mutation($id: ID!) { revokeApiKey(id: $id) { id } }', variables: (ids) => ({ id: ids.key }) },
  rotateDeviceKey: {
    kind: 'mutation',
    document: 'mutation($id: ID!) { rotateDeviceKey(deviceId: $id) { key { deviceId } } }',
    variables: (ids) => ({ id: ids.device }),
  },
  createWebhook: { kind: 'mutation', document: '{ __typename }', variables: () => ({}) },
  // Retention names no id: each caller reads its own tenant's (test/contract/retention.test.ts keeps tenants' settings apart).
  retention: { kind: 'query', document: '{ retention { rawReadingsDays overridden } }', variables: () => ({}) },
  setRetention: { kind: 'mutation', document: '{ __typename }', variables: () => ({}) },
  createOnsChannel: { kind: 'mutation', document: '{ __typename }', variables: () => ({}) },
  deleteWebhook: { kind: 'mutation', document: 'mutation($id: ID!) { deleteWebhook(id: $id) }', variables: (ids) => ({ id: ids.webhook }) },
  replayDeadLetter: {
    kind: 'mutation',
    document: 'mutation($id: ID!) { replayDeadLetter(id: $id) { partition } }',
    variables: (ids) => ({ id: ids.deadLetter }),
  },
  // keepData: true, and after every probe that reads the device: for tenant B's id the answer
  // must be NOT_FOUND, exactly as for a ghost; nothing of B's may go.
  deleteDevice: {
    kind: 'mutation',
    document: 'mutation($id: ID!) { deleteDevice(id: $id, keepData: true) { id keptData removingData } }',
    variables: (ids) => ({ id: ids.device }),
  },
  // Last: it creates a device with the probed id in the caller's own tenant.
  registerDevice: {
    kind: 'mutation',
    document: 'mutation($id: ID!) { registerDevice(input: { id: $id }) { device { id } } }',
    variables: (ids) => ({ id: ids.newDevice }),
  },
  // After registerDevice: the same id again is ALREADY_EXISTS in the caller's tenant, B's or not.
  registerDevices: {
    kind: 'mutation',
    document: 'mutation($id: ID!) { registerDevices(inputs: [{ id: $id }]) { index registered { device { id } } error { code message } } }',
    variables: (ids) => ({ id: ids.newDevice }),
  },
  readingAdded: {
    kind: 'subscription',
    document: 'subscription($id: ID!) { readingAdded(deviceId: $id) { eventId } }',
    variables: (ids) => ({ id: ids.device }),
  },
  anomalyDetected: {
    kind: 'subscription',
    document: 'subscription($id: ID) { anomalyDetected(deviceId: $id) { id } }',
    variables: (ids) => ({ id: ids.device }),
  },
  deviceStatusChanged: {
    kind: 'subscription',
    document: 'subscription($id: ID) { deviceStatusChanged(deviceId: $id) { deviceId } }',
    variables: (ids) => ({ id: ids.device }),
  },
  sendCommand: {
    kind: 'mutation',
    document: 'mutation($id: ID!) { sendCommand(deviceId: $id, name: "probe", payload: { a: 1 }, timeoutSeconds: 60) { id status } }',
    variables: (ids) => ({ id: ids.device }),
  },
  command: { kind: 'query', document: 'query($id: ID!) { command(id: $id) { id deviceId name payload status } }', variables: (ids) => ({ id: ids.command }) },
  commands: {
    kind: 'query',
    document: 'query($id: ID!) { commands(deviceId: $id) { edges { node { id name payload } } } }',
    variables: (ids) => ({ id: ids.device }),
  },
  commandUpdated: {
    kind: 'subscription',
    document: 'subscription($id: ID) { commandUpdated(deviceId: $id) { id deviceId } }',
    variables: (ids) => ({ id: ids.device }),
  },
};

describe('tenant isolation matrix', () => {
  let server: TestServer;
  let theirs: Ids;
  let theirDeviceKey: string;
  let theirAdminKey: string;
  const keys: Record<string, string> = {};

  async function gqlAs(key: string, document: string, variables: object) {
    const response = await fetch(server.app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: document, variables }),
    });
    return (await response.json()) as { data?: Record<string, any> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  }

  /** Subscribers registered on the server, all hubs together. */
  const subscribers = () =>
    server.app.hub.activeSubscriptions + server.app.anomalyHub.subscriberCount + server.app.statusHub.subscriberCount + server.app.commandHub.subscriberCount;

  /**
   * First result of a subscription: its first event or its error, or 'registered' once the
   * server has registered it (a live subscription that nothing is sent to). No timer decides
   * it: a refusal slower than a fixed wait (a loaded machine) would have read as 'no event' on
   * one side of a comparison and as the error on the other.
   */
  async function subscribeAs(key: string, document: string, variables: Record<string, unknown>): Promise<unknown> {
    await eventually(() => (subscribers() === 0 ? true : undefined), 5000, 'earlier probes cleaned up');
    const client = connect(server.app.wsUrl, key);
    let answered = false;
    try {
      const answer = new Promise((resolve) => {
        client.subscribe({ query: document, variables }, { next: resolve, error: resolve, complete: () => resolve('complete') });
      });
      const registered = eventually(
        () => (answered ? 'answered' : subscribers() > 0 ? 'registered' : undefined),
        15_000,
        'the subscription answered or registered',
      );
      return await Promise.race([answer, registered]);
    } finally {
      answered = true;
      await client.dispose();
    }
  }

  beforeAll(async () => {
    server = await startTestServer();
    const a = server.adminKey;
    keys['admin'] = a;
    keys['reader'] = (await gqlAs(a, 'mutation { createApiKey(input: { role: READER, label: "r" }) { secret } }', {})).data!['createApiKey'].secret;
    keys['device'] = (await gqlAs(a, 'mutation { registerDevice(input: { id: "a-dev" }) { deviceKey } }', {})).data!['registerDevice'].deviceKey;

    const b = await createTenantWithCli(server.dataDir, 'tenant-b');
    theirAdminKey = b;
    const registered = await gqlAs(
      b,
      'mutation { registerDevice(input: { id: "b-secret-device", name: "B secret", attributes: { site: "shared-site" } }) { deviceKey } }',
      {},
    );
    await gqlAs(b, 'mutation { registerDevice(input: { id: "b-other-device", name: "B secret too" }) { deviceKey } }', {});
    theirDeviceKey = registered.data!['registerDevice'].deviceKey;
    const rule = await gqlAs(b, 'mutation { setAnomalyRule(input: { deviceId: "b-secret-device", zScore: null, max: 0 }) { id } }', {});
    const webhook = await gqlAs(b, 'mutation { createWebhook(input: { url: "https://hooks.example.com/b-secret-hook" }) { webhook { id } } }', {});
    const key = await gqlAs(b, 'mutation { createApiKey(input: { role: READER, label: "b-secret-key" }) { key { id } } }', {});
    const command = await gqlAs(
      b,
      'mutation { sendCommand(deviceId: "b-secret-device", name: "b-secret-command", payload: "B secret payload", timeoutSeconds: 600) { id } }',
      {},
    );
    await gqlAs(theirDeviceKey, PROBES['ingestReading']!.document, { id: 'b-secret-device', t: now() });
    const anomaly = await eventually(
      async () => {
        const list = await gqlAs(b, '{ anomalies { edges { node { id } } } }', {});
        return list.data?.['anomalies'].edges[0]?.node.id as string | undefined;
      },
      10_000,
      "tenant B's anomaly",
    );
    theirs = {
      device: 'b-secret-device',
      newDevice: 'b-other-device',
      anomaly,
      rule: rule.data!['setAnomalyRule'].id,
      webhook: webhook.data!['createWebhook'].webhook.id,
      key: key.data!['createApiKey'].key.id,
      deadLetter: '1',
      command: command.data!['sendCommand'].id,
    };
  });
  afterAll(() => server.close());

  const ghost: Ids = {
    device: 'ghost-device',
    newDevice: 'ghost-new-device',
    anomaly: '987654321',
    rule: '01234567-0000-7000-8000-000000000000',
    webhook: '01234567-0000-7000-8000-000000000001',
    key: 'no-such-key',
    deadLetter: '987654321',
    command: '01234567-0000-7000-8000-000000000002',
  };

  it('has a probe for every query, mutation and subscription of the schema', () => {
    const schema = buildTelemetrySchema();
    const fields = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((type) => Object.keys(type!.getFields()));
    expect(fields.filter((field) => !(field in PROBES))).toEqual([]);
  });

  /** Masks the ids this probe sent (they may be echoed), secrets and creation times. */
  const mask = (value: unknown, probe: Probe, ids: Ids) => {
    let text = JSON.stringify(value);
    const sent = Object.values(probe.variables(ids)).filter((v): v is string => typeof v === 'string');
    // Only whole ids: as JSON strings, or quoted inside messages (no device "x").
    for (const id of sent) text = text.split(`"${id}"`).join('"<ID>"').split(`\\"${id}\\"`).join('\\"<ID>\\"');
    return JSON.parse(text.replace(/"(tk|whsec)_[A-Za-z0-9_-]+"/g, '"<SECRET>"').replace(/"createdAt":"[^"]+"/g, '"createdAt":"<T>"')) as unknown;
  };

  for (const role of ['admin', 'reader', 'device']) {
    it(`answers ${role} keys of tenant A about tenant B's ids exactly as about ids that exist nowhere`, async () => {
      const differences: string[] = [];
      for (const [field, probe] of Object.entries(PROBES)) {
        const run = (ids: Ids) =>
          probe.kind === 'subscription'
            ? subscribeAs(keys[role]!, probe.document, probe.variables(ids))
            : gqlAs(keys[role]!, probe.document, probe.variables(ids));
        const foreign = await run(theirs);
        const nowhere = await run({ ...ghost, newDevice: `${ghost.newDevice}-${role}` });
        // A probe whose document the schema refuses compares two identical refusals: it proves nothing.
        if (JSON.stringify(foreign).includes('GRAPHQL_VALIDATION_FAILED'))
          differences.push(`${field}: the probe's document is invalid: ${JSON.stringify(foreign).slice(0, 200)}`);
        // Ids the caller sent may be echoed in messages; B's names, URLs and labels never.
        if (/B secret|b-secret-hook|b-secret-key|b-secret-command/.test(JSON.stringify(foreign)))
          differences.push(`${field}: leaks tenant B data: ${JSON.stringify(foreign).slice(0, 200)}`);
        const masked = [
          JSON.stringify(mask(foreign, probe, theirs)),
          JSON.stringify(mask(nowhere, probe, { ...ghost, newDevice: `${ghost.newDevice}-${role}` })),
        ];
        if (masked[0] !== masked[1]) differences.push(`${field}: ${masked[0]} != ${masked[1]}`);
      }
      expect(differences).toEqual([]);
    });
  }

  it("never lists tenant B's devices in tenant A's filtered lists (attribute, status)", async () => {
    await gqlAs(keys['admin']!, 'mutation { registerDevice(input: { id: "a-sited", attributes: { site: "shared-site" } }) { device { id } } }', {});
    for (const filter of ['{ attribute: { key: "site", equals: "shared-site" } }', '{ status: ONLINE }', '{ status: NEVER_SEEN }']) {
      const listed = await gqlAs(keys['admin']!, `{ devices(first: 100, filter: ${filter}) { edges { node { id name } } } }`, {});
      const ids = (listed.data?.['devices'].edges as { node: { id: string } }[]).map((edge) => edge.node.id);
      expect([filter, ids.filter((id) => id.startsWith('b-secret'))]).toEqual([filter, []]);
    }
    const sited = await gqlAs(keys['admin']!, '{ devices(filter: { attribute: { key: "site", equals: "shared-site" } }) { edges { node { id } } } }', {});
    expect(sited.data?.['devices'].edges).toEqual([{ node: { id: 'a-sited' } }]);
  });

  it("never delivers tenant B's events to tenant A's subscriptions", async () => {
    const client = connect(server.app.wsUrl, keys['admin']);
    const seen: { data?: Record<string, { deviceId: string } | null> }[] = [];
    client.subscribe(
      { query: 'subscription { anomalyDetected { id deviceId } }' },
      { next: (value) => void seen.push(value as never), error: (error) => seen.push({ error } as never), complete: () => {} },
    );
    client.subscribe(
      { query: 'subscription { deviceStatusChanged { deviceId } }' },
      { next: (value) => void seen.push(value as never), error: (error) => seen.push({ error } as never), complete: () => {} },
    );
    client.subscribe(
      { query: 'subscription { commandUpdated { deviceId } }' },
      { next: (value) => void seen.push(value as never), error: (error) => seen.push({ error } as never), complete: () => {} },
    );
    await eventually(
      () =>
        server.app.anomalyHub.subscriberCount >= 1 && server.app.statusHub.subscriberCount >= 1 && server.app.commandHub.subscriberCount >= 1
          ? true
          : undefined,
      5000,
      'subscribed',
    );
    await gqlAs(theirAdminKey, 'mutation { sendCommand(deviceId: "b-secret-device", name: "b-secret-command", timeoutSeconds: 600) { id } }', {});
    // Tenant B: an anomaly (b-secret-device) and a status change (b-other-device, never seen before).
    // Counted in triggers: a trigger while B's earlier anomaly is open updates it (one more occurrence).
    const anomaliesOfB = async () =>
      (
        (await gqlAs(theirAdminKey, '{ anomalies { edges { node { occurrences } } } }', {})).data?.['anomalies'].edges as { node: { occurrences: number } }[]
      ).reduce((sum, edge) => sum + edge.node.occurrences, 0);
    const before = await anomaliesOfB();
    await gqlAs(theirDeviceKey, PROBES['ingestReading']!.document, { id: 'b-secret-device', t: now() });
    await gqlAs(theirAdminKey, PROBES['ingestReading']!.document, { id: 'b-other-device', t: now() });
    await eventually(async () => ((await anomaliesOfB()) > before ? true : undefined), 10_000, "tenant B's new anomaly committed");
    await eventually(
      async () => ((await gqlAs(theirAdminKey, '{ device(id: "b-other-device") { status } }', {})).data?.['device']?.status === 'ONLINE' ? true : undefined),
      10_000,
      'b-other-device online',
    );
    // Then tenant A's own anomaly and status change: events reach the hubs in commit order, so
    // once A's have arrived, B's (committed before) would have arrived first. No fixed sleep decides.
    await gqlAs(keys['admin']!, 'mutation { registerDevice(input: { id: "a-barrier" }) { device { id } } }', {});
    await gqlAs(keys['admin']!, 'mutation { setAnomalyRule(input: { deviceId: "a-barrier", zScore: null, max: 0 }) { id } }', {});
    await gqlAs(keys['admin']!, PROBES['ingestReading']!.document, { id: 'a-barrier', t: now() });
    await gqlAs(keys['admin']!, 'mutation { sendCommand(deviceId: "a-barrier", name: "barrier", timeoutSeconds: 600) { id } }', {});
    const ofA = (field: string) => seen.some((event) => event.data?.[field]?.deviceId === 'a-barrier');
    await eventually(
      () => (ofA('anomalyDetected') && ofA('deviceStatusChanged') && ofA('commandUpdated') ? true : undefined),
      10_000,
      "tenant A's own anomaly, status change and command",
    );
    // Anything else (B's events, or an error) is a failure.
    expect(seen.filter((event) => !event.data || Object.values(event.data).some((payload) => payload?.deviceId !== 'a-barrier'))).toEqual([]);
    await client.dispose();
  });
});
