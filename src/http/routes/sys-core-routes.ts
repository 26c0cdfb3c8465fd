/** sys/health, sys/seal-status, sys/init, sys/mounts and the CLI preflight sys/internal/ui/mounts. */
import { BadRequestError, NotFoundError, PermissionDeniedError } from '../../errors.js';
import type { MountEntry } from '../../kv/kv-types.js';
import type { MountTable } from '../../kv/mount-table.js';
import { VERSION } from '../../version.js';
import { isPlainObject, toInt, toStringField } from '../field-coercion.js';
import type { RequestContext, RouteDef } from '../router.js';

export interface SysCoreDeps {
  initialized(): boolean;
  initialize(): Promise<{ rootToken: string }>;
  sealType: string;
  storageType: string;
  /** throws 503 when not initialised */
  mounts(): MountTable;
  clusterName: string;
  clusterId: string;
}

/** Vault's public view of a mount. */
export function mountView(m: MountEntry): Record<string, unknown> {
  return {
    accessor: m.accessor,
    config: { default_lease_ttl: m.config.default_lease_ttl, force_no_cache: m.config.force_no_cache, max_lease_ttl: m.config.max_lease_ttl },
    deprecation_status: 'supported',
    description: m.description,
    external_entropy_access: false,
    local: m.local,
    options: m.options,
    plugin_version: '',
    running_plugin_version: '',
    running_sha256: '',
    seal_wrap: m.sealWrap,
    type: m.type,
    uuid: m.uuid,
  };
}

function statusCode(q: Record<string, string>, name: string, dflt: number): number {
  const v = q[name];
  if (v === undefined) return dflt;
  const n = Number(v);
  return Number.isInteger(n) && n >= 100 && n <= 599 ? n : dflt;
}

export function sysCoreRoutes(deps: SysCoreDeps): RouteDef[] {
  const mountOptions = (v: unknown): Record<string, string> | null => {
    if (v === undefined || v === null) return null;
    if (!isPlainObject(v)) throw new BadRequestError('Field validation failed: error converting input for field "options": expected a map');
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toStringField(`options.${k}`, x)]));
  };
  const mountConfig = (v: unknown) => {
    if (v === undefined || v === null) return {};
    if (!isPlainObject(v)) throw new BadRequestError('Field validation failed: error converting input for field "config": expected a map');
    const out: { default_lease_ttl?: number; max_lease_ttl?: number; force_no_cache?: boolean } = {};
    if (v.default_lease_ttl !== undefined) out.default_lease_ttl = toInt('config.default_lease_ttl', v.default_lease_ttl === '' ? 0 : v.default_lease_ttl);
    if (v.max_lease_ttl !== undefined) out.max_lease_ttl = toInt('config.max_lease_ttl', v.max_lease_ttl === '' ? 0 : v.max_lease_ttl);
    return out;
  };
  return [
    {
      pattern: 'sys/health',
      unauthenticated: true,
      allowUninitialised: true,
      handlers: {
        read: async (ctx) => {
          const init = deps.initialized();
          const body = {
            initialized: init,
            sealed: false,
            standby: false,
            performance_standby: false,
            replication_performance_mode: 'disabled',
            replication_dr_mode: 'disabled',
            server_time_utc: Math.floor(Date.now() / 1000),
            version: VERSION,
            enterprise: false,
            cluster_name: deps.clusterName,
            cluster_id: deps.clusterId,
          };
          return { status: init ? statusCode(ctx.query, 'activecode', 200) : statusCode(ctx.query, 'uninitcode', 501), rawBody: body };
        },
      },
    },
    {
      pattern: 'sys/seal-status',
      unauthenticated: true,
      allowUninitialised: true,
      handlers: {
        read: async () => ({
          rawBody: {
            type: deps.sealType,
            initialized: deps.initialized(),
            sealed: false,
            t: 1,
            n: 1,
            progress: 0,
            nonce: '',
            version: VERSION,
            build_date: '',
            migration: false,
            cluster_name: deps.clusterName,
            cluster_id: deps.clusterId,
            recovery_seal: false,
            storage_type: deps.storageType,
          },
        }),
      },
    },
    {
      pattern: 'sys/init',
      unauthenticated: true,
      allowUninitialised: true,
      handlers: {
        read: async () => ({ rawBody: { initialized: deps.initialized() } }),
        write: async () => {
          if (deps.initialized()) throw new BadRequestError('Vault is already initialized');
          const { rootToken } = await deps.initialize();
          return { rawBody: { keys: [], keys_base64: [], recovery_keys: [], recovery_keys_base64: [], root_token: rootToken } };
        },
      },
    },
    {
      pattern: 'sys/mounts',
      handlers: {
        read: async () => ({
          data: Object.fromEntries(deps.mounts().list().map((m) => [m.path, mountView(m)])),
          hoistData: true,
        }),
      },
    },
    {
      pattern: 'sys/mounts/:path+/tune',
      fields: { description: { type: 'string' }, options: { type: 'map' }, default_lease_ttl: { type: 'any' }, max_lease_ttl: { type: 'any' } },
      handlers: {
        read: async (ctx) => {
          const m = deps.mounts().get(ctx.params.path!);
          if (!m) throw new BadRequestError(`cannot fetch sysview for path "${ctx.params.path}/"`);
          const v = mountView(m);
          return { data: { ...(v.config as object), description: m.description, options: m.options }, hoistData: true };
        },
        write: async (ctx) => {
          const config = mountConfig({ default_lease_ttl: ctx.data.default_lease_ttl, max_lease_ttl: ctx.data.max_lease_ttl });
          await deps.mounts().tune(ctx.params.path!, {
            description: ctx.data.description as string | undefined,
            options: mountOptions(ctx.data.options) ?? undefined,
            config,
          });
          return undefined;
        },
      },
    },
    {
      pattern: 'sys/mounts/:path+',
      fields: {
        type: { type: 'string' },
        description: { type: 'string' },
        options: { type: 'any' },
        config: { type: 'any' },
        local: { type: 'bool' },
        seal_wrap: { type: 'bool' },
        external_entropy_access: { type: 'bool' },
        plugin_name: { type: 'string' },
        plugin_version: { type: 'string' },
      },
      handlers: {
        read: async (ctx) => {
          const m = deps.mounts().get(ctx.params.path!);
          if (!m) throw new BadRequestError(`No secret engine mount at ${ctx.params.path}/`);
          return { data: mountView(m), hoistData: true };
        },
        write: async (ctx) => {
          await deps.mounts().enable(ctx.params.path!, {
            type: (ctx.data.type as string | undefined) ?? (ctx.data.plugin_name as string | undefined) ?? '',
            description: ctx.data.description as string | undefined,
            options: mountOptions(ctx.data.options),
            config: mountConfig(ctx.data.config),
            local: ctx.data.local as boolean | undefined,
            sealWrap: ctx.data.seal_wrap as boolean | undefined,
          });
          return undefined;
        },
        delete: async (ctx) => {
          await deps.mounts().disable(ctx.params.path!);
          return undefined;
        },
      },
    },
    {
      pattern: 'sys/internal/ui/mounts/:path+',
      authorize: async (ctx: RequestContext) => {
        const r = deps.mounts().resolve(ctx.params.path!);
        // Vault answers 403 rather than revealing whether a mount exists.
        if (!r || !ctx.acl!.allowsAnyUnder(r.mount.path)) throw new PermissionDeniedError();
      },
      handlers: {
        read: async (ctx) => {
          const r = deps.mounts().resolve(ctx.params.path!);
          if (!r) throw new NotFoundError();
          return { data: { ...mountView(r.mount), path: r.mount.path } };
        },
      },
    },
  ];
}
