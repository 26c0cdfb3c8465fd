/**
 * The zod schema of the server config file, in the file's own (snake_case)
 * key names. Values are converted while validating (durations → ms, Vault's
 * string booleans → boolean, HOST:PORT → parts) so the mapping to
 * `ServerConfig` is a plain rename. Messages never include the value.
 */
import { z } from 'zod';
import { parseDurationMs } from '../util/duration.js';

/** A field that converts its input, or reports `message` (never the value). */
function conv<T>(convert: (v: unknown) => T | undefined, message: string) {
  return z.unknown().transform((v, ctx): T => {
    if (v === undefined) {
      ctx.issues.push({ code: 'custom', message: 'is required', input: v });
      return z.NEVER;
    }
    const out = convert(v);
    if (out === undefined) {
      ctx.issues.push({ code: 'custom', message, input: v });
      return z.NEVER;
    }
    return out;
  });
}

const str = () => conv((v) => (typeof v === 'string' && v.trim() !== '' ? v : undefined), 'must be a non-empty string');

// strconv.ParseBool, which Vault uses for string booleans
const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);
const bool = () =>
  conv((v) => {
    if (typeof v === 'boolean') return v;
    if (typeof v === 'string' && TRUE.has(v)) return true;
    if (typeof v === 'string' && FALSE.has(v)) return false;
    return undefined;
  }, 'must be a boolean (true or false)');

const positiveInt = () =>
  conv((v) => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : undefined), 'must be a positive integer');

const DURATION_MSG = 'must be a duration like "10m", "1h30m" or "300ms"';
const duration = (allowZero = false) =>
  conv((v) => {
    const ms = parseDurationMs(v);
    if (ms === undefined || ms < 0 || (!allowZero && ms === 0)) return undefined;
    return ms;
  }, allowZero ? `${DURATION_MSG}, not negative` : `${DURATION_MSG}, greater than zero`);

export interface HostPort {
  /** as written, e.g. `127.0.0.1:8200`, `[::1]:8200` */
  address: string;
  /** without IPv6 brackets */
  host: string;
  /** 0 asks the OS for a free port */
  port: number;
}

/** `HOST:PORT` with a non-empty host (name, IPv4 or bracketed IPv6) and port 0–65535. */
export function parseHostPort(v: unknown): HostPort | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(?:\[([0-9A-Fa-f:.]+(?:%[\w.-]+)?)\]|([A-Za-z0-9_.-]+)):(\d{1,5})$/.exec(v);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { address: v, host: (m[1] ?? m[2])!, port };
}
const hostPort = () => conv(parseHostPort, 'must be HOST:PORT');

const oneOf = <T extends string>(values: readonly T[], aliases: Record<string, T> = {}) =>
  conv((v) => {
    if (typeof v !== 'string') return undefined;
    const s = v.toLowerCase();
    return (values as readonly string[]).includes(s) ? (s as T) : aliases[s];
  }, `must be one of ${values.join(', ')}`);

const httpUrl = () =>
  conv((v) => {
    if (typeof v !== 'string') return undefined;
    try {
      const u = new URL(v);
      return u.protocol === 'http:' || u.protocol === 'https:' ? v.replace(/\/+$/, '') : undefined;
    } catch {
      return undefined;
    }
  }, 'must be an http:// or https:// URL');

const envName = () =>
  conv((v) => (typeof v === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(v) ? v : undefined), 'must be an environment variable name');

/** Present in Vault configs people copy; accepted and ignored. */
const ignored = () => z.unknown().optional();

const DEFAULT_MAX_REQUEST_SIZE = 32 * 1024 * 1024;

const storageSchema = z
  .strictObject({
    sqlite: z
      .strictObject({
        path: str(),
        synchronous: oneOf(['full', 'normal'] as const).default('normal'),
      })
      .optional(),
    postgresql: z
      .strictObject({
        connection_url: str(),
        max_parallel: positiveInt().optional(),
        max_idle_connections: positiveInt().optional(),
      })
      .optional(),
    inmem: z.strictObject({}).optional(),
  })
  .superRefine((s, ctx) => {
    const kinds = Object.keys(s).filter((k) => s[k as keyof typeof s] !== undefined);
    if (kinds.length !== 1) {
      const found = kinds.length ? ` (found ${kinds.join(', ')})` : '';
      ctx.addIssue({ code: 'custom', message: `must declare exactly one of sqlite, postgresql, inmem${found}` });
    }
  });

const tcpSchema = z
  .strictObject({
    address: hostPort().default({ address: '127.0.0.1:8200', host: '127.0.0.1', port: 8200 }),
    tls_disable: bool().default(false),
    tls_cert_file: str().optional(),
    tls_key_file: str().optional(),
    max_request_size: positiveInt().default(DEFAULT_MAX_REQUEST_SIZE),
  })
  .superRefine((t, ctx) => {
    if (t.tls_disable) return;
    for (const key of ['tls_cert_file', 'tls_key_file'] as const) {
      if (t[key] === undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'is required unless "listener.tcp.tls_disable" is true' });
      }
    }
  });

const sealSchema = z.strictObject({
  static: z
    .strictObject({
      key_file: str().optional(),
      key_env: envName().optional(),
    })
    .superRefine((s, ctx) => {
      if (s.key_file !== undefined && s.key_env !== undefined) {
        ctx.addIssue({ code: 'custom', message: 'takes key_file or key_env, not both' });
      }
    }),
});

const syncSchema = z
  .strictObject({
    workers: positiveInt().default(16),
    reconcile_interval: duration().default(10 * 60_000),
    retry_initial: duration().default(1000),
    retry_max: duration().default(5 * 60_000),
    queue_capacity: positiveInt().default(1_000_000),
    first_attempt_wait: duration(true).default(5000),
    // writes/s per destination (0 = no limit of ours, e.g. quota-off benchmarks); default: each type's published quota
    destination_rate: conv((v) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined), 'must be a number of writes per second, 0 or more').optional(),
  })
  .superRefine((s, ctx) => {
    if (s.retry_initial > s.retry_max) {
      ctx.addIssue({ code: 'custom', path: ['retry_initial'], message: 'must not exceed "sync.retry_max"' });
    }
  });

const vaultSourceSchema = z
  .strictObject({
    address: httpUrl(),
    token: str().optional(),
    approle: z.strictObject({ role_id: str(), secret_id: str() }).optional(),
    namespace: str().optional(),
    ca_cert: str().optional(),
    tls_skip_verify: bool().default(false),
    audit_listen_address: hostPort().optional(),
    poll_interval: duration().default(5 * 60_000),
  })
  .superRefine((s, ctx) => {
    if ((s.token === undefined) === (s.approle === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'needs exactly one of token or approle' });
    }
  });

export const fileSchema = z.strictObject({
  storage: storageSchema,
  listener: z.strictObject({ tcp: tcpSchema }),
  seal: sealSchema.optional(),
  log_level: oneOf(['trace', 'debug', 'info', 'warn', 'error'] as const, { warning: 'warn', err: 'error' }).default('info'),
  log_format: oneOf(['json', 'standard'] as const).optional(),
  sync: syncSchema.prefault({}),
  source: z.strictObject({ vault: vaultSourceSchema }).optional(),
  ui: ignored(),
  api_addr: ignored(),
  cluster_addr: ignored(),
  disable_mlock: ignored(),
});

export type FileConfig = z.output<typeof fileSchema>;

/** Validates the normalised file object; returns the data or human-readable issues. */
export function validateFile(data: unknown): { ok: true; value: FileConfig } | { ok: false; issues: string[] } {
  const r = fileSchema.safeParse(data, {
    error: (iss) => {
      if (iss.code === 'invalid_type') {
        if (iss.input === undefined) return 'is required';
        return iss.expected === 'object' ? 'must be a block (an object)' : `must be of type ${iss.expected}`;
      }
      return undefined;
    },
  });
  if (r.success) return { ok: true, value: r.data };
  const issues: string[] = [];
  for (const iss of r.error.issues) {
    const path = iss.path.map(String);
    if (iss.code === 'unrecognized_keys') {
      for (const k of iss.keys) issues.push(`unknown key "${[...path, k].join('.')}"`);
    } else if (path.length === 0) {
      issues.push(iss.message);
    } else {
      issues.push(`"${path.join('.')}" ${iss.message}`);
    }
  }
  return { ok: false, issues };
}
