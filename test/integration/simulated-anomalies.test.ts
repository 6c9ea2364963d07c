import { AnomaliesDocument, IngestReadingsDocument, ReadingsDocument, RegisterDeviceDocument } from '../generated/graphql';
import { faulty, newDevice, seededRandom, walk } from '../../src/tools/simulated-fleet';
import { eventually, startTestServer } from '../support/server';

const iso = (ms: number) => new Date(ms).toISOString();
const SECOND = 1000;

/**
 * The simulator's own signal (src/tools/simulated-fleet.ts, seeded so every run sends the same
 * data) through a started server with the default rules: its normal data raises nothing; its
 * injected spikes raise exactly one alarm per spike, updated by the way back down, cleared
 * after TELEMETRY_ANOMALY_CLEAR_AFTER_SECONDS of normal readings.
 */
describe('default detection on the simulator data', () => {
  it('raises nothing on normal data, and exactly the expected alarms for injected spikes', async () => {
    const server = await startTestServer({ TELEMETRY_ANOMALY_CLEAR_AFTER_SECONDS: '60' });
    try {
      const random = seededRandom(7);
      const ids = ['sim-001', 'sim-002', 'sim-003'];
      const devices = ids.map((id) => newDevice(id, random));
      for (const id of ids) await server.ok(RegisterDeviceDocument, { input: { id, tags: ['simulated'] } });
      const count = 400;
      const spikes = [150, 360];
      const base = Date.now() - 30 * 60 * SECOND;
      const readings = [];
      for (let i = 0; i < count; i++) {
        for (const device of devices) {
          const { temperature, humidity } = walk(device, random);
          const spiked = device.id === 'sim-003' && spikes.includes(i) ? faulty('spike', temperature)! : temperature;
          readings.push({
            deviceId: device.id,
            timestamp: iso(base + i * SECOND),
            metrics: [
              { name: 'temperature', value: spiked },
              { name: 'humidity', value: humidity },
            ],
          });
        }
      }
      for (let i = 0; i < readings.length; i += 500) {
        const result = await server.ok(IngestReadingsDocument, { readings: readings.slice(i, i + 500) });
        expect(result.ingestReadings.rejectedCount).toBe(0);
      }
      // Detection commits with the readings: once the last device's readings are all stored, so are the anomalies.
      for (const id of ids) {
        await eventually(
          async () =>
            (await server.ok(ReadingsDocument, { deviceId: id, metric: 'humidity', first: 1000 })).readings.edges.length === count ? true : undefined,
          30_000,
          `readings of ${id}`,
        );
      }

      const anomalies = (await server.ok(AnomaliesDocument, { first: 100 })).anomalies.edges.map((edge) => edge.node);
      // Most recently changed first. Each spike: up, then back down (two triggers, one alarm).
      expect(anomalies.map((a) => ({ ...a, score: Math.round(a.score) }))).toEqual([
        expect.objectContaining({
          deviceId: 'sim-003',
          metric: 'temperature',
          kind: 'ZSCORE',
          status: 'OPEN',
          timestamp: iso(base + 360 * SECOND),
          occurrences: 2,
          lastTimestamp: iso(base + 361 * SECOND),
          resolvedBy: null,
        }),
        expect.objectContaining({
          deviceId: 'sim-003',
          metric: 'temperature',
          kind: 'ZSCORE',
          status: 'RESOLVED',
          timestamp: iso(base + 150 * SECOND),
          occurrences: 2,
          lastTimestamp: iso(base + 151 * SECOND),
          // The first reading 60 s after the latest trigger.
          resolvedBy: 'system',
          resolvedAt: iso(base + 211 * SECOND),
        }),
      ]);
      // Ids are the identity (the first seq), cursors the latest change: the cleared alarm changed after it was raised.
      expect(Number(anomalies[1]!.id)).toBeLessThan(Number(anomalies[0]!.id));
    } finally {
      await server.close();
    }
  });
});
