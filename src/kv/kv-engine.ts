/**
 * The embedded KV-v2 engine (reference §3): versions, CAS, retention, soft
 * delete, undelete, destroy, metadata and custom metadata. Every operation
 * is one storage transaction; change listeners (the sync outbox, events)
 * run inside it, so a write and everything it implies commit together.
 */
import { BadRequestError, NotFoundError } from '../errors.js';
import type { SecureStore, SecureTx } from '../storage/barrier.js';
import { type Clock, parseRfc3339, rfc3339Nano } from '../util/clock.js';
import { applyMergePatch } from '../util/merge-patch.js';
import type { KeyMeta, KvChange, KvConfig, MountEntry, VersionMeta } from './kv-types.js';

export type KvChangeListener = (tx: SecureTx, change: KvChange) => Promise<void>;

export const DEFAULT_MAX_VERSIONS = 10;

const cfgKey = (m: MountEntry) => `kv/${m.uuid}/config`;
const metaPrefix = (m: MountEntry) => `kv/${m.uuid}/meta/`;
const metaKey = (m: MountEntry, path: string) => `kv/${m.uuid}/meta/${path}`;
const verKey = (m: MountEntry, path: string, v: number) => `kv/${m.uuid}/ver/${v}/${path}`;

export interface WriteResult {
  version: number;
  created_time: string;
  deletion_time: string;
  destroyed: boolean;
  custom_metadata: Record<string, string> | null;
}

export interface ReadResult {
  /** null when the version is soft-deleted or destroyed */
  data: Record<string, unknown> | null;
  metadata: WriteResult;
}

export interface MetadataInput {
  max_versions?: number;
  cas_required?: boolean;
  delete_version_after?: number;
  custom_metadata?: Record<string, unknown> | null;
}

/** True when a version is neither destroyed nor (soft-)deleted at time `nowMs`. */
export function isVersionActive(v: VersionMeta | undefined, nowMs: number): boolean {
  if (!v || v.destroyed) return false;
  return v.deletion_time === '' || parseRfc3339(v.deletion_time) > nowMs;
}

/** The highest version that is still active, or 0. */
export function latestActiveVersion(meta: KeyMeta, nowMs: number): number {
  const nums = Object.keys(meta.versions).map(Number).sort((a, b) => b - a);
  for (const n of nums) if (isVersionActive(meta.versions[String(n)], nowMs)) return n;
  return 0;
}

export function validatePath(path: string): void {
  if (path === '' || path.endsWith('/')) throw new BadRequestError('invalid secret path: must not be empty or end with "/"');
  if (path.split('/').some((s) => s === '' || s === '.' || s === '..')) throw new BadRequestError('invalid secret path: empty or relative segment');
  // Control characters would collide with storage-key separators (the sync index uses \u0001).
  if (/\p{Cc}/u.test(path)) throw new BadRequestError('invalid secret path: control character');
}

export function validateCustomMetadata(cm: Record<string, unknown>): Record<string, string> {
  const problems: string[] = [];
  const keys = Object.keys(cm);
  if (keys.length > 64) problems.push(`payload must contain at most 64 keys, provided ${keys.length}`);
  const out: Record<string, string> = {};
  for (const k of keys) {
    const v = cm[k];
    if (k.length === 0 || k.length > 128) problems.push(`length of key "${k.slice(0, 130)}" is ${k.length} which is not between 1 and 128`);
    else if (!/^[\x20-\x7e]+$/u.test(k) && !isPrintable(k)) problems.push(`key "${k}" contains unprintable characters`);
    if (typeof v !== 'string') {
      problems.push(`value of key "${k}" is not a string`);
      continue;
    }
    if (v.length === 0 || v.length > 512) problems.push(`length of value for key "${k}" is ${v.length} which is not between 1 and 512`);
    else if (!isPrintable(v)) problems.push(`value for key "${k}" contains unprintable characters`);
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true }); // "__proto__" is a key too
  }
  if (problems.length) {
    throw new BadRequestError(`custom_metadata validation failed: ${problems.length} error${problems.length > 1 ? 's' : ''} occurred:\n${problems.map((p) => `\t* ${p}`).join('\n')}\n\n`);
  }
  return out;
}

function isPrintable(s: string): boolean {
  return !/[\p{Cc}\p{Cn}\p{Cs}]/u.test(s);
}

export class KvEngine {
  private readonly listeners: KvChangeListener[] = [];

  constructor(
    private readonly store: SecureStore,
    private readonly clock: Clock,
  ) {}

  onChange(listener: KvChangeListener): void {
    this.listeners.push(listener);
  }

  private async emit(tx: SecureTx, change: KvChange): Promise<void> {
    for (const l of this.listeners) await l(tx, change);
  }

  async readConfig(m: MountEntry): Promise<KvConfig> {
    return this.store.read((tx) => this.configIn(tx, m));
  }

  private async configIn(tx: SecureTx, m: MountEntry): Promise<KvConfig> {
    return (await tx.getJson<KvConfig>(cfgKey(m))) ?? { max_versions: 0, cas_required: false, delete_version_after: 0 };
  }

  async writeConfig(m: MountEntry, change: Partial<KvConfig>): Promise<void> {
    await this.store.transaction(async (tx) => {
      const cur = await this.configIn(tx, m);
      await tx.putJson(cfgKey(m), { ...cur, ...definedOnly(change) });
    });
  }

  async exists(m: MountEntry, path: string): Promise<boolean> {
    return this.store.read(async (tx) => (await tx.getJson(metaKey(m, path))) !== undefined);
  }

  /** Metadata (for the sync engine and remote sources); undefined when absent. */
  readMeta(m: MountEntry, path: string, tx?: SecureTx): Promise<KeyMeta | undefined> {
    if (tx) return tx.getJson<KeyMeta>(metaKey(m, path));
    return this.store.read((t) => t.getJson<KeyMeta>(metaKey(m, path)));
  }

  /**
   * The highest active version and its data in one read (the sync engine's
   * source read); undefined when there is none.
   */
  readLatestActive(m: MountEntry, path: string): Promise<{ version: number; data: Record<string, unknown> } | undefined> {
    return this.store.read(async (tx) => {
      const meta = await tx.getJson<KeyMeta>(metaKey(m, path));
      if (!meta) return undefined;
      // Fall back past soft-deleted or destroyed versions to the highest active one.
      const version = latestActiveVersion(meta, this.clock.nowMs());
      if (version === 0) return undefined;
      const data = (await tx.getJson<{ data: Record<string, unknown> }>(verKey(m, path, version)))?.data;
      return data ? { version, data } : undefined;
    });
  }

  /** Raw version data regardless of its deletion state; undefined when gone. */
  readVersionData(m: MountEntry, path: string, version: number, tx?: SecureTx): Promise<Record<string, unknown> | undefined> {
    const get = async (t: SecureTx) => (await t.getJson<{ data: Record<string, unknown> }>(verKey(m, path, version)))?.data;
    return tx ? get(tx) : this.store.read(get);
  }

  async read(m: MountEntry, path: string, version = 0): Promise<ReadResult> {
    validatePath(path);
    return this.store.read(async (tx) => {
      const meta = await tx.getJson<KeyMeta>(metaKey(m, path));
      if (!meta || meta.current_version === 0) throw new NotFoundError();
      const v = version || meta.current_version;
      const vm = meta.versions[String(v)];
      if (!vm) throw new NotFoundError();
      const md = versionResult(meta, v, vm);
      if (!isVersionActive(vm, this.clock.nowMs())) return { data: null, metadata: md };
      const data = (await tx.getJson<{ data: Record<string, unknown> }>(verKey(m, path, v)))?.data ?? null;
      return { data, metadata: md };
    });
  }

  async write(m: MountEntry, path: string, data: Record<string, unknown>, cas: number | undefined): Promise<WriteResult> {
    validatePath(path);
    return this.store.transaction(async (tx) => {
      const meta = await tx.getJson<KeyMeta>(metaKey(m, path));
      const result = await this.writeVersion(tx, m, path, meta, data, cas);
      await this.emit(tx, { mount: m, path, kind: 'data-write', versions: [result.version], meta: result.meta });
      return result.res;
    });
  }

  async patch(m: MountEntry, path: string, patch: Record<string, unknown>, cas: number | undefined): Promise<WriteResult> {
    validatePath(path);
    return this.store.transaction(async (tx) => {
      const meta = await tx.getJson<KeyMeta>(metaKey(m, path));
      if (!meta || meta.current_version === 0) throw new NotFoundError();
      const cur = meta.versions[String(meta.current_version)];
      if (!isVersionActive(cur, this.clock.nowMs())) throw new NotFoundError();
      const base = (await tx.getJson<{ data: Record<string, unknown> }>(verKey(m, path, meta.current_version)))?.data ?? {};
      const merged = applyMergePatch(base, patch) as Record<string, unknown>;
      const result = await this.writeVersion(tx, m, path, meta, merged, cas);
      await this.emit(tx, { mount: m, path, kind: 'data-patch', versions: [result.version], meta: result.meta });
      return result.res;
    });
  }

  private async writeVersion(
    tx: SecureTx,
    m: MountEntry,
    path: string,
    existing: KeyMeta | undefined,
    data: Record<string, unknown>,
    cas: number | undefined,
  ): Promise<{ res: WriteResult; version: number; meta: KeyMeta }> {
    const cfg = await this.configIn(tx, m);
    const nowMs = this.clock.nowMs();
    const now = rfc3339Nano(nowMs);
    const meta: KeyMeta = existing ?? emptyMeta(now);
    if (cas === undefined && (cfg.cas_required || meta.cas_required)) throw new BadRequestError('check-and-set parameter required for this call');
    if (cas !== undefined && cas !== meta.current_version) throw new BadRequestError('check-and-set parameter did not match the current version');
    const version = meta.current_version + 1;
    const dva = meta.delete_version_after || cfg.delete_version_after;
    const vm: VersionMeta = { created_time: now, deletion_time: dva > 0 ? rfc3339Nano(nowMs + dva * 1000) : '', destroyed: false };
    meta.versions[String(version)] = vm;
    meta.current_version = version;
    meta.updated_time = now;
    await tx.putJson(verKey(m, path, version), { data });
    await this.prune(tx, m, path, meta, cfg);
    await tx.putJson(metaKey(m, path), meta);
    return { res: versionResult(meta, version, vm), version, meta };
  }

  private async prune(tx: SecureTx, m: MountEntry, path: string, meta: KeyMeta, cfg: KvConfig): Promise<void> {
    const max = Math.max(meta.max_versions, cfg.max_versions) || DEFAULT_MAX_VERSIONS;
    const nums = Object.keys(meta.versions).map(Number).sort((a, b) => a - b);
    while (nums.length > max) {
      const v = nums.shift()!;
      delete meta.versions[String(v)];
      await tx.delete(verKey(m, path, v));
      meta.oldest_version = nums[0]!;
    }
  }

  /** DELETE M/data/K: soft-delete the current version. */
  async deleteLatest(m: MountEntry, path: string): Promise<void> {
    validatePath(path);
    await this.store.transaction(async (tx) => {
      const meta = await tx.getJson<KeyMeta>(metaKey(m, path));
      if (!meta || meta.current_version === 0) return;
      const vm = meta.versions[String(meta.current_version)];
      const nowMs = this.clock.nowMs();
      if (!vm || !isVersionActive(vm, nowMs)) return;
      vm.deletion_time = rfc3339Nano(nowMs);
      await tx.putJson(metaKey(m, path), meta);
      await this.emit(tx, { mount: m, path, kind: 'data-delete', versions: [meta.current_version], meta });
    });
  }

  /** delete / undelete / destroy of explicit versions; unknown or destroyed versions are skipped. */
  async versionsOp(m: MountEntry, path: string, op: 'delete' | 'undelete' | 'destroy', versions: number[]): Promise<void> {
    validatePath(path);
    if (versions.length === 0) throw new BadRequestError('No version number provided');
    await this.store.transaction(async (tx) => {
      const meta = await tx.getJson<KeyMeta>(metaKey(m, path));
      if (!meta) return;
      const nowMs = this.clock.nowMs();
      const touched: number[] = [];
      for (const v of versions) {
        const vm = meta.versions[String(v)];
        if (!vm || vm.destroyed) continue;
        if (op === 'delete') {
          if (!isVersionActive(vm, nowMs)) continue;
          vm.deletion_time = rfc3339Nano(nowMs);
        } else if (op === 'undelete') {
          vm.deletion_time = '';
        } else {
          vm.destroyed = true;
          await tx.delete(verKey(m, path, v));
        }
        touched.push(v);
      }
      if (touched.length === 0) return;
      await tx.putJson(metaKey(m, path), meta);
      await this.emit(tx, { mount: m, path, kind: op, versions: touched, meta });
    });
  }

  async readMetadata(m: MountEntry, path: string): Promise<KeyMeta> {
    validatePath(path);
    const meta = await this.readMeta(m, path);
    if (!meta) throw new NotFoundError();
    return meta;
  }

  async writeMetadata(m: MountEntry, path: string, input: MetadataInput, mode: 'write' | 'patch'): Promise<void> {
    validatePath(path);
    await this.store.transaction(async (tx) => {
      const existing = await tx.getJson<KeyMeta>(metaKey(m, path));
      if (!existing && mode === 'patch') throw new NotFoundError();
      const now = rfc3339Nano(this.clock.nowMs());
      const meta: KeyMeta = existing ?? emptyMeta(now);
      if (input.max_versions !== undefined) meta.max_versions = input.max_versions;
      if (input.cas_required !== undefined) meta.cas_required = input.cas_required;
      if (input.delete_version_after !== undefined) meta.delete_version_after = input.delete_version_after;
      if (input.custom_metadata !== undefined) {
        if (input.custom_metadata === null) meta.custom_metadata = mode === 'patch' ? meta.custom_metadata : null;
        else if (mode === 'patch') {
          const merged = applyMergePatch(meta.custom_metadata ?? {}, input.custom_metadata) as Record<string, unknown>;
          const v = validateCustomMetadata(merged);
          meta.custom_metadata = Object.keys(v).length ? v : null;
        } else {
          const v = validateCustomMetadata(input.custom_metadata);
          meta.custom_metadata = Object.keys(v).length ? v : null;
        }
      }
      meta.updated_time = now;
      await this.prune(tx, m, path, meta, await this.configIn(tx, m));
      await tx.putJson(metaKey(m, path), meta);
      await this.emit(tx, { mount: m, path, kind: mode === 'patch' ? 'metadata-patch' : 'metadata-write', meta });
    });
  }

  async deleteMetadata(m: MountEntry, path: string): Promise<void> {
    validatePath(path);
    await this.store.transaction(async (tx) => {
      const meta = await tx.getJson<KeyMeta>(metaKey(m, path));
      if (!meta) return;
      for (const v of Object.keys(meta.versions)) await tx.delete(verKey(m, path, Number(v)));
      await tx.delete(metaKey(m, path));
      await this.emit(tx, { mount: m, path, kind: 'metadata-delete' });
    });
  }

  /** Immediate children of a folder (`foo`, `dir/`), sorted; empty when none. */
  async list(m: MountEntry, prefix: string): Promise<string[]> {
    const base = metaPrefix(m) + asFolder(prefix);
    return immediateChildren(await this.store.read((tx) => tx.list(base)), base.length);
  }

  /** Every key path of a mount (for reconcile and listing); ascending. */
  async allPaths(m: MountEntry): Promise<string[]> {
    const base = metaPrefix(m);
    return (await this.store.read((tx) => tx.list(base))).map((k) => k.slice(base.length));
  }
}

function versionResult(meta: KeyMeta, version: number, vm: VersionMeta): WriteResult {
  return {
    created_time: vm.created_time,
    custom_metadata: meta.custom_metadata,
    deletion_time: vm.deletion_time,
    destroyed: vm.destroyed,
    version,
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Nested key structure with null leaves, to `depth` levels (0 = all). */
export function subkeys(data: unknown, depth: number, level = 1): unknown {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    // defineProperty: a plain assignment of a "__proto__" key would set the prototype and drop the key
    Object.defineProperty(out, k, { value: depth !== 0 && level >= depth ? null : subkeys(v, depth, level + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

export function asFolder(prefix: string): string {
  return prefix === '' || prefix.endsWith('/') ? prefix : prefix + '/';
}

/** Vault's LIST view of full storage keys under a folder: `foo`, `dir/`, sorted and unique. */
export function immediateChildren(keys: string[], baseLen: number): string[] {
  const out = new Set<string>();
  for (const k of keys) {
    const rest = k.slice(baseLen);
    const i = rest.indexOf('/');
    out.add(i === -1 ? rest : rest.slice(0, i + 1));
  }
  return [...out].sort();
}

function emptyMeta(now: string): KeyMeta {
  return {
    created_time: now,
    updated_time: now,
    current_version: 0,
    oldest_version: 0,
    max_versions: 0,
    cas_required: false,
    delete_version_after: 0,
    custom_metadata: null,
    versions: {},
  };
}
