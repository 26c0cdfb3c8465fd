/**
 * Builds and starts a whole server (storage, core, HTTP listener) from a
 * validated config or dev-mode options. Used by `secrets-sync server` and by
 * tests that want a real server over HTTP in-process.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/server-config.js';
import { buildApp, listen as listenApp } from '../http/app.js';
import { createLogger } from '../observability/logger.js';
import { PostgresStore } from '../storage/postgres/postgres-store.js';
import { SqliteStore } from '../storage/sqlite/sqlite-store.js';
import type { PhysicalStore } from '../storage/store.js';
import { Core, type SyncSettings } from './core.js';
import { attachEventsWebSocket } from '../http/events-ws.js';
import { RemoteFeeds } from '../sources/vault/remote-feeds.js';
import { VaultClient } from '../sources/vault/vault-client.js';
import { VaultSource } from '../sources/vault/vault-source.js';

export interface StartOptions {
  /** dev mode: in-memory, initialised at once, `secret/` mounted */
  dev?: { rootTokenId?: string };
  /** a validated server config (ignored in dev mode except for sync/log settings) */
  config?: ServerConfig;
  /** HOST:PORT parts; port 0 picks a free port */
  listen?: { host: string; port: number };
  logger?: Logger;
  /**
   * engine setting overrides (tests, benchmarks). Core passes the merged
   * settings object to the engine as is, so engine-only options ride along.
   */
  sync?: Partial<SyncSettings>;
  /** remote source feeds (config `source "vault"`); `events: false` leaves the events WebSocket out (tests) */
  sourceFeeds?: { events?: boolean };
}

export interface ServerHandle {
  url: string;
  core: Core;
  app: FastifyInstance;
  /** dev mode only */
  rootToken?: string;
  /** the remote source's change feeds, when `source "vault"` is configured and the store is unsealed */
  feeds(): RemoteFeeds | undefined;
  close(): Promise<void>;
}

async function openPhysical(config: ServerConfig | undefined, dev: boolean, logger: Logger): Promise<{ physical: PhysicalStore; storageType: string }> {
  if (dev || !config || config.storage.type === 'inmem') return { physical: new SqliteStore({ path: ':memory:' }), storageType: 'inmem' };
  if (config.storage.type === 'sqlite') {
    return {
      physical: new SqliteStore({ path: config.storage.path, synchronous: config.storage.synchronous === 'full' ? 'FULL' : 'NORMAL' }),
      storageType: 'sqlite',
    };
  }
  const pgc = config.storage;
  const physical = await PostgresStore.open({
    connectionUrl: pgc.connectionUrl,
    ...(pgc.maxParallel !== undefined && { maxParallel: pgc.maxParallel }),
    ...(pgc.maxIdleConnections !== undefined && { maxIdleConnections: pgc.maxIdleConnections }),
    onPoolError: (err) => logger.warn({ err: err.message }, 'storage: an idle database connection failed'),
  });
  return { physical, storageType: 'postgresql' };
}

export async function startServer(opts: StartOptions): Promise<ServerHandle> {
  const config = opts.config;
  const dev = opts.dev !== undefined;
  const logger = opts.logger ?? createLogger(config?.logLevel ?? 'info');
  const { physical, storageType } = await openPhysical(config, dev, logger);
  const remote = !dev ? config?.source?.vault : undefined;
  const vaultSource = remote ? new VaultSource(new VaultClient(remote, { logger })) : undefined;
  let feeds: RemoteFeeds | undefined;
  let core: Core;
  try {
    core = await Core.open({
      physical,
      sealKey: dev ? randomBytes(32) : config!.sealKey,
      sealType: dev ? 'shamir' : 'static',
      storageType,
      logger,
      // Instances sharing a database share the queue: a lease another one holds is waited out.
      sync: { ...(config?.sync ?? {}), ...(storageType === 'postgresql' && { sharedStorage: true }), ...(opts.sync ?? {}) },
      ...(vaultSource && { source: () => vaultSource }),
    });
  } catch (err) {
    await physical.close();
    throw err;
  }
  if (remote && vaultSource) {
    try {
      // Runs now when already unsealed, else at sys/init.
      await core.withServices(async (svc) => {
        feeds = new RemoteFeeds({ store: svc.store, engine: svc.syncEngine, source: vaultSource, config: remote, logger, registry: core.registry, events: opts.sourceFeeds?.events });
        await feeds.start();
      });
    } catch (err) {
      await feeds?.stop();
      await core.close();
      throw err;
    }
  }
  let rootToken: string | undefined;
  if (dev) {
    rootToken = (await core.initialize(opts.dev!.rootTokenId)).rootToken;
    await core.svc().mounts.enable('secret', { type: 'kv-v2', description: 'key/value secret storage' });
  }
  const tcp = config?.listener.tcp;
  const https = tcp && !tcp.tlsDisable ? { cert: readFileSync(tcp.tlsCertFile!), key: readFileSync(tcp.tlsKeyFile!) } : undefined;
  const app = buildApp({ backend: core, logger, maxRequestSize: tcp?.maxRequestSize });
  const closeEvents = attachEventsWebSocket(app.server, core, core.events, logger);
  const where = opts.listen ?? (tcp ? { host: tcp.host, port: tcp.port } : { host: '127.0.0.1', port: 8200 });
  let listening;
  try {
    listening = await listenApp(app, where.host, where.port, https);
  } catch (err) {
    closeEvents();
    await feeds?.stop();
    await core.close();
    throw err;
  }
  const url = listening.url;
  logger.info({ url, storage: physical.description, initialized: core.initialized() }, 'server listening');
  return {
    url,
    core,
    app,
    rootToken,
    feeds: () => feeds,
    async close() {
      await feeds?.stop();
      closeEvents();
      await listening.close();
      await core.close();
      logger.flush?.();
    },
  };
}
