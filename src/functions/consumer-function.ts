import { handle } from '@fnproject/fdk';
import { loadConfig } from '../config';
import { createLogger } from '../logger';
import type { ConsumerFunction } from '../composition/function-runtime';

/**
 * The consumer as an OCI Function (deploy/oci/function/): a Connector Hub connector from the
 * readings stream invokes it with batches of messages, and each is applied through the same
 * pipeline as the long-running consumer (src/composition/function-runtime.ts), then the
 * background jobs that are due run (retention, liveness, webhook deliveries, command expiry,
 * removing deleted devices' data). An empty body, `null` or `{"jobs": true}` runs the due jobs
 * alone (a scheduled trigger's call). The body's answer is a summary of what the batch did and
 * a `jobs` entry per job; an error applying the batch answers 502, so the connector retries (a
 * failing job never does).
 *
 * Only the FDK, the configuration and the logger load before the socket is served; the rest
 * (the pipeline, the store and stream clients) loads on the first call, once: the platform
 * sees the container ready sooner, and what a cold start costs is paid once.
 */
const config = loadConfig();
const logger = createLogger(config.logLevel);
let consumer: ConsumerFunction | undefined;
let coldStartReported = false;

handle(
  async (body) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on the first call, see above
    consumer ??= (require('../composition/function-runtime') as typeof import('../composition/function-runtime')).createConsumerFunction(config, logger);
    const result = await consumer.invoke(body);
    // The cost of a cold start as the platform sees it: from the process's start to the first
    // batch committed and published (performance.now() counts from the process's start).
    if (!coldStartReported) logger.info({ coldStartMs: Math.round(performance.now()) }, 'first batch applied since the function started');
    coldStartReported = true;
    return result;
  },
  { inputMode: 'json' },
);
