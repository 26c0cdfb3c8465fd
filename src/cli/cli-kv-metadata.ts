/** `kv metadata` subcommands (KV v2 only). */
import { flagList, flagMap, flagNumber, goDurationString, UsageError } from './cli-args.js';
import { type Ctx, errText } from './cli-context.js';
import { type Secret, headerForMap, padEqualSigns } from './cli-format.js';
import { type KvTarget, apiPath, target, writeError } from './cli-kv.js';

async function metadataTarget(ctx: Ctx): Promise<{ t: KvTarget; path: string } | number> {
  if (ctx.args.length !== 1) throw new UsageError(`${ctx.args.length < 1 ? 'Not enough' : 'Too many'} arguments (expected 1, got ${ctx.args.length})`);
  const t = await target(ctx, ctx.args[0]!);
  if (typeof t === 'number') return t;
  if (!t.v2) {
    ctx.ui.error('Metadata not supported on KV Version 1');
    return 1;
  }
  return { t, path: apiPath(t, 'metadata') };
}

export async function kvMetadataGet(ctx: Ctx): Promise<number> {
  const r = await metadataTarget(ctx);
  if (typeof r === 'number') return r;
  let secret: Secret | null;
  try {
    secret = await ctx.client().read(r.path);
  } catch (e) {
    ctx.ui.error(`Error reading ${r.path}: ${errText(e)}`);
    return 2;
  }
  if (!secret) {
    ctx.ui.error(`No value found at ${r.path}`);
    return 2;
  }
  if (ctx.field !== undefined) return ctx.printRawField(secret, ctx.field, true);
  if (ctx.format !== 'table') return ctx.outputSecret(secret);
  const data = { ...(secret.data ?? {}) };
  const versions = data['versions'] as Record<string, Record<string, unknown>> | null | undefined;
  if (!versions) {
    ctx.ui.error(`No value found at ${r.path}`);
    ctx.outputSecret(secret);
    return 2;
  }
  delete data['versions'];
  ctx.ui.info(padEqualSigns('Metadata Path', Buffer.byteLength(r.path)));
  ctx.ui.info(r.path);
  ctx.ui.info('');
  ctx.ui.info(headerForMap('Metadata', data));
  ctx.outputSecret({ ...secret, data });
  const nums = Object.keys(versions)
    .map((k) => parseInt(k, 10))
    .filter((n) => !Number.isNaN(n))
    .sort((a, b) => a - b);
  for (const n of nums) {
    const v = versions[String(n)] ?? {};
    ctx.ui.info('\n' + headerForMap(`Version ${n}`, v));
    ctx.outputData(v);
  }
  return 0;
}

function metadataBody(ctx: Ctx): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const maxVersions = flagNumber(ctx.parsed, 'max-versions');
  if (maxVersions !== undefined && maxVersions >= 0) body['max_versions'] = maxVersions;
  const casRequired = ctx.parsed.flags['cas-required'];
  if (typeof casRequired === 'boolean') body['cas_required'] = casRequired;
  const dva = flagNumber(ctx.parsed, 'delete-version-after');
  if (dva !== undefined && dva >= 0) body['delete_version_after'] = goDurationString(dva);
  const custom = flagMap(ctx.parsed, 'custom-metadata');
  if (custom && Object.keys(custom).length > 0) body['custom_metadata'] = { ...custom };
  return body;
}

async function metadataWrite(ctx: Ctx, patch: boolean): Promise<number> {
  const r = await metadataTarget(ctx);
  if (typeof r === 'number') return r;
  const body = metadataBody(ctx);
  if (patch) {
    const remove = flagList(ctx.parsed, 'remove-custom-metadata') ?? [];
    if (remove.length > 0) {
      const cm = (body['custom_metadata'] as Record<string, unknown> | undefined) ?? {};
      for (const k of remove) cm[k] = null;
      body['custom_metadata'] = cm;
    }
  }
  let secret: Secret | null;
  try {
    secret = patch ? await ctx.client().patch(r.path, body) : await ctx.client().write(r.path, body);
  } catch (e) {
    return writeError(ctx, r.path, e);
  }
  if (!secret) {
    if (ctx.format === 'table') ctx.ui.info(`Success! Data written to: ${r.path}`);
    return 0;
  }
  return ctx.outputSecretOrField(secret);
}

export const kvMetadataPut = (ctx: Ctx) => metadataWrite(ctx, false);
export const kvMetadataPatch = (ctx: Ctx) => metadataWrite(ctx, true);

export async function kvMetadataDelete(ctx: Ctx): Promise<number> {
  const r = await metadataTarget(ctx);
  if (typeof r === 'number') return r;
  try {
    await ctx.client().delete(r.path);
  } catch (e) {
    ctx.ui.error(`Error deleting ${r.path}: ${errText(e)}`);
    return 2;
  }
  ctx.ui.info(`Success! Data deleted (if it existed) at: ${r.path}`);
  return 0;
}
