import type { Caller, Role } from '../domain/caller';
import { TelemetryError } from '../domain/errors';

/** What an operation needs. Every resolver names one; roles grant them below. */
export type Permission =
  /** Send readings. */
  | 'ingest'
  /** Run queries and subscriptions. */
  | 'read'
  /** Manage devices, keys and dead letters. */
  | 'manage';

const GRANTS: Readonly<Record<Role, readonly Permission[]>> = {
  device: ['ingest'],
  reader: ['read'],
  admin: ['ingest', 'read', 'manage'],
};

export function authorize(caller: Caller, permission: Permission): void {
  if (!GRANTS[caller.role].includes(permission)) {
    throw new TelemetryError('FORBIDDEN', `a ${caller.role} key may not ${permission}`);
  }
}
