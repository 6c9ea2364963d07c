import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { watchDataFiles } from '../../src/composition/data-file-metrics';
import { loadConfig } from '../../src/config';
import { ApiMetrics } from '../../src/metrics/api-metrics';
import { ConsumerMetrics } from '../../src/metrics/consumer-metrics';
import { declaredNames } from '../support/metrics';

/**
 * The Grafana dashboard and the Prometheus alert rules in deploy/ parse, and every metric they
 * query is one the service registers: a renamed metric would otherwise leave a panel empty and
 * an alert silent, with nothing to say so.
 */
const root = path.join(__dirname, '..', '..', '..');
const METRIC_NAME = /\b((?:telemetry|nodejs|process)_[a-z0-9_]+)\b/g;

interface Dashboard {
  readonly title: string;
  readonly panels: { readonly title: string; readonly targets: { readonly expr: string }[] }[];
}
interface RuleFile {
  readonly groups: { readonly name: string; readonly rules: { readonly alert: string; readonly expr: string; readonly labels?: Record<string, string> }[] }[];
}

async function registeredNames(): Promise<Set<string>> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'telemetry-metrics-'));
  try {
    const api = new ApiMetrics();
    api.watchWebSockets(
      () => 0,
      () => new Map(),
    );
    watchDataFiles(api.registry, loadConfig({ TELEMETRY_DATA_DIR: dataDir }));
    const consumer = new ConsumerMetrics(
      () => ({ appliedReadings: 0, deadLetters: 0, duplicates: 0, retries: 0 }),
      async () => [],
    );
    return declaredNames(`${await api.registry.metrics()}\n${await consumer.registry.metrics()}`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const namesIn = (expressions: readonly string[]) => new Set(expressions.flatMap((expr) => [...expr.matchAll(METRIC_NAME)].map((match) => match[1]!)));

describe('the dashboard and alert rules in deploy/', () => {
  const dashboard = JSON.parse(readFileSync(path.join(root, 'deploy', 'grafana', 'telemetry-dashboard.json'), 'utf8')) as Dashboard;
  const rules = parse(readFileSync(path.join(root, 'deploy', 'prometheus', 'telemetry-alerts.yaml'), 'utf8')) as RuleFile;
  const dashboardExpressions = dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr));
  const ruleExpressions = rules.groups.flatMap((group) => group.rules.map((rule) => rule.expr));

  it('query only metrics the service registers', async () => {
    const registered = await registeredNames();
    const used = namesIn([...dashboardExpressions, ...ruleExpressions]);
    expect(used.size).toBeGreaterThan(15);
    expect([...used].filter((name) => !registered.has(name))).toEqual([]);
  });

  it('chart ingest rate, lag, apply time, deliveries, errors and event-loop lag', () => {
    const charted = namesIn(dashboardExpressions);
    for (const name of [
      'telemetry_ingest_readings_accepted_total',
      'telemetry_consumer_lag_messages',
      'telemetry_consumer_lag_seconds',
      'telemetry_consumer_batch_apply_duration_seconds_bucket',
      'telemetry_subscription_deliveries_total',
      'telemetry_http_requests_total',
      'nodejs_eventloop_lag_p99_seconds',
    ])
      expect({ name, charted: charted.has(name) }).toEqual({ name, charted: true });
  });

  it('alert on lag and dead letters, each rule named and with a severity', () => {
    const alerted = namesIn(ruleExpressions);
    expect(alerted.has('telemetry_consumer_lag_seconds')).toBe(true);
    expect(alerted.has('telemetry_consumer_dead_letters_total')).toBe(true);
    for (const rule of rules.groups.flatMap((group) => group.rules))
      expect({ alert: rule.alert, severity: rule.labels?.['severity'] }).toEqual({
        alert: expect.stringMatching(/^Telemetry/),
        severity: expect.stringMatching(/^(warning|critical)$/),
      });
  });
});
