import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The import rules of DESIGN §4, checked on the TypeScript sources (type-only imports count:
 * a type cycle is still a cycle for a reader). Dependencies point inward: transports and
 * resolvers call services; services use the domain and the ports; only the composition root
 * picks implementations; a backend never imports GraphQL. docs/ARCHITECTURE.md lists the rooms
 * and these rules.
 */
const ROOT = path.join(__dirname, '..', '..', '..');
const SRC = path.join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [full] : [];
  });
}

const rel = (file: string) => path.relative(SRC, file).split(path.sep).join('/');

interface Import {
  readonly from: string;
  /** A module path under src/ ('store/sqlite/sqlite-store.ts'), or a package name ('graphql'). */
  readonly to: string;
  readonly internal: boolean;
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s+['"]([^'"]+)['"]|(?:^|\n)\s*import\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|\brequire\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const found: Import[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const spec = match[1] ?? match[2] ?? match[3] ?? match[4]!;
    if (spec.startsWith('.')) {
      const base = path.resolve(path.dirname(file), spec);
      const target = [`${base}.ts`, path.join(base, 'index.ts'), base].find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
      if (target) found.push({ from: rel(file), to: rel(target), internal: true });
    } else {
      const parts = spec.split('/');
      found.push({ from: rel(file), to: spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!, internal: false });
    }
  }
  return found;
}

const files = sourceFiles(SRC);
const imports = files.flatMap(importsOf);
const under = (folder: string) => (module: string) => module === folder || module.startsWith(`${folder}/`);

/** Packages the pure domain may use: computation only, no I/O. */
const PURE_PACKAGES = new Set(['luxon', 'ipaddr.js', 'node:net', 'node:crypto']);
const GRAPHQL_PACKAGES = new Set(['graphql', 'type-graphql', '@apollo/server', 'graphql-ws', 'dataloader']);
const CONCRETE_BACKENDS = ['store/sqlite', 'store/oracle', 'stream/embedded', 'stream/oci', 'notifications/oci'].map(under);
const isConcreteBackend = (module: string) => CONCRETE_BACKENDS.some((inside) => inside(module));
const isBackend = (module: string) => under('store')(module) || under('stream')(module);
/** Rooms that use the domain and the ports, and that transports and resolvers call. */
const CORE_ROOMS = [
  'ingest',
  'commands',
  'consumers',
  'subscriptions',
  'queries',
  'webhooks',
  'devices',
  'keys',
  'tenants',
  'dead-letters',
  'anomalies',
  'retention',
  'jobs',
];
const CORE = CORE_ROOMS.map(under);
/** The composition root: the one place that picks implementations. */
const isCompositionRoot = (module: string) => under('composition')(module) || module === 'app.ts';

const violations = (rule: (i: Import) => boolean) =>
  imports
    .filter(rule)
    .map((i) => `${i.from} -> ${i.to}`)
    .sort();

describe('import rules (DESIGN §4)', () => {
  it('finds the sources it checks', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(imports.filter((i) => i.internal).length).toBeGreaterThan(300);
  });

  it('src/domain imports nothing outside itself but pure libraries', () => {
    expect(violations((i) => under('domain')(i.from) && (i.internal ? !under('domain')(i.to) : !PURE_PACKAGES.has(i.to)))).toEqual([]);
  });

  it('backends never import GraphQL, server, schema, resolver, core or service code', () => {
    // The core calls the ports; a backend implements them and is handed to the core by the
    // composition root, never the other way round (the batch pipeline runs over store.transact).
    const forbidden = ['server', 'schema', 'resolvers', 'composition', ...CORE_ROOMS].map(under);
    expect(
      violations((i) => isBackend(i.from) && (i.internal ? forbidden.some((inside) => inside(i.to)) || i.to === 'app.ts' : GRAPHQL_PACKAGES.has(i.to))),
    ).toEqual([]);
  });

  it('the core and the services never import transports, GraphQL or the composition root', () => {
    const OUTER = ['server', 'resolvers', 'schema', 'composition'].map(under);
    const isCore = (module: string) => CORE.some((inside) => inside(module));
    expect(violations((i) => isCore(i.from) && (i.internal ? OUTER.some((inside) => inside(i.to)) || i.to === 'app.ts' : GRAPHQL_PACKAGES.has(i.to)))).toEqual(
      [],
    );
  });

  it('the writer and the reader of the events topic stay apart: consumers/ and subscriptions/ never import each other', () => {
    const apart = (a: string, b: string) => (i: Import) => i.internal && under(a)(i.from) && under(b)(i.to);
    expect(violations((i) => apart('consumers', 'subscriptions')(i) || apart('subscriptions', 'consumers')(i))).toEqual([]);
  });

  it('the consumer shares services with the ingest path, never imports it: consumers/ never imports ingest/', () => {
    expect(violations((i) => i.internal && under('consumers')(i.from) && under('ingest')(i.to))).toEqual([]);
  });

  it('a resolver never imports another resolver (what two share is a service or a helper module)', () => {
    const isResolver = (module: string) => under('resolvers')(module) && module.endsWith('-resolver.ts');
    expect(violations((i) => i.internal && isResolver(i.from) && isResolver(i.to))).toEqual([]);
  });

  it('only the composition root picks a concrete backend', () => {
    const sameBackend = (i: Import) => CONCRETE_BACKENDS.some((inside) => inside(i.from) && inside(i.to));
    expect(violations((i) => i.internal && isConcreteBackend(i.to) && !isCompositionRoot(i.from) && !sameBackend(i) && !isConcreteBackend(i.from))).toEqual([]);
  });

  it('only the composition root loads an OpenTelemetry SDK (the rest uses the API, a no-op while tracing is off)', () => {
    const isSdk = (i: Import) => !i.internal && i.to.startsWith('@opentelemetry/') && i.to !== '@opentelemetry/api';
    expect(violations((i) => isSdk(i) && !isCompositionRoot(i.from))).toEqual([]);
    expect(imports.some((i) => isSdk(i) && i.from === 'composition/tracing-sdk.ts')).toBe(true);
  });

  it('has no import cycles', () => {
    const graph = new Map<string, string[]>();
    for (const i of imports) if (i.internal) graph.set(i.from, [...(graph.get(i.from) ?? []), i.to]);
    // Tarjan's strongly connected components: any component of more than one module is a cycle.
    let index = 0;
    const indices = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const cycles: string[][] = [];
    const visit = (node: string): void => {
      indices.set(node, index);
      low.set(node, index++);
      stack.push(node);
      onStack.add(node);
      for (const next of graph.get(node) ?? []) {
        if (!indices.has(next)) {
          visit(next);
          low.set(node, Math.min(low.get(node)!, low.get(next)!));
        } else if (onStack.has(next)) {
          low.set(node, Math.min(low.get(node)!, indices.get(next)!));
        }
      }
      if (low.get(node) === indices.get(node)) {
        const component: string[] = [];
        for (let member = stack.pop()!; ; member = stack.pop()!) {
          onStack.delete(member);
          component.push(member);
          if (member === node) break;
        }
        if (component.length > 1 || (graph.get(node) ?? []).includes(node)) cycles.push(component.sort());
      }
    };
    for (const file of files.map(rel)) if (!indices.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });
});
