import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execute, GraphQLEnumType, parse, validate } from 'graphql';
import { buildTelemetrySchema } from '../../src/schema/build-schema';
import { printTelemetrySchema, SCHEMA_FILE } from '../../src/schema/emit-schema';
import { createLoaders } from '../../src/resolvers/loaders';
import type { GraphQLContext, Services } from '../../src/resolvers/context';
import { ANOMALY_KINDS, ANOMALY_STATUSES, DEVICE_STATUSES, SEVERITIES } from '../../src/domain/anomalies/anomaly';
import { ROLES, type Caller } from '../../src/domain/caller';
import { SORT_ORDERS } from '../../src/domain/reading';
import { BUCKET_SOURCES, GAP_FILLS } from '../../src/domain/timeseries/aggregate-buckets';
import { AGGREGATE_PLANS, SERIES_SOURCES } from '../../src/domain/timeseries/plans';
import { REJECTION_CODES } from '../../src/domain/validation';
import type { Vocabulary } from '../../src/domain/vocabulary';
import { CHANNEL_KINDS, DELIVERY_STATUSES } from '../../src/domain/webhooks';
import { RETENTION_KINDS } from '../../src/domain/retention';
import { COMMAND_STATUSES } from '../../src/domain/command';
import type { Device } from '../../src/domain/device';
import type { Store } from '../../src/store/store';

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

describe('GraphQL enums', () => {
  const vocabularies: Record<string, Vocabulary<string>> = {
    AnomalyKind: ANOMALY_KINDS,
    Severity: SEVERITIES,
    AnomalyStatus: ANOMALY_STATUSES,
    DeviceStatus: DEVICE_STATUSES,
    KeyRole: ROLES,
    DeliveryStatus: DELIVERY_STATUSES,
    CommandStatus: COMMAND_STATUSES,
    ChannelKind: CHANNEL_KINDS,
    RejectionCode: REJECTION_CODES,
    SortOrder: SORT_ORDERS,
    GapFill: GAP_FILLS,
    AggregatePlan: AGGREGATE_PLANS,
    BucketSource: BUCKET_SOURCES,
    SeriesSource: SERIES_SOURCES,
    RetentionKind: RETENTION_KINDS,
  };

  it('are exactly the domain vocabularies: same values in the same order, named in capitals, each described', () => {
    for (const [name, vocabulary] of Object.entries(vocabularies)) {
      const type = buildTelemetrySchema().getType(name);
      expect(type).toBeInstanceOf(GraphQLEnumType);
      const values = (type as GraphQLEnumType).getValues();
      expect({ name, values: values.map((v) => [v.name, v.value, v.description]) }).toEqual({
        name,
        values: vocabulary.values.map((value) => [value.toUpperCase(), value, vocabulary.descriptions[value]]),
      });
    }
  });

  it('covers every enum of the schema', () => {
    const enums = Object.values(buildTelemetrySchema().getTypeMap()).filter((type) => type instanceof GraphQLEnumType && !type.name.startsWith('__'));
    expect(enums.map((type) => type.name).sort()).toEqual(Object.keys(vocabularies).sort());
  });
});

describe('Device.latest', () => {
  it('loads the latest values of every listed device with one store call per request', async () => {
    const devices: Device[] = Array.from({ length: 25 }, (_, i) => ({
      tenantId: 't',
      id: `d${i}`,
      name: `d${i}`,
      tags: [],
      createdAt: 0,
      status: 'NEVER_SEEN',
      lastSeenAt: null,
      heartbeatTimeoutMs: null,
      attributes: {},
    }));
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
