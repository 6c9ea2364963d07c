import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchemaSync, type PubSub } from 'type-graphql';
import { DeadLetterResolver } from '../resolvers/dead-letter-resolver';
import { DeviceResolver } from '../resolvers/device-resolver';
import { IngestResolver, PLAIN_INGEST_RESOLVERS } from '../resolvers/ingest-resolver';
import { ReadingResolver } from '../resolvers/reading-resolver';
import { PLAIN_SUBSCRIPTION_RESOLVERS, SubscriptionResolver } from '../resolvers/subscription-resolver';
import { TimeSeriesResolver } from '../resolvers/timeseries-resolver';
import { AnomalyResolver } from '../resolvers/anomaly-resolver';
import { MonitoringSubscriptionResolver } from '../resolvers/monitoring-subscription-resolver';
import { WebhookResolver } from '../resolvers/webhook-resolver';
import { ApiKeyResolver } from '../resolvers/api-key-resolver';
import { RetentionResolver } from '../resolvers/retention-resolver';
import { CommandResolver } from '../resolvers/command-resolver';

/**
 * type-graphql insists on a PubSub when a schema has subscriptions, even though every one
 * of ours brings its own `subscribe` (topic routing and resume live in consumers/). This
 * one fails loudly if anything ever tries to use it.
 */
const unusedPubSub: PubSub = {
  publish() {
    throw new Error('subscriptions route through the ReadingHub, not the type-graphql PubSub');
  },
  subscribe() {
    throw new Error('subscriptions route through the ReadingHub, not the type-graphql PubSub');
  },
};

let schema: GraphQLSchema | undefined;

/** The executable schema (built once per process; resolvers are stateless). */
export function buildTelemetrySchema(): GraphQLSchema {
  if (schema) return schema;
  schema = buildSchemaSync({
    resolvers: [
      DeviceResolver,
      ReadingResolver,
      IngestResolver,
      SubscriptionResolver,
      DeadLetterResolver,
      TimeSeriesResolver,
      AnomalyResolver,
      MonitoringSubscriptionResolver,
      WebhookResolver,
      ApiKeyResolver,
      RetentionResolver,
      CommandResolver,
    ],
    pubSub: unusedPubSub,
    validate: false,
  });
  const mutations = schema.getMutationType()!.getFields();
  for (const [name, resolve] of Object.entries(PLAIN_INGEST_RESOLVERS)) mutations[name]!.resolve = resolve;
  const subscriptions = schema.getSubscriptionType()!.getFields();
  for (const [name, resolve] of Object.entries(PLAIN_SUBSCRIPTION_RESOLVERS)) subscriptions[name]!.resolve = resolve;
  return schema;
}
