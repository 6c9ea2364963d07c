import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_VARIABLES, ConfigError, documentedVariables, loadConfig, unknownSettings } from '../../src/config';
import { configTableOf, README_FILE, renderConfigTable } from '../../src/tools/config-table';

const root = path.join(__dirname, '..', '..', '..');

describe('configuration', () => {
  it('runs on embedded defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 4000, host: '127.0.0.1', dataDir: path.resolve('./data'), adminKey: undefined, partitions: 4 });
    expect(config.limits.maxBatchSize).toBe(1000);
    expect(config.stream.synchronous).toBe('full');
  });

  it('reads every documented variable', () => {
    const config = loadConfig({
      PORT: '8080',
      TELEMETRY_DATA_DIR: '/var/lib/telemetry',
      TELEMETRY_ADMIN_KEY: 'k'.repeat(40),
      TELEMETRY_PARTITIONS: '8',
      TELEMETRY_MAX_BATCH_SIZE: '200',
      TELEMETRY_MAX_FUTURE_SKEW_SECONDS: '60',
      TELEMETRY_MAX_READING_AGE_DAYS: '7',
    });
    expect(config).toMatchObject({ port: 8080, dataDir: '/var/lib/telemetry', adminKey: 'k'.repeat(40), partitions: 8 });
    expect(config.limits.maxBatchSize).toBe(200);
    expect(config.validation).toMatchObject({ maxFutureSkewMs: 60_000, maxAgeMs: 7 * 86_400_000 });
  });

  it("reads the OCI Streaming settings, and refuses a tail rate outside OCI's budget", () => {
    const oci = {
      TELEMETRY_STREAM: 'oci',
      TELEMETRY_OCI_MESSAGES_ENDPOINT: 'https://cell-1.streaming.eu-frankfurt-1.oci.oraclecloud.com',
      TELEMETRY_OCI_READINGS_STREAM_OCID: 'ocid1.stream.oc1.eu-frankfurt-1.a',
      TELEMETRY_OCI_EVENTS_STREAM_OCID: 'ocid1.stream.oc1.eu-frankfurt-1.b',
      TELEMETRY_OCI_AUTH: 'oke-workload-identity',
    };
    expect(loadConfig(oci).stream.oci).toMatchObject({
      auth: 'oke-workload-identity',
      tailReadsPerSecond: 2,
      produceTimeoutMs: 10_000,
      readingsStreamId: 'ocid1.stream.oc1.eu-frankfurt-1.a',
    });
    expect(loadConfig({ ...oci, TELEMETRY_OCI_PRODUCE_TIMEOUT_MS: '2500' }).stream.oci?.produceTimeoutMs).toBe(2500);
    expect(loadConfig({ ...oci, TELEMETRY_OCI_TAIL_READS_PER_SECOND: '0.5' }).stream.oci?.tailReadsPerSecond).toBe(0.5);
    expect(() => loadConfig({ ...oci, TELEMETRY_OCI_TAIL_READS_PER_SECOND: '6' })).toThrow(
      /TELEMETRY_OCI_TAIL_READS_PER_SECOND="6": must be a number from 0.1 to 5/,
    );
    expect(() => loadConfig({ ...oci, TELEMETRY_OCI_AUTH: 'password' })).toThrow(
      /TELEMETRY_OCI_AUTH="password": must be config-file, instance-principal, resource-principal or oke-workload-identity/,
    );
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', TELEMETRY_ADMIN_KEY: ' ' }).port).toBe(4000);
  });

  it('names every invalid variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', TELEMETRY_PARTITIONS: '0', TELEMETRY_ADMIN_KEY: 'short', TELEMETRY_STREAM_SYNC: 'sometimes' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/^PORT="eighty": must be an integer from 0 to 65535$/m);
    expect(problems).toMatch(/^TELEMETRY_PARTITIONS="0": must be an integer from 1 to 256$/m);
    expect(problems).toMatch(/^TELEMETRY_ADMIN_KEY="short": must be 32-256 characters/m);
    expect(problems).toMatch(/^TELEMETRY_STREAM_SYNC="sometimes": must be "full" or "normal"$/m);
  });

  it('enables OIDC sign-in only with issuer, JWKS URL and audience together', () => {
    expect(loadConfig({}).oidc).toBeUndefined();
    const oidc = { TELEMETRY_OIDC_ISSUER: 'https://id.example.test/', TELEMETRY_OIDC_JWKS_URL: 'https://id.example.test/jwks', TELEMETRY_OIDC_AUDIENCE: 'api' };
    expect(loadConfig(oidc).oidc).toEqual({
      issuer: 'https://id.example.test/',
      jwksUrl: 'https://id.example.test/jwks',
      audience: 'api',
      tenantClaim: 'tenant',
      roleClaim: 'role',
    });
    expect(() => loadConfig({ TELEMETRY_OIDC_ISSUER: 'https://id.example.test/' })).toThrow(/set all three/);
    expect(() => loadConfig({ ...oidc, TELEMETRY_OIDC_JWKS_URL: 'not a url' })).toThrow(/TELEMETRY_OIDC_JWKS_URL="not a url": must be a URL/);
  });

  it('keeps idle HTTP connections longer than load balancers do, and refuses timeouts that would close them early', () => {
    expect(loadConfig({}).http).toEqual({ keepAliveTimeoutMs: 65_000, headersTimeoutMs: 66_000, requestTimeoutMs: 300_000, drainTimeoutMs: 15_000 });
    expect(
      loadConfig({
        TELEMETRY_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: '350',
        TELEMETRY_HTTP_HEADERS_TIMEOUT_SECONDS: '360',
        TELEMETRY_HTTP_REQUEST_TIMEOUT_SECONDS: '600',
      }).http,
    ).toMatchObject({
      keepAliveTimeoutMs: 350_000,
      headersTimeoutMs: 360_000,
      requestTimeoutMs: 600_000,
    });
    // Node applies the headers timeout to a connection opened ahead of its first request too.
    expect(() => loadConfig({ TELEMETRY_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: '70' })).toThrow(
      /TELEMETRY_HTTP_HEADERS_TIMEOUT_SECONDS=66: must exceed TELEMETRY_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS \(70\)/,
    );
    expect(() => loadConfig({ TELEMETRY_HTTP_REQUEST_TIMEOUT_SECONDS: '60' })).toThrow(
      /TELEMETRY_HTTP_REQUEST_TIMEOUT_SECONDS=60: must be at least TELEMETRY_HTTP_HEADERS_TIMEOUT_SECONDS \(66\)/,
    );
  });
});

describe('variables named like a setting that none is', () => {
  it('are named, with the setting a typo most likely meant; the tools’ own variables and others are not', () => {
    expect(
      unknownSettings({
        TELEMETRY_RETENTION_EVENT_IDS_DAYS: '1',
        TELEMETRY_SOMETHING_ELSE_ENTIRELY: 'x',
        TELEMETRY_URL: 'http://127.0.0.1:4000',
        TELEMETRY_KEY: 'tk_x',
        TELEMETRY_PORT_TYPO: '1',
        TELEMETRY_MQTT_PORT: '1883',
        PORT: '4000',
      }),
    ).toEqual([
      'TELEMETRY_PORT_TYPO is not a setting of this service and is ignored',
      'TELEMETRY_RETENTION_EVENT_IDS_DAYS is not a setting of this service and is ignored (did you mean TELEMETRY_RETENTION_EVENT_ID_DAYS?)',
      'TELEMETRY_SOMETHING_ELSE_ENTIRELY is not a setting of this service and is ignored',
    ]);
    expect(unknownSettings({ TELEMETRY_MQTT_PORT: '1883', HOME: '/root' })).toEqual([]);
  });
});

describe('configuration documentation', () => {
  it("matches the README's configuration table (run `npm run docs:config` after changing a setting in src/config.ts)", () => {
    const readme = readFileSync(path.join(root, README_FILE), 'utf8');
    expect(configTableOf(readme)).toBe(renderConfigTable());
  });

  it('gives every variable a meaning, and documents variables set together in one row', () => {
    const variables = documentedVariables();
    expect(variables.map((variable) => variable.name)).toEqual(CONFIG_VARIABLES);
    for (const { name, doc } of variables) expect({ name, doc: doc.doc.trim().length > 0 && !doc.doc.includes('\n') }).toEqual({ name, doc: true });
    // A row's variables are consecutive: one documentation never shows up in two places.
    const rowStarts = variables.filter((variable, i) => i === 0 || variables[i - 1]!.doc !== variable.doc).map((variable) => variable.doc);
    expect(new Set(rowStarts).size).toBe(rowStarts.length);
    expect(
      renderConfigTable()
        .split('\n')
        .filter((line) => line.startsWith('| `')),
    ).toHaveLength(rowStarts.length);
  });

  it('shows each default as the schema applies it, or what leaving the variable unset means', () => {
    const table = renderConfigTable();
    expect(table).toContain('| `PORT` | `4000` | HTTP and WebSocket port');
    expect(table).toContain('| `TELEMETRY_MAX_BODY_BYTES` | `4194304` |');
    expect(table).toContain('| `TELEMETRY_ADMIN_KEY` | generated on first start |');
    expect(table).toContain('| `TELEMETRY_OIDC_ISSUER`, `TELEMETRY_OIDC_JWKS_URL`, `TELEMETRY_OIDC_AUDIENCE` | unset |');
    expect(table).toContain('| `TELEMETRY_OCI_CONFIG_FILE`, `TELEMETRY_OCI_PROFILE` | `~/.oci/config`, `DEFAULT` |');
    expect(table).toContain('| `TELEMETRY_ORACLE_USER`, `TELEMETRY_ORACLE_PASSWORD` | | The schema user');
    expect(loadConfig({}).limits.maxBodyBytes).toBe(4194304);
  });
});
