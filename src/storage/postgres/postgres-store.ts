/**
 * PostgreSQL physical store (node-postgres pool): one table
 * `entries(key text COLLATE "C" PRIMARY KEY, value bytea)`, shared by every
 * server instance pointed at the database.
 *
 * Isolation: `transaction` runs at SERIALIZABLE. The callers' transactions
 * are arbitrary read-decide-write code over point reads *and ranges* (list,
 * scan, "does anything exist under this prefix"), written against SQLite,
 * where transactions are strictly serialised. REPEATABLE READ with row locks
 * cannot lock a key that does not exist yet nor a range against inserts, so
 * two instances could both decide "absent" and both write. SERIALIZABLE
 * (SSI) gives the serial behaviour the code assumes, at the price of
 * serialization failures (40001; also 40P01 deadlocks), on which the whole fn
 * runs again with jittered backoff, a bounded number of times. onCommit
 * callbacks of an attempt that did not commit are dropped.
 *
 * `read` is a REPEATABLE READ READ ONLY snapshot: consistent, never blocks
 * nor fails for serialisation, and refuses writes.
 */
import pg from 'pg';
import type { PoolClient, QueryResult, QueryResultRow } from 'pg';
import { prefixEnd } from '../key-range.js';
import type { ListOptions, PhysicalStore, PhysicalTx } from '../store.js';
import { runMigrations } from './postgres-migrations.js';

export interface PostgresOptions {
  /** `postgres://user:password@host:port/db?...` (config `connection_url`) */
  connectionUrl: string;
  /** pool size, the most statements in flight at once (config `max_parallel`); default 16 */
  maxParallel?: number;
  /** connections kept open while idle (config `max_idle_connections`); default all */
  maxIdleConnections?: number;
  /** attempts of one transaction before a serialization failure is returned; default 10 */
  maxAttempts?: number;
  /** errors of idle pooled connections (a database restart, a dropped link); they are replaced on demand */
  onPoolError?: (err: Error) => void;
}

const DEFAULT_POOL = 16;
const DEFAULT_ATTEMPTS = 10;
/** serialization_failure, deadlock_detected: the transaction did nothing and may simply run again */
const RETRYABLE = new Set(['40001', '40P01']);

/** `postgresql:<database>`: never the user, host or password. */
export function describePostgres(connectionUrl: string): string {
  try {
    const u = new URL(connectionUrl);
    const db = decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username) || 'postgres';
    return `postgresql:${db}`;
  } catch {
    return 'postgresql';
  }
}

export function isRetryable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE.has(code);
}

interface TxState {
  client: PoolClient;
  done: boolean;
  /** the first failed statement: PostgreSQL has aborted the transaction, whatever fn did with the error */
  failed?: unknown;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** PostgreSQL text cannot hold U+0000 (SQLite can); refuse it before it aborts the transaction. */
function text(s: string): string {
  if (s.includes('\u0000')) throw new Error('storage keys cannot contain U+0000');
  return s;
}

export class PostgresStore implements PhysicalStore {
  readonly description: string;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly opts: PostgresOptions,
  ) {
    this.description = describePostgres(opts.connectionUrl);
  }

  /** Connects, checks the database encoding and applies the migrations. */
  static async open(opts: PostgresOptions): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString: opts.connectionUrl, max: opts.maxParallel ?? DEFAULT_POOL, application_name: 'secrets-sync' });
    pool.on('error', (err) => opts.onPoolError?.(err));
    try {
      const client = await pool.connect();
      try {
        const enc = (await client.query<{ server_encoding: string }>('SHOW server_encoding')).rows[0]?.server_encoding;
        // Key order and the prefix ranges assume UTF-8 text compared bytewise.
        if (enc !== 'UTF8') throw new Error(`the database encoding must be UTF8 (it is ${enc})`);
        await runMigrations(client);
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new Error(`storage ${describePostgres(opts.connectionUrl)}: ${(err as Error).message}`, { cause: err });
    }
    return new PostgresStore(pool, opts);
  }

  async transaction<T>(fn: (tx: PhysicalTx, onCommit: (cb: () => void) => void) => Promise<T>): Promise<T> {
    const max = this.opts.maxAttempts ?? DEFAULT_ATTEMPTS;
    for (let attempt = 1; ; attempt++) {
      const after: Array<() => void> = [];
      let result: T;
      try {
        result = await this.attempt(fn, after);
      } catch (err) {
        if (!isRetryable(err) || attempt >= max) throw err;
        await sleep(Math.random() * Math.min(250, 4 * 2 ** attempt));
        continue;
      }
      for (const cb of after) cb();
      return result;
    }
  }

  private async attempt<T>(fn: (tx: PhysicalTx, onCommit: (cb: () => void) => void) => Promise<T>, after: Array<() => void>): Promise<T> {
    const client = await this.pool.connect();
    const st: TxState = { client, done: false };
    let broken: Error | undefined;
    try {
      // The savepoint lets a failing fn's reads be validated (below) without keeping its writes.
      await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE; SAVEPOINT fn');
      let result: T;
      try {
        result = await fn(this.txOn(st), (cb) => after.push(cb));
      } catch (err) {
        if (st.failed !== undefined) throw isRetryable(st.failed) ? st.failed : err;
        // fn refused on what it read ("already exists", a CAS mismatch); under SSI a read is only
        // known to be serialisable once its transaction commits, so commit the reads alone: a
        // serialization failure here means fn decided on a state that never was, and runs again.
        await client.query('ROLLBACK TO SAVEPOINT fn; COMMIT');
        throw err;
      }
      // fn swallowed a failed statement: PostgreSQL has aborted the transaction, COMMIT would roll back.
      if (st.failed !== undefined) throw st.failed;
      const done = await client.query('COMMIT');
      if (done.command !== 'COMMIT') throw new Error('storage transaction was rolled back at commit');
      return result;
    } catch (err) {
      st.done = true;
      // Outside a transaction ROLLBACK only warns; an error here means the connection is unusable.
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw err;
    } finally {
      st.done = true;
      this.release(client, broken);
    }
  }

  async read<T>(fn: (tx: PhysicalTx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const st: TxState = { client, done: false };
    let broken: Error | undefined;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const result = await fn(this.txOn(st));
      if (st.failed !== undefined) throw st.failed;
      await client.query('COMMIT');
      return result;
    } catch (err) {
      st.done = true;
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw err;
    } finally {
      st.done = true;
      this.release(client, broken);
    }
  }

  close(): Promise<void> {
    this.closing ??= this.pool.end();
    return this.closing;
  }

  private release(client: PoolClient, broken: Error | undefined): void {
    const maxIdle = this.opts.maxIdleConnections;
    // Releasing with a value destroys the connection instead of pooling it.
    client.release(broken ?? (maxIdle !== undefined && this.pool.idleCount >= maxIdle ? true : undefined));
  }

  private async query<R extends QueryResultRow>(st: TxState, name: string, sql: string, values: unknown[]): Promise<QueryResult<R>> {
    if (st.done) throw new Error('storage transaction already finished');
    try {
      // Named: parsed and planned once per connection.
      return await st.client.query<R>({ name, text: sql, values });
    } catch (err) {
      st.failed ??= err;
      throw err;
    }
  }

  /** Keys in [prefix, prefixEnd(prefix)) after `after`; the upper bound is left out when there is none. */
  private range<R extends QueryResultRow>(st: TxState, cols: 'key' | 'key, value', prefix: string, opts?: ListOptions): Promise<QueryResult<R>> {
    const end = prefixEnd(text(prefix));
    const limit = opts?.limit !== undefined && opts.limit >= 0 ? opts.limit : null; // null: LIMIT ALL
    const values: unknown[] = [prefix, text(opts?.after ?? ''), limit];
    if (end !== undefined) values.push(end);
    const name = `ss_${cols === 'key' ? 'list' : 'scan'}${end === undefined ? '_all' : ''}`;
    const sql = `SELECT ${cols} FROM entries WHERE key >= $1${end === undefined ? '' : ' AND key < $4'} AND key > $2 ORDER BY key LIMIT $3`;
    return this.query<R>(st, name, sql, values);
  }

  private txOn(st: TxState): PhysicalTx {
    return {
      get: async (key) => (await this.query<{ value: Buffer }>(st, 'ss_get', 'SELECT value FROM entries WHERE key = $1', [text(key)])).rows[0]?.value,
      put: async (key, value) => {
        const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
        await this.query(st, 'ss_put', 'INSERT INTO entries(key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [text(key), bytes]);
      },
      delete: async (key) => {
        await this.query(st, 'ss_del', 'DELETE FROM entries WHERE key = $1', [text(key)]);
      },
      deletePrefix: async (prefix) => {
        const end = prefixEnd(text(prefix));
        const r =
          end === undefined
            ? await this.query(st, 'ss_delp_all', 'DELETE FROM entries WHERE key >= $1', [prefix])
            : await this.query(st, 'ss_delp', 'DELETE FROM entries WHERE key >= $1 AND key < $2', [prefix, end]);
        return r.rowCount ?? 0;
      },
      list: async (prefix, opts) => (await this.range<{ key: string }>(st, 'key', prefix, opts)).rows.map((r) => r.key),
      scan: async (prefix, opts) =>
        (await this.range<{ key: string; value: Buffer }>(st, 'key, value', prefix, opts)).rows.map((r) => [r.key, r.value] as [string, Uint8Array]),
    };
  }
}
