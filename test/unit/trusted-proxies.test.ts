import { clientOrigin, parseTrustedProxies } from '../../src/domain/trusted-proxies';
import { loadConfig } from '../../src/config';

describe('trusted proxies: X-Forwarded-* believed only from the proxies in front', () => {
  const gateway = parseTrustedProxies('10.0.0.0/16, fd00::/8, 192.0.2.7');

  it('ignores forwarding headers from a peer that is not a trusted proxy (a client spoofing them)', () => {
    expect(clientOrigin(gateway, '203.0.113.9', '1.2.3.4', 'https', 'http')).toEqual({ address: '203.0.113.9', protocol: 'http' });
  });

  it('with no proxy configured, the peer is always the client', () => {
    expect(clientOrigin(parseTrustedProxies(''), '10.0.0.5', '198.51.100.1', 'https', 'http')).toEqual({ address: '10.0.0.5', protocol: 'http' });
  });

  it('believes a trusted peer: the client is the address it received the request from', () => {
    expect(clientOrigin(gateway, '10.0.3.4', '198.51.100.1', 'https', 'http')).toEqual({ address: '198.51.100.1', protocol: 'https' });
  });

  it('walks a chain of trusted proxies right to left, stopping at the first address nobody vouches for', () => {
    // The client wrote "6.6.6.6" itself; the load balancer (192.0.2.7) and the gateway (10.0.3.4) appended the rest.
    expect(clientOrigin(gateway, '10.0.3.4', '6.6.6.6, 198.51.100.1, 192.0.2.7', undefined, 'http').address).toBe('198.51.100.1');
    expect(clientOrigin(gateway, '10.0.3.4', ['6.6.6.6', '198.51.100.1, 192.0.2.7'], undefined, 'http').address).toBe('198.51.100.1');
  });

  it('reads IPv4-mapped peers as IPv4, and drops ports and brackets from forwarded entries', () => {
    expect(clientOrigin(gateway, '::ffff:10.0.3.4', '198.51.100.1:51234', undefined, 'http').address).toBe('198.51.100.1');
    expect(clientOrigin(gateway, 'fd00::1', '[2001:db8::5]:443', undefined, 'http').address).toBe('2001:db8::5');
  });

  it('stops at a forwarded entry that is not an address: the proxy that forwarded it is the client as far as anyone knows', () => {
    expect(clientOrigin(gateway, '10.0.3.4', 'not-an-ip', undefined, 'http').address).toBe('10.0.3.4');
    // inet_aton spellings are not addresses (as everywhere in this service).
    expect(clientOrigin(gateway, '10.0.3.4', '0x7f.1', undefined, 'http').address).toBe('10.0.3.4');
  });

  it('takes the last X-Forwarded-Proto value (set by the nearest proxy), and only http or https', () => {
    expect(clientOrigin(gateway, '10.0.3.4', '198.51.100.1', 'http, https', 'http').protocol).toBe('https');
    expect(clientOrigin(gateway, '10.0.3.4', '198.51.100.1', 'gopher', 'http').protocol).toBe('http');
  });

  it.each([['10.0.0.0/33'], ['10.0.0/8'], ['proxy.internal'], ['10.0.0.1/8/8']])('refuses %s as a range', (entry) => {
    expect(() => parseTrustedProxies(entry)).toThrow(`"${entry}" is not an IP address or a CIDR range`);
  });
});

describe('TELEMETRY_TRUSTED_PROXIES', () => {
  it('stops start-up naming the variable and the entry that is not a range', () => {
    expect(() => loadConfig({ TELEMETRY_TRUSTED_PROXIES: '10.0.0.0/8, gateway.internal' })).toThrow(
      'TELEMETRY_TRUSTED_PROXIES="10.0.0.0/8, gateway.internal": "gateway.internal" is not an IP address or a CIDR range',
    );
  });
});
