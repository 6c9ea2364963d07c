import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The `node` options of package.json's start script (`exec node <options> dist/src/main.js`):
 * what the benchmarks start the service with, and what the image's entry point must repeat.
 * Throws when the script no longer has that shape, so neither silently drifts.
 */
export function npmStartNodeOptions(): string[] {
  // From dist/test/support: the repository's root is three levels up.
  const start = (JSON.parse(readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const options = /^exec node (.*) dist\/src\/main\.js$/.exec(start)?.[1];
  if (options === undefined) throw new Error(`package.json's start script is not "exec node <options> dist/src/main.js": ${start}`);
  return options.split(' ');
}
