import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ociSignatureChecker, type OciSigners } from './oci-signature';

/**
 * A local stand-in for the OCI Streaming messages API (version 20180418), for tests: the real
 * `oci-streaming` client talks to it over HTTP. It keeps streams in memory and implements
 * PutMessages, CreateCursor, GetMessages, CreateGroupCursor, GetGroup, ConsumerCommit and
 * ConsumerHeartbeat with their request and response shapes (group cursors share the
 * partitions among live instances and hand a silent instance's partitions to the others), the 1 MB request and message
 * limits, 429 throttling on demand, and checks every request's signature (API keys, or resource-principal session tokens; the OCI HTTP
 * signature: RSA-SHA256 over x-date, (request-target), host and, for POSTs other than
 * PutMessages, content-type, content-length and x-content-sha256) against the test key.
 */

interface StoredMessage {
  readonly key: string | null;
  readonly value: string;
  readonly offset: number;
  readonly timestamp: string;
}

interface CursorState {
  readonly streamId: string;
  readonly partition: number;
  readonly offset: number;
  readonly group?: string;
  readonly instance?: string;
  /**
   * Group cursors: the read position in each partition, tagged with the reservation it was
   * read under; a partition reserved again (to this or another instance) resumes from the
   * group's committed offset, as in OCI.
   */
  readonly positions?: Record<number, { reservation: number; offset: number }>;
}

interface GroupState {
  readonly timeoutMs: number;
  /** Where a partition starts before the group first commits it: TRIM_HORIZON or LATEST. */
  readonly startAtLatest: boolean;
  readonly instances: Map<string, number>; // instance -> last seen
  readonly reservations: Map<number, { instance: string; until: number; id: number }>;
  /** Next offset to read per partition, as committed. */
  readonly committed: Map<number, number>;
}

export interface StandinOptions extends OciSigners {
  readonly partitions: number;
}

export interface StreamingStandin {
  readonly endpoint: string;
  /** Answers the next `count` requests with 429 Too Many Requests. */
  throttleNext(count: number): void;
  /** Refuses every PutMessages entry with this key (an entry-level InternalServerError) until set to undefined. */
  refuseEntriesWithKey(key: string | undefined): void;
  /** Requests seen, by operation name. */
  readonly calls: Map<string, number>;
  /** Requests refused for a bad signature. */
  readonly refusedSignatures: () => number;
  /** The group's committed offsets (next offset to read) by partition. */
  committedOffsets(streamId: string, group: string): ReadonlyMap<number, number>;
  /** Retention: messages of the partition below `offset` are gone (offsets are kept). */
  expire(streamId: string, partition: number, offset: number): void;
  close(): Promise<void>;
}

const MB = 1024 * 1024;

/** FNV-1a, like any stable hash: the same key always lands in the same partition. */
function partitionOf(key: string | null, partitions: number, roundRobin: () => number): number {
  if (key === null) return roundRobin() % partitions;
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'base64')) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash % partitions;
}

const encodeCursor = (state: CursorState) => Buffer.from(JSON.stringify(state)).toString('base64');
const decodeCursor = (value: string | null): CursorState | undefined => {
  try {
    return value ? (JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as CursorState) : undefined;
  } catch {
    return undefined;
  }
};

export async function startStreamingStandin(options: StandinOptions): Promise<StreamingStandin> {
  const streams = new Map<string, StoredMessage[][]>();
  const groups = new Map<string, GroupState>(); // `${streamId}/${group}`
  const calls = new Map<string, number>();
  let throttle = 0;
  let badSignatures = 0;
  let nextRoundRobin = 0;
  let nextReservation = 1;
  let refusedKey: string | undefined;

  /** Per stream and partition, the offset of the oldest message still retained. */
  const oldest = new Map<string, number>();
  const oldestOf = (streamId: string, partition: number) => oldest.get(`${streamId}/${partition}`) ?? 0;
  const partitionsOf = (streamId: string) => {
    let partitions = streams.get(streamId);
    if (!partitions) {
      partitions = Array.from({ length: options.partitions }, () => []);
      streams.set(streamId, partitions);
    }
    return partitions;
  };

  const send = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    response.writeHead(status, { 'content-type': 'application/json', 'opc-request-id': `standin-${Date.now()}`, ...headers }).end(JSON.stringify(body));
  };
  const fail = (response: ServerResponse, status: number, code: string, message: string) => send(response, status, { code, message });

  // PutMessages is signed without its body (the SDK excludes it, as OCI allows for that
  // operation); other POSTs sign their body too.
  const signedBy = ociSignatureChecker(options);
  const signatureValid = (request: IncomingMessage, body: Buffer) => signedBy(request, body, request.method === 'POST' && !request.url?.endsWith('/messages'));

  /**
   * OCI-like partition assignment: live instances (seen within the group timeout) share the
   * partitions evenly; an instance keeps what it holds up to its fair share, and partitions of
   * instances that went quiet are handed to the others.
   */
  function rebalance(state: GroupState, now: number): void {
    const live = [...state.instances]
      .filter(([, seen]) => seen + state.timeoutMs >= now)
      .map(([name]) => name)
      .sort();
    for (const [partition, reservation] of state.reservations) {
      if (reservation.until < now || !live.includes(reservation.instance)) state.reservations.delete(partition);
    }
    if (live.length === 0) return;
    const share = Math.ceil(options.partitions / live.length);
    const held = (instance: string) =>
      [...state.reservations]
        .filter(([, r]) => r.instance === instance)
        .map(([p]) => p)
        .sort((a, b) => a - b);
    for (const instance of live) for (const partition of held(instance).slice(share)) state.reservations.delete(partition);
    for (let partition = 0; partition < options.partitions; partition++) {
      if (state.reservations.has(partition)) continue;
      const taker = live.find((instance) => held(instance).length < share);
      if (taker) state.reservations.set(partition, { instance: taker, until: now + state.timeoutMs, id: nextReservation++ });
    }
  }

  function touch(state: GroupState, instance: string, now: number): void {
    state.instances.set(instance, now);
    for (const reservation of state.reservations.values()) if (reservation.instance === instance) reservation.until = now + state.timeoutMs;
    rebalance(state, now);
  }

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(request.url ?? '/', 'http://standin');
      const match = /^\/20180418\/streams\/([^/]+)\/(messages|cursors|groupCursors|commit|heartbeat|groups)(?:\/([^/]+))?$/.exec(url.pathname);
      const operation = match ? `${request.method} ${match[2]}` : `${request.method} ${url.pathname}`;
      calls.set(operation, (calls.get(operation) ?? 0) + 1);
      if (!signatureValid(request, body)) {
        badSignatures++;
        fail(response, 401, 'NotAuthenticated', 'The required information to complete authentication was not provided or was incorrect.');
        return;
      }
      if (throttle > 0) {
        throttle--;
        fail(response, 429, 'TooManyRequests', 'Too many requests for the stream.');
        return;
      }
      if (!match) {
        fail(response, 404, 'NotAuthorizedOrNotFound', `no route ${url.pathname}`);
        return;
      }
      const streamId = decodeURIComponent(match[1]!);
      const partitions = partitionsOf(streamId);
      const json = () => JSON.parse(body.toString('utf8') || '{}') as Record<string, any>;

      switch (operation) {
        case 'POST messages': {
          if (body.length > MB) {
            fail(response, 400, 'InvalidParameter', 'The request body exceeds the 1 MB limit.');
            return;
          }
          const { messages } = json() as { messages: { key?: string | null; value?: string }[] };
          if (!Array.isArray(messages) || messages.length === 0) {
            fail(response, 400, 'InvalidParameter', 'messages must not be empty');
            return;
          }
          const entries = messages.map((message) => {
            if (Buffer.byteLength(message.value ?? '') + Buffer.byteLength(message.key ?? '') > MB)
              return { error: 'MessageTooLarge', errorMessage: 'The message exceeds the 1 MB limit.' };
            if (refusedKey !== undefined && message.key && Buffer.from(message.key, 'base64').toString('utf8') === refusedKey)
              return { error: 'InternalServerError', errorMessage: 'The entry could not be stored.' };
            const partition = partitionOf(message.key ?? null, options.partitions, () => nextRoundRobin++);
            const log = partitions[partition]!;
            const stored: StoredMessage = { key: message.key ?? null, value: message.value ?? '', offset: log.length, timestamp: new Date().toISOString() };
            log.push(stored);
            return { partition: String(partition), offset: stored.offset, timestamp: stored.timestamp };
          });
          send(response, 200, { failures: entries.filter((entry) => 'error' in entry).length, entries });
          return;
        }
        case 'POST cursors': {
          const details = json() as { partition: string; type: string; offset?: number; time?: string };
          const partition = Number(details.partition);
          const log = partitions[partition];
          if (!log) {
            fail(response, 400, 'InvalidParameter', `partition ${details.partition} does not exist`);
            return;
          }
          const first = oldestOf(streamId, partition);
          // As documented: AT_OFFSET and AFTER_OFFSET take an offset from the oldest retained
          // message to the latest published one (not the next offset to be written).
          if (details.type === 'AT_OFFSET' || details.type === 'AFTER_OFFSET') {
            if (!Number.isInteger(details.offset) || details.offset! < first || details.offset! > log.length - 1) {
              fail(
                response,
                400,
                'InvalidParameter',
                `offset ${details.offset} is not between the oldest message (${first}) and the latest published one (${log.length - 1})`,
              );
              return;
            }
          }
          const offset =
            details.type === 'AT_OFFSET'
              ? details.offset!
              : details.type === 'AFTER_OFFSET'
                ? details.offset! + 1
                : details.type === 'LATEST'
                  ? log.length
                  : details.type === 'TRIM_HORIZON'
                    ? first
                    : log.findIndex((m) => m.timestamp >= (details.time ?? ''));
          if (!Number.isInteger(offset) || offset < 0 || offset > log.length) {
            fail(response, 400, 'InvalidParameter', `offset ${details.offset} is out of range`);
            return;
          }
          send(response, 200, { value: encodeCursor({ streamId, partition, offset }) });
          return;
        }
        case 'POST groupCursors': {
          const details = json() as { groupName: string; instanceName?: string; type: string; timeoutInMs?: number };
          const name = `${streamId}/${details.groupName}`;
          if (details.type !== 'TRIM_HORIZON' && details.type !== 'LATEST') {
            fail(response, 400, 'InvalidParameter', `the stand-in supports TRIM_HORIZON and LATEST group cursors, not ${details.type}`);
            return;
          }
          const state = groups.get(name) ?? {
            timeoutMs: details.timeoutInMs ?? 30_000,
            startAtLatest: details.type === 'LATEST',
            instances: new Map(),
            reservations: new Map(),
            committed: new Map(),
          };
          if (!groups.has(name) && state.startAtLatest) partitions.forEach((log, partition) => state.committed.set(partition, log.length));
          groups.set(name, state);
          const instance = details.instanceName ?? `instance-${state.instances.size + 1}`;
          touch(state, instance, Date.now());
          send(response, 200, { value: encodeCursor({ streamId, partition: -1, offset: 0, group: details.groupName, instance, positions: {} }) });
          return;
        }
        case 'GET groups': {
          const state = groups.get(`${streamId}/${decodeURIComponent(match[3] ?? '')}`);
          if (!state) {
            fail(response, 404, 'NotAuthorizedOrNotFound', 'no such group');
            return;
          }
          rebalance(state, Date.now());
          const reservations = [...state.reservations].map(([partition, r]) => ({
            partition: String(partition),
            committedOffset: state.committed.get(partition) ?? 0,
            reservedInstance: r.instance,
            timeReservedUntil: new Date(r.until).toISOString(),
          }));
          send(response, 200, { streamId, groupName: decodeURIComponent(match[3]!), reservations });
          return;
        }
        case 'GET messages': {
          const cursor = decodeCursor(url.searchParams.get('cursor'));
          if (!cursor || cursor.streamId !== streamId) {
            fail(response, 400, 'InvalidParameter', 'invalid cursor');
            return;
          }
          const limit = Math.min(Number(url.searchParams.get('limit') ?? 10_000), 10_000);
          if (cursor.group !== undefined) {
            // A group cursor reads the partitions reserved to its instance, from its positions.
            const state = groups.get(`${streamId}/${cursor.group}`)!;
            touch(state, cursor.instance!, Date.now());
            const positions = { ...cursor.positions };
            const items = [];
            let bytes = 0;
            for (const [partition, reservation] of [...state.reservations].sort((a, b) => a[0] - b[0])) {
              if (reservation.instance !== cursor.instance) continue;
              const held = positions[partition];
              let offset = Math.max(oldestOf(streamId, partition), held?.reservation === reservation.id ? held.offset : (state.committed.get(partition) ?? 0));
              for (const message of partitions[partition]!.slice(offset, offset + limit - items.length)) {
                bytes += message.value.length;
                if (items.length > 0 && bytes > MB) break;
                items.push({
                  stream: streamId,
                  partition: String(partition),
                  key: message.key,
                  value: message.value,
                  offset: message.offset,
                  timestamp: message.timestamp,
                });
                offset = message.offset + 1;
              }
              positions[partition] = { reservation: reservation.id, offset };
            }
            send(response, 200, items, { 'opc-next-cursor': encodeCursor({ ...cursor, positions }) });
            return;
          }
          const items = [];
          let bytes = 0;
          const from = Math.max(cursor.offset, oldestOf(streamId, cursor.partition));
          for (const message of partitions[cursor.partition]!.slice(from, from + limit)) {
            bytes += message.value.length;
            if (items.length > 0 && bytes > MB) break;
            items.push({
              stream: streamId,
              partition: String(cursor.partition),
              key: message.key,
              value: message.value,
              offset: message.offset,
              timestamp: message.timestamp,
            });
          }
          const next = encodeCursor({ ...cursor, offset: from + items.length });
          send(response, 200, items, { 'opc-next-cursor': next });
          return;
        }
        case 'POST commit':
        case 'POST heartbeat': {
          const cursor = decodeCursor(url.searchParams.get('cursor'));
          if (!cursor?.group) {
            fail(response, 400, 'InvalidParameter', 'a group cursor is required');
            return;
          }
          const state = groups.get(`${streamId}/${cursor.group}`)!;
          touch(state, cursor.instance!, Date.now());
          if (operation === 'POST commit') {
            // Only what this instance read under its current reservations counts.
            for (const [partition, position] of Object.entries(cursor.positions ?? {})) {
              if (state.reservations.get(Number(partition))?.id === position.reservation) state.committed.set(Number(partition), position.offset);
            }
          }
          send(response, 200, { value: encodeCursor(cursor) });
          return;
        }
        default: {
          fail(response, 404, 'NotAuthorizedOrNotFound', `no operation ${operation}`);
          return;
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    throttleNext: (count) => {
      throttle += count;
    },
    refuseEntriesWithKey: (key) => {
      refusedKey = key;
    },
    calls,
    refusedSignatures: () => badSignatures,
    committedOffsets: (streamId, group) => new Map(groups.get(`${streamId}/${group}`)?.committed ?? []),
    expire: (streamId, partition, offset) => {
      oldest.set(`${streamId}/${partition}`, offset);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
