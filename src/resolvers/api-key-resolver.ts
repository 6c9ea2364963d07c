import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { TelemetryError } from '../domain/errors';
import { keyInfo, newApiKey } from '../server/auth';
import { ApiKey, CreateApiKeyInput, CreatedApiKey, Viewer } from '../schema/api-key-types';
import { authorize } from './authorize';
import type { GraphQLContext } from './context';

/** Creates a device's key, revoking the ones it had: used by registerDevice and rotateDeviceKey. */
export async function issueDeviceKey(ctx: GraphQLContext, deviceId: string): Promise<CreatedApiKey> {
  const { secret, record } = newApiKey(ctx.caller.tenantId, 'device', `device ${deviceId}`, deviceId);
  const now = Date.now();
  const revoked = await ctx.services.store.replaceDeviceKeys(ctx.caller.tenantId, deviceId, record, now);
  ctx.services.keysRevoked(revoked);
  return { key: keyInfo(record, now), secret };
}

@Resolver()
export class ApiKeyResolver {
  @Query(() => Viewer, { description: 'The role and device of the key making this request (any role).' })
  viewer(@Ctx() ctx: GraphQLContext): Viewer {
    return { keyId: ctx.caller.keyId, role: ctx.caller.role, deviceId: ctx.caller.deviceId };
  }

  @Query(() => [ApiKey], { description: 'Keys of your tenant, oldest first.' })
  async apiKeys(@Ctx() ctx: GraphQLContext, @Arg('includeRevoked', () => Boolean, { defaultValue: false }) includeRevoked: boolean): Promise<ApiKey[]> {
    authorize(ctx.caller, 'manage');
    return ctx.services.store.listApiKeys(ctx.caller.tenantId, includeRevoked);
  }

  @Mutation(() => CreatedApiKey, { description: 'Creates a key in your tenant; its secret is returned once.' })
  async createApiKey(@Arg('input', () => CreateApiKeyInput) input: CreateApiKeyInput, @Ctx() ctx: GraphQLContext): Promise<CreatedApiKey> {
    authorize(ctx.caller, 'manage');
    const label = input.label.trim();
    if (label.length === 0 || label.length > 100) throw new TelemetryError('BAD_USER_INPUT', 'label must be 1-100 characters', { details: { field: 'label' } });
    if ((input.role === 'device') !== Boolean(input.deviceId)) {
      throw new TelemetryError('BAD_USER_INPUT', 'a DEVICE key needs deviceId; READER and ADMIN keys take none', { details: { field: 'deviceId' } });
    }
    if (input.deviceId) await ctx.services.devices.require(ctx.caller.tenantId, [input.deviceId]);
    const { secret, record } = newApiKey(ctx.caller.tenantId, input.role, label, input.deviceId ?? null);
    const now = Date.now();
    await ctx.services.store.createApiKey(record);
    return { key: keyInfo(record, now), secret };
  }

  @Mutation(() => ApiKey, { description: "Revokes a key at once: its requests fail and its WebSocket connections close. A tenant's last admin key cannot be revoked." })
  async revokeApiKey(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<ApiKey> {
    authorize(ctx.caller, 'manage');
    const keys = await ctx.services.store.listApiKeys(ctx.caller.tenantId, true);
    const target = keys.find((key) => key.id === id);
    if (!target) throw new TelemetryError('NOT_FOUND', `no API key "${id}"`);
    if (target.role === 'admin' && target.revokedAt === null && (await ctx.services.store.countActiveAdminKeys(ctx.caller.tenantId)) <= 1) {
      throw new TelemetryError('BAD_USER_INPUT', "this is the tenant's last admin key; create another admin key before revoking it");
    }
    const revoked = await ctx.services.store.revokeApiKey(ctx.caller.tenantId, id, Date.now());
    ctx.services.keysRevoked([id]);
    return revoked!;
  }

  @Mutation(() => CreatedApiKey, { description: "Replaces a device's key: the old one stops working at once; the new secret is returned once." })
  async rotateDeviceKey(@Arg('deviceId', () => ID) deviceId: string, @Ctx() ctx: GraphQLContext): Promise<CreatedApiKey> {
    authorize(ctx.caller, 'manage');
    await ctx.services.devices.require(ctx.caller.tenantId, [deviceId]);
    return issueDeviceKey(ctx, deviceId);
  }
}
