import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config';
import { npmStartNodeOptions } from '../support/npm-start';

/**
 * The deployment files cannot be applied here (no Docker engine, no cluster), so their
 * promises are checked statically: every variable they set is one the service reads, every
 * container runs a real role unprivileged with probes and resources, and the image is built
 * in stages and runs as a non-root user with a health check.
 */
const root = path.join(__dirname, '..', '..', '..');
const KNOWN = new Set([...CONFIG_VARIABLES, 'NODE_ENV']);

function manifests(): { file: string; doc: any }[] {
  const dir = path.join(root, 'deploy', 'kubernetes');
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile() && entry.name.endsWith('.yaml'));
  return files.flatMap((entry) => {
    const file = path.join(entry.parentPath, entry.name);
    return parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => {
      expect(doc.errors).toEqual([]);
      return { file: path.relative(root, file), doc: doc.toJS() };
    });
  });
}

describe('deployment files', () => {
  it('set only variables the service reads', () => {
    const used: string[] = [];
    for (const { doc } of manifests()) {
      if (doc?.kind === 'ConfigMap') used.push(...Object.keys(doc.data));
      for (const container of doc?.spec?.template?.spec?.containers ?? []) used.push(...(container.env ?? []).map((e: { name: string }) => e.name));
    }
    const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    used.push(...[...dockerfile.matchAll(/^\s+([A-Z_]+)=/gm)].map((m) => m[1]!), ...[...dockerfile.matchAll(/^ENV ([A-Z_]+)=/gm)].map((m) => m[1]!));
    expect(used.length).toBeGreaterThan(5);
    expect(used.filter((name) => !KNOWN.has(name))).toEqual([]);
  });

  it('run every container in a real role, unprivileged, with readiness on /readyz, liveness on /healthz, and resource requests and limits', () => {
    const containers = manifests().flatMap(({ file, doc }) =>
      (doc?.spec?.template?.spec?.containers ?? []).map((c: any) => ({ file, pod: doc.spec.template.spec, c })),
    );
    expect(containers.length).toBeGreaterThanOrEqual(3);
    for (const { file, pod, c } of containers) {
      const where = `${file}: ${c.name}`;
      const args = c.args as string[] | undefined;
      expect({ where, role: args?.[args.indexOf('--role') + 1] }).toEqual({ where, role: expect.stringMatching(/^(all|api|consumer)$/) });
      expect({ where, path: c.readinessProbe?.httpGet?.path, live: c.livenessProbe?.httpGet?.path }).toEqual({ where, path: '/readyz', live: '/healthz' });
      expect({ where, requests: Boolean(c.resources?.requests?.cpu && c.resources?.requests?.memory), limits: Boolean(c.resources?.limits?.memory) }).toEqual({
        where,
        requests: true,
        limits: true,
      });
      expect({ where, nonRoot: pod.securityContext?.runAsNonRoot, escalation: c.securityContext?.allowPrivilegeEscalation }).toEqual({
        where,
        nonRoot: true,
        escalation: false,
      });
      // Secrets come from Secret objects, never inline values.
      for (const variable of c.env ?? [])
        if (/KEY|SECRET|PASSWORD/.test(variable.name))
          expect({ where, name: variable.name, fromSecret: Boolean(variable.valueFrom?.secretKeyRef) }).toEqual({
            where,
            name: variable.name,
            fromSecret: true,
          });
    }
  });

  it('let Prometheus scrape every pod: annotations naming the metrics port that TELEMETRY_METRICS_PORT sets and the container declares', () => {
    const pods = manifests().filter(({ doc }) => doc?.spec?.template?.spec?.containers);
    const configMaps = manifests().filter(({ doc }) => doc?.kind === 'ConfigMap');
    expect(pods.length).toBeGreaterThanOrEqual(3);
    for (const { file, doc } of pods) {
      const annotations = doc.spec.template.metadata?.annotations ?? {};
      const port = annotations['prometheus.io/port'];
      expect({ file, scrape: annotations['prometheus.io/scrape'], path: annotations['prometheus.io/path'] }).toEqual({
        file,
        scrape: 'true',
        path: '/metrics',
      });
      for (const container of doc.spec.template.spec.containers) {
        const fromEnv = (container.env ?? []).find((e: { name: string }) => e.name === 'TELEMETRY_METRICS_PORT')?.value;
        const fromConfigMap = (container.envFrom ?? [])
          .map((source: { configMapRef?: { name: string } }) => configMaps.find(({ doc: map }) => map.metadata.name === source.configMapRef?.name))
          .find(Boolean)?.doc.data.TELEMETRY_METRICS_PORT;
        const declared = (container.ports ?? []).map((p: { containerPort: number }) => String(p.containerPort));
        expect({ file, set: fromEnv ?? fromConfigMap, declared: declared.includes(port) }).toEqual({ file, set: port, declared: true });
      }
    }
  });

  it('set values the service accepts (with the secrets filled in): a timeout that contradicts another stops start-up', () => {
    const secrets = { TELEMETRY_ADMIN_KEY: 'k'.repeat(40), TELEMETRY_ORACLE_USER: 'telemetry', TELEMETRY_ORACLE_PASSWORD: 'secret' };
    const configMaps = manifests().filter(({ doc }) => doc?.kind === 'ConfigMap');
    expect(configMaps.length).toBeGreaterThan(0);
    for (const { doc } of configMaps) expect(() => loadConfig({ ...doc.data, ...secrets })).not.toThrow();
  });

  it('runs the split pods under a service account the manifests define (the identity OKE workload identity policies name)', () => {
    const docs = manifests().filter(({ file }) => file.includes('split'));
    const accounts = docs.filter(({ doc }) => doc?.kind === 'ServiceAccount').map(({ doc }) => doc.metadata.name);
    const pods = docs.filter(({ doc }) => doc?.kind === 'Deployment').map(({ doc }) => doc.spec.template.spec.serviceAccountName);
    expect(pods).toHaveLength(2);
    for (const name of pods) expect(accounts).toContain(name);
  });

  it('builds the image in stages and runs it as a non-root user with a health check', () => {
    const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*\/healthz/m);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
  });

  it("starts the image's node with the options npm start gives it", () => {
    const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    const entry = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    expect(entry).toEqual(['node', ...npmStartNodeOptions(), 'dist/src/main.js']);
    expect(npmStartNodeOptions()).toContain('--enable-source-maps');
    // docs/PERFORMANCE.md: 123-171 MiB less peak RSS under the peer bench.
    expect(npmStartNodeOptions()).toContain('--heap-growing-percent=100');
  });

  it("starts the consumer function's node with the options npm start gives the service", () => {
    const dockerfile = readFileSync(path.join(root, 'deploy', 'oci', 'function', 'Dockerfile'), 'utf8');
    const entry = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    expect(entry).toEqual(['node', ...npmStartNodeOptions(), 'dist/src/functions/consumer-function.js']);
  });

  describe('the consumer function (deploy/oci/function)', () => {
    const dir = path.join(root, 'deploy', 'oci', 'function');
    const func = parseAllDocuments(readFileSync(path.join(dir, 'func.yaml'), 'utf8'))[0]!.toJS() as {
      runtime: string;
      memory: number;
      timeout: number;
      config: Record<string, string>;
    };

    it("declares a docker-runtime function whose config sets only variables the service reads, with the stream's resource principal", () => {
      expect(func.runtime).toBe('docker');
      expect(Object.keys(func.config).filter((name) => !KNOWN.has(name))).toEqual([]);
      expect(func.config).toMatchObject({ TELEMETRY_STREAM: 'oci', TELEMETRY_OCI_AUTH: 'resource-principal' });
      // OCI Functions: 128 MB to 3 GB of memory, and at most 300 s per invocation.
      expect(func.memory).toBeGreaterThanOrEqual(128);
      expect(func.timeout).toBeLessThanOrEqual(300);
    });

    it('builds its image in stages, without dev dependencies, running the entry point the tests run as a non-root user', () => {
      const dockerfile = readFileSync(path.join(dir, 'Dockerfile'), 'utf8');
      expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
      expect(dockerfile).toMatch(/^USER node$/m);
      expect(dockerfile).toMatch(/npm prune --omit=dev/);
      const entry = /^ENTRYPOINT \[.*"(dist\/src\/[^"]+\.js)"\]$/m.exec(dockerfile)?.[1];
      expect(entry).toBe('dist/src/functions/consumer-function.js');
    });
  });
});
