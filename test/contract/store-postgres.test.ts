/** The PhysicalStore contract on PostgreSQL (a throwaway database per location), plus what is PostgreSQL's own. */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore, describePostgres } from '../../src/storage/postgres/postgres-store.js';
import { createTestDatabase, queryDatabase, type TestDatabase } from '../support/postgres.js';
import { storeContract } from './store-contract.js';

storeContract('postgresql', {
  async create() {
    const db = await createTestDatabase('contract');
    return {
      open: () => PostgresStore.open({ connectionUrl: db.url }),
      destroy: () => db.drop(),
    };
  },
});

describe('PostgresStore specifics', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('pgspec');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('instances starting together migrate once (advisory lock), and again is a no-op', async () => {
    const stores = await Promise.all(Array.from({ length: 5 }, () => PostgresStore.open({ connectionUrl: db.url, maxParallel: 2 })));
    await Promise.all(stores.map((s) => s.close()));
    const again = await PostgresStore.open({ connectionUrl: db.url });
    await again.close();
    expect(await queryDatabase(db.url, 'SELECT version FROM schema_migrations')).toEqual([{ version: 1 }]);
    const cols = await queryDatabase<{ column_name: string; data_type: string; collation_name: string | null }>(
      db.url,
      "SELECT column_name, data_type, collation_name FROM information_schema.columns WHERE table_name = 'entries' ORDER BY ordinal_position",
    );
    expect(cols).toEqual([
      { column_name: 'key', data_type: 'text', collation_name: 'C' },
      { column_name: 'value', data_type: 'bytea', collation_name: null },
    ]);
  });

  it('prefix ranges use the primary key index', async () => {
    const rows = await queryDatabase<{ 'QUERY PLAN': string }>(
      db.url,
      "EXPLAIN SELECT key FROM entries WHERE key >= 'a/' AND key < 'a0' AND key > '' ORDER BY key LIMIT 10",
    );
    expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/Index (Only )?Scan (using|on) entries_pkey/);
  });

  it('describes itself by database name, never the credentials', () => {
    expect(describePostgres('postgres://alice:hunter2@db.example:5432/secrets?sslmode=require')).toBe('postgresql:secrets');
    expect(describePostgres('postgresql://alice:hunter2@db.example')).toBe('postgresql:alice');
    expect(describePostgres('not a url hunter2')).toBe('postgresql');
  });

  it('a server that is not there fails the open with the database named, not the password', async () => {
    const err = await PostgresStore.open({ connectionUrl: 'postgres://u:hunter2@127.0.0.1:1/nowhere' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^storage postgresql:nowhere: /);
    expect((err as Error).message).not.toContain('hunter2');
  });

  it('read is read-only; keys with U+0000 are refused before they reach the server', async () => {
    const s = await PostgresStore.open({ connectionUrl: db.url });
    try {
      await expect(s.read((tx) => tx.put('ro', new Uint8Array([1])))).rejects.toMatchObject({ code: '25006' });
      await expect(s.transaction((tx) => tx.put('nul\u0000key', new Uint8Array([1])))).rejects.toThrow('U+0000');
    } finally {
      await s.close();
    }
  });

  it('a fn that swallows a failed statement does not commit (PostgreSQL aborted the transaction)', async () => {
    const s = await PostgresStore.open({ connectionUrl: db.url });
    try {
      let committed = false;
      const failure = s.transaction(async (tx, onCommit) => {
        await tx.put('swallow/k', new Uint8Array([1]));
        // A key past the b-tree entry limit (~2.7 kB even compressed) fails the statement.
        await tx.put(`swallow/${randomBytes(6000).toString('base64')}`, new Uint8Array([1])).catch(() => undefined);
        onCommit(() => (committed = true));
      });
      await expect(failure).rejects.toBeInstanceOf(Error);
      expect(committed).toBe(false);
      expect(await s.read((tx) => tx.get('swallow/k'))).toBeUndefined();
    } finally {
      await s.close();
    }
  });

  it('serialization failures run fn again (bounded), and a decision on unserialisable reads is retried', async () => {
    const s = await PostgresStore.open({ connectionUrl: db.url, maxParallel: 4 });
    try {
      // Write skew: each reads both flags and sets its own only if the other is clear. Serially, one must refuse.
      await s.transaction(async (tx) => {
        await tx.delete('skew/a');
        await tx.delete('skew/b');
      });
      let runs = 0;
      const both = (() => {
        let n = 0;
        let open!: () => void;
        const p = new Promise<void>((r) => (open = r));
        return () => (++n >= 2 && open(), Promise.race([p, new Promise((r) => setTimeout(r, 200))]));
      })();
      const attempt = (mine: string, other: string) =>
        s.transaction(async (tx) => {
          runs++;
          const o = await tx.get(other);
          await tx.get(mine);
          await both();
          if (o) throw new Error(`${other} is set`);
          await tx.put(mine, new Uint8Array([1]));
        });
      const results = await Promise.allSettled([attempt('skew/a', 'skew/b'), attempt('skew/b', 'skew/a')]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(runs).toBeGreaterThan(2);
      expect(await s.read((tx) => tx.list('skew/'))).toHaveLength(1);

      // Bounded: a transaction that always conflicts gives up with the serialization failure.
      const stubborn = await PostgresStore.open({ connectionUrl: db.url, maxAttempts: 3 });
      let tries = 0;
      const err = await stubborn
        .transaction(async () => {
          tries++;
          throw Object.assign(new Error('could not serialize access'), { code: '40001' });
        })
        .catch((e: { code?: string }) => e);
      await stubborn.close();
      expect(err).toMatchObject({ code: '40001' });
      expect(tries).toBe(3);
    } finally {
      await s.close();
    }
  });
});
