import type { Stream, StreamMessage, TopicName } from '../../src/stream/stream';

/** The part of a GraphQL connection (Relay style) that paging needs. */
export interface ConnectionPage<TNode> {
  readonly edges: readonly { readonly node: TNode }[];
  readonly pageInfo: { readonly hasNextPage: boolean; readonly endCursor?: string | null };
}

/**
 * Every node of a paged connection, not just its first page: calls `page(undefined)`, then
 * `page(endCursor)` while `hasNextPage`. A test that counts or checks "everything" must read
 * it all: how much there is may depend on how fast the machine is.
 */
export async function allNodes<TNode>(page: (after: string | undefined) => Promise<ConnectionPage<TNode>>): Promise<TNode[]> {
  const nodes: TNode[] = [];
  let after: string | undefined;
  for (;;) {
    const connection = await page(after);
    nodes.push(...connection.edges.map((edge) => edge.node));
    if (!connection.pageInfo.hasNextPage) return nodes;
    const next = connection.pageInfo.endCursor;
    if (!next || next === after) throw new Error(`hasNextPage without a new endCursor after ${nodes.length} nodes`);
    after = next;
  }
}

/**
 * Every message of one stream partition from offset `from` through offset `through`
 * (inclusive). `Stream.read` returns *up to* its limit (OCI Streaming answers at most 1 MB per
 * call, and may answer less), so this reads page after page; an empty page before `through`
 * (OCI has nothing ready yet) is retried until `timeoutMs`.
 */
export async function readThrough(
  stream: Stream,
  topic: TopicName,
  partition: number,
  from: number,
  through: number,
  timeoutMs = 15_000,
): Promise<StreamMessage[]> {
  const messages: StreamMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  let next = from;
  while (next <= through) {
    const page = await stream.read(topic, partition, next, 1000);
    if (page.length === 0) {
      if (Date.now() > deadline) throw new Error(`${topic}/${partition} ended at offset ${next}, before ${through}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    messages.push(...page);
    next = page[page.length - 1]!.offset + 1;
  }
  return messages.filter((message) => message.offset <= through);
}

/**
 * Every message of one partition of a stream nobody writes to any more, from `from` to its end
 * (the first empty page): for the embedded log and the local OCI stand-in, where an empty
 * page means the end.
 */
export async function readToEnd(stream: Stream, topic: TopicName, partition: number, from = 0): Promise<StreamMessage[]> {
  const messages: StreamMessage[] = [];
  for (let next = from; ;) {
    const page = await stream.read(topic, partition, next, 1000);
    if (page.length === 0) return messages;
    messages.push(...page);
    next = page[page.length - 1]!.offset + 1;
  }
}
