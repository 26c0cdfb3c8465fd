/** The Secrets Sync API: sys/sync/config, destinations, associations, activation flags. */
import type { DestinationOptions } from '../../destinations/destination.js';
import { DESTINATION_OPTION_FIELDS, destinationTypes, isDestinationType } from '../../destinations/registry.js';
import { BadRequestError, NotFoundError } from '../../errors.js';
import type { DestinationRecord } from '../../sync/sync-types.js';
import { MASKED, SyncService } from '../../sync/sync-service.js';
import type { FieldSpec } from '../field-coercion.js';
import type { RequestContext, RouteDef, RouteResult } from '../router.js';

/** Every connection field of every type, so coercion knows them; fields of other types are ignored with a warning. */
const CONNECTION_FIELDS: Record<string, FieldSpec> = Object.fromEntries(
  Object.values(destinationTypes).flatMap((spec) => Object.entries(spec.connectionFields).map(([k, f]) => [k, f.spec])),
);


/** The read view: credentials masked ("" when never set), other connection fields as stored. */
export function destinationView(d: DestinationRecord): Record<string, unknown> {
  const spec = destinationTypes[d.type];
  const conn: Record<string, unknown> = {};
  for (const [f, fs] of Object.entries(spec.connectionFields)) {
    const v = d.connection[f];
    if (fs.credential) conn[f] = v === undefined || v === '' ? '' : MASKED;
    else if (v !== undefined && v !== '') conn[f] = v;
  }
  const o = d.options;
  return {
    connection_details: conn,
    name: d.name,
    options: {
      custom_tags: o.customTags,
      granularity_level: o.granularity,
      secret_name_template: o.secretNameTemplate,
      allowed_ipv4_addresses: o.allowedIpv4Addresses,
      allowed_ipv6_addresses: o.allowedIpv6Addresses,
      allowed_ports: o.allowedPorts,
      disable_strict_networking: o.disableStrictNetworking,
    },
    type: d.type,
    ...(d.purgeInitiatedAt ? { purge_initiated_at: d.purgeInitiatedAt } : {}),
    ...(d.purgeError ? { purge_error: d.purgeError } : {}),
  };
}

function optionsFrom(data: Record<string, unknown>): Partial<DestinationOptions> {
  return {
    granularity: data.granularity as DestinationOptions['granularity'] | undefined,
    secretNameTemplate: data.secret_name_template as string | undefined,
    customTags: data.custom_tags as Record<string, string> | undefined,
    allowedIpv4Addresses: data.allowed_ipv4_addresses as string[] | undefined,
    allowedIpv6Addresses: data.allowed_ipv6_addresses as string[] | undefined,
    allowedPorts: data.allowed_ports as number[] | undefined,
    disableStrictNetworking: data.disable_strict_networking as boolean | undefined,
  };
}

export function syncRoutes(svc: () => SyncService): RouteDef[] {
  const writeDest = async (ctx: RequestContext): Promise<RouteResult> => {
    const { type, name } = ctx.params as { type: string; name: string };
    if (!isDestinationType(type)) throw new BadRequestError(`unsupported destination type ${type}`);
    const spec = destinationTypes[type];
    const conn: Record<string, unknown> = {};
    const ignored: string[] = [];
    for (const [k, v] of Object.entries(ctx.data)) {
      if (k in spec.connectionFields) conn[k] = v;
      else if (!(k in DESTINATION_OPTION_FIELDS)) ignored.push(k);
    }
    const rec = await svc().writeDestination(type, name, conn, optionsFrom(ctx.data));
    return {
      data: destinationView(rec),
      warnings: ignored.length ? [`Endpoint ignored these unrecognized parameters: [${ignored.join(' ')}]`] : undefined,
    };
  };
  const assocBody = (ctx: RequestContext) => {
    const mount = ctx.data.mount as string | undefined;
    const secret = ctx.data.secret_name as string | undefined;
    if (!mount) throw new BadRequestError('mount: required');
    if (!secret) throw new BadRequestError('secret_name: required');
    // A control character would collide with the by-secret index separator (\u0001) and mark other associations dirty.
    if (/\p{Cc}/u.test(mount) || /\p{Cc}/u.test(secret)) throw new BadRequestError('secret_name: invalid secret path: control character');
    return { mount: mount.replace(/^\/+|\/+$/g, ''), secret };
  };
  const assocAnswer = (ctx: RequestContext, entries: Record<string, unknown>): RouteResult => ({
    data: { associated_secrets: entries, store_name: ctx.params.name, store_type: ctx.params.type },
  });
  return [
    {
      pattern: 'sys/sync/config',
      fields: { disabled: { type: 'bool' }, queue_capacity: { type: 'int' } },
      handlers: {
        read: async () => ({ data: svc().getConfig() }),
        patch: async (ctx) => ({ data: await svc().setConfig(ctx.data as { disabled?: boolean; queue_capacity?: number }) }),
        write: async (ctx) => ({ data: await svc().setConfig(ctx.data as { disabled?: boolean; queue_capacity?: number }) }),
        delete: async () => {
          await svc().setConfig(null);
          return undefined;
        },
      },
    },
    {
      // ours, not Vault's: a reconcile pass on demand (operators, benchmarks)
      pattern: 'sys/sync/reconcile',
      capability: { write: ['sudo'] },
      handlers: { write: async () => ({ data: { marked: await svc().reconcile() } }) },
    },
    {
      pattern: 'sys/activation-flags',
      handlers: { read: async () => ({ data: { activated: ['secrets-sync'], unactivated: [] } }) },
    },
    {
      pattern: 'sys/activation-flags/secrets-sync/activate',
      handlers: { write: async () => ({ data: { activated: ['secrets-sync'], unactivated: [] } }) },
    },
    {
      pattern: 'sys/sync/destinations',
      handlers: {
        list: async () => {
          const all = await svc().listDestinations();
          const info: Record<string, string[]> = {};
          for (const d of all) (info[`${d.type}/`] ??= []).push(d.name);
          if (all.length === 0) throw new NotFoundError();
          return { data: { key_info: info, keys: Object.keys(info).sort(), total_destinations: all.length } };
        },
      },
    },
    {
      pattern: 'sys/sync/destinations/:type',
      handlers: {
        list: async (ctx) => {
          const all = await svc().listDestinations(ctx.params.type);
          if (all.length === 0) throw new NotFoundError();
          return { data: { keys: all.map((d) => d.name), total_destinations: all.length } };
        },
      },
    },
    {
      pattern: 'sys/sync/destinations/:type/:name',
      fields: { ...CONNECTION_FIELDS, ...DESTINATION_OPTION_FIELDS, purge: { type: 'bool' }, force_delete: { type: 'bool' } },
      exists: async (ctx) => (await svc().readDestination(ctx.params.type!, ctx.params.name!)) !== undefined,
      handlers: {
        read: async (ctx) => {
          const d = await svc().readDestination(ctx.params.type!, ctx.params.name!);
          if (!d) throw new NotFoundError();
          return { data: destinationView(d) };
        },
        write: writeDest,
        patch: async (ctx) => {
          // the type first: PATCH of an unsupported type is a 400 like PUT/POST, not a 404
          SyncService.checkType(ctx.params.type!);
          if (!(await svc().readDestination(ctx.params.type!, ctx.params.name!))) throw new NotFoundError();
          return writeDest(ctx);
        },
        delete: async (ctx) => {
          await svc().deleteDestination(ctx.params.type!, ctx.params.name!, ctx.data.purge === true, ctx.data.force_delete === true);
          return undefined;
        },
      },
    },
    {
      pattern: 'sys/sync/destinations/:type/:name/associations',
      handlers: {
        read: async (ctx) => assocAnswer(ctx, await svc().destinationAssociations(ctx.params.type!, ctx.params.name!)),
      },
    },
    {
      pattern: 'sys/sync/destinations/:type/:name/associations/set',
      fields: { mount: { type: 'string' }, secret_name: { type: 'string' } },
      capability: { write: ['update', 'create'] },
      handlers: {
        write: async (ctx) => {
          const b = assocBody(ctx);
          return assocAnswer(ctx, await svc().setAssociation(ctx.params.type!, ctx.params.name!, b.mount, b.secret, ctx.acl!));
        },
      },
    },
    {
      pattern: 'sys/sync/destinations/:type/:name/associations/remove',
      fields: { mount: { type: 'string' }, secret_name: { type: 'string' } },
      capability: { write: ['update', 'create'] },
      handlers: {
        write: async (ctx) => {
          const b = assocBody(ctx);
          return assocAnswer(ctx, await svc().removeAssociation(ctx.params.type!, ctx.params.name!, b.mount, b.secret));
        },
      },
    },
    {
      pattern: 'sys/sync/associations',
      handlers: {
        list: async () => {
          const r = await svc().allAssociations();
          if (r.keys.length === 0) throw new NotFoundError();
          return { data: r };
        },
      },
    },
    {
      pattern: 'sys/sync/associations/destinations',
      fields: { mount: { type: 'string' }, secret_name: { type: 'string' } },
      handlers: {
        read: async (ctx) => {
          const b = assocBody(ctx);
          return { data: { associated_destinations: await svc().secretDestinations(b.mount, b.secret) } };
        },
      },
    },
    {
      pattern: 'sys/sync/associations/:mount/:secret+',
      handlers: {
        read: async (ctx) => ({ data: { associated_destinations: await svc().secretDestinations(ctx.params.mount!, ctx.params.secret!) } }),
      },
    },
  ];
}
