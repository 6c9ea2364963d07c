import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execute, parse, validate } from 'graphql';
import { buildTelemetrySchema } from '../../src/schema/build-schema';
import { printTelemetrySchema, SCHEMA_FILE } from '../../src/schema/emit-schema';
import { createLoaders } from '../../src/resolvers/loaders';
import type { GraphQLContext, Services } from '../../src/resolvers/context';
import type { Caller } from '../../src/domain/caller';
import type { Device, Store } from '../../src/store/store';

const root = path.join(__dirname, '..', '..', '..');

describe('GraphQL schema', () => {
  it('matches the committed SDL (run `npm run codegen` after changing the API)', () => {
    const committed = readFileSync(path.join(root, SCHEMA_FILE), 'utf8');
    expect(printTelemetrySchema()).toBe(committed);
  });

  it('accepts every operation the tests and codegen use', () => {
    const dir = path.join(root, 'test', 'operations');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.graphql'))) {
      const errors = validate(buildTelemetrySchema(), parse(readFileSync(path.join(dir, file), 'utf8')));
      expect({ file, errors: errors.map((e) => e.message) }).toEqual({ file, errors: [] });
    }
  });
});

describe('Device.latest', () => {
  it('loads the latest values of every listed device with one store call per request', async () => {
    const devices: Device[] = Array.from({ length: 25 }, (_, i) => ({ tenantId: 't', id: `d${i}`, name: `d${i}`, tags: [], createdAt: 0, status: 'NEVER_SEEN', lastSeenAt: null, heartbeatTimeoutMs: null }));
    const calls: (readonly string[])[] = [];
    const store = {
      listDevices: async () => ({ items: devices, hasMore: false }),
      latestReadings: async (_tenant: string, ids: readonly string[]) => {
        calls.push(ids);
        return new Map(ids.map((id) => [id, [{ deviceId: id, metric: 'temp', timestamp: 0, value: 1 }]]));
      },
    } as unknown as Store;
    const caller: Caller = { tenantId: 't', role: 'reader', deviceId: null, keyId: 'k' };
    const context: GraphQLContext = {
      caller,
      services: { store, limits: { maxPageSize: 100, maxBatchSize: 10 } } as unknown as Services,
      loaders: createLoaders(store, caller),
    };
    const result = await execute({
      schema: buildTelemetrySchema(),
      document: parse('{ devices(first: 25) { edges { node { id latest { metric value } } } } }'),
      contextValue: context,
    });
    expect(result.errors).toBeUndefined();
    expect(calls).toHaveLength(1);
    expect(calls[0]).toHaveLength(25);
  });
});
