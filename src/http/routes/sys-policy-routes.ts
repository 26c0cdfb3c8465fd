/**
 * ACL policy management: the legacy `sys/policy` API (`rules`, and `policies`
 * beside `keys` in lists) and `sys/policies/acl` (`policy`), as Vault has both.
 */
import { BadRequestError, NotFoundError } from '../../errors.js';
import type { PolicyStore } from '../../auth/policy-store.js';
import type { RequestContext, RouteDef, RouteResult } from '../router.js';
import { type AuthSource, resolveAuth } from './auth-token-routes.js';

/** Vault accepts a base64-encoded policy body (strict standard encoding). */
function decodePolicyText(text: string): string {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return text;
  const buf = Buffer.from(text, 'base64');
  return buf.toString('base64') === text ? buf.toString('utf8') : text;
}

const fieldText = (ctx: RequestContext, name: string): string => {
  const v = ctx.data[name];
  return typeof v === 'string' ? v : '';
};

export function policyRoutes(src: AuthSource): RouteDef[] {
  const policies = (): PolicyStore => resolveAuth(src).policies;

  const list =
    (legacy: boolean) =>
    async (): Promise<RouteResult> => {
      const keys = await policies().list();
      return { data: legacy ? { keys, policies: keys } : { keys }, hoistData: true };
    };

  const read =
    (legacy: boolean) =>
    async (ctx: RequestContext): Promise<RouteResult> => {
      const p = await policies().read(ctx.params.name!);
      if (!p) throw new NotFoundError();
      return { data: { name: p.name, [legacy ? 'rules' : 'policy']: p.raw }, hoistData: true };
    };

  const write =
    (legacy: boolean) =>
    async (ctx: RequestContext): Promise<RouteResult | undefined> => {
      const warnings: string[] = [];
      let text = fieldText(ctx, 'policy');
      if (text === '' && legacy) {
        text = fieldText(ctx, 'rules');
        if (text !== '') warnings.push("'rules' is deprecated, please use 'policy' instead");
      }
      if (text.trim() === '') throw new BadRequestError("'policy' parameter not supplied or empty");
      await policies().write(ctx.params.name!, decodePolicyText(text));
      return warnings.length ? { warnings } : undefined;
    };

  const del = async (ctx: RequestContext): Promise<undefined> => {
    await policies().delete(ctx.params.name!);
    return undefined;
  };

  return [
    { pattern: 'sys/policy', handlers: { read: list(true), list: list(true) } },
    {
      pattern: 'sys/policy/:name+',
      fields: { policy: { type: 'string' }, rules: { type: 'string' } },
      handlers: { read: read(true), write: write(true), delete: del },
    },
    { pattern: 'sys/policies/acl', handlers: { list: list(false) } },
    {
      pattern: 'sys/policies/acl/:name+',
      fields: { policy: { type: 'string' } },
      handlers: { read: read(false), write: write(false), delete: del },
    },
  ];
}
