import { describe, expect, it } from 'vitest';
import { BadRequestError, PermissionDeniedError } from '../errors.js';
import type { SecureStore } from '../storage/barrier.js';
import { openMemoryStore } from '../storage/memory.js';
import type { TokenEntry } from './auth-types.js';
import { DEFAULT_TOKEN_TTL, TokenStore } from './token-store.js';

function setup(start = 1_700_000_000_000) {
  const clock = { t: start };
  const store = openMemoryStore();
  const tokens = new TokenStore(store, { now: () => clock.t });
  return { clock, store, tokens };
}

/** Every physical key and every decrypted value, as text. */
async function dump(store: SecureStore): Promise<string[]> {
  const rows = await store.physical.read((tx) => tx.scan(''));
  const out: string[] = [];
  for (const [k, v] of rows) {
    out.push(k, Buffer.from(v).toString('latin1'));
    if (k !== 'core/keyring') out.push(store.barrier.open(k, v).toString('utf8'));
  }
  return out;
}

describe('TokenStore', () => {
  it('refuses an expired token even when its revocation cannot be written (disk full)', async () => {
    const { clock, store, tokens } = setup();
    const root = await tokens.createRoot();
    const child = await tokens.create(root.entry, { policies: ['a'], ttl: 1 });
    clock.t += 2000;
    const real = store.transaction.bind(store);
    store.transaction = () => Promise.reject(new Error('SQLITE_FULL: database or disk is full'));
    expect(await tokens.lookup(child.token)).toBeUndefined();
    store.transaction = real;
    expect(await tokens.lookup(child.token)).toBeUndefined();
    expect(await tokens.lookupByAccessor(child.entry.accessor)).toBeUndefined();
  });

  it('creates Vault-shaped tokens and accessors', async () => {
    const { tokens } = setup();
    const { token, entry } = await tokens.createRoot();
    expect(token).toMatch(/^hvs\.[A-Za-z0-9]{24}$/);
    expect(entry.accessor).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(entry).toMatchObject({ policies: ['root'], expireTime: null, orphan: true, displayName: 'root', path: 'auth/token/root' });
    expect(await tokens.lookup(token)).toEqual(entry);
    expect(await tokens.lookupByAccessor(entry.accessor)).toEqual(entry);
    expect(await tokens.lookup('hvs.nope')).toBeUndefined();
    expect(await tokens.lookup('')).toBeUndefined();
    expect(await tokens.lookupByAccessor('nope')).toBeUndefined();
  });

  it('stores only a keyed hash: the raw token appears nowhere in storage', async () => {
    const { store, tokens } = setup();
    const root = await tokens.createRoot('dev-root-token-id');
    const child = await tokens.create(root.entry, { policies: ['a'], meta: { user: 'x' } });
    const everything = (await dump(store)).join('\n');
    for (const t of [root.token, child.token]) expect(everything).not.toContain(t);
    // accessors are not usable handles in keys either
    const keys = (await store.physical.read((tx) => tx.list(''))).join('\n');
    expect(keys).not.toContain(child.entry.accessor);
    expect(keys).toContain(`auth/token/id/${store.barrier.hmac('token', child.token)}`);
  });

  it('createRoot with a given id is idempotent', async () => {
    const { tokens } = setup();
    const a = await tokens.createRoot('root');
    const b = await tokens.createRoot('root');
    expect(a.token).toBe('root');
    expect(b.entry).toEqual(a.entry);
  });

  it('applies Vault defaults on create', async () => {
    const { tokens, clock } = setup();
    const root = await tokens.createRoot();
    const { entry } = await tokens.create(root.entry, { policies: ['b', 'A', ' '], displayName: 'my app!' });
    expect(entry).toMatchObject({
      policies: ['a', 'b', 'default'],
      displayName: 'token-my-app',
      creationTtl: DEFAULT_TOKEN_TTL,
      expireTime: clock.t + DEFAULT_TOKEN_TTL * 1000,
      renewable: true,
      orphan: false,
      parent: root.entry.accessor,
      path: 'auth/token/create',
      numUses: 0,
      meta: null,
    });
    const noDefault = await tokens.create(root.entry, { policies: ['a'], noDefaultPolicy: true, ttl: 60, renewable: false });
    expect(noDefault.entry).toMatchObject({ policies: ['a'], creationTtl: 60, renewable: false });
    // no policies: inherit the parent's (root makes a root token, which does not expire)
    const rootChild = await tokens.create(root.entry, {});
    expect(rootChild.entry).toMatchObject({ policies: ['root'], expireTime: null, renewable: false });
  });

  it('caps ttl by explicit_max_ttl and the system max', async () => {
    const { tokens } = setup();
    const root = await tokens.createRoot();
    expect((await tokens.create(root.entry, { policies: ['a'], ttl: 3600, explicitMaxTtl: 60 })).entry.creationTtl).toBe(60);
    expect((await tokens.create(root.entry, { policies: ['a'], ttl: 10 * DEFAULT_TOKEN_TTL })).entry.creationTtl).toBe(DEFAULT_TOKEN_TTL);
    expect((await tokens.create(root.entry, { policies: ['a'], period: 120, ttl: 5 })).entry).toMatchObject({ creationTtl: 120, period: 120 });
  });

  it('a non-root parent may only grant a subset of its policies, capped by its own TTL', async () => {
    const { tokens, clock } = setup();
    const root = await tokens.createRoot();
    const parent = await tokens.create(root.entry, { policies: ['a', 'b'], ttl: 600 });
    clock.t += 100_000;
    const child = await tokens.create(parent.entry, { policies: ['a', 'default'], ttl: 3600 });
    expect(child.entry.policies).toEqual(['a', 'default']);
    expect(child.entry.creationTtl).toBe(500);
    const inherited = await tokens.create(parent.entry, {});
    expect(inherited.entry.policies).toEqual(['a', 'b', 'default']);
    await expect(tokens.create(parent.entry, { policies: ['a', 'c'] })).rejects.toThrow('child policies must be subset of parent');
    await expect(tokens.create(parent.entry, { policies: ['root'] })).rejects.toThrow('root tokens may not be created without parent token being root');
    await expect(tokens.create(parent.entry, { id: 'mine' })).rejects.toThrow('root or sudo privileges required to specify token id');
    await expect(tokens.create(parent.entry, { noParent: true })).rejects.toThrow('root or sudo privileges required to create orphan token');
    await expect(tokens.create(parent.entry, { period: 60 })).rejects.toThrow('root or sudo privileges required to create periodic token');
    // sudo on the create path lifts the subset rule, like Vault
    expect((await tokens.create(parent.entry, { policies: ['c'], sudo: true })).entry.policies).toEqual(['c', 'default']);
  });

  it('only root may choose the id; duplicates are refused', async () => {
    const { tokens } = setup();
    const root = await tokens.createRoot();
    const mine = await tokens.create(root.entry, { id: 'my-token', policies: ['a'] });
    expect(mine.token).toBe('my-token');
    expect((await tokens.lookup('my-token'))?.accessor).toBe(mine.entry.accessor);
    await expect(tokens.create(root.entry, { id: 'my-token' })).rejects.toThrow('cannot create a token with a duplicate ID');
  });

  it('expires tokens by the injected clock and deletes them on lookup', async () => {
    const { tokens, clock, store } = setup();
    const root = await tokens.createRoot();
    const t = await tokens.create(root.entry, { policies: ['a'], ttl: 60 });
    clock.t += 59_000;
    expect(tokens.ttlOf((await tokens.lookup(t.token))!)).toBe(1);
    clock.t += 1_000;
    expect(await tokens.lookup(t.token)).toBeUndefined();
    expect(await tokens.lookupByAccessor(t.entry.accessor)).toBeUndefined();
    const keys = await store.read((tx) => tx.list('auth/token/'));
    expect(keys.filter((k) => k.includes(store.barrier.hmac('token', t.token)))).toEqual([]);
  });

  it('tidy revokes expired tokens and their children', async () => {
    const { tokens, clock } = setup();
    const root = await tokens.createRoot();
    const a = await tokens.create(root.entry, { policies: ['a'], ttl: 60 });
    const b = await tokens.create(root.entry, { policies: ['a'], ttl: 600 });
    clock.t += 61_000;
    expect(await tokens.tidy()).toBe(1);
    expect(await tokens.lookupByAccessor(a.entry.accessor)).toBeUndefined();
    expect(await tokens.lookup(b.token)).toBeDefined();
  });

  it('counts uses and revokes on the last one', async () => {
    const { tokens } = setup();
    const root = await tokens.createRoot();
    const t = await tokens.create(root.entry, { policies: ['a'], numUses: 2 });
    let e = (await tokens.lookup(t.token))!;
    e = (await tokens.use(e))!;
    expect(e.numUses).toBe(1);
    e = (await tokens.lookup(t.token))!;
    expect(e.numUses).toBe(1);
    const last = await tokens.use(e);
    expect(last?.numUses).toBe(-1);
    expect(await tokens.lookup(t.token)).toBeUndefined();
    expect(await tokens.use(e)).toBeUndefined();
    // unlimited tokens are untouched
    expect(await tokens.use(root.entry)).toBe(root.entry);
    await expect(tokens.create(root.entry, { numUses: -1 })).rejects.toThrow('number of uses cannot be negative');
  });

  it('revoking a token revokes its whole tree, not orphans', async () => {
    const { tokens } = setup();
    const root = await tokens.createRoot();
    const p = await tokens.create(root.entry, { policies: ['a', 'b'] });
    const c1 = await tokens.create(p.entry, { policies: ['a'] });
    const c2 = await tokens.create(p.entry, { policies: ['b'] });
    const g = await tokens.create(c1.entry, { policies: ['a'] });
    const orphan = await tokens.create(p.entry, { policies: ['a'], orphan: true, path: 'auth/token/create-orphan' });
    expect(orphan.entry).toMatchObject({ orphan: true, parent: '' });
    const sibling = await tokens.create(root.entry, { policies: ['a'] });
    expect(await tokens.revoke(p.token)).toBe(true);
    for (const t of [p, c1, c2, g]) expect(await tokens.lookup(t.token)).toBeUndefined();
    expect(await tokens.lookup(orphan.token)).toBeDefined();
    expect(await tokens.lookup(sibling.token)).toBeDefined();
    expect(await tokens.lookup(root.token)).toBeDefined();
    expect(await tokens.revoke(p.token)).toBe(false);
    // a revoked parent cannot create children any more
    await expect(tokens.create(p.entry, { policies: ['a'] })).rejects.toBeInstanceOf(PermissionDeniedError);
  });

  it('revokes a subtree by accessor and leaves no index behind', async () => {
    const { tokens, store } = setup();
    const root = await tokens.createRoot();
    const p = await tokens.create(root.entry, { policies: ['a'] });
    const c = await tokens.create(p.entry, { policies: ['a'] });
    const before = await store.read((tx) => tx.list('auth/token/'));
    expect(await tokens.revokeAccessor(c.entry.accessor)).toBe(true);
    expect(await tokens.lookup(c.token)).toBeUndefined();
    expect(await tokens.lookup(p.token)).toBeDefined();
    const after = await store.read((tx) => tx.list('auth/token/'));
    expect(before.length - after.length).toBe(3); // id, accessor and parent-link keys
    expect(await tokens.revokeAccessor('missing')).toBe(false);
  });

  describe('renew', () => {
    it('extends by the increment or the original ttl', async () => {
      const { tokens, clock } = setup();
      const root = await tokens.createRoot();
      const t = await tokens.create(root.entry, { policies: ['a'], ttl: 600 });
      clock.t += 300_000;
      let r = await tokens.renew(t.entry, 0);
      expect(r.entry.expireTime).toBe(clock.t + 600_000);
      expect(r.entry.lastRenewalTime).toBe(Math.floor(clock.t / 1000));
      r = await tokens.renew(t.entry, 3600);
      expect(tokens.ttlOf(r.entry)).toBe(3600);
      expect((await tokens.lookup(t.token))?.expireTime).toBe(clock.t + 3_600_000);
    });

    it('never passes explicit_max_ttl from creation, with a warning', async () => {
      const { tokens, clock } = setup();
      const root = await tokens.createRoot();
      const t = await tokens.create(root.entry, { policies: ['a'], ttl: 60, explicitMaxTtl: 100 });
      clock.t += 50_000;
      const r = await tokens.renew(t.entry, 3600);
      expect(tokens.ttlOf(r.entry)).toBe(50);
      expect(r.warnings[0]).toMatch(/exceeded the effective max_ttl of "50s"/);
      clock.t += 49_000;
      await tokens.renew(t.entry, 10);
      clock.t += 1_000;
      await expect(tokens.renew(t.entry, 10)).rejects.toThrow(BadRequestError);
    });

    it('periodic tokens renew to their period', async () => {
      const { tokens, clock } = setup();
      const root = await tokens.createRoot();
      const t = await tokens.create(root.entry, { policies: ['a'], period: 100 });
      clock.t += 90_000;
      const r = await tokens.renew(t.entry, 5000);
      expect(tokens.ttlOf(r.entry)).toBe(100);
      // beyond the system max too, as periodic tokens may live forever
      clock.t += DEFAULT_TOKEN_TTL * 1000;
      await expect(tokens.renew(t.entry, 0)).rejects.toThrow('token not found');
    });

    it('refuses non-renewable and non-expiring tokens', async () => {
      const { tokens } = setup();
      const root = await tokens.createRoot();
      const t = await tokens.create(root.entry, { policies: ['a'], renewable: false });
      await expect(tokens.renew(t.entry, 10)).rejects.toThrow('lease is not renewable');
      await expect(tokens.renew(root.entry, 10)).rejects.toThrow('lease is not renewable');
    });

    it('a child is not renewed past its parent', async () => {
      const { tokens, clock } = setup();
      const root = await tokens.createRoot();
      const p = await tokens.create(root.entry, { policies: ['a'], ttl: 100 });
      const c = await tokens.create(p.entry, { policies: ['a'], ttl: 50 });
      clock.t += 40_000;
      const r = await tokens.renew(c.entry, 1000);
      expect(tokens.ttlOf(r.entry)).toBe(60);
    });
  });

  it('uses a constant-time comparison on the stored hash', async () => {
    const { tokens, store } = setup();
    const root = await tokens.createRoot();
    // a record whose embedded hash does not match its key is refused
    const t = await tokens.create(root.entry, { policies: ['a'] });
    const key = `auth/token/id/${store.barrier.hmac('token', t.token)}`;
    await store.transaction(async (tx) => {
      const e = (await tx.getJson<TokenEntry>(key))!;
      await tx.putJson(key, { ...e, hash: 'ab'.repeat(32) });
    });
    expect(await tokens.lookup(t.token)).toBeUndefined();
  });

  describe('in-memory cache of entries', () => {
    /** storage reads of token entries (the cache answers the others) */
    function countReads(store: SecureStore): { n: number } {
      const c = { n: 0 };
      const read = store.read.bind(store);
      store.read = (fn) => {
        c.n++;
        return read(fn);
      };
      return c;
    }

    it('answers repeated lookups from memory, and a revocation, a renewal or an expiry at once', async () => {
      const { tokens, store, clock } = setup();
      const root = await tokens.createRoot();
      const t = await tokens.create(root.entry, { policies: ['a'], ttl: 60 });
      const reads = countReads(store);
      const first = await tokens.lookup(t.token);
      expect(await tokens.lookup(t.token)).toEqual(first);
      expect(reads.n).toBe(1);
      const renewed = await tokens.renew(first!, 120);
      expect(await tokens.lookup(t.token)).toEqual(renewed.entry);
      clock.t += 119_999;
      expect(await tokens.lookup(t.token)).toBeDefined();
      clock.t += 1;
      expect(await tokens.lookup(t.token)).toBeUndefined();

      const u = await tokens.create(root.entry, { policies: ['a'] });
      await tokens.lookup(u.token);
      expect(await tokens.revoke(u.token)).toBe(true);
      expect(await tokens.lookup(u.token)).toBeUndefined();
      // revoking the parent takes a cached child with it
      const child = await tokens.create(root.entry, { policies: ['a'] });
      const grandchild = await tokens.create(child.entry, { policies: ['a'] });
      await tokens.lookup(grandchild.token);
      await tokens.revokeAccessor(child.entry.accessor);
      expect(await tokens.lookup(grandchild.token)).toBeUndefined();
    });

    it('never caches a limited-use token: every use is counted in storage', async () => {
      const { tokens, store } = setup();
      const root = await tokens.createRoot();
      const t = await tokens.create(root.entry, { policies: ['a'], numUses: 2 });
      const reads = countReads(store);
      const e1 = (await tokens.lookup(t.token))!;
      expect((await tokens.use(e1))?.numUses).toBe(1);
      const e2 = (await tokens.lookup(t.token))!;
      expect(e2.numUses).toBe(1);
      expect((await tokens.use(e2))?.numUses).toBe(-1);
      expect(await tokens.lookup(t.token)).toBeUndefined();
      expect(reads.n).toBe(3);
    });

    it('is off with cache: false (shared storage)', async () => {
      const store = openMemoryStore();
      const tokens = new TokenStore(store, { cache: false });
      const root = await tokens.createRoot();
      const reads = countReads(store);
      await tokens.lookup(root.token);
      await tokens.lookup(root.token);
      expect(reads.n).toBe(2);
    });
  });
});
