import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestError } from '../errors.js';
import { DestinationError } from './destination.js';
import {
  NetGuard,
  createGuardedAgent,
  parseCidr,
  parseIPv6,
  specialPurposeRange,
  validateNetworkOptions,
  type Resolver,
} from './net-guard.js';

describe('address parsing', () => {
  it('parses IPv6 forms', () => {
    expect(parseIPv6('::1')).toBe(1n);
    expect(parseIPv6('::')).toBe(0n);
    expect(parseIPv6('::ffff:127.0.0.1')).toBe(0xffff7f000001n);
    expect(parseIPv6('::ffff:7f00:1')).toBe(0xffff7f000001n);
    expect(parseIPv6('2001:db8::1')).toBe((0x20010db8n << 96n) | 1n);
    expect(parseIPv6('fe80::1%eth0')).toBe((0xfe80n << 112n) | 1n);
    expect(parseIPv6('1:2:3:4:5:6:7:8')).toBe(0x00010002000300040005000600070008n);
    expect(parseIPv6('1:2:3:4:5:6:1.2.3.4')).toBe(0x00010002000300040005000601020304n);
    expect(parseIPv6('1::2::3')).toBeUndefined();
    expect(parseIPv6('12345::')).toBeUndefined();
    expect(parseIPv6('1.2.3.4')).toBeUndefined();
  });

  it('parses CIDRs, masking host bits and refusing junk', () => {
    expect(parseCidr('10.1.2.3/8')).toMatchObject({ family: 4, base: 10n << 24n, bits: 8 });
    expect(parseCidr('127.0.0.1')).toMatchObject({ family: 4, bits: 32 });
    expect(parseCidr('fc00::/7')).toMatchObject({ family: 6, bits: 7 });
    expect(parseCidr('::1')).toMatchObject({ family: 6, bits: 128 });
    for (const bad of ['10.0.0.0/33', '10.0.0/8', '256.0.0.1', '01.2.3.4', '10.0.0.0/', '10.0.0.0/-1', 'fc00::/129', 'host', '']) {
      expect(parseCidr(bad), bad).toBeUndefined();
    }
  });
});

describe('special-purpose ranges', () => {
  it.each([
    ['0.0.0.0', '"this network"'],
    ['10.1.2.3', 'private-use'],
    ['100.64.0.1', 'shared address space'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'link-local, incl. the cloud metadata service'],
    ['172.16.0.1', 'private-use'],
    ['172.31.255.255', 'private-use'],
    ['192.0.0.8', 'IETF protocol assignments'],
    ['192.0.2.1', 'documentation (TEST-NET-1)'],
    ['192.168.1.1', 'private-use'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['198.51.100.7', 'documentation (TEST-NET-2)'],
    ['203.0.113.9', 'documentation (TEST-NET-3)'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['ff02::1', 'multicast'],
    ['64:ff9b::7f00:1', 'IPv4/IPv6 translation (NAT64)'],
    ['2001:db8::1', 'documentation'],
    ['100::1', 'discard-only'],
    ['2001::1', 'IETF protocol assignments'],
    ['2002:7f00:1::', '6to4'],
  ])('%s is %s', (addr, label) => {
    expect(specialPurposeRange(addr)?.label).toBe(label);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '172.15.255.255', '100.128.0.1', '52.94.133.131', '2600:1f18::1', '2a00:1450:4001::200e', '192.0.3.1'])(
    '%s is public',
    (addr) => {
      expect(specialPurposeRange(addr)).toBeUndefined();
    },
  );

  it('judges v4-mapped IPv6 by the embedded IPv4 address', () => {
    expect(specialPurposeRange('::ffff:127.0.0.1')?.label).toBe('loopback');
    expect(specialPurposeRange('::ffff:a9fe:a9fe')?.label).toBe('link-local, incl. the cloud metadata service');
    expect(specialPurposeRange('::ffff:8.8.8.8')).toBeUndefined();
  });
});

describe('NetGuard decisions', () => {
  it('refuses special ranges and non-default ports by default, with a clear message', () => {
    const g = new NetGuard();
    expect(g.refusalReason('52.94.133.131', 443)).toBeUndefined();
    expect(g.refusalReason('52.94.133.131', 80)).toBeUndefined();
    expect(() => g.check('127.0.0.1', 4566)).toThrowError(DestinationError);
    try {
      g.check('127.0.0.1', 4566);
    } catch (e) {
      const err = e as DestinationError;
      expect(err.status).toBe('CLIENT_SIDE_ERROR');
      expect(err.retryable).toBe(false);
      expect(err.message).toBe(
        'outbound connection to 127.0.0.1:4566 refused: address is in a special-purpose range (loopback, 127.0.0.0/8); allow it with allowed_ipv4_addresses; port 4566 is not allowed (only 80 and 443 by default); allow it with allowed_ports; or set disable_strict_networking',
      );
    }
    expect(g.refusalReason('52.94.133.131', 8443)).toMatch(/port 8443 is not allowed/);
    expect(g.refusalReason('::1', 443)).toMatch(/allowed_ipv6_addresses/);
    expect(g.refusalReason('::ffff:10.0.0.1', 443)).toMatch(/private-use.*allowed_ipv4_addresses/);
  });

  it('widens with allow lists and ports', () => {
    const g = new NetGuard({ allowedIpv4Addresses: ['127.0.0.0/8'], allowedIpv6Addresses: ['::1/128'], allowedPorts: [4566] });
    expect(g.refusalReason('127.0.0.1', 4566)).toBeUndefined();
    expect(g.refusalReason('127.0.0.1', 443)).toBeUndefined();
    expect(g.refusalReason('::1', 4566)).toBeUndefined();
    expect(g.refusalReason('::ffff:127.0.0.1', 4566)).toBeUndefined();
    expect(g.refusalReason('10.0.0.1', 4566)).toMatch(/private-use/);
    expect(g.refusalReason('127.0.0.1', 4567)).toMatch(/port 4567/);
    expect(g.refusalReason('8.8.8.8', 443)).toBeUndefined();
  });

  it('disable_strict_networking turns it off', () => {
    const g = new NetGuard({ disableStrictNetworking: true });
    expect(g.refusalReason('169.254.169.254', 1)).toBeUndefined();
    expect(() => g.checkUrl('http://127.0.0.1:4566')).not.toThrow();
  });

  it('checks URLs with literal hosts and ports', () => {
    const g = new NetGuard();
    expect(() => g.checkUrl('http://169.254.169.254/latest/meta-data')).toThrow(/169\.254\.169\.254:80 refused/);
    expect(() => g.checkUrl('https://[::1]/')).toThrow(/\[::1\]:443 refused/);
    expect(() => g.checkUrl('https://secretsmanager.us-east-1.amazonaws.com')).not.toThrow();
    expect(() => g.checkUrl('https://secretsmanager.us-east-1.amazonaws.com:8443')).toThrow(/port 8443/);
  });

  it('resolves names itself: a name that resolves to loopback is refused', async () => {
    const resolver: Resolver = async (h) => (h === 'evil.example' ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '52.94.133.131', family: 4 }]);
    const g = new NetGuard({}, resolver);
    await expect(g.resolve('evil.example', 443)).rejects.toThrow('outbound connection to evil.example (127.0.0.1):443 refused: address is in a special-purpose range (loopback');
    await expect(g.resolve('good.example', 443)).resolves.toEqual([{ address: '52.94.133.131', family: 4 }]);
  });

  it('keeps only the permitted addresses of a mixed answer', async () => {
    const resolver: Resolver = async () => [
      { address: '10.0.0.5', family: 4 },
      { address: '52.94.133.131', family: 4 },
    ];
    await expect(new NetGuard({}, resolver).resolve('mixed.example', 443)).resolves.toEqual([{ address: '52.94.133.131', family: 4 }]);
  });

  it('validates its options, naming the field', () => {
    expect(() => validateNetworkOptions({ allowedIpv4Addresses: ['::1/128'] })).toThrow(BadRequestError);
    expect(() => validateNetworkOptions({ allowedIpv4Addresses: ['10.0.0.0/40'] })).toThrow(/allowed_ipv4_addresses/);
    expect(() => validateNetworkOptions({ allowedIpv6Addresses: ['10.0.0.0/8'] })).toThrow(/allowed_ipv6_addresses/);
    expect(() => validateNetworkOptions({ allowedPorts: [0] })).toThrow(/allowed_ports/);
    expect(() => validateNetworkOptions({ allowedPorts: [70000] })).toThrow(/allowed_ports/);
    expect(() => validateNetworkOptions({ allowedIpv4Addresses: ['10.0.0.0/8'], allowedIpv6Addresses: ['fd00::/8'], allowedPorts: [8200] })).not.toThrow();
  });
});

describe('guarded agents over real sockets', () => {
  let server: http.Server;
  let port: number;

  beforeAll(async () => {
    server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  function get(agent: http.Agent, host: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host, port, path: '/', agent }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
  }

  const stub: Resolver = async (h) => (h === 'internal.example' ? [{ address: '127.0.0.1', family: 4 }] : []);

  it('refuses a literal loopback address by default', async () => {
    const { httpAgent } = createGuardedAgent(new NetGuard({}, stub));
    const err = await get(httpAgent, '127.0.0.1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DestinationError);
    expect((err as Error).message).toMatch(/^outbound connection to 127\.0\.0\.1:\d+ refused: address is in a special-purpose range \(loopback/);
    httpAgent.destroy();
  });

  it('refuses a host name that resolves to loopback (checked at connect, not before)', async () => {
    const { httpAgent } = createGuardedAgent(new NetGuard({ allowedPorts: [port] }, stub));
    const err = await get(httpAgent, 'internal.example').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DestinationError);
    expect((err as Error).message).toContain(`outbound connection to internal.example (127.0.0.1):${port} refused`);
    httpAgent.destroy();
  });

  it('connects when the address and port are allowed', async () => {
    const { httpAgent } = createGuardedAgent(new NetGuard({ allowedIpv4Addresses: ['127.0.0.0/8'], allowedPorts: [port] }, stub));
    await expect(get(httpAgent, 'internal.example')).resolves.toBe('ok');
    await expect(get(httpAgent, '127.0.0.1')).resolves.toBe('ok');
    httpAgent.destroy();
  });

  it('guards the https agent the same way (literal address and resolved name)', async () => {
    const { httpsAgent } = createGuardedAgent(new NetGuard({}, stub));
    const attempt = (host: string) =>
      new Promise((resolve, reject) => {
        const req = https.request({ host, port: 443, path: '/', agent: httpsAgent }, resolve);
        req.on('error', reject);
        req.end();
      }).catch((e: unknown) => e);
    const literal = await attempt('169.254.169.254');
    expect(literal).toBeInstanceOf(DestinationError);
    expect((literal as Error).message).toMatch(/^outbound connection to 169\.254\.169\.254:443 refused: .*link-local/);
    const named = await attempt('internal.example');
    expect(named).toBeInstanceOf(DestinationError);
    expect((named as Error).message).toContain('outbound connection to internal.example (127.0.0.1):443 refused');
    httpsAgent.destroy();
  });

  it('connects to anything with disable_strict_networking', async () => {
    const { httpAgent } = createGuardedAgent(new NetGuard({ disableStrictNetworking: true }, stub));
    await expect(get(httpAgent, '127.0.0.1')).resolves.toBe('ok');
    httpAgent.destroy();
  });
});
