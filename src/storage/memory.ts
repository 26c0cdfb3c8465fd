/** An in-memory sealed store with an ephemeral key: dev mode and unit tests. */
import { randomBytes } from 'node:crypto';
import { Barrier, SecureStore } from './barrier.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

export function openMemoryStore(): SecureStore {
  const { barrier } = Barrier.create(randomBytes(32));
  return new SecureStore(new SqliteStore({ path: ':memory:' }), barrier);
}
