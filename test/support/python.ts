import { execFileSync } from 'node:child_process';

/**
 * A python3 that has the Python example's libraries (aiohttp, websockets): the one on the
 * PATH, or Debian's, where .ci/run installs python3-aiohttp and python3-websockets. Undefined
 * when there is none: the test of the Python example skips and says so.
 */
export const pythonWithExampleLibraries: string | undefined = ['python3', '/usr/bin/python3'].find((python) => {
  try {
    execFileSync(python, ['-c', 'import aiohttp, websockets'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});
