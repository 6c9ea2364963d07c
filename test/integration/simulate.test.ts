import { execFile, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { DevicesDocument, ReadingsDocument } from '../generated/graphql';
import { allNodes } from '../support/paging';
import { eventually, newDataDir, randomKey, startTestServer } from '../support/server';
import { killHard, startServiceProcess, stopGracefully, type ServiceProcess } from '../support/service-process';

const run = promisify(execFile);
const SIMULATE = path.join(__dirname, '..', '..', 'src', 'tools', 'simulate.js');

describe('npm run simulate', () => {
  it('registers devices and sends readings through the public API', async () => {
    const server = await startTestServer();
    try {
      // The service's base address, as export, import and the examples take it (it used to be
      // refused with "HTTP 405; is the service running?": only the /graphql endpoint worked).
      const { stdout } = await run(process.execPath, [SIMULATE, '--devices', '3', '--rate', '20', '--duration', '1', '--url', server.baseUrl], {
        env: { ...process.env, TELEMETRY_ADMIN_KEY: server.adminKey },
      });
      expect(stdout).toMatch(/registered 3 devices/);
      const accepted = Number(/done: (\d+) readings accepted, 0 rejected/.exec(stdout)?.[1]);
      // Each 100 ms tick sends 3 devices x 20/s x 100 ms = 6 readings. The first always runs;
      // how many of the other nine fit in the second depends on how fast the machine answers
      // (a slow tick is not made up), so only the rate's upper bound is exact.
      expect(accepted).toBeGreaterThanOrEqual(6);
      expect(accepted).toBeLessThanOrEqual(66);
      const devices = await server.ok(DevicesDocument, { filter: { tag: 'simulated' } });
      expect(devices.devices.edges.map((e) => e.node.id)).toEqual(['sim-001', 'sim-002', 'sim-003']);
      // Every accepted reading is stored: no two readings of a device share a timestamp.
      await eventually(async () => {
        let stored = 0;
        for (const id of ['sim-001', 'sim-002', 'sim-003']) {
          // Every page: how many readings the simulator sent depends on the machine.
          stored += (await allNodes(async (after) => (await server.ok(ReadingsDocument, { deviceId: id, metric: 'temperature', first: 1000, after })).readings))
            .length;
        }
        return stored === accepted ? true : undefined;
      });
    } finally {
      await server.close();
    }
  });

  it('with --mqtt, each device publishes over MQTT with its own key, and every acknowledged reading is stored', async () => {
    const server = await startTestServer({ TELEMETRY_MQTT_PORT: '0' });
    try {
      const args = ['--devices', '2', '--rate', '20', '--duration', '1', '--url', server.app.url, '--mqtt', '--mqtt-url', server.app.mqttUrl!];
      const { stdout } = await run(process.execPath, [SIMULATE, ...args], { env: { ...process.env, TELEMETRY_ADMIN_KEY: server.adminKey } });
      expect(stdout).toContain('(MQTT, QoS 1)');
      const accepted = Number(/done: (\d+) readings accepted, 0 rejected/.exec(stdout)?.[1]);
      expect(accepted).toBeGreaterThanOrEqual(4);
      await eventually(async () => {
        let stored = 0;
        for (const id of ['sim-001', 'sim-002'])
          stored += (await allNodes(async (after) => (await server.ok(ReadingsDocument, { deviceId: id, metric: 'temperature', first: 1000, after })).readings))
            .length;
        return stored === accepted ? true : undefined;
      });
      // Run again: the devices exist, so each takes a new key (rotateDeviceKey) and connects with it.
      const again = await run(process.execPath, [SIMULATE, ...args], { env: { ...process.env, TELEMETRY_ADMIN_KEY: server.adminKey } });
      expect(again.stdout).toMatch(/done: \d+ readings accepted, 0 rejected/);
    } finally {
      await server.close();
    }
  });

  it('explains a missing or wrong key instead of failing obscurely', async () => {
    const server = await startTestServer();
    try {
      const env = { ...process.env };
      delete env['TELEMETRY_ADMIN_KEY'];
      await expect(run(process.execPath, [SIMULATE, '--url', server.app.url, '--duration', '1'], { env })).rejects.toMatchObject({
        stderr: expect.stringMatching(/no API key/),
      });
      await expect(
        run(process.execPath, [SIMULATE, '--url', server.app.url, '--key', 'tk_wrong_key_wrong_key_wrong_key_wrong', '--duration', '1'], { env }),
      ).rejects.toMatchObject({
        stderr: expect.stringMatching(/API key was refused/),
      });
    } finally {
      await server.close();
    }
  });

  it('carries on through a restart of the service, like a device, and what it sends afterwards is stored', async () => {
    const dataDir = newDataDir();
    const key = randomKey();
    const env = { TELEMETRY_DATA_DIR: dataDir, TELEMETRY_ADMIN_KEY: key };
    let service: ServiceProcess | undefined = await startServiceProcess(env);
    const url = service.url;
    const simulator = spawn(process.execPath, [SIMULATE, '--devices', '2', '--rate', '20', '--url', url], {
      env: { ...process.env, TELEMETRY_ADMIN_KEY: key },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    simulator.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    simulator.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const newest = async (): Promise<number> => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({
          query: 'query { readings(deviceId: "sim-001", metric: "temperature", first: 1, order: NEWEST_FIRST) { edges { node { timestamp } } } }',
        }),
      });
      const body = (await response.json()) as { data?: { readings: { edges: { node: { timestamp: string } }[] } } };
      const edge = body.data?.readings.edges[0];
      return edge ? Date.parse(edge.node.timestamp) : 0;
    };
    try {
      await eventually(async () => ((await newest()) > 0 ? true : undefined), 20_000, 'readings from the simulator');
      // A crash (connections reset mid-request), then the service comes back on the same port.
      await killHard(service);
      service = undefined;
      await eventually(() => (/service unavailable/.test(output) ? true : undefined), 20_000, 'the simulator to notice');
      const restartedAt = Date.now();
      service = await startServiceProcess({ ...env, PORT: new URL(url).port });
      await eventually(async () => ((await newest()) > restartedAt ? true : undefined), 30_000, 'readings sent after the restart to be stored');
      expect(simulator.exitCode).toBeNull();
      expect(output).toMatch(/service back after [\d.]+ s; carrying on/);
    } finally {
      simulator.kill('SIGKILL');
      if (service) await stopGracefully(service);
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
