/** The path-generic commands: read, write, list, delete, patch. */
import { type FlagSpec, HTTP_FLAGS, UsageError, flagBool, sanitizePath } from './cli-args.js';
import { type Ctx, errText, expectArgs } from './cli-context.js';
import { parseArgsData, parseArgsQuery } from './cli-data.js';
import { type Secret, HOPE_DELIM, goCompare, goJson, goValue, tableOutput } from './cli-format.js';

const FORCE: FlagSpec = { name: 'force', type: 'bool', aliases: ['f'] };

export const GENERIC_FLAGS: Record<string, FlagSpec[]> = {
  read: HTTP_FLAGS,
  write: [...HTTP_FLAGS, FORCE],
  patch: [...HTTP_FLAGS, FORCE],
  delete: HTTP_FLAGS,
  list: [...HTTP_FLAGS, { name: 'detailed', type: 'bool' }],
};

export async function readCmd(ctx: Ctx): Promise<number> {
  if (ctx.args.length < 1) throw new UsageError('Not enough arguments (expected 1, got 0)');
  const path = sanitizePath(ctx.args[0]!);
  const query = await parseArgsQuery(ctx.io, ctx.args.slice(1));
  let secret: Secret | null;
  try {
    secret = await ctx.client().read(path, Object.keys(query).length > 0 ? query : undefined);
  } catch (e) {
    ctx.ui.error(`Error reading ${path}: ${errText(e)}`);
    return 2;
  }
  if (!secret) {
    ctx.ui.error(`No value found at ${path}`);
    return 2;
  }
  return ctx.outputSecretOrField(secret);
}

/** handleWriteSecretOutput, shared by write and patch. */
function writeOutput(ctx: Ctx, path: string, secret: Secret | null): number {
  if (!secret) {
    if (ctx.format === 'table') ctx.ui.info(`Success! Data written to: ${path}`);
    return 0;
  }
  return ctx.outputSecretOrField(secret);
}

async function writeLike(ctx: Ctx, patch: boolean): Promise<number> {
  const force = flagBool(ctx.parsed, 'force') ?? false;
  if (ctx.args.length < 1) throw new UsageError('Not enough arguments (expected 1, got 0)');
  if (ctx.args.length === 1 && !force) throw new UsageError('Must supply data or use -force');
  const path = sanitizePath(ctx.args[0]!);
  const data = await parseArgsData(ctx.io, ctx.args.slice(1));
  let secret: Secret | null;
  try {
    secret = patch ? await ctx.client().patch(path, data) : await ctx.client().write(path, data);
  } catch (e) {
    ctx.ui.error(`Error writing data to ${path}: ${errText(e)}`);
    return 2;
  }
  return writeOutput(ctx, path, secret);
}

export const writeCmd = (ctx: Ctx) => writeLike(ctx, false);
export const patchCmd = (ctx: Ctx) => writeLike(ctx, true);

export async function deleteCmd(ctx: Ctx): Promise<number> {
  if (ctx.args.length < 1) throw new UsageError('Not enough arguments (expected 1, got 0)');
  const path = sanitizePath(ctx.args[0]!);
  const query = await parseArgsQuery(ctx.io, ctx.args.slice(1));
  let secret: Secret | null;
  try {
    secret = await ctx.client().delete(path, Object.keys(query).length > 0 ? query : undefined);
  } catch (e) {
    ctx.ui.error(`Error deleting ${path}: ${errText(e)}`);
    return 2;
  }
  if (!secret) {
    if (ctx.format === 'table') ctx.ui.info(`Success! Data deleted (if it existed) at: ${path}`);
    return 0;
  }
  return ctx.outputSecretOrField(secret);
}

export async function listCmd(ctx: Ctx): Promise<number> {
  expectArgs(ctx, 1, 1, '1');
  let path = ctx.args[0]!;
  if (!path.endsWith('/')) path += '/';
  path = sanitizePath(path);
  let secret: Secret | null;
  try {
    secret = await ctx.client().list(path);
  } catch (e) {
    ctx.ui.error(`Error listing ${path}: ${errText(e)}`);
    return 2;
  }
  const keys = secret?.data?.['keys'];
  const detailed = flagBool(ctx.parsed, 'detailed') ?? false;
  if (ctx.format !== 'table') {
    if (!secret || !secret.data || !Array.isArray(keys)) {
      ctx.ui.output(goJson({}));
      return 2;
    }
    if (detailed) return ctx.outputSecret(secret);
  }
  if (!secret) {
    ctx.ui.error(`No value found at ${path}`);
    return 2;
  }
  if (!secret.data) return ctx.outputSecret(secret);
  if (!Array.isArray(keys)) {
    ctx.ui.error(`No entries found at ${path}`);
    return 2;
  }
  if (detailed && ctx.format === 'table') return outputDetailedList(ctx, secret, keys.map(String));
  return ctx.outputList(secret);
}

/** OutputList with key_info columns (ListResponseWithInfo), for `list -detailed`. */
function outputDetailedList(ctx: Ctx, secret: Secret, keys: string[]): number {
  const info = secret.data?.['key_info'];
  const infoMap = info && typeof info === 'object' && !Array.isArray(info) ? (info as Record<string, unknown>) : {};
  const headerSet = new Set<string>();
  for (const k of keys) {
    const v = infoMap[k];
    if (v && typeof v === 'object' && !Array.isArray(v)) for (const h of Object.keys(v)) headerSet.add(h);
  }
  if (headerSet.size === 0) return ctx.outputList(secret);
  ctx.printWarnings(secret);
  const headers = [...headerSet].sort(goCompare);
  const rows = [...keys].sort(goCompare).map((k) => {
    const v = infoMap[k];
    const cells = [k];
    for (const h of headers) {
      if (v && typeof v === 'object' && !Array.isArray(v) && h in v) cells.push(goValue((v as Record<string, unknown>)[h]));
      else cells.push('n/a');
    }
    return cells.join(HOPE_DELIM);
  });
  ctx.ui.output(tableOutput([['Keys', ...headers].join(HOPE_DELIM), ...rows], HOPE_DELIM));
  return 0;
}
