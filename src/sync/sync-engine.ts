/**
 * The sync engine: the outbox (markDirty, called inside the writer's
 * transaction), the worker pool that claims due associations with a lease,
 * reads the latest source state, plans, applies through the destination and
 * records the outcome, plus the periodic reconcile. Jobs carry no values.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { DestinationError, classifyError, type DestinationTimeouts } from '../destinations/destination.js';
import type { SecretSource } from '../sources/source.js';
import type { SecureStore, SecureTx } from '../storage/barrier.js';
import { type Clock, rfc3339Nano } from '../util/clock.js';
import { AttemptWaiters } from './attempt-waiters.js';
import { DestinationClients } from './destination-clients.js';
import { compiledTemplate, type NameTemplateContext } from './name-template.js';
import { plan, stableJson, type SourceState } from './planner.js';
import { Schedule } from './schedule.js';
import type { SyncMetrics } from './sync-metrics.js';
import {
  type AssociationRecord,
  DEFAULT_SYNC_CONFIG,
  type DestinationRecord,
  type QueueEntry,
  type RepushEntry,
  type SyncConfig,
  keys,
  parseAssocId,
} from './sync-types.js';
import { destinationTypes } from '../destinations/registry.js';

/** What a successful round records on the association. */
interface Outcome {
  status: 'SYNCED' | 'UNSYNCED';
  version: number;
  external: AssociationRecord['external'];
  lastError: string;
}

/** Source reads in flight at once during a reconcile. */
const RECONCILE_CONCURRENCY = 16;

export interface EngineOptions {
  workers: number;
  retryInitialMs: number;
  retryMaxMs: number;
  reconcileIntervalMs: number;
  leaseMs?: number;
  /** default `queue_capacity` of sys/sync/config */
  queueCapacity?: number;
  /** per destination; default 16 */
  destinationConcurrency?: number;
  /**
   * Whether other server instances work the same queue (shared storage such
   * as PostgreSQL). When false (SQLite: one server per file) a lease this
   * instance did not take was left by a predecessor that crashed, and is
   * ignored rather than waited out.
   */
  sharedStorage?: boolean;
  /** destination clients' network timeouts (default: each type's own) */
  destinationTimeouts?: DestinationTimeouts;
  /**
   * A secret that changed again while it was being synced waits this long
   * before its next round (default 200 ms), so a burst of writes to one
   * secret costs a few destination writes rather than one per version.
   */
  coalesceMs?: number;
  /**
   * How long after a success that followed an uncertain failure the engine
   * writes the value once more (default 20 s), outlasting any older request
   * the destination was still processing when the client gave up on it.
   */
  repushDelayMs?: number;
}


export class SyncEngine {
  private readonly schedule = new Schedule();
  /** re-pushes waiting for their time; promoted into the queue when due */
  private readonly repushes = new Schedule();
  private readonly running = new Set<string>();
  private readonly attempts = new AttemptWaiters();
  /** queue seq claimed by the attempt running on each id */
  private readonly claimedSeq = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private config: SyncConfig;
  /** this engine instance, recorded in the leases it takes */
  private readonly owner = randomUUID();
  readonly clients: DestinationClients;

  constructor(
    private readonly store: SecureStore,
    private readonly source: SecretSource,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly metrics: SyncMetrics,
    private readonly opts: EngineOptions,
  ) {
    this.config = this.defaultConfig;
    this.clients = new DestinationClients(logger, opts.destinationConcurrency ?? 16, opts.destinationTimeouts);
  }

  /** Loads config and every unfinished job (restart resumes them). */
  async start(): Promise<void> {
    this.config = (await this.store.read((tx) => tx.getJson<SyncConfig>(keys.config))) ?? this.defaultConfig;
    let after: string | undefined;
    for (;;) {
      const page = await this.store.read((tx) => tx.scanJson<QueueEntry>(keys.queuePrefix, { after, limit: 5000 }));
      for (const [k, q] of page) this.schedule.put(k.slice(keys.queuePrefix.length), q.dueMs);
      if (page.length < 5000) break;
      after = page[page.length - 1]![0];
    }
    after = undefined;
    for (;;) {
      const page = await this.store.read((tx) => tx.scanJson<RepushEntry>(keys.repushPrefix, { after, limit: 5000 }));
      for (const [k, r] of page) this.repushes.put(k.slice(keys.repushPrefix.length), r.dueMs);
      if (page.length < 5000) break;
      after = page[page.length - 1]![0];
    }
    this.metrics.queueDepth.set(this.schedule.size);
    if (this.opts.reconcileIntervalMs > 0) {
      this.reconcileTimer = setInterval(() => void this.reconcile().catch((e) => this.logger.error({ err: (e as Error).message }, 'reconcile failed')), this.opts.reconcileIntervalMs);
      this.reconcileTimer.unref();
    }
    this.pump();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    const deadline = Date.now() + 5000;
    while (this.running.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.clients.closeAll();
  }

  /** sys/sync/config before any change, and after DELETE (the server config's `sync.queue_capacity`). */
  get defaultConfig(): SyncConfig {
    return { ...DEFAULT_SYNC_CONFIG, ...(this.opts.queueCapacity ? { queue_capacity: this.opts.queueCapacity } : {}) };
  }

  get syncConfig(): SyncConfig {
    return this.config;
  }

  get queueSize(): number {
    return this.schedule.size;
  }

  setConfig(c: SyncConfig): void {
    this.config = c;
    this.pump();
  }

  /**
   * The outbox: marks an association dirty inside the caller's transaction.
   * The worker learns of it after commit; a crash before commit loses nothing
   * that was acknowledged, a crash after it leaves the entry for the restart.
   */
  async markDirty(tx: SecureTx, id: string, opts: { resetAttempts?: boolean } = {}): Promise<void> {
    const now = this.clock.nowMs();
    const cur = await tx.getJson<QueueEntry>(keys.queue(id));
    // An existing entry is already scheduled (now, after a backoff, or after the coalescing pause): a further mark joins it.
    const q: QueueEntry = cur
      ? { ...cur, seq: cur.seq + 1, dueMs: opts.resetAttempts ? now : cur.dueMs, attempts: opts.resetAttempts ? 0 : cur.attempts }
      : { seq: 1, dueMs: now, attempts: 0, enqueuedMs: now };
    await tx.putJson(keys.queue(id), q);
    tx.onCommit(() => {
      this.schedule.put(id, q.dueMs, opts.resetAttempts);
      this.metrics.queueDepth.set(this.schedule.size);
      this.pump();
    });
  }

  /** Marks every association of a secret dirty (the KV write path). */
  async markSecretDirty(tx: SecureTx, accessor: string, secretPath: string): Promise<number> {
    const prefix = keys.bySecretPrefix(accessor, secretPath);
    const rows = await tx.list(prefix);
    for (const k of rows) {
      const [type, name] = k.slice(prefix.length).split('/');
      await this.markDirty(tx, keys.assocId(type!, name!, accessor, secretPath));
    }
    return rows.length;
  }

  /**
   * Resolves once an attempt on id that saw the caller's (already committed)
   * mark has completed, or after timeoutMs.
   */
  waitForAttempt(id: string, timeoutMs: number): Promise<void> {
    return this.attempts.wait(id, timeoutMs, async () => (await this.store.read((tx) => tx.getJson<QueueEntry>(keys.queue(id))))?.seq);
  }

  private pump(): void {
    if (this.stopped) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.config.disabled) return;
    const now = this.clock.nowMs();
    for (let id = this.repushes.popDue(now); id !== undefined; id = this.repushes.popDue(now)) void this.promoteRepush(id);
    while (this.running.size < this.opts.workers) {
      const id = this.schedule.popDue(now);
      if (id === undefined) break;
      if (this.running.has(id)) {
        // Already being worked on: look again right after it finishes.
        this.schedule.put(id, now + 5);
        continue;
      }
      this.running.add(id);
      void this.process(id)
        .catch((err: unknown) => {
          // A storage failure mid-attempt: the persistent entry is intact, so look again after a backoff.
          this.logger.error({ association: id, err: (err as Error).message }, 'sync attempt aborted');
          if (!this.stopped) this.schedule.put(id, this.clock.nowMs() + this.backoffMs(1));
        })
        .finally(() => {
          this.running.delete(id);
          const seq = this.claimedSeq.get(id);
          this.claimedSeq.delete(id);
          if (seq !== undefined) this.attempts.ended(id, seq);
          this.metrics.queueDepth.set(this.schedule.size);
          this.pump();
        });
    }
    const nextJob = this.running.size < this.opts.workers ? this.schedule.peekDue() : undefined;
    const nextRepush = this.repushes.peekDue();
    const next = nextJob === undefined ? nextRepush : nextRepush === undefined ? nextJob : Math.min(nextJob, nextRepush);
    if (next !== undefined) {
      this.timer = setTimeout(() => this.pump(), Math.max(1, next - now));
      this.timer.unref();
    }
  }

  /** Turns a due re-push into queue work (joining an entry that is already queued). */
  private async promoteRepush(id: string): Promise<void> {
    try {
      await this.store.transaction(async (tx) => {
        if (!(await tx.getJson<RepushEntry>(keys.repush(id)))) return;
        await tx.delete(keys.repush(id));
        const now = this.clock.nowMs();
        const cur = await tx.getJson<QueueEntry>(keys.queue(id));
        const q: QueueEntry = cur ? { ...cur, repush: true } : { seq: 1, dueMs: now, attempts: 0, enqueuedMs: now, repush: true };
        await tx.putJson(keys.queue(id), q);
        tx.onCommit(() => {
          this.schedule.put(id, q.dueMs);
          this.pump();
        });
      });
    } catch (err) {
      this.logger.error({ association: id, err: (err as Error).message }, 'sync re-push not scheduled');
      if (!this.stopped) this.repushes.put(id, this.clock.nowMs() + this.backoffMs(1));
    }
  }

  private backoffMs(attempts: number): number {
    const exp = Math.min(this.opts.retryMaxMs, this.opts.retryInitialMs * 2 ** Math.max(0, attempts - 1));
    return Math.round(exp / 2 + Math.random() * (exp / 2));
  }

  private async process(id: string): Promise<void> {
    const leaseMs = this.opts.leaseMs ?? 60_000;
    const { type, name } = parseAssocId(id);
    // Claim with a lease so another worker (or instance) leaves it alone; the
    // association and its destination are read in the same transaction.
    const claim = await this.store.transaction(async (tx) => {
      const q = await tx.getJson<QueueEntry>(keys.queue(id));
      if (!q) return undefined;
      const now = this.clock.nowMs();
      // Our own live attempts are excluded by `running`; a foreign lease only counts when another instance may hold it.
      if (q.leaseUntil && q.leaseUntil > now && q.leaseOwner !== this.owner && this.opts.sharedStorage) return { leased: q.leaseUntil };
      // A lease left by an instance that is gone: it may have died with a request in flight.
      const orphaned = q.leaseUntil !== undefined && q.leaseOwner !== this.owner;
      const claimed: QueueEntry = orphaned ? { ...q, uncertain: true } : q;
      await tx.putJson(keys.queue(id), { ...claimed, leaseUntil: now + leaseMs, leaseOwner: this.owner });
      const assoc = await tx.getJson<AssociationRecord>(keys.assoc(id));
      const dest = assoc ? await tx.getJson<DestinationRecord>(keys.dest(type, name)) : undefined;
      return { q: claimed, assoc, dest };
    });
    if (!claim) return;
    if ('leased' in claim) {
      this.schedule.put(id, claim.leased!);
      return;
    }
    const { q, assoc, dest } = claim;
    this.claimedSeq.set(id, q.seq);
    if (!assoc || !dest) {
      await this.finish(id, q, undefined);
      return;
    }
    let next = { ...assoc.external };
    let version = 0;
    let outcome: Outcome;
    try {
      const state: SourceState = assoc.removing ? { kind: 'none' } : await this.source.readLatest(assoc.accessor, assoc.secretPath);
      version = state.kind === 'data' ? state.version : 0;
      const spec = destinationTypes[dest.type];
      const p = plan({
        source: state,
        granularity: assoc.naming?.granularity ?? dest.options.granularity,
        template: compiledTemplate(assoc.naming?.template ?? dest.options.secretNameTemplate),
        context: templateContext(dest, assoc),
        normalize: (n) => spec.normalizeName(n),
        customTags: dest.options.customTags,
        // a re-push forgets the hashes, so every external secret is written again under the same name
        previous: q.repush ? Object.fromEntries(Object.entries(assoc.external).map(([k, e]) => [k, { ...e, hash: '' }])) : assoc.external,
        hash: (n, value, tags) => this.store.barrier.hmac('sync-value', `${id}\0${n}\0${value}\0${stableJson(tags)}`),
      });
      const warnings: string[] = [];
      if (p.upserts.length || p.deletes.length) {
        const c = this.clients.get(dest);
        await c.sem.acquire();
        try {
          for (const u of p.upserts) {
            await c.limiter.take();
            const started = performance.now();
            const r = await this.call(c, () =>
              c.client.upsert({
                name: u.name,
                value: u.value,
                tags: dest.options.customTags,
                removedTagKeys: u.removedTagKeys,
                knownToExist: assoc.external[u.key]?.name === u.name,
                tagsUnchanged: u.tagsUnchanged,
                idempotencyToken: this.store.barrier.hmac('request-token', `${id}\0${u.name}\0${version}\0${u.hash}\0${assoc.rounds ?? 0}`).slice(0, 48),
              }),
            );
            this.metrics.observeOp(dest.type, 'upsert', 'ok', performance.now() - started);
            warnings.push(...r.warnings);
            next[u.key] = p.next[u.key]!;
          }
          for (const d of p.deletes) {
            await c.limiter.take();
            const started = performance.now();
            await this.call(c, () => c.client.delete(d.name));
            this.metrics.observeOp(dest.type, 'delete', 'ok', performance.now() - started);
            if (next[d.key]?.name === d.name) delete next[d.key];
          }
        } finally {
          c.sem.release();
        }
      }
      next = p.next;
      this.metrics.propagation.observe((this.clock.nowMs() - q.enqueuedMs) / 1000);
      outcome = { status: state.kind === 'data' ? 'SYNCED' : 'UNSYNCED', version, external: next, lastError: warnings.join('; ') };
    } catch (err) {
      const e = err instanceof DestinationError ? err : classifyError(err);
      this.metrics.observeOp(dest.type, 'sync', e.status, 0);
      this.logger.warn({ association: id, status: e.status, error: e.message }, 'sync attempt failed');
      await this.fail(id, q, e, next);
      return;
    }
    // Outside the try: the destination has the value; a storage failure recording that is not a
    // destination failure (the pump logs it and the job runs again).
    await this.finish(id, q, outcome);
  }

  private async call<T>(c: ReturnType<DestinationClients['get']>, fn: () => Promise<T>): Promise<T> {
    try {
      const r = await fn();
      c.limiter.onSuccess();
      return r;
    } catch (err) {
      const e = err instanceof DestinationError ? err : classifyError(err);
      if (e.throttled) c.limiter.onThrottled();
      throw e;
    }
  }

  /** Records success (or a vanished association) and clears the job if nothing re-marked it meanwhile. */
  private async finish(
    id: string,
    claimed: QueueEntry,
    outcome: Outcome | undefined,
  ): Promise<void> {
    let requeue: number | undefined;
    await this.store.transaction(async (tx) => {
      const a = await tx.getJson<AssociationRecord>(keys.assoc(id));
      if (a && outcome) {
        if (a.removing && outcome.status === 'UNSYNCED') {
          await tx.delete(keys.assoc(id));
          await tx.delete(keys.bySecret(a.accessor, a.secretPath, a.destType, a.destName));
          // The last association of a destination being purged takes the destination with it.
          const d = await tx.getJson<DestinationRecord>(keys.dest(a.destType, a.destName));
          if (d?.purgeInitiatedAt && (await tx.list(keys.assocPrefix(a.destType, a.destName), { limit: 1 })).length === 0) {
            await tx.delete(keys.dest(a.destType, a.destName));
            tx.onCommit(() => this.clients.drop(a.destType, a.destName));
          }
        } else {
          await tx.putJson(keys.assoc(id), {
            ...a,
            status: outcome.status,
            updatedAt: rfc3339Nano(this.clock.nowMs()),
            lastError: outcome.lastError,
            syncedVersion: outcome.version,
            external: outcome.external,
            rounds: (a.rounds ?? 0) + 1,
          } satisfies AssociationRecord);
        }
      }
      const q = await tx.getJson<QueueEntry>(keys.queue(id));
      if (!q) return;
      if (q.seq === claimed.seq) {
        await tx.delete(keys.queue(id));
        if (q.uncertain && outcome?.status === 'SYNCED') {
          const due = this.clock.nowMs() + (this.opts.repushDelayMs ?? 20_000);
          await tx.putJson(keys.repush(id), { dueMs: due } satisfies RepushEntry);
          tx.onCommit(() => {
            this.repushes.put(id, due, true);
            this.pump();
          });
        }
      } else {
        // Changed again during this round: pause briefly so that the rest of a burst coalesces into the next round.
        // (an uncertain flag stays for the next round's success; this round did any re-push asked of it)
        const { leaseUntil: _drop, leaseOwner: _owner, repush: _done, ...rest } = q;
        requeue = this.clock.nowMs() + (this.opts.coalesceMs ?? 200);
        await tx.putJson(keys.queue(id), { ...rest, attempts: 0, dueMs: requeue, enqueuedMs: claimed.enqueuedMs });
      }
    });
    // forced: replaces the placeholder pump() left while this round was running
    if (requeue !== undefined) this.schedule.put(id, requeue, true);
  }

  private async fail(id: string, claimed: QueueEntry, e: DestinationError, external: AssociationRecord['external']): Promise<void> {
    const due = this.clock.nowMs() + this.backoffMs(claimed.attempts + 1);
    await this.store.transaction(async (tx) => {
      const a = await tx.getJson<AssociationRecord>(keys.assoc(id));
      if (a) {
        await tx.putJson(keys.assoc(id), { ...a, status: e.status, updatedAt: rfc3339Nano(this.clock.nowMs()), lastError: e.message, external } satisfies AssociationRecord);
        if (a.removing) {
          // A purge that cannot unsync says why on the destination (`purge_error`).
          const d = await tx.getJson<DestinationRecord>(keys.dest(a.destType, a.destName));
          if (d?.purgeInitiatedAt) await tx.putJson(keys.dest(a.destType, a.destName), { ...d, purgeError: e.message } satisfies DestinationRecord);
        }
      }
      const q = await tx.getJson<QueueEntry>(keys.queue(id));
      if (!q) return;
      const { leaseUntil: _drop, leaseOwner: _owner, ...rest } = q;
      // A timeout, a dropped connection or a 5xx may have been applied all the same; a throttled call was refused.
      const uncertain = rest.uncertain || claimed.uncertain || (e.status === 'EXTERNAL_SERVICE_ERROR' && !e.throttled);
      // A newer mark since the claim is still retried with backoff: the destination is failing.
      await tx.putJson(keys.queue(id), { ...rest, attempts: claimed.attempts + 1, dueMs: due, ...(uncertain ? { uncertain: true } : {}) });
    });
    this.schedule.put(id, due, true);
  }

  /**
   * Re-marks associations whose synced version differs from the source's
   * latest active version (catches anything a feed missed), and failed ones
   * not already queued.
   */
  async reconcile(): Promise<number> {
    let after: string | undefined;
    let marked = 0;
    for (;;) {
      const page = await this.store.read((tx) => tx.scanJson<AssociationRecord>(keys.assocAll, { after, limit: 1000 }));
      const stale: string[] = [];
      // One metadata read per association, a few at a time (a remote source answers over the network).
      const todo = page.filter(([k]) => {
        const id = k.slice(keys.assocAll.length);
        return !this.schedule.has(id) && !this.running.has(id);
      });
      const check = async ([k, a]: [string, AssociationRecord]) => {
        const latest = a.removing ? 0 : await this.source.latestVersion(a.accessor, a.secretPath);
        const wantStatus = latest === 0 ? 'UNSYNCED' : 'SYNCED';
        if (a.removing || latest !== a.syncedVersion || a.status !== wantStatus) stale.push(k.slice(keys.assocAll.length));
      };
      for (let i = 0; i < todo.length; i += RECONCILE_CONCURRENCY) await Promise.all(todo.slice(i, i + RECONCILE_CONCURRENCY).map(check));
      if (stale.length) {
        await this.store.transaction(async (tx) => {
          for (const id of stale) await this.markDirty(tx, id);
        });
        marked += stale.length;
      }
      if (page.length < 1000) break;
      after = page[page.length - 1]![0];
    }
    return marked;
  }
}

/** The fields a secret_name_template is rendered with (Vault's names; root namespace). */
function templateContext(dest: DestinationRecord, assoc: AssociationRecord): NameTemplateContext {
  const mountPath = assoc.mount.replace(/\/$/, '');
  return {
    DestinationType: dest.type,
    DestinationName: dest.name,
    NamespacePath: '',
    NamespaceBaseName: '',
    NamespaceID: 'root',
    MountPath: mountPath,
    MountBaseName: mountPath.split('/').pop() ?? mountPath,
    MountAccessor: assoc.accessor,
    SecretPath: assoc.secretPath,
    SecretBaseName: assoc.secretPath.split('/').pop() ?? assoc.secretPath,
  };
}
