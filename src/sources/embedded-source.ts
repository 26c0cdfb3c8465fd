/** The embedded KV-v2 engine as a sync source. */
import type { Acl } from '../auth/auth-types.js';
import { type KvEngine, latestActiveVersion } from '../kv/kv-engine.js';
import type { MountEntry } from '../kv/kv-types.js';
import type { MountTable } from '../kv/mount-table.js';
import type { SourceState } from '../sync/planner.js';
import type { Clock } from '../util/clock.js';
import type { SecretSource, SourceMount } from './source.js';

export function sourceMountOf(m: MountEntry): SourceMount {
  return { accessor: m.accessor, path: m.path, type: m.type, kvVersion: m.type === 'kv' ? (m.options?.version ?? '1') : undefined };
}

export class EmbeddedSource implements SecretSource {
  constructor(
    private readonly mounts: MountTable,
    private readonly kv: KvEngine,
    private readonly clock: Clock,
  ) {}

  async mountByPath(path: string): Promise<SourceMount | undefined> {
    const m = this.mounts.get(path);
    return m ? sourceMountOf(m) : undefined;
  }

  async mountByAccessor(accessor: string): Promise<SourceMount | undefined> {
    const m = this.mounts.byAccessor(accessor);
    return m ? sourceMountOf(m) : undefined;
  }

  async readLatest(accessor: string, secretPath: string): Promise<SourceState> {
    const m = this.mounts.byAccessor(accessor);
    if (!m) return { kind: 'none' };
    const latest = await this.kv.readLatestActive(m, secretPath);
    return latest ? { kind: 'data', version: latest.version, data: latest.data } : { kind: 'none' };
  }

  async latestVersion(accessor: string, secretPath: string): Promise<number> {
    const m = this.mounts.byAccessor(accessor);
    if (!m) return 0;
    const meta = await this.kv.readMeta(m, secretPath);
    return meta ? latestActiveVersion(meta, this.clock.nowMs()) : 0;
  }

  async canRead(acl: Acl, mount: SourceMount, secretPath: string): Promise<boolean> {
    return acl.allows(`${mount.path}data/${secretPath}`, 'read');
  }
}
