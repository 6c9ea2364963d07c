import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Which addresses a webhook may reach unless private networks are allowed. Keeps a tenant
 * admin from using webhooks to probe the service's own network (SSRF): loopback, private,
 * link-local (169.254.169.254 is the cloud instance-metadata service, which hands out instance
 * credentials), carrier-grade NAT, multicast, and every other range of the IANA IPv4 and IPv6
 * special-purpose address registries are refused.
 *
 * The ranges are ipaddr.js's (`range()`, maintained against the IANA registries); only its
 * `unicast` class counts as public. IPv6 addresses are also classified by the IPv4 address they
 * embed, so that no tunnelling or translation prefix disguises a private IPv4 target:
 *
 * - IPv4-mapped `::ffff:a.b.c.d` is, to a dual-stack socket, the IPv4 address itself: it is
 *   exactly as public as a.b.c.d, whatever notation spells it (`::ffff:7f00:1`, ...).
 * - IPv4-compatible `::a.b.c.d` (deprecated), IPv4-translated `::ffff:0:a.b.c.d`, NAT64
 *   `64:ff9b::/96` and `64:ff9b:1::/48` (last 32 bits), 6to4 `2002:AABB:CCDD::/48` and Teredo
 *   `2001:0::/32` (client address = last 32 bits XOR 0xffffffff) reach their IPv4 address
 *   through a gateway or relay. They are refused whatever they embed: the embedded address is
 *   judged anyway and named in the reason, and the relay prefixes are special-purpose.
 *
 * IPv6 outside 2000::/3, the only block IANA allocates as global unicast, is refused too:
 * that catches what ipaddr.js has no name for (IPv4-compatible addresses, the RFC 9780 dummy
 * prefix 100:0:0:1::/64, blocks IANA reserves for later).
 */

/** The verdict on one address, with the reason a non-public one is refused. */
export type AddressClass = { readonly public: true; readonly address: string } | { readonly public: false; readonly address: string; readonly reason: string };

const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR('2000::/3');
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR('64:ff9b::/96');

/** ipaddr.js range names in words, for error messages. */
const RANGE_NAMES: Record<string, string> = {
  unspecified: 'unspecified',
  broadcast: 'the broadcast address',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT (shared address space)',
  private: 'private',
  reserved: 'reserved (special-purpose)',
  as112: 'AS112 (special-purpose)',
  amt: 'AMT (special-purpose)',
  uniqueLocal: 'unique local (private)',
  deprecatedSiteLocal: 'site-local (deprecated)',
  discard: 'discard-only',
  benchmarking: 'benchmarking',
  as112v6: 'AS112 (special-purpose)',
  deprecatedOrchid: 'ORCHID (deprecated)',
  orchid2: 'ORCHIDv2 (special-purpose)',
  droneRemoteIdProtocolEntityTags: 'drone remote ID (special-purpose)',
  segmentRouting: 'SRv6 SIDs (special-purpose)',
};
const rangeName = (range: string): string => RANGE_NAMES[range] ?? range;

/**
 * Parses an address as the socket layer reads it, or returns null. Only inet_pton spellings
 * (node:net `isIP`) are addresses: ipaddr.js alone also takes inet_aton forms ("0177.0.0.1",
 * "0x7f.1", "2130706433"), reads "::ffff:0177.0.0.1" as decimal 177 and "::1.2.3.4" as
 * IPv4-mapped where it is IPv4-compatible. So IPv6 goes through the WHATWG URL host parser
 * first (the one that parsed the webhook URL), which writes it in plain hexadecimal groups,
 * and ipaddr.js must read that back to the same text. Zone indexes (`%eth0`) are refused.
 */
export function parseIpAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const family = isIP(text);
  if (family === 4) return ipaddr.IPv4.isValidFourPartDecimal(text) ? ipaddr.IPv4.parse(text) : null;
  if (family !== 6 || text.includes('%')) return null;
  let hex: string;
  try {
    hex = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return null;
  }
  if (!ipaddr.IPv6.isValid(hex)) return null;
  const address = ipaddr.IPv6.parse(hex);
  return address.toRFC5952String() === hex && address.zoneId === undefined ? address : null;
}

const ipv4From = (high: number, low: number): ipaddr.IPv4 => new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);

/**
 * The IPv4 address an IPv6 address carries, and the mechanism that carries it; `direct` when a
 * socket connects to the IPv4 address itself (IPv4-mapped), not through a relay or translator.
 */
function embeddedIPv4(address: ipaddr.IPv6): { readonly via: string; readonly ipv4: ipaddr.IPv4; readonly direct?: true } | null {
  const p = address.parts as [number, number, number, number, number, number, number, number];
  const range = address.range() as string;
  if (range === 'ipv4Mapped') return { via: 'IPv4-mapped', ipv4: address.toIPv4Address(), direct: true };
  if (range === 'rfc6145') return { via: 'IPv4-translated (::ffff:0:0/96)', ipv4: ipv4From(p[6], p[7]) };
  if (range === 'rfc6052') return { via: address.match(NAT64_WELL_KNOWN) ? 'NAT64 (64:ff9b::/96)' : 'NAT64 (64:ff9b:1::/48)', ipv4: ipv4From(p[6], p[7]) };
  if (range === '6to4') return { via: '6to4 (2002::/16)', ipv4: ipv4From(p[1], p[2]) };
  if (range === 'teredo') return { via: 'Teredo (2001::/32)', ipv4: ipv4From(p[6] ^ 0xffff, p[7] ^ 0xffff) };
  if (p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0 && (p[6] !== 0 || p[7] > 1)) {
    return { via: 'IPv4-compatible (::/96)', ipv4: ipv4From(p[6], p[7]) };
  }
  return null;
}

function classifyIPv4(address: ipaddr.IPv4): AddressClass {
  const range = address.range();
  const text = address.toString();
  return range === 'unicast' ? { public: true, address: text } : { public: false, address: text, reason: `${text} is ${rangeName(range)}` };
}

export function classifyAddress(text: string): AddressClass {
  const address = parseIpAddress(text);
  if (!address) return { public: false, address: text, reason: `${JSON.stringify(text)} is not an IP address in canonical form` };
  if (address.kind() === 'ipv4') return classifyIPv4(address as ipaddr.IPv4);
  const v6 = address as ipaddr.IPv6;
  const name = v6.toRFC5952String();
  const embedded = embeddedIPv4(v6);
  if (embedded) {
    const inner = classifyIPv4(embedded.ipv4);
    const carries = `${name} is ${embedded.via}, embedding ${embedded.ipv4.toString()}`;
    if (!inner.public) return { public: false, address: name, reason: `${carries}, and ${inner.reason}` };
    // A dual-stack socket connects to the IPv4 address itself: nothing else is involved.
    if (embedded.direct) return { public: true, address: name };
    return { public: false, address: name, reason: `${carries} through a relay or translator, which is not a public target` };
  }
  const range = v6.range() as string;
  if (range !== 'unicast') return { public: false, address: name, reason: `${name} is ${rangeName(range)}` };
  if (!v6.match(GLOBAL_UNICAST_V6)) return { public: false, address: name, reason: `${name} is outside the global unicast space 2000::/3` };
  return { public: true, address: name };
}

export function isPublicAddress(address: string): boolean {
  return classifyAddress(address).public;
}

/**
 * The IP address a URL's host names, brackets removed, or null when the host is a DNS name.
 * WHATWG URL parsing has already turned every IPv4 spelling (`2130706433`, `0177.0.0.1`,
 * `0x7f.1`, `127.1`, full-width digits, percent-encoding) into dotted decimal and IPv6 into
 * its compressed form, so a host that is not an address here is a name to resolve.
 */
export function hostAddress(url: URL): string | null {
  const host = url.hostname.startsWith('[') && url.hostname.endsWith(']') ? url.hostname.slice(1, -1) : url.hostname;
  return isIP(host) !== 0 ? host : null;
}

/**
 * Why a URL's host is not a public webhook target when the URL alone tells (a `localhost`
 * name, or a non-public address literal), or null. A name is checked again on the addresses
 * DNS returns when connecting (webhooks/webhook-post.ts).
 */
export function nonPublicHostReason(url: URL): string | null {
  const address = hostAddress(url);
  if (address !== null) {
    const verdict = classifyAddress(address);
    return verdict.public ? null : verdict.reason;
  }
  const name = url.hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost') ? `${url.hostname} is a loopback name` : null;
}
