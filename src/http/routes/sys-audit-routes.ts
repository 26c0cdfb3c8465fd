/**
 * Audit device management (`sys/audit`, `sys/audit/:path`) and
 * `sys/audit-hash/:path`. Like Vault, every one of these needs `sudo` beside
 * the operation's own capability.
 */
import { BadRequestError, PermissionDeniedError } from '../../errors.js';
import type { AuditBroker } from '../../observability/audit-devices.js';
import { isPlainObject } from '../field-coercion.js';
import { capabilityFor, type RequestContext, type RouteDef } from '../router.js';

async function requireSudo(ctx: RequestContext): Promise<void> {
  const acl = ctx.acl!;
  const caps = capabilityFor(ctx.op, undefined);
  if (!caps.some((c) => acl.allows(ctx.path, c)) || !acl.allows(ctx.path, 'sudo')) throw new PermissionDeniedError();
}

function stringOptions(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isPlainObject(v)) throw new BadRequestError('Field validation failed: error converting input for field "options": expected a map');
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === null || x === undefined) continue;
    if (typeof x === 'string') out[k] = x;
    else if (typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
    else throw new BadRequestError(`Field validation failed: error converting input for field "options": value of "${k}" must be a string`);
  }
  return out;
}

export function auditRoutes(broker: () => AuditBroker): RouteDef[] {
  const list = async () => ({ data: broker().list(), hoistData: true });
  return [
    { pattern: 'sys/audit', authorize: requireSudo, handlers: { read: list, list } },
    {
      pattern: 'sys/audit/:path+',
      authorize: requireSudo,
      fields: { type: { type: 'string' }, description: { type: 'string' }, options: { type: 'any' }, local: { type: 'bool' } },
      handlers: {
        write: async (ctx) => {
          const type = typeof ctx.data.type === 'string' ? ctx.data.type : '';
          const description = typeof ctx.data.description === 'string' ? ctx.data.description : '';
          await broker().enable(ctx.params.path!, type, description, stringOptions(ctx.data.options), ctx.data.local === true);
          return undefined;
        },
        delete: async (ctx) => {
          await broker().disable(ctx.params.path!);
          return undefined;
        },
      },
    },
    {
      pattern: 'sys/audit-hash/:path+',
      authorize: requireSudo,
      fields: { input: { type: 'string' } },
      handlers: {
        write: async (ctx) => {
          const input = typeof ctx.data.input === 'string' ? ctx.data.input : '';
          const hash = broker().hash(ctx.params.path!, input);
          if (hash === undefined) throw new BadRequestError('unknown audit backend');
          return { data: { hash } };
        },
      },
    },
  ];
}
