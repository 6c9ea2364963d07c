import { context, diag, DiagLogLevel, propagation, trace } from '@opentelemetry/api';
import type { TracingSettings } from '../config';
import type { Logger } from '../logger';

/**
 * Starts the OpenTelemetry SDK for this thread (the API thread and the consumer worker each
 * start their own: a provider, its batch of spans and its exporter belong to one thread).
 * With tracing off nothing here runs and no SDK module is loaded: the services' spans stay
 * on the API's no-op implementation (src/tracing/tracing.ts).
 */
export interface Tracing {
  /** Exports the spans still batched, then unregisters the SDK. */
  shutdown(): Promise<void>;
}

export function startTracing(settings: TracingSettings | undefined, logger: Logger): Tracing | undefined {
  if (!settings) return undefined;
  // Loaded only when tracing is on (required here, not imported, so that tracing off costs no load).
  /* eslint-disable @typescript-eslint/no-require-imports -- see above */
  const sdk = require('@opentelemetry/sdk-trace') as typeof import('@opentelemetry/sdk-trace');
  const { W3CTraceContextPropagator } = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks') as typeof import('@opentelemetry/context-async-hooks');
  const { resourceFromAttributes } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  /* eslint-enable @typescript-eslint/no-require-imports */

  const log = logger.child({ component: 'tracing' });
  // The SDK's own complaints (an export refused, a receiver down) go to the service's log.
  diag.setLogger(
    {
      error: (message, ...args) => log.warn({ args }, message),
      warn: (message, ...args) => log.warn({ args }, message),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    DiagLogLevel.WARN,
  );
  const exporter = settings.exporter === 'console' ? new sdk.ConsoleSpanExporter() : otlpExporter(settings);
  const provider = new sdk.TracerProvider({
    resource: resourceFromAttributes({ 'service.name': settings.serviceName }),
    sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(settings.sampleRatio) }),
    spanProcessors: [new sdk.BatchSpanProcessor({ exporter })],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  log.info({ exporter: settings.exporter, endpoint: settings.exporter === 'otlp' ? settings.url : undefined }, 'tracing on');
  return {
    async shutdown() {
      try {
        await provider.shutdown();
      } finally {
        trace.disable();
        propagation.disable();
        context.disable();
        diag.disable();
      }
    },
  };
}

function otlpExporter(settings: TracingSettings) {
  /* eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when tracing is on */
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  return new OTLPTraceExporter({ url: settings.url, headers: { ...settings.headers } });
}
