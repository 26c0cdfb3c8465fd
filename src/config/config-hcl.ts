/**
 * Turns config text (HCL or JSON) into one plain-object shape before
 * validation. HCL blocks come out of the parser as arrays (`storage "sqlite"
 * {..}` → `{storage: {sqlite: [{..}]}}`); a single block is unwrapped to the
 * object the JSON form has, a repeated one is an error. Vault's JSON form
 * (`"listener": [{"tcp": {..}}]`) is normalised the same way.
 */
import { createRequire } from 'node:module';
import { ConfigError } from './config-error.js';

export type ConfigFormat = 'json' | 'hcl' | 'auto';

interface HclParser {
  parseToObject(input: string): [unknown, unknown];
}

const hcl = createRequire(import.meta.url)('hcl2-parser') as HclParser;

/** Parses `text` and normalises block arrays; `source` names the file in errors. */
export function parseConfigText(text: string, format: ConfigFormat, source = 'config file'): unknown {
  let raw: unknown;
  if (format === 'json') raw = parseJson(text, source);
  else if (format === 'hcl') raw = parseHcl(text, source);
  else {
    try {
      raw = parseJson(text, source);
    } catch {
      raw = tryHcl(text);
      if (raw === undefined) throw new ConfigError(`${source} is neither valid JSON nor valid HCL${hclHint(text)}`);
    }
  }
  if (!isPlainObject(raw)) throw new ConfigError(`${source} must contain an object at the top level`);
  return normaliseBlocks(raw, []);
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    // V8's message can quote a slice of the input (which may hold a token): report a position only.
    const pos = /position (\d+)/.exec(e instanceof Error ? e.message : '');
    const where = pos ? ` at ${lineCol(text, Number(pos[1]))}` : '';
    throw new ConfigError(`${source}: invalid JSON${where}`);
  }
}

function parseHcl(text: string, source: string): unknown {
  const obj = tryHcl(text);
  if (obj === undefined) throw new ConfigError(`${source}: invalid HCL${hclHint(text)}`);
  return obj;
}

function tryHcl(text: string): unknown {
  // An empty file is a valid (empty) HCL body; the parser returns null for it.
  if (text.trim() === '') return {};
  let result: [unknown, unknown];
  try {
    result = hcl.parseToObject(text);
  } catch {
    return undefined;
  }
  const [obj, err] = result;
  if (err || obj === null || obj === undefined) return undefined;
  return obj;
}

/**
 * The parser reports no position, so point at the mistake people make most when
 * copying Vault (HCL1) configs: an attribute on the line of a block's `{`.
 */
function hclHint(text: string): string {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/#.*$|\/\/.*$/, '');
    if (/^\s*[A-Za-z_][\w-]*(\s+("[^"]*"|[A-Za-z_][\w-]*))*\s*\{\s*[A-Za-z_"]/.test(line) && !line.includes('}')) {
      return ` (line ${i + 1}: HCL2 does not allow an attribute on the same line as a block's opening "{")`;
    }
  }
  return '';
}

function lineCol(text: string, pos: number): string {
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - before.lastIndexOf('\n');
  return `line ${line}, column ${col}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function normaliseBlocks(v: unknown, path: string[]): unknown {
  if (Array.isArray(v)) {
    if (v.length > 0 && v.every(isPlainObject)) {
      if (v.length > 1) throw new ConfigError(`"${path.join('.')}" is declared more than once`);
      return normaliseBlocks(v[0], path);
    }
    return v.map((item, i) => normaliseBlocks(item, [...path, String(i)]));
  }
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, child] of Object.entries(v)) out[k] = normaliseBlocks(child, [...path, k]);
    return out;
  }
  return v;
}
