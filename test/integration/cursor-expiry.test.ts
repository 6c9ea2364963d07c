import {
  IngestReadingsDocument,
  ReadingAddedDocument,
  RegisterDeviceDocument,
  SetRetentionDocument,
  type ReadingAddedSubscription,
} from '../generated/graphql';
import { parseExposition, total } from '../support/metrics';
import { connect, subscribe, type Subscription } from '../support/ws-client';
import { eventually, startTestServer, type TestServer } from '../support/server';

type ReadingEvent = ReadingAddedSubscription['readingAdded'];

const DAY = 86_400_000;

/**
 * Issue 17: retention removes stored events by reading timestamp (`eventIdsDays`); a
 * `readingAdded` resumed from a cursor before a removed event used to replay what was left and
 * silently skip the removed one. Such a resume is now refused with CURSOR_EXPIRED; a cursor at
 * or after everything removed resumes as before, without a gap.
 */
describe('resuming readingAdded from a cursor older than retention keeps events', () => {
  let server: TestServer;
  let client: ReturnType<typeof connect>;

  /** Event ids retention has removed so far (the consumer's counter, scraped as Prometheus would). */
  async function eventIdsRemoved(): Promise<number> {
    const text = await (await fetch(server.app.metricsUrl!)).text();
    return total(parseExposition(text), 'telemetry_retention_removed_rows_total', { kind: 'EVENT_IDS' }) ?? 0;
  }

  async function ingest(deviceId: string, timestamps: readonly number[]): Promise<string[]> {
    const readings = timestamps.map((at, i) => ({ deviceId, timestamp: new Date(at).toISOString(), metrics: [{ name: 'level', value: i }] }));
    const { ingestReadings } = await server.ok(IngestReadingsDocument, { readings });
    expect(ingestReadings.rejectedCount).toBe(0);
    return ingestReadings.accepted.map((item) => item.eventId);
  }

  const events = (sub: Subscription<ReadingAddedSubscription>): ReadingEvent[] => sub.received.map((result) => result.data!.readingAdded);

  /** A resume refused at its start answers one result carrying the error, then completes; returns that error. */
  async function refused(deviceIds: string[], after: string) {
    const sub = subscribe(client, ReadingAddedDocument, { deviceIds, after });
    await eventually(() => (sub.received.length > 0 ? true : undefined), 15_000, 'the first answer to the resume');
    const error = sub.received[0]!.errors?.[0];
    // Accepted instead (what used to happen): the replay's first event, without what retention removed.
    expect(error?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'after', reason: 'CURSOR_EXPIRED' });
    expect(await sub.finished).toBe('complete');
    expect(sub.received).toHaveLength(1);
    return error;
  }

  beforeAll(async () => {
    // A pass every second; the tenant keeps event ids one day, so readings three days old lose theirs.
    server = await startTestServer({ TELEMETRY_RETENTION_INTERVAL_SECONDS: '1', TELEMETRY_METRICS_PORT: '0' });
    for (const id of ['tank', 'pump']) await server.ok(RegisterDeviceDocument, { input: { id } });
    await server.ok(SetRetentionDocument, { input: { eventIdsDays: 1 } });
    client = connect(server.app.wsUrl, server.adminKey);
  });

  afterAll(async () => {
    await client.dispose();
    await server.close();
  });

  it('refuses a cursor before removed events with CURSOR_EXPIRED, and resumes one after them with no gap and no duplicate', async () => {
    const now = Date.now();
    const live = subscribe(client, ReadingAddedDocument, { deviceIds: ['tank', 'pump'] });
    await eventually(() => (server.app.hub.activeSubscriptions === 1 ? true : undefined), 5000, 'subscription registered');
    // Three readings of three days ago (their event ids expire), then two of now (kept).
    const old = await ingest('tank', [now - 3 * DAY, now - 3 * DAY + 1000, now - 3 * DAY + 2000]);
    const recent = await ingest('tank', [now - 1000, now]);
    const pumped = await ingest('pump', [now - 500]);
    await eventually(() => (live.received.length === 6 ? true : undefined), 15_000, 'the six events delivered live');
    live.stop();
    const delivered = events(live);
    const cursorAfter = (eventId: string) => delivered.find((event) => event.eventId === eventId)!.cursor;

    await eventually(async () => ((await eventIdsRemoved()) >= old.length ? true : undefined), 20_000, 'a retention pass removing the old event ids');

    // Resuming after the first old event would need the second and third: they are gone.
    const error = await refused(['tank'], cursorAfter(old[0]!));
    expect(error?.message).toMatch(/older than retention keeps events .* read the gap with readings/);

    // After the last removed event nothing is missing: the kept events, then live ones.
    const resumed = subscribe(client, ReadingAddedDocument, { deviceIds: ['tank'], after: cursorAfter(old[2]!) });
    await eventually(() => (resumed.received.length === recent.length ? true : undefined), 15_000, 'the kept events replayed');
    const more = await ingest('tank', [now + 1]);
    await eventually(() => (resumed.received.length === recent.length + more.length ? true : undefined), 15_000, 'the live event');
    resumed.stop();
    expect(resumed.received.every((result) => !result.errors)).toBe(true);
    expect(events(resumed).map((event) => event.eventId)).toEqual([...recent, ...more]);

    // Another device's subscription is not refused for tank's removed events: pump lost none.
    const other = subscribe(client, ReadingAddedDocument, { deviceIds: ['pump'], after: cursorAfter(old[0]!) });
    await eventually(() => (other.received.length === pumped.length ? true : undefined), 15_000, "pump's event replayed");
    other.stop();
    expect(events(other).map((event) => event.eventId)).toEqual(pumped);
    await eventually(() => (server.app.hub.activeSubscriptions === 0 ? true : undefined), 5000, 'subscriptions cleaned up');
  }, 60_000);

  it('refuses a cursor before a late reading whose event id retention removed, though the reading arrived after the cursor', async () => {
    const now = Date.now();
    const live = subscribe(client, ReadingAddedDocument, { deviceIds: ['pump'] });
    await eventually(() => (server.app.hub.activeSubscriptions === 1 ? true : undefined), 5000, 'subscription registered');
    const [first] = await ingest('pump', [now + 10]);
    await eventually(() => (live.received.length === 1 ? true : undefined), 15_000, 'the first event');
    const cursor = events(live)[0]!.cursor;
    expect(events(live)[0]!.eventId).toBe(first);
    // A gateway sends a reading three days late: stored after the cursor, removed by the next pass.
    const removedBefore = await eventIdsRemoved();
    await ingest('pump', [now - 3 * DAY + 5000]);
    await eventually(() => (live.received.length === 2 ? true : undefined), 15_000, 'the late event delivered live');
    live.stop();
    await eventually(async () => ((await eventIdsRemoved()) > removedBefore ? true : undefined), 20_000, 'a pass removing the late event id');
    await refused(['pump'], cursor);
    // Its own cursor is past it: resumes.
    const after = subscribe(client, ReadingAddedDocument, { deviceIds: ['pump'], after: events(live)[1]!.cursor });
    const [next] = await ingest('pump', [now + 20]);
    await eventually(() => (after.received.length === 1 ? true : undefined), 15_000, 'the next event');
    after.stop();
    expect(events(after).map((event) => event.eventId)).toEqual([next]);
  }, 60_000);
});
