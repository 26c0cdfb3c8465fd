/**
 * The server core: owns the physical store and the seal, knows whether the
 * store is initialised, and once it is, builds the domain services (mounts,
 * KV, auth, sync) and the route tables the HTTP layer dispatches to.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Acl, TokenEntry } from '../auth/auth-types.js';
import { createAuth, type Auth } from '../auth/index.js';
import { BadRequestError, UnavailableError } from '../errors.js';
import { syncRoutes } from '../http/routes/sync-routes.js';
import { createRegistry, metricsRoutes } from '../observability/metrics.js';
import { EmbeddedSource } from '../sources/embedded-source.js';
import type { SecretSource } from '../sources/source.js';
import { AuditBroker } from '../observability/audit-devices.js';
import { auditRoutes } from '../http/routes/sys-audit-routes.js';
import { KvEventBus, kvEventOf } from '../kv/kv-events.js';
import { type EngineOptions, SyncEngine } from '../sync/sync-engine.js';
import { SyncMetrics } from '../sync/sync-metrics.js';
import { SyncService } from '../sync/sync-service.js';
import { keys } from '../sync/sync-types.js';
import type { Registry } from 'prom-client';
import type { ApiBackend, RequestInfo } from '../http/app.js';


import { policyRoutes } from '../http/routes/sys-policy-routes.js';
import { tokenRoutes } from '../http/routes/auth-token-routes.js';
import { kvV1Routes, kvV2Routes } from '../http/routes/kv-routes.js';
import { sysCoreRoutes } from '../http/routes/sys-core-routes.js';
import { RouteTable } from '../http/router.js';
import { KvEngine } from '../kv/kv-engine.js';
import { isKvV2, type MountEntry } from '../kv/kv-types.js';
import { KvV1Engine } from '../kv/kv-v1.js';
import { MountTable } from '../kv/mount-table.js';
import { Barrier, KEYRING_KEY, SecureStore } from '../storage/barrier.js';
import type { PhysicalStore } from '../storage/store.js';
import { type Clock, systemClock } from '../util/clock.js';

export interface CoreOptions {
  /** engine settings (server config `sync` stanza) */
  sync?: Partial<SyncSettings>;
  physical: PhysicalStore;
  sealKey: Buffer;
  /** `static` (key file/env) or `dev` (ephemeral) */
  sealType: string;
  storageType: string;
  logger: Logger;
  clock?: Clock;
  /** where secrets are read from; default the embedded KV (a remote Vault with `source "vault"`) */
  source?: () => SecretSource;
}

/** Engine settings (milliseconds): the engine's own options plus how long `set`/`remove` wait. */
export type SyncSettings = EngineOptions & {
  firstAttemptWaitMs: number;
  /** writes/s per destination overriding each type's default (0 = unlimited) */
  destinationRate?: number;
};

const DEFAULT_SYNC: SyncSettings = { workers: 16, reconcileIntervalMs: 600_000, retryInitialMs: 1000, retryMaxMs: 300_000, firstAttemptWaitMs: 5000 };

/** Everything that exists once the store is initialised and unsealed. */
export interface Services {
  store: SecureStore;
  mounts: MountTable;
  kv: KvEngine;
  kv1: KvV1Engine;
  auth: Auth;
  syncEngine: SyncEngine;
  sync: SyncService;
}

export class Core implements ApiBackend {
  readonly systemRoutes = new RouteTable();
  private services: Services | undefined;
  private kvRoutes = new RouteTable();
  private kv1Routes = new RouteTable();
  private readonly clock: Clock;
  readonly registry: Registry = createRegistry();
  private readonly syncMetrics = new SyncMetrics(this.registry);
  /** observers of finished requests (audit, metrics) */
  readonly requestObservers: Array<(info: RequestInfo) => void> = [];
  /** hooks that build further services once unsealed (the sync engine) */
  private readonly serviceHooks: Array<(svc: Services) => Promise<void>> = [];
  /** audit devices (sys/audit), fed by every finished request */
  readonly audit: AuditBroker;
  /** committed KV-v2 events (sys/events/subscribe) */
  readonly events = new KvEventBus();

  private constructor(private readonly opts: CoreOptions) {
    this.clock = opts.clock ?? systemClock;
    this.audit = new AuditBroker(opts.logger, this.clock, this.registry);
    this.requestObservers.push((info) => this.audit.observe(info));
  }

  /** Opens the core; unseals at once when the store holds a keyring. */
  static async open(opts: CoreOptions): Promise<Core> {
    const core = new Core(opts);
    core.buildSystemRoutes();
    const wrapped = await opts.physical.read((tx) => tx.get(KEYRING_KEY));
    if (wrapped) await core.unseal(Barrier.open(opts.sealKey, wrapped));
    return core;
  }

  private buildSystemRoutes(): void {
    this.systemRoutes.add(
      ...sysCoreRoutes({
        initialized: () => this.initialized(),
        initialize: () => this.initialize(),
        sealType: this.opts.sealType,
        storageType: this.opts.storageType,
        mounts: () => this.svc().mounts,
        clusterName: 'secrets-sync',
        clusterId: randomUUID(),
      }),
    );
    const lazyAuth = (): Auth => this.svc().auth;
    this.systemRoutes.add(...tokenRoutes(lazyAuth), ...policyRoutes(lazyAuth));
    this.systemRoutes.add(...syncRoutes(() => this.svc().sync), ...metricsRoutes(this.registry));
    this.systemRoutes.add(...auditRoutes(() => this.audit));
  }

  /** Adds routes (sync API, audit, events) to the system table. */
  addSystemRoutes(routes: Parameters<RouteTable['add']>): void {
    this.systemRoutes.add(...routes);
  }

  /** Registers a service builder; runs now if already unsealed. */
  async withServices(hook: (svc: Services) => Promise<void>): Promise<void> {
    this.serviceHooks.push(hook);
    if (this.services) await hook(this.services);
  }

  initialized(): boolean {
    return this.services !== undefined;
  }

  svc(): Services {
    if (!this.services) throw new UnavailableError('Vault is not initialized');
    return this.services;
  }

  /** sys/init: create the keyring and the root token (returned once). */
  async initialize(rootTokenId?: string): Promise<{ rootToken: string }> {
    if (this.services) throw new Error('already initialized');
    const { barrier, wrapped } = Barrier.create(this.opts.sealKey);
    await this.opts.physical.transaction(async (tx) => {
      if (await tx.get(KEYRING_KEY)) throw new Error('already initialized');
      await tx.put(KEYRING_KEY, wrapped);
    });
    await this.unseal(barrier);
    const rootToken = (await this.svc().auth.tokens.createRoot(rootTokenId)).token;
    return { rootToken };
  }

  private async unseal(barrier: Barrier): Promise<void> {
    const store = new SecureStore(this.opts.physical, barrier);
    const mounts = new MountTable(store, this.clock);
    await mounts.load();
    const kv = new KvEngine(store, this.clock);
    const settings = { ...DEFAULT_SYNC, ...(this.opts.sync ?? {}) };
    const source = this.opts.source?.() ?? new EmbeddedSource(mounts, kv, this.clock);
    const syncEngine = new SyncEngine(store, source, this.clock, this.opts.logger, this.syncMetrics, settings);
    if (settings.destinationRate !== undefined) syncEngine.clients.rateOverride = settings.destinationRate;
    // The outbox: every KV change marks the secret's associations dirty in the same transaction.
    kv.onChange((tx, change) => syncEngine.markSecretDirty(tx, change.mount.accessor, change.path).then(() => undefined));
    kv.onChange(async (tx, change) => {
      if (this.events.size === 0) return;
      const e = kvEventOf(change, this.clock.nowMs());
      tx.onCommit(() => this.events.publish(e));
    });
    mounts.onDisable(async (tx, m) => {
      if ((await tx.list(`${keys.bySecretAll}${m.accessor}/`, { limit: 1 })).length > 0) {
        throw new BadRequestError(`mount ${m.path} has secrets associated with sync destinations; remove the associations first`);
      }
    });
    const svc: Services = {
      store,
      mounts,
      kv,
      kv1: new KvV1Engine(store),
      // Token entries are cached in memory unless other instances write the same storage.
      auth: createAuth(store, { now: () => this.clock.nowMs(), cache: settings.sharedStorage !== true }),
      syncEngine,
      sync: new SyncService(store, syncEngine, source, this.clock, settings.firstAttemptWaitMs),
    };
    this.kvRoutes = new RouteTable().add(...kvV2Routes(kv));
    this.kv1Routes = new RouteTable().add(...kvV1Routes(svc.kv1));
    await this.audit.attach(store);
    this.services = svc;
    await syncEngine.start();
    for (const hook of this.serviceHooks) await hook(svc);
  }

  /** Every route table (system, mounted KV-v2, mounted KV-v1): the authorisation sweep iterates them. */
  routeTables(): { system: RouteTable; kv2: RouteTable; kv1: RouteTable } {
    return { system: this.systemRoutes, kv2: this.kvRoutes, kv1: this.kv1Routes };
  }

  resolveMount(path: string): { mount: MountEntry; routes: RouteTable; rest: string } | undefined {
    const r = this.services?.mounts.resolve(path);
    if (!r) return undefined;
    return { ...r, routes: isKvV2(r.mount) ? this.kvRoutes : this.kv1Routes };
  }

  lookupToken(raw: string): Promise<TokenEntry | undefined> {
    return this.svc().auth.tokens.lookup(raw);
  }

  async useToken(entry: TokenEntry): Promise<boolean> {
    return (await this.svc().auth.tokens.use(entry)) !== undefined;
  }

  aclFor(entry: TokenEntry): Promise<Acl> {
    return this.svc().auth.policies.aclFor(entry.policies);
  }

  onRequest(info: RequestInfo): void {
    for (const o of this.requestObservers) {
      try {
        o(info);
      } catch (err) {
        this.opts.logger.error({ err: (err as Error).name }, 'request observer failed');
      }
    }
  }

  async close(): Promise<void> {
    await this.services?.syncEngine.stop();
    await this.audit.close();
    await this.opts.physical.close();
  }
}
