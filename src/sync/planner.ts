/**
 * The pure sync planner: from the source's current state and what the
 * destination last received, decide the external writes and deletes. No I/O;
 * hashing is injected so the planner never needs the key.
 */
import { DestinationError, type Granularity } from '../destinations/destination.js';
import type { CompiledTemplate, NameTemplateContext } from './name-template.js';
import type { ExternalEntry } from './sync-types.js';

export type SourceState =
  /** the latest active version's data */
  | { kind: 'data'; version: number; data: Record<string, unknown> }
  /** no active version, metadata gone, or the association is being removed */
  | { kind: 'none' };

export interface PlanInput {
  source: SourceState;
  granularity: Granularity;
  template: CompiledTemplate;
  /** template fields except SecretKey */
  context: NameTemplateContext;
  normalize: (name: string) => string;
  customTags: Record<string, string>;
  previous: Record<string, ExternalEntry>;
  /** keyed hash of what a write carries */
  hash: (name: string, value: string, tags: Record<string, string>) => string;
}

export interface PlannedUpsert {
  /** '' for secret-path, else the KV key */
  key: string;
  name: string;
  value: string;
  hash: string;
  removedTagKeys: string[];
  /** the external secret exists under this name with exactly these tags (our last write) */
  tagsUnchanged: boolean;
}

export interface Plan {
  upserts: PlannedUpsert[];
  deletes: Array<{ key: string; name: string }>;
  /** the external state once every operation has succeeded */
  next: Record<string, ExternalEntry>;
}

/** Go's json.Marshal of a map sorts keys; we do too, so equal data gives an equal string. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** The external values a source state maps to, keyed by '' or the KV key. */
export function desiredValues(source: SourceState, granularity: Granularity): Map<string, string> {
  const out = new Map<string, string>();
  if (source.kind === 'none') return out;
  if (granularity === 'secret-path') out.set('', stableJson(source.data));
  else for (const [k, v] of Object.entries(source.data)) out.set(k, typeof v === 'string' ? v : stableJson(v));
  return out;
}

export function plan(input: PlanInput): Plan {
  const upserts: PlannedUpsert[] = [];
  const deletes: Array<{ key: string; name: string }> = [];
  const next: Record<string, ExternalEntry> = {};
  const tagKeys = Object.keys(input.customTags).sort();
  const tagsSig = stableJson(input.customTags);
  const wanted = new Set<string>();
  for (const [key, value] of desiredValues(input.source, input.granularity)) {
    const ctx = input.granularity === 'secret-key' ? { ...input.context, SecretKey: key } : input.context;
    const name = input.normalize(input.template.render(ctx));
    if (wanted.has(name)) {
      // Two KV keys landing on one external secret would silently overwrite each other.
      const other = [...Object.entries(next)].find(([, e]) => e.name === name)?.[0] ?? '';
      throw new DestinationError('CLIENT_SIDE_ERROR', `keys "${other}" and "${key}" both map to the external name ${name}; rename one of them or change secret_name_template`, { retryable: false });
    }
    wanted.add(name);
    const hash = input.hash(name, value, input.customTags);
    const prev = input.previous[key];
    next[key] = { name, hash, tagKeys, tagsSig };
    if (prev && prev.name === name && prev.hash === hash) continue;
    const removedTagKeys = prev && prev.name === name ? prev.tagKeys.filter((t) => !(t in input.customTags)) : [];
    upserts.push({ key, name, value, hash, removedTagKeys, tagsUnchanged: prev?.name === name && prev.tagsSig === tagsSig });
  }
  for (const [key, prev] of Object.entries(input.previous)) {
    // A renamed or vanished external secret is deleted, unless another key now writes that name.
    if (next[key]?.name === prev.name) continue;
    if (!wanted.has(prev.name)) deletes.push({ key, name: prev.name });
  }
  return { upserts, deletes, next };
}
