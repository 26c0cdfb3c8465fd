/**
 * Parses one line of Vault's audit JSON (socket/file audit devices) and picks
 * out successful KV-v2 changes. The feed is untrusted input: anything that is
 * not a well-formed, successful KV-v2 change is reported as ignored or
 * malformed, never thrown. Values in the entry are HMAC-ed and never used —
 * the sync worker re-reads the secret from the store.
 */

import { jsonDepthExceeds } from '../../util/json-depth.js';

/** Lines longer than this (bytes) are dropped. */
export const MAX_AUDIT_LINE_BYTES = 1024 * 1024;
/** Vault's entries nest a few levels (request.data.data.<value>); deeper input is hostile or not ours. */
export const MAX_AUDIT_JSON_DEPTH = 64;

export type MalformedReason = 'too_long' | 'invalid_utf8' | 'too_deep' | 'invalid_json' | 'not_an_entry';

/** A successful write-like request on a KV mount, before the path is split by the mount point. */
export interface AuditChange {
  accessor: string;
  /** the mount point with trailing slash, when the entry names it */
  mountPoint?: string;
  /** request path (relative to the namespace), e.g. `secret/data/foo` */
  path: string;
  operation: string;
}

export type AuditLineResult =
  | { kind: 'change'; change: AuditChange }
  | { kind: 'ignored' }
  | { kind: 'malformed'; reason: MalformedReason };

/** The KV-v2 endpoints that change what a sync would read. */
export type KvAction = 'data' | 'delete' | 'undelete' | 'destroy' | 'metadata';

const WRITE_OPS = new Set(['create', 'update', 'patch', 'delete']);
const ACTION_OPS: Record<KvAction, Set<string>> = {
  data: WRITE_OPS,
  metadata: WRITE_OPS,
  delete: new Set(['create', 'update']),
  undelete: new Set(['create', 'update']),
  destroy: new Set(['create', 'update']),
};

const decoder = new TextDecoder('utf-8', { fatal: true });

export function parseAuditLine(line: Buffer | string): AuditLineResult {
  let text: string;
  if (typeof line === 'string') {
    if (Buffer.byteLength(line) > MAX_AUDIT_LINE_BYTES) return { kind: 'malformed', reason: 'too_long' };
    text = line;
  } else {
    if (line.length > MAX_AUDIT_LINE_BYTES) return { kind: 'malformed', reason: 'too_long' };
    try {
      text = decoder.decode(line);
    } catch {
      return { kind: 'malformed', reason: 'invalid_utf8' };
    }
  }
  text = text.trim();
  if (text === '') return { kind: 'ignored' };
  if (jsonDepthExceeds(text, MAX_AUDIT_JSON_DEPTH)) return { kind: 'malformed', reason: 'too_deep' };
  let entry: unknown;
  try {
    entry = JSON.parse(text);
  } catch {
    return { kind: 'malformed', reason: 'invalid_json' };
  }
  if (!isObject(entry) || (entry.type !== 'request' && entry.type !== 'response') || !isObject(entry.request)) {
    return { kind: 'malformed', reason: 'not_an_entry' };
  }
  // Only a response proves the change happened, and only one without an error.
  if (entry.type !== 'response') return { kind: 'ignored' };
  if (typeof entry.error === 'string' && entry.error !== '') return { kind: 'ignored' };
  const resp = isObject(entry.response) ? entry.response : undefined;
  if (resp && isObject(resp.data) && typeof resp.data.error === 'string' && resp.data.error !== '') return { kind: 'ignored' };
  const req = entry.request;
  const path = str(req.path);
  const operation = str(req.operation);
  const accessor = str(req.mount_accessor) || str(resp?.mount_accessor);
  const mountType = str(req.mount_type) || str(resp?.mount_type);
  if (!path || !operation || !accessor || !WRITE_OPS.has(operation)) return { kind: 'ignored' };
  // KV-v2 mounts report type "kv" (older Vaults may leave it out; the accessor decides later).
  if (mountType !== '' && mountType !== 'kv' && mountType !== 'kv-v2') return { kind: 'ignored' };
  const mountPoint = str(req.mount_point) || str(resp?.mount_point);
  const change: AuditChange = { accessor, path, operation };
  if (mountPoint) change.mountPoint = mountPoint.endsWith('/') ? mountPoint : `${mountPoint}/`;
  return { kind: 'change', change };
}

/**
 * Splits a request path under its mount into the KV-v2 action and secret
 * path, or undefined when it is not a change to one secret.
 */
export function kvSecretOf(mountPoint: string, path: string, operation: string): { action: KvAction; secretPath: string } | undefined {
  const mp = mountPoint.endsWith('/') ? mountPoint : `${mountPoint}/`;
  if (!path.startsWith(mp)) return undefined;
  const rest = path.slice(mp.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  const action = rest.slice(0, slash) as KvAction;
  const ops = ACTION_OPS[action];
  if (!ops || !ops.has(operation)) return undefined;
  const secretPath = rest.slice(slash + 1);
  if (secretPath === '' || secretPath.endsWith('/') || secretPath.split('/').some((s) => s === '' || s === '.' || s === '..')) return undefined;
  return { action, secretPath };
}


function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
