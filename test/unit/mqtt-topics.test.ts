import { answeredCommandId, checkDevicePublish, checkDeviceSubscribe, topicMatches } from '../../src/domain/mqtt-topics';

describe('MQTT topics a device may use', () => {
  it('publishes only its own readings and answers to its own commands', () => {
    expect(checkDevicePublish('pump-1', 'devices/pump-1/readings')).toBeUndefined();
    expect(checkDevicePublish('pump-1', 'devices/pump-1/commands/0190aa-1/response')).toBeUndefined();
    for (const topic of [
      'devices/pump-2/readings',
      'devices/pump-1/errors',
      'devices/pump-1/readings/x',
      'devices/pump-1',
      'readings',
      'devices/pump-2/commands/c1/response',
      'devices/pump-1/commands/reboot',
      'devices/pump-1/commands//response',
      'devices/pump-1/commands/a/b/response',
      'devices/pump-1/commands/+/response',
    ])
      expect(checkDevicePublish('pump-1', topic)).toBe('a device publishes only to devices/pump-1/readings or devices/pump-1/commands/{commandId}/response');
  });

  it('reads the command id a response topic answers', () => {
    expect(answeredCommandId('pump-1', 'devices/pump-1/commands/abc-1/response')).toBe('abc-1');
    expect(answeredCommandId('pump-1', 'devices/pump-10/commands/abc-1/response')).toBeUndefined();
    expect(answeredCommandId('pump-1', 'devices/pump-1/commands/abc-1')).toBeUndefined();
  });

  it('subscribes under its own prefix; wildcards never reach the device id', () => {
    for (const filter of ['devices/pump-1/#', 'devices/pump-1/errors', 'devices/pump-1/commands/+', 'devices/pump-1/+/+/response'])
      expect(checkDeviceSubscribe('pump-1', filter)).toBeUndefined();
    for (const filter of [
      '#',
      '+/pump-1/#',
      'devices/+/errors',
      'devices/#',
      'devices/pump-1',
      'devices/pump-1/',
      'devices/pump-10/#',
      'devices/pump-1/#/x',
      'devices/pump-1/err+',
      '$share/g/devices/pump-1/#',
    ])
      expect(checkDeviceSubscribe('pump-1', filter)).toMatch(/subscribes only to topics under devices\/pump-1\//);
  });

  it('matches topics against filters as MQTT does', () => {
    expect(topicMatches('devices/a/#', 'devices/a/errors')).toBe(true);
    expect(topicMatches('devices/a/+', 'devices/a/errors')).toBe(true);
    expect(topicMatches('devices/a/+', 'devices/a/commands/reboot')).toBe(false);
    expect(topicMatches('devices/a/errors', 'devices/a/errors')).toBe(true);
    expect(topicMatches('devices/a/errors/#', 'devices/a/errors')).toBe(true);
    expect(topicMatches('devices/a/commands', 'devices/a/errors')).toBe(false);
  });
});
