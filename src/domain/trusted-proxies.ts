import ipaddr from 'ipaddr.js';
import { parseIpAddress } from './network';

/**
 * Which peers may say who the client is (X-Forwarded-For) and how it connected
 * (X-Forwarded-Proto): the API Gateway, load balancers and ingress controllers in front of
 * the service. A header from any other peer is the client's own claim, and a client can claim
 * anything, so it is ignored.
 */
export interface TrustedProxies {
  /** Whether a peer at this address is one of the proxies. */
  trusts(address: string): boolean;
  /** The ranges as configured, normalised (for start-up logs). */
  readonly ranges: readonly string[];
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * Parses a comma-separated list of CIDR ranges and single addresses (`10.0.0.0/8, 192.168.1.7,
 * fd00::/8`); an empty list trusts nobody. Throws an Error naming the entry that is not one.
 */
export function parseTrustedProxies(list: string): TrustedProxies {
  const ranges: Range[] = [];
  for (const entry of list.split(',').map((item) => item.trim())) {
    if (entry === '') continue;
    const range = parseRange(entry);
    if (!range) throw new Error(`"${entry}" is not an IP address or a CIDR range (e.g. 10.0.0.0/8 or fd00::/8)`);
    ranges.push(range);
  }
  return {
    ranges: ranges.map(([address, bits]) => `${address.toString()}/${bits}`),
    trusts(text) {
      const address = parseAddress(text);
      return address !== undefined && ranges.some((range) => address.kind() === range[0].kind() && address.match(range));
    },
  };
}

/** `address` or `address/bits`, the address in an inet_pton spelling (a range is as strict as a peer's address). */
function parseRange(entry: string): Range | undefined {
  const [text, bits, extra] = entry.split('/');
  const address = parseIpAddress(text!);
  if (address === null || extra !== undefined) return undefined;
  const width = address.kind() === 'ipv4' ? 32 : 128;
  if (bits === undefined) return [address, width];
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > width) return undefined;
  return [address, Number(bits)];
}

/**
 * An address as a peer (inet_pton spellings only, as network.ts reads them) or a forwarding header gives it: IPv4-mapped IPv6 (`::ffff:10.0.0.1`,
 * what a dual-stack socket reports for an IPv4 peer) read as the IPv4 address; a port or the
 * brackets some proxies write (`10.0.0.1:5123`, `[fd00::1]:443`) dropped.
 */
function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  let candidate = text.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(candidate);
  if (bracketed) candidate = bracketed[1]!;
  else if (/^[\d.]+:\d+$/.test(candidate)) candidate = candidate.slice(0, candidate.lastIndexOf(':'));
  const address = parseIpAddress(candidate);
  if (address === null) return undefined;
  return address.kind() === 'ipv6' && address.range() === 'ipv4Mapped' ? (address as ipaddr.IPv6).toIPv4Address() : address;
}

/** The protocols X-Forwarded-Proto may name. */
export type ClientProtocol = 'http' | 'https';

/** Who a request really came from, as far as the trusted proxies tell. */
export interface ClientOrigin {
  /** The client's address: the peer's own, or the nearest untrusted address of the forwarding chain. */
  readonly address: string;
  /** How the client reached the first proxy (X-Forwarded-Proto from a trusted peer), or how the peer reached us. */
  readonly protocol: ClientProtocol;
}

/**
 * The client behind a chain of proxies. X-Forwarded-For is read right to left, each proxy
 * having appended the address it received the request from: starting at the peer, while the
 * current hop is trusted, the next address to the left is believed. The first address that is
 * not a trusted proxy is the client; whatever lies left of it was written by the client, or by
 * proxies nobody vouches for, and is ignored. An entry that is not an address ends the walk at
 * the trusted proxy that forwarded it. X-Forwarded-Proto is believed only from a trusted peer,
 * and only its last value (the one the nearest proxy set).
 */
export function clientOrigin(
  trusted: TrustedProxies,
  peer: string | undefined,
  forwardedFor: string | readonly string[] | undefined,
  forwardedProto: string | readonly string[] | undefined,
  ownProtocol: ClientProtocol,
): ClientOrigin {
  const peerAddress = peer === undefined ? undefined : parseAddress(peer);
  let address = peerAddress?.toString() ?? peer ?? 'unknown';
  if (peerAddress === undefined || !trusted.trusts(address)) return { address, protocol: ownProtocol };
  const hops = headerValues(forwardedFor);
  for (let index = hops.length - 1; index >= 0 && trusted.trusts(address); index--) {
    const hop = parseAddress(hops[index]!);
    if (hop === undefined) break;
    address = hop.toString();
  }
  const proto = headerValues(forwardedProto).at(-1)?.toLowerCase();
  return { address, protocol: proto === 'http' || proto === 'https' ? proto : ownProtocol };
}

/** A header's comma-separated values, across repeated headers, in order. */
function headerValues(header: string | readonly string[] | undefined): string[] {
  if (header === undefined) return [];
  const lines = typeof header === 'string' ? [header] : header;
  return lines.flatMap((line) => line.split(',').map((value) => value.trim())).filter((value) => value !== '');
}
