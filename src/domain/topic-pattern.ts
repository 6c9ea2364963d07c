/**
 * An MQTT topic pattern with one named segment saying where the device id is:
 * `fleet/+deviceId/telemetry`, `site/+/+deviceId/#`. `+deviceId` is a single-level wildcard
 * whose level is the device id; a bare `+` is any one level, a final `#` any remaining levels,
 * as in an MQTT topic filter (MQTT 3.1.1 §4.7). The bridge subscribes to the filter (the
 * pattern with its name dropped) and reads the device id from each message's topic.
 */
export interface TopicPattern {
  /** The MQTT topic filter to subscribe to. */
  readonly filter: string;
  /** The device id a topic names, or undefined when the topic does not match (or its level is empty). */
  deviceIdOf(topic: string): string | undefined;
}

/** The named segment that holds the device id. */
const DEVICE_SEGMENT = '+deviceId';

/** Parses a pattern, or throws an Error saying what is wrong with it (configuration is checked at start-up). */
export function parseTopicPattern(pattern: string): TopicPattern {
  const levels = pattern.split('/');
  const deviceLevel = levels.indexOf(DEVICE_SEGMENT);
  if (deviceLevel === -1 || levels.lastIndexOf(DEVICE_SEGMENT) !== deviceLevel) {
    throw new Error(`must name the device id's level exactly once with ${DEVICE_SEGMENT} (e.g. fleet/${DEVICE_SEGMENT}/telemetry)`);
  }
  levels.forEach((level, index) => {
    if (index === deviceLevel || level === '+') return;
    if (level === '#') {
      if (index !== levels.length - 1) throw new Error('# may only be the last level');
      return;
    }
    if (level.includes('+') || level.includes('#')) throw new Error(`level "${level}": a wildcard must fill a whole level (+, #, or ${DEVICE_SEGMENT})`);
  });
  const multiLevel = levels[levels.length - 1] === '#';
  const fixedLevels = multiLevel ? levels.length - 1 : levels.length;
  const filter = levels.map((level, index) => (index === deviceLevel ? '+' : level)).join('/');
  return {
    filter,
    deviceIdOf(topic) {
      const parts = topic.split('/');
      if (multiLevel ? parts.length < fixedLevels : parts.length !== fixedLevels) return undefined;
      for (let index = 0; index < fixedLevels; index++) {
        const level = levels[index]!;
        if (level !== '+' && index !== deviceLevel && level !== parts[index]) return undefined;
      }
      const deviceId = parts[deviceLevel]!;
      return deviceId === '' ? undefined : deviceId;
    },
  };
}
