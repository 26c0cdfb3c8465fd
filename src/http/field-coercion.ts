/**
 * Vault's framework field coercion (reference §6): `vault write k=v` sends
 * every value as a string, so each declared field is converted to its type.
 * Errors never echo the value (it may be a secret).
 */
import { FieldValidationError } from '../errors.js';

export type FieldType =
  | 'string'
  | 'bool'
  | 'int'
  | 'duration'
  | 'comma-string-slice'
  | 'comma-int-slice'
  | 'kv-pairs'
  | 'map'
  | 'any';

export interface FieldSpec {
  type: FieldType;
  /** duration/int: refuse negatives */
  unsigned?: boolean;
}

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False', '']);

export function toBool(field: string, v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number' && (v === 0 || v === 1)) return v === 1;
  if (typeof v === 'string') {
    if (TRUE.has(v)) return true;
    if (FALSE.has(v)) return false;
    throw new FieldValidationError(field, 'cannot parse as a boolean');
  }
  throw new FieldValidationError(field, `expected a boolean, got ${typeName(v)}`);
}

export function toInt(field: string, v: unknown, unsigned = false): number {
  let n: number;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new FieldValidationError(field, 'expected an integer');
    n = v;
  } else if (typeof v === 'string') {
    const s = v.trim();
    if (s === '') n = 0;
    else if (/^[+-]?(0x[0-9a-f]+|0o[0-7]+|0b[01]+|\d+)$/i.test(s)) {
      const neg = s.startsWith('-');
      const body = s.replace(/^[+-]/, '');
      n = Number(body.toLowerCase().startsWith('0o') ? parseInt(body.slice(2), 8) : Number(body));
      if (neg) n = -n;
    } else throw new FieldValidationError(field, 'cannot parse as an integer');
  } else throw new FieldValidationError(field, `expected an integer, got ${typeName(v)}`);
  if (!Number.isSafeInteger(n)) throw new FieldValidationError(field, 'integer out of range');
  if (unsigned && n < 0) throw new FieldValidationError(field, 'cannot be negative');
  return n;
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a Go duration (`1h30m`, `300ms`), `Nd`, or seconds; returns seconds (may be fractional). */
export function parseDurationSeconds(field: string, v: unknown, unsigned = true): number {
  let secs: number;
  if (typeof v === 'number') secs = v;
  else if (typeof v === 'string') {
    const s = v.trim();
    if (s === '') secs = 0;
    else if (/^[+-]?\d+$/.test(s)) secs = Number(s);
    else {
      const m = /^([+-])?((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d))+)$/.exec(s);
      if (!m) throw new FieldValidationError(field, 'cannot parse as a duration');
      let ms = 0;
      for (const part of m[2]!.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/g)) ms += Number(part[1]) * UNIT_MS[part[2]!]!;
      secs = (m[1] === '-' ? -ms : ms) / 1000;
    }
  } else throw new FieldValidationError(field, `expected a duration, got ${typeName(v)}`);
  if (!Number.isFinite(secs)) throw new FieldValidationError(field, 'duration out of range');
  if (unsigned && secs < 0) throw new FieldValidationError(field, 'cannot be negative');
  return secs;
}

/** Formats seconds the way Go's time.Duration.String() does (`0s`, `1h0m0s`, `1m30s`). */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  const neg = seconds < 0;
  let s = Math.abs(seconds);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const sec = Number.isInteger(s) ? String(s) : String(Number(s.toFixed(9)));
  let out = '';
  if (h > 0) out = `${h}h${m}m${sec}s`;
  else if (m > 0) out = `${m}m${sec}s`;
  else out = `${sec}s`;
  return (neg ? '-' : '') + out;
}

export function toStringField(field: string, v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new FieldValidationError(field, `expected a string, got ${typeName(v)}`);
}

function toCommaSlice<T>(field: string, v: unknown, each: (x: unknown) => T): T[] {
  if (Array.isArray(v)) return v.map((x) => each(typeof x === 'string' ? x.trim() : x));
  if (typeof v === 'string') {
    if (v.trim() === '') return [];
    return v.split(',').map((x) => each(x.trim()));
  }
  if (typeof v === 'number' || typeof v === 'boolean') return [each(v)];
  throw new FieldValidationError(field, `expected a list, got ${typeName(v)}`);
}

export function toKvPairs(field: string, v: unknown): Record<string, string> {
  if (isPlainObject(v)) {
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toStringField(field, x);
    return out;
  }
  const items = typeof v === 'string' ? [v] : Array.isArray(v) ? v : undefined;
  if (!items) throw new FieldValidationError(field, `expected key=value pairs, got ${typeName(v)}`);
  const out: Record<string, string> = {};
  for (const item of items) {
    if (typeof item !== 'string' || !item.includes('=')) throw new FieldValidationError(field, 'expected key=value pairs');
    const i = item.indexOf('=');
    out[item.slice(0, i).trim()] = item.slice(i + 1).trim();
  }
  return out;
}

export function coerceField(field: string, spec: FieldSpec, v: unknown): unknown {
  switch (spec.type) {
    case 'string':
      return v === null ? '' : toStringField(field, v);
    case 'bool':
      return v === null ? false : toBool(field, v);
    case 'int':
      return v === null ? 0 : toInt(field, v, spec.unsigned);
    case 'duration':
      return v === null ? 0 : parseDurationSeconds(field, v, spec.unsigned ?? true);
    case 'comma-string-slice':
      return v === null ? [] : toCommaSlice(field, v, (x) => toStringField(field, x));
    case 'comma-int-slice':
      return v === null ? [] : toCommaSlice(field, v, (x) => toInt(field, x));
    case 'kv-pairs':
      return v === null ? {} : toKvPairs(field, v);
    case 'map':
      if (v === null) return {};
      if (!isPlainObject(v)) throw new FieldValidationError(field, `expected a map, got ${typeName(v)}`);
      return v;
    case 'any':
      return v;
  }
}

/**
 * Coerces the declared fields present in raw; returns the coerced object
 * (absent fields stay absent) and the names of undeclared fields.
 */
export function coerceFields(
  raw: Record<string, unknown>,
  specs: Record<string, FieldSpec>,
): { data: Record<string, unknown>; unknown: string[] } {
  const data: Record<string, unknown> = {};
  const unknown: string[] = [];
  for (const [k, v] of Object.entries(raw)) {
    const spec = specs[k];
    if (!spec) {
      unknown.push(k);
      continue;
    }
    data[k] = coerceField(k, spec, v);
  }
  return { data, unknown };
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `a ${typeof v}`;
}
