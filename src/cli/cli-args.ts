/**
 * Flag parsing for the CLI. Vault's commands use Go's `flag` package, so
 * long flags come with a single dash (`-mount=my-kv`, `-f`); we accept those
 * and the GNU forms (`--mount=my-kv`, `--mount my-kv`) alike. Flags may also
 * follow positional arguments (Go's parser would stop at the first one; being
 * lenient here never changes the meaning of a command that Vault accepts).
 */

import { parseDurationMs } from '../util/duration.js';

export type FlagType = 'bool' | 'string' | 'int' | 'strings' | 'map' | 'duration';

export interface FlagSpec {
  name: string;
  type: FlagType;
  aliases?: string[];
}

export type FlagValue = boolean | string | number | string[] | Record<string, string>;

export interface ParsedArgs {
  /** Only the flags that were given; absent means "not set". */
  flags: Record<string, FlagValue>;
  args: string[];
}

/** A command-line usage error: Vault prints it and exits 1. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Flags every command that talks to the server accepts (Vault's FlagSetHTTP + output flags). */
export const HTTP_FLAGS: FlagSpec[] = [
  { name: 'address', type: 'string' },
  { name: 'ca-cert', type: 'string' },
  { name: 'ca-path', type: 'string' },
  { name: 'tls-skip-verify', type: 'bool' },
  { name: 'namespace', type: 'string', aliases: ['ns'] },
  { name: 'format', type: 'string' },
  { name: 'field', type: 'string' },
];

/** Go's strconv.ParseBool. */
export function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

/** Go's strconv.ParseInt(s, 0, 64) for the ranges we need. */
export function parseGoInt(s: string): number | undefined {
  const t = s.replace(/_/g, '');
  if (!/^[+-]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|\d+)$/.test(t)) return undefined;
  const neg = t.startsWith('-');
  const body = t.replace(/^[+-]/, '');
  let n: number;
  if (/^0[xX]/.test(body)) n = parseInt(body.slice(2), 16);
  else if (/^0[bB]/.test(body)) n = parseInt(body.slice(2), 2);
  else if (/^0[oO]/.test(body)) n = parseInt(body.slice(2), 8);
  else if (/^0\d/.test(body)) n = parseInt(body.slice(1), 8);
  else n = parseInt(body, 10);
  return neg ? -n : n;
}

/**
 * Parses a duration the way Vault's DurationVar does: a bare integer is
 * seconds, otherwise a Go duration (`1h30m`), with `d` for days allowed.
 * Returns seconds.
 */
export function parseDurationSeconds(s: string): number | undefined {
  if (s.trim() === '') return 0;
  const ms = parseDurationMs(s);
  return ms === undefined ? undefined : ms / 1000;
}

/** Go's time.Duration.String() for a number of seconds (sub-second precision kept to ms). */
export function goDurationString(seconds: number): string {
  if (seconds === 0) return '0s';
  const neg = seconds < 0;
  let rest = Math.abs(seconds);
  if (rest < 1) {
    const ms = Math.round(rest * 1000);
    return `${neg ? '-' : ''}${ms}ms`;
  }
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  const s = Number.isInteger(rest) ? String(rest) : String(Math.round(rest * 1000) / 1000);
  let out = '';
  if (h > 0) out += `${h}h`;
  if (h > 0 || m > 0) out += `${m}m`;
  out += `${s}s`;
  return (neg ? '-' : '') + out;
}

function splitCommaList(v: string): string[] {
  return v
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

/** Parses argv against the given flag specs. Throws UsageError like Go's flag package would. */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const byName = new Map<string, FlagSpec>();
  for (const spec of specs) {
    byName.set(spec.name, spec);
    for (const a of spec.aliases ?? []) byName.set(a, spec);
  }
  const flags: Record<string, FlagValue> = {};
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-' || !arg.startsWith('-') || /^-\d/.test(arg)) {
      args.push(arg);
      continue;
    }
    const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const inline = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (name === 'h' || name === 'help') throw new HelpRequested();
    const spec = byName.get(name);
    if (!spec || name === '') throw new UsageError(`flag provided but not defined: -${name}`);
    if (spec.type === 'bool') {
      if (inline === undefined) {
        flags[spec.name] = true;
      } else {
        const b = parseGoBool(inline);
        if (b === undefined) throw new UsageError(`invalid boolean value "${inline}" for -${name}: parse error`);
        flags[spec.name] = b;
      }
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: -${name}`);
      value = argv[++i]!;
    }
    switch (spec.type) {
      case 'string':
        flags[spec.name] = value;
        break;
      case 'int': {
        const n = parseGoInt(value.trim());
        if (n === undefined) throw new UsageError(`invalid value "${value}" for flag -${name}: parse error`);
        flags[spec.name] = n;
        break;
      }
      case 'duration': {
        const d = parseDurationSeconds(value);
        if (d === undefined) {
          throw new UsageError(`invalid value "${value}" for flag -${name}: time: invalid duration "${value}"`);
        }
        flags[spec.name] = d;
        break;
      }
      case 'strings': {
        const prev = (flags[spec.name] as string[] | undefined) ?? [];
        flags[spec.name] = [...prev, ...splitCommaList(value)];
        break;
      }
      case 'map': {
        const k = value.indexOf('=');
        if (k < 0) throw new UsageError(`invalid value "${value}" for flag -${name}: missing = in KV pair: "${value}"`);
        const prev = (flags[spec.name] as Record<string, string> | undefined) ?? {};
        flags[spec.name] = { ...prev, [value.slice(0, k)]: value.slice(k + 1) };
        break;
      }
    }
  }
  return { flags, args };
}

/** Thrown when -h/-help/--help is given; the dispatcher prints the usage text. */
export class HelpRequested extends Error {
  constructor() {
    super('help requested');
    this.name = 'HelpRequested';
  }
}

/** Typed accessors for parsed flags. */
export function flagString(p: ParsedArgs, name: string): string | undefined {
  const v = p.flags[name];
  return typeof v === 'string' ? v : undefined;
}
export function flagBool(p: ParsedArgs, name: string): boolean | undefined {
  const v = p.flags[name];
  return typeof v === 'boolean' ? v : undefined;
}
export function flagNumber(p: ParsedArgs, name: string): number | undefined {
  const v = p.flags[name];
  return typeof v === 'number' ? v : undefined;
}
export function flagList(p: ParsedArgs, name: string): string[] | undefined {
  const v = p.flags[name];
  return Array.isArray(v) ? v : undefined;
}
export function flagMap(p: ParsedArgs, name: string): Record<string, string> | undefined {
  const v = p.flags[name];
  return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

/** Vault's sanitizePath: trims whitespace and leading/trailing slashes. */
export function sanitizePath(s: string): string {
  return s.trim().replace(/^\/+/, '').replace(/\/+$/, '');
}

/** Go's path.Join: joins non-empty parts, cleans `//`, `.`, `..`, no trailing slash. */
export function joinPath(...parts: string[]): string {
  const joined = parts.filter((p) => p !== '').join('/');
  if (joined === '') return '';
  const abs = joined.startsWith('/');
  const out: string[] = [];
  for (const seg of joined.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!abs) out.push('..');
      continue;
    }
    out.push(seg);
  }
  const s = out.join('/');
  return abs ? '/' + s : s || '.';
}
