import { checkCommandInput, commandAfter, parseCommandResponse, type Command } from '../../src/domain/command';
import { TelemetryError } from '../../src/domain/errors';

const pending: Command = {
  id: 'c1',
  tenantId: 't1',
  deviceId: 'd1',
  name: 'reboot',
  payload: {},
  status: 'PENDING',
  createdAt: 0,
  expiresAt: 1000,
  updatedAt: 0,
};
const bytes = (text: string) => Buffer.from(text);

describe('a command', () => {
  it('goes PENDING -> DELIVERED -> SUCCEEDED with the result the device gave', () => {
    const delivered = commandAfter(pending, { kind: 'delivered' }, 10)!;
    expect(delivered.status).toBe('DELIVERED');
    const done = commandAfter(delivered, { kind: 'answered', response: { status: 'SUCCEEDED', result: { uptime: 3 } } }, 20)!;
    expect(done).toMatchObject({ status: 'SUCCEEDED', result: { uptime: 3 }, updatedAt: 20 });
  });

  it('takes an answer to a PENDING command (the device got it) and FAILED as final', () => {
    expect(commandAfter(pending, { kind: 'answered', response: { status: 'FAILED' } }, 5)?.status).toBe('FAILED');
  });

  it('expires only once its deadline passed, and nothing changes a final command', () => {
    expect(commandAfter(pending, { kind: 'expired' }, 999)).toBeUndefined();
    const expired = commandAfter(pending, { kind: 'expired' }, 1000)!;
    expect(expired.status).toBe('EXPIRED');
    expect(commandAfter(expired, { kind: 'answered', response: { status: 'SUCCEEDED' } }, 1001)).toBeUndefined();
    expect(commandAfter(expired, { kind: 'delivered' }, 1001)).toBeUndefined();
    const failed = commandAfter(pending, { kind: 'answered', response: { status: 'FAILED' } }, 5)!;
    expect(commandAfter(failed, { kind: 'answered', response: { status: 'SUCCEEDED' } }, 6)).toBeUndefined();
  });

  it('reads a device response and refuses anything else with BAD_USER_INPUT', () => {
    expect(parseCommandResponse(bytes('{"status":"SUCCEEDED","result":[1]}'))).toEqual({ status: 'SUCCEEDED', result: [1] });
    expect(parseCommandResponse(bytes('{"status":"FAILED"}'))).toEqual({ status: 'FAILED' });
    for (const bad of ['not json', '[]', 'null', '"SUCCEEDED"', '{}', '{"status":"DONE"}', '{"status":"succeeded"}']) {
      const thrown = (() => {
        try {
          parseCommandResponse(bytes(bad));
        } catch (error) {
          return error;
        }
        return undefined;
      })();
      expect(thrown).toBeInstanceOf(TelemetryError);
      expect((thrown as TelemetryError).code).toBe('BAD_USER_INPUT');
    }
  });

  it('checks the name (one topic level) and the timeout', () => {
    expect(() => checkCommandInput('reboot', 30)).not.toThrow();
    for (const name of ['', 'a/b', '#', '+', 'x'.repeat(65), '-lead'])
      expect(() => checkCommandInput(name, 30)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', details: { field: 'name' } }));
    for (const timeout of [0, -1, 1.5, Number.NaN, 8 * 24 * 3600])
      expect(() => checkCommandInput('reboot', timeout)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', details: { field: 'timeoutSeconds' } }));
  });
});
