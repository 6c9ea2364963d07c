import type { Caller } from '../domain/caller';
import { parseJsonItems, type ParsedItem } from './http-envelope';
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
  return ingestParsedItems(ingest, device, parseMqttPayload(payload, ingest.eventType, device.deviceId), 'mqtt');
}

/**
 * An MQTT payload as ingest items, for the built-in broker and the bridge alike: JSON in any
 * form POST /ingest takes as `application/json`; an item without a device id (absent or null)
 * belongs to `topicDeviceId`. Throws BAD_USER_INPUT for a payload that is not UTF-8 JSON or an
 * empty batch.
 */
export function parseMqttPayload(payload: Uint8Array, eventType: string, topicDeviceId: string | null): ParsedItem[] {
  const body = parseJsonBytes(payload, 'the MQTT payload');
  return parseJsonItems(body, eventType, false).map((item) => {
    // The parser passes a missing deviceId on for validation to report; here the topic gives it.
    const given: unknown = item.ok ? item.input.deviceId : undefined;
    if (!item.ok || (given !== undefined && given !== null) || topicDeviceId === null) return item;
    return { ok: true, input: { ...item.input, deviceId: topicDeviceId } };
  });
}
