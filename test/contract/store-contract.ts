/**
 * The PhysicalStore contract: every implementation (SQLite, PostgreSQL) runs
 * this suite unchanged, so the layers above (barrier, KV, sync) see the same
 * ordering, ranges, atomicity and isolation whichever storage is configured.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PhysicalStore, PhysicalTx } from '../../src/storage/store.js';

/** Somewhere a store lives (a file, a database) that can be opened again and again. */
export interface StoreLocation {
  open(): Promise<PhysicalStore>;
  /** removes the location; every store opened on it has been closed */
  destroy(): Promise<void>;
}

export interface StoreFactory {
  /** a fresh, empty location */
  create(): Promise<StoreLocation>;
}

const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
const str = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString('utf8'));

/** The order every store must list in: the UTF-8 bytes of the key (= code point order). */
export const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** Keys around the edges of prefix ranges: separators, control characters, BMP and astral characters. */
export const EDGE_KEYS = [
  'a',
  'a/',
  'a//',
  'a/b',
  'a/b/c',
  'a/b\u0001x',
  'a/b\u0001',
  'a/\u0001',
  'a/x',
  'a/\u007f',
  'a/\u00e9',
  'a/\u00e9t\u00e9',
  'a/\u4e2d\u6587',
  'a/\ufffd',
  'a/\uffff',
  'a/\uffffz',
  'a/\u{1F600}',
  'a/\u{1F600}/x',
  'a/\u{10FFFF}',
  'a/\u{10FFFF}\u{10FFFF}z',
  'a0',
  'a.',
  'ab',
  'b',
  '\u00e9',
  '\u{1F600}',
  'z',
];

const PREFIXES = ['', 'a', 'a/', 'a/b', 'a/b\u0001', 'a/\u00e9', 'a/\uffff', 'a/\u{1F600}', 'a/\u{10FFFF}', '\u{1F600}', 'nothing', 'a/\u{1F601}'];

/** Resolves when n parties have arrived, or after ms (a serialising store never lets the second arrive first). */
function softBarrier(n: number, ms: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return async () => {
    if (++arrived >= n) open();
    await Promise.race([opened, new Promise((r) => setTimeout(r, ms))]);
  };
}

export function storeContract(name: string, factory: StoreFactory): void {
  describe(`PhysicalStore contract: ${name}`, () => {
    let loc: StoreLocation;
    let store: PhysicalStore;
    const open = () => loc.open();

    beforeAll(async () => {
      loc = await factory.create();
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
      await loc?.destroy();
    });
    afterEach(async () => {
      await store.transaction(async (tx) => void (await tx.deletePrefix('')));
    });

    const put = (entries: Array<[string, string]>) =>
      store.transaction(async (tx) => {
        for (const [k, v] of entries) await tx.put(k, bytes(v));
      });

    describe('keys and values', () => {
      it('get / put / delete, overwrite, missing keys', async () => {
        expect(await store.read((tx) => tx.get('k'))).toBeUndefined();
        await put([['k', 'one']]);
        expect(str(await store.read((tx) => tx.get('k')))).toBe('one');
        await put([['k', 'two']]);
        expect(str(await store.read((tx) => tx.get('k')))).toBe('two');
        await store.transaction((tx) => tx.delete('k'));
        expect(await store.read((tx) => tx.get('k'))).toBeUndefined();
        await store.transaction((tx) => tx.delete('never-there'));
      });

      it('values are opaque bytes: empty, binary, a view into a larger buffer', async () => {
        const all = new Uint8Array(256).map((_, i) => i);
        const view = all.subarray(10, 20);
        await store.transaction(async (tx) => {
          await tx.put('empty', new Uint8Array(0));
          await tx.put('binary', all);
          await tx.put('view', view);
        });
        const [e, b, v] = await store.read(async (tx) => [await tx.get('empty'), await tx.get('binary'), await tx.get('view')]);
        expect(e).toBeDefined();
        expect(e!.byteLength).toBe(0);
        expect(Buffer.from(b!).equals(Buffer.from(all))).toBe(true);
        expect([...v!]).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
      });

      it('a transaction reads its own writes, in get and in list', async () => {
        await store.transaction(async (tx) => {
          await tx.put('own/1', bytes('x'));
          expect(str(await tx.get('own/1'))).toBe('x');
          expect(await tx.list('own/')).toEqual(['own/1']);
          await tx.delete('own/1');
          expect(await tx.get('own/1')).toBeUndefined();
          expect(await tx.list('own/')).toEqual([]);
        });
      });
    });

    describe('ordering and prefix ranges', () => {
      const sorted = [...EDGE_KEYS].sort(byteOrder);

      it('lists every key in UTF-8 byte order (code point order), whatever the characters', async () => {
        await put(EDGE_KEYS.map((k) => [k, `v:${k}`]));
        expect(await store.read((tx) => tx.list(''))).toEqual(sorted);
        const scanned = await store.read((tx) => tx.scan(''));
        expect(scanned.map(([k]) => k)).toEqual(sorted);
        for (const [k, v] of scanned) expect(str(v)).toBe(`v:${k}`);
      });

      it('a prefix selects exactly the keys starting with it (U+FFFF, astral and U+10FFFF neighbours included)', async () => {
        await put(EDGE_KEYS.map((k) => [k, k]));
        await store.read(async (tx) => {
          for (const p of PREFIXES) {
            const want = sorted.filter((k) => k.startsWith(p));
            expect(await tx.list(p), `list(${JSON.stringify(p)})`).toEqual(want);
            expect((await tx.scan(p)).map(([k]) => k), `scan(${JSON.stringify(p)})`).toEqual(want);
          }
        });
      });

      it('after and limit page through a prefix like a model does', async () => {
        await put(EDGE_KEYS.map((k) => [k, k]));
        const afters = [undefined, '', ...EDGE_KEYS, 'a/b\u0000', 'a/\u{1F5FF}', 'zz'];
        await store.read(async (tx) => {
          for (const p of PREFIXES) {
            const inRange = sorted.filter((k) => k.startsWith(p));
            for (const after of afters) {
              for (const limit of [undefined, 0, 1, 2, 100]) {
                if (after?.includes('\u0000')) continue; // PostgreSQL text cannot hold U+0000; see below
                const opts = { ...(after !== undefined && { after }), ...(limit !== undefined && { limit }) };
                let want = after === undefined ? inRange : inRange.filter((k) => byteOrder(k, after) > 0);
                if (limit !== undefined) want = want.slice(0, limit);
                expect(await tx.list(p, opts), `list(${JSON.stringify(p)}, ${JSON.stringify(opts)})`).toEqual(want);
              }
            }
          }
          const paged: string[] = [];
          let after: string | undefined;
          for (;;) {
            const page = await tx.scan('a/', { ...(after !== undefined && { after }), limit: 3 });
            paged.push(...page.map(([k]) => k));
            if (page.length < 3) break;
            after = page[page.length - 1]![0];
          }
          expect(paged).toEqual(sorted.filter((k) => k.startsWith('a/')));
        });
      });

      it('deletePrefix removes exactly the range and counts it', async () => {
        await put(EDGE_KEYS.map((k) => [k, k]));
        const n = await store.transaction((tx) => tx.deletePrefix('a/'));
        expect(n).toBe(EDGE_KEYS.filter((k) => k.startsWith('a/')).length);
        expect(await store.read((tx) => tx.list(''))).toEqual(sorted.filter((k) => !k.startsWith('a/')));
        expect(await store.transaction((tx) => tx.deletePrefix('a/'))).toBe(0);
        expect(await store.transaction((tx) => tx.deletePrefix('\u{1F600}'))).toBe(1);
        expect(await store.transaction((tx) => tx.deletePrefix(''))).toBe(sorted.filter((k) => !k.startsWith('a/')).length - 1);
        expect(await store.read((tx) => tx.list(''))).toEqual([]);
      });
    });

    describe('transactions', () => {
      it('a throwing fn leaves nothing behind, does not run onCommit, and its error comes out unchanged', async () => {
        await put([['atom/keep', 'old']]);
        const boom = new Error('boom');
        let committed = 0;
        await expect(
          store.transaction(async (tx, onCommit) => {
            onCommit(() => committed++);
            await tx.put('atom/new', bytes('x'));
            await tx.put('atom/keep', bytes('new'));
            await tx.deletePrefix('atom/');
            await tx.put('atom/after', bytes('y'));
            throw boom;
          }),
        ).rejects.toBe(boom);
        expect(committed).toBe(0);
        expect(await store.read((tx) => tx.scan('atom/'))).toEqual([['atom/keep', expect.anything()]]);
        expect(str(await store.read((tx) => tx.get('atom/keep')))).toBe('old');
      });

      it('onCommit callbacks run once each, in order, after the commit is visible', async () => {
        const seen: Array<string | undefined> = [];
        const result = await store.transaction(async (tx, onCommit) => {
          await tx.put('cb/k', bytes('v'));
          onCommit(() => seen.push('first'));
          onCommit(() => void store.read((r) => r.get('cb/k')).then((v) => seen.push(str(v))));
          return 42;
        });
        expect(result).toBe(42);
        await new Promise((r) => setTimeout(r, 50));
        expect(seen).toEqual(['first', 'v']);
      });

      it('a concurrent read never sees another transaction’s uncommitted writes', async () => {
        await put([['iso/k', 'committed']]);
        let written!: () => void;
        const wrote = new Promise<void>((r) => (written = r));
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        const tx = store.transaction(async (t) => {
          await t.put('iso/k', bytes('uncommitted'));
          await t.put('iso/new', bytes('uncommitted'));
          written();
          await gate;
          throw new Error('rolled back');
        });
        await wrote;
        // A snapshot store answers now; a serialising one after the rollback: both must show the committed state.
        const read = store.read(async (r) => [str(await r.get('iso/k')), await r.list('iso/')] as const);
        await new Promise((r) => setTimeout(r, 30));
        release();
        await expect(tx).rejects.toThrow('rolled back');
        expect(await read).toEqual(['committed', ['iso/k']]);
      });

      it('a read sees one snapshot: a commit in the middle of it does not show', async () => {
        await put([['snap/a', '1'], ['snap/b', '1']]);
        const seen = await store.read(async (r) => {
          const a = str(await r.get('snap/a'));
          // A serialising store runs this after the read; a snapshot store commits it meanwhile.
          const writer = store.transaction(async (t) => {
            await t.put('snap/a', bytes('2'));
            await t.put('snap/b', bytes('2'));
          });
          await Promise.race([writer, new Promise((res) => setTimeout(res, 100))]);
          const b = str(await r.get('snap/b'));
          return { a, b, writer };
        });
        await seen.writer;
        expect(seen.a).toBe(seen.b);
        expect(str(await store.read((r) => r.get('snap/b')))).toBe('2');
      });

      it('two transactions incrementing one counter at once both count (the loser runs again or waits)', async () => {
        await put([['ctr', '0']]);
        const both = softBarrier(2, 100);
        let commits = 0;
        const inc = () =>
          store.transaction(async (tx, onCommit) => {
            const n = Number(str(await tx.get('ctr')));
            await both(); // both have read before either writes (where the store lets them)
            await tx.put('ctr', bytes(String(n + 1)));
            onCommit(() => commits++);
          });
        await Promise.all([inc(), inc()]);
        expect(str(await store.read((tx) => tx.get('ctr')))).toBe('2');
        expect(commits).toBe(2);
      });

      it('a burst of concurrent read-modify-write transactions over keys and a range stays consistent', async () => {
        const N = 12;
        let commits = 0;
        await Promise.all(
          Array.from({ length: N }, (_, i) =>
            store.transaction(async (tx, onCommit) => {
              // "insert if absent" plus a count over a range: the shape of the outbox and the mount table.
              const existing = await tx.list('burst/item/');
              await tx.put(`burst/item/${String(i).padStart(2, '0')}`, bytes(String(existing.length)));
              const n = Number(str(await tx.get('burst/ctr')) ?? '0');
              await new Promise((r) => setTimeout(r, Math.random() * 5));
              await tx.put('burst/ctr', bytes(String(n + 1)));
              onCommit(() => commits++);
            }),
          ),
        );
        expect(commits).toBe(N);
        expect(str(await store.read((tx) => tx.get('burst/ctr')))).toBe(String(N));
        // Serial order: each item saw exactly the items committed before it, so the counts are 0..N-1.
        const seen = (await store.read((tx) => tx.scan('burst/item/'))).map(([, v]) => Number(str(v))).sort((a, b) => a - b);
        expect(seen).toEqual(Array.from({ length: N }, (_, i) => i));
      });

      it('insert-if-absent races: exactly one of several concurrent creators wins', async () => {
        const results = await Promise.allSettled(
          Array.from({ length: 5 }, (_, i) =>
            store.transaction(async (tx: PhysicalTx) => {
              if (await tx.get('once/k')) throw new Error('already exists');
              await new Promise((r) => setTimeout(r, 5));
              await tx.put('once/k', bytes(String(i)));
            }),
          ),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect((r.reason as Error).message).toBe('already exists');
      });
    });

    describe('persistence', () => {
      it('data survives close and reopen; opening again (migrations) is idempotent', async () => {
        await put([['persist/k', 'v'], ['persist/\u{1F600}', 'e']]);
        const again = await open();
        expect(str(await again.read((tx) => tx.get('persist/k')))).toBe('v');
        await again.close();
        const third = await open();
        expect(await third.read((tx) => tx.list('persist/'))).toEqual(['persist/k', 'persist/\u{1F600}']);
        await third.transaction((tx) => tx.put('persist/third', bytes('3')));
        await third.close();
        expect(str(await store.read((tx) => tx.get('persist/third')))).toBe('3');
      });

      it('has a description for logs', () => {
        expect(store.description).toMatch(/^[a-z]+(:|$)/);
      });
    });
  });
}
