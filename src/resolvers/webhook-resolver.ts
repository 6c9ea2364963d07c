import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Webhook as WebhookRecord, WebhookDelivery as DeliveryRecord } from '../domain/webhooks';
import { CreatedWebhook, CreateOnsChannelInput, CreateWebhookInput, Webhook, WebhookDelivery } from '../schema/webhook-types';
import { authorize } from './authorize';
import type { GraphQLContext } from './context';

const toWebhook = (record: WebhookRecord): Webhook => ({
  id: record.id,
  channel: record.channel,
  url: record.url,
  minSeverity: record.minSeverity,
  kinds: record.kinds,
  tags: record.tags,
  createdAt: record.createdAt,
});
const toDelivery = (record: DeliveryRecord): WebhookDelivery => ({ ...record, id: String(record.id), anomalyId: String(record.anomalySeq) });

@Resolver(() => Webhook)
export class WebhookResolver {
  @Query(() => [Webhook], { description: 'Webhooks of your tenant.' })
  async webhooks(@Ctx() ctx: GraphQLContext): Promise<Webhook[]> {
    authorize(ctx.caller, 'manage');
    return (await ctx.services.webhooks.list(ctx.caller.tenantId)).map(toWebhook);
  }

  @Mutation(() => CreatedWebhook, { description: 'Registers a webhook; its signing secret is returned once.' })
  async createWebhook(@Arg('input', () => CreateWebhookInput) input: CreateWebhookInput, @Ctx() ctx: GraphQLContext): Promise<CreatedWebhook> {
    authorize(ctx.caller, 'manage');
    const { webhook, secret } = await ctx.services.webhooks.create(ctx.caller.tenantId, {
      url: input.url,
      minSeverity: input.minSeverity,
      kinds: input.kinds ?? null,
      tags: input.tags ?? null,
    });
    return { webhook: toWebhook(webhook), secret };
  }

  @Mutation(() => Webhook, {
    description:
      "Registers an OCI Notifications channel: anomalies are published to the topic, which fans them out to its subscriptions. The service's OCI identity needs ONS_TOPIC_PUBLISH on the topic.",
  })
  async createOnsChannel(@Arg('input', () => CreateOnsChannelInput) input: CreateOnsChannelInput, @Ctx() ctx: GraphQLContext): Promise<Webhook> {
    authorize(ctx.caller, 'manage');
    const channel = await ctx.services.webhooks.createOnsChannel(ctx.caller.tenantId, {
      topicId: input.topicId,
      minSeverity: input.minSeverity,
      kinds: input.kinds ?? null,
      tags: input.tags ?? null,
    });
    return toWebhook(channel);
  }

  @Mutation(() => Boolean, { description: 'Deletes a webhook and its delivery history; NOT_FOUND if your tenant has no such webhook.' })
  async deleteWebhook(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    authorize(ctx.caller, 'manage');
    await ctx.services.webhooks.delete(ctx.caller.tenantId, id);
    return true;
  }

  @FieldResolver(() => [WebhookDelivery], { description: 'Most recent deliveries first.' })
  async deliveries(
    @Root() webhook: Webhook,
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { defaultValue: 20 }) first: number,
  ): Promise<WebhookDelivery[]> {
    return (await ctx.services.webhooks.deliveries(ctx.caller.tenantId, webhook.id, first)).map(toDelivery);
  }
}
