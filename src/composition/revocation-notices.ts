import type { FanoutMessage } from '../domain/events-topic';
import { REVOCATION_NOTICE_KEYS, type RevocationNotice } from '../domain/revocation-notice';
import type { Logger } from '../logger';
import type { Stream } from '../stream/stream';

/** What an API node does with a revocation, made here or heard of from another node. */
export interface RevocationHandlers {
  /** Forget the keys (authentication cache) and close their WebSockets and MQTT connections. */
  readonly revokedKeys: (keyIds: readonly string[]) => void;
  /** Forget the device (directory), end its readings subscriptions, close its MQTT connections. */
  readonly deviceDeleted: (tenantId: string, deviceId: string) => void;
}

/**
 * Where a revocation made on this node goes so that every API node stops serving the keys or
 * the device at once:
 *
 * - always to this node's own handlers, at once (the mutation's answer follows the closing);
 * - fed by the events topic (role `api`, or a shared OCI stream): also into the topic as a
 *   notice (`revokedKeys` under key `keys`, `deviceDeleted` under `devices`), which every API
 *   node's tail hands to its handlers; this node hears its own notice again, harmlessly
 *   (forgetting and closing twice changes nothing). If the produce fails the revocation is
 *   stored all the same, and the other nodes' periodic check (keys/revocation-check.ts)
 *   closes the keys' connections and ends the deleted device's subscriptions; it is logged.
 * - otherwise (one process, which is the only API node): this node's handlers only.
 */
export function revocationPublisher(options: {
  readonly viaEventsTopic: boolean;
  readonly stream: Stream;
  readonly local: RevocationHandlers;
  readonly logger: Logger;
}): RevocationHandlers {
  const { stream, local, logger } = options;
  const publish = (notice: RevocationNotice, fields: Record<string, unknown>) => {
    if (!options.viaEventsTopic) return;
    const message: FanoutMessage = notice;
    stream
      .produce('events', [{ key: REVOCATION_NOTICE_KEYS[notice.kind], value: JSON.stringify(message) }])
      .catch((error: unknown) => logger.warn({ err: error, ...fields }, `could not publish a ${notice.kind} notice to the events topic`));
  };
  return {
    revokedKeys: (keyIds) => {
      if (keyIds.length === 0) return;
      local.revokedKeys(keyIds);
      publish({ kind: 'revokedKeys', keyIds: [...keyIds] }, { keyIds });
    },
    deviceDeleted: (tenantId, deviceId) => {
      local.deviceDeleted(tenantId, deviceId);
      publish({ kind: 'deviceDeleted', tenantId, deviceId }, { tenantId, deviceId });
    },
  };
}
