/**
 * SQLite physical store (better-sqlite3, WAL). One connection; transactions
 * are serialised by an async mutex so an async callback can span awaits
 * without another caller seeing its uncommitted writes.
 */
import Database from 'better-sqlite3';
import type { ListOptions, PhysicalStore, PhysicalTx } from '../store.js';
import { prefixEnd } from '../key-range.js';
import { runMigrations } from './sqlite-migrations.js';

export interface SqliteOptions {
  /** file path, or ':memory:' */
  path: string;
  /** PRAGMA synchronous: FULL survives power loss; NORMAL (default) survives process crashes in WAL mode. */
  synchronous?: 'FULL' | 'NORMAL';
}

/** Upper bound of a prefix range; with none, a BLOB, which SQLite sorts after every TEXT value. */
const AFTER_ALL_TEXT = Buffer.alloc(0);
const rangeEnd = (prefix: string): string | Buffer => prefixEnd(prefix) ?? AFTER_ALL_TEXT;

export class SqliteStore implements PhysicalStore {
  readonly description: string;
  private readonly db: Database.Database;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly stmts;

  constructor(opts: SqliteOptions) {
    this.description = opts.path === ':memory:' ? 'memory' : `sqlite:${opts.path}`;
    this.db = new Database(opts.path);
    if (opts.path !== ':memory:') this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${opts.synchronous ?? 'NORMAL'}`);
    this.db.pragma('busy_timeout = 5000');
    runMigrations(this.db);
    const db = this.db;
    this.stmts = {
      get: db.prepare<[string], { value: Buffer }>('SELECT value FROM entries WHERE key = ?'),
      put: db.prepare('INSERT INTO entries(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      del: db.prepare('DELETE FROM entries WHERE key = ?'),
      delPrefix: db.prepare('DELETE FROM entries WHERE key >= ? AND key < ?'),
      list: db.prepare<[string, string | Buffer, string, number], { key: string }>(
        'SELECT key FROM entries WHERE key >= ? AND key < ? AND key > ? ORDER BY key LIMIT ?',
      ),
      scan: db.prepare<[string, string | Buffer, string, number], { key: string; value: Buffer }>(
        'SELECT key, value FROM entries WHERE key >= ? AND key < ? AND key > ? ORDER BY key LIMIT ?',
      ),
      // The same without LIMIT: a bound LIMIT costs ~4 µs per call even on an
      // empty range (measured: 4.7 vs 0.6 µs), and the KV write path lists the
      // secret's sync associations, usually none, on every write.
      listAll: db.prepare<[string, string | Buffer, string], { key: string }>('SELECT key FROM entries WHERE key >= ? AND key < ? AND key > ? ORDER BY key'),
      scanAll: db.prepare<[string, string | Buffer, string], { key: string; value: Buffer }>(
        'SELECT key, value FROM entries WHERE key >= ? AND key < ? AND key > ? ORDER BY key',
      ),
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
    };
  }

  private readonly tx: PhysicalTx = {
    get: async (key) => this.stmts.get.get(key)?.value,
    put: async (key, value) => {
      this.stmts.put.run(key, Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    },
    delete: async (key) => {
      this.stmts.del.run(key);
    },
    deletePrefix: async (prefix) => this.stmts.delPrefix.run(prefix, rangeEnd(prefix)).changes,
    list: async (prefix, opts?: ListOptions) =>
      (opts?.limit === undefined
        ? this.stmts.listAll.all(prefix, rangeEnd(prefix), opts?.after ?? '')
        : this.stmts.list.all(prefix, rangeEnd(prefix), opts.after ?? '', opts.limit)
      ).map((r) => r.key),
    scan: async (prefix, opts?: ListOptions) =>
      (opts?.limit === undefined
        ? this.stmts.scanAll.all(prefix, rangeEnd(prefix), opts?.after ?? '')
        : this.stmts.scan.all(prefix, rangeEnd(prefix), opts.after ?? '', opts.limit)
      ).map((r) => [r.key, r.value] as [string, Uint8Array]),
  };

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  transaction<T>(fn: (tx: PhysicalTx, onCommit: (cb: () => void) => void) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      const after: Array<() => void> = [];
      this.stmts.begin.run();
      let result: T;
      try {
        result = await fn(this.tx, (cb) => after.push(cb));
        this.stmts.commit.run();
      } catch (err) {
        if (this.db.inTransaction) this.stmts.rollback.run();
        throw err;
      }
      for (const cb of after) cb();
      return result;
    });
  }

  read<T>(fn: (tx: PhysicalTx) => Promise<T>): Promise<T> {
    return this.serial(() => fn(this.tx));
  }

  async close(): Promise<void> {
    await this.serial(async () => undefined);
    this.db.close();
  }
}
