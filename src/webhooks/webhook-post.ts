import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { classifyAddress, hostAddress } from '../domain/network';

export interface PostOptions {
  /** The whole POST, from connecting to the response's last byte, ms (not an idle time: a receiver trickling bytes cannot stretch it). */
  readonly timeoutMs: number;
  /** Allow loopback, private and link-local targets (development and tests only). */
  readonly allowPrivateNetworks: boolean;
  /** Cuts the POST short (PostCutShortError): the pass sending it was stopped. */
  readonly signal?: AbortSignal;
}

export class BlockedAddressError extends Error {}

/** The POST was stopped by its caller's signal, not by the receiver or the timeout: it says nothing of the receiver. */
export class PostCutShortError extends Error {}

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
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  // An aborted request fails with a bare AbortError: say which of the two stopped it.
  const why = (error: Error): Error => {
    if (!signal.aborted) return error;
    if (deadline.aborted) return Object.assign(new Error(`no response within ${options.timeoutMs} ms`), { name: 'TimeoutError' });
    return new PostCutShortError('the POST was cut short: the pass sending it was stopped');
  };
  if (options.signal?.aborted) return Promise.reject(why(new Error('aborted')));
  return new Promise((resolve, reject) => {
    const request = client.request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        signal,
        ...(options.allowPrivateNetworks ? {} : { lookup: guardedLookup }),
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', (error) => reject(why(error)));
      },
    );
    request.on('error', (error) => reject(why(error)));
    request.end(body);
  });
}
