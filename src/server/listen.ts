import type { Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config';
import { describeSystemError, StartupError } from '../startup-error';

/** The variables that set a port the service listens on. */
export type PortVariable = 'PORT' | 'TELEMETRY_METRICS_PORT' | 'TELEMETRY_MQTT_PORT';

/**
 * Listens on the configured host and port; returns the URLs clients should use. A port in use
 * or a host that is not this machine's is a StartupError naming HOST and PORT.
 */
export async function listen(
  server: Server,
  config: Pick<Config, 'port' | 'host'>,
  /** The variable that set the port, named in the error. */
  portVariable: PortVariable = 'PORT',
): Promise<{ port: number; url: string; wsUrl: string }> {
  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => reject(listenError(error, config, portVariable));
    server.once('error', failed);
    server.listen(config.port, config.host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  return { port, url: `http://${host}:${port}/graphql`, wsUrl: `ws://${host}:${port}/graphql` };
}

/** What to change for each way listening fails. */
const LISTEN_ADVICE: Readonly<Record<string, string>> = {
  EADDRINUSE: 'stop the other process or set PORT to a free port (0 picks any)',
  EACCES: 'ports below 1024 need privileges: set PORT to 1024 or above',
  EADDRNOTAVAIL: 'set HOST to an address of this machine (127.0.0.1, or 0.0.0.0 for all)',
  ENOTFOUND: 'set HOST to an address of this machine (127.0.0.1, or 0.0.0.0 for all)',
  EAI_AGAIN: 'set HOST to an IP address, or check DNS',
};

function listenError(error: NodeJS.ErrnoException, config: Pick<Config, 'port' | 'host'>, portVariable: PortVariable): StartupError {
  const advice = LISTEN_ADVICE[error.code ?? '']?.replace(/\bPORT\b/, portVariable);
  return new StartupError(
    `cannot listen on ${config.host}:${config.port} (HOST, ${portVariable}): ${describeSystemError(error)}${advice ? `; ${advice}` : ''}`,
    ['HOST', portVariable],
    error,
  );
}
