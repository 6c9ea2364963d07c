import { randomUUID } from 'node:crypto';

/**
 * A UUIDv7 (RFC 9562): time-ordered, so generated event ids land at the end of the
 * database's event-id index instead of at random pages. Built from randomUUID(), whose
 * entropy comes from a pooled buffer (one randomBytes() call per reading cost ~6% of the
 * ingest thread), with the first 48 bits replaced by the Unix time in ms.
 */
export function uuidv7(now: number = Date.now()): string {
  const random = randomUUID();
  const time = now.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15, 18)}${random.slice(18)}`;
}
