import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { IngestObserver, IngestPath } from '../ingest/ingest-service';
import type { BridgeObserver, BridgeOutcome } from '../mqtt-bridge/mqtt-bridge';
import type { RejectionCode } from '../domain/validation';
import type { FeedObserver } from '../subscriptions/resumable-feed';

/** The routes of the HTTP server, as a bounded label (never the raw path a client sent). */
export type HttpRoute = 'graphql' | 'ingest' | 'export' | 'import' | 'healthz' | 'readyz' | 'web' | 'other';

/** Where a request was refused for its rate. */
export type RateLimitedTransport = 'http' | 'graphql' | 'websocket' | 'mqtt';

/** Readings per ingest request, and seconds, buckets chosen for the service's scale. */
const BATCH_BUCKETS = [1, 10, 50, 100, 500, 1000, 5000];
const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The API thread's metrics (and the process's default ones: event-loop lag, heap, GC), in one
 * registry. Labels are bounded vocabularies: routes, status and error codes, operation types,
 * subscription root fields, ingest paths; never a device id, a tenant or a key.
 */
export class ApiMetrics implements IngestObserver, FeedObserver, BridgeObserver {
  readonly registry = new Registry();
  private readonly httpDuration: Histogram<'route' | 'code'>;
  private readonly httpRequests: Counter<'route' | 'code'>;
  private readonly graphqlDuration: Histogram<'operation_type' | 'outcome'>;
  private readonly graphqlCompiledAnswers: Counter;
  private readonly rateLimitedTotal: Counter<'transport'>;
  private readonly deliveries: Counter;
  private readonly slowEnded: Counter;
  private readonly resumes: Counter<'feed'>;
  private readonly replayedEvents: Counter<'feed'>;
  private readonly accepted: Counter<'path'>;
  private readonly rejected: Counter<'path' | 'code'>;
  private readonly produceDuration: Histogram;
  private readonly batchSize: Histogram<'path'>;
  private readonly bridgeMessages: Counter<'outcome'>;
  private readonly bridgeConnected: Gauge;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.httpDuration = new Histogram({
      name: 'telemetry_http_request_duration_seconds',
      help: 'HTTP requests, by route and status code, from the request to the end of the answer.',
      labelNames: ['route', 'code'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.httpRequests = new Counter({
      name: 'telemetry_http_requests_total',
      help: 'HTTP requests, by route and status code.',
      labelNames: ['route', 'code'],
      registers,
    });
    this.graphqlDuration = new Histogram({
      name: 'telemetry_graphql_operation_duration_seconds',
      help: 'GraphQL operations over HTTP, by operation type (query, mutation, unknown) and outcome (OK or the first error code).',
      labelNames: ['operation_type', 'outcome'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.graphqlCompiledAnswers = new Counter({
      name: 'telemetry_graphql_compiled_answers_total',
      help: "GraphQL operations over HTTP answered by the compiled path (an ingest mutation compiled earlier, run without Apollo Server's request pipeline); also counted in telemetry_graphql_operation_duration_seconds.",
      registers,
    });
    this.rateLimitedTotal = new Counter({
      name: 'telemetry_rate_limited_total',
      help: 'Requests and subscriptions refused for their rate, by transport.',
      labelNames: ['transport'],
      registers,
    });
    this.deliveries = new Counter({ name: 'telemetry_subscription_deliveries_total', help: 'Subscription results sent to WebSocket clients.', registers });
    this.slowEnded = new Counter({
      name: 'telemetry_subscribers_ended_slow_total',
      help: 'Subscriptions ended because their client did not keep up (SLOW_SUBSCRIBER).',
      registers,
    });
    this.resumes = new Counter({
      name: 'telemetry_subscription_resumes_total',
      help: 'Subscriptions opened with a cursor (they replay what they missed), by feed (readings, anomalies).',
      labelNames: ['feed'],
      registers,
    });
    this.replayedEvents = new Counter({
      name: 'telemetry_subscription_replayed_events_total',
      help: 'Events read back from the database for subscribers (resumes, and live feeds reading back what overflowed), by feed.',
      labelNames: ['feed'],
      registers,
    });
    this.accepted = new Counter({
      name: 'telemetry_ingest_readings_accepted_total',
      help: 'Readings durably appended to the stream, by ingest path.',
      labelNames: ['path'],
      registers,
    });
    this.rejected = new Counter({
      name: 'telemetry_ingest_readings_rejected_total',
      help: 'Readings refused, by ingest path and rejection code.',
      labelNames: ['path', 'code'],
      registers,
    });
    this.produceDuration = new Histogram({
      name: 'telemetry_stream_produce_duration_seconds',
      help: 'Time for the stream to durably accept one ingest call.',
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.batchSize = new Histogram({
      name: 'telemetry_ingest_batch_size',
      help: 'Readings per ingest call, by path.',
      labelNames: ['path'],
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.bridgeMessages = new Counter({
      name: 'telemetry_mqtt_bridge_messages_total',
      help: 'Messages the MQTT bridge took from the broker, by outcome (stored, partly_rejected, rejected, unknown_device, bad_payload, unmatched_topic).',
      labelNames: ['outcome'],
      registers,
    });
    this.bridgeConnected = new Gauge({
      name: 'telemetry_mqtt_bridge_connected',
      help: '1 while the MQTT bridge is connected to its broker, 0 while it is reconnecting.',
      registers,
    });
  }

  /**
   * Gauges read from the WebSocket server at scrape time: open connections, and subscriptions
   * by kind (their root field).
   */
  watchWebSockets(connections: () => number, subscriptions: () => ReadonlyMap<string, number>): void {
    new Gauge({
      name: 'telemetry_websocket_connections',
      help: 'Open, authenticated WebSocket connections.',
      registers: [this.registry],
      collect() {
        this.set(connections());
      },
    });
    new Gauge({
      name: 'telemetry_websocket_subscriptions',
      help: 'Active WebSocket operations, by kind (the subscription root field).',
      labelNames: ['kind'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [kind, count] of subscriptions()) this.set({ kind }, count);
      },
    });
  }

  httpRequest(route: HttpRoute, status: number, seconds: number): void {
    const labels = { route, code: String(status) };
    this.httpDuration.observe(labels, seconds);
    this.httpRequests.inc(labels);
  }

  graphqlOperation(operationType: string, outcome: string, seconds: number): void {
    this.graphqlDuration.observe({ operation_type: operationType, outcome }, seconds);
  }

  /** An operation the compiled path answered (compiled-http-path.ts), without Apollo's pipeline. */
  graphqlCompiledAnswer(): void {
    this.graphqlCompiledAnswers.inc();
  }

  rateLimited(transport: RateLimitedTransport): void {
    this.rateLimitedTotal.inc({ transport });
  }

  delivered(): void {
    this.deliveries.inc();
  }

  slowSubscriberEnded(): void {
    this.slowEnded.inc();
  }

  resumed(feed: string): void {
    this.resumes.inc({ feed });
  }

  replayed(feed: string, events: number): void {
    this.replayedEvents.inc({ feed }, events);
  }

  ingested(path: IngestPath, batchSize: number, accepted: number, rejectedCodes: readonly (RejectionCode | 'UNAVAILABLE')[]): void {
    this.batchSize.observe({ path }, batchSize);
    if (accepted > 0) this.accepted.inc({ path }, accepted);
    for (const code of rejectedCodes) this.rejected.inc({ path, code });
  }

  message(outcome: BridgeOutcome): void {
    this.bridgeMessages.inc({ outcome });
  }

  connection(up: boolean): void {
    this.bridgeConnected.set(up ? 1 : 0);
  }

  produced(seconds: number): void {
    this.produceDuration.observe(seconds);
  }
}
