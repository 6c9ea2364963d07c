import type { Caller } from '../domain/caller';
import type { ReadingInput } from '../domain/reading';
import type { ParsedItem } from './http-envelope';
import type { AcceptedReading, IngestPath, IngestService, IngestVia, RejectedReading } from './ingest-service';

/** What became of each item of a payload, indexed as the client sent them. */
export interface ItemsOutcome {
  readonly accepted: AcceptedReading[];
  readonly rejected: RejectedReading[];
}

/**
 * Ingests the items a transport read from one payload (POST /ingest's body, an MQTT message):
 * those it could not read are rejected at their index, the others go through the service's
 * rules; every index in the outcome is the item's position in the payload.
 */
export async function ingestParsedItems(
  ingest: IngestService,
  caller: Caller,
  parsed: readonly ParsedItem[],
  path: IngestPath,
  extra: Pick<IngestVia, 'traceHeaders'> = {},
): Promise<ItemsOutcome> {
  const unreadable: RejectedReading[] = [];
  const inputs: ReadingInput[] = [];
  const originalIndex: number[] = [];
  parsed.forEach((item, index) => {
    if (item.ok) {
      originalIndex.push(index);
      inputs.push(item.input);
    } else {
      unreadable.push({ index, code: item.code, message: item.message });
    }
  });
  const outcome = await ingest.ingest(caller, inputs, { ...extra, path, batchSize: parsed.length, refusedBefore: unreadable.map((item) => item.code) });
  const accepted = outcome.accepted.map((item) => ({ ...item, index: originalIndex[item.index]! }));
  const rejected = [...unreadable, ...outcome.rejected.map((item) => ({ ...item, index: originalIndex[item.index]! }))].sort((a, b) => a.index - b.index);
  return { accepted, rejected };
}
