/**
 * ListSecrets / BatchGetSecretValue filtering and pagination. Filter semantics
 * follow the API reference: name, tag-key and tag-value are case-sensitive
 * prefix matches, description and all are case-insensitive word-prefix
 * matches; a value starting with `!` negates (see filterMatches); values of one
 * filter are ORed,
 * filters are ANDed.
 */
import { AwsError, smError, validationError } from './aws-errors.js';
import type { StoredSecret } from './aws-sm-store.js';

export interface Filter {
  Key?: string;
  Values?: string[];
}

const FILTER_KEYS = ['description', 'name', 'tag-key', 'tag-value', 'primary-region', 'owning-service', 'all'];

export function validateFilters(filters: unknown): Filter[] {
  if (filters === undefined || filters === null) return [];
  if (!Array.isArray(filters)) throw new AwsError('SerializationException', 'Filters must be a list');
  if (filters.length > 10) {
    throw validationError(["Value at 'filters' failed to satisfy constraint: Member must have length less than or equal to 10"]);
  }
  filters.forEach((f: Filter, i) => {
    if (f.Key === undefined) throw smError('InvalidParameterException', 'Invalid filter key');
    if (!FILTER_KEYS.includes(f.Key)) {
      throw validationError([
        `Value '${f.Key}' at 'filters.${i + 1}.member.key' failed to satisfy constraint: Member must satisfy enum value set: [${FILTER_KEYS.join(', ')}]`,
      ]);
    }
    if (!Array.isArray(f.Values) || f.Values.length === 0) {
      throw smError('InvalidParameterException', `Invalid filter values for key: ${f.Key}`);
    }
    for (const v of f.Values) {
      if (typeof v !== 'string' || v.length > 512 || !/^!?[a-zA-Z0-9 :_@/+=.\-!]*$/.test(v)) {
        throw validationError([
          `Value '[${f.Values.join(', ')}]' at 'filters.${i + 1}.member.values' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 512, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [a-zA-Z0-9 :_@\\/\\+\\=\\.\\-\\!]+]`,
        ]);
      }
    }
  });
  return filters as Filter[];
}

function words(s: string): string[] {
  return s
    .split(/[\s/_+=.@:-]+/)
    .flatMap((w) => w.split(/(?<=[a-z0-9])(?=[A-Z])/))
    .filter((w) => w !== '')
    .map((w) => w.toLowerCase());
}

function prefixMatch(pattern: string, values: string[], caseSensitive: boolean): boolean {
  const p = caseSensitive ? pattern : pattern.toLowerCase();
  return values.some((v) => (caseSensitive ? v : v.toLowerCase()).startsWith(p));
}

function wordMatch(pattern: string, values: string[]): boolean {
  const pw = words(pattern);
  if (pw.length === 0) return false;
  return values.some((v) => {
    const vw = words(v);
    return pw.every((p) => vw.some((w) => w.startsWith(p)));
  });
}

function attributeValues(s: StoredSecret, key: string): string[] {
  switch (key) {
    case 'name':
      return [s.name];
    case 'description':
      return s.description ? [s.description] : [];
    case 'tag-key':
      return s.tags.map((t) => t.Key);
    case 'tag-value':
      return s.tags.map((t) => t.Value);
    case 'primary-region':
      return [];
    case 'owning-service':
      return [];
    default:
      return [s.name, ...(s.description ? [s.description] : []), ...s.tags.map((t) => t.Key), ...s.tags.map((t) => t.Value)];
  }
}

function filterMatches(s: StoredSecret, f: Filter): boolean {
  const key = f.Key!;
  const values = attributeValues(s, key);
  const test = (pattern: string, value: string): boolean =>
    key === 'all' || key === 'description' ? wordMatch(pattern, [value]) : prefixMatch(pattern, [value], true);
  // As observed on AWS (and mirrored by moto): a negated value matches when some
  // attribute value does not start with it; a secret without such attributes
  // (e.g. no tags) matches neither form.
  return f.Values!.some((v) => (v.startsWith('!') ? values.some((x) => !test(v.slice(1), x)) : values.some((x) => test(v, x))));
}

export function matchesAll(s: StoredSecret, filters: Filter[]): boolean {
  return filters.every((f) => filterMatches(s, f));
}

/** Opaque NextToken: base64 of the offset plus a fingerprint of the query. */
export function paginate<T>(items: T[], maxResults: number, nextToken: unknown, fingerprint: string): { page: T[]; next?: string } {
  let start = 0;
  if (nextToken !== undefined && nextToken !== null) {
    const decoded = typeof nextToken === 'string' ? Buffer.from(nextToken, 'base64url').toString('utf8') : '';
    const m = /^(\d+)\|(.*)$/s.exec(decoded);
    if (!m || m[2] !== fingerprint) throw smError('InvalidNextTokenException', 'The NextToken value is invalid.');
    start = Number(m[1]);
  }
  const page = items.slice(start, start + maxResults);
  const end = start + page.length;
  return end < items.length ? { page, next: Buffer.from(`${end}|${fingerprint}`).toString('base64url') } : { page };
}
