/** The PhysicalStore contract on SQLite (a real file in a temp directory), plus what is SQLite's own. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { storeContract } from './store-contract.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'ss-store-'));
}

storeContract('sqlite', {
  async create() {
    const dir = tempDir();
    const path = join(dir, 'data.db');
    return {
      open: async () => new SqliteStore({ path }),
      destroy: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
});

describe('SqliteStore specifics', () => {
  const dir = tempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('describes itself by path and records each migration once', async () => {
    const path = join(dir, 'm.db');
    for (let i = 0; i < 3; i++) {
      const s = new SqliteStore({ path });
      expect(s.description).toBe(`sqlite:${path}`);
      await s.close();
    }
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT version FROM schema_migrations').all()).toEqual([{ version: 1 }]);
    db.close();
  });
});
