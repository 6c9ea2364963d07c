import { GraphQLError } from 'graphql';
import { BackendError } from '../../src/domain/errors';
import { createErrorFormatter } from '../../src/server/errors';
import { recordingLogger } from '../support/logger';

/** A resolver's error as graphql-js hands it to the formatter: wrapped, with a path. */
function fromResolver(error: Error) {
  const wrapped = new GraphQLError(error.message, { path: ['readings'], originalError: error });
  return [wrapped.toJSON(), wrapped] as const;
}

describe('error formatter: backend failures', () => {
  it('answers a retryable backend failure (a reader thread replaced, a busy database) as UNAVAILABLE with when to retry, never its internals', () => {
    const logger = recordingLogger();
    const formatted = createErrorFormatter(logger)(...fromResolver(new BackendError('reader stopped: /var/lib/telemetry/telemetry.db', true)));
    expect(formatted.extensions).toMatchObject({ code: 'UNAVAILABLE', retryable: true, retryAfterSeconds: 1 });
    expect(formatted.message).not.toContain('telemetry.db');
    expect(formatted.path).toEqual(['readings']);
    // The operator finds the cause under the id the client got.
    expect(logger.lines).toEqual([
      expect.objectContaining({ level: 'error', fields: expect.objectContaining({ correlationId: formatted.extensions?.['correlationId'] }) }),
    ]);
  });

  it('keeps a permanent backend failure an internal error', () => {
    const logger = recordingLogger();
    const formatted = createErrorFormatter(logger)(...fromResolver(new BackendError('no such table: readings', false)));
    expect(formatted.extensions).toMatchObject({ code: 'INTERNAL_SERVER_ERROR' });
    expect(formatted.message).not.toContain('readings');
    expect(logger.lines.map((line) => line.level)).toEqual(['error']);
  });
});
