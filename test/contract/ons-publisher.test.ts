import * as common from 'oci-common';
import type { Anomaly } from '../../src/domain/anomalies/anomaly';
import { anomalyNotification, ONS_MAX_MESSAGE_BYTES } from '../../src/domain/anomalies/anomaly-notification';
import { OnsPublisher } from '../../src/notifications/oci/ons-publisher';
import { ociAuthentication } from '../../src/stream/oci/oci-auth';
import { startNotificationsStandin, type NotificationsStandin } from '../support/oci-notifications-standin';
import { createOciTestIdentity, createResourcePrincipalSession } from '../support/oci-test-auth';

/** OCI Notifications through the real oci-ons client, against a local stand-in that checks each request's signature and body. */
const identity = createOciTestIdentity();
const TOPIC = 'ocid1.onstopic.oc1.eu-frankfurt-1.standintopic';

const anomaly: Anomaly = {
  seq: 7,
  id: 5,
  tenantId: 'acme',
  deviceId: 'pump-3',
  metric: 'temperature',
  kind: 'THRESHOLD',
  severity: 'CRITICAL',
  score: 3.2,
  value: 104.5,
  expectedMin: null,
  expectedMax: 90,
  timestamp: Date.parse('2026-12-01T05:00:00Z'),
  detectedAt: Date.parse('2026-12-01T05:00:01Z'),
  occurrences: 2,
  lastValue: 104.5,
  lastTimestamp: Date.parse('2026-12-01T05:00:00Z'),
  status: 'OPEN',
  acknowledgedBy: null,
  acknowledgedAt: null,
  resolvedBy: null,
  resolvedAt: null,
};

describe('OCI Notifications publisher (oci-ons PublishMessage)', () => {
  let standin: NotificationsStandin;
  const publisher = () =>
    new OnsPublisher({ endpoint: standin.endpoint, auth: new common.ConfigFileAuthenticationDetailsProvider(identity.configFile, 'DEFAULT') });

  beforeEach(async () => {
    standin = await startNotificationsStandin({ keyId: identity.keyId, publicKeyPem: identity.publicKeyPem });
  });
  afterEach(() => standin.close());

  it('publishes a readable title and body with the JSON details, signed with the API key', async () => {
    const outcome = await publisher().publish(TOPIC, anomalyNotification(anomaly));
    expect(outcome).toEqual({ published: true, statusCode: 202, messageId: 'standin-message-1' });
    expect(standin.refusedSignatures()).toBe(0);
    const [message] = standin.published;
    expect(message).toMatchObject({ topicId: TOPIC, title: '[CRITICAL] THRESHOLD on pump-3 / temperature' });
    const [readable, details] = message!.body.split('\n--- details (JSON) ---\n') as [string, string];
    expect(readable).toContain('Device: pump-3');
    expect(readable).toContain('Value: 104.5');
    expect(readable).toContain('Expected: -∞ to 90');
    expect(JSON.parse(details)).toMatchObject({ tenantId: 'acme', anomaly: { id: '5', severity: 'CRITICAL', metric: 'temperature', occurrences: 2 } });
  });

  it('says a throttled (429) or failing (5xx) topic is worth retrying, and a refused identity is not', async () => {
    standin.throttleNext(1);
    expect(await publisher().publish(TOPIC, anomalyNotification(anomaly))).toMatchObject({ published: false, statusCode: 429, retryable: true });
    standin.failNext(1);
    expect(await publisher().publish(TOPIC, anomalyNotification(anomaly))).toMatchObject({ published: false, statusCode: 500, retryable: true });
    const stranger = createOciTestIdentity();
    const refused = await new OnsPublisher({
      endpoint: standin.endpoint,
      auth: new common.ConfigFileAuthenticationDetailsProvider(stranger.configFile, 'DEFAULT'),
    }).publish(TOPIC, anomalyNotification(anomaly));
    expect(refused).toMatchObject({ published: false, statusCode: 401, retryable: false });
    expect(await publisher().publish(TOPIC, anomalyNotification(anomaly))).toMatchObject({ published: true });
    expect(standin.published).toHaveLength(1);
  });

  it('says an unreachable endpoint is worth retrying', async () => {
    const closed = standin.endpoint;
    await standin.close();
    const outcome = await new OnsPublisher({
      endpoint: closed,
      auth: new common.ConfigFileAuthenticationDetailsProvider(identity.configFile, 'DEFAULT'),
    }).publish(TOPIC, anomalyNotification(anomaly));
    expect(outcome).toMatchObject({ published: false, statusCode: null, retryable: true });
    standin = await startNotificationsStandin({ keyId: identity.keyId, publicKeyPem: identity.publicKeyPem });
  });

  it('keeps a message within the 64 KB limit however long its names are, and the service takes it', async () => {
    const long = { ...anomaly, deviceId: 'd'.repeat(40_000), metric: 'm'.repeat(40_000) };
    const message = anomalyNotification(long);
    expect(Buffer.byteLength(message.title) + Buffer.byteLength(message.body)).toBeLessThanOrEqual(ONS_MAX_MESSAGE_BYTES);
    expect(message.title.length).toBeLessThanOrEqual(120);
    expect(await publisher().publish(TOPIC, message)).toMatchObject({ published: true });
  });

  it('authenticates as a resource principal, the same way as the stream (oci-auth)', async () => {
    const session = createResourcePrincipalSession();
    await standin.close();
    standin = await startNotificationsStandin({
      keyId: identity.keyId,
      publicKeyPem: identity.publicKeyPem,
      sessionTokens: new Map([[session.token, session.publicKeyPem]]),
    });
    const saved = { ...process.env };
    Object.assign(process.env, session.environment);
    try {
      const auth = await ociAuthentication({ auth: 'resource-principal', configFile: '/nonexistent', profile: 'DEFAULT' });
      expect(await new OnsPublisher({ endpoint: standin.endpoint, auth }).publish(TOPIC, anomalyNotification(anomaly))).toMatchObject({ published: true });
      expect(standin.refusedSignatures()).toBe(0);
    } finally {
      process.env = saved;
    }
  });
});
