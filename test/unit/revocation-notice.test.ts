import { parseRevocationNotice, REVOCATION_NOTICE_KEYS } from '../../src/domain/revocation-notice';
import { EventTail } from '../../src/subscriptions/event-tail';
import { openEmbeddedBackends, type EmbeddedBackends } from '../support/embedded';
import { recordingLogger } from '../support/logger';
import { eventually } from '../support/server';

describe('revocation notices (events topic)', () => {
  it('accepts revokedKeys with a non-empty list of key ids, keeping only the notice fields', () => {
    expect(parseRevocationNotice({ kind: 'revokedKeys', keyIds: ['k1', 'k2'], traceparent: '00-x', extra: 1 })).toEqual({
      ok: true,
      notice: { kind: 'revokedKeys', keyIds: ['k1', 'k2'] },
    });
  });

  it('accepts deviceDeleted with its tenant and device', () => {
    expect(parseRevocationNotice({ kind: 'deviceDeleted', tenantId: 't', deviceId: 'pump-1' })).toEqual({
      ok: true,
      notice: { kind: 'deviceDeleted', tenantId: 't', deviceId: 'pump-1' },
    });
  });

  it.each([
    ['not an object', null],
    ['an array', [{ kind: 'revokedKeys', keyIds: ['k1'] }]],
    ['another kind', { kind: 'status', changes: [] }],
    ['revokedKeys without keyIds', { kind: 'revokedKeys' }],
    ['revokedKeys with no key', { kind: 'revokedKeys', keyIds: [] }],
    ['revokedKeys with a string for keyIds', { kind: 'revokedKeys', keyIds: 'k1' }],
    ['revokedKeys with a number among the ids', { kind: 'revokedKeys', keyIds: ['k1', 7] }],
    ['revokedKeys with an empty id', { kind: 'revokedKeys', keyIds: [''] }],
    ['revokedKeys with an id too long', { kind: 'revokedKeys', keyIds: ['k'.repeat(257)] }],
    ['deviceDeleted without deviceId', { kind: 'deviceDeleted', tenantId: 't' }],
    ['deviceDeleted with a numeric tenant', { kind: 'deviceDeleted', tenantId: 1, deviceId: 'd' }],
  ])('refuses %s, with a reason', (_what, message) => {
    const parsed = parseRevocationNotice(message);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.reason).toMatch(/\w/);
  });

  describe('read by an API node', () => {
    let backends: EmbeddedBackends;
    beforeEach(async () => {
      backends = await openEmbeddedBackends();
    });
    afterEach(() => backends.close());

    it('skips and logs a malformed notice (or one its handler fails on) and goes on with the next', async () => {
      const logger = recordingLogger();
      const revoked: string[][] = [];
      const deleted: string[] = [];
      const tail = new EventTail(
        backends.stream,
        {
          readings: () => {},
          anomalies: () => {},
          statusChanges: () => {},
          commands: () => {},
          revokedKeys: (keyIds) => {
            if (keyIds.includes('boom')) throw new Error('handler failed');
            revoked.push([...keyIds]);
          },
          deviceDeleted: (tenantId, deviceId) => deleted.push(`${tenantId}/${deviceId}`),
        },
        logger,
      );
      await tail.start();
      try {
        // One key, one partition: read in this order, in one batch.
        const key = REVOCATION_NOTICE_KEYS.revokedKeys;
        await backends.stream.produce(
          'events',
          [
            { kind: 'revokedKeys', keyIds: 'k0' },
            null,
            { kind: 'deviceDeleted', tenantId: 't' },
            { kind: 'revokedKeys', keyIds: ['boom'] },
            { kind: 'revokedKeys', keyIds: ['k1', 'k2'] },
            { kind: 'deviceDeleted', tenantId: 't', deviceId: 'd1' },
          ].map((message) => ({ key, value: JSON.stringify(message) })),
        );
        await eventually(() => (deleted.length > 0 ? true : undefined), 10_000, 'the last notice');
        expect(revoked).toEqual([['k1', 'k2']]);
        expect(deleted).toEqual(['t/d1']);
        const warnings = logger.lines.filter((line) => line.level === 'warn').map((line) => line.message);
        expect(warnings).toEqual([
          'skipping a malformed revocation notice',
          'skipping an events message that is not a JSON object',
          'skipping a malformed revocation notice',
          'skipping an events message that could not be delivered',
        ]);
      } finally {
        await tail.stop();
      }
    });
  });
});
