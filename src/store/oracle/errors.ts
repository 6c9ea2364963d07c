import { BackendError, TelemetryError } from '../../domain/errors';

/**
 * Oracle and driver errors mapped to the store's typed errors. Retryable: the connection or
 * the network failed, the pool had no connection in time, a deadlock or a lock wait victim,
 * the database is restarting or failing over; the same call may succeed later. Everything
 * else (constraints, invalid data, bad SQL) is fatal for that call.
 */
const RETRYABLE_ORA = new Set([
  60, // deadlock detected while waiting for resource
  54, // resource busy and acquire with NOWAIT
  1012, // not logged on
  1033, // initialization or shutdown in progress
  1034, // ORACLE not available
  1089, // immediate shutdown in progress
  3113, // end-of-file on communication channel
  3114, // not connected to ORACLE
  3135, // connection lost contact
  4021, // timeout occurred while waiting to lock object
  12170, // TNS connect timeout
  12514, // listener does not know of the service
  12516, // listener could not find an available handler
  12520, // listener could not find an available handler for the requested server type
  12528, // listener: all appropriate instances are blocking new connections
  12537, // TNS connection closed
  12541, // no listener
  25408, // cannot safely replay call
  30006, // resource busy; acquire with WAIT timeout expired
]);
const RETRYABLE_DRIVER = /^(NJS-(003|040|500|501|503|510)|DPI-(1010|1080))/;

export const ORA_UNIQUE_VIOLATION = 1;

export function oraCode(error: unknown): number | undefined {
  const num = (error as { errorNum?: unknown }).errorNum;
  if (typeof num === 'number' && num > 0) return num;
  const message = (error as { message?: unknown }).message;
  const match = /ORA-(\d{5})/.exec(typeof message === 'string' ? message : '');
  return match ? Number(match[1]) : undefined;
}

export function isRetryableOracleError(error: unknown): boolean {
  const code = oraCode(error);
  if (code !== undefined) return RETRYABLE_ORA.has(code);
  const driver = (error as { code?: unknown }).code;
  return typeof driver === 'string' && RETRYABLE_DRIVER.test(driver);
}

export function toStoreError(error: unknown): Error {
  if (error instanceof TelemetryError || error instanceof BackendError) return error;
  const ora = oraCode(error);
  const driver = (error as { code?: unknown }).code;
  const code =
    ora !== undefined ? `ORA-${String(ora).padStart(5, '0')}` : typeof driver === 'string' || typeof driver === 'number' ? String(driver) : undefined;
  return new BackendError(`database error${code === undefined ? '' : ` ${code}`}: ${(error as Error).message}`, isRetryableOracleError(error), error);
}
