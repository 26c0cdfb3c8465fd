/**
 * Service tokens, stored only as a keyed hash of the raw token.
 *
 * Storage layout (values sealed by the barrier; keys hold no secret):
 *   auth/token/id/<hmac(token)>                      TokenEntry
 *   auth/token/accessor/<hmac(accessor)>             { hash }
 *   auth/token/parent/<parent hash>/<child hash>     {} (for revoking a tree)
 * Accessors are hashed in keys too, so a database dump yields no handle that
 * the API would accept.
 */
import { randomBytes as nodeRandomBytes, timingSafeEqual } from 'node:crypto';
import { BadRequestError, PermissionDeniedError } from '../errors.js';
import { formatDuration } from '../http/field-coercion.js';
import type { SecureStore, SecureTx } from '../storage/barrier.js';
import type { TokenEntry } from './auth-types.js';

const ID = 'auth/token/id/';
const ACCESSOR = 'auth/token/accessor/';
const PARENT = 'auth/token/parent/';

/** Vault's system default and max lease TTL: 32 days. */
export const DEFAULT_TOKEN_TTL = 768 * 3600;
export const MAX_TOKEN_TTL = 768 * 3600;

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export interface TokenStoreOptions {
  /** clock in unix milliseconds */
  now?: () => number;
  randomBytes?: (n: number) => Buffer;
  /**
   * Keep unlimited-use token entries in memory between requests (default
   * true). Only for storage this process alone writes: with shared storage
   * another instance's revocation would not reach this cache.
   */
  cache?: boolean;
}

/** Cached entries at most; beyond it the oldest is dropped. */
const CACHE_MAX = 10_000;

/** Fields of `auth/token/create` after coercion (seconds for durations). */
export interface CreateTokenRequest {
  policies?: string[];
  meta?: Record<string, string> | null;
  ttl?: number;
  explicitMaxTtl?: number;
  period?: number;
  numUses?: number;
  displayName?: string;
  noDefaultPolicy?: boolean;
  renewable?: boolean;
  /** a caller-chosen token id (root or sudo only) */
  id?: string;
  /** detach from the parent (root or sudo only) */
  noParent?: boolean;
  /** created through `create-orphan` */
  orphan?: boolean;
  /** the caller holds `sudo` on the create path */
  sudo?: boolean;
  /** the API path that created it; default `auth/token/create` */
  path?: string;
}

export interface CreatedToken {
  /** the raw token: returned once, never stored */
  token: string;
  entry: TokenEntry;
}

export interface RenewResult {
  entry: TokenEntry;
  warnings: string[];
}

function sanitizePolicies(policies: readonly string[]): string[] {
  return [...new Set(policies.map((p) => p.trim().toLowerCase()).filter((p) => p !== ''))];
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

export class TokenStore {
  readonly now: () => number;
  private readonly random: (n: number) => Buffer;
  /**
   * Entries of unlimited-use tokens by hash, as last committed. Every commit
   * that writes or deletes a token entry drops it and bumps the generation,
   * so a lookup whose read raced such a commit does not cache what it read.
   * Expiry is still checked against the clock on every lookup.
   */
  private readonly cache: Map<string, TokenEntry> | undefined;
  private generation = 0;

  constructor(
    private readonly store: SecureStore,
    opts: TokenStoreOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.random = opts.randomBytes ?? nodeRandomBytes;
    this.cache = opts.cache === false ? undefined : new Map();
  }

  /** Called inside every transaction that writes or deletes a token entry: forget it once committed. */
  private changed(tx: SecureTx, hash: string): void {
    if (!this.cache) return;
    tx.onCommit(() => {
      this.generation++;
      this.cache!.delete(hash);
    });
  }

  /** Random base62 string without modulo bias. */
  private base62(len: number): string {
    let out = '';
    while (out.length < len) {
      for (const b of this.random(len * 2)) {
        if (b < 248 && out.length < len) out += BASE62[b % 62];
      }
    }
    return out;
  }

  private hash(token: string): string {
    return this.store.barrier.hmac('token', token);
  }

  private accessorKey(accessor: string): string {
    return ACCESSOR + this.store.barrier.hmac('accessor', accessor);
  }

  /**
   * Remaining lifetime in whole seconds; 0 for a non-expiring token. Rounded
   * up: a live token must never report 0, which clients read as "no expiry"
   * (a 1s token created a millisecond ago would otherwise show lease_duration 0).
   */
  ttlOf(entry: TokenEntry): number {
    if (entry.expireTime === null) return 0;
    return Math.max(0, Math.ceil((entry.expireTime - this.now()) / 1000));
  }

  /** A root token (policies ["root"], no TTL, orphan): init and dev mode. With an id that exists, returns it. */
  async createRoot(id?: string): Promise<CreatedToken> {
    const token = id ?? `hvs.${this.base62(24)}`;
    if (token === '') throw new BadRequestError('token id cannot be empty');
    const now = this.now();
    const hash = this.hash(token);
    return this.store.transaction(async (tx) => {
      const existing = await tx.getJson<TokenEntry>(ID + hash);
      if (existing) return { token, entry: existing };
      const entry: TokenEntry = {
        hash,
        accessor: await this.newAccessor(tx),
        policies: ['root'],
        meta: null,
        displayName: 'root',
        numUses: 0,
        creationTime: Math.floor(now / 1000),
        creationTtl: 0,
        expireTime: null,
        explicitMaxTtl: 0,
        period: 0,
        renewable: false,
        orphan: true,
        path: 'auth/token/root',
        parent: '',
      };
      await this.put(tx, entry);
      return { token, entry };
    });
  }

  /** Creates a child (or orphan) token of parent following Vault's token-store rules. */
  async create(parent: TokenEntry, req: CreateTokenRequest): Promise<CreatedToken> {
    const parentIsRoot = parent.policies.includes('root');
    const sudo = parentIsRoot || req.sudo === true;
    const numUses = req.numUses ?? 0;
    if (numUses < 0) throw new BadRequestError('number of uses cannot be negative');
    if (req.id !== undefined && req.id !== '' && !sudo) throw new BadRequestError('root or sudo privileges required to specify token id');
    if (req.noParent && !sudo) throw new BadRequestError('root or sudo privileges required to create orphan token');
    const period = req.period ?? 0;
    if (period > 0 && !sudo) throw new BadRequestError('root or sudo privileges required to create periodic token');

    let policies = sanitizePolicies(req.policies && req.policies.length > 0 ? req.policies : parent.policies);
    if (policies.includes('root') && !parentIsRoot) {
      throw new BadRequestError('root tokens may not be created without parent token being root');
    }
    if (!sudo) {
      // `default` is always allowed, as in Vault.
      const own = new Set(sanitizePolicies(parent.policies));
      if (policies.some((p) => p !== 'default' && !own.has(p))) throw new BadRequestError('child policies must be subset of parent');
    }
    if (policies.includes('root')) policies = ['root'];
    else {
      if (!req.noDefaultPolicy && !policies.includes('default')) policies.push('default');
      if (req.noDefaultPolicy) policies = policies.filter((p) => p !== 'default');
      policies.sort();
    }
    const isRootToken = policies.length === 1 && policies[0] === 'root';
    const orphan = req.orphan === true || req.noParent === true;

    const now = this.now();
    const explicitMax = Math.floor(req.explicitMaxTtl ?? 0);
    let ttl = period > 0 ? period : Math.floor(req.ttl ?? 0);
    if (ttl === 0 && !isRootToken) ttl = DEFAULT_TOKEN_TTL;
    if (explicitMax > 0 && (ttl === 0 || ttl > explicitMax)) ttl = explicitMax;
    if (period === 0 && ttl > MAX_TOKEN_TTL) ttl = MAX_TOKEN_TTL;
    // A child never outlives its parent (the parent's revocation takes the tree with it).
    if (!orphan && parent.expireTime !== null) {
      const remaining = Math.floor((parent.expireTime - now) / 1000);
      if (remaining <= 0) throw new PermissionDeniedError();
      if (ttl === 0) throw new BadRequestError('expiring root tokens cannot create non-expiring root tokens');
      ttl = Math.min(ttl, remaining);
    }

    let displayName = 'token';
    if (req.displayName) displayName = `token-${req.displayName}`.replace(/[^a-zA-Z0-9-]/g, '-').replace(/-$/, '');
    const token = req.id ? req.id : `hvs.${this.base62(24)}`;
    const hash = this.hash(token);

    return this.store.transaction(async (tx) => {
      // The parent may have been revoked (or used up) since the request was authorised.
      if (!orphan && !(await tx.getJson<TokenEntry>(ID + parent.hash))) throw new PermissionDeniedError();
      if (await tx.getJson<TokenEntry>(ID + hash)) throw new BadRequestError('cannot create a token with a duplicate ID');
      const entry: TokenEntry = {
        hash,
        accessor: await this.newAccessor(tx),
        policies,
        meta: req.meta && Object.keys(req.meta).length > 0 ? { ...req.meta } : null,
        displayName,
        numUses,
        creationTime: Math.floor(now / 1000),
        creationTtl: ttl,
        expireTime: ttl === 0 ? null : now + ttl * 1000,
        explicitMaxTtl: explicitMax,
        period,
        renewable: ttl === 0 ? false : req.renewable ?? true,
        orphan,
        path: req.path ?? 'auth/token/create',
        parent: orphan ? '' : parent.accessor,
        ...(orphan ? {} : { parentHash: parent.hash }),
      };
      await this.put(tx, entry);
      return { token, entry };
    });
  }

  /** The live entry of a raw token; an expired token is revoked (with its children) and yields undefined. */
  async lookup(rawToken: string): Promise<TokenEntry | undefined> {
    if (typeof rawToken !== 'string' || rawToken === '') return undefined;
    const hash = this.hash(rawToken);
    const hit = this.cache?.get(hash);
    if (hit) return this.checkExpiry(hit);
    const gen = this.generation;
    const entry = await this.store.read((tx) => tx.getJson<TokenEntry>(ID + hash));
    if (!entry || !sameHash(entry.hash, hash)) return undefined;
    // Limited-use tokens are counted in storage on every request: always read them there.
    if (this.cache && entry.numUses === 0 && gen === this.generation) {
      if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(hash, Object.freeze(entry));
    }
    return this.checkExpiry(entry);
  }

  async lookupByAccessor(accessor: string): Promise<TokenEntry | undefined> {
    if (typeof accessor !== 'string' || accessor === '') return undefined;
    const entry = await this.store.read(async (tx) => {
      const idx = await tx.getJson<{ hash: string }>(this.accessorKey(accessor));
      return idx ? tx.getJson<TokenEntry>(ID + idx.hash) : undefined;
    });
    if (!entry) return undefined;
    const a = Buffer.from(entry.accessor);
    const b = Buffer.from(accessor);
    if (a.length !== b.length || !timingSafeEqual(a, b)) return undefined;
    return this.checkExpiry(entry);
  }

  /**
   * Counts one use of a limited-use token; the HTTP layer calls it once per
   * request. Returns the entry with the remaining uses, or undefined when the
   * token is gone (refuse the request). On the last use the token is revoked
   * at once and the returned entry has `numUses: -1` (this request may proceed).
   */
  async use(entry: TokenEntry): Promise<TokenEntry | undefined> {
    if (entry.numUses === 0) return entry;
    return this.store.transaction(async (tx) => {
      const cur = await tx.getJson<TokenEntry>(ID + entry.hash);
      if (!cur || cur.numUses < 0) return undefined;
      if (cur.numUses === 0) return cur;
      if (cur.numUses === 1) {
        await this.revokeTree(tx, cur);
        return { ...cur, numUses: -1 };
      }
      const next = { ...cur, numUses: cur.numUses - 1 };
      await tx.putJson(ID + cur.hash, next);
      this.changed(tx, cur.hash);
      return next;
    });
  }

  /** Revokes a token and all its descendants. Returns false when it did not exist. */
  async revoke(rawToken: string): Promise<boolean> {
    if (typeof rawToken !== 'string' || rawToken === '') return false;
    const hash = this.hash(rawToken);
    return this.store.transaction(async (tx) => {
      const entry = await tx.getJson<TokenEntry>(ID + hash);
      if (!entry) return false;
      await this.revokeTree(tx, entry);
      return true;
    });
  }

  async revokeAccessor(accessor: string): Promise<boolean> {
    const entry = await this.lookupByAccessor(accessor);
    return entry ? this.revokeEntry(entry) : false;
  }

  /** Revokes the token an entry describes, with its descendants. */
  async revokeEntry(entry: TokenEntry): Promise<boolean> {
    return this.store.transaction(async (tx) => {
      const cur = await tx.getJson<TokenEntry>(ID + entry.hash);
      if (!cur) return false;
      await this.revokeTree(tx, cur);
      return true;
    });
  }

  /**
   * Renews a token (Vault's CalculateTTL): a periodic token gets its period
   * again; otherwise `increment` (or the original TTL when 0), capped so the
   * token never outlives its explicit max TTL / the system max from creation,
   * nor its parent.
   */
  async renew(entry: TokenEntry, increment: number): Promise<RenewResult> {
    return this.store.transaction(async (tx) => {
      const cur = await tx.getJson<TokenEntry>(ID + entry.hash);
      const now = this.now();
      if (!cur || (cur.expireTime !== null && cur.expireTime <= now)) throw new BadRequestError('token not found');
      if (cur.expireTime === null || !cur.renewable) throw new BadRequestError('lease is not renewable');
      const warnings: string[] = [];
      let ttl = cur.period > 0 ? cur.period : Math.floor(increment) > 0 ? Math.floor(increment) : cur.creationTtl;
      const maxTtl = cur.period > 0 ? cur.explicitMaxTtl : cur.explicitMaxTtl > 0 ? Math.min(cur.explicitMaxTtl, MAX_TOKEN_TTL) : MAX_TOKEN_TTL;
      if (maxTtl > 0) {
        const left = Math.floor((cur.creationTime * 1000 + maxTtl * 1000 - now) / 1000);
        if (left <= 0) throw new BadRequestError('past the max TTL, cannot renew');
        if (ttl > left) {
          warnings.push(`TTL of "${formatDuration(ttl)}" exceeded the effective max_ttl of "${formatDuration(left)}"; TTL value is capped accordingly`);
          ttl = left;
        }
      }
      if (!cur.orphan && cur.parentHash) {
        const parent = await tx.getJson<TokenEntry>(ID + cur.parentHash);
        if (parent?.expireTime != null) ttl = Math.max(0, Math.min(ttl, Math.floor((parent.expireTime - now) / 1000)));
      }
      const next: TokenEntry = { ...cur, expireTime: now + ttl * 1000, lastRenewalTime: Math.floor(now / 1000) };
      await tx.putJson(ID + cur.hash, next);
      this.changed(tx, cur.hash);
      return { entry: next, warnings };
    });
  }

  /** Revokes every expired token (with descendants); returns how many were expired. Run periodically. */
  async tidy(): Promise<number> {
    const now = this.now();
    const expired = await this.store.read(async (tx) => {
      const out: TokenEntry[] = [];
      let after: string | undefined;
      for (;;) {
        const rows = await tx.scanJson<TokenEntry>(ID, { after, limit: 500 });
        for (const [, e] of rows) if (e.expireTime !== null && e.expireTime <= now) out.push(e);
        if (rows.length < 500) return out;
        after = rows[rows.length - 1]![0];
      }
    });
    for (const e of expired) await this.revokeEntry(e);
    return expired.length;
  }

  private async checkExpiry(entry: TokenEntry): Promise<TokenEntry | undefined> {
    if (entry.expireTime !== null && entry.expireTime <= this.now()) {
      // An expired token is refused whether or not its clean-up can be written now (full disk):
      // a later lookup or tidy() retries the revocation.
      await this.revokeEntry(entry).catch(() => undefined);
      return undefined;
    }
    return entry;
  }

  private async newAccessor(tx: SecureTx): Promise<string> {
    for (;;) {
      const accessor = this.base62(24);
      if (!(await tx.getJson(this.accessorKey(accessor)))) return accessor;
    }
  }

  private async put(tx: SecureTx, entry: TokenEntry): Promise<void> {
    await tx.putJson(ID + entry.hash, entry);
    this.changed(tx, entry.hash);
    await tx.putJson(this.accessorKey(entry.accessor), { hash: entry.hash });
    if (entry.parentHash) await tx.putJson(`${PARENT}${entry.parentHash}/${entry.hash}`, {});
  }

  /** Deletes a token, its indexes and, breadth-first, every descendant. */
  private async revokeTree(tx: SecureTx, root: TokenEntry): Promise<void> {
    const queue: TokenEntry[] = [root];
    const seen = new Set<string>();
    while (queue.length > 0) {
      const e = queue.shift()!;
      if (seen.has(e.hash)) continue;
      seen.add(e.hash);
      for (const key of await tx.list(`${PARENT}${e.hash}/`)) {
        const child = await tx.getJson<TokenEntry>(ID + key.slice(key.lastIndexOf('/') + 1));
        if (child) queue.push(child);
      }
      await tx.deletePrefix(`${PARENT}${e.hash}/`);
      if (e.parentHash) await tx.delete(`${PARENT}${e.parentHash}/${e.hash}`);
      await tx.delete(this.accessorKey(e.accessor));
      await tx.delete(ID + e.hash);
      this.changed(tx, e.hash);
    }
  }
}
