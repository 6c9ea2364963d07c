// Runs the build (tsc, then the web console's bundle) only when a source file is newer than the
// last build, so `npm start` is fast after the first run and always serves the current code.
const { statSync, readdirSync, existsSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { execFileSync } = require('node:child_process');

const root = join(__dirname, '..');
// tsc leaves unchanged outputs untouched, so a stamp written after each build marks its time.
const marker = join(root, 'dist', '.build-stamp');

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(full));
    else if (/\.(ts|tsx|css|html)$/.test(entry.name)) latest = Math.max(latest, statSync(full).mtimeMs);
  }
  return latest;
}

const sources = Math.max(
  ...['src', 'bench', 'test', 'web']
    .map((d) => join(root, d))
    .filter(existsSync)
    .map(newest),
  statSync(join(root, 'tsconfig.json')).mtimeMs,
);
if (!existsSync(marker) || statSync(marker).mtimeMs < sources) {
  process.stderr.write('building (tsc, web console)...\n');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit', cwd: root });
  execFileSync(process.execPath, [join(root, 'scripts', 'build-web.js')], { stdio: 'inherit', cwd: root });
  writeFileSync(marker, new Date().toISOString());
}
