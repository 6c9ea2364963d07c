import { fromEnvelope } from '../../src/domain/cloud-event';
import { DeviceDirectory } from '../../src/devices/device-directory';
import { IngestService } from '../../src/ingest/ingest-service';
import type { ProduceRecord, Stream } from '../../src/stream/stream';
import type { DeviceStore } from '../../src/store/ports/device-store';
import { fakePort } from '../support/fake-port';

/**
 * What an ingest call writes to the stream: one record per accepted reading, keyed
 * `tenant/device`, whose value is the reading's CloudEvents envelope with only the fields a
 * reading has (an HTTP client's extra fields never reach the stream).
 */
const NOW = 1_800_000_000_000;

it('writes each accepted reading as its envelope, keyed by tenant and device, without extra fields', async () => {
  const written: ProduceRecord[] = [];
  const stream = {
    produce: async (_topic: string, records: readonly ProduceRecord[]) => {
      written.push(...records);
      return records.map((_, i) => ({ partition: 0, offset: i }));
    },
  } as unknown as Stream;
  const devices = new DeviceDirectory(
    fakePort<DeviceStore>({ getDevices: async (_tenant: string, ids: readonly string[]) => ids.map((id) => ({ id }) as never) }),
  );
  const ingest = new IngestService({
    stream,
    devices,
    rules: { maxMetricsPerReading: 8, maxFutureSkewMs: 60_000, maxAgeMs: 86_400_000 },
    maxBatchSize: 100,
    eventTypePrefix: 'io.telemetry',
    now: () => NOW,
  });
  const caller = { tenantId: 't', role: 'admin' as const, deviceId: null, keyId: 'k' };
  const inputs = [
    { deviceId: 'a', timestamp: NOW - 1, metrics: [{ name: 'v', value: 1.25, unit: 'C' }], colour: 'red' },
    {
      deviceId: 'b',
      timestamp: NOW - 2,
      metrics: [
        { name: 'x', value: -3 },
        { name: 'y', value: 1e21 },
      ],
      eventId: 'client"id"\\1',
    },
  ];
  const outcome = await ingest.ingest(caller, inputs);
  expect(outcome.rejected).toEqual([]);
  expect(written.map((record) => record.key)).toEqual(['t/a', 't/b']);
  const decoded = written.map((record) => fromEnvelope(record.value, 'io.telemetry'));
  expect(decoded).toEqual([
    { ok: true, reading: { tenantId: 't', deviceId: 'a', eventId: outcome.accepted[0]!.eventId, timestamp: NOW - 1, metrics: [{ name: 'v', value: 1.25 }] } },
    { ok: true, reading: { tenantId: 't', deviceId: 'b', eventId: 'client"id"\\1', timestamp: NOW - 2, metrics: inputs[1]!.metrics } },
  ]);
  expect(outcome.accepted[0]!.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
  // The envelope's own attributes, as the consumer and any other reader of the stream see them.
  expect(JSON.parse(written[0]!.value)).toMatchObject({ source: '/devices/a', subject: 'a', time: new Date(NOW - 1).toISOString(), tenantid: 't' });
});
