import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { Caller } from '../domain/caller';
import { rateLimited, type TelemetryError } from '../domain/errors';
import { TokenBuckets, type TokenBucketSettings } from '../domain/token-bucket';

/**
 * Rate per API key: every GraphQL HTTP request, POST /ingest call and subscription start
 * spends one token of the key's bucket. Over the rate, requests fail with RATE_LIMITED and
 * a Retry-After (HTTP 429 on HTTP, an operation error on WebSocket).
 */
export class RateGuard {
  private readonly buckets: TokenBuckets;

  constructor(settings: TokenBucketSettings, now?: () => number) {
    this.buckets = new TokenBuckets(settings, now);
  }

  /** Undefined when admitted; the error to report otherwise. */
  check(caller: Caller): TelemetryError | undefined {
    const result = this.buckets.take(caller.keyId);
    return result.ok ? undefined : rateLimited(result.retryAfterMs);
  }

  /** The same refusal as a GraphQLError Apollo turns into a 429 with Retry-After. */
  checkGraphQL(caller: Caller): GraphQLError | undefined {
    const error = this.check(caller);
    if (!error) return undefined;
    const retryAfterSeconds = error.details?.['retryAfterSeconds'] as number;
    return new GraphQLError(error.message, {
      extensions: {
        code: 'RATE_LIMITED',
        retryable: true,
        retryAfterSeconds,
        http: { status: 429, headers: new HeaderMap([['retry-after', String(retryAfterSeconds)]]) },
      },
    });
  }
}
