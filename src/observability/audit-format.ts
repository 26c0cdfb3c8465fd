/**
 * Vault's audit JSON format: for every request a `request` entry and a
 * `response` entry. Paths, operations and mount facts are in clear; tokens,
 * accessors and every string inside request and response data are HMAC-ed
 * with the device's salt (`hmac-sha256:<hex>`), so a device never holds a
 * secret value yet the same value always hashes the same (sys/audit-hash).
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { RequestInfo } from '../http/app.js';
import type { Operation } from '../http/router.js';
import { rfc3339Nano } from '../util/clock.js';

export interface AuditFormatOptions {
  /** HMAC key */
  salt: Buffer;
  /** hash token accessors too (Vault's `hmac_accessor`, default true) */
  hmacAccessor: boolean;
  /** write values in clear (Vault's `log_raw`, default false) */
  logRaw: boolean;
}

/** Values nested deeper than this are hashed whole rather than walked. */
const MAX_WALK_DEPTH = 64;

export function auditHmac(salt: Buffer, value: string): string {
  return `hmac-sha256:${createHmac('sha256', salt).update(value).digest('hex')}`;
}

const VAULT_OPERATION: Record<Operation, string> = { read: 'read', list: 'list', write: 'update', patch: 'patch', delete: 'delete' };

interface MountFacts {
  mount_point: string;
  mount_type: string;
  mount_accessor: string;
  mount_class: string;
}

// System backends have no mount entry of their own; Vault gives them fixed-looking accessors.
const SYSTEM_MOUNT: MountFacts = { mount_point: 'sys/', mount_type: 'system', mount_accessor: 'system_0c4a5e7d', mount_class: '' };
const TOKEN_MOUNT: MountFacts = { mount_point: 'auth/token/', mount_type: 'token', mount_accessor: 'auth_token_8e2d91b4', mount_class: 'auth' };

function mountFacts(info: RequestInfo): MountFacts {
  if (info.mount) return { mount_point: info.mount.path, mount_type: info.mount.type, mount_accessor: info.mount.accessor, mount_class: 'secret' };
  if (info.path.startsWith('auth/token/')) return TOKEN_MOUNT;
  return SYSTEM_MOUNT;
}

/** The two JSON entries (request, response) for one finished request, in Vault's shape. */
export function formatAuditEntries(info: RequestInfo, o: AuditFormatOptions, nowMs: number): [Record<string, unknown>, Record<string, unknown>] {
  const h = (s: string): string => (o.logRaw ? s : auditHmac(o.salt, s));
  const time = rfc3339Nano(nowMs);
  const facts = mountFacts(info);
  const envelope = isObject(info.response) ? info.response : undefined;
  const id = typeof envelope?.request_id === 'string' ? envelope.request_id : randomUUID();
  const t = info.token;
  const auth: Record<string, unknown> | undefined = t
    ? {
        ...(info.clientToken !== undefined && { client_token: h(info.clientToken) }),
        accessor: o.hmacAccessor ? h(t.accessor) : t.accessor,
        display_name: t.displayName,
        policies: t.policies,
        token_policies: t.policies,
        ...(t.meta && Object.keys(t.meta).length > 0 && { metadata: t.meta }),
        policy_results: { allowed: info.status !== 403 },
        token_type: 'service',
        token_issue_time: rfc3339Nano(t.creationTime * 1000).replace(/\.\d+Z$/, 'Z'),
        ...(t.creationTtl > 0 && { token_ttl: t.creationTtl }),
      }
    : info.status === 403
      ? { policy_results: { allowed: false } }
      : undefined;
  const request: Record<string, unknown> = {
    id,
    operation: VAULT_OPERATION[info.op],
    ...facts,
    ...(info.clientToken !== undefined && { client_token: h(info.clientToken) }),
    ...(t && { client_token_accessor: o.hmacAccessor ? h(t.accessor) : t.accessor }),
    namespace: { id: 'root' },
    path: info.path,
    ...(Object.keys(info.data).length > 0 && { data: hashValue(info.data, h, 0) }),
    remote_address: info.remoteAddress,
  };
  const reqEntry: Record<string, unknown> = { time, type: 'request', ...(auth && { auth }), request };
  const response: Record<string, unknown> = { ...facts };
  if (info.error !== undefined) {
    response.data = { error: info.error };
  } else if (envelope) {
    if (envelope.data !== undefined && envelope.data !== null) response.data = hashValue(envelope.data, h, 0);
    if (isObject(envelope.auth)) {
      const a = envelope.auth;
      response.auth = {
        ...a,
        ...(typeof a.client_token === 'string' && { client_token: h(a.client_token) }),
        ...(typeof a.accessor === 'string' && { accessor: o.hmacAccessor ? h(a.accessor) : a.accessor }),
      };
    }
    if (Array.isArray(envelope.warnings) && envelope.warnings.length) response.warnings = envelope.warnings;
  }
  const respEntry: Record<string, unknown> = {
    time,
    type: 'response',
    ...(auth && { auth }),
    ...(info.error !== undefined && { error: info.error }),
    request,
    response,
  };
  return [reqEntry, respEntry];
}

/** Hashes every string leaf (object keys stay in clear), as Vault's hashstructure does. */
function hashValue(v: unknown, h: (s: string) => string, depth: number): unknown {
  if (typeof v === 'string') return h(v);
  if (v === null || typeof v !== 'object') return v;
  if (depth >= MAX_WALK_DEPTH) {
    let whole: string;
    try {
      whole = JSON.stringify(v);
    } catch {
      whole = '';
    }
    return h(whole);
  }
  if (Array.isArray(v)) return v.map((x) => hashValue(x, h, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = hashValue(x, h, depth + 1);
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
