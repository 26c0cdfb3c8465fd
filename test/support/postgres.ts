/**
 * Test support: throwaway PostgreSQL databases on the local server (CI runs
 * one at 127.0.0.1:5432, trust auth). Each test file creates its own with a
 * unique name and drops it afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The maintenance connection; SECRETS_SYNC_TEST_PG overrides it. */
export const PG_ADMIN_URL = process.env.SECRETS_SYNC_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Creates an empty UTF8 database named `ss_test_<tag>_<random>`. */
export async function createTestDatabase(tag = 'db'): Promise<TestDatabase> {
  const name = `ss_test_${tag.replace(/[^a-z0-9_]/g, '_')}_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8'`));
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

/** Runs one statement in the test database (inspection from outside the store). */
export async function queryDatabase<R extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(sql, values)).rows;
  } finally {
    await c.end();
  }
}
