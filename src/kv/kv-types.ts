/** Stored shapes of the mount table and the KV-v2 engine. */

export interface MountEntry {
  /** with trailing slash: `my-kv/` */
  path: string;
  /** Vault stores kv-v2 as type `kv` with options.version "2" */
  type: string;
  description: string;
  accessor: string;
  uuid: string;
  options: Record<string, string> | null;
  config: { default_lease_ttl: number; max_lease_ttl: number; force_no_cache: boolean };
  local: boolean;
  sealWrap: boolean;
  createdMs: number;
}

export interface KvConfig {
  max_versions: number;
  cas_required: boolean;
  /** seconds */
  delete_version_after: number;
}

export interface VersionMeta {
  created_time: string;
  /** '' when not deleted; may lie in the future (delete_version_after) */
  deletion_time: string;
  destroyed: boolean;
}

export interface KeyMeta {
  created_time: string;
  updated_time: string;
  current_version: number;
  oldest_version: number;
  max_versions: number;
  cas_required: boolean;
  /** seconds */
  delete_version_after: number;
  custom_metadata: Record<string, string> | null;
  versions: Record<string, VersionMeta>;
}

/** What changed, for the sync outbox and the event/audit feeds. Carries no values. */
export interface KvChange {
  mount: MountEntry;
  path: string;
  kind:
    | 'data-write'
    | 'data-patch'
    | 'data-delete'
    | 'delete'
    | 'undelete'
    | 'destroy'
    | 'metadata-write'
    | 'metadata-patch'
    | 'metadata-delete';
  versions?: number[];
  meta?: KeyMeta;
}

export function isKvV2(m: MountEntry): boolean {
  return m.type === 'kv' && m.options?.version === '2';
}
