import { parseTopicPattern } from '../../src/domain/topic-pattern';

describe('MQTT bridge topic patterns: where a topic names the device', () => {
  it('subscribes to the pattern as an MQTT filter and reads the device id from its named level', () => {
    const pattern = parseTopicPattern('fleet/+deviceId/telemetry');
    expect(pattern.filter).toBe('fleet/+/telemetry');
    expect(pattern.deviceIdOf('fleet/pump-7/telemetry')).toBe('pump-7');
  });

  it('matches bare + levels and a final # like the broker does', () => {
    const pattern = parseTopicPattern('site/+/+deviceId/#');
    expect(pattern.filter).toBe('site/+/+/#');
    expect(pattern.deviceIdOf('site/lyon/pump-7/readings/v2')).toBe('pump-7');
    expect(pattern.deviceIdOf('site/lyon/pump-7')).toBe('pump-7');
  });

  it.each([
    ['another literal level', 'fleet/pump-7/status'],
    ['a level too many', 'fleet/pump-7/telemetry/extra'],
    ['a level too few', 'fleet/pump-7'],
    ['an empty device level', 'fleet//telemetry'],
  ])('does not match %s', (_label, topic) => {
    expect(parseTopicPattern('fleet/+deviceId/telemetry').deviceIdOf(topic)).toBeUndefined();
  });

  it.each([
    ['no device level', 'fleet/+/telemetry', 'exactly once'],
    ['two device levels', '+deviceId/+deviceId', 'exactly once'],
    ['# before the end', 'fleet/#/+deviceId', '# may only be the last level'],
    ['a wildcard inside a level', 'fleet/+deviceId/tele+metry', 'whole level'],
  ])('refuses a pattern with %s', (_label, pattern, message) => {
    expect(() => parseTopicPattern(pattern)).toThrow(message);
  });
});
