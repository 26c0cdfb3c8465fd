/** Versioned schema migrations, applied in order at start inside one transaction each. */
import type Database from 'better-sqlite3';

const MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `CREATE TABLE entries (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;`,
  },
];

export function runMigrations(db: Database.Database): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const done = new Set(db.prepare<[], { version: number }>('SELECT version FROM schema_migrations').all().map((r) => r.version));
  const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
  const maxDone = Math.max(0, ...done);
  if (maxDone > latest) throw new Error(`storage schema version ${maxDone} is newer than this server supports (${latest})`);
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)').run(m.version, new Date().toISOString());
    })();
  }
  return latest;
}
