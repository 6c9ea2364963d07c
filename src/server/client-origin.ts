import type { IncomingMessage } from 'node:http';
import { TLSSocket } from 'node:tls';
import { clientOrigin, type ClientOrigin, type TrustedProxies } from '../domain/trusted-proxies';

/**
 * The client a request came from (address and protocol), believing X-Forwarded-For and
 * X-Forwarded-Proto only from the trusted proxies (TELEMETRY_TRUSTED_PROXIES): behind OCI API
 * Gateway or a load balancer every peer is the proxy, and the logs must name the real client.
 */
export function clientOriginOf(trusted: TrustedProxies): (request: IncomingMessage) => ClientOrigin {
  return (request) =>
    clientOrigin(
      trusted,
      request.socket.remoteAddress,
      request.headers['x-forwarded-for'],
      request.headers['x-forwarded-proto'],
      request.socket instanceof TLSSocket ? 'https' : 'http',
    );
}
