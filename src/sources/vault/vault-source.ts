/**
 * A remote Vault (Community or Enterprise) or OpenBao as the sync source.
 * Mounts are the remote's (association keys and external names use the
 * remote accessor, as Vault Enterprise would); values are always read fresh
 * from the remote, never taken from a change feed.
 *
 * Read access at `associations/set`: Vault Enterprise checks the caller's own
 * token. We cannot use the caller's token on the remote, so the caller's
 * LOCAL ACL is checked against the remote path name (`<mount>data/<path>`);
 * the configured source token must itself be able to read what is associated.
 */
import type { Acl } from '../../auth/auth-types.js';
import { DestinationError } from '../../destinations/destination.js';
import type { SourceState } from '../../sync/planner.js';
import { type Clock, parseRfc3339, systemClock } from '../../util/clock.js';
import type { SecretSource, SourceMount } from '../source.js';
import { encodePath, errorsOf, SourceResponseError, SourceUnavailableError, type VaultClient, type VaultResponse } from './vault-client.js';

interface RemoteMount {
  accessor?: unknown;
  type?: unknown;
  path?: unknown;
  options?: { version?: unknown } | null;
}

interface RemoteMeta {
  versions?: Record<string, { deletion_time?: string; destroyed?: boolean }>;
}

const MOUNT_CACHE_MS = 30_000;

export class VaultSource implements SecretSource {
  private byAccessor = new Map<string, { mount: SourceMount; atMs: number }>();
  /** accessor → mount path as our associations recorded it, for tokens that may not read sys/mounts */
  private readonly hints = new Map<string, string>();

  constructor(
    readonly client: VaultClient,
    private readonly clock: Clock = systemClock,
  ) {}

  async mountByPath(path: string): Promise<SourceMount | undefined> {
    const clean = path.replace(/^\/+|\/+$/g, '');
    if (clean === '') return undefined;
    const r = await this.call('GET', `sys/internal/ui/mounts/${encodePath(clean)}`);
    if (r.status === 200) {
      const d = (r.body as { data?: RemoteMount } | undefined)?.data;
      const m = d ? toMount(d, clean) : undefined;
      // The preflight resolves by longest prefix: only an exact mount counts.
      if (!m || m.path !== `${clean}/`) return undefined;
      this.remember(m);
      return m;
    }
    if (r.status === 404 || r.status === 403 || r.status === 400) {
      // No preflight endpoint (very old servers), or not visible: fall back to the mount table.
      const all = await this.listMounts();
      return all?.find((m) => m.path === `${clean}/`);
    }
    throw new SourceResponseError(r.status, `sys/internal/ui/mounts/${clean}`, errorsOf(r.body));
  }

  async mountByAccessor(accessor: string): Promise<SourceMount | undefined> {
    const hit = this.byAccessor.get(accessor);
    if (hit && this.clock.nowMs() - hit.atMs < MOUNT_CACHE_MS) return hit.mount;
    const all = await this.listMounts();
    if (all === undefined) return hit?.mount;
    return all.find((m) => m.accessor === accessor);
  }

  async readLatest(accessor: string, secretPath: string): Promise<SourceState> {
    const mount = await this.requireMount(accessor);
    if (!mount) return { kind: 'none' };
    // A version may be deleted between the metadata read and the data read: look again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const version = await this.latestIn(mount, secretPath);
      if (version === 0) return { kind: 'none' };
      const r = await this.call('GET', `${mount.path}data/${encodePath(secretPath)}?version=${version}`);
      if (r.status === 200) {
        const data = (r.body as { data?: { data?: unknown } } | undefined)?.data?.data;
        if (typeof data === 'object' && data !== null && !Array.isArray(data)) return { kind: 'data', version, data: data as Record<string, unknown> };
        return { kind: 'none' };
      }
      if (r.status !== 404) throw this.failure(r, `${mount.path}data/${secretPath}`);
    }
    return { kind: 'none' };
  }

  async latestVersion(accessor: string, secretPath: string): Promise<number> {
    const mount = await this.requireMount(accessor);
    return mount ? this.latestIn(mount, secretPath) : 0;
  }

  /** Tells the source where an accessor was mounted when associated (used when sys/mounts is not readable). */
  hintMount(accessor: string, mountPath: string): void {
    this.hints.set(accessor, mountPath);
  }

  async canRead(acl: Acl, mount: SourceMount, secretPath: string): Promise<boolean> {
    return acl.allows(`${mount.path}data/${secretPath}`, 'read');
  }

  /** The highest version neither destroyed nor deleted (deletion_time empty or in the future); 0 when none. */
  private async latestIn(mount: SourceMount, secretPath: string): Promise<number> {
    const r = await this.call('GET', `${mount.path}metadata/${encodePath(secretPath)}`);
    if (r.status === 404) return 0;
    if (r.status !== 200) throw this.failure(r, `${mount.path}metadata/${secretPath}`);
    const meta = (r.body as { data?: RemoteMeta } | undefined)?.data;
    return latestActive(meta?.versions ?? {}, this.clock.nowMs());
  }

  /** The mount of a remote accessor; undefined when the remote's mount table no longer has it. */
  private async requireMount(accessor: string): Promise<SourceMount | undefined> {
    const m = await this.mountByAccessor(accessor);
    if (m) return m;
    const all = await this.listMounts();
    if (all === undefined) {
      const hint = this.hints.get(accessor);
      const viaHint = hint ? await this.mountByPath(hint) : undefined;
      if (viaHint?.accessor === accessor) return viaHint;
      throw new DestinationError('INTERNAL_VAULT_ERROR', `source vault: cannot resolve mount accessor ${accessor} (sys/mounts not readable by the source token)`, { retryable: true });
    }
    return all.find((x) => x.accessor === accessor);
  }

  /** The remote mount table, or undefined when the token may not read it. */
  private async listMounts(): Promise<SourceMount[] | undefined> {
    const r = await this.call('GET', 'sys/mounts');
    if (r.status === 403) return undefined;
    if (r.status !== 200) throw this.failure(r, 'sys/mounts');
    const body = r.body as { data?: Record<string, RemoteMount> } | undefined;
    const out: SourceMount[] = [];
    const fresh = new Map<string, { mount: SourceMount; atMs: number }>();
    for (const [path, v] of Object.entries(body?.data ?? {})) {
      const m = toMount({ ...v, path }, path);
      if (!m) continue;
      out.push(m);
      fresh.set(m.accessor, { mount: m, atMs: this.clock.nowMs() });
    }
    this.byAccessor = fresh;
    return out;
  }

  private remember(m: SourceMount): void {
    this.byAccessor.set(m.accessor, { mount: m, atMs: this.clock.nowMs() });
  }

  /** A request whose network failure becomes a sync error with a clear message. */
  private async call(method: string, path: string): Promise<VaultResponse> {
    try {
      return await this.client.request(method, path);
    } catch (err) {
      if (err instanceof SourceUnavailableError) throw new DestinationError('INTERNAL_VAULT_ERROR', err.message, { retryable: true });
      if (err instanceof SourceResponseError) throw new DestinationError('INTERNAL_VAULT_ERROR', err.message, { retryable: true });
      throw err;
    }
  }

  private failure(r: VaultResponse, what: string): DestinationError {
    const e = new SourceResponseError(r.status, what, errorsOf(r.body));
    return new DestinationError('INTERNAL_VAULT_ERROR', e.message, { retryable: true });
  }
}

function toMount(d: RemoteMount, fallbackPath: string): SourceMount | undefined {
  if (typeof d.accessor !== 'string' || typeof d.type !== 'string') return undefined;
  let path = typeof d.path === 'string' && d.path !== '' ? d.path : fallbackPath;
  if (!path.endsWith('/')) path += '/';
  const type = d.type === 'kv-v2' ? 'kv' : d.type;
  const v = d.options?.version;
  const kvVersion = type === 'kv' ? (d.type === 'kv-v2' ? '2' : typeof v === 'string' || typeof v === 'number' ? String(v) : '1') : undefined;
  return { accessor: d.accessor, path, type, ...(kvVersion !== undefined && { kvVersion }) };
}

export function latestActive(versions: Record<string, { deletion_time?: string; destroyed?: boolean }>, nowMs: number): number {
  const nums = Object.keys(versions)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0)
    .sort((a, b) => b - a);
  for (const n of nums) {
    const v = versions[String(n)]!;
    if (v.destroyed) continue;
    const dt = v.deletion_time ?? '';
    if (dt === '' || parseRfc3339(dt) > nowMs) return n;
  }
  return 0;
}
