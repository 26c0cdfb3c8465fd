/**
 * Versioned schema migrations for the PostgreSQL store, applied at start in
 * one transaction under an advisory lock: several instances starting together
 * queue on the lock, and each later one finds the work done.
 */
import type { PoolClient } from 'pg';

const MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  {
    version: 1,
    // COLLATE "C": byte order of the UTF-8 text, the order SQLite's BINARY collation gives
    // and the one the prefix ranges (key-range.ts) assume.
    sql: `CREATE TABLE entries (key text COLLATE "C" PRIMARY KEY, value bytea NOT NULL)`,
  },
];

/** pg_advisory_xact_lock key: ASCII "secsync\x01" as a bigint. */
const MIGRATION_LOCK = '8315161634619155201';

/** Applies what is missing; returns the schema version. The client must not be in a transaction. */
export async function runMigrations(client: PoolClient): Promise<number> {
  const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const maxDone = Math.max(0, ...done);
    if (maxDone > latest) throw new Error(`storage schema version ${maxDone} is newer than this server supports (${latest})`);
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations(version) VALUES ($1)', [m.version]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return latest;
}
