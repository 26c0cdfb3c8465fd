/**
 * The route model shared by every API area. Routes are matched against the
 * request path after `/v1/`; the HTTP layer (http/app.ts) resolves the token,
 * checks the capability the operation needs against the ACL, coerces fields
 * (field-coercion.ts) and wraps the result in Vault's envelope.
 */
import type { Acl, Capability, TokenEntry } from '../auth/auth-types.js';
import type { MountEntry } from '../kv/kv-types.js';
import type { FieldSpec } from './field-coercion.js';

/** Vault's logical operations. POST and PUT are both `write`. */
export type Operation = 'read' | 'list' | 'write' | 'patch' | 'delete';

export interface RequestContext {
  op: Operation;
  /** request path after `/v1/`, without leading slash; a list keeps its trailing slash */
  path: string;
  /** named pattern captures */
  params: Record<string, string>;
  /** coerced fields declared by the route (unknown fields are dropped and warned about) */
  data: Record<string, unknown>;
  /** raw body object or query parameters before coercion */
  raw: Record<string, unknown>;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** undefined only on unauthenticated routes */
  token: TokenEntry | undefined;
  /** the raw client token (for self-lookups); never log it */
  clientToken: string | undefined;
  acl: Acl | undefined;
  remoteAddress: string;
  /** the mount a mounted-backend route was resolved under */
  mount?: MountEntry;
}

export interface RouteResult {
  /** default 200 (204 when the handler returns undefined) */
  status?: number;
  data?: unknown;
  auth?: unknown;
  warnings?: string[];
  /** sent as-is instead of the envelope (sys/health and the like) */
  rawBody?: unknown;
  /** a non-JSON body (Prometheus metrics) */
  text?: { contentType: string; body: string };
  /** copy `data`'s keys to the top level too (sys/mounts, sys/policy) */
  hoistData?: boolean;
  mountType?: string;
}

export type Handler = (ctx: RequestContext) => Promise<RouteResult | undefined>;

export interface RouteDef {
  /**
   * Segments separated by `/`. `:name` captures one segment, `:name+` captures
   * the rest (one or more segments, slashes kept), `:name*` the rest or nothing.
   */
  pattern: string;
  handlers: Partial<Record<Operation, Handler>>;
  /** field specs for coercion, per operation or for all */
  fields?: Record<string, FieldSpec>;
  /** reachable without a token (sys/health, sys/init, sys/seal-status) */
  unauthenticated?: boolean;
  /** reachable before init / while sealed */
  allowUninitialised?: boolean;
  /**
   * For `write`: whether the target exists. false → the token needs `create`,
   * true → `update`. Without it, `write` needs `update` (or `create`).
   */
  exists?: (ctx: RequestContext) => Promise<boolean>;
  /**
   * Custom authorisation instead of the default capability check on the
   * request path; throw PermissionDeniedError to refuse.
   */
  authorize?: (ctx: RequestContext) => Promise<void>;
  /** capability override for an operation (e.g. a read that needs `sudo`) */
  capability?: Partial<Record<Operation, Capability[]>>;
}

/** The capability each operation needs by default. */
export function capabilityFor(op: Operation, exists: boolean | undefined): Capability[] {
  switch (op) {
    case 'read':
      return ['read'];
    case 'list':
      return ['list'];
    case 'patch':
      return ['patch'];
    case 'delete':
      return ['delete'];
    case 'write':
      return exists === undefined ? ['update', 'create'] : exists ? ['update'] : ['create'];
  }
}

interface Compiled {
  def: RouteDef;
  segs: string[];
}

export interface RouteMatch {
  def: RouteDef;
  params: Record<string, string>;
}

/** A first-match table of route patterns. */
export class RouteTable {
  private readonly routes: Compiled[] = [];

  add(...defs: RouteDef[]): this {
    for (const def of defs) this.routes.push({ def, segs: def.pattern.split('/') });
    return this;
  }

  /** Every registered route, for the authorisation sweep and docs. */
  list(): RouteDef[] {
    return this.routes.map((r) => r.def);
  }

  match(path: string): RouteMatch | undefined {
    const trimmed = path.replace(/\/+$/, '');
    const parts = trimmed === '' ? [] : trimmed.split('/');
    for (const r of this.routes) {
      const params = matchSegs(r.segs, parts);
      if (params) return { def: r.def, params };
    }
    return undefined;
  }
}

function matchSegs(segs: string[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    if (s.startsWith(':') && (s.endsWith('+') || s.endsWith('*'))) {
      // A rest capture may be followed by literal suffix segments (`:path+/tune`).
      const suffix = segs.slice(i + 1);
      const end = parts.length - suffix.length;
      if (end < i || suffix.some((x, j) => parts[end + j] !== x)) return undefined;
      const rest = parts.slice(i, end).join('/');
      if (s.endsWith('+') && rest === '') return undefined;
      params[s.slice(1, -1)] = rest;
      return params;
    }
    const p = parts[i];
    if (p === undefined) return undefined;
    if (s.startsWith(':')) {
      if (p === '') return undefined;
      params[s.slice(1)] = p;
    } else if (s !== p) return undefined;
  }
  return segs.length === parts.length ? params : undefined;
}
