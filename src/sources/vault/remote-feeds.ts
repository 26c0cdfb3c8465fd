/**
 * Keeps the sync engine informed of changes in a remote Vault/OpenBao: the
 * audit socket feed, the events WebSocket where the remote offers it, and a
 * periodic reconcile that covers whatever a feed missed (at start, every
 * poll_interval, after any feed reconnects, and when the remote comes back
 * after being unreachable). Every notice goes to the engine's one entry
 * point, markSecretDirty, in a store transaction; no value ever comes from a
 * feed.
 */
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { VaultSourceConfig } from '../../config/server-config.js';
import type { SecureStore } from '../../storage/barrier.js';
import type { SyncEngine } from '../../sync/sync-engine.js';
import { type AssociationRecord, keys } from '../../sync/sync-types.js';
import { type AuditChange, kvSecretOf } from './audit-line.js';
import { AuditListener } from './audit-listener.js';
import { EventsClient } from './events-client.js';
import type { VaultSource } from './vault-source.js';

export interface RemoteFeedsDeps {
  store: SecureStore;
  engine: SyncEngine;
  source: VaultSource;
  config: VaultSourceConfig;
  logger: Logger;
  registry?: Registry;
  /** default true: subscribe to the remote's events API when it has one */
  events?: boolean;
  /** how often to probe an unreachable remote; default 2 s */
  probeIntervalMs?: number;
}

export class RemoteFeeds {
  private audit: AuditListener | undefined;
  private events: EventsClient | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private reconciling: Promise<void> | undefined;
  private reconcileAgain = false;
  private stopped = false;
  private readonly pending = new Map<string, { accessor: string; secretPath: string; feeds: string[] }>();
  private flushing = false;
  readonly notices: Counter<'feed' | 'result'>;
  /** where the audit listener is bound, once started */
  auditAddress: { host: string; port: number } | undefined;

  constructor(private readonly d: RemoteFeedsDeps) {
    const name = 'secrets_sync_source_notices_total';
    this.notices =
      (d.registry?.getSingleMetric(name) as Counter<'feed' | 'result'> | undefined) ??
      new Counter({
        name,
        help: 'Change notices from the remote source feeds, by feed (audit, events) and result (marked, unassociated, unmapped)',
        labelNames: ['feed', 'result'],
        registers: d.registry ? [d.registry] : [],
      });
  }

  async start(): Promise<void> {
    const { config, logger } = this.d;
    const client = this.d.source.client;
    client.onUnreachable(() => this.startProbe());
    client.onRecovered(() => this.onRecovered());
    try {
      await client.start();
    } catch (err) {
      // The remote may be down at start: the poll and the probe catch up later.
      logger.warn({ err: (err as Error).message }, 'source vault: start-up check failed');
    }
    if (config.auditListenAddress) {
      this.audit = new AuditListener({
        host: config.auditListenAddress.host,
        port: config.auditListenAddress.port,
        registry: this.d.registry,
        onChange: (c) => void this.onAuditChange(c),
        onConnect: () => this.requestReconcile('audit feed connected'),
      });
      this.auditAddress = await this.audit.start();
      logger.info({ address: `${this.auditAddress.host}:${this.auditAddress.port}` }, 'audit socket feed listening');
    }
    if (this.d.events !== false) {
      this.events = new EventsClient(client, {
        logger,
        onNotice: (n) => void this.mark('events', n.accessor, n.secretPath),
        onConnect: () => this.requestReconcile('events feed connected'),
      });
      this.events.start();
    }
    await this.hintMounts();
    this.requestReconcile('start');
    if (config.pollIntervalMs > 0) {
      this.pollTimer = setInterval(() => this.requestReconcile('poll'), config.pollIntervalMs);
      this.pollTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.events?.stop();
    await this.audit?.stop();
    await this.reconciling?.catch(() => undefined);
    this.d.source.client.close();
  }

  get eventsState(): string {
    return this.events?.state ?? 'disabled';
  }

  private async onAuditChange(c: AuditChange): Promise<void> {
    let mountPoint = c.mountPoint;
    if (!mountPoint) {
      try {
        mountPoint = (await this.d.source.mountByAccessor(c.accessor))?.path;
      } catch {
        mountPoint = undefined;
      }
    }
    const s = mountPoint ? kvSecretOf(mountPoint, c.path, c.operation) : undefined;
    if (!s) {
      this.notices.inc({ feed: 'audit', result: 'unmapped' });
      return;
    }
    await this.mark('audit', c.accessor, s.secretPath);
  }

  /** Queues a notice; notices arriving together are marked in one transaction (a burst costs one commit). */
  private async mark(feed: string, accessor: string, secretPath: string): Promise<void> {
    if (this.stopped) return;
    const key = `${accessor}\u0000${secretPath}`;
    const cur = this.pending.get(key);
    if (cur) cur.feeds.push(feed);
    else this.pending.set(key, { accessor, secretPath, feeds: [feed] });
    if (this.flushing) return;
    this.flushing = true;
    await new Promise((r) => setImmediate(r));
    const batch = [...this.pending.values()];
    this.pending.clear();
    this.flushing = false;
    try {
      const counts = await this.d.store.transaction(async (tx) => {
        const out: number[] = [];
        for (const b of batch) out.push(await this.d.engine.markSecretDirty(tx, b.accessor, b.secretPath));
        return out;
      });
      batch.forEach((b, i) => {
        for (const f of b.feeds) this.notices.inc({ feed: f, result: counts[i]! > 0 ? 'marked' : 'unassociated' });
      });
    } catch (err) {
      this.d.logger.error({ err: (err as Error).message }, 'source feed: marking secrets dirty failed');
    }
  }

  /** Gives the source each associated accessor's mount path (a token without sys/mounts access needs them after a restart). */
  private async hintMounts(): Promise<void> {
    try {
      let after: string | undefined;
      for (;;) {
        const page = await this.d.store.read((tx) => tx.scanJson<AssociationRecord>(keys.assocAll, { after, limit: 1000 }));
        for (const [, a] of page) this.d.source.hintMount(a.accessor, a.mount);
        if (page.length < 1000) break;
        after = page[page.length - 1]![0];
      }
    } catch (err) {
      this.d.logger.warn({ err: (err as Error).message }, 'source: reading associations for mount hints failed');
    }
  }

  /** Runs the engine's reconcile; calls while one runs fold into one more run. */
  requestReconcile(why: string): void {
    if (this.stopped) return;
    if (this.reconciling) {
      this.reconcileAgain = true;
      return;
    }
    this.reconciling = (async () => {
      do {
        this.reconcileAgain = false;
        try {
          const marked = await this.d.engine.reconcile();
          if (marked > 0) this.d.logger.info({ why, marked }, 'source reconcile marked stale associations');
        } catch (err) {
          this.d.logger.warn({ why, err: (err as Error).message }, 'source reconcile failed; the next poll retries');
        }
      } while (this.reconcileAgain && !this.stopped);
    })().finally(() => {
      this.reconciling = undefined;
    });
  }

  /** While the remote is unreachable, probe it so that recovery is noticed without waiting for backoffs. */
  private startProbe(): void {
    if (this.stopped || this.probeTimer) return;
    this.probeTimer = setInterval(() => {
      this.d.source.client.raw('GET', 'sys/health?standbyok=true&perfstandbyok=true', undefined, false).catch(() => undefined);
    }, this.d.probeIntervalMs ?? 2000);
    this.probeTimer.unref();
  }

  private onRecovered(): void {
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    if (this.stopped) return;
    this.d.logger.info('source vault reachable again; catching up');
    void this.retrySourceFailures().finally(() => this.requestReconcile('source recovered'));
  }

  /** Associations that failed because the source was unreachable are retried now, not after their backoff. */
  private async retrySourceFailures(): Promise<void> {
    try {
      let after: string | undefined;
      for (;;) {
        const page = await this.d.store.read((tx) => tx.scanJson<AssociationRecord>(keys.assocAll, { after, limit: 1000 }));
        const ids = page
          .filter(([, a]) => a.status.endsWith('_ERROR') && a.lastError.startsWith('source vault'))
          .map(([k]) => k.slice(keys.assocAll.length));
        if (ids.length) {
          await this.d.store.transaction(async (tx) => {
            for (const id of ids) await this.d.engine.markDirty(tx, id, { resetAttempts: true });
          });
        }
        if (page.length < 1000) break;
        after = page[page.length - 1]![0];
      }
    } catch (err) {
      this.d.logger.warn({ err: (err as Error).message }, 'source recovery: re-queueing failed associations failed');
    }
  }
}
