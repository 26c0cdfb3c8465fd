/** The token auth backend: `auth/token/*` with Vault's request and response shapes. */
import type { TokenEntry } from '../../auth/auth-types.js';
import type { Auth } from '../../auth/index.js';
import type { TokenStore } from '../../auth/token-store.js';
import { BadRequestError, PermissionDeniedError } from '../../errors.js';
import { rfc3339Nano } from '../../util/clock.js';
import type { FieldSpec } from '../field-coercion.js';
import type { RequestContext, RouteDef, RouteResult } from '../router.js';

/** The auth services, or a getter for them (routes are built before the store is unsealed). */
export type AuthSource = Auth | (() => Auth);

export function resolveAuth(src: AuthSource): Auth {
  return typeof src === 'function' ? src() : src;
}

/** The `auth` block of create and renew responses. */
export function tokenAuthView(tokens: TokenStore, token: string, e: TokenEntry): Record<string, unknown> {
  return {
    client_token: token,
    accessor: e.accessor,
    policies: e.policies,
    token_policies: e.policies,
    metadata: e.meta,
    lease_duration: tokens.ttlOf(e),
    renewable: e.renewable,
    entity_id: '',
    token_type: 'service',
    orphan: e.orphan,
    mfa_requirement: null,
    num_uses: Math.max(0, e.numUses),
  };
}

/** The `data` of lookup responses; `id` is the raw token for lookup/lookup-self, '' by accessor. */
export function tokenLookupView(tokens: TokenStore, id: string, e: TokenEntry): Record<string, unknown> {
  const out: Record<string, unknown> = {
    accessor: e.accessor,
    creation_time: e.creationTime,
    creation_ttl: e.creationTtl,
    display_name: e.displayName,
    entity_id: '',
    expire_time: e.expireTime === null ? null : rfc3339Nano(e.expireTime),
    explicit_max_ttl: e.explicitMaxTtl,
    id,
    issue_time: rfc3339Nano(e.creationTime * 1000),
    meta: e.meta,
    num_uses: Math.max(0, e.numUses),
    orphan: e.orphan,
    path: e.path,
    policies: e.policies,
    renewable: e.renewable,
    ttl: tokens.ttlOf(e),
    type: 'service',
  };
  if (e.period > 0) out.period = e.period;
  if (e.lastRenewalTime !== undefined) {
    out.last_renewal_time = e.lastRenewalTime;
    out.last_renewal = rfc3339Nano(e.lastRenewalTime * 1000);
  }
  return out;
}

const CREATE_FIELDS: Record<string, FieldSpec> = {
  policies: { type: 'comma-string-slice' },
  meta: { type: 'kv-pairs' },
  ttl: { type: 'duration' },
  lease: { type: 'duration' },
  explicit_max_ttl: { type: 'duration' },
  period: { type: 'duration' },
  num_uses: { type: 'int' },
  display_name: { type: 'string' },
  no_default_policy: { type: 'bool' },
  renewable: { type: 'bool' },
  id: { type: 'string' },
  no_parent: { type: 'bool' },
  type: { type: 'string' },
  entity_alias: { type: 'string' },
};

function str(ctx: RequestContext, field: string): string {
  const v = ctx.data[field];
  return typeof v === 'string' ? v.trim() : '';
}

const self = (ctx: RequestContext): { entry: TokenEntry; token: string } => {
  // The HTTP layer only calls authenticated handlers with a resolved token.
  if (!ctx.token || !ctx.clientToken) throw new PermissionDeniedError();
  return { entry: ctx.token, token: ctx.clientToken };
};

export function tokenRoutes(src: AuthSource): RouteDef[] {
  const tokens = (): TokenStore => resolveAuth(src).tokens;

  const create =
    (orphan: boolean) =>
    async (ctx: RequestContext): Promise<RouteResult> => {
      const d = ctx.data;
      const type = str(ctx, 'type');
      if (type !== '' && type !== 'service' && type !== 'default-service' && type !== 'default') {
        throw new BadRequestError(type === 'batch' ? 'batch tokens are not supported' : `invalid 'type' value "${type}"`);
      }
      if (str(ctx, 'entity_alias') !== '') throw new BadRequestError("'entity_alias' is only allowed in combination with token role");
      const ts = tokens();
      const ttl = (d.ttl as number | undefined) || (d.lease as number | undefined);
      const { token, entry } = await ts.create(self(ctx).entry, {
        policies: d.policies as string[] | undefined,
        meta: (d.meta as Record<string, string> | undefined) ?? null,
        ttl,
        explicitMaxTtl: d.explicit_max_ttl as number | undefined,
        period: d.period as number | undefined,
        numUses: d.num_uses as number | undefined,
        displayName: str(ctx, 'display_name'),
        noDefaultPolicy: d.no_default_policy === true,
        renewable: d.renewable as boolean | undefined,
        id: str(ctx, 'id') || undefined,
        noParent: !orphan && d.no_parent === true,
        orphan,
        sudo: ctx.acl?.allows(ctx.path, 'sudo') ?? false,
        path: orphan ? 'auth/token/create-orphan' : 'auth/token/create',
      });
      return { auth: tokenAuthView(ts, token, entry) };
    };

  const lookupSelf = async (ctx: RequestContext): Promise<RouteResult> => {
    const { entry, token } = self(ctx);
    return { data: tokenLookupView(tokens(), token, entry) };
  };

  const renewResult = (ts: TokenStore, token: string, r: { entry: TokenEntry; warnings: string[] }): RouteResult => ({
    auth: tokenAuthView(ts, token, r.entry),
    ...(r.warnings.length ? { warnings: r.warnings } : {}),
  });

  return [
    { pattern: 'auth/token/create', fields: CREATE_FIELDS, handlers: { write: create(false) } },
    { pattern: 'auth/token/create-orphan', fields: CREATE_FIELDS, handlers: { write: create(true) } },
    {
      pattern: 'auth/token/lookup-self',
      fields: { token: { type: 'string' } },
      // POST is a read in disguise: the default policy's `read` covers it.
      capability: { write: ['read'] },
      handlers: { read: lookupSelf, write: lookupSelf },
    },
    {
      pattern: 'auth/token/lookup',
      fields: { token: { type: 'string' } },
      handlers: {
        write: async (ctx) => {
          const token = str(ctx, 'token');
          if (token === '') throw new BadRequestError('missing token to look up');
          const entry = await tokens().lookup(token);
          if (!entry) throw new BadRequestError('bad token');
          return { data: tokenLookupView(tokens(), token, entry) };
        },
      },
    },
    {
      pattern: 'auth/token/lookup-accessor',
      fields: { accessor: { type: 'string' } },
      handlers: {
        write: async (ctx) => {
          const accessor = str(ctx, 'accessor');
          if (accessor === '') throw new BadRequestError('missing accessor');
          const entry = await tokens().lookupByAccessor(accessor);
          if (!entry) throw new BadRequestError('invalid accessor');
          return { data: tokenLookupView(tokens(), '', entry) };
        },
      },
    },
    {
      pattern: 'auth/token/revoke-self',
      handlers: {
        write: async (ctx) => {
          await tokens().revokeEntry(self(ctx).entry);
          return undefined;
        },
      },
    },
    {
      pattern: 'auth/token/revoke',
      fields: { token: { type: 'string' } },
      handlers: {
        write: async (ctx) => {
          const token = str(ctx, 'token');
          if (token === '') throw new BadRequestError('missing token ID');
          await tokens().revoke(token);
          return undefined;
        },
      },
    },
    {
      pattern: 'auth/token/revoke-accessor',
      fields: { accessor: { type: 'string' } },
      handlers: {
        write: async (ctx) => {
          const accessor = str(ctx, 'accessor');
          if (accessor === '') throw new BadRequestError('missing accessor');
          if (!(await tokens().revokeAccessor(accessor))) throw new BadRequestError('invalid accessor');
          return undefined;
        },
      },
    },
    {
      pattern: 'auth/token/renew-self',
      fields: { increment: { type: 'duration' }, token: { type: 'string' } },
      handlers: {
        write: async (ctx) => {
          const { entry, token } = self(ctx);
          const ts = tokens();
          return renewResult(ts, token, await ts.renew(entry, (ctx.data.increment as number | undefined) ?? 0));
        },
      },
    },
    {
      pattern: 'auth/token/renew',
      fields: { increment: { type: 'duration' }, token: { type: 'string' } },
      handlers: {
        write: async (ctx) => {
          const token = str(ctx, 'token');
          if (token === '') throw new BadRequestError('missing token ID');
          const ts = tokens();
          const entry = await ts.lookup(token);
          if (!entry) throw new BadRequestError('token not found');
          return renewResult(ts, token, await ts.renew(entry, (ctx.data.increment as number | undefined) ?? 0));
        },
      },
    },
  ];
}
