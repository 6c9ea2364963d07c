import { TelemetryError } from '../domain/errors';
import type { GraphQLContext } from './context';

/** Fails with NOT_FOUND naming every id that is not a device of the caller's tenant. */
export async function requireDevices(ctx: GraphQLContext, deviceIds: readonly string[]): Promise<void> {
  const known = await ctx.services.devices.existing(ctx.caller.tenantId, deviceIds);
  const unknown = deviceIds.filter((id) => !known.has(id));
  if (unknown.length > 0) throw new TelemetryError('NOT_FOUND', `no device ${unknown.map((id) => `"${id}"`).join(', ')}`);
}
