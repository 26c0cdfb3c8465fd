/**
 * Vault's framework field coercion (reference §6): `vault write k=v` sends
 * every value as a string, so each declared field is converted to its type.
 * Errors never echo the value (it may be a secret).
 */
import { FieldValidationError } from '../errors.js';
import { parseDurationMs } from '../util/duration.js';

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

/** Parses a Go duration (`1h30m`, `300ms`), `Nd`, or seconds; returns seconds (may be fractional). */
export function parseDurationSeconds(field: string, v: unknown, unsigned = true): number {
  if (typeof v !== 'number' && typeof v !== 'string') throw new FieldValidationError(field, `expected a duration, got ${typeName(v)}`);
  const ms = typeof v === 'string' && v.trim() === '' ? 0 : parseDurationMs(v);
  if (ms === undefined) throw new FieldValidationError(field, 'cannot parse as a duration');
  if (!Number.isFinite(ms)) throw new FieldValidationError(field, 'duration out of range');
  if (unsigned && ms < 0) throw new FieldValidationError(field, 'cannot be negative');
  return ms / 1000;
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
