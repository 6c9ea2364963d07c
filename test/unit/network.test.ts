import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { BlockedAddressError, postJson } from '../../src/webhooks/webhook-post';
import { classifyAddress, hostAddress, isPublicAddress, nonPublicHostReason } from '../../src/domain/network';

/**
 * Every range of the IANA IPv4 Special-Purpose Address Registry
 * (https://www.iana.org/assignments/iana-ipv4-special-registry/), plus multicast, with one
 * address inside. The first and last address of each range are checked too.
 */
const IPV4_SPECIAL: readonly (readonly [range: string, name: string, inside: string])[] = [
  ['0.0.0.0/8', '"this network"', '0.1.2.3'],
  ['0.0.0.0/32', '"this host on this network"', '0.0.0.0'],
  ['10.0.0.0/8', 'private-use', '10.0.0.1'],
  ['100.64.0.0/10', 'shared address space (carrier-grade NAT)', '100.100.1.1'],
  ['127.0.0.0/8', 'loopback', '127.0.0.1'],
  ['169.254.0.0/16', 'link-local (instance metadata)', '169.254.169.254'],
  ['172.16.0.0/12', 'private-use', '172.20.0.1'],
  ['192.0.0.0/24', 'IETF protocol assignments', '192.0.0.100'],
  ['192.0.0.0/29', 'IPv4 service continuity prefix', '192.0.0.1'],
  ['192.0.0.8/32', 'IPv4 dummy address', '192.0.0.8'],
  ['192.0.0.9/32', 'port control protocol anycast', '192.0.0.9'],
  ['192.0.0.10/32', 'TURN anycast', '192.0.0.10'],
  ['192.0.0.170/32', 'NAT64/DNS64 discovery', '192.0.0.170'],
  ['192.0.0.171/32', 'NAT64/DNS64 discovery', '192.0.0.171'],
  ['192.0.2.0/24', 'documentation (TEST-NET-1)', '192.0.2.1'],
  ['192.31.196.0/24', 'AS112-v4', '192.31.196.1'],
  ['192.52.193.0/24', 'AMT', '192.52.193.1'],
  ['192.88.99.0/24', 'deprecated 6to4 relay anycast', '192.88.99.1'],
  ['192.88.99.2/32', '6a44 relay anycast', '192.88.99.2'],
  ['192.168.0.0/16', 'private-use', '192.168.1.10'],
  ['192.175.48.0/24', 'direct delegation AS112 service', '192.175.48.6'],
  ['198.18.0.0/15', 'benchmarking', '198.19.255.1'],
  ['198.51.100.0/24', 'documentation (TEST-NET-2)', '198.51.100.7'],
  ['203.0.113.0/24', 'documentation (TEST-NET-3)', '203.0.113.9'],
  ['240.0.0.0/4', 'reserved', '250.1.2.3'],
  ['255.255.255.255/32', 'limited broadcast', '255.255.255.255'],
  ['224.0.0.0/4', 'multicast (IPv4 multicast address space registry)', '239.255.255.250'],
];

/**
 * Every range of the IANA IPv6 Special-Purpose Address Registry
 * (https://www.iana.org/assignments/iana-ipv6-special-registry/), plus what the IPv6 Address
 * Space registry does not allocate as global unicast, with one address inside.
 */
const IPV6_SPECIAL: readonly (readonly [range: string, name: string, inside: string])[] = [
  ['::1/128', 'loopback', '::1'],
  ['::/128', 'unspecified', '::'],
  ['::ffff:0:0/96', 'IPv4-mapped (of a private address)', '::ffff:192.168.0.1'],
  ['64:ff9b::/96', 'IPv4-IPv6 translation (NAT64)', '64:ff9b::808:808'],
  ['64:ff9b:1::/48', 'IPv4-IPv6 translation, local use', '64:ff9b:1::808:808'],
  ['100::/64', 'discard-only', '100::1'],
  ['100:0:0:1::/64', 'dummy IPv6 prefix', '100:0:0:1::1'],
  ['2001::/23', 'IETF protocol assignments', '2001:1ff::1'],
  ['2001::/32', 'Teredo', '2001:0:4136:e378:8000:63bf:f7f7:f7f7'],
  ['2001:1::1/128', 'PCP anycast', '2001:1::1'],
  ['2001:1::2/128', 'TURN anycast', '2001:1::2'],
  ['2001:1::3/128', 'DNS-SD SRP anycast', '2001:1::3'],
  ['2001:2::/48', 'benchmarking', '2001:2::1'],
  ['2001:3::/32', 'AMT', '2001:3::1'],
  ['2001:4:112::/48', 'AS112-v6', '2001:4:112::1'],
  ['2001:10::/28', 'deprecated (ORCHID)', '2001:10::1'],
  ['2001:20::/28', 'ORCHIDv2', '2001:20::1'],
  ['2001:30::/28', 'drone remote ID protocol entity tags', '2001:30::1'],
  ['2001:db8::/32', 'documentation', '2001:db8::1'],
  ['2002::/16', '6to4 (of a public address)', '2002:808:808::1'],
  ['2620:4f:8000::/48', 'direct delegation AS112 service', '2620:4f:8000::1'],
  ['3fff::/20', 'documentation', '3fff::1'],
  ['5f00::/16', 'segment routing (SRv6) SIDs', '5f00::1'],
  ['fc00::/7', 'unique-local', 'fd00::1'],
  ['fe80::/10', 'link-local unicast', 'fe80::1'],
  // The IPv6 address space registry: multicast, deprecated site-local, and reserved blocks.
  ['ff00::/8', 'multicast', 'ff02::1'],
  ['fec0::/10', 'site-local (deprecated)', 'fec0::1'],
  ['::/96', 'IPv4-compatible (deprecated), of a public address', '::808:808'],
  ['::ffff:0:0:0/96', 'IPv4-translated', '::ffff:0:808:808'],
  ['4000::/3', 'reserved by the IETF', '4000::1'],
  ['e000::/4', 'reserved by the IETF', 'e000::1'],
];

function firstAndLast(range: string): [string, string] {
  const [network, bits] = ipaddr.parseCIDR(range);
  if (network.kind() === 'ipv4') return [ipaddr.IPv4.networkAddressFromCIDR(range).toString(), ipaddr.IPv4.broadcastAddressFromCIDR(range).toString()];
  return bits === 128
    ? [network.toString(), network.toString()]
    : [ipaddr.IPv6.networkAddressFromCIDR(range).toString(), ipaddr.IPv6.broadcastAddressFromCIDR(range).toString()];
}

describe('webhook targets must be public', () => {
  it.each(IPV4_SPECIAL)('IPv4 %s (%s) is refused, e.g. %s', (range, _name, inside) => {
    expect(ipaddr.parse(inside).match(ipaddr.parseCIDR(range))).toBe(true); // the table is right
    for (const address of [inside, ...firstAndLast(range)]) expect({ address, public: isPublicAddress(address) }).toEqual({ address, public: false });
  });

  it.each(IPV6_SPECIAL)('IPv6 %s (%s) is refused, e.g. %s', (range, _name, inside) => {
    expect(ipaddr.parse(inside).match(ipaddr.parseCIDR(range))).toBe(true);
    for (const address of [inside, ...firstAndLast(range)]) expect({ address, public: isPublicAddress(address) }).toEqual({ address, public: false });
  });

  it.each([
    // The disguises of issue 10: IPv6 addresses that embed a private IPv4 address.
    ['2002:7f00:1::1', '6to4 of 127.0.0.1', /6to4.*embedding 127\.0\.0\.1.*loopback/],
    ['2002:a9fe:a9fe::1', '6to4 of the metadata address', /6to4.*embedding 169\.254\.169\.254.*link-local/],
    ['64:ff9b:1::7f00:1', 'local-use NAT64 of 127.0.0.1', /NAT64.*embedding 127\.0\.0\.1/],
    ['64:ff9b::7f00:1', 'NAT64 of 127.0.0.1', /NAT64.*embedding 127\.0\.0\.1/],
    ['64:ff9b::169.254.169.254', 'NAT64 of the metadata address', /NAT64.*embedding 169\.254\.169\.254/],
    ['::127.0.0.1', 'IPv4-compatible 127.0.0.1', /IPv4-compatible.*embedding 127\.0\.0\.1/],
    ['::7f00:1', 'IPv4-compatible 127.0.0.1, in hex', /IPv4-compatible.*embedding 127\.0\.0\.1/],
    // ipaddr.js alone would read "::8.8.8.8" as IPv4-mapped, hence public.
    ['::8.8.8.8', 'IPv4-compatible 8.8.8.8', /IPv4-compatible.*embedding 8\.8\.8\.8.*relay/],
    ['::ffff:10.0.0.1', 'IPv4-mapped 10.0.0.1', /IPv4-mapped.*embedding 10\.0\.0\.1.*private/],
    ['::ffff:a00:1', 'IPv4-mapped 10.0.0.1, in hex', /IPv4-mapped.*embedding 10\.0\.0\.1/],
    ['::FFFF:A00:1', 'IPv4-mapped 10.0.0.1, upper case', /IPv4-mapped.*embedding 10\.0\.0\.1/],
    ['0:0:0:0:0:ffff:a00:1', 'IPv4-mapped 10.0.0.1, uncompressed', /IPv4-mapped.*embedding 10\.0\.0\.1/],
    ['0000:0000:0000:0000:0000:ffff:10.0.0.1', 'IPv4-mapped 10.0.0.1, zero-padded', /IPv4-mapped.*embedding 10\.0\.0\.1/],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback', /loopback/],
    ['::ffff:169.254.169.254', 'IPv4-mapped metadata address', /link-local/],
    ['::ffff:0:7f00:1', 'IPv4-translated 127.0.0.1', /IPv4-translated.*embedding 127\.0\.0\.1/],
    // Teredo: the client address is the last 32 bits inverted.
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'Teredo with client 127.0.0.1', /Teredo.*embedding 127\.0\.0\.1/],
    ['2001:0:4136:e378:8000:63bf:5601:5601', 'Teredo with client 169.254.169.254', /Teredo.*embedding 169\.254\.169\.254/],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo with client 192.0.2.45 (RFC 4380)', /Teredo.*embedding 192\.0\.2\.45/],
    ['192.88.99.1', 'the 6to4 relay anycast address', /reserved/],
  ])('%s (%s) is refused, and the reason says what it embeds', (address, _label, reason) => {
    const verdict = classifyAddress(address);
    expect(verdict.public).toBe(false);
    expect(verdict.public ? '' : verdict.reason).toMatch(reason);
  });

  it.each([
    // Odd spellings are not addresses (URL hosts and DNS answers are canonical); they are refused, never misread.
    ['not an address'],
    [''],
    ['127.1'],
    ['2130706433'],
    ['0177.0.0.1'],
    ['0x7f.1'],
    ['010.0.0.1'],
    ['08.8.8.8'],
    [' 8.8.8.8'],
    ['8.8.8.8 '],
    ['::ffff:0177.0.0.1'],
    ['::ffff:8.8.8.08'],
    ['fe80::1%eth0'],
    ['2606:4700::1111%1'],
    ['[2606:4700::1111]'],
    ['2606:4700::1111/128'],
    ['1::2::3'],
  ])('%j is not an address in canonical form, so not public', (text) => {
    expect(isPublicAddress(text)).toBe(false);
  });

  it.each([
    ['8.8.8.8'],
    ['1.1.1.1'],
    ['129.146.10.10'],
    ['192.0.1.1'], // next to 192.0.0.0/24 and 192.0.2.0/24
    ['100.128.0.1'], // just past 100.64.0.0/10
    ['172.32.0.1'], // just past 172.16.0.0/12
    ['223.255.255.254'], // just below multicast
    ['2606:4700::1111'],
    ['2001:4860:4860::8888'],
    ['2001:200::1'], // just past 2001::/23
    ['2a00:1450:4001:80b::200e'],
    ['::ffff:8.8.8.8'], // IPv4-mapped: a dual-stack socket connects to 8.8.8.8 itself
    ['::ffff:808:808'],
  ])('%s is public', (address) => {
    expect(classifyAddress(address)).toEqual({ public: true, address: expect.any(String) });
  });

  it('judges every IPv6 form of an IPv4 address by that address, and refuses the relayed forms whatever they embed', () => {
    const hex = (a: number, b: number) => ((a << 8) | b).toString(16);
    fc.assert(
      fc.property(fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)), ([a, b, c, d]) => {
        const v4 = `${a}.${b}.${c}.${d}`;
        const inverted = `${hex(a ^ 0xff, b ^ 0xff)}:${hex(c ^ 0xff, d ^ 0xff)}`;
        expect(isPublicAddress(`::ffff:${v4}`)).toBe(isPublicAddress(v4));
        expect(isPublicAddress(`::ffff:${hex(a, b)}:${hex(c, d)}`)).toBe(isPublicAddress(v4));
        for (const relayed of [
          `::${v4}`,
          `::ffff:0:${v4}`,
          `64:ff9b::${v4}`,
          `64:ff9b:1::${v4}`,
          `2002:${hex(a, b)}:${hex(c, d)}::1`,
          `2001:0:4136:e378:8000:63bf:${inverted}`,
        ]) {
          expect({ relayed, public: isPublicAddress(relayed) }).toEqual({ relayed, public: false });
        }
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    // WHATWG URL parsing turns every IPv4 spelling into dotted decimal before the check.
    ['http://2130706433/hook', '127.0.0.1'],
    ['http://0177.0.0.1/hook', '127.0.0.1'],
    ['http://0x7f.1/hook', '127.0.0.1'],
    ['http://0x7f000001/hook', '127.0.0.1'],
    ['http://017700000001/hook', '127.0.0.1'],
    ['http://127.1/hook', '127.0.0.1'],
    ['http://127.0.0.1./hook', '127.0.0.1'],
    ['http://%31%32%37.0.0.1/hook', '127.0.0.1'],
    ['http://１２７.０.０.１/hook', '127.0.0.1'],
    ['http://0/hook', '0.0.0.0'],
    ['http://0xa9.0xfe.0xa9.0xfe/latest/meta-data/', '169.254.169.254'],
    ['http://2852039166/latest/meta-data/', '169.254.169.254'],
    ['http://[::ffff:127.0.0.1]/hook', '::ffff:7f00:1'],
    ['http://[0:0:0:0:0:ffff:7f00:1]/hook', '::ffff:7f00:1'],
    ['http://[::127.0.0.1]/hook', '::7f00:1'],
    ['http://[2002:7f00:1::1]/hook', '2002:7f00:1::1'],
    ['http://[64:ff9b::169.254.169.254]/hook', '64:ff9b::a9fe:a9fe'],
  ])('the URL %s names the address %s, which is refused', (url, address) => {
    expect(hostAddress(new URL(url))).toBe(address);
    expect(nonPublicHostReason(new URL(url))).toEqual(expect.any(String));
  });

  it.each([['http://localhost/hook'], ['http://LOCALHOST./hook'], ['http://api.localhost/hook'], ['http://api.localhost./hook']])(
    'the URL %s names loopback, which is refused',
    (url) => {
      expect(hostAddress(new URL(url))).toBeNull();
      expect(nonPublicHostReason(new URL(url))).toMatch(/loopback/);
    },
  );

  it.each([['https://hooks.example.com/telemetry'], ['https://8.8.8.8/hook'], ['https://[2606:4700::1111]/hook'], ['http://localhost.example.com/hook']])(
    'the URL %s is not refused by its host alone',
    (url) => {
      expect(nonPublicHostReason(new URL(url))).toBeNull();
    },
  );

  it('refuses to connect where a name resolves to a private address, unless allowed', async () => {
    const server = createServer((_request, response) => response.writeHead(204).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as AddressInfo).port;
    // Generous: the timeout only bounds a failure, it never decides a verdict.
    const strict = { timeoutMs: 10_000, allowPrivateNetworks: false };
    try {
      // "localhost" is a name: the guard sees the address DNS gives and refuses it.
      await expect(postJson(`http://localhost:${port}/hook`, {}, '{}', strict)).rejects.toBeInstanceOf(BlockedAddressError);
      await expect(postJson(`http://localhost:${port}/hook`, {}, '{}', strict)).rejects.toThrow(/resolves to 127\.0\.0\.1, which is not a public address/);
      await expect(postJson(`http://127.0.0.1:${port}/hook`, {}, '{}', strict)).rejects.toThrow(/not a public address/);
      await expect(postJson(`http://[::1]:${port}/hook`, {}, '{}', strict)).rejects.toThrow(/not a public address/);
      // Disguised spellings of the same listener: an IPv6 socket to ::ffff:127.0.0.1 reaches it.
      for (const host of ['2130706433', '0x7f.1', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]']) {
        await expect(postJson(`http://${host}:${port}/hook`, {}, '{}', strict)).rejects.toBeInstanceOf(BlockedAddressError);
      }
      expect(await postJson(`http://localhost:${port}/hook`, {}, '{}', { ...strict, allowPrivateNetworks: true })).toBe(204);
      expect(await postJson(`http://[::ffff:127.0.0.1]:${port}/hook`, {}, '{}', { ...strict, allowPrivateNetworks: true })).toBe(204);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
