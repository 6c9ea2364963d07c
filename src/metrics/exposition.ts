import { AggregatorRegistry, type Registry } from 'prom-client';
import type { MetricsJson } from './consumer-metrics';

/** The Prometheus text exposition format's content type. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * One scrape of a process: its own registry, and the registries of other threads as they
 * sent them (the consumer worker's). Their metric names differ, so merging them is a union.
 */
export async function exposition(registry: Registry, others: readonly MetricsJson[]): Promise<string> {
  if (others.every((metrics) => metrics.length === 0)) return registry.metrics();
  return AggregatorRegistry.aggregate([await registry.getMetricsAsJSON(), ...others]).metrics();
}
