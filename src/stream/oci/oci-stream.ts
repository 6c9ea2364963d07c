import * as common from 'oci-common';
import { StreamClient, models } from 'oci-streaming';
import { BackendError } from '../../domain/errors';
import { DEFAULT_RETRY_POLICY, retry, type RetryPolicy } from '../../domain/retry';
import { TokenBuckets } from '../../domain/token-bucket';
import {
  PartialProduceError,
  type ConsumerGroupMember,
  type ProduceRecord,
  type RecordPosition,
  type Stream,
  type StreamMessage,
  type StreamTail,
  type TopicName,
} from '../stream';
import { planPutRequests, MAX_GET_MESSAGES } from './limits';
import { OciGroupMember } from './oci-group-member';

export interface OciStreamOptions {
  /** The stream pool's messages endpoint, e.g. https://cell-1.streaming.eu-frankfurt-1.oci.oraclecloud.com */
  readonly messagesEndpoint: string;
  /** Stream OCID per topic. */
  readonly streamIds: Readonly<Record<TopicName, string>>;
  /** Partitions of each stream (set when the streams are created; TELEMETRY_PARTITIONS). */
  readonly partitions: number;
  readonly auth: common.AuthenticationDetailsProvider;
  readonly retryPolicy?: RetryPolicy;
  /** GetMessages calls per second per partition: OCI allows 5. @default 5 */
  readonly readsPerSecondPerPartition?: number;
  /**
   * GetMessages per second per partition for live tails (openTail). Every API node tails the
   * events stream, and OCI's 5 per second per partition is shared by all of them. @default 2
   */
  readonly tailReadsPerSecondPerPartition?: number;
  /** How long a produce retries throttled or failed entries before it gives up, ms. @default 10000 */
  readonly produceTimeoutMs?: number;
  /** How long a consumer group keeps an instance's partitions without a heartbeat, ms. @default 30000 */
  readonly groupTimeoutMs?: number;
}

/** HTTP statuses worth retrying: throttling and the service's own failures. */
const isRetryable = (error: unknown): boolean => {
  const status = (error as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number') return status === 429 || status >= 500 || status === -1;
  return error instanceof TypeError || (error as { code?: unknown }).code !== undefined; // network failures
};

/** CreateCursor refused the offset (HTTP 400): it is not between the oldest and the latest message. */
const isOffsetOutOfRange = (error: unknown): boolean =>
  ((error as { cause?: { statusCode?: unknown } }).cause?.statusCode ?? (error as { statusCode?: unknown }).statusCode) === 400;

const encode = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const decode = (base64: string | undefined | null) => (base64 ? Buffer.from(base64, 'base64').toString('utf8') : '');

/**
 * The Stream port on OCI Streaming through the official SDK (oci-streaming): PutMessages in
 * requests under the 1 MB limits, GetMessages with AT_OFFSET partition cursors (reused while
 * reading forward), LATEST cursors for live tails, group cursors with manual commits for
 * consumer groups (OciGroupMember). Throttling (429) and 5xx are retried here
 * with exponential backoff and full jitter (the SDK's own retries are off, so there is one
 * policy), and reads are paced to the 5 GetMessages per second per partition budget.
 */
export class OciStream implements Stream {
  private readonly client: StreamClient;
  private readonly cursors = new Map<string, { nextOffset: number; cursor: string }>();
  private readonly readBudget: TokenBuckets;
  private readonly tailBudget: TokenBuckets;

  constructor(private readonly options: OciStreamOptions) {
    this.client = new StreamClient({ authenticationDetailsProvider: options.auth }, { retryConfiguration: common.NoRetryConfigurationDetails });
    this.client.endpoint = options.messagesEndpoint;
    const rate = options.readsPerSecondPerPartition ?? 5;
    this.readBudget = new TokenBuckets({ ratePerSecond: rate, burst: rate });
    // No burst for tails: several API nodes share the partition's budget all the time.
    this.tailBudget = new TokenBuckets({ ratePerSecond: options.tailReadsPerSecondPerPartition ?? 2, burst: 1 });
  }

  async partitions(_topic: TopicName): Promise<readonly number[]> {
    return Array.from({ length: this.options.partitions }, (_, i) => i);
  }

  async produce(topic: TopicName, records: readonly ProduceRecord[]): Promise<RecordPosition[]> {
    const positions: (RecordPosition | undefined)[] = records.map(() => undefined);
    // Producers wait for an answer (an ingest call): retry throttling for a while, not forever.
    const deadline = Date.now() + (this.options.produceTimeoutMs ?? 10_000);
    try {
      for (const request of planPutRequests(records)) await this.put(topic, records, request, positions, deadline);
    } catch (error) {
      const appended = positions.filter((position) => position !== undefined).length;
      if (appended === 0) throw error;
      throw new PartialProduceError(`${appended} of ${records.length} messages were appended: ${(error as Error).message}`, positions, error);
    }
    return positions as RecordPosition[];
  }

  /** One PutMessages request; entries refused one by one are sent again until the deadline. */
  private async put(
    topic: TopicName,
    records: readonly ProduceRecord[],
    request: readonly number[],
    positions: (RecordPosition | undefined)[],
    deadline: number,
  ): Promise<void> {
    let pending = request; // indexes into records
    await this.call(
      `PutMessages ${topic}`,
      async () => {
        const response = await this.client.putMessages({
          streamId: this.options.streamIds[topic],
          putMessagesDetails: { messages: pending.map((i) => ({ key: encode(records[i]!.key), value: encode(records[i]!.value) })) },
        });
        const failed: number[] = [];
        response.putMessagesResult.entries.forEach((entry, j) => {
          if (entry.error) failed.push(pending[j]!);
          else positions[pending[j]!] = { partition: Number(entry.partition), offset: Number(entry.offset) };
        });
        if (failed.length > 0) {
          // Entries fail one by one (throttling, mostly): send only those again.
          const first = response.putMessagesResult.entries.find((entry) => entry.error)!;
          pending = failed;
          throw Object.assign(new Error(`${failed.length} messages refused: ${first.error} ${first.errorMessage ?? ''}`), {
            statusCode: first.error === 'Throttled' ? 429 : 500,
          });
        }
      },
      () => Date.now() > deadline,
    );
  }

  async read(topic: TopicName, partition: number, fromOffset: number, limit: number): Promise<StreamMessage[]> {
    this.checkPartition(partition);
    const key = `${topic}/${partition}`;
    const cached = this.cursors.get(key);
    const cursor = cached && cached.nextOffset === fromOffset ? cached.cursor : await this.cursorFrom(topic, partition, fromOffset);
    const { messages, nextCursor } = await this.getMessages(topic, `${topic}/${partition}`, cursor, limit);
    const fresh = messages.filter((message) => message.offset >= fromOffset);
    this.cursors.set(key, { nextOffset: fresh.length > 0 ? fresh[fresh.length - 1]!.offset + 1 : fromOffset, cursor: nextCursor });
    return fresh;
  }

  async openTail(topic: TopicName, partition: number): Promise<StreamTail> {
    this.checkPartition(partition);
    let cursor = await this.createCursor(topic, partition, models.CreateCursorDetails.Type.Latest);
    return {
      next: async (limit) => {
        const result = await this.getMessages(topic, `${topic}/${partition}`, cursor, limit, this.tailBudget);
        cursor = result.nextCursor;
        return result.messages;
      },
    };
  }

  /**
   * Joins an OCI consumer group with a group cursor (commitOnGet off: commits follow the
   * database). OCI divides the partitions among the group's instances as they call
   * GetMessages, and keeps each reservation while the instance heartbeats or commits.
   */
  async joinGroup(group: string, topic: TopicName, instance: string): Promise<ConsumerGroupMember> {
    const streamId = this.options.streamIds[topic];
    const timeoutInMs = this.options.groupTimeoutMs ?? 30_000;
    const created = await this.call(`CreateGroupCursor ${topic}`, () =>
      this.client.createGroupCursor({
        streamId,
        createGroupCursorDetails: {
          groupName: group,
          instanceName: instance,
          type: models.CreateGroupCursorDetails.Type.TrimHorizon,
          commitOnGet: false,
          timeoutInMs,
        },
      }),
    );
    return new OciGroupMember(created.cursor.value, {
      getMessages: (cursor, limit) => this.getMessages(topic, `${topic}/group`, cursor, limit),
      readAt: (partition, offset, limit) => this.read(topic, partition, offset, limit),
      heartbeat: async (cursor) => (await this.call(`ConsumerHeartbeat ${topic}`, () => this.client.consumerHeartbeat({ streamId, cursor }))).cursor.value,
      commit: async (cursor) => (await this.call(`ConsumerCommit ${topic}`, () => this.client.consumerCommit({ streamId, cursor }))).cursor.value,
      reservedPartitions: async () => {
        const state = await this.call(`GetGroup ${topic}`, () => this.client.getGroup({ streamId, groupName: group }));
        return (state.group.reservations ?? [])
          .filter((reservation) => reservation.reservedInstance === instance)
          .map((reservation) => Number(reservation.partition))
          .sort((a, b) => a - b);
      },
    });
  }

  async close(): Promise<void> {
    this.client.close();
  }

  /**
   * A cursor at `offset`. OCI accepts AT_OFFSET only from the oldest retained message to the
   * latest published one, so a consumer that has read everything (offset = the next one to be
   * written) gets AFTER_OFFSET the latest instead, and one whose offset has expired gets the
   * oldest message left (TRIM_HORIZON; the reader sees the jump in offsets).
   */
  private async cursorFrom(topic: TopicName, partition: number, offset: number): Promise<string> {
    const { AtOffset, AfterOffset, TrimHorizon } = models.CreateCursorDetails.Type;
    const tries: [models.CreateCursorDetails.Type, number][] =
      offset > 0
        ? [
            [AtOffset, offset],
            [AfterOffset, offset - 1],
          ]
        : [[AtOffset, offset]];
    for (const [type, at] of tries) {
      try {
        return await this.createCursor(topic, partition, type, at);
      } catch (error) {
        if (!isOffsetOutOfRange(error)) throw error;
      }
    }
    return this.createCursor(topic, partition, TrimHorizon);
  }

  private async createCursor(topic: TopicName, partition: number, type: models.CreateCursorDetails.Type, offset?: number): Promise<string> {
    const response = await this.call(`CreateCursor ${topic}/${partition}`, () =>
      this.client.createCursor({
        streamId: this.options.streamIds[topic],
        createCursorDetails: { partition: String(partition), type, ...(offset === undefined ? {} : { offset }) },
      }),
    );
    return response.cursor.value;
  }

  /** GetMessages paced by the `key` bucket of `budget` (a partition, or a group cursor's reservations). */
  private async getMessages(
    topic: TopicName,
    key: string,
    cursor: string,
    limit: number,
    budget = this.readBudget,
  ): Promise<{ messages: StreamMessage[]; nextCursor: string }> {
    await this.paceRead(budget, key);
    const response = await this.call(`GetMessages ${key}`, () =>
      this.client.getMessages({ streamId: this.options.streamIds[topic], cursor, limit: Math.max(1, Math.min(limit, MAX_GET_MESSAGES)) }),
    );
    return {
      messages: response.items.map((item) => ({
        partition: Number(item.partition),
        offset: item.offset,
        key: decode(item.key),
        value: decode(item.value),
        timestamp: new Date(item.timestamp).getTime(),
      })),
      nextCursor: response.opcNextCursor,
    };
  }

  /** Waits for a token of the key's read budget. */
  private async paceRead(budget: TokenBuckets, key: string): Promise<void> {
    for (;;) {
      const taken = budget.take(key);
      if (taken.ok) return;
      await new Promise((resolve) => setTimeout(resolve, taken.retryAfterMs));
    }
  }

  /** Runs one API call, retrying throttling and 5xx until it succeeds or `shouldStop` (consumers: never stop). */
  private call<T>(what: string, operation: () => Promise<T>, shouldStop: () => boolean = () => false): Promise<T> {
    return retry(operation, { policy: this.options.retryPolicy ?? DEFAULT_RETRY_POLICY, isRetryable, shouldStop }).catch((error: unknown) => {
      const status = (error as { statusCode?: number }).statusCode;
      throw new BackendError(`OCI Streaming ${what} failed${status ? ` (HTTP ${status})` : ''}: ${(error as Error).message}`, isRetryable(error), error);
    });
  }

  private checkPartition(partition: number): void {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.options.partitions) {
      throw new BackendError(`no partition ${partition}: the streams have ${this.options.partitions} partitions`, false);
    }
  }
}
