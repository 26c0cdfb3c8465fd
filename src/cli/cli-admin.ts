/** `secrets`, `policy` and `token` subcommands. */
import { readFile } from 'node:fs/promises';
import {
  type FlagSpec,
  HTTP_FLAGS,
  UsageError,
  flagBool,
  flagList,
  flagMap,
  flagNumber,
  flagString,
  goDurationString,
  sanitizePath,
} from './cli-args.js';
import { type Ctx, errText, expectArgs } from './cli-context.js';
import { type Secret, goCompare, goJson, goValue, tableOutput } from './cli-format.js';
import { ApiResponseError } from './cli-http.js';
import { readStdin } from './cli-io.js';

export const ADMIN_FLAGS: Record<string, FlagSpec[]> = {
  'secrets enable': [
    ...HTTP_FLAGS,
    { name: 'path', type: 'string' },
    { name: 'description', type: 'string' },
    { name: 'version', type: 'int' },
    { name: 'options', type: 'map' },
    { name: 'local', type: 'bool' },
    { name: 'seal-wrap', type: 'bool' },
    { name: 'default-lease-ttl', type: 'duration' },
    { name: 'max-lease-ttl', type: 'duration' },
  ],
  'secrets disable': HTTP_FLAGS,
  'secrets list': [...HTTP_FLAGS, { name: 'detailed', type: 'bool' }],
  'secrets tune': [
    ...HTTP_FLAGS,
    { name: 'description', type: 'string' },
    { name: 'options', type: 'map' },
    { name: 'version', type: 'int' },
    { name: 'default-lease-ttl', type: 'duration' },
    { name: 'max-lease-ttl', type: 'duration' },
  ],
  'policy write': HTTP_FLAGS,
  'policy read': HTTP_FLAGS,
  'policy list': HTTP_FLAGS,
  'policy delete': HTTP_FLAGS,
  'token create': [
    ...HTTP_FLAGS,
    { name: 'id', type: 'string' },
    { name: 'display-name', type: 'string' },
    { name: 'ttl', type: 'duration' },
    { name: 'explicit-max-ttl', type: 'duration' },
    { name: 'period', type: 'duration' },
    { name: 'renewable', type: 'bool' },
    { name: 'orphan', type: 'bool' },
    { name: 'no-default-policy', type: 'bool' },
    { name: 'use-limit', type: 'int' },
    { name: 'policy', type: 'strings' },
    { name: 'metadata', type: 'map' },
    { name: 'type', type: 'string' },
  ],
  'token lookup': [...HTTP_FLAGS, { name: 'accessor', type: 'bool' }],
  'token revoke': [
    ...HTTP_FLAGS,
    { name: 'accessor', type: 'bool' },
    { name: 'self', type: 'bool' },
    { name: 'mode', type: 'string' },
  ],
};

// ---- secrets ----

export async function secretsEnable(ctx: Ctx): Promise<number> {
  expectArgs(ctx, 1, 1, '1');
  const engineType = ctx.args[0]!.trim();
  let mountPath = flagString(ctx.parsed, 'path') || engineType;
  mountPath = sanitizePath(mountPath) + '/';
  const options: Record<string, string> = { ...(flagMap(ctx.parsed, 'options') ?? {}) };
  const version = flagNumber(ctx.parsed, 'version');
  if (version !== undefined && version > 0) options['version'] = String(version);
  const config: Record<string, unknown> = {};
  const dlt = flagNumber(ctx.parsed, 'default-lease-ttl');
  if (dlt !== undefined) config['default_lease_ttl'] = goDurationString(dlt);
  const mlt = flagNumber(ctx.parsed, 'max-lease-ttl');
  if (mlt !== undefined) config['max_lease_ttl'] = goDurationString(mlt);
  const body = {
    type: engineType,
    description: flagString(ctx.parsed, 'description') ?? '',
    config,
    local: flagBool(ctx.parsed, 'local') ?? false,
    seal_wrap: flagBool(ctx.parsed, 'seal-wrap') ?? false,
    options: Object.keys(options).length > 0 ? options : null,
  };
  try {
    await ctx.client().send('PUT', `sys/mounts/${mountPath}`, { body });
  } catch (e) {
    ctx.ui.error(`Error enabling: ${errText(e)}`);
    return 2;
  }
  ctx.ui.output(`Success! Enabled the ${engineType} secrets engine at: ${mountPath}`);
  return 0;
}

export async function secretsDisable(ctx: Ctx): Promise<number> {
  expectArgs(ctx, 1, 1, '1');
  const path = sanitizePath(ctx.args[0]!) + '/';
  try {
    await ctx.client().delete(`sys/mounts/${path}`);
  } catch (e) {
    ctx.ui.error(`Error disabling secrets engine at ${path}: ${errText(e)}`);
    return 2;
  }
  ctx.ui.output(`Success! Disabled the secrets engine (if it existed) at: ${path}`);
  return 0;
}

type Mount = Record<string, unknown>;

export async function secretsList(ctx: Ctx): Promise<number> {
  expectArgs(ctx, 0, 0, '0');
  let secret: Secret | null;
  try {
    secret = await ctx.client().read('sys/mounts');
  } catch (e) {
    ctx.ui.error(`Error listing secrets engines: ${errText(e)}`);
    return 2;
  }
  const mounts: Record<string, Mount> = {};
  for (const [k, v] of Object.entries(secret?.data ?? {})) {
    if (k.endsWith('/') && v && typeof v === 'object' && !Array.isArray(v)) mounts[k] = v as Mount;
  }
  if (ctx.format === 'json') {
    ctx.ui.output(goJson(mounts));
    return 0;
  }
  const paths = Object.keys(mounts).sort(goCompare);
  const str = (v: unknown) => (v === undefined || v === null ? '' : goValue(v));
  if (flagBool(ctx.parsed, 'detailed')) {
    const rows = ['Path | Plugin | Accessor | Default TTL | Max TTL | Force No Cache | Replication | Seal Wrap | External Entropy Access | Options | Description | UUID | Version | Running Version | Running SHA256 | Deprecation Status'];
    for (const p of paths) {
      const m = mounts[p]!;
      const cfg = (m['config'] as Record<string, unknown> | undefined) ?? {};
      const ttl = (v: unknown) => (m['type'] === 'system' || m['type'] === 'cubbyhole' ? '' : v ? String(v) : 'system');
      rows.push(
        [
          p,
          str(m['type']),
          str(m['accessor']),
          ttl(cfg['default_lease_ttl']),
          ttl(cfg['max_lease_ttl']),
          str(cfg['force_no_cache'] ?? false),
          m['local'] ? 'local' : 'replicated',
          str(m['seal_wrap'] ?? false),
          str(m['external_entropy_access'] ?? false),
          goValue(m['options'] ?? {}),
          str(m['description']),
          str(m['uuid']),
          str(m['plugin_version']),
          str(m['running_plugin_version']),
          str(m['running_sha256']),
          str(m['deprecation_status']),
        ].join(' | '),
      );
    }
    ctx.ui.output(tableOutput(rows));
    return 0;
  }
  const rows = ['Path | Type | Accessor | Description'];
  for (const p of paths) {
    const m = mounts[p]!;
    rows.push(`${p} | ${str(m['type'])} | ${str(m['accessor'])} | ${str(m['description'])}`);
  }
  ctx.ui.output(tableOutput(rows));
  return 0;
}

export async function secretsTune(ctx: Ctx): Promise<number> {
  expectArgs(ctx, 1, 1, '1');
  const path = sanitizePath(ctx.args[0]!) + '/';
  const body: Record<string, unknown> = {};
  const description = flagString(ctx.parsed, 'description');
  if (description !== undefined) body['description'] = description;
  const options: Record<string, string> = { ...(flagMap(ctx.parsed, 'options') ?? {}) };
  const version = flagNumber(ctx.parsed, 'version');
  if (version !== undefined && version > 0) options['version'] = String(version);
  if (Object.keys(options).length > 0) body['options'] = options;
  const dlt = flagNumber(ctx.parsed, 'default-lease-ttl');
  if (dlt !== undefined) body['default_lease_ttl'] = goDurationString(dlt);
  const mlt = flagNumber(ctx.parsed, 'max-lease-ttl');
  if (mlt !== undefined) body['max_lease_ttl'] = goDurationString(mlt);
  try {
    await ctx.client().send('POST', `sys/mounts/${path}tune`, { body });
  } catch (e) {
    ctx.ui.error(`Error tuning secrets engine ${path}: ${errText(e)}`);
    return 2;
  }
  ctx.ui.output(`Success! Tuned the secrets engine at: ${path}`);
  return 0;
}

// ---- policy ----

export async function policyWrite(ctx: Ctx): Promise<number> {
  expectArgs(ctx, 2, 2, '2');
  const name = ctx.args[0]!.trim().toLowerCase();
  const src = ctx.args[1]!.trim();
  let rules: string;
  if (src === '-') {
    rules = await readStdin(ctx.io);
  } else {
    try {
      rules = await readFile(src, 'utf8');
    } catch (e) {
      const code = (e as { code?: string }).code;
      ctx.ui.error(`Error opening policy file: ${code === 'ENOENT' ? `open ${src}: no such file or directory` : errText(e)}`);
      return 2;
    }
  }
  try {
    await ctx.client().write(`sys/policies/acl/${name}`, { policy: rules });
  } catch (e) {
    ctx.ui.error(`Error uploading policy: ${errText(e)}`);
    return 2;
  }
  ctx.ui.output(`Success! Uploaded policy: ${name}`);
  return 0;
}

export async function policyRead(ctx: Ctx): Promise<number> {
  expectArgs(ctx, 1, 1, '1');
  const name = ctx.args[0]!.trim().toLowerCase();
  let rules = '';
  try {
    const secret = await ctx.client().read(`sys/policies/acl/${name}`);
    const p = secret?.data?.['policy'] ?? secret?.data?.['rules'];
    rules = typeof p === 'string' ? p : '';
  } catch (e) {
    ctx.ui.error(`Error reading policy named ${name}: ${errText(e)}`);
    return 2;
  }
  if (rules === '') {
    ctx.ui.error(`No policy named: ${name}`);
    return 2;
  }
  if (ctx.format === 'table') ctx.ui.output(rules.trim());
  else ctx.ui.output(goJson({ policy: rules }));
  return 0;
}

export async function policyList(ctx: Ctx): Promise<number> {
  expectArgs(ctx, 0, 0, '0');
  let names: string[] = [];
  try {
    let secret: Secret | null = null;
    try {
      secret = await ctx.client().list('sys/policies/acl');
    } catch (e) {
      // Servers that only have the older sys/policy listing answer 404/405 here.
      if (!(e instanceof ApiResponseError) || (e.statusCode !== 404 && e.statusCode !== 405)) throw e;
    }
    if (!secret) secret = await ctx.client().read('sys/policy');
    const keys = secret?.data?.['keys'] ?? secret?.data?.['policies'];
    names = Array.isArray(keys) ? keys.map(String) : [];
  } catch (e) {
    ctx.ui.error(`Error listing policies: ${errText(e)}`);
    return 2;
  }
  if (ctx.format === 'json') ctx.ui.output(goJson(names));
  else for (const n of names) ctx.ui.output(n);
  return 0;
}

export async function policyDelete(ctx: Ctx): Promise<number> {
  expectArgs(ctx, 1, 1, '1');
  const name = ctx.args[0]!.trim().toLowerCase();
  try {
    await ctx.client().delete(`sys/policies/acl/${name}`);
  } catch (e) {
    ctx.ui.error(`Error deleting ${name}: ${errText(e)}`);
    return 2;
  }
  ctx.ui.output(`Success! Deleted policy: ${name}`);
  return 0;
}

// ---- token ----

export async function tokenCreate(ctx: Ctx): Promise<number> {
  expectArgs(ctx, 0, 0, '0');
  const p = ctx.parsed;
  const body: Record<string, unknown> = {};
  const id = flagString(p, 'id');
  if (id) body['id'] = id;
  const policies = flagList(p, 'policy');
  if (policies && policies.length > 0) body['policies'] = policies;
  const meta = flagMap(p, 'metadata');
  if (meta) body['meta'] = meta;
  const ttl = flagNumber(p, 'ttl');
  if (ttl !== undefined) body['ttl'] = goDurationString(ttl);
  const emt = flagNumber(p, 'explicit-max-ttl');
  if (emt !== undefined) body['explicit_max_ttl'] = goDurationString(emt);
  const period = flagNumber(p, 'period');
  if (period !== undefined) body['period'] = goDurationString(period);
  if (flagBool(p, 'orphan')) body['no_parent'] = true;
  if (flagBool(p, 'no-default-policy')) body['no_default_policy'] = true;
  const displayName = flagString(p, 'display-name');
  if (displayName) body['display_name'] = displayName;
  const useLimit = flagNumber(p, 'use-limit');
  if (useLimit) body['num_uses'] = useLimit;
  body['renewable'] = flagBool(p, 'renewable') ?? true;
  const type = flagString(p, 'type');
  if (type) body['type'] = type;
  let secret: Secret | null;
  try {
    secret = await ctx.client().send('POST', 'auth/token/create', { body });
  } catch (e) {
    ctx.ui.error(`Error creating token: ${errText(e)}`);
    return 2;
  }
  if (!secret) return 0;
  return ctx.outputSecretOrField(secret);
}

export async function tokenLookup(ctx: Ctx): Promise<number> {
  expectArgs(ctx, 0, 1, '0-1');
  const arg = ctx.args[0]?.trim() ?? '';
  const accessor = flagBool(ctx.parsed, 'accessor') ?? false;
  if (accessor && arg === '') throw new UsageError('Not enough arguments with -accessor (expected 1, got 0)');
  let secret: Secret | null;
  try {
    const c = ctx.client();
    if (accessor) secret = await c.send('POST', 'auth/token/lookup-accessor', { body: { accessor: arg } });
    else if (arg !== '') secret = await c.send('POST', 'auth/token/lookup', { body: { token: arg } });
    else secret = await c.read('auth/token/lookup-self');
  } catch (e) {
    ctx.ui.error(`Error looking up token: ${errText(e)}`);
    return 2;
  }
  if (!secret) return 0;
  return ctx.outputSecretOrField(secret);
}

export async function tokenRevoke(ctx: Ctx): Promise<number> {
  const self = flagBool(ctx.parsed, 'self') ?? false;
  const accessor = flagBool(ctx.parsed, 'accessor') ?? false;
  const mode = flagString(ctx.parsed, 'mode') ?? '';
  if (self) {
    if (accessor) throw new UsageError('Cannot use -self with -accessor!');
    expectArgs(ctx, 0, 0, '0');
  } else {
    expectArgs(ctx, 1, 1, '1');
  }
  if (accessor && mode === 'orphan') throw new UsageError('Cannot use -accessor with -mode=orphan!');
  const arg = ctx.args[0]?.trim() ?? '';
  try {
    const c = ctx.client();
    if (self) await c.send('PUT', 'auth/token/revoke-self', { body: {} });
    else if (accessor) await c.send('POST', 'auth/token/revoke-accessor', { body: { accessor: arg } });
    else if (mode === 'orphan') await c.send('PUT', 'auth/token/revoke-orphan', { body: { token: arg } });
    else await c.send('PUT', 'auth/token/revoke', { body: { token: arg } });
  } catch (e) {
    ctx.ui.error(`Error revoking token: ${errText(e)}`);
    return 2;
  }
  ctx.ui.output('Success! Revoked token (if it existed)');
  return 0;
}
