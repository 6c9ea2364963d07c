import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Link, type Span, type SpanOptions } from '@opentelemetry/api';
import type { TraceCarrier } from '../domain/cloud-event';

/**
 * The service's spans, through the OpenTelemetry API only. Until composition/tracing-sdk.ts
 * registers an SDK (OTEL_TRACES_EXPORTER=otlp), every call here lands on the API's no-op
 * implementation: no span is recorded, no context is injected, and messages carry no trace
 * fields. The services import this module, never an SDK package.
 */

export { SpanKind };

/** The parent of a span that starts a trace of its own (whatever context is active). */
export const NEW_TRACE: Context = ROOT_CONTEXT;
export type { Context, Span };

/** The instrumentation scope of every span the service makes. */
const TRACER_NAME = 'iot-telemetry-api';

const tracer = () => trace.getTracer(TRACER_NAME);

/** The header or message fields of a trace context (W3C `traceparent`/`tracestate`). */
export type TraceHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** The context a request's `traceparent` header names (the root context when it has none or tracing is off). */
export function contextFromHeaders(headers: TraceHeaders | undefined): Context {
  if (!headers) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, headers, {
    keys: (carrier) => Object.keys(carrier),
    get: (carrier, key) => carrier[key],
  });
}

/** The trace context to write into a message: that of `ctx`, or undefined when nothing is traced. */
export function carrierOf(ctx: Context = context.active()): TraceCarrier | undefined {
  const fields: { traceparent?: string; tracestate?: string } = {};
  propagation.inject(ctx, fields);
  if (fields.traceparent === undefined) return undefined;
  return fields.tracestate === undefined ? { traceparent: fields.traceparent } : { traceparent: fields.traceparent, tracestate: fields.tracestate };
}

/** The context a message's trace fields name. */
export function contextOf(carrier: TraceCarrier | undefined): Context {
  return carrier ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
}

/**
 * Links to the contexts messages carry, one per distinct trace context, at most `max`: a
 * batch of thousands of readings from a few requests links to those few requests.
 */
export function linksTo(carriers: Iterable<TraceCarrier | undefined>, max = 128): Link[] {
  const links: Link[] = [];
  const seen = new Set<string>();
  for (const carrier of carriers) {
    if (!carrier || seen.has(carrier.traceparent)) continue;
    seen.add(carrier.traceparent);
    const spanContext = trace.getSpanContext(contextOf(carrier));
    if (spanContext && trace.isSpanContextValid(spanContext)) links.push({ context: spanContext });
    if (links.length >= max) break;
  }
  return links;
}

/**
 * Runs `work` in a new active span, child of `parent` (the active context by default), and
 * ends it when `work` settles; a throw marks the span as an error.
 */
export function inSpan<T>(name: string, options: SpanOptions, work: (span: Span) => Promise<T>, parent: Context = context.active()): Promise<T> {
  return tracer().startActiveSpan(name, options, parent, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      recordFailure(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The synchronous inSpan. */
export function inSpanSync<T>(name: string, options: SpanOptions, work: (span: Span) => T, parent: Context = context.active()): T {
  return tracer().startActiveSpan(name, options, parent, (span) => {
    try {
      return work(span);
    } catch (error) {
      recordFailure(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

function recordFailure(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** Runs `work` with `ctx` as the active context (a callback queued earlier resumes its caller's trace). */
export function withContext<T>(ctx: Context, work: () => T): T {
  return context.with(ctx, work);
}

/** The active context, to hand to work that runs later. */
export function activeContext(): Context {
  return context.active();
}

/** A span started now and ended by the caller, with the trace context to write into the messages it sends. */
export interface SendSpan {
  /** The span's context as message fields; undefined when tracing is off. */
  readonly carrier: TraceCarrier | undefined;
  /** Ends the span (an error marks it failed). */
  end(error?: unknown): void;
}

/**
 * A PRODUCER span for messages sent to `topic`, child of the active context: the messages
 * carry its context, so the consumer's span links to the send that wrote them.
 */
export function startSend(topic: string, messages: number): SendSpan {
  const span = tracer().startSpan(`send ${topic}`, {
    kind: SpanKind.PRODUCER,
    attributes: { 'messaging.operation.type': 'send', 'messaging.destination.name': topic, 'messaging.batch.message_count': messages },
  });
  return {
    carrier: span.isRecording() ? carrierOf(trace.setSpan(context.active(), span)) : undefined,
    end(error?: unknown) {
      if (error !== undefined) recordFailure(span, error);
      span.end();
    },
  };
}
