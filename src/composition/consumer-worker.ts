import '../production-defaults';
import 'reflect-metadata';
import { parentPort, workerData } from 'node:worker_threads';
import { startConsumer, startPublishingConsumer } from './consumer-runtime';
import { reportStats, type ConsumerWorkerData, type FromConsumer, type ToConsumer } from './consumer-thread';
import { WakeSignal } from '../stream/wake-signal';
import { SubscriberCount } from './subscriber-count';
import { createLogger } from '../logger';
import { carrierOf } from '../tracing/tracing';
import { startTracing } from './tracing-sdk';

/** Worker-thread entry of the consumer (started by ConsumerThread). */
async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('consumer-worker must run in a worker thread');
  const { config, wakeBuffer, subscribersBuffer } = workerData as ConsumerWorkerData;
  const subscribers = new SubscriberCount(subscribersBuffer);
  const logger = createLogger(config.logLevel);
  // This thread's spans go out through its own exporter (a provider is per thread).
  const tracing = startTracing(config.tracing, logger);
  const send = (message: FromConsumer) => port.postMessage(message);
  let runtime;
  try {
    // On a shared stream other processes consume too: publish to the events topic for all.
    runtime = config.stream.oci
      ? await startPublishingConsumer(config, logger)
      : await startConsumer(
          config,
          {
            // Called after the batch committed: subscriber-count.ts says why skipping loses nothing.
            readings: (readings) =>
              readings.length > 0 && subscribers.any() && send({ type: 'persisted', readingsJson: JSON.stringify(readings), trace: carrierOf() }),
            events: (events) => send({ type: 'events', events }),
            commands: (commands) => send({ type: 'commands', commands }),
          },
          logger,
        );
  } catch (error) {
    await tracing?.shutdown();
    send({ type: 'failed', message: (error as Error).message });
    return;
  }
  const report = () => send({ type: 'stats', stats: reportStats(runtime.persister.snapshot()) });
  report();
  const stats = setInterval(report, 250);
  const stopListening = new WakeSignal(wakeBuffer).listen(() => runtime.persister.wake());
  // Wake-ups come through the WakeSignal; messages are scrapes and the stop.
  port.on('message', (message: ToConsumer) => {
    if (message.type === 'metrics') {
      // A failed look at the stream (closing) costs the scrape the consumer's metrics, never the thread.
      void runtime.metrics.json().then(
        (metrics) => send({ type: 'metrics', id: message.id, metrics }),
        (error: unknown) => {
          logger.warn({ err: error }, 'could not collect the consumer metrics');
          send({ type: 'metrics', id: message.id, metrics: [] });
        },
      );
      return;
    }
    stopListening();
    clearInterval(stats);
    void runtime
      .close()
      .then(() => tracing?.shutdown())
      .then(() => {
        send({ type: 'stopped' });
        port.close();
      });
  });
  send({ type: 'ready' });
}

void main();
