import { BackendError, TelemetryError } from '../../domain/errors';

/** SQLite codes that clear up on their own: locks held by another connection, full disk, I/O. */
const RETRYABLE_SQLITE_CODES = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL)/;

/** Maps driver errors to the store's typed errors, so callers never see raw SQLite errors. */
export function toStoreError(error: unknown): Error {
  if (error instanceof TelemetryError || error instanceof BackendError) return error;
  const code = (error as { code?: unknown }).code;
  const retryable = typeof code === 'string' && RETRYABLE_SQLITE_CODES.test(code);
  return new BackendError(`database error${typeof code === 'string' ? ` ${code}` : ''}: ${(error as Error).message}`, retryable, error);
}
