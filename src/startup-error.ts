import type { ConfigVariable } from './config';

/**
 * A setting that is valid but cannot work on this machine: the port is taken, the host is not
 * an address of this machine, the data directory cannot be written. Its message is the one
 * line an operator reads: what failed, where, why, and which settings to change. (A value that
 * is invalid in itself is a ConfigError instead.)
 */
export class StartupError extends Error {
  constructor(
    message: string,
    /** The settings that decide what failed (named in the message too). */
    readonly settings: readonly ConfigVariable[],
    /** The system error behind it (its `code`, e.g. EADDRINUSE), for logs. */
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'StartupError';
  }
}

/** Human words for the system error codes start-up meets; the code itself follows them. */
const REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the port is in use by another process',
  EADDRNOTAVAIL: 'the host is not an address of this machine',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved (DNS unavailable)',
  EROFS: 'read-only filesystem',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EISDIR: 'it is a directory, not a file',
  ENOENT: 'no such file or directory',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
};

/** "<words> (<CODE>)" for a system error; its message and code when the code is not listed. */
export function describeSystemError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && REASONS[code]) return `${REASONS[code]} (${code})`;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
}
