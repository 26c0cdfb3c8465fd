/**
 * The mount table: where secrets engines live. Accessors are `<type>_` + 8
 * random hex, unique and never reused (a reserved-accessor record outlives the
 * mount). The table is small and cached in memory; the store is the truth.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { BadRequestError } from '../errors.js';
import type { SecureStore, SecureTx } from '../storage/barrier.js';
import type { Clock } from '../util/clock.js';
import type { MountEntry } from './kv-types.js';

const MOUNT_PREFIX = 'sys/mounts/';
const ACCESSOR_PREFIX = 'sys/accessors/';
const RESERVED = ['sys/', 'auth/', 'cubbyhole/', 'identity/'];

export interface EnableRequest {
  type: string;
  description?: string;
  options?: Record<string, string> | null;
  config?: { default_lease_ttl?: number; max_lease_ttl?: number; force_no_cache?: boolean };
  local?: boolean;
  sealWrap?: boolean;
}

/** Normalises `my-kv`, `/my-kv/` to `my-kv/`. */
export function normalizeMountPath(p: string): string {
  const t = p.replace(/^\/+/, '').replace(/\/+$/, '');
  return t === '' ? '' : t + '/';
}

/** Hook to veto or clean up when a mount is disabled (sync associations). */
export type MountDisableHook = (tx: SecureTx, mount: MountEntry) => Promise<void>;

export class MountTable {
  private cache = new Map<string, MountEntry>();
  private readonly disableHooks: MountDisableHook[] = [];

  constructor(
    private readonly store: SecureStore,
    private readonly clock: Clock,
  ) {}

  async load(): Promise<void> {
    const rows = await this.store.read((tx) => tx.scanJson<MountEntry>(MOUNT_PREFIX));
    this.cache = new Map(rows.map(([, m]) => [m.path, m]));
  }

  onDisable(hook: MountDisableHook): void {
    this.disableHooks.push(hook);
  }

  list(): MountEntry[] {
    return [...this.cache.values()].sort((a, b) => a.path.localeCompare(b.path));
  }

  get(path: string): MountEntry | undefined {
    return this.cache.get(normalizeMountPath(path));
  }

  byAccessor(accessor: string): MountEntry | undefined {
    for (const m of this.cache.values()) if (m.accessor === accessor) return m;
    return undefined;
  }

  /** Longest-prefix resolution of a request path to its mount. */
  resolve(requestPath: string): { mount: MountEntry; rest: string } | undefined {
    let best: MountEntry | undefined;
    const p = requestPath.endsWith('/') ? requestPath : requestPath + '/';
    for (const m of this.cache.values()) {
      if (p.startsWith(m.path) && (!best || m.path.length > best.path.length)) best = m;
    }
    if (!best) return undefined;
    return { mount: best, rest: requestPath.slice(best.path.length).replace(/^\/+/, '') };
  }

  async enable(rawPath: string, req: EnableRequest): Promise<MountEntry> {
    const path = normalizeMountPath(rawPath);
    if (path === '') throw new BadRequestError('missing mount path');
    if (path.slice(0, -1).split('/').some((s) => s === '' || s === '.' || s === '..') || /\p{Cc}/u.test(path)) {
      throw new BadRequestError('invalid mount path: empty or relative segment, or control character');
    }
    for (const r of RESERVED) {
      if (path.startsWith(r) || r.startsWith(path)) throw new BadRequestError(`cannot mount under "${r}"`);
    }
    let type = req.type;
    let options = req.options ?? null;
    if (type === '') throw new BadRequestError('backend type must be specified as a string');
    if (type === 'kv-v2') {
      type = 'kv';
      options = { ...(options ?? {}), version: '2' };
    } else if (type === 'kv-v1') {
      type = 'kv';
      options = { ...(options ?? {}), version: '1' };
    } else if (type === 'kv') {
      const v = options?.version ?? '1';
      if (v !== '1' && v !== '2') throw new BadRequestError(`invalid KV version "${v}": must be 1 or 2`);
      options = { ...(options ?? {}), version: v };
    } else {
      throw new BadRequestError(`plugin not found in the catalog: ${type}`);
    }
    const entry = await this.store.transaction(async (tx) => {
      for (const m of await tx.scanJson<MountEntry>(MOUNT_PREFIX)) {
        const existing = m[1].path;
        if (existing.startsWith(path) || path.startsWith(existing)) throw new BadRequestError(`path is already in use at ${existing}`);
      }
      let accessor: string;
      do accessor = `${type}_${randomBytes(4).toString('hex')}`;
      while ((await tx.getJson(ACCESSOR_PREFIX + accessor)) !== undefined);
      const m: MountEntry = {
        path,
        type,
        description: req.description ?? '',
        accessor,
        uuid: randomUUID(),
        options,
        config: {
          default_lease_ttl: req.config?.default_lease_ttl ?? 0,
          max_lease_ttl: req.config?.max_lease_ttl ?? 0,
          force_no_cache: req.config?.force_no_cache ?? false,
        },
        local: req.local ?? false,
        sealWrap: req.sealWrap ?? false,
        createdMs: this.clock.nowMs(),
      };
      await tx.putJson(ACCESSOR_PREFIX + accessor, { path, createdMs: m.createdMs });
      await tx.putJson(MOUNT_PREFIX + path, m);
      tx.onCommit(() => this.cache.set(path, m));
      return m;
    });
    return entry;
  }

  /** Removes the mount and all of its data; its accessor stays reserved. */
  async disable(rawPath: string): Promise<void> {
    const path = normalizeMountPath(rawPath);
    await this.store.transaction(async (tx) => {
      const m = await tx.getJson<MountEntry>(MOUNT_PREFIX + path);
      if (!m) return;
      for (const hook of this.disableHooks) await hook(tx, m);
      await tx.deletePrefix(`kv/${m.uuid}/`);
      await tx.delete(MOUNT_PREFIX + path);
      tx.onCommit(() => this.cache.delete(path));
    });
  }

  async tune(rawPath: string, change: { description?: string; options?: Record<string, string>; config?: Partial<MountEntry['config']> }): Promise<void> {
    const path = normalizeMountPath(rawPath);
    await this.store.transaction(async (tx) => {
      const m = await tx.getJson<MountEntry>(MOUNT_PREFIX + path);
      if (!m) throw new BadRequestError(`cannot tune "${path}": no mount at this path`);
      if (change.options?.version !== undefined && change.options.version !== m.options?.version) {
        // Upgrading v1 → v2 rewrites storage in Vault; we do not support it.
        throw new BadRequestError('changing the KV version of a mount is not supported');
      }
      const next: MountEntry = {
        ...m,
        description: change.description ?? m.description,
        options: change.options ? { ...(m.options ?? {}), ...change.options } : m.options,
        config: { ...m.config, ...(change.config ?? {}) },
      };
      await tx.putJson(MOUNT_PREFIX + path, next);
      tx.onCommit(() => this.cache.set(path, next));
    });
  }
}
