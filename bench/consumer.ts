/**
 * Consumer benchmark: what the consumer costs per reading, alone on the machine.
 *
 *   npm run bench:consumer -- [--readings 400000] [--devices 8] [--metrics 1] [--batch 500]
 *
 * Fills the embedded stream of a fresh data directory with `readings` CloudEvents (as ingest
 * writes them: `devices` devices, one new timestamp per reading, `metrics` random-walk values
 * each, produced `batch` at a time), with no consumer running. Then starts the consumer thread
 * exactly as the service does (composition/consumer-thread.ts) and times it until every reading
 * is stored. Prints the readings stored per second and the CPU time of the whole process per
 * reading (every thread: the consumer's, V8's garbage-collection helpers, the WAL
 * checkpointer's), which on a shared machine varies far less than the throughput does. Nothing
 * else runs meanwhile: no API, no subscribers.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config';
import { openStore, openStream } from '../src/composition/backends';
import { ConsumerThread } from '../src/composition/consumer-thread';
import { envelopeEncoder } from '../src/domain/cloud-event';
import { uuidv7 } from '../src/domain/ids';
import { createLogger } from '../src/logger';
import type { ProduceRecord } from '../src/stream/stream';

const { values: args } = parseArgs({
  options: {
    readings: { type: 'string', default: '400000' },
    devices: { type: 'string', default: '8' },
    metrics: { type: 'string', default: '1' },
    batch: { type: 'string', default: '500' },
  },
});
const READINGS = Number(args.readings);
const DEVICES = Array.from({ length: Number(args.devices) }, (_, i) => `consumer-bench-${i}`);
const METRICS = Array.from({ length: Number(args.metrics) }, (_, i) => (i === 0 ? 'temperature' : `metric-${i}`));
const BATCH = Number(args.batch);
const TENANT = 'default';

async function fill(config: ReturnType<typeof loadConfig>): Promise<void> {
  const logger = createLogger('warn');
  const store = await openStore(config);
  await store.ensureTenant(TENANT, 'Default');
  for (const id of DEVICES) await store.registerDevice(TENANT, { id, name: id, tags: [] });
  await store.close();
  const stream = await openStream(config, logger);
  const encode = envelopeEncoder(config.eventTypePrefix);
  const walk = new Map(DEVICES.map((device) => [device, 20]));
  let timestamp = Date.now() - 3_600_000;
  for (let done = 0; done < READINGS;) {
    const records: ProduceRecord[] = [];
    for (let i = 0; i < BATCH && done < READINGS; i++, done++) {
      const deviceId = DEVICES[done % DEVICES.length]!;
      const value = walk.get(deviceId)! + (Math.random() - 0.5) / 5;
      walk.set(deviceId, value);
      const reading = {
        tenantId: TENANT,
        deviceId,
        eventId: uuidv7(Date.now()),
        timestamp: timestamp++,
        metrics: METRICS.map((name) => ({ name, value: Math.round(value * 100) / 100 })),
      };
      records.push({ key: `${TENANT}/${deviceId}`, value: encode(reading) });
    }
    await stream.produce('readings', records);
  }
  await stream.close();
}

async function drain(config: ReturnType<typeof loadConfig>): Promise<{ seconds: number; cpuSeconds: number }> {
  const logger = createLogger('warn');
  let stored = 0;
  let finished: () => void = () => {};
  const done = new Promise<void>((resolve) => (finished = resolve));
  // What the service's API thread does with no subscriber: the readings are not parsed.
  const consumer = new ConsumerThread(
    config,
    () => {},
    () => {},
    () => {},
    logger,
  );
  await consumer.ready();
  // From here: the thread has started and opened its connections; what follows is the work.
  const cpu = process.cpuUsage();
  const started = performance.now();
  const poll = setInterval(() => {
    stored = consumer.stats().appliedReadings ?? 0;
    if (stored >= READINGS) finished();
  }, 5);
  await done;
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  clearInterval(poll);
  await consumer.stop();
  return { seconds, cpuSeconds: (used.user + used.system) / 1e6 };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'telemetry-consumer-bench-'));
  try {
    const config = loadConfig({ ...process.env, TELEMETRY_DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
    const filling = performance.now();
    await fill(config);
    console.log(
      `filled the stream with ${READINGS} readings (${DEVICES.length} devices, ${METRICS.length} metric(s) each) in ${((performance.now() - filling) / 1000).toFixed(1)} s`,
    );
    const { seconds, cpuSeconds } = await drain(config);
    console.log(
      `consumer: ${READINGS} readings stored in ${seconds.toFixed(2)} s = ${Math.round(READINGS / seconds)} readings/s; ` +
        `CPU ${cpuSeconds.toFixed(2)} s = ${((cpuSeconds * 1e6) / READINGS).toFixed(1)} µs per reading (all threads)`,
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
