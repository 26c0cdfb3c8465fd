/** Stored records of the sync engine. None of them holds a secret value (credentials live sealed in the destination record). */
import type { DestinationOptions, DestinationType, Granularity, SyncErrorStatus } from '../destinations/destination.js';

export type SyncStatus = 'UNKNOWN' | 'PENDING' | 'SYNCED' | 'UNSYNCED' | SyncErrorStatus;

export interface SyncConfig {
  disabled: boolean;
  queue_capacity: number;
}

export const DEFAULT_SYNC_CONFIG: SyncConfig = { disabled: false, queue_capacity: 1_000_000 };

export interface DestinationRecord {
  type: DestinationType;
  name: string;
  /** connection fields incl. credentials (sealed at rest by the barrier; masked on every read) */
  connection: Record<string, unknown>;
  options: DestinationOptions;
  createdMs: number;
  /** set while a purge (delete with purge=true) is in progress */
  purgeInitiatedAt?: string;
  purgeError?: string;
}

/** One external secret written for an association (one per KV key with secret-key granularity). */
export interface ExternalEntry {
  name: string;
  /** keyed hash of (name, value, tags): an unchanged value makes no API call */
  hash: string;
  /** tag keys last written, to remove dropped custom tags */
  tagKeys: string[];
  /** the custom tags last written (stable JSON), so a value-only change skips re-tagging */
  tagsSig?: string;
}

export interface AssociationRecord {
  destType: DestinationType;
  destName: string;
  accessor: string;
  /** mount path at set time, e.g. `my-kv/` */
  mount: string;
  secretPath: string;
  createdMs: number;
  status: SyncStatus;
  updatedAt: string;
  lastError: string;
  /** source version last synced (0 = none/unsynced) */
  syncedVersion: number;
  /** key: '' for secret-path granularity, else the KV key */
  external: Record<string, ExternalEntry>;
  /**
   * The destination's naming when the association was set: later template or
   * granularity changes apply to new associations and to a re-`set`, as in
   * Vault, instead of silently moving existing secrets.
   */
  naming?: { template: string; granularity: Granularity };
  /**
   * Successful sync rounds so far. Part of the idempotency token: retries of
   * one round reuse it, while a later round writing an older value again
   * (fallback after a soft delete) gets a new token instead of AWS's no-op.
   */
  rounds?: number;
  /** set by associations/remove (and purge): unsync, then drop the record */
  removing?: boolean;
}

/** A unit of pending work: "look at this association again". Carries no value. */
export interface QueueEntry {
  /** bumped on every mark; completion only clears the entry when unchanged */
  seq: number;
  dueMs: number;
  attempts: number;
  enqueuedMs: number;
  /** lease: another worker owns it until then */
  leaseUntil?: number;
  /** the engine instance that took the lease (absent in entries written before owners were recorded) */
  leaseOwner?: string;
  /**
   * An attempt failed in a way the destination may still have applied (a
   * timeout, a dropped connection, a 5xx, a crash mid-call): a request carrying
   * an older value may land after the next success, so that success is
   * followed by a re-push (see RepushEntry).
   */
  uncertain?: boolean;
  /** write every external secret again even where the hash says unchanged */
  repush?: boolean;
}

/** A re-push due at `dueMs`, scheduled after a success that followed an uncertain failure. */
export interface RepushEntry {
  dueMs: number;
}

export const keys = {
  config: 'sync/config',
  destPrefix: 'sync/dest/',
  dest: (type: string, name: string) => `sync/dest/${type}/${name}`,
  assocPrefix: (type: string, name: string) => `sync/assoc/${type}/${name}/`,
  assocAll: 'sync/assoc/',
  /** association id: `<type>/<name>/<accessor>/<secretPath>` */
  assocId: (type: string, name: string, accessor: string, secretPath: string) => `${type}/${name}/${accessor}/${secretPath}`,
  assoc: (id: string) => `sync/assoc/${id}`,
  /** secret → associations index; \u0001 separates the secret path from the destination */
  bySecretPrefix: (accessor: string, secretPath: string) => `sync/sec/${accessor}/${secretPath}\u0001`,
  bySecret: (accessor: string, secretPath: string, type: string, name: string) => `sync/sec/${accessor}/${secretPath}\u0001${type}/${name}`,
  bySecretAll: 'sync/sec/',
  queuePrefix: 'sync/queue/',
  queue: (id: string) => `sync/queue/${id}`,
  repushPrefix: 'sync/repush/',
  repush: (id: string) => `sync/repush/${id}`,
};

/** Splits an association id into its parts (secret paths may contain `/`). */
export function parseAssocId(id: string): { type: string; name: string; accessor: string; secretPath: string } {
  const [type, name, accessor, ...rest] = id.split('/');
  return { type: type!, name: name!, accessor: accessor!, secretPath: rest.join('/') };
}
