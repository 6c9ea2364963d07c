import { TelemetryError } from '../domain/errors';

/** Checks a `first` argument against the configured page-size limit. */
export function pageSize(first: number, maxPageSize: number): number {
  if (!Number.isInteger(first) || first < 1 || first > maxPageSize) {
    throw new TelemetryError('BAD_USER_INPUT', `first must be between 1 and ${maxPageSize}`, { details: { argument: 'first', limit: maxPageSize } });
  }
  return first;
}

export function invalidCursor(argument: string): TelemetryError {
  return new TelemetryError('BAD_USER_INPUT', `${argument} is not a cursor this API issued`, { details: { argument } });
}
