import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { classifyAddress, hostAddress } from '../domain/network';

export interface PostOptions {
  readonly timeoutMs: number;
  /** Allow loopback, private and link-local targets (development and tests only). */
  readonly allowPrivateNetworks: boolean;
}

export class BlockedAddressError extends Error {}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * DNS lookup that refuses non-public addresses, used as the socket's lookup: the address
 * checked is the address connected to, so DNS rebinding between a check and the connection
 * cannot slip through.
 */
function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) {
      callback(error, []);
      return;
    }
    for (const entry of addresses) {
      const verdict = classifyAddress(entry.address);
      if (!verdict.public) {
        callback(new BlockedAddressError(`${hostname} resolves to ${entry.address}, which is not a public address: ${verdict.reason}`), []);
        return;
      }
    }
    if (options.all) {
      callback(null, addresses);
      return;
    }
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}

/**
 * POSTs a body and resolves with the response status (the body is discarded). No redirects
 * are followed. Refuses non-public targets unless allowed (see domain/network.ts).
 */
export function postJson(url: string, headers: Record<string, string>, body: string, options: PostOptions): Promise<number> {
  const target = new URL(url);
  // An address literal is connected to without a lookup, so it is checked here.
  const address = hostAddress(target);
  const verdict = address === null ? null : classifyAddress(address);
  if (!options.allowPrivateNetworks && verdict && !verdict.public) {
    return Promise.reject(new BlockedAddressError(`${address} is not a public address: ${verdict.reason}`));
  }
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        timeout: options.timeoutMs,
        ...(options.allowPrivateNetworks ? {} : { lookup: guardedLookup }),
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(Object.assign(new Error(`no response within ${options.timeoutMs} ms`), { name: 'TimeoutError' })));
    request.on('error', reject);
    request.end(body);
  });
}
