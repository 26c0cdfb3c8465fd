/**
 * `kv` subcommands. Like Vault's CLI they first ask the server which mount a
 * path belongs to (`GET sys/internal/ui/mounts/<path>`) to learn whether it
 * is KV v2, then rewrite `M/K` into `M/data/K`, `M/metadata/K`, ...
 */
import { type FlagSpec, HTTP_FLAGS, UsageError, flagList, flagNumber, flagString, joinPath, sanitizePath } from './cli-args.js';
import { type Ctx, errText } from './cli-context.js';
import { parseArgsData } from './cli-data.js';
import { type Secret, goJson, headerForMap, padEqualSigns } from './cli-format.js';
import { ApiResponseError, VaultClient } from './cli-http.js';

const MOUNT: FlagSpec = { name: 'mount', type: 'string' };
const METADATA_FLAGS: FlagSpec[] = [
  { name: 'max-versions', type: 'int' },
  { name: 'cas-required', type: 'bool' },
  { name: 'delete-version-after', type: 'duration' },
  { name: 'custom-metadata', type: 'map' },
];

export const KV_FLAGS: Record<string, FlagSpec[]> = {
  put: [...HTTP_FLAGS, MOUNT, { name: 'cas', type: 'int' }],
  get: [...HTTP_FLAGS, MOUNT, { name: 'version', type: 'int' }],
  patch: [...HTTP_FLAGS, MOUNT, { name: 'cas', type: 'int' }, { name: 'method', type: 'string' }, { name: 'remove-data', type: 'strings' }],
  delete: [...HTTP_FLAGS, MOUNT, { name: 'versions', type: 'strings' }],
  undelete: [...HTTP_FLAGS, MOUNT, { name: 'versions', type: 'strings' }],
  destroy: [...HTTP_FLAGS, MOUNT, { name: 'versions', type: 'strings' }],
  list: [...HTTP_FLAGS, MOUNT],
  'metadata get': [...HTTP_FLAGS, MOUNT],
  'metadata delete': [...HTTP_FLAGS, MOUNT],
  'metadata put': [...HTTP_FLAGS, MOUNT, ...METADATA_FLAGS],
  'metadata patch': [...HTTP_FLAGS, MOUNT, ...METADATA_FLAGS, { name: 'remove-custom-metadata', type: 'strings' }],
};

/** kvPreflightVersionRequest: the mount path and whether it is KV v2. A 404 means v1. */
export async function kvPreflight(client: VaultClient, path: string): Promise<{ mountPath: string; v2: boolean }> {
  const res = await client.request('GET', `sys/internal/ui/mounts/${path}`);
  if (res.status === 404) return { mountPath: '', v2: false };
  VaultClient.check(res);
  let body: Secret | null = null;
  try {
    body = JSON.parse(res.text) as Secret;
  } catch {
    body = null;
  }
  if (!body) throw new Error('nil response from pre-flight request');
  const data = body.data ?? {};
  const mountPath = typeof data['path'] === 'string' ? data['path'] : '';
  const options = data['options'] as Record<string, unknown> | null | undefined;
  return { mountPath, v2: options?.['version'] === '2' };
}

/** Vault's addPrefixToKVPath. */
export function addPrefixToKVPath(p: string, mountPath: string, apiPrefix: string): string {
  if (p === mountPath || p === mountPath.replace(/\/$/, '')) return joinPath(mountPath, apiPrefix);
  let mp = mountPath;
  let tp = p.startsWith(mp) ? p.slice(mp.length) : p;
  for (;;) {
    if (tp !== p) break;
    const parts = mp.split('/');
    if (parts.length <= 1 || parts.slice(1).join('/') === '') break;
    mp = parts.slice(1).join('/').replace(/\/$/, '');
    tp = tp.startsWith(mp) ? tp.slice(mp.length) : tp;
  }
  return joinPath(mp, apiPrefix, tp);
}

export interface KvTarget {
  v2: boolean;
  mountPath: string;
  /** mount + secret path, before the API prefix is inserted. */
  partialPath: string;
}

/** Resolves `-mount=M K` or `M/K` into a mount and version (the preflight). */
async function resolveTarget(ctx: Ctx, arg: string): Promise<KvTarget> {
  const mountFlag = flagString(ctx.parsed, 'mount');
  const client = ctx.client();
  if (mountFlag) {
    const { mountPath, v2 } = await kvPreflight(client, sanitizePath(mountFlag));
    const secretPath = sanitizePath(arg);
    if (v2) return { v2, mountPath, partialPath: joinPath(mountPath, secretPath) };
    return { v2, mountPath, partialPath: joinPath(mountPath || sanitizePath(mountFlag), secretPath) };
  }
  const partialPath = sanitizePath(arg);
  const { mountPath, v2 } = await kvPreflight(client, partialPath);
  return { v2, mountPath, partialPath };
}

export function apiPath(t: KvTarget, prefix: string): string {
  return t.v2 ? addPrefixToKVPath(t.partialPath, t.mountPath, prefix) : t.partialPath;
}

/** Runs the preflight, printing its error Vault-style (exit 2). */
export async function target(ctx: Ctx, arg: string): Promise<KvTarget | number> {
  try {
    return await resolveTarget(ctx, arg);
  } catch (e) {
    ctx.ui.error(errText(e));
    return 2;
  }
}

/** Prints the write-response metadata table kv put / kv patch show. */
function outputWriteMetadata(ctx: Ctx, fullPath: string, secret: Secret): number {
  if (ctx.field !== undefined) return ctx.printRawField(secret, ctx.field, true);
  if (ctx.format === 'table') {
    ctx.ui.info(padEqualSigns('Secret Path', Buffer.byteLength(fullPath)));
    ctx.ui.info(fullPath);
    ctx.ui.info('');
    const metadata = secret.data ?? {};
    ctx.ui.info(headerForMap('Metadata', metadata));
    return ctx.outputData(metadata);
  }
  return ctx.outputSecret(secret);
}

export function writeError(ctx: Ctx, path: string, e: unknown): number {
  ctx.ui.error(`Error writing data to ${path}: ${errText(e)}`);
  return 2;
}

export async function kvPut(ctx: Ctx): Promise<number> {
  if (ctx.args.length < 1) throw new UsageError(`Not enough arguments (expected >1, got ${ctx.args.length})`);
  if (ctx.args.length === 1) throw new UsageError('Must supply data');
  const data = await parseArgsData(ctx.io, ctx.args.slice(1));
  const t = await target(ctx, ctx.args[0]!);
  if (typeof t === 'number') return t;
  const fullPath = apiPath(t, 'data');
  let body: Record<string, unknown> = data;
  if (t.v2) {
    const options: Record<string, unknown> = {};
    const cas = flagNumber(ctx.parsed, 'cas');
    if (cas !== undefined && cas > -1) options['cas'] = cas;
    body = { data, options };
  }
  let secret: Secret | null;
  try {
    secret = await ctx.client().write(fullPath, body);
  } catch (e) {
    return writeError(ctx, fullPath, e);
  }
  if (!secret) {
    if (ctx.format === 'table') ctx.ui.info(`Success! Data written to: ${fullPath}`);
    return 0;
  }
  return outputWriteMetadata(ctx, fullPath, secret);
}

export async function kvGet(ctx: Ctx): Promise<number> {
  if (ctx.args.length !== 1) throw new UsageError(`${ctx.args.length < 1 ? 'Not enough' : 'Too many'} arguments (expected 1, got ${ctx.args.length})`);
  const t = await target(ctx, ctx.args[0]!);
  if (typeof t === 'number') return t;
  const fullPath = apiPath(t, 'data');
  const version = flagNumber(ctx.parsed, 'version');
  const query = t.v2 && version !== undefined && version > 0 ? { version: String(version) } : undefined;
  let secret: Secret | null;
  try {
    secret = await ctx.client().read(fullPath, query);
  } catch (e) {
    ctx.ui.error(`Error reading ${fullPath}: ${errText(e)}`);
    return 2;
  }
  if (!secret) {
    ctx.ui.error(`No value found at ${fullPath}`);
    return 2;
  }
  if (ctx.field !== undefined) {
    if (!t.v2) return ctx.printRawField(secret, ctx.field, true);
    const data = secret.data?.['data'];
    if (data === null || data === undefined) {
      ctx.ui.error(`No data found at ${fullPath}`);
      return 2;
    }
    if (ctx.field === 'data') {
      const dm = data as Record<string, unknown>;
      if (typeof dm === 'object' && 'data' in dm) return ctx.printRawField(dm, 'data', false);
      return ctx.printRawField(secret, 'data', true);
    }
    return ctx.printRawField(data as Record<string, unknown>, ctx.field, false);
  }
  if (secret.wrap_info || ctx.format !== 'table') return ctx.outputSecret(secret);
  ctx.printWarnings(secret);
  if (t.v2) {
    ctx.ui.info(padEqualSigns('Secret Path', Buffer.byteLength(fullPath)));
    ctx.ui.info(fullPath);
    ctx.ui.info('');
  }
  const metadata = secret.data?.['metadata'];
  if (metadata !== null && metadata !== undefined && typeof metadata === 'object') {
    ctx.ui.info(headerForMap('Metadata', metadata as Record<string, unknown>));
    ctx.outputData(metadata);
    ctx.ui.info('');
  }
  let data: Record<string, unknown> | null | undefined = secret.data;
  if (t.v2 && data) data = (data['data'] as Record<string, unknown> | null | undefined) ?? null;
  if (data) {
    ctx.ui.info(headerForMap('Data', data));
    ctx.outputData(data);
  }
  return 0;
}

export async function kvPatch(ctx: Ctx): Promise<number> {
  const removeData = flagList(ctx.parsed, 'remove-data') ?? [];
  if (ctx.args.length < 1) throw new UsageError(`Not enough arguments (expected >1, got ${ctx.args.length})`);
  if (ctx.args.length === 1 && removeData.length === 0) throw new UsageError('Must supply data');
  const newData = await parseArgsData(ctx.io, ctx.args.slice(1));
  for (const k of removeData) newData[k] = null;
  const t = await target(ctx, ctx.args[0]!);
  if (typeof t === 'number') return t;
  if (!t.v2) {
    ctx.ui.error('KV engine mount must be version 2 for patch support');
    return 2;
  }
  const fullPath = apiPath(t, 'data');
  const method = flagString(ctx.parsed, 'method') ?? '';
  let res: { secret: Secret | null; code: number };
  switch (method) {
    case 'rw':
      res = await readThenWrite(ctx, fullPath, newData);
      break;
    case 'patch':
    case '':
      res = await mergePatch(ctx, fullPath, newData, method === '');
      break;
    default:
      ctx.ui.error(`Unsupported method provided to -method flag: ${method}`);
      return 2;
  }
  if (res.code !== 0 || !res.secret) return res.code;
  return outputWriteMetadata(ctx, fullPath, res.secret);
}

async function mergePatch(
  ctx: Ctx,
  path: string,
  newData: Record<string, unknown>,
  rwFallback: boolean,
): Promise<{ secret: Secret | null; code: number }> {
  const options: Record<string, unknown> = {};
  const cas = flagNumber(ctx.parsed, 'cas');
  if (cas !== undefined && cas > 0) options['cas'] = cas;
  let secret: Secret | null;
  try {
    secret = await ctx.client().patch(path, { data: newData, options });
  } catch (e) {
    if (e instanceof ApiResponseError && rwFallback && (e.statusCode === 405 || e.statusCode === 403)) {
      return readThenWrite(ctx, path, newData);
    }
    return { secret: null, code: writeError(ctx, path, e) };
  }
  if (!secret && ctx.format === 'table') ctx.ui.info(`Success! Data written to: ${path}`);
  return { secret, code: 0 };
}

async function readThenWrite(
  ctx: Ctx,
  path: string,
  newData: Record<string, unknown>,
): Promise<{ secret: Secret | null; code: number }> {
  let current: Secret | null;
  try {
    current = await ctx.client().read(path);
  } catch (e) {
    ctx.ui.error(`Error doing pre-read at ${path}: ${errText(e)}`);
    return { secret: null, code: 2 };
  }
  if (!current || !current.data) {
    ctx.ui.error(`No value found at ${path}`);
    return { secret: null, code: 2 };
  }
  const meta = current.data['metadata'] as Record<string, unknown> | null | undefined;
  if (!meta) {
    ctx.ui.error(`No metadata found at ${path}; patch only works on existing data`);
    return { secret: null, code: 2 };
  }
  const data = current.data['data'] as Record<string, unknown> | null | undefined;
  if (!data) {
    ctx.ui.error(`No data found at ${path}; patch only works on existing data`);
    return { secret: null, code: 2 };
  }
  const merged: Record<string, unknown> = { ...data };
  for (const [k, v] of Object.entries(newData)) {
    if (v === null) delete merged[k];
    else merged[k] = v;
  }
  let secret: Secret | null;
  try {
    secret = await ctx.client().write(path, { data: merged, options: { cas: meta['version'] } });
  } catch (e) {
    return { secret: null, code: writeError(ctx, path, e) };
  }
  if (!secret && ctx.format === 'table') ctx.ui.info(`Success! Data written to: ${path}`);
  return { secret, code: 0 };
}

function versionsFlag(ctx: Ctx): string[] {
  return flagList(ctx.parsed, 'versions') ?? [];
}

export async function kvDelete(ctx: Ctx): Promise<number> {
  if (ctx.args.length !== 1) throw new UsageError(`${ctx.args.length < 1 ? 'Not enough' : 'Too many'} arguments (expected 1, got ${ctx.args.length})`);
  const t = await target(ctx, ctx.args[0]!);
  if (typeof t === 'number') return t;
  const versions = versionsFlag(ctx);
  const fullPath = apiPath(t, 'data');
  let secret: Secret | null;
  try {
    if (t.v2 && versions.length > 0) {
      secret = await ctx.client().write(apiPath(t, 'delete'), { versions });
    } else {
      secret = await ctx.client().delete(fullPath);
    }
  } catch (e) {
    ctx.ui.error(`Error deleting ${fullPath}: ${errText(e)}`);
    return 2;
  }
  if (ctx.field !== undefined && secret) return ctx.printRawField(secret, ctx.field, true);
  ctx.ui.info(`Success! Data deleted (if it existed) at: ${fullPath}`);
  return 0;
}

async function versionedWrite(ctx: Ctx, op: 'undelete' | 'destroy'): Promise<number> {
  const versions = versionsFlag(ctx);
  if (versions.length === 0) throw new UsageError('No versions provided, use the "-versions" flag');
  if (ctx.args.length !== 1) throw new UsageError(`${ctx.args.length < 1 ? 'Not enough' : 'Too many'} arguments (expected 1, got ${ctx.args.length})`);
  const t = await target(ctx, ctx.args[0]!);
  if (typeof t === 'number') return t;
  if (!t.v2) {
    ctx.ui.error(`${op === 'undelete' ? 'Undelete' : 'Destroy'} not supported on KV Version 1`);
    return 1;
  }
  const path = apiPath(t, op);
  let secret: Secret | null;
  try {
    secret = await ctx.client().write(path, { versions });
  } catch (e) {
    return writeError(ctx, path, e);
  }
  if (!secret) {
    if (ctx.format === 'table') ctx.ui.info(`Success! Data written to: ${path}`);
    return 0;
  }
  return ctx.outputSecretOrField(secret);
}

export const kvUndelete = (ctx: Ctx) => versionedWrite(ctx, 'undelete');
export const kvDestroy = (ctx: Ctx) => versionedWrite(ctx, 'destroy');

export async function kvList(ctx: Ctx): Promise<number> {
  if (ctx.args.length > 1) throw new UsageError(`Too many arguments (expected 1, got ${ctx.args.length})`);
  if (ctx.args.length < 1 && !flagString(ctx.parsed, 'mount')) throw new UsageError('Not enough arguments (expected 1, got 0)');
  const t = await target(ctx, ctx.args[0] ?? '');
  if (typeof t === 'number') return t;
  const fullPath = apiPath(t, 'metadata');
  let secret: Secret | null;
  try {
    secret = await ctx.client().list(fullPath);
  } catch (e) {
    ctx.ui.error(`Error listing ${fullPath}: ${errText(e)}`);
    return 2;
  }
  const keys = secret?.data?.['keys'];
  if (ctx.format !== 'table' && (!secret || !Array.isArray(keys))) {
    ctx.ui.output(goJson({}));
    return 2;
  }
  if (!secret) {
    ctx.ui.error(`No value found at ${fullPath}`);
    return 2;
  }
  if (!secret.data) return ctx.outputSecret(secret);
  if (!Array.isArray(keys)) {
    ctx.ui.error(`No entries found at ${fullPath}`);
    return 2;
  }
  return ctx.outputList(secret);
}
