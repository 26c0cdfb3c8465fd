/**
 * Vault ACL policy parsing: HCL (via hcl2-parser) or the equivalent JSON form,
 * validated the way Vault's policy.go does, with Vault's error wording
 * (`failed to parse policy: path "x": invalid capability "y"`).
 */
import { createRequire } from 'node:module';
import { BadRequestError } from '../errors.js';
import type { Capability } from './auth-types.js';

/** One `path "<pattern>" { ... }` stanza. */
export interface PathRule {
  /** the pattern as written, minus a leading `/` (may end in `*`, may contain `+` segments) */
  path: string;
  /** `['deny']` alone when the stanza denies */
  capabilities: Capability[];
}

export interface ParsedPolicy {
  name: string;
  raw: string;
  rules: PathRule[];
}

const CAPABILITIES: ReadonlySet<string> = new Set<Capability>(['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo', 'deny', 'subscribe']);

/** Keys Vault accepts in a path stanza; only `capabilities` and `policy` mean anything here. */
const PATH_KEYS: ReadonlySet<string> = new Set([
  'comment',
  'policy',
  'capabilities',
  'allowed_parameters',
  'denied_parameters',
  'required_parameters',
  'min_wrapping_ttl',
  'max_wrapping_ttl',
  'mfa_methods',
  'control_group',
  'subscribe_event_types',
]);
const TOP_KEYS: ReadonlySet<string> = new Set(['name', 'path']);

/** Vault's pre-capabilities `policy = "..."` shorthand. */
const OLD_POLICIES: Record<string, Capability[]> = {
  deny: ['deny'],
  read: ['read', 'list'],
  write: ['create', 'read', 'update', 'delete', 'list'],
  sudo: ['create', 'read', 'update', 'delete', 'list', 'sudo'],
};

type Hcl = { parseToObject(text: string): [unknown, unknown] };
let hcl: Hcl | undefined;
/** Loaded lazily: the GopherJS bundle is large and only policy writes need it. */
function hclParser(): Hcl {
  hcl ??= createRequire(import.meta.url)('hcl2-parser') as Hcl;
  return hcl;
}

function fail(why: string): never {
  throw new BadRequestError(`failed to parse policy: ${why}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * HCL2 refuses `{ a = 1\n }`-style blocks that Vault's HCL1 accepts (a block
 * body must end on its own line). Putting a newline after every `{` and before
 * every `}` outside strings and comments is harmless in HCL2 and fixes that.
 */
function normaliseBraces(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"' && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      const j = text.indexOf('\n', i);
      const end = j < 0 ? text.length : j;
      out += text.slice(i, end);
      i = end;
    } else if (c === '/' && text[i + 1] === '*') {
      const j = text.indexOf('*/', i + 2);
      const end = j < 0 ? text.length : j + 2;
      out += text.slice(i, end);
      i = end;
    } else {
      out += c === '{' ? '{\n' : c === '}' ? '\n}' : c;
      i++;
    }
  }
  return out;
}

function parseHcl(text: string): unknown {
  const p = hclParser();
  let [obj, err] = p.parseToObject(text);
  if (err || obj === null || obj === undefined) [obj, err] = p.parseToObject(normaliseBraces(text));
  // hcl2-parser gives no error detail, so the message cannot point at a line.
  if (err || obj === null || obj === undefined) fail('invalid HCL syntax');
  return obj;
}

/** Normalises the many shapes one path stanza can take (HCL: list of bodies; JSON: a body or a list). */
function stanzaBodies(path: string, v: unknown): Record<string, unknown>[] {
  const list = Array.isArray(v) ? v : [v];
  return list.map((b) => {
    if (!isObject(b)) fail(`path ${JSON.stringify(path)}: expected a block`);
    return b;
  });
}

/** [pattern, body] pairs of the top-level `path` key. */
function pathEntries(v: unknown): Array<[string, Record<string, unknown>]> {
  const out: Array<[string, Record<string, unknown>]> = [];
  // JSON form may also be a list of {pattern: body} objects.
  const groups = Array.isArray(v) ? v : [v];
  for (const g of groups) {
    if (!isObject(g)) fail('path must be given as path "<pattern>" { ... }');
    for (const [pattern, body] of Object.entries(g)) {
      // HCL with a missing label yields the body itself (`{"capabilities": [...]}`).
      const isBody = isObject(body) || (Array.isArray(body) && body.every(isObject));
      if (PATH_KEYS.has(pattern) && !isBody) fail('path must be given as path "<pattern>" { ... }');
      for (const b of stanzaBodies(pattern, body)) out.push([pattern, b]);
    }
  }
  return out;
}

function stringList(path: string, key: string, v: unknown): string[] {
  const items = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(items) || items.some((x) => typeof x !== 'string')) fail(`path ${JSON.stringify(path)}: ${key} must be a list of strings`);
  return items as string[];
}

function parseRule(pattern: string, body: Record<string, unknown>): PathRule {
  const q = JSON.stringify(pattern);
  for (const k of Object.keys(body)) if (!PATH_KEYS.has(k)) fail(`path ${q}: invalid key ${JSON.stringify(k)}`);
  if (Array.isArray(body.path) || isObject(body.path)) fail(`path ${q}: nested path blocks are not allowed`);
  const caps: string[] = body.capabilities === undefined ? [] : stringList(pattern, 'capabilities', body.capabilities);
  if (body.policy !== undefined) {
    if (typeof body.policy !== 'string') fail(`path ${q}: policy must be a string`);
    const old = OLD_POLICIES[body.policy];
    if (!old) fail(`path ${q}: invalid policy ${JSON.stringify(body.policy)}`);
    caps.push(...old);
  }
  const path = pattern.startsWith('/') ? pattern.slice(1) : pattern;
  if (path.includes('+*')) fail(`path ${JSON.stringify(path)}: invalid use of wildcards ('+*' is forbidden)`);
  const set = new Set<Capability>();
  for (const c of caps) {
    if (!CAPABILITIES.has(c)) fail(`path ${q}: invalid capability ${JSON.stringify(c)}`);
    if (c === 'deny') return { path, capabilities: ['deny'] };
    set.add(c as Capability);
  }
  return { path, capabilities: [...set] };
}

/**
 * Parses policy text (HCL or JSON). Throws BadRequestError
 * `failed to parse policy: ...` on any syntax or validation error.
 */
export function parsePolicy(name: string, raw: string): ParsedPolicy {
  const trimmed = raw.trim();
  let doc: unknown;
  if (trimmed.startsWith('{')) {
    try {
      doc = JSON.parse(trimmed);
    } catch {
      fail('invalid JSON');
    }
  } else doc = parseHcl(raw);
  if (!isObject(doc)) fail('does not contain a root object');
  for (const k of Object.keys(doc)) if (!TOP_KEYS.has(k)) fail(`invalid key ${JSON.stringify(k)}`);
  const rules = doc.path === undefined ? [] : pathEntries(doc.path).map(([p, b]) => parseRule(p, b));
  return { name, raw, rules };
}
