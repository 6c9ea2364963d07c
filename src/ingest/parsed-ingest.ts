import type { Caller } from '../domain/caller';
import type { ReadingInput } from '../domain/reading';
import type { ParsedItem } from './http-envelope';
import type { AcceptedReading, IngestOutcome, IngestPath, IngestService, RejectedReading } from './ingest-service';

/**
 * Ingests the items a transport parsed (POST /ingest, the MQTT bridge): the ones it could not
 * read are rejected with their own code, the others go through the shared rules; every item,
 * accepted or rejected, keeps its index in the payload as sent.
 */
export async function ingestParsedItems(ingest: IngestService, caller: Caller, parsed: readonly ParsedItem[], path: IngestPath): Promise<IngestOutcome> {
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
  const outcome = await ingest.ingest(caller, inputs, { path, batchSize: parsed.length, refusedBefore: unreadable.map((item) => item.code) });
  const accepted: AcceptedReading[] = outcome.accepted.map((item) => ({ ...item, index: originalIndex[item.index]! }));
  const rejected = [...unreadable, ...outcome.rejected.map((item) => ({ ...item, index: originalIndex[item.index]! }))].sort((a, b) => a.index - b.index);
  return { accepted, rejected };
}
