import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { ApiKey, CreateApiKeyInput, CreatedApiKey, Viewer } from '../schema/api-key-types';
import { authorize } from './authorize';
import type { GraphQLContext } from './context';

@Resolver()
export class ApiKeyResolver {
  @Query(() => Viewer, { description: 'The role and device of the key making this request (any role).' })
  viewer(@Ctx() ctx: GraphQLContext): Viewer {
    return { keyId: ctx.caller.keyId, role: ctx.caller.role, deviceId: ctx.caller.deviceId };
  }

  @Query(() => [ApiKey], { description: 'Keys of your tenant, oldest first.' })
  async apiKeys(@Ctx() ctx: GraphQLContext, @Arg('includeRevoked', () => Boolean, { defaultValue: false }) includeRevoked: boolean): Promise<ApiKey[]> {
    authorize(ctx.caller, 'manage');
    return ctx.services.keys.list(ctx.caller.tenantId, includeRevoked);
  }

  @Mutation(() => CreatedApiKey, { description: 'Creates a key in your tenant; its secret is returned once.' })
  async createApiKey(@Arg('input', () => CreateApiKeyInput) input: CreateApiKeyInput, @Ctx() ctx: GraphQLContext): Promise<CreatedApiKey> {
    authorize(ctx.caller, 'manage');
    return ctx.services.keys.create(ctx.caller.tenantId, { role: input.role, label: input.label, deviceId: input.deviceId });
  }

  @Mutation(() => ApiKey, {
    description: "Revokes a key at once: its requests fail and its WebSocket connections close. A tenant's last admin key cannot be revoked.",
  })
  async revokeApiKey(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<ApiKey> {
    authorize(ctx.caller, 'manage');
    return ctx.services.keys.revoke(ctx.caller.tenantId, id);
  }

  @Mutation(() => CreatedApiKey, { description: "Replaces a device's key: the old one stops working at once; the new secret is returned once." })
  async rotateDeviceKey(@Arg('deviceId', () => ID) deviceId: string, @Ctx() ctx: GraphQLContext): Promise<CreatedApiKey> {
    authorize(ctx.caller, 'manage');
    return ctx.services.keys.rotateDeviceKey(ctx.caller.tenantId, deviceId);
  }
}
