import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { RETENTION_KINDS, type RetentionKind, type RetentionOverrides } from '../domain/retention';
import type { TenantRetention } from '../retention/retention-service';
import { Retention, RETENTION_FIELDS, RetentionInput } from '../schema/retention-types';
import { authorize } from './authorize';
import type { GraphQLContext } from './context';

const DAY_MS = 86_400_000;
const fieldOf = (kind: RetentionKind): string => RETENTION_FIELDS[kind];

function toRetention({ policy, overrides }: TenantRetention): Retention {
  const days = Object.fromEntries(RETENTION_KINDS.values.map((kind) => [RETENTION_FIELDS[kind], policy[kind] / DAY_MS]));
  return { ...(days as Omit<Retention, 'overridden'>), overridden: RETENTION_KINDS.values.filter((kind) => overrides[kind] !== undefined) };
}

@Resolver(() => Retention)
export class RetentionResolver {
  @Query(() => Retention, { description: "How long your tenant's data is kept (admin)." })
  async retention(@Ctx() ctx: GraphQLContext): Promise<Retention> {
    authorize(ctx.caller, 'manage');
    return toRetention(await ctx.services.retention.get(ctx.caller.tenantId));
  }

  @Mutation(() => Retention, {
    description: "Replaces your tenant's retention (admin); fields left out follow the service defaults. Enforced by the consumer's next retention pass.",
  })
  async setRetention(@Arg('input', () => RetentionInput) input: RetentionInput, @Ctx() ctx: GraphQLContext): Promise<Retention> {
    authorize(ctx.caller, 'manage');
    const overrides: RetentionOverrides = Object.fromEntries(
      RETENTION_KINDS.values.flatMap((kind) => {
        const days = input[RETENTION_FIELDS[kind]];
        return days === undefined || days === null ? [] : [[kind, days * DAY_MS]];
      }),
    );
    return toRetention(await ctx.services.retention.set(ctx.caller.tenantId, overrides, fieldOf));
  }
}
