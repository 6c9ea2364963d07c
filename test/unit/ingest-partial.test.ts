import { BackendError, TelemetryError } from '../../src/domain/errors';
import { DeviceDirectory } from '../../src/devices/device-directory';
import { IngestService } from '../../src/ingest/ingest-service';
import { PartialProduceError, type ProduceRecord, type RecordPosition, type Stream } from '../../src/stream/stream';
import type { DeviceStore } from '../../src/store/ports/device-store';
import { fakePort } from '../support/fake-port';

/**
 * What an ingest call answers when the stream takes only part of a batch (OCI Streaming
 * accepts entries one by one): the appended items are accepted with their positions, the
 * others are rejected with STREAM_UNAVAILABLE, so a client re-sends only those.
 */
const NOW = 1_800_000_000_000;
const caller = { tenantId: 't', role: 'admin' as const, deviceId: null, keyId: 'k' };
const devices = new DeviceDirectory(
  fakePort<DeviceStore>({
    getDevices: async (_tenant: string, ids: readonly string[]) => ids.filter((id) => id !== 'ghost').map((id) => ({ id }) as never),
  }),
);

function service(produce: (records: readonly ProduceRecord[]) => Promise<RecordPosition[]>) {
  let woken = 0;
  const stream = { produce: (_topic: string, records: readonly ProduceRecord[]) => produce(records) } as unknown as Stream;
  const ingest = new IngestService({
    stream,
    devices,
    rules: { maxMetricsPerReading: 8, maxFutureSkewMs: 60_000, maxAgeMs: 86_400_000 },
    maxBatchSize: 100,
    eventTypePrefix: 'io.telemetry',
    onProduced: () => woken++,
    now: () => NOW,
  });
  return { ingest, woken: () => woken };
}
const reading = (deviceId: string, value: number) => ({ deviceId, timestamp: NOW - 1000, metrics: [{ name: 'v', value }] });

describe('ingest when the stream takes part of a batch', () => {
  it('accepts what was appended and rejects the rest with STREAM_UNAVAILABLE, by index', async () => {
    const { ingest, woken } = service(async (records) => {
      throw new PartialProduceError(
        '1 of 3 refused',
        records.map((_, i) => (i === 1 ? undefined : { partition: 0, offset: 10 + i })),
      );
    });
    // Index 1 is invalid (unknown device) and never reaches the stream; the stream refuses its second record (index 2).
    const outcome = await ingest.ingest(caller, [reading('a', 1), reading('ghost', 2), reading('b', 3), reading('c', 4)]);
    expect(outcome.accepted.map((item) => [item.index, item.deviceId, item.offset])).toEqual([
      [0, 'a', 10],
      [3, 'c', 12],
    ]);
    expect(outcome.rejected.map((item) => [item.index, item.code])).toEqual([
      [1, 'UNKNOWN_DEVICE'],
      [2, 'STREAM_UNAVAILABLE'],
    ]);
    expect(outcome.rejected[1]!.message).toMatch(/send it again/);
    expect(woken()).toBe(1); // what was appended is consumed
  });

  it('fails the whole call with a retryable UNAVAILABLE when the stream took nothing', async () => {
    const { ingest, woken } = service(async () => {
      throw new BackendError('OCI Streaming PutMessages failed (HTTP 503)', true);
    });
    const error = await ingest.ingest(caller, [reading('a', 1)]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TelemetryError);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', retryable: true, message: expect.stringMatching(/none was stored/) });
    expect(woken()).toBe(0);
  });
});
