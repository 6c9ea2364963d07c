import { CreateOnsChannelDocument, IngestReadingsDocument, RegisterDeviceDocument, SetAnomalyRuleDocument, WebhooksDocument } from '../generated/graphql';
import { startNotificationsStandin, type NotificationsStandin } from '../support/oci-notifications-standin';
import { createOciTestIdentity } from '../support/oci-test-auth';
import { eventually, startTestServer, type TestServer } from '../support/server';

/**
 * OCI Notifications channels end to end: created through the API, fed from the same outbox as
 * webhooks (rows written with the anomalies), published with the real oci-ons client to a local
 * stand-in of the Notifications API that checks each request's signature, throttles and fails
 * on demand; the delivery status is read back through the API.
 */
const TOPIC = (name: string) => `ocid1.onstopic.oc1.eu-frankfurt-1.${name}`;

describe('OCI Notifications channels', () => {
  const identity = createOciTestIdentity();
  let standin: NotificationsStandin;
  let server: TestServer;

  beforeAll(async () => {
    standin = await startNotificationsStandin({ keyId: identity.keyId, publicKeyPem: identity.publicKeyPem });
    server = await startTestServer({
      TELEMETRY_ONS_ENDPOINT: standin.endpoint,
      TELEMETRY_OCI_AUTH: 'config-file',
      TELEMETRY_OCI_CONFIG_FILE: identity.configFile,
      TELEMETRY_WEBHOOK_POLL_MS: '50',
      TELEMETRY_WEBHOOK_RETRY_BASE_MS: '20',
      TELEMETRY_WEBHOOK_MAX_ATTEMPTS: '4',
    });
    await server.ok(RegisterDeviceDocument, { input: { id: 'pump-1', tags: ['hall-a'] } });
    await server.ok(RegisterDeviceDocument, { input: { id: 'pump-2', tags: ['hall-b'] } });
    for (const deviceId of ['pump-1', 'pump-2']) await server.ok(SetAnomalyRuleDocument, { input: { deviceId, zScore: null, max: 10, severity: 'CRITICAL' } });
  });
  afterAll(async () => {
    await server.close();
    await standin.close();
  });

  it('publishes the anomalies each channel filters for, retrying a throttled and failing topic, with the status in the API', async () => {
    const everything = (await server.ok(CreateOnsChannelDocument, { input: { topicId: TOPIC('everything'), minSeverity: 'INFO' } })).createOnsChannel;
    const hallA = (await server.ok(CreateOnsChannelDocument, { input: { topicId: TOPIC('halla'), minSeverity: 'WARNING', tags: ['hall-a'] } }))
      .createOnsChannel;
    const silences = (await server.ok(CreateOnsChannelDocument, { input: { topicId: TOPIC('silences'), kinds: ['SILENCE'] } })).createOnsChannel;
    expect(hallA).toMatchObject({ channel: 'ONS', url: TOPIC('halla'), kinds: null, tags: ['hall-a'] });
    expect(silences).toMatchObject({ kinds: ['SILENCE'], tags: null });

    // The first publications meet a throttled topic, then a failing one: both are retried.
    standin.throttleNext(1);
    standin.failNext(1);
    const at = new Date(Date.now() - 5000).toISOString();
    await server.ok(IngestReadingsDocument, {
      readings: [
        { deviceId: 'pump-1', timestamp: at, metrics: [{ name: 'pressure', value: 50 }] },
        { deviceId: 'pump-2', timestamp: at, metrics: [{ name: 'pressure', value: 60 }] },
      ],
    });

    const channels = await eventually(
      async () => {
        const all = (await server.ok(WebhooksDocument, { first: 10 })).webhooks;
        const deliveries = all.flatMap((channel) => channel.deliveries);
        return deliveries.length === 3 && deliveries.every((delivery) => delivery.status === 'DELIVERED') ? all : undefined;
      },
      20_000,
      'every delivery DELIVERED',
    );
    const byId = new Map(channels.map((channel) => [channel.id, channel.deliveries]));
    expect(byId.get(everything.id)).toHaveLength(2);
    expect(byId.get(hallA.id)).toHaveLength(1);
    expect(byId.get(silences.id)).toEqual([]);
    // Two attempts were refused (429, then 500); they show in the attempts of what was retried.
    const attempts = channels.flatMap((channel) => channel.deliveries).reduce((sum, delivery) => sum + delivery.attempts, 0);
    expect(attempts).toBe(5);
    expect(channels.flatMap((channel) => channel.deliveries).every((delivery) => delivery.lastStatusCode === 202)).toBe(true);

    // What the topics received: one message per delivery, signed (the stand-in refused none), readable and with the details.
    expect(standin.refusedSignatures()).toBe(0);
    expect(standin.published.map((message) => message.topicId).sort()).toEqual([TOPIC('everything'), TOPIC('everything'), TOPIC('halla')]);
    const toHallA = standin.published.find((message) => message.topicId === TOPIC('halla'))!;
    expect(toHallA.title).toBe('[CRITICAL] THRESHOLD on pump-1 / pressure');
    expect(toHallA.body).toContain('Value: 50');
    expect(JSON.parse(toHallA.body.split('--- details (JSON) ---\n')[1]!)).toMatchObject({ anomaly: { deviceId: 'pump-1', kind: 'THRESHOLD' } });
  });

  it('refuses a topic that is not an OCI Notifications topic OCID, and an empty filter', async () => {
    const notATopic = await server.gql(CreateOnsChannelDocument, { input: { topicId: 'https://example.com/hook' } });
    expect(notATopic.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'topicId' } });
    const noTags = await server.gql(CreateOnsChannelDocument, { input: { topicId: TOPIC('x'), tags: [] } });
    expect(noTags.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'tags' } });
  });
});
