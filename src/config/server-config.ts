/**
 * The server config file (HCL or JSON, Vault's shape), read and validated
 * once at start. Everything wrong is reported at once as a ConfigError
 * naming the key path; the seal key is loaded and checked here too, so a
 * server that starts has everything it needs.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { ConfigError } from './config-error.js';
import { parseConfigText, type ConfigFormat } from './config-hcl.js';
import { validateFile, type FileConfig, type HostPort } from './config-schema.js';

export { ConfigError } from './config-error.js';
export type { ConfigFormat } from './config-hcl.js';
export type { HostPort } from './config-schema.js';

export type StorageConfig =
  | { type: 'sqlite'; path: string; synchronous: 'full' | 'normal' }
  /** shared by every instance pointed at the database */
  | { type: 'postgresql'; connectionUrl: string; maxParallel?: number; maxIdleConnections?: number }
  | { type: 'inmem' };

export interface TcpListenerConfig extends HostPort {
  tlsDisable: boolean;
  /** set whenever tlsDisable is false */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** bytes, > 0 */
  maxRequestSize: number;
}

export interface SealConfig {
  type: 'static';
  /** where the key came from, for messages (never the key itself) */
  keyFile?: string;
  keyEnv?: string;
}

export interface SyncConfig {
  workers: number;
  reconcileIntervalMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
  queueCapacity: number;
  firstAttemptWaitMs: number;
  /** writes/s per destination overriding each type's default (0 = unlimited); absent = defaults */
  destinationRate?: number;
}

export interface VaultSourceConfig {
  /** http(s) URL, trailing slashes removed */
  address: string;
  token?: string;
  approle?: { roleId: string; secretId: string };
  namespace?: string;
  caCert?: string;
  tlsSkipVerify: boolean;
  auditListenAddress?: HostPort;
  pollIntervalMs: number;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface ServerConfig {
  storage: StorageConfig;
  listener: { tcp: TcpListenerConfig };
  seal: SealConfig;
  /**
   * The 32-byte barrier key. Not enumerable, so logging or serialising the
   * config (JSON.stringify, pino, spread) never carries it.
   */
  readonly sealKey: Buffer;
  logLevel: LogLevel;
  logFormat?: 'json' | 'standard';
  sync: SyncConfig;
  source?: { vault: VaultSourceConfig };
}

/** Env var read for the seal key when the config names neither key_file nor key_env. */
export const DEFAULT_SEAL_KEY_ENV = 'SECRETS_SYNC_SEAL_KEY';

const SEAL_KEY_BYTES = 32;

/**
 * Reads and validates the config file at `path`: `.json` is JSON, `.hcl` is
 * HCL, anything else is tried as JSON, then HCL. Throws ConfigError.
 */
export function loadServerConfig(path: string, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${errCode(e)}`);
  }
  const ext = extname(path).toLowerCase();
  const format: ConfigFormat = ext === '.json' ? 'json' : ext === '.hcl' ? 'hcl' : 'auto';
  return parseServerConfig(text, format, env, path);
}

/** Validates config `text`; `source` names it in syntax errors. Throws ConfigError. */
export function parseServerConfig(
  text: string,
  format: ConfigFormat,
  env: NodeJS.ProcessEnv = process.env,
  source = 'config file',
): ServerConfig {
  const raw = parseConfigText(text, format, source);
  const checked = validateFile(raw);
  if (!checked.ok) throw new ConfigError(checked.issues);
  const file = checked.value;
  const seal: SealConfig = { type: 'static' };
  const sealFile = file.seal?.static;
  if (sealFile?.key_file !== undefined) seal.keyFile = sealFile.key_file;
  else seal.keyEnv = sealFile?.key_env ?? DEFAULT_SEAL_KEY_ENV;
  const sealKey = loadSealKey(seal, env, sealFile?.key_env === undefined);
  const config = toServerConfig(file, seal);
  Object.defineProperty(config, 'sealKey', { value: sealKey, enumerable: false, writable: false });
  return config as ServerConfig;
}

function toServerConfig(f: FileConfig, seal: SealConfig): Omit<ServerConfig, 'sealKey'> {
  const tcp = f.listener.tcp;
  const out: Omit<ServerConfig, 'sealKey'> = {
    storage: toStorage(f.storage),
    listener: {
      tcp: {
        ...tcp.address,
        tlsDisable: tcp.tls_disable,
        ...(tcp.tls_cert_file !== undefined && { tlsCertFile: tcp.tls_cert_file }),
        ...(tcp.tls_key_file !== undefined && { tlsKeyFile: tcp.tls_key_file }),
        maxRequestSize: tcp.max_request_size,
      },
    },
    seal,
    logLevel: f.log_level,
    sync: {
      workers: f.sync.workers,
      reconcileIntervalMs: f.sync.reconcile_interval,
      retryInitialMs: f.sync.retry_initial,
      retryMaxMs: f.sync.retry_max,
      queueCapacity: f.sync.queue_capacity,
      firstAttemptWaitMs: f.sync.first_attempt_wait,
      ...(f.sync.destination_rate !== undefined ? { destinationRate: f.sync.destination_rate } : {}),
    },
  };
  if (f.log_format !== undefined) out.logFormat = f.log_format;
  const v = f.source?.vault;
  if (v) {
    out.source = {
      vault: {
        address: v.address,
        ...(v.token !== undefined && { token: v.token }),
        ...(v.approle && { approle: { roleId: v.approle.role_id, secretId: v.approle.secret_id } }),
        ...(v.namespace !== undefined && { namespace: v.namespace }),
        ...(v.ca_cert !== undefined && { caCert: v.ca_cert }),
        tlsSkipVerify: v.tls_skip_verify,
        ...(v.audit_listen_address && { auditListenAddress: v.audit_listen_address }),
        pollIntervalMs: v.poll_interval,
      },
    };
  }
  return out;
}

function toStorage(s: FileConfig['storage']): StorageConfig {
  if (s.sqlite) return { type: 'sqlite', path: s.sqlite.path, synchronous: s.sqlite.synchronous };
  if (s.postgresql) {
    const p = s.postgresql;
    return {
      type: 'postgresql',
      connectionUrl: p.connection_url,
      ...(p.max_parallel !== undefined && { maxParallel: p.max_parallel }),
      ...(p.max_idle_connections !== undefined && { maxIdleConnections: p.max_idle_connections }),
    };
  }
  return { type: 'inmem' };
}

/** Loads the base64 key; messages name the file or variable, never the content. */
function loadSealKey(seal: SealConfig, env: NodeJS.ProcessEnv, defaulted: boolean): Buffer {
  let text: string;
  let from: string;
  if (seal.keyFile !== undefined) {
    from = `key_file ${seal.keyFile}`;
    try {
      text = readFileSync(seal.keyFile, 'utf8');
    } catch (e) {
      throw new ConfigError(`seal "static": cannot read ${from}: ${errCode(e)}`);
    }
  } else {
    const name = seal.keyEnv ?? DEFAULT_SEAL_KEY_ENV;
    from = `environment variable ${name}`;
    const value = env[name];
    if (value === undefined || value.trim() === '') {
      const hint = defaulted ? ' (or set key_file / key_env in the seal "static" block)' : '';
      throw new ConfigError(`seal "static": ${from} is not set${hint}`);
    }
    text = value;
  }
  const b64 = text.trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw new ConfigError(`seal "static": ${from} must hold a base64-encoded ${SEAL_KEY_BYTES}-byte key (not valid base64)`);
  }
  const key = Buffer.from(b64, 'base64');
  if (key.length !== SEAL_KEY_BYTES) {
    throw new ConfigError(`seal "static": ${from} must hold a base64-encoded ${SEAL_KEY_BYTES}-byte key (got ${key.length} bytes)`);
  }
  return key;
}

function errCode(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') return e.code;
  return 'unreadable';
}
