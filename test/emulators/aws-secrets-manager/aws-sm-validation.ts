/**
 * Input validation as the AWS front end (constraint violations →
 * ValidationException) and Secrets Manager itself (semantic checks →
 * InvalidParameterException) answer it.
 */
import { AwsError, smError, validationError } from './aws-errors.js';
import type { Tag } from './aws-sm-store.js';

export type Input = Record<string, unknown>;

const camel = (field: string) => field.charAt(0).toLowerCase() + field.slice(1);

function typeError(field: string, expected: string): AwsError {
  return new AwsError('SerializationException', `Expected ${expected} for field ${field}`);
}

/** A string member with the model's length constraints. */
export function str(input: Input, field: string, opts: { required?: boolean; min?: number; max?: number } = {}): string | undefined {
  const v = input[field];
  if (v === undefined || v === null) {
    if (opts.required) throw validationError([`Value null at '${camel(field)}' failed to satisfy constraint: Member must not be null`]);
    return undefined;
  }
  if (typeof v !== 'string') throw typeError(field, 'string');
  if (opts.min !== undefined && v.length < opts.min) {
    throw validationError([
      `Value at '${camel(field)}' failed to satisfy constraint: Member must have length greater than or equal to ${opts.min}`,
    ]);
  }
  if (opts.max !== undefined && v.length > opts.max) {
    throw validationError([
      `Value at '${camel(field)}' failed to satisfy constraint: Member must have length less than or equal to ${opts.max}`,
    ]);
  }
  return v;
}

export function int(input: Input, field: string, opts: { min?: number; max?: number } = {}): number | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw typeError(field, 'integer');
  if (opts.min !== undefined && v < opts.min) {
    throw validationError([`Value '${v}' at '${camel(field)}' failed to satisfy constraint: Member must have value greater than or equal to ${opts.min}`]);
  }
  if (opts.max !== undefined && v > opts.max) {
    throw validationError([`Value '${v}' at '${camel(field)}' failed to satisfy constraint: Member must have value less than or equal to ${opts.max}`]);
  }
  return v;
}

export function bool(input: Input, field: string): boolean | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw typeError(field, 'boolean');
  return v;
}

export function strList(input: Input, field: string, opts: { required?: boolean; min?: number; max?: number } = {}): string[] | undefined {
  const v = input[field];
  if (v === undefined || v === null) {
    if (opts.required) throw validationError([`Value null at '${camel(field)}' failed to satisfy constraint: Member must not be null`]);
    return undefined;
  }
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw typeError(field, 'list of strings');
  if (opts.min !== undefined && v.length < opts.min) {
    throw validationError([`Value '[${v.join(', ')}]' at '${camel(field)}' failed to satisfy constraint: Member must have length greater than or equal to ${opts.min}`]);
  }
  if (opts.max !== undefined && v.length > opts.max) {
    throw validationError([`Value '[${v.join(', ')}]' at '${camel(field)}' failed to satisfy constraint: Member must have length less than or equal to ${opts.max}`]);
  }
  return v as string[];
}

const NAME_RE = /^[A-Za-z0-9/_+=.@-]+$/;

/** CreateSecret's Name: 1–512 characters of `A-Za-z0-9/_+=.@-`. */
export function secretName(input: Input): string {
  const name = str(input, 'Name', { required: true, min: 1, max: 512 })!;
  if (!NAME_RE.test(name)) {
    throw smError(
      'InvalidParameterException',
      'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
    );
  }
  return name;
}

export const MAX_VALUE_BYTES = 65_536;

/** SecretString / SecretBinary: at most one, each ≤ 64 KiB. */
export function secretValue(input: Input): { secretString?: string; secretBinary?: string } | undefined {
  const s = str(input, 'SecretString');
  const b = str(input, 'SecretBinary');
  if (s !== undefined && b !== undefined) {
    throw smError('InvalidParameterException', "You can't specify both a binary secret value and a string secret value in the same secret.");
  }
  if (s !== undefined) {
    if (Buffer.byteLength(s, 'utf8') > MAX_VALUE_BYTES) {
      throw validationError([`Value at 'secretString' failed to satisfy constraint: Member must have length less than or equal to ${MAX_VALUE_BYTES}`]);
    }
    return { secretString: s };
  }
  if (b !== undefined) {
    if (Buffer.from(b, 'base64').length > MAX_VALUE_BYTES) {
      throw validationError([`Value at 'secretBinary' failed to satisfy constraint: Member must have length less than or equal to ${MAX_VALUE_BYTES}`]);
    }
    return { secretBinary: b };
  }
  return undefined;
}

export function clientRequestToken(input: Input): string | undefined {
  return str(input, 'ClientRequestToken', { min: 32, max: 64 });
}

export const MAX_TAGS = 50;

export function tagList(input: Input, field = 'Tags'): Tag[] | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw typeError(field, 'list of tags');
  v.forEach((t: { Key?: unknown; Value?: unknown }, i) => {
    if (t === null || typeof t !== 'object') throw typeError(field, 'tag structure');
    const at = `${camel(field)}.${i + 1}.member`;
    if (typeof t.Key !== 'string') throw validationError([`Value null at '${at}.key' failed to satisfy constraint: Member must not be null`]);
    if (t.Key.length < 1 || t.Key.length > 128) {
      throw validationError([
        `Value '${t.Key}' at '${at}.key' failed to satisfy constraint: Member must have length ${t.Key.length < 1 ? 'greater than or equal to 1' : 'less than or equal to 128'}`,
      ]);
    }
    if (t.Value !== undefined && typeof t.Value !== 'string') throw typeError(field, 'tag value string');
    if (typeof t.Value === 'string' && t.Value.length > 256) {
      throw validationError([`Value at '${at}.value' failed to satisfy constraint: Member must have length less than or equal to 256`]);
    }
  });
  checkTagCount(v.length);
  return (v as Array<{ Key: string; Value?: string }>).map((t) => ({ Key: t.Key, Value: t.Value ?? '' }));
}

export function checkTagCount(n: number): void {
  if (n > MAX_TAGS) {
    throw validationError([`Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to ${MAX_TAGS}`]);
  }
}

/** Merges tags: a key already present takes the new value. */
export function mergeTags(existing: Tag[], added: Tag[]): Tag[] {
  const out = existing.map((t) => ({ ...t }));
  for (const t of added) {
    const i = out.findIndex((x) => x.Key === t.Key);
    if (i >= 0) out[i] = { ...t };
    else out.push({ ...t });
  }
  return out;
}
