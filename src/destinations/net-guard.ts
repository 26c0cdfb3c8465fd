/**
 * Outbound network guard (Vault 1.19's SSRF protection for sync destinations).
 *
 * By default a destination client may connect only to ports 80 and 443 and
 * never to an IANA special-purpose address (loopback, private, link-local —
 * which includes the cloud metadata service —, documentation, multicast...).
 * `allowed_ipv4_addresses` / `allowed_ipv6_addresses` (CIDRs) and
 * `allowed_ports` widen that; `disable_strict_networking` turns it off.
 *
 * The check runs on the address actually connected to: the agents from
 * `createGuardedAgent` resolve host names themselves (a `lookup` handed to the
 * socket) and hand the socket only addresses that passed, so a name that
 * resolves to 127.0.0.1 is refused and there is no window for DNS rebinding
 * between a check and the connect. IP literals (which skip `lookup`) and the
 * port are checked in the agent's `createConnection`.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { BadRequestError } from '../errors.js';
import { DestinationError } from './destination.js';

export interface NetGuardOptions {
  allowedIpv4Addresses?: readonly string[];
  allowedIpv6Addresses?: readonly string[];
  allowedPorts?: readonly number[];
  disableStrictNetworking?: boolean;
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to its addresses; injectable for tests. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const defaultResolver: Resolver = async (hostname) => {
  const found = await dns.promises.lookup(hostname, { all: true, verbatim: true });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

const DEFAULT_PORTS: readonly number[] = [80, 443];

// ---------------------------------------------------------------- addresses and CIDRs

export interface Cidr {
  family: 4 | 6;
  base: bigint;
  bits: number;
  text: string;
}

/** Parses a dotted-quad IPv4 address (no leading zeros, as Go's net.ParseIP). */
export function parseIPv4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

/** Parses an IPv6 address (`::` compression, trailing dotted IPv4, zone id ignored). */
export function parseIPv6(input: string): bigint | undefined {
  let s = input;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (!net.isIPv6(s)) return undefined;
  const lastColon = s.lastIndexOf(':');
  const lastPart = s.slice(lastColon + 1);
  if (lastPart.includes('.')) {
    // trailing dotted IPv4 (`::ffff:1.2.3.4`) → two hex groups
    const v4 = parseIPv4(lastPart);
    if (v4 === undefined) return undefined;
    s = `${s.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const groups = (txt: string): number[] => (txt === '' ? [] : txt.split(':').map((g) => parseInt(g, 16)));
  let words: number[];
  const dbl = s.indexOf('::');
  const want = 8;
  if (dbl >= 0) {
    const head = groups(s.slice(0, dbl));
    const rest = groups(s.slice(dbl + 2));
    const fill = want - head.length - rest.length;
    if (fill < 0) return undefined;
    words = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else {
    words = groups(s);
  }
  if (words.length !== 8 || words.some((w) => Number.isNaN(w) || w < 0 || w > 0xffff)) return undefined;
  return words.reduce((acc, w) => (acc << 16n) | BigInt(w), 0n);
}

export function parseIp(s: string): { family: 4 | 6; value: bigint } | undefined {
  const v4 = parseIPv4(s);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIPv6(s);
  if (v6 !== undefined) return { family: 6, value: v6 };
  return undefined;
}

/** Parses `a.b.c.d/n`, `x::y/n` or a bare address (a /32 or /128); host bits are masked off. */
export function parseCidr(text: string): Cidr | undefined {
  const s = text.trim();
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const ip = parseIp(addr);
  if (!ip) return undefined;
  const width = ip.family === 4 ? 32 : 128;
  let bits = width;
  if (slash >= 0) {
    const b = s.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(b)) return undefined;
    bits = Number(b);
    if (bits > width) return undefined;
  }
  const shift = BigInt(width - bits);
  return { family: ip.family, base: (ip.value >> shift) << shift, bits, text: s };
}

export function cidrContains(c: Cidr, family: 4 | 6, value: bigint): boolean {
  if (c.family !== family) return false;
  const shift = BigInt((family === 4 ? 32 : 128) - c.bits);
  return value >> shift === c.base >> shift;
}

function cidr(text: string): Cidr {
  const c = parseCidr(text);
  if (!c) throw new Error(`bad built-in CIDR ${text}`);
  return c;
}

/** IANA IPv4 Special-Purpose Address Registry plus multicast and reserved space. */
const SPECIAL_V4: ReadonlyArray<[Cidr, string]> = [
  [cidr('0.0.0.0/8'), '"this network"'],
  [cidr('10.0.0.0/8'), 'private-use'],
  [cidr('100.64.0.0/10'), 'shared address space'],
  [cidr('127.0.0.0/8'), 'loopback'],
  [cidr('169.254.0.0/16'), 'link-local, incl. the cloud metadata service'],
  [cidr('172.16.0.0/12'), 'private-use'],
  [cidr('192.0.0.0/24'), 'IETF protocol assignments'],
  [cidr('192.0.2.0/24'), 'documentation (TEST-NET-1)'],
  [cidr('192.31.196.0/24'), 'AS112-v4'],
  [cidr('192.52.193.0/24'), 'AMT'],
  [cidr('192.88.99.0/24'), 'deprecated 6to4 relay anycast'],
  [cidr('192.168.0.0/16'), 'private-use'],
  [cidr('192.175.48.0/24'), 'direct delegation AS112 service'],
  [cidr('198.18.0.0/15'), 'benchmarking'],
  [cidr('198.51.100.0/24'), 'documentation (TEST-NET-2)'],
  [cidr('203.0.113.0/24'), 'documentation (TEST-NET-3)'],
  [cidr('224.0.0.0/4'), 'multicast'],
  [cidr('240.0.0.0/4'), 'reserved'],
  [cidr('255.255.255.255/32'), 'limited broadcast'],
];

const V4_MAPPED = cidr('::ffff:0:0/96');

/** IANA IPv6 Special-Purpose Address Registry plus multicast (v4-mapped is checked through its IPv4 address). */
const SPECIAL_V6: ReadonlyArray<[Cidr, string]> = [
  [cidr('::1/128'), 'loopback'],
  [cidr('::/128'), 'unspecified'],
  [cidr('::/96'), 'IPv4-compatible (deprecated)'],
  [cidr('::ffff:0:0:0/96'), 'IPv4-translated'],
  [cidr('64:ff9b::/96'), 'IPv4/IPv6 translation (NAT64)'],
  [cidr('64:ff9b:1::/48'), 'local-use IPv4/IPv6 translation'],
  [cidr('100::/64'), 'discard-only'],
  [cidr('100:0:0:1::/64'), 'dummy prefix'],
  [cidr('2001::/23'), 'IETF protocol assignments'],
  [cidr('2001:db8::/32'), 'documentation'],
  [cidr('2002::/16'), '6to4'],
  [cidr('3fff::/20'), 'documentation'],
  [cidr('5f00::/16'), 'segment routing (SRv6) SIDs'],
  [cidr('fc00::/7'), 'unique-local'],
  [cidr('fe80::/10'), 'link-local'],
  [cidr('fec0::/10'), 'site-local (deprecated)'],
  [cidr('ff00::/8'), 'multicast'],
];

/** The special-purpose range an address falls in, if any (v4-mapped IPv6 is judged by its IPv4 address). */
export function specialPurposeRange(address: string): { cidr: string; label: string } | undefined {
  const ip = parseIp(address);
  if (!ip) return { cidr: '', label: 'not an IP address' };
  let family = ip.family;
  let value = ip.value;
  if (family === 6 && cidrContains(V4_MAPPED, 6, value)) {
    family = 4;
    value = value & 0xffffffffn;
  }
  for (const [c, label] of family === 4 ? SPECIAL_V4 : SPECIAL_V6) {
    if (cidrContains(c, family, value)) return { cidr: c.text, label };
  }
  return undefined;
}

// ---------------------------------------------------------------- the guard

export class NetGuard {
  readonly disabled: boolean;
  private readonly allowV4: Cidr[];
  private readonly allowV6: Cidr[];
  private readonly ports: ReadonlySet<number>;

  constructor(
    options: NetGuardOptions = {},
    private readonly resolver: Resolver = defaultResolver,
  ) {
    validateNetworkOptions(options);
    this.disabled = options.disableStrictNetworking === true;
    this.allowV4 = (options.allowedIpv4Addresses ?? []).map((c) => parseCidr(c)!);
    this.allowV6 = (options.allowedIpv6Addresses ?? []).map((c) => parseCidr(c)!);
    this.ports = new Set([...DEFAULT_PORTS, ...(options.allowedPorts ?? [])]);
  }

  /** Why a connection to `address:port` is refused, or undefined when it is allowed. */
  refusalReason(address: string, port: number): string | undefined {
    if (this.disabled) return undefined;
    const reasons: string[] = [];
    const ip = parseIp(address);
    if (!ip) reasons.push('not an IP address');
    else if (!this.isAllowListed(ip.family, ip.value)) {
      const range = specialPurposeRange(address);
      if (range) {
        const field = ip.family === 4 || cidrContains(V4_MAPPED, 6, ip.value) ? 'allowed_ipv4_addresses' : 'allowed_ipv6_addresses';
        reasons.push(`address is in a special-purpose range (${range.label}, ${range.cidr}); allow it with ${field}`);
      }
    }
    if (!this.ports.has(port)) reasons.push(`port ${port} is not allowed (only 80 and 443 by default); allow it with allowed_ports`);
    if (reasons.length === 0) return undefined;
    return `${reasons.join('; ')}; or set disable_strict_networking`;
  }

  /** Throws the refusal as a non-retryable CLIENT_SIDE_ERROR. */
  check(address: string, port: number, hostname?: string): void {
    const reason = this.refusalReason(address, port);
    if (reason) throw refusal(hostname, address, port, reason);
  }

  /** Checks a connection target before connecting: an IP literal fully, a host name for its port only. */
  checkTarget(host: string, port: number): void {
    if (this.disabled) return;
    const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    if (net.isIP(bare.split('%')[0]!)) this.check(bare, port);
    else if (!this.ports.has(port)) {
      throw refusal(host, undefined, port, `port ${port} is not allowed (only 80 and 443 by default); allow it with allowed_ports; or set disable_strict_networking`);
    }
  }

  /** Checks a URL's literal host (if any) and port; host names are checked when resolved. */
  checkUrl(url: string | URL): void {
    const u = typeof url === 'string' ? new URL(url) : url;
    const port = u.port ? Number(u.port) : u.protocol === 'http:' ? 80 : 443;
    this.checkTarget(u.hostname, port);
  }

  /** Resolves `hostname` and returns only permitted addresses; throws the first refusal when none is. */
  async resolve(hostname: string, port: number): Promise<ResolvedAddress[]> {
    const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
    const literal = net.isIP(bare.split('%')[0]!);
    const found: ResolvedAddress[] = literal ? [{ address: bare, family: literal === 6 ? 6 : 4 }] : await this.resolver(bare);
    if (this.disabled) return found;
    const permitted = found.filter((a) => this.refusalReason(a.address, port) === undefined);
    if (permitted.length === 0) {
      const first = found[0];
      if (!first) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${bare}`), { code: 'ENOTFOUND', hostname: bare });
      throw refusal(literal ? undefined : bare, first.address, port, this.refusalReason(first.address, port)!);
    }
    return permitted;
  }

  /** A `lookup` for net/tls sockets that resolves through the guard. */
  lookupFor(port: number): net.LookupFunction {
    return (hostname, options, callback) => {
      const wantFamily = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
      this.resolve(hostname, port).then(
        (addrs) => {
          const usable = wantFamily === 4 || wantFamily === 6 ? addrs.filter((a) => a.family === wantFamily) : addrs;
          if (usable.length === 0) {
            callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
          } else if (options.all) {
            callback(null, usable.map((a) => ({ address: a.address, family: a.family })));
          } else {
            callback(null, usable[0]!.address, usable[0]!.family);
          }
        },
        (err: NodeJS.ErrnoException) => callback(err, '', 0),
      );
    };
  }

  private isAllowListed(family: 4 | 6, value: bigint): boolean {
    if (family === 6 && cidrContains(V4_MAPPED, 6, value)) {
      if (this.allowV6.some((c) => cidrContains(c, 6, value))) return true;
      return this.allowV4.some((c) => cidrContains(c, 4, value & 0xffffffffn));
    }
    return (family === 4 ? this.allowV4 : this.allowV6).some((c) => cidrContains(c, family, value));
  }
}

function refusal(hostname: string | undefined, address: string | undefined, port: number, reason: string): DestinationError {
  const addr = address === undefined ? undefined : address.includes(':') ? `[${address}]` : address;
  const target = addr === undefined ? `${hostname}:${port}` : hostname && hostname !== address ? `${hostname} (${addr}):${port}` : `${addr}:${port}`;
  return new DestinationError('CLIENT_SIDE_ERROR', `outbound connection to ${target} refused: ${reason}`, { retryable: false });
}

/** Validates the guard's options, naming the offending field in a BadRequestError. */
export function validateNetworkOptions(options: NetGuardOptions): void {
  for (const [field, list, family] of [
    ['allowed_ipv4_addresses', options.allowedIpv4Addresses, 4],
    ['allowed_ipv6_addresses', options.allowedIpv6Addresses, 6],
  ] as const) {
    for (const c of list ?? []) {
      const parsed = typeof c === 'string' ? parseCidr(c) : undefined;
      if (!parsed || parsed.family !== family) {
        throw new BadRequestError(`${field}: ${JSON.stringify(c)} is not a valid IPv${family} CIDR`);
      }
    }
  }
  for (const p of options.allowedPorts ?? []) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new BadRequestError(`allowed_ports: ${String(p)} is not a valid port (1-65535)`);
  }
}

// ---------------------------------------------------------------- agents

export interface GuardedAgentOptions {
  keepAlive?: boolean;
  maxSockets?: number;
}

interface ConnectOptions {
  host?: string | null;
  hostname?: string | null;
  port?: number | string | null;
  defaultPort?: number | string;
}

type ConnectCallback = (err: Error | null, stream: Duplex) => void;

function guardedConnect<O extends ConnectOptions>(
  guard: NetGuard,
  options: O,
  fallbackPort: number,
  callback: ConnectCallback | undefined,
  connect: (options: O, callback?: ConnectCallback) => Duplex | null | undefined,
): Duplex | null | undefined {
  const host = options.host ?? options.hostname ?? 'localhost';
  const port = Number(options.port ?? options.defaultPort ?? fallbackPort);
  try {
    guard.checkTarget(host, port);
  } catch (err) {
    // Reported through the callback so that it surfaces as the request's 'error' event.
    if (callback) {
      callback(err as Error, undefined as unknown as Duplex);
      return undefined;
    }
    throw err;
  }
  return connect({ ...options, lookup: guard.lookupFor(port) }, callback);
}

class GuardedHttpAgent extends http.Agent {
  constructor(
    private readonly guard: NetGuard,
    options: http.AgentOptions,
  ) {
    super(options);
  }

  override createConnection(options: http.ClientRequestArgs, callback?: ConnectCallback): Duplex | null | undefined {
    return guardedConnect(this.guard, options, 80, callback, (o, cb) => super.createConnection(o, cb));
  }
}

class GuardedHttpsAgent extends https.Agent {
  constructor(
    private readonly guard: NetGuard,
    options: https.AgentOptions,
  ) {
    super(options);
  }

  override createConnection(options: https.RequestOptions, callback?: ConnectCallback): Duplex | null | undefined {
    return guardedConnect(this.guard, options, 443, callback, (o, cb) => super.createConnection(o, cb));
  }
}

/** http and https agents whose every connection goes through the guard (for NodeHttpHandler and the like). */
export function createGuardedAgent(guard: NetGuard, options: GuardedAgentOptions = {}): { httpAgent: http.Agent; httpsAgent: https.Agent } {
  const agentOptions = { keepAlive: options.keepAlive ?? true, maxSockets: options.maxSockets ?? 50 };
  return { httpAgent: new GuardedHttpAgent(guard, agentOptions), httpsAgent: new GuardedHttpsAgent(guard, agentOptions) };
}
