/** KV-v2 (and KV-v1) routes, relative to the mount path. */
import { BadRequestError, NotFoundError } from '../../errors.js';
import { type KvEngine, subkeys } from '../../kv/kv-engine.js';
import type { KvV1Engine } from '../../kv/kv-v1.js';
import type { KeyMeta, MountEntry } from '../../kv/kv-types.js';
import { formatDuration, isPlainObject, toInt } from '../field-coercion.js';
import type { RequestContext, RouteDef, RouteResult } from '../router.js';

const mountOf = (ctx: RequestContext): MountEntry => ctx.mount!;

/**
 * The key path of a request. The router drops trailing slashes when matching,
 * so `data/foo/` would otherwise act on `foo`; keeping the slash lets the
 * engine refuse it as an invalid path. Lists keep their implied slash.
 */
const keyOf = (ctx: RequestContext): string => (ctx.op !== 'list' && ctx.path.endsWith('/') ? `${ctx.params.path ?? ''}/` : ctx.params.path!);
const ok = (data: unknown): RouteResult => ({ data, mountType: 'kv' });

function casOption(options: unknown): number | undefined {
  if (options === undefined || options === null) return undefined;
  if (!isPlainObject(options)) throw new BadRequestError('Field validation failed: error converting input for field "options": expected a map');
  if (options.cas === undefined || options.cas === null) return undefined;
  return toInt('options.cas', options.cas, true);
}

function metadataView(meta: KeyMeta): Record<string, unknown> {
  return {
    cas_required: meta.cas_required,
    created_time: meta.created_time,
    current_version: meta.current_version,
    custom_metadata: meta.custom_metadata,
    delete_version_after: formatDuration(meta.delete_version_after),
    max_versions: meta.max_versions,
    oldest_version: meta.oldest_version,
    updated_time: meta.updated_time,
    versions: meta.versions,
  };
}

export function kvV2Routes(kv: KvEngine): RouteDef[] {
  const existsData = async (ctx: RequestContext) => kv.exists(mountOf(ctx), ctx.params.path!);
  return [
    {
      pattern: 'config',
      fields: { max_versions: { type: 'int', unsigned: true }, cas_required: { type: 'bool' }, delete_version_after: { type: 'duration' } },
      handlers: {
        read: async (ctx) => {
          const c = await kv.readConfig(mountOf(ctx));
          return ok({ cas_required: c.cas_required, delete_version_after: formatDuration(c.delete_version_after), max_versions: c.max_versions });
        },
        write: async (ctx) => {
          const d = ctx.data as { max_versions?: number; cas_required?: boolean; delete_version_after?: number };
          await kv.writeConfig(mountOf(ctx), d);
          return undefined;
        },
      },
    },
    {
      pattern: 'data/:path+',
      fields: { data: { type: 'map' }, options: { type: 'map' }, version: { type: 'int', unsigned: true } },
      exists: existsData,
      handlers: {
        read: async (ctx) => {
          const r = await kv.read(mountOf(ctx), keyOf(ctx), (ctx.data.version as number | undefined) ?? 0);
          // A deleted or destroyed version is a 404 whose body is the full envelope.
          return { status: r.data === null ? 404 : 200, data: { data: r.data, metadata: r.metadata }, mountType: 'kv' };
        },
        write: async (ctx) => {
          const data = ctx.data.data;
          if (data === undefined || !isPlainObject(data)) throw new BadRequestError('no data provided');
          return ok(await kv.write(mountOf(ctx), keyOf(ctx), data, casOption(ctx.data.options)));
        },
        patch: async (ctx) => {
          const data = ctx.data.data;
          if (data === undefined || !isPlainObject(data)) throw new BadRequestError('no data provided');
          return ok(await kv.patch(mountOf(ctx), keyOf(ctx), data, casOption(ctx.data.options)));
        },
        delete: async (ctx) => {
          await kv.deleteLatest(mountOf(ctx), keyOf(ctx));
          return undefined;
        },
      },
    },
    ...(['delete', 'undelete', 'destroy'] as const).map(
      (op): RouteDef => ({
        pattern: `${op}/:path+`,
        fields: { versions: { type: 'comma-int-slice' } },
        capability: { write: ['update'] },
        handlers: {
          write: async (ctx) => {
            await kv.versionsOp(mountOf(ctx), keyOf(ctx), op, (ctx.data.versions as number[] | undefined) ?? []);
            return undefined;
          },
        },
      }),
    ),
    {
      pattern: 'metadata/:path*',
      fields: {
        max_versions: { type: 'int', unsigned: true },
        cas_required: { type: 'bool' },
        delete_version_after: { type: 'duration' },
        custom_metadata: { type: 'any' },
      },
      exists: existsData,
      handlers: {
        read: async (ctx) => ok(metadataView(await kv.readMetadata(mountOf(ctx), keyOf(ctx)))),
        list: async (ctx) => {
          const keys = await kv.list(mountOf(ctx), ctx.params.path!);
          if (keys.length === 0) throw new NotFoundError();
          return ok({ keys });
        },
        write: async (ctx) => {
          await kv.writeMetadata(mountOf(ctx), keyOf(ctx), metadataInput(ctx), 'write');
          return undefined;
        },
        patch: async (ctx) => {
          await kv.writeMetadata(mountOf(ctx), keyOf(ctx), metadataInput(ctx), 'patch');
          return undefined;
        },
        delete: async (ctx) => {
          await kv.deleteMetadata(mountOf(ctx), keyOf(ctx));
          return undefined;
        },
      },
    },
    {
      pattern: 'subkeys/:path+',
      fields: { version: { type: 'int', unsigned: true }, depth: { type: 'int', unsigned: true } },
      handlers: {
        read: async (ctx) => {
          const r = await kv.read(mountOf(ctx), keyOf(ctx), (ctx.data.version as number | undefined) ?? 0);
          if (r.data === null) return { status: 404, data: { subkeys: null, metadata: r.metadata }, mountType: 'kv' };
          return ok({ subkeys: subkeys(r.data, (ctx.data.depth as number | undefined) ?? 0), metadata: r.metadata });
        },
      },
    },
  ];
}

function metadataInput(ctx: RequestContext) {
  const cm = ctx.data.custom_metadata;
  if (cm !== undefined && cm !== null && !isPlainObject(cm)) {
    throw new BadRequestError('Field validation failed: error converting input for field "custom_metadata": expected a map');
  }
  return {
    max_versions: ctx.data.max_versions as number | undefined,
    cas_required: ctx.data.cas_required as boolean | undefined,
    delete_version_after: ctx.data.delete_version_after as number | undefined,
    custom_metadata: cm as Record<string, unknown> | null | undefined,
  };
}

export function kvV1Routes(kv: KvV1Engine): RouteDef[] {
  return [
    {
      pattern: ':path*',
      exists: async (ctx) => kv.exists(mountOf(ctx), ctx.params.path!),
      handlers: {
        read: async (ctx) => {
          const d = await kv.read(mountOf(ctx), ctx.params.path!);
          if (!d) throw new NotFoundError();
          return ok(d);
        },
        list: async (ctx) => {
          const keys = await kv.list(mountOf(ctx), ctx.params.path!);
          if (keys.length === 0) throw new NotFoundError();
          return ok({ keys });
        },
        write: async (ctx) => {
          if (Object.keys(ctx.raw).length === 0) throw new BadRequestError('missing data fields');
          await kv.write(mountOf(ctx), ctx.params.path!, ctx.raw);
          return undefined;
        },
        delete: async (ctx) => {
          await kv.delete(mountOf(ctx), ctx.params.path!);
          return undefined;
        },
      },
    },
  ];
}
