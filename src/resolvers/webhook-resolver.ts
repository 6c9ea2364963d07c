import { randomBytes } from 'node:crypto';
import { nonPublicHostReason } from '../domain/network';
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { TelemetryError } from '../domain/errors';
import { uuidv7 } from '../domain/ids';
import type { Webhook as WebhookRecord, WebhookDelivery as DeliveryRecord } from '../domain/webhooks';
import { CreatedWebhook, CreateWebhookInput, Webhook, WebhookDelivery } from '../schema/webhook-types';
import { authorize } from './authorize';
import type { GraphQLContext } from './context';

const MAX_WEBHOOKS_PER_TENANT = 20;
const MAX_DELIVERIES_LISTED = 100;

const toWebhook = (record: WebhookRecord): Webhook => ({ id: record.id, url: record.url, minSeverity: record.minSeverity, createdAt: record.createdAt });
const toDelivery = (record: DeliveryRecord): WebhookDelivery => ({ ...record, id: String(record.id), anomalyId: String(record.anomalySeq) });

function checkUrl(text: string, allowPrivate: boolean): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TelemetryError('BAD_USER_INPUT', 'url is not a valid URL', { details: { field: 'url' } });
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || text.length > 2048 || url.username || url.password) {
    throw new TelemetryError('BAD_USER_INPUT', 'url must be an http or https URL of at most 2048 characters, without credentials', { details: { field: 'url' } });
  }
  const refused = allowPrivate ? null : nonPublicHostReason(url);
  if (refused !== null) {
    throw new TelemetryError('BAD_USER_INPUT', `url must reach a public address (loopback, private, link-local and other special-purpose addresses are refused): ${refused}`, { details: { field: 'url' } });
  }
  return url.toString();
}

@Resolver(() => Webhook)
export class WebhookResolver {
  @Query(() => [Webhook], { description: 'Webhooks of your tenant.' })
  async webhooks(@Ctx() ctx: GraphQLContext): Promise<Webhook[]> {
    authorize(ctx.caller, 'manage');
    return (await ctx.services.store.listWebhooks(ctx.caller.tenantId)).map(toWebhook);
  }

  @Mutation(() => CreatedWebhook, { description: 'Registers a webhook; its signing secret is returned once.' })
  async createWebhook(@Arg('input', () => CreateWebhookInput) input: CreateWebhookInput, @Ctx() ctx: GraphQLContext): Promise<CreatedWebhook> {
    authorize(ctx.caller, 'manage');
    const url = checkUrl(input.url, ctx.services.allowPrivateWebhooks);
    if ((await ctx.services.store.listWebhooks(ctx.caller.tenantId)).length >= MAX_WEBHOOKS_PER_TENANT) {
      throw new TelemetryError('BAD_USER_INPUT', `a tenant has at most ${MAX_WEBHOOKS_PER_TENANT} webhooks`, { details: { limit: MAX_WEBHOOKS_PER_TENANT } });
    }
    const secret = `whsec_${randomBytes(32).toString('base64url')}`;
    const webhook = await ctx.services.store.createWebhook({ tenantId: ctx.caller.tenantId, id: uuidv7(), url, minSeverity: input.minSeverity, createdAt: Date.now(), secret });
    return { webhook: toWebhook(webhook), secret };
  }

  @Mutation(() => Boolean, { description: 'Deletes a webhook and its delivery history; NOT_FOUND if your tenant has no such webhook.' })
  async deleteWebhook(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    authorize(ctx.caller, 'manage');
    if (!(await ctx.services.store.deleteWebhook(ctx.caller.tenantId, id))) throw new TelemetryError('NOT_FOUND', `no webhook "${id}"`);
    return true;
  }

  @FieldResolver(() => [WebhookDelivery], { description: 'Most recent deliveries first.' })
  async deliveries(@Root() webhook: Webhook, @Ctx() ctx: GraphQLContext, @Arg('first', () => Int, { defaultValue: 20 }) first: number): Promise<WebhookDelivery[]> {
    if (first < 1 || first > MAX_DELIVERIES_LISTED) throw new TelemetryError('BAD_USER_INPUT', `first must be from 1 to ${MAX_DELIVERIES_LISTED}`, { details: { argument: 'first' } });
    return (await ctx.services.store.listWebhookDeliveries(ctx.caller.tenantId, webhook.id, first)).map(toDelivery);
  }
}
