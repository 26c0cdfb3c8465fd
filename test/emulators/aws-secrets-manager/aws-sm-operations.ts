/**
 * Secrets Manager operations over the in-memory store. Each handler validates
 * its input, asks `ctx.authorize` for the IAM action on the secret's ARN, then
 * applies AWS's semantics (versions, staging labels, idempotency tokens,
 * scheduled deletion) and returns the JSON body the SDKs deserialise.
 */
import { MSG, smError, validationError } from './aws-errors.js';
import { type Filter, matchesAll, paginate, validateFilters } from './aws-sm-list.js';
import { type SecretStore, type SecretVersion, type StoredSecret, versionByStage } from './aws-sm-store.js';
import {
  type Input,
  bool,
  checkTagCount,
  clientRequestToken,
  int,
  mergeTags,
  secretName,
  secretValue,
  str,
  strList,
  tagList,
} from './aws-sm-validation.js';

export interface OpContext {
  region: string;
  store: SecretStore;
  now(): number;
  /** throws AccessDeniedException unless the caller may perform `action` on `resource` */
  authorize(action: string, resource: string): void;
  /** the same decision, as a value (for per-secret errors of batch calls) */
  allowed(action: string, resource: string): string | undefined;
  forceDeleteDelayMs: number;
  /** set by handlers: the secret the call concerned, for the call log */
  secretName?: string;
}

type Handler = (input: Input, ctx: OpContext) => Record<string, unknown>;

const secs = (ms: number) => ms / 1000;
const DAY_MS = 86_400_000;

function secretIdOf(input: Input, ctx: OpContext): string {
  const id = str(input, 'SecretId', { required: true, min: 1, max: 2048 })!;
  ctx.secretName = id;
  return id;
}

/** Authorizes `op` on the secret (or the ARN it would have) and returns it if it exists. */
function lookup(op: string, input: Input, ctx: OpContext): StoredSecret {
  const id = secretIdOf(input, ctx);
  ctx.authorize(`secretsmanager:${op}`, ctx.store.resourceArn(ctx.region, id));
  const s = ctx.store.find(ctx.region, id);
  if (s === undefined) throw smError('ResourceNotFoundException', MSG.notFound);
  ctx.secretName = s.name;
  return s;
}

function sameValue(v: SecretVersion, value: { secretString?: string; secretBinary?: string } | undefined): boolean {
  return v.secretString === value?.secretString && v.secretBinary === value?.secretBinary;
}

/**
 * A ClientRequestToken naming an existing version: the same value makes the
 * request a no-op (returns that version), a different value is refused.
 */
function replayedVersion(s: StoredSecret, token: string | undefined, value: { secretString?: string; secretBinary?: string } | undefined): SecretVersion | undefined {
  if (token === undefined) return undefined;
  const v = s.versions.get(token);
  if (v === undefined) return undefined;
  if (!sameValue(v, value)) {
    throw smError(
      'ResourceExistsException',
      `You can't use ClientRequestToken ${token} because that value is already in use for a version of secret ${s.arn}.`,
    );
  }
  return v;
}

function labelledVersions(s: StoredSecret): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const v of s.versions.values()) if (v.stages.length > 0) out[v.versionId] = [...v.stages];
  return out;
}

function metadata(s: StoredSecret, versionsKey: 'VersionIdsToStages' | 'SecretVersionsToStages'): Record<string, unknown> {
  const out: Record<string, unknown> = { ARN: s.arn, Name: s.name };
  if (s.description !== undefined) out.Description = s.description;
  if (s.kmsKeyId !== undefined) out.KmsKeyId = s.kmsKeyId;
  out.LastChangedDate = secs(s.lastChangedDate);
  if (s.lastAccessedDate !== undefined) out.LastAccessedDate = secs(s.lastAccessedDate);
  if (s.deletedDate !== undefined) out.DeletedDate = secs(s.deletedDate);
  if (s.tags.length > 0) out.Tags = s.tags.map((t) => ({ ...t }));
  out[versionsKey] = labelledVersions(s);
  out.CreatedDate = secs(s.createdDate);
  return out;
}

function valueEntry(s: StoredSecret, v: SecretVersion): Record<string, unknown> {
  const out: Record<string, unknown> = { ARN: s.arn, Name: s.name, VersionId: v.versionId };
  if (v.secretString !== undefined) out.SecretString = v.secretString;
  if (v.secretBinary !== undefined) out.SecretBinary = v.secretBinary;
  out.VersionStages = [...v.stages];
  out.CreatedDate = secs(v.createdDate);
  return out;
}

function touchAccess(s: StoredSecret, now: number): void {
  s.lastAccessedDate = Math.floor(now / DAY_MS) * DAY_MS;
}

const createSecret: Handler = (input, ctx) => {
  const name = secretName(input);
  ctx.secretName = name;
  const value = secretValue(input);
  const token = clientRequestToken(input);
  const tags = tagList(input);
  const description = str(input, 'Description', { max: 2048 });
  const kmsKeyId = str(input, 'KmsKeyId', { max: 2048 });
  const existing = ctx.store.find(ctx.region, name);
  const arn = existing?.arn ?? ctx.store.newArn(ctx.region, name);
  ctx.authorize('secretsmanager:CreateSecret', arn);
  // Tagging on create needs the tagging permission as well.
  if (tags !== undefined && tags.length > 0) ctx.authorize('secretsmanager:TagResource', arn);
  if (existing !== undefined) {
    if (existing.deletedDate !== undefined) throw smError('InvalidRequestException', MSG.createScheduled);
    const replay = replayedVersion(existing, token, value);
    if (replay !== undefined) return { ARN: existing.arn, Name: existing.name, VersionId: replay.versionId };
    throw smError('ResourceExistsException', MSG.exists(name));
  }
  if (ctx.store.tombstoned(ctx.region, name)) throw smError('InvalidRequestException', MSG.createScheduled);
  const now = ctx.now();
  const s: StoredSecret = {
    name,
    arn,
    region: ctx.region,
    tags: tags ?? [],
    versions: new Map(),
    createdDate: now,
    lastChangedDate: now,
  };
  if (description !== undefined) s.description = description;
  if (kmsKeyId !== undefined) s.kmsKeyId = kmsKeyId;
  ctx.store.insert(s);
  const out: Record<string, unknown> = { ARN: s.arn, Name: s.name };
  if (value !== undefined) out.VersionId = ctx.store.addVersion(s, value, token).versionId;
  return out;
};

const updateSecret: Handler = (input, ctx) => {
  const value = secretValue(input);
  const token = clientRequestToken(input);
  const description = str(input, 'Description', { max: 2048 });
  const kmsKeyId = str(input, 'KmsKeyId', { max: 2048 });
  const s = lookup('UpdateSecret', input, ctx);
  if (value !== undefined) {
    const replay = replayedVersion(s, token, value);
    if (replay !== undefined) return { ARN: s.arn, Name: s.name, VersionId: replay.versionId };
  }
  if (s.deletedDate !== undefined) throw smError('InvalidRequestException', MSG.markedForDeletion);
  if (description !== undefined) s.description = description;
  if (kmsKeyId !== undefined) s.kmsKeyId = kmsKeyId;
  s.lastChangedDate = ctx.now();
  const out: Record<string, unknown> = { ARN: s.arn, Name: s.name };
  if (value !== undefined) out.VersionId = ctx.store.addVersion(s, value, token).versionId;
  return out;
};

const putSecretValue: Handler = (input, ctx) => {
  const value = secretValue(input);
  const token = clientRequestToken(input);
  const stages = strList(input, 'VersionStages', { min: 1, max: 20 });
  const s = lookup('PutSecretValue', input, ctx);
  if (value === undefined) {
    throw smError('InvalidParameterException', 'You must provide either SecretString or SecretBinary.');
  }
  const replay = replayedVersion(s, token, value);
  if (replay !== undefined) return { ARN: s.arn, Name: s.name, VersionId: replay.versionId, VersionStages: [...replay.stages] };
  if (s.deletedDate !== undefined) throw smError('InvalidRequestException', MSG.markedForDeletion);
  const v = ctx.store.addVersion(s, value, token, stages ?? ['AWSCURRENT']);
  return { ARN: s.arn, Name: s.name, VersionId: v.versionId, VersionStages: [...v.stages] };
};

function resolveVersion(s: StoredSecret, versionId: string | undefined, stage: string | undefined): SecretVersion {
  if (versionId !== undefined) {
    const v = s.versions.get(versionId);
    if (v === undefined) {
      throw smError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
    }
    if (stage !== undefined && !v.stages.includes(stage)) {
      throw smError('InvalidRequestException', 'You provided a VersionStage that is not associated to the provided VersionId.');
    }
    return v;
  }
  const label = stage ?? 'AWSCURRENT';
  const v = versionByStage(s, label);
  if (v === undefined) {
    throw smError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for staging label: ${label}`);
  }
  return v;
}

const getSecretValue: Handler = (input, ctx) => {
  const versionId = str(input, 'VersionId', { min: 32, max: 64 });
  const stage = str(input, 'VersionStage', { min: 1, max: 256 });
  const s = lookup('GetSecretValue', input, ctx);
  if (s.deletedDate !== undefined) throw smError('InvalidRequestException', MSG.markedForDeletion);
  const v = resolveVersion(s, versionId, stage);
  touchAccess(s, ctx.now());
  return valueEntry(s, v);
};

const describeSecret: Handler = (input, ctx) => {
  const s = lookup('DescribeSecret', input, ctx);
  return metadata(s, 'VersionIdsToStages');
};

function listingOptions(input: Input): { filters: Filter[]; sortOrder: string; fingerprint: string } {
  const filters = validateFilters(input.Filters);
  const sortOrder = str(input, 'SortOrder') ?? 'asc';
  if (sortOrder !== 'asc' && sortOrder !== 'desc') {
    throw smError('InvalidParameterException', `Invalid SortOrder: ${sortOrder}`);
  }
  return { filters, sortOrder, fingerprint: JSON.stringify([filters, sortOrder, input.IncludePlannedDeletion ?? false]) };
}

function sorted(items: StoredSecret[], order: string): StoredSecret[] {
  return order === 'desc' ? [...items].reverse() : items;
}

const listSecrets: Handler = (input, ctx) => {
  ctx.authorize('secretsmanager:ListSecrets', '*');
  const maxResults = int(input, 'MaxResults', { min: 1, max: 100 }) ?? 100;
  const include = bool(input, 'IncludePlannedDeletion') ?? false;
  const { filters, sortOrder, fingerprint } = listingOptions(input);
  const matching = ctx.store
    .list(ctx.region)
    .filter((s) => (include || s.deletedDate === undefined) && matchesAll(s, filters));
  const { page, next } = paginate(sorted(matching, sortOrder), maxResults, input.NextToken, fingerprint);
  const out: Record<string, unknown> = { SecretList: page.map((s) => metadata(s, 'SecretVersionsToStages')) };
  if (next !== undefined) out.NextToken = next;
  return out;
};

const batchGetSecretValue: Handler = (input, ctx) => {
  ctx.authorize('secretsmanager:BatchGetSecretValue', '*');
  const ids = strList(input, 'SecretIdList', { min: 1, max: 20 });
  const hasFilters = input.Filters !== undefined && input.Filters !== null;
  const maxResults = int(input, 'MaxResults', { min: 1, max: 20 });
  if (ids !== undefined && hasFilters) {
    throw smError('InvalidParameterException', "Either 'SecretIdList' or 'Filters' must be provided, but not both.");
  }
  if (ids === undefined && !hasFilters) {
    throw smError('InvalidParameterException', "Either 'SecretIdList' or 'Filters' must be provided.");
  }
  if (maxResults !== undefined && !hasFilters) {
    throw smError('InvalidParameterException', "'Filters' not specified. 'Filters' must also be specified when 'MaxResults' is provided.");
  }
  const values: Record<string, unknown>[] = [];
  const errors: Record<string, unknown>[] = [];
  const fetch = (id: string, s: StoredSecret | undefined): void => {
    const denied = ctx.allowed('secretsmanager:GetSecretValue', s?.arn ?? ctx.store.resourceArn(ctx.region, id));
    if (denied !== undefined) errors.push({ SecretId: id, ErrorCode: 'AccessDeniedException', Message: denied });
    else if (s === undefined) errors.push({ SecretId: id, ErrorCode: 'ResourceNotFoundException', Message: MSG.notFound });
    else if (s.deletedDate !== undefined) errors.push({ SecretId: id, ErrorCode: 'InvalidRequestException', Message: MSG.markedForDeletion });
    else {
      const v = versionByStage(s, 'AWSCURRENT');
      if (v === undefined) {
        errors.push({ SecretId: id, ErrorCode: 'ResourceNotFoundException', Message: "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT" });
      } else {
        touchAccess(s, ctx.now());
        values.push(valueEntry(s, v));
      }
    }
  };
  let next: string | undefined;
  if (ids !== undefined) {
    for (const id of ids) fetch(id, ctx.store.find(ctx.region, id));
  } else {
    const { filters, fingerprint } = listingOptions(input);
    const matching = ctx.store.list(ctx.region).filter((s) => s.deletedDate === undefined && matchesAll(s, filters));
    const paged = paginate(matching, maxResults ?? 20, input.NextToken, fingerprint);
    next = paged.next;
    for (const s of paged.page) fetch(s.arn, s);
  }
  const out: Record<string, unknown> = { SecretValues: values, Errors: errors };
  if (next !== undefined) out.NextToken = next;
  return out;
};

const deleteSecret: Handler = (input, ctx) => {
  const id = secretIdOf(input, ctx);
  const window = int(input, 'RecoveryWindowInDays');
  const force = bool(input, 'ForceDeleteWithoutRecovery') ?? false;
  ctx.authorize('secretsmanager:DeleteSecret', ctx.store.resourceArn(ctx.region, id));
  if (window !== undefined && force) {
    throw smError('InvalidParameterException', "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
  }
  if (window !== undefined && (window < 7 || window > 30)) {
    throw smError('InvalidParameterException', 'The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
  }
  const s = ctx.store.find(ctx.region, id);
  const now = ctx.now();
  if (s === undefined) {
    // AWS answers a forced deletion of an unknown secret with success.
    if (force) return { ARN: ctx.store.resourceArn(ctx.region, id), Name: id, DeletionDate: secs(now) };
    throw smError('ResourceNotFoundException', MSG.notFound);
  }
  ctx.secretName = s.name;
  if (force) {
    ctx.store.remove(s, ctx.forceDeleteDelayMs);
    return { ARN: s.arn, Name: s.name, DeletionDate: secs(now) };
  }
  if (s.deletedDate !== undefined) throw smError('InvalidRequestException', MSG.alreadyMarkedDeleted);
  s.deletedDate = now;
  s.deletionDate = now + (window ?? 30) * DAY_MS;
  return { ARN: s.arn, Name: s.name, DeletionDate: secs(s.deletionDate) };
};

const restoreSecret: Handler = (input, ctx) => {
  const s = lookup('RestoreSecret', input, ctx);
  delete s.deletedDate;
  delete s.deletionDate;
  s.lastChangedDate = ctx.now();
  return { ARN: s.arn, Name: s.name };
};

const tagResource: Handler = (input, ctx) => {
  const tags = tagList(input);
  if (tags === undefined) throw validationError(["Value null at 'tags' failed to satisfy constraint: Member must not be null"]);
  const s = lookup('TagResource', input, ctx);
  if (s.deletedDate !== undefined) throw smError('InvalidRequestException', MSG.markedForDeletion);
  const merged = mergeTags(s.tags, tags);
  checkTagCount(merged.length);
  s.tags = merged;
  s.lastChangedDate = ctx.now();
  return {};
};

const untagResource: Handler = (input, ctx) => {
  const keys = strList(input, 'TagKeys', { required: true });
  const s = lookup('UntagResource', input, ctx);
  if (s.deletedDate !== undefined) throw smError('InvalidRequestException', MSG.markedForDeletion);
  s.tags = s.tags.filter((t) => !keys!.includes(t.Key));
  s.lastChangedDate = ctx.now();
  return {};
};

const listSecretVersionIds: Handler = (input, ctx) => {
  const s = lookup('ListSecretVersionIds', input, ctx);
  const versions = [...s.versions.values()].map((v) => ({ VersionId: v.versionId, VersionStages: [...v.stages], CreatedDate: secs(v.createdDate) }));
  return { Versions: versions, ARN: s.arn, Name: s.name };
};

/** Operation name (X-Amz-Target suffix) → handler. */
export const SM_OPERATIONS: Readonly<Record<string, Handler>> = {
  CreateSecret: createSecret,
  UpdateSecret: updateSecret,
  PutSecretValue: putSecretValue,
  GetSecretValue: getSecretValue,
  DescribeSecret: describeSecret,
  ListSecrets: listSecrets,
  BatchGetSecretValue: batchGetSecretValue,
  DeleteSecret: deleteSecret,
  RestoreSecret: restoreSecret,
  TagResource: tagResource,
  UntagResource: untagResource,
  ListSecretVersionIds: listSecretVersionIds,
};
