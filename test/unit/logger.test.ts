import { createLogger } from '../../src/logger';

/** The root logger writing to a list instead of stdout; each entry is one parsed JSON line. */
function capture(level = 'debug') {
  const lines: string[] = [];
  const logger = createLogger(level, { write: (line: string) => void lines.push(line) });
  return { logger, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('logs', () => {
  it('are JSON lines with the time in ISO 8601, the process id and the service name', () => {
    const { logger, entries } = capture();
    const before = Date.now();
    logger.info({ port: 4000 }, 'started');
    const [entry] = entries();
    expect(entry).toMatchObject({ level: 30, pid: process.pid, name: 'telemetry', port: 4000, msg: 'started' });
    expect(entry!['time']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(Date.parse(entry!['time'] as string)).toBeGreaterThanOrEqual(before - 1);
  });

  it('name the component that wrote them, bound once on a child logger', () => {
    const { logger, entries } = capture();
    const webhooks = logger.child({ component: 'webhooks' });
    webhooks.warn({ attempts: 3 }, 'webhook delivery failed; will retry');
    webhooks.child({ component: 'api' }).error({}, 'nested');
    expect(entries()).toEqual([
      expect.objectContaining({ level: 40, component: 'webhooks', attempts: 3, msg: 'webhook delivery failed; will retry' }),
      expect.objectContaining({ level: 50, component: 'api', msg: 'nested' }),
    ]);
  });

  it('serialize an error under err with its message and stack, and drop lines below the level', () => {
    const { logger, entries } = capture('info');
    logger.debug({}, 'not written');
    logger.error({ err: new Error('disk full') }, 'persister round failed');
    const [entry] = entries();
    expect(entries()).toHaveLength(1);
    expect(entry!['err']).toMatchObject({ type: 'Error', message: 'disk full', stack: expect.stringContaining('disk full') });
  });
});
