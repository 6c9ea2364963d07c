import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describeSystemError, StartupError } from '../startup-error';

/**
 * The embedded backends keep their files in TELEMETRY_DATA_DIR. The operating system and
 * SQLite describe a directory they cannot use tersely and often misleadingly (a read-only
 * filesystem makes a recursive mkdir report ENOENT; SQLite says "unable to open database file"
 * without a path), so a failure here is re-diagnosed from the filesystem and reported as one
 * line naming the path, the cause and the setting.
 */

/** Creates the data directory (and its parents) if needed. */
export function ensureDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new StartupError(`cannot create the data directory ${dir} (TELEMETRY_DATA_DIR): ${diagnose(dir, undefined, error)}`, ['TELEMETRY_DATA_DIR'], error);
  }
}

/**
 * Runs `open` (which opens `file` in the data directory); a failure that is about the file or
 * its directory becomes a StartupError saying which and why. Other failures (a log with another
 * partition count, a newer schema) already say what to do and pass through unchanged.
 */
export function openInDataDir<T>(dir: string, file: string, what: string, open: () => T): T {
  try {
    return open();
  } catch (error) {
    if (!isFileFailure(error)) throw error;
    throw new StartupError(`cannot open the ${what} ${file} (TELEMETRY_DATA_DIR): ${diagnose(dir, file, error)}`, ['TELEMETRY_DATA_DIR'], error);
  }
}

/** SQLite codes that mean the file or its directory cannot be used, and system errno codes. */
const FILE_FAILURE = /^(SQLITE_(CANTOPEN|READONLY|IOERR|FULL|PERM|NOTADB|CORRUPT)|E[A-Z]+$)/;

function isFileFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && FILE_FAILURE.test(code);
}

/** The concrete cause, found by looking at the path itself; the original error when none shows. */
function diagnose(dir: string, file: string | undefined, original: unknown): string {
  // A file where a directory should be, anywhere along the path.
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    if (existsSync(at) && !statSync(at).isDirectory()) return `${at} is a file, not a directory (ENOTDIR)`;
    if (path.dirname(at) === at) break;
  }
  // The directory, or the nearest ancestor that exists when it does not, must be writable:
  // SQLite creates its -wal and -shm files next to the database.
  let existing = path.resolve(dir);
  while (!existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  const unwritable = failure(() => accessSync(existing, constants.W_OK | constants.X_OK));
  if (unwritable) return `${existing}: ${describeSystemError(unwritable)}`;
  if (file && existsSync(file)) {
    if (statSync(file).isDirectory()) return `${file}: ${describeSystemError({ code: 'EISDIR' })}`;
    const unusable = failure(() => accessSync(file, constants.R_OK | constants.W_OK));
    if (unusable) return `${file}: ${describeSystemError(unusable)}`;
  }
  return describeSystemError(original);
}

function failure(check: () => void): unknown {
  try {
    check();
    return undefined;
  } catch (error) {
    return error;
  }
}
