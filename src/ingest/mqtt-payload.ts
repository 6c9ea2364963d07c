import type { Caller } from '../domain/caller';
import { TelemetryError } from '../domain/errors';
import { parseIngestItem, type ParsedItem } from './http-envelope';
import { ingestParsedItems, type ItemsOutcome } from './ingest-items';
import type { IngestService } from './ingest-service';
import { parseJsonBytes } from './json-payload';

/**
 * Ingests one MQTT message's payload for the device that sent it (the built-in listener's
 * authenticated device, or the device a bridge maps a topic to). The payload is anything
 * POST /ingest takes as `application/json`: one plain reading or CloudEvent, or an array of
 * them. The topic names the device, so an item may leave `deviceId` out; an item naming
 * another device is refused by the service's device-key scope (UNKNOWN_DEVICE).
 *
 * Resolves once the stream durably holds the accepted items (QoS 1 may then be acknowledged).
 * Throws a TelemetryError when the payload as a whole is refused: BAD_USER_INPUT (not JSON,
 * empty), PAYLOAD_TOO_LARGE (too many items), UNAVAILABLE (the stream took nothing: the
 * message must not be acknowledged, so that the device sends it again).
 */
export async function ingestMqttPayload(ingest: IngestService, device: Caller, payload: Uint8Array): Promise<ItemsOutcome> {
  const body = parseJsonBytes(payload, 'the MQTT payload');
  const items: unknown[] = Array.isArray(body) ? body : [body];
  if (items.length === 0) throw new TelemetryError('BAD_USER_INPUT', 'the batch is empty');
  const parsed = items.map((item): ParsedItem => {
    const read = parseIngestItem(item, ingest.eventType, false);
    // The parser passes a missing deviceId on for validation to report; here the topic gives it.
    const given: unknown = read.ok ? read.input.deviceId : undefined;
    if (!read.ok || given !== undefined || device.deviceId === null) return read;
    return { ok: true, input: { ...read.input, deviceId: device.deviceId } };
  });
  return ingestParsedItems(ingest, device, parsed, 'mqtt');
}
