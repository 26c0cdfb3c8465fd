/**
 * The physical storage contract: an ordered map of string keys to opaque byte
 * values with serialisable transactions (Vault's physical-backend model).
 * Implemented on SQLite and PostgreSQL; test/contract/ holds the suite both
 * pass. Keys are ordered by their UTF-8 bytes (= code point order), must not
 * contain U+0000, and should stay well under 2 kB (PostgreSQL's index limit).
 *
 * Values here are already sealed by the barrier (barrier.ts); the physical
 * layer never sees plaintext. Keys are paths like `kv/<mount-uuid>/meta/<path>`
 * and are not secret.
 */
export interface PhysicalTx {
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
  /** Delete every key starting with prefix; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  /**
   * Keys starting with `prefix`, ascending, strictly after `after` when given,
   * at most `limit` when given. Full keys are returned.
   */
  list(prefix: string, opts?: ListOptions): Promise<string[]>;
  /** Like list, with values. */
  scan(prefix: string, opts?: ListOptions): Promise<Array<[string, Uint8Array]>>;
}

export interface ListOptions {
  after?: string;
  limit?: number;
}

export interface PhysicalStore {
  /**
   * Runs fn in one transaction: all of its writes commit together or not at
   * all. Transactions are serialisable. `onCommit` callbacks run after commit.
   * fn may run more than once (PostgreSQL runs it again after a serialization
   * failure), so its only effects outside tx go through onCommit.
   */
  transaction<T>(fn: (tx: PhysicalTx, onCommit: (cb: () => void) => void) => Promise<T>): Promise<T>;
  /** Reads outside a write transaction (see a committed snapshot). */
  read<T>(fn: (tx: PhysicalTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** A human description for logs (`sqlite:/path`, `memory`). */
  readonly description: string;
}
