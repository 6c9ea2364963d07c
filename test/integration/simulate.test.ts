import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { DevicesDocument, ReadingsDocument } from '../generated/graphql';
import { eventually, startTestServer } from '../support/server';

const run = promisify(execFile);
const SIMULATE = path.join(__dirname, '..', '..', 'src', 'tools', 'simulate.js');

describe('npm run simulate', () => {
  it('registers devices and sends readings through the public API', async () => {
    const server = await startTestServer();
    try {
      const { stdout } = await run(process.execPath, [SIMULATE, '--devices', '3', '--rate', '20', '--duration', '1', '--url', server.app.url], {
        env: { ...process.env, TELEMETRY_ADMIN_KEY: server.adminKey },
      });
      expect(stdout).toMatch(/registered 3 devices/);
      const accepted = Number(/done: (\d+) readings accepted, 0 rejected/.exec(stdout)?.[1]);
      expect(accepted).toBeGreaterThanOrEqual(30);
      const devices = await server.ok(DevicesDocument, { filter: { tag: 'simulated' } });
      expect(devices.devices.edges.map((e) => e.node.id)).toEqual(['sim-001', 'sim-002', 'sim-003']);
      // Every accepted reading is stored: no two readings of a device share a timestamp.
      await eventually(async () => {
        let stored = 0;
        for (const id of ['sim-001', 'sim-002', 'sim-003']) {
          stored += (await server.ok(ReadingsDocument, { deviceId: id, metric: 'temperature', first: 1000 })).readings.edges.length;
        }
        return stored === accepted ? true : undefined;
      });
    } finally {
      await server.close();
    }
  });

  it('explains a missing or wrong key instead of failing obscurely', async () => {
    const server = await startTestServer();
    try {
      const env = { ...process.env };
      delete env['TELEMETRY_ADMIN_KEY'];
      await expect(run(process.execPath, [SIMULATE, '--url', server.app.url, '--duration', '1'], { env })).rejects.toMatchObject({ stderr: expect.stringMatching(/no API key/) });
      await expect(run(process.execPath, [SIMULATE, '--url', server.app.url, '--key', 'tk_wrong_key_wrong_key_wrong_key_wrong', '--duration', '1'], { env })).rejects.toMatchObject({
        stderr: expect.stringMatching(/API key was refused/),
      });
    } finally {
      await server.close();
    }
  });
});
