import pino from 'pino';

export type Logger = pino.Logger;

/** JSON logs on stdout (one line per event), as log shippers expect. */
export function createLogger(level: string, name = 'telemetry'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}
