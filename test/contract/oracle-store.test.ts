import { loadConfig } from '../../src/config';
import { OracleStore } from '../../src/store/oracle/oracle-store';
import { describeDetectionContract } from './detection-contract';
import { describeRollupContract } from './rollup-contract';
import { describeStoreContract, type StoreHarness } from './store-contract';

/**
 * The Store, rollup and detection contracts against a real Oracle database (an Always Free
 * Autonomous Database will do): `npm run test:oracle` with the TELEMETRY_ORACLE_* settings in
 * the environment. The schema user should be dedicated to the tests: every harness empties
 * every table first. Without the settings, one skipped line says so.
 */
const configured = ['TELEMETRY_ORACLE_USER', 'TELEMETRY_ORACLE_PASSWORD', 'TELEMETRY_ORACLE_CONNECT_STRING'].every((name) => process.env[name]);

/** Child tables first (foreign keys). */
const TABLES = [
  'commands',
  'webhook_deliveries',
  'webhooks',
  'anomalies',
  'detector_state',
  'anomaly_rules',
  'rollups',
  'dead_letters',
  'stream_watermarks',
  'fanout_progress',
  'latest_readings',
  'reading_events',
  'readings',
  'api_keys',
  'devices',
  'tenants',
];

async function oracleHarness(): Promise<StoreHarness> {
  const config = loadConfig({ ...process.env, TELEMETRY_STORE: 'oracle' });
  const store = await OracleStore.connect(config.oracle!);
  await store.resetForTests(TABLES);
  return { store, close: () => store.close() };
}

if (configured) {
  describeStoreContract('Oracle (live)', oracleHarness);
  describeRollupContract('Oracle (live)', oracleHarness);
  describeDetectionContract('Oracle (live)', oracleHarness);
} else {
  describe('Store contract: Oracle (live)', () => {
    it.skip('skipped: set TELEMETRY_ORACLE_USER, TELEMETRY_ORACLE_PASSWORD and TELEMETRY_ORACLE_CONNECT_STRING (and TELEMETRY_ORACLE_WALLET_DIR for mTLS) and run npm run test:oracle', () => {});
  });
}
