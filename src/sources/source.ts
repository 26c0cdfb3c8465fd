/**
 * Where secret values and mount facts come from: the embedded KV engine, or
 * a remote Vault/OpenBao. The sync engine reads the latest state through this
 * interface only; change notices arrive through the engine's markDirty.
 */
import type { Acl } from '../auth/auth-types.js';
import type { SourceState } from '../sync/planner.js';

export interface SourceMount {
  accessor: string;
  /** with trailing slash */
  path: string;
  type: string;
  /** '1' or '2' for kv mounts */
  kvVersion?: string;
}

export interface SecretSource {
  mountByPath(path: string): Promise<SourceMount | undefined>;
  mountByAccessor(accessor: string): Promise<SourceMount | undefined>;
  /** The latest active version's data, or none (no active version, or the metadata is gone). */
  readLatest(accessor: string, secretPath: string): Promise<SourceState>;
  /** The latest active version number (0 when none): cheap, for reconcile. */
  latestVersion(accessor: string, secretPath: string): Promise<number>;
  /** Whether the caller may read the secret's content (checked at associations/set). */
  canRead(acl: Acl, mount: SourceMount, secretPath: string): Promise<boolean>;
}
