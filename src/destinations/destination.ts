/**
 * The contract between the sync engine and every destination type. A
 * destination module never imports the engine; the engine reaches a type only
 * through its `DestinationTypeSpec` in registry.ts.
 */
import type { FieldSpec } from '../http/field-coercion.js';
import type { NetGuard } from './net-guard.js';

export type DestinationType = 'aws-sm' | 'azure-kv' | 'gcp-sm' | 'gh' | 'vercel-project';

export const DESTINATION_TYPES: readonly DestinationType[] = ['aws-sm', 'azure-kv', 'gcp-sm', 'gh', 'vercel-project'];

export type Granularity = 'secret-path' | 'secret-key';

export type SyncErrorStatus = 'CLIENT_SIDE_ERROR' | 'EXTERNAL_SERVICE_ERROR' | 'INTERNAL_VAULT_ERROR';

/** The options every destination type has (already coerced and validated). */
export interface DestinationOptions {
  granularity: Granularity;
  secretNameTemplate: string;
  /** user tags; the built-in `hashicorp:vault` tag is added by the client */
  customTags: Record<string, string>;
  /** CIDRs that the outbound guard lets through even inside special-purpose ranges */
  allowedIpv4Addresses: string[];
  allowedIpv6Addresses: string[];
  /** ports allowed besides 80 and 443 */
  allowedPorts: number[];
  /** turns the outbound network guard off entirely */
  disableStrictNetworking: boolean;
}

export interface UpsertRequest {
  /** external name, already rendered and normalised */
  name: string;
  /** never logged, never part of an error message */
  value: string;
  /** custom tags; the client adds its built-in tags */
  tags: Record<string, string>;
  /** tag keys that were removed from the destination's custom_tags since the last sync */
  removedTagKeys: string[];
  /** 32–64 characters, stable per (association, source version) so that retries are idempotent */
  idempotencyToken: string;
  /**
   * The engine last wrote this very name successfully: the client may try an
   * update first (one call instead of a failed create plus the update). A hint
   * only — the secret may have been deleted at the destination since.
   */
  knownToExist?: boolean;
  /**
   * With knownToExist: our last write to this name carried exactly these tags,
   * so an update may skip re-tagging (AWS: no TagResource call per value change).
   */
  tagsUnchanged?: boolean;
}

export interface UpsertResult {
  /** whether the secret was created or an existing one updated */
  action: 'created' | 'updated';
  /** degraded-but-successful notes for the association status, e.g. tag removal not permitted */
  warnings: string[];
}

/** A live client for one configured destination. Never logs or returns secret values. */
export interface DestinationClient {
  /** Create or update external secret `name` to `value` with `tags`. */
  upsert(req: UpsertRequest): Promise<UpsertResult>;
  /** Delete external secret `name`; a missing secret is success. */
  delete(name: string): Promise<void>;
  /** Releases sockets; the client must not be used afterwards. */
  close(): void;
}

/**
 * Thrown by clients, classified once at the point of failure.
 * `message` never contains a secret value or a credential.
 * `retryable`: the same call may succeed later without a configuration change.
 * `throttled`: the destination asked us to slow down.
 */
export class DestinationError extends Error {
  readonly status: SyncErrorStatus;
  readonly retryable: boolean;
  readonly throttled: boolean;

  constructor(status: SyncErrorStatus, message: string, opts: { retryable?: boolean; throttled?: boolean } = {}) {
    super(message);
    this.name = 'DestinationError';
    this.status = status;
    this.throttled = opts.throttled ?? false;
    this.retryable = opts.retryable ?? (status === 'EXTERNAL_SERVICE_ERROR' || this.throttled);
  }
}

export interface DestinationLogger {
  warn(obj: Record<string, unknown>, msg?: string): void;
  debug(obj: Record<string, unknown>, msg?: string): void;
}

export interface ClientDeps {
  /** the outbound network guard; built from the options when absent */
  guard?: NetGuard;
  logger?: DestinationLogger;
  /** clock in ms (tests) */
  now?: () => number;
  /** delay used by bounded in-client waits (tests) */
  sleep?: (ms: number) => Promise<void>;
  /** environment for defaults (region, endpoint); process.env when absent */
  env?: Record<string, string | undefined>;
  /** network timeouts overriding the type's defaults (tests, slow links) */
  timeouts?: DestinationTimeouts;
}

/** Per-request network timeouts of a destination client, in ms. */
export interface DestinationTimeouts {
  /** TCP/TLS connect */
  connectMs?: number;
  /** whole response, per attempt */
  requestMs?: number;
}

export interface ConnectionFieldSpec {
  spec: FieldSpec;
  /** masked as "*****" on read ("" when never set); never logged */
  credential?: boolean;
  /** a change after creation is a 400 */
  immutable?: boolean;
  /** must be present at creation */
  required?: boolean;
}

export interface DestinationTypeSpec {
  type: DestinationType;
  /** false: the API answers 400 `unsupported destination type` */
  implemented: boolean;
  defaultTemplate: string;
  defaultGranularity: Granularity;
  connectionFields: Record<string, ConnectionFieldSpec>;
  /** whether `custom_tags` applies to this type */
  supportsTags: boolean;
  /** Validates a full connection config (after merge with the stored one); throws BadRequestError naming the field. */
  validate(conn: Record<string, unknown>, options: DestinationOptions): void;
  /** Maps a rendered name into the destination's character set and length. */
  normalizeName(name: string): string;
  createClient(conn: Record<string, unknown>, options: DestinationOptions, deps?: ClientDeps): DestinationClient;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'EHOSTDOWN',
  'ENETDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

/**
 * Classifies an error no client-specific rule recognised: network failures and
 * timeouts are the destination's (retryable); anything else is ours.
 */
export function classifyError(err: unknown, operation?: string): DestinationError {
  if (err instanceof DestinationError) return err;
  const prefix = operation ? `${operation}: ` : '';
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const name = typeof e.name === 'string' ? e.name : undefined;
  if (code && NETWORK_CODES.has(code)) {
    return new DestinationError('EXTERNAL_SERVICE_ERROR', `${prefix}network error ${code}`, { retryable: true });
  }
  if (name === 'TimeoutError' || name === 'AbortError' || code === 'ABORT_ERR') {
    return new DestinationError('EXTERNAL_SERVICE_ERROR', `${prefix}request timed out or was aborted`, { retryable: true });
  }
  if (e.cause !== undefined && e.cause !== err) {
    const inner = classifyError(e.cause, operation);
    if (inner.status !== 'INTERNAL_VAULT_ERROR') return inner;
  }
  // Internal errors carry only the error's class: its message could quote anything.
  return new DestinationError('INTERNAL_VAULT_ERROR', `${prefix}internal error (${name ?? typeof err})`, { retryable: false });
}

/** Replaces any occurrence of the given secrets (value, its JSON leaves, credentials) in a message. */
export function scrubSecrets(message: string, secrets: Iterable<string | undefined>): string {
  let out = message;
  const all = [...secrets].filter((s): s is string => typeof s === 'string' && s.length >= 4);
  all.sort((a, b) => b.length - a.length);
  for (const s of all) if (out.includes(s)) out = out.split(s).join('[redacted]');
  return out;
}

/** The strings inside a secret value worth scrubbing: the whole value and, for a JSON object, its string leaves. */
export function secretFragments(value: string): string[] {
  const out = [value];
  try {
    const parsed: unknown = JSON.parse(value);
    if (typeof parsed === 'object' && parsed !== null) {
      for (const v of Object.values(parsed as Record<string, unknown>)) {
        if (typeof v === 'string' && v.length >= 6) out.push(v);
        else if (typeof v === 'object' && v !== null) out.push(JSON.stringify(v));
      }
    }
  } catch {
    // not JSON: the whole value is enough
  }
  return out;
}
