/**
 * The Secrets Sync API's domain operations (sys/sync/...): global config,
 * destinations (masked credentials, immutable fields, purge) and associations
 * (set / remove wait for the first attempt). Storage writes and the outbox
 * mark commit in one transaction.
 */
import type { Acl } from '../auth/auth-types.js';
import type { DestinationOptions, DestinationType } from '../destinations/destination.js';
import { defaultDestinationOptions, destinationTypes, isDestinationType, validateDestination } from '../destinations/registry.js';
import { BadRequestError, NotFoundError, PermissionDeniedError } from '../errors.js';
import type { SecretSource } from '../sources/source.js';
import type { SecureStore, SecureTx } from '../storage/barrier.js';
import { type Clock, rfc3339Nano } from '../util/clock.js';
import type { SyncEngine } from './sync-engine.js';
import { type AssociationRecord, type DestinationRecord, type SyncConfig, type SyncStatus, keys, parseAssocId } from './sync-types.js';

/** How credentials read back (sync-routes' destinationView). */
export const MASKED = '*****';

/** Associations decrypted at a time when listing a destination's. */
const ASSOC_PAGE = 1000;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export interface AssociationEntryView {
  accessor: string;
  secret_name: string;
  sync_status: SyncStatus;
  updated_at: string;
  sub_key?: string;
  last_error?: string;
  synced_version: number;
  external_name?: string;
}

export class SyncService {
  constructor(
    private readonly store: SecureStore,
    private readonly engine: SyncEngine,
    private readonly source: SecretSource,
    private readonly clock: Clock,
    private readonly firstAttemptWaitMs: number,
  ) {}

  // ------------------------------------------------------------- config

  getConfig(): SyncConfig {
    return this.engine.syncConfig;
  }

  async setConfig(change: Partial<SyncConfig> | null): Promise<SyncConfig> {
    if (change?.queue_capacity !== undefined && change.queue_capacity < 1) throw new BadRequestError('queue_capacity: must be at least 1');
    const next = change === null ? this.engine.defaultConfig : { ...this.engine.syncConfig, ...change };
    await this.store.transaction((tx) => tx.putJson(keys.config, next));
    this.engine.setConfig(next);
    return next;
  }

  /** Runs a reconcile pass now (sys/sync/reconcile); returns how many associations it re-marked. */
  reconcile(): Promise<number> {
    return this.engine.reconcile();
  }

  // ------------------------------------------------------- destinations

  static checkType(type: string): DestinationType {
    if (!isDestinationType(type) || !destinationTypes[type].implemented) throw new BadRequestError(`unsupported destination type ${type}`);
    return type;
  }

  async readDestination(type: string, name: string): Promise<DestinationRecord | undefined> {
    return this.store.read((tx) => tx.getJson<DestinationRecord>(keys.dest(type, name)));
  }

  /** Creates, or updates only the given fields of, a destination. */
  async writeDestination(
    typeRaw: string,
    name: string,
    conn: Record<string, unknown>,
    opts: Partial<DestinationOptions>,
  ): Promise<DestinationRecord> {
    const type = SyncService.checkType(typeRaw);
    if (!NAME_RE.test(name)) throw new BadRequestError('name: must start with a letter or digit and contain only letters, digits, "_", "." and "-" (at most 128 characters)');
    const spec = destinationTypes[type];
    return this.store.transaction(async (tx) => {
      const cur = await tx.getJson<DestinationRecord>(keys.dest(type, name));
      if (cur?.purgeInitiatedAt) throw new BadRequestError('destination is being purged');
      if (cur) {
        for (const [f, fs] of Object.entries(spec.connectionFields)) {
          if (fs.immutable && f in conn && conn[f] !== cur.connection[f] && !(conn[f] === '' && cur.connection[f] === undefined)) {
            throw new BadRequestError(`${f}: cannot be changed after the destination is created`);
          }
        }
      }
      // A credential read back masked and written again (read-modify-write clients, Terraform) means "unchanged".
      const given = Object.fromEntries(Object.entries(conn).filter(([f, v]) => !(spec.connectionFields[f]?.credential && v === MASKED)));
      const connection = { ...(cur?.connection ?? {}), ...given };
      for (const [k, v] of Object.entries(connection)) if (v === null || v === undefined) delete connection[k];
      const options: DestinationOptions = { ...(cur?.options ?? defaultDestinationOptions(type)), ...definedOnly(opts) };
      if (options.secretNameTemplate === '') options.secretNameTemplate = spec.defaultTemplate;
      validateDestination(type, connection, options);
      const rec: DestinationRecord = { type, name, connection, options, createdMs: cur?.createdMs ?? this.clock.nowMs() };
      await tx.putJson(keys.dest(type, name), rec);
      if (cur && JSON.stringify(cur.options.customTags) !== JSON.stringify(options.customTags)) {
        // Tags apply to every synced secret: re-sync them all.
        for (const id of await this.assocIdsOf(tx, type, name)) await this.engine.markDirty(tx, id);
      }
      return rec;
    });
  }

  private async assocIdsOf(tx: SecureTx, type: string, name: string): Promise<string[]> {
    const prefix = keys.assocPrefix(type, name);
    return (await tx.list(prefix)).map((k) => k.slice('sync/assoc/'.length));
  }

  async deleteDestination(type: string, name: string, purge: boolean, force: boolean): Promise<void> {
    await this.store.transaction(async (tx) => {
      const cur = await tx.getJson<DestinationRecord>(keys.dest(type, name));
      if (!cur) return;
      const ids = await this.assocIdsOf(tx, type, name);
      if (ids.length > 0 && !force) {
        if (!purge) throw new BadRequestError('destination still has associated secrets; remove them first, or delete with purge=true');
        // Purge: unsync every association; the engine deletes the destination after the last one.
        await tx.putJson(keys.dest(type, name), { ...cur, purgeInitiatedAt: rfc3339Nano(this.clock.nowMs()) } satisfies DestinationRecord);
        for (const id of ids) {
          const a = (await tx.getJson<AssociationRecord>(keys.assoc(id)))!;
          await tx.putJson(keys.assoc(id), { ...a, removing: true });
          await this.engine.markDirty(tx, id, { resetAttempts: true });
        }
        return;
      }
      // force_delete orphans whatever the destination holds: records go, nothing is unsynced.
      for (const id of ids) await this.dropAssociation(tx, id);
      await tx.delete(keys.dest(type, name));
      tx.onCommit(() => this.engine.clients.drop(type, name));
    });
  }

  private async dropAssociation(tx: SecureTx, id: string): Promise<void> {
    const a = await tx.getJson<AssociationRecord>(keys.assoc(id));
    if (a) await tx.delete(keys.bySecret(a.accessor, a.secretPath, a.destType, a.destName));
    await tx.delete(keys.assoc(id));
    await tx.delete(keys.queue(id));
  }

  async listDestinations(type?: string): Promise<Array<{ type: string; name: string }>> {
    const prefix = type ? `${keys.destPrefix}${type}/` : keys.destPrefix;
    const ks = await this.store.read((tx) => tx.list(prefix));
    return ks.map((k) => {
      const [t, n] = k.slice(keys.destPrefix.length).split('/');
      return { type: t!, name: n! };
    });
  }

  // ------------------------------------------------------- associations

  private async resolveMount(mountPath: string) {
    const mount = await this.source.mountByPath(mountPath);
    if (!mount) throw new BadRequestError(`mount "${mountPath}" not found`);
    if (mount.type !== 'kv' || mount.kvVersion !== '2') throw new BadRequestError(`mount "${mountPath}" is not a KV version 2 mount: only KV-v2 secrets can be synced`);
    return mount;
  }

  async setAssociation(type: string, name: string, mountPath: string, secretName: string, acl: Acl): Promise<Record<string, AssociationEntryView>> {
    const dest = await this.requireDestination(type, name);
    if (dest.purgeInitiatedAt) throw new BadRequestError('destination is being purged');
    validateSecretName(secretName);
    const mount = await this.resolveMount(mountPath);
    if (!(await this.source.canRead(acl, mount, secretName))) {
      throw new PermissionDeniedError(`permission denied to read the content of the secret ${secretName} in mount ${mountPath}`);
    }
    const id = keys.assocId(dest.type, dest.name, mount.accessor, secretName);
    await this.store.transaction(async (tx) => {
      const cur = await tx.getJson<AssociationRecord>(keys.assoc(id));
      if (!cur && this.engine.queueSize >= this.engine.syncConfig.queue_capacity) {
        throw new BadRequestError(`sync queue is full (queue_capacity ${this.engine.syncConfig.queue_capacity})`);
      }
      const naming = { template: dest.options.secretNameTemplate, granularity: dest.options.granularity };
      const rec: AssociationRecord = cur
        ? { ...cur, removing: false, mount: mount.path, naming }
        : {
            naming,
            destType: dest.type,
            destName: dest.name,
            accessor: mount.accessor,
            mount: mount.path,
            secretPath: secretName,
            createdMs: this.clock.nowMs(),
            status: 'PENDING',
            updatedAt: rfc3339Nano(this.clock.nowMs()),
            lastError: '',
            syncedVersion: 0,
            external: {},
          };
      await tx.putJson(keys.assoc(id), rec);
      await tx.putJson(keys.bySecret(mount.accessor, secretName, dest.type, dest.name), { mount: mount.path });
      await this.engine.markDirty(tx, id, { resetAttempts: true });
    });
    if (!this.engine.syncConfig.disabled) await this.engine.waitForAttempt(id, this.firstAttemptWaitMs);
    return this.entriesOf(id);
  }

  async removeAssociation(type: string, name: string, mountPath: string, secretName: string): Promise<Record<string, AssociationEntryView>> {
    const dest = await this.requireDestination(type, name);
    validateSecretName(secretName);
    const mount = await this.source.mountByPath(mountPath);
    if (!mount) throw new BadRequestError(`mount "${mountPath}" not found`);
    const id = keys.assocId(dest.type, dest.name, mount.accessor, secretName);
    const existed = await this.store.transaction(async (tx) => {
      const cur = await tx.getJson<AssociationRecord>(keys.assoc(id));
      if (!cur) return false;
      await tx.putJson(keys.assoc(id), { ...cur, removing: true });
      await this.engine.markDirty(tx, id, { resetAttempts: true });
      return true;
    });
    if (!existed) return {};
    if (!this.engine.syncConfig.disabled) await this.engine.waitForAttempt(id, this.firstAttemptWaitMs);
    const still = await this.entriesOf(id);
    if (Object.keys(still).length) return still;
    // Gone: unsynced and removed.
    return {
      [`${mount.accessor}/${secretName}`]: {
        accessor: mount.accessor,
        secret_name: secretName,
        sync_status: 'UNSYNCED',
        updated_at: rfc3339Nano(this.clock.nowMs()),
        synced_version: 0,
      },
    };
  }

  private async requireDestination(type: string, name: string): Promise<DestinationRecord> {
    SyncService.checkType(type);
    const d = await this.readDestination(type, name);
    if (!d) throw new BadRequestError(`destination ${type}/${name} does not exist`);
    return d;
  }

  /** The API view of one association (several entries with secret-key granularity). */
  private view(a: AssociationRecord, queued: boolean): Record<string, AssociationEntryView> {
    let status = a.status;
    // Queued work shows PENDING; a failing one keeps its error status while it retries, unless sync is disabled.
    const failing = status.endsWith('_ERROR');
    if (queued && (!failing || this.engine.syncConfig.disabled)) status = 'PENDING';
    const base = {
      accessor: a.accessor,
      secret_name: a.secretPath,
      sync_status: status,
      updated_at: a.updatedAt,
      synced_version: a.syncedVersion,
      ...(a.lastError ? { last_error: a.lastError } : {}),
    };
    const subKeys = Object.keys(a.external).filter((k) => k !== '');
    if (subKeys.length === 0) {
      const ext = a.external['']?.name;
      return { [`${a.accessor}/${a.secretPath}`]: { ...base, ...(ext ? { external_name: ext } : {}) } };
    }
    return Object.fromEntries(subKeys.sort().map((k) => [`${a.accessor}/${a.secretPath}/${k}`, { ...base, sub_key: k, external_name: a.external[k]!.name }]));
  }

  private async entriesOf(id: string): Promise<Record<string, AssociationEntryView>> {
    const [a, q] = await this.store.read(async (tx) => [await tx.getJson<AssociationRecord>(keys.assoc(id)), await tx.getJson(keys.queue(id))] as const);
    return a ? this.view(a, q !== undefined) : {};
  }

  async destinationAssociations(type: string, name: string): Promise<Record<string, AssociationEntryView>> {
    await this.requireDestinationExists(type, name);
    const prefix = keys.assocPrefix(type, name);
    // One read (one snapshot), in pages: each page of decrypted records becomes
    // views before the next is read, so 100k associations never sit in memory
    // as full records at once (the answer itself is what must be held).
    return this.store.read(async (tx) => {
      const out: Record<string, AssociationEntryView> = {};
      const queued = new Set((await tx.list(`${keys.queuePrefix}${type}/${name}/`)).map((k) => k.slice(keys.queuePrefix.length)));
      let after: string | undefined;
      for (;;) {
        const page = await tx.scanJson<AssociationRecord>(prefix, { after, limit: ASSOC_PAGE });
        for (const [k, a] of page) Object.assign(out, this.view(a, queued.has(k.slice('sync/assoc/'.length))));
        if (page.length < ASSOC_PAGE) return out;
        after = page[page.length - 1]![0];
      }
    });
  }

  private async requireDestinationExists(type: string, name: string): Promise<void> {
    if (!isDestinationType(type)) throw new BadRequestError(`unsupported destination type ${type}`);
    if (!(await this.readDestination(type, name))) throw new NotFoundError();
  }

  /** LIST sys/sync/associations: every associated secret, by mount path and secret path. */
  async allAssociations(): Promise<{ keys: string[]; key_info: Record<string, Array<{ mount: string; secret_path: string }>>; total_associations: number; total_secrets: number }> {
    const rows = await this.store.read((tx) => tx.scanJson<{ mount: string }>(keys.bySecretAll));
    const info = new Map<string, { mount: string; secret_path: string }>();
    for (const [k, v] of rows) {
      const rest = k.slice(keys.bySecretAll.length);
      const secretPath = rest.slice(rest.indexOf('/') + 1, rest.indexOf('\u0001'));
      info.set(`${v.mount}${secretPath}`, { mount: v.mount, secret_path: secretPath });
    }
    const ks = [...info.keys()].sort();
    return { keys: ks, key_info: Object.fromEntries(ks.map((k) => [k, [info.get(k)!]])), total_associations: rows.length, total_secrets: ks.length };
  }

  /** The destinations one secret is associated with. */
  async secretDestinations(mountPath: string, secretName: string): Promise<Record<string, { type: string; name: string; sync_status: SyncStatus; updated_at: string; last_error?: string }>> {
    const mount = await this.source.mountByPath(mountPath);
    if (!mount) throw new BadRequestError(`mount "${mountPath}" not found`);
    const prefix = keys.bySecretPrefix(mount.accessor, secretName);
    const out: Record<string, { type: string; name: string; sync_status: SyncStatus; updated_at: string; last_error?: string }> = {};
    const ids = (await this.store.read((tx) => tx.list(prefix))).map((k) => {
      const [type, name] = k.slice(prefix.length).split('/');
      return keys.assocId(type!, name!, mount.accessor, secretName);
    });
    for (const id of ids) {
      const v = Object.values(await this.entriesOf(id))[0];
      if (!v) continue;
      const { type, name } = parseAssocId(id);
      out[`${type}/${name}`] = { type, name, sync_status: v.sync_status, updated_at: v.updated_at, ...(v.last_error ? { last_error: v.last_error } : {}) };
    }
    return out;
  }
}

function validateSecretName(s: string): void {
  if (!s || s.endsWith('/') || s.startsWith('/') || s.split('/').some((x) => x === '' || x === '.' || x === '..')) {
    throw new BadRequestError('secret_name: must be a non-empty secret path without leading or trailing "/"');
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
