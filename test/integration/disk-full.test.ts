import { spawnSync } from 'node:child_process';
import { rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { eventually, newDataDir, randomKey } from '../support/server';
import { startServiceProcess, stopGracefully, type ServiceProcess } from '../support/service-process';
import { postGraphQL } from '../support/graphql-post';

/**
 * The database's disk fills up while devices keep sending: the stream still takes readings,
 * the consumer retries SQLITE_FULL and applies nothing. Health says so, with the reason, until
 * the disk has room again; then everything is applied.
 *
 * The database file lives on a 1 MiB tmpfs mounted in a private mount namespace (unshare), the
 * stream on the ordinary disk; "freeing space" grows that tmpfs (nsenter + remount).
 */

const probe = spawnSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs /mnt'], { encoding: 'utf8' });
const nsenter = spawnSync('nsenter', ['--version'], { encoding: 'utf8' });
const available = probe.status === 0 && nsenter.status === 0;
if (!available)
  console.warn(`disk-full test skipped: cannot mount a tmpfs in a private namespace (${(probe.stderr || String(probe.error ?? nsenter.error)).trim()})`);
const maybe = available ? it : it.skip;

const READINGS = 5000;

describe('a full disk under the database', () => {
  maybe(
    'makes health report the stuck consumer with SQLITE_FULL until there is room, then everything is applied',
    async () => {
      const dataDir = newDataDir();
      const small = newDataDir();
      const key = randomKey();
      symlinkSync(path.join(small, 'telemetry.db'), path.join(dataDir, 'telemetry.db'));
      let service: ServiceProcess | undefined;
      try {
        service = await startServiceProcess({ TELEMETRY_DATA_DIR: dataDir, TELEMETRY_ADMIN_KEY: key, TELEMETRY_CONSUMER_STUCK_SECONDS: '1' }, [], {
          launcher: ['unshare', '-rm', 'sh', '-c', `mount -t tmpfs -o size=1m tmpfs "${small}" && exec "$0" "$@"`],
        });
        const base = service.url.replace(/\/graphql$/, '');
        const health = async (route: string) => {
          const response = await fetch(`${base}${route}`);
          return { status: response.status, body: (await response.json()) as { reasons?: string[]; consumer?: { appliedReadings: number } } };
        };
        expect(await postGraphQL(service.url, key, 'mutation { registerDevice(input: { id: "boiler-1" }) { device { id } } }', {})).toMatchObject({ data: {} });
        const start = Date.now() - 86_400_000;
        for (let batch = 0; batch < READINGS / 1000; batch++) {
          const readings = Array.from({ length: 1000 }, (_, i) => ({
            deviceId: 'boiler-1',
            timestamp: start + (batch * 1000 + i) * 1000,
            metrics: [
              { name: 'temperature', value: i },
              { name: 'pressure', value: i },
              { name: 'flow', value: i },
            ],
          }));
          // The stream, on the other disk, still takes every reading.
          expect(
            await postGraphQL(service.url, key, 'mutation($r: [ReadingInput!]!) { ingestReadings(readings: $r) { acceptedCount } }', { r: readings }),
          ).toEqual({
            data: { ingestReadings: { acceptedCount: 1000 } },
          });
        }

        // Until it says why: on a loaded machine a consumer thread busy with the full disk may first
        // be reported as not reporting (the same 1 s), which is true but not the point here.
        const stuck = await eventually(
          async () => {
            const answer = await health('/healthz');
            return answer.status === 503 && answer.body.reasons?.some((reason) => reason.includes('SQLITE_FULL')) ? answer : undefined;
          },
          30_000,
          '/healthz to report the full disk',
        );
        expect(stuck.body.reasons).toEqual([
          expect.stringMatching(/^consumer: the consumer has been retrying for \d+ s, nothing applied: database error SQLITE_FULL: database or disk is full/),
        ]);
        expect((await health('/readyz')).status).toBe(503);
        expect(stuck.body.consumer!.appliedReadings).toBeLessThan(READINGS);

        // Room again: the same retries now succeed.
        const grown = spawnSync('nsenter', ['-t', String(service.pid), '-U', '-m', 'mount', '-o', 'remount,size=64m', small], { encoding: 'utf8' });
        expect({ status: grown.status, stderr: grown.stderr }).toEqual({ status: 0, stderr: '' });
        const recovered = await eventually(
          async () => {
            const answer = await health('/healthz');
            return answer.status === 200 && answer.body.consumer!.appliedReadings === READINGS ? answer : undefined;
          },
          30_000,
          'every reading applied',
        );
        expect(recovered.body.reasons).toBeUndefined();
        expect((await health('/readyz')).status).toBe(200);
        expect(await stopGracefully(service)).toBe(0);
      } finally {
        if (service && service.child.exitCode === null) service.child.kill('SIGKILL');
        rmSync(dataDir, { recursive: true, force: true });
        rmSync(small, { recursive: true, force: true });
      }
    },
    90_000,
  );
});
