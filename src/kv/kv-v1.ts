/** KV version 1: unversioned key/value pairs (supported so KV-v1 mounts exist and can be refused by sync). */
import type { SecureStore } from '../storage/barrier.js';
import { asFolder, immediateChildren, validatePath } from './kv-engine.js';
import type { MountEntry } from './kv-types.js';

const key = (m: MountEntry, p: string) => `kv/${m.uuid}/v1/${p}`;

export class KvV1Engine {
  constructor(private readonly store: SecureStore) {}

  exists(m: MountEntry, path: string): Promise<boolean> {
    return this.store.read(async (tx) => (await tx.getJson(key(m, path))) !== undefined);
  }

  read(m: MountEntry, path: string): Promise<Record<string, unknown> | undefined> {
    validatePath(path);
    return this.store.read((tx) => tx.getJson<Record<string, unknown>>(key(m, path)));
  }

  async write(m: MountEntry, path: string, data: Record<string, unknown>): Promise<void> {
    validatePath(path);
    await this.store.transaction((tx) => tx.putJson(key(m, path), data));
  }

  async delete(m: MountEntry, path: string): Promise<void> {
    validatePath(path);
    await this.store.transaction((tx) => tx.delete(key(m, path)));
  }

  async list(m: MountEntry, prefix: string): Promise<string[]> {
    const base = key(m, asFolder(prefix));
    return immediateChildren(await this.store.read((tx) => tx.list(base)), base.length);
  }
}
