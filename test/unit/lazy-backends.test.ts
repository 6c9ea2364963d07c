import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * The Oracle driver and the OCI SDK load only when the configuration names them: a process on
 * the embedded backends (and the consumer function's cold start) does not pay for them.
 * Checked in a fresh process, whose module cache starts empty.
 */
const DIST_SRC = path.join(__dirname, '..', '..', 'src');

function packagesLoadedBy(module: string): string[] {
  const script = `
    require(${JSON.stringify(path.join(DIST_SRC, module))});
    const loaded = new Set();
    for (const file of Object.keys(require.cache)) {
      const match = /node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)/.exec(file);
      if (match) loaded.add(match[1]);
    }
    process.stdout.write(JSON.stringify([...loaded]));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as string[];
}

describe('heavy backend clients are loaded only when configured', () => {
  it.each(['composition/backends.js', 'composition/function-runtime.js'])('%s loads neither oracledb nor the OCI SDK', (module) => {
    const loaded = packagesLoadedBy(module);
    expect(loaded).toContain('better-sqlite3'); // the embedded store is loaded: the check sees packages
    expect(loaded.filter((name) => /^(oracledb|oci-)/.test(name))).toEqual([]);
  });
});
