import { execFileSync } from 'node:child_process';

/** Whether `curl` is on the PATH: tests that run the documents' curl commands skip without it. */
export const hasCurl: boolean = (() => {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
