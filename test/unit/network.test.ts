import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BlockedAddressError, postJson } from '../../src/consumers/webhook-post';
import { isPublicAddress } from '../../src/domain/network';

describe('webhook targets must be public', () => {
  it.each([
    ['127.0.0.1', false],
    ['10.1.2.3', false],
    ['172.20.0.1', false],
    ['192.168.1.10', false],
    ['169.254.169.254', false], // the instance-metadata service
    ['100.100.1.1', false],
    ['0.0.0.0', false],
    ['224.0.0.1', false],
    ['::1', false],
    ['fe80::1', false],
    ['fd00::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:10.0.0.1', false],
    ['not an address', false],
    ['8.8.8.8', true],
    ['129.146.10.10', true],
    ['2606:4700::1111', true],
    ['::ffff:8.8.8.8', true],
  ])('%s is public: %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });

  it('refuses to connect where a name resolves to a private address, unless allowed', async () => {
    const server = createServer((_request, response) => response.writeHead(204).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as AddressInfo).port;
    try {
      // "localhost" is a name: the guard sees the address DNS gives and refuses it.
      await expect(postJson(`http://localhost:${port}/hook`, {}, '{}', { timeoutMs: 2000, allowPrivateNetworks: false })).rejects.toBeInstanceOf(BlockedAddressError);
      await expect(postJson(`http://localhost:${port}/hook`, {}, '{}', { timeoutMs: 2000, allowPrivateNetworks: false })).rejects.toThrow(/resolves to 127\.0\.0\.1, which is not a public address/);
      await expect(postJson(`http://127.0.0.1:${port}/hook`, {}, '{}', { timeoutMs: 2000, allowPrivateNetworks: false })).rejects.toThrow(/not a public address/);
      await expect(postJson(`http://[::1]:${port}/hook`, {}, '{}', { timeoutMs: 2000, allowPrivateNetworks: false })).rejects.toThrow(/not a public address/);
      expect(await postJson(`http://localhost:${port}/hook`, {}, '{}', { timeoutMs: 2000, allowPrivateNetworks: true })).toBe(204);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
