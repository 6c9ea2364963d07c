/**
 * The MQTT topics of one device, and what a device may do with them. Device ids are
 * `[A-Za-z0-9._:-]` (validation.ts): never `/`, `+` or `#`, so a topic splits unambiguously.
 *
 *  - `devices/{id}/readings`: the device publishes readings (any POST /ingest JSON payload);
 *  - `devices/{id}/errors`: the service tells the device why a message was refused;
 *  - `devices/{id}/commands/{name}`: commands to the device (sent by the service only);
 *  - `devices/{id}/commands/{commandId}/response`: the device answers a command (domain/command.ts).
 */

export const readingsTopic = (deviceId: string): string => `devices/${deviceId}/readings`;
export const errorsTopic = (deviceId: string): string => `devices/${deviceId}/errors`;
export const commandTopic = (deviceId: string, name: string): string => `devices/${deviceId}/commands/${name}`;
export const commandResponseTopic = (deviceId: string, commandId: string): string => `devices/${deviceId}/commands/${commandId}/response`;

/** The command a topic answers when it is this device's `commands/{commandId}/response`; undefined otherwise. */
export function answeredCommandId(deviceId: string, topic: string): string | undefined {
  const prefix = `devices/${deviceId}/commands/`;
  if (!topic.startsWith(prefix) || !topic.endsWith('/response')) return undefined;
  const commandId = topic.slice(prefix.length, -'/response'.length);
  // One topic level of printable non-wildcard characters (ids are UUIDs; a stranger one names no command).
  return /^[A-Za-z0-9-]{1,64}$/.test(commandId) ? commandId : undefined;
}

/** Why a device may not publish to or subscribe to a topic; undefined when it may. */
export type TopicRefusal = string | undefined;

/** A device publishes only its own readings, and answers to its own commands. */
export function checkDevicePublish(deviceId: string, topic: string): TopicRefusal {
  if (topic === readingsTopic(deviceId) || answeredCommandId(deviceId, topic)) return undefined;
  return `a device publishes only to ${readingsTopic(deviceId)} or ${commandResponseTopic(deviceId, '{commandId}')}`;
}

/**
 * A device subscribes only under its own `devices/{id}/` prefix; wildcards may stand for the
 * levels below it (`devices/{id}/#`, `devices/{id}/commands/+`), never for the device id or the
 * prefix (`#`, `devices/+/errors`), nor shared (`$share/…`) or system (`$SYS/…`) topics.
 */
export function checkDeviceSubscribe(deviceId: string, filter: string): TopicRefusal {
  const prefix = `devices/${deviceId}/`;
  const refusal = `a device subscribes only to topics under ${prefix} (e.g. ${prefix}#)`;
  if (!filter.startsWith(prefix) || filter.length === prefix.length) return refusal;
  const levels = filter.slice(prefix.length).split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level === '#' && i !== levels.length - 1) return refusal;
    if (level !== '#' && level !== '+' && (level.includes('#') || level.includes('+'))) return refusal;
  }
  return undefined;
}

/** Whether a topic matches a subscription filter (`+` one level, `#` the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  const filterLevels = filter.split('/');
  const topicLevels = topic.split('/');
  for (let i = 0; i < filterLevels.length; i++) {
    const level = filterLevels[i]!;
    if (level === '#') return true;
    if (i >= topicLevels.length) return false;
    if (level !== '+' && level !== topicLevels[i]) return false;
  }
  return filterLevels.length === topicLevels.length;
}
