/**
 * aws-sm connection fields: declaration, parsing into a typed config,
 * validation (400s naming the field) and name normalisation.
 */
import { BadRequestError } from '../../errors.js';
import { toInt } from '../../http/field-coercion.js';
import type { ConnectionFieldSpec, DestinationOptions } from '../destination.js';

export const AWS_SM_DEFAULT_TEMPLATE = 'vault/{{ .MountAccessor }}/{{ .SecretPath }}';
/** Tag every synced secret carries so that IAM policies can condition on it. */
export const VAULT_TAG_KEY = 'hashicorp:vault';
export const MAX_SECRET_BYTES = 65_536;
export const MAX_NAME_LENGTH = 512;
/** 50 per secret, one of which is the built-in tag */
export const MAX_CUSTOM_TAGS = 49;

export const awsSmConnectionFields: Record<string, ConnectionFieldSpec> = {
  access_key_id: { spec: { type: 'string' }, credential: true },
  secret_access_key: { spec: { type: 'string' }, credential: true },
  region: { spec: { type: 'string' }, immutable: true },
  role_arn: { spec: { type: 'string' } },
  external_id: { spec: { type: 'string' } },
  kms_key_id: { spec: { type: 'string' } },
  /** our extension: an AWS-compatible endpoint (the SSRF guard applies to it) */
  endpoint_url: { spec: { type: 'string' } },
  /** our extension: unset = ForceDeleteWithoutRecovery on unsync */
  recovery_window_days: { spec: { type: 'int', unsigned: true } },
};

export interface AwsSmConfig {
  accessKeyId?: string;
  secretAccessKey?: string;
  /** as configured; the effective region is resolved from the environment when absent */
  region?: string;
  roleArn?: string;
  externalId?: string;
  kmsKeyId?: string;
  endpointUrl?: string;
  recoveryWindowDays?: number;
}

function optString(conn: Record<string, unknown>, field: string): string | undefined {
  const v = conn[field];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new BadRequestError(`${field}: expected a string`);
  return v.trim() === '' ? undefined : v;
}

/** Reads a (coerced) connection map; empty strings count as unset. */
export function parseAwsSmConfig(conn: Record<string, unknown>): AwsSmConfig {
  const cfg: AwsSmConfig = {};
  const set = <K extends keyof AwsSmConfig>(k: K, v: AwsSmConfig[K] | undefined): void => {
    if (v !== undefined) cfg[k] = v;
  };
  set('accessKeyId', optString(conn, 'access_key_id'));
  set('secretAccessKey', optString(conn, 'secret_access_key'));
  set('region', optString(conn, 'region')?.trim());
  set('roleArn', optString(conn, 'role_arn')?.trim());
  set('externalId', optString(conn, 'external_id'));
  set('kmsKeyId', optString(conn, 'kms_key_id')?.trim());
  set('endpointUrl', optString(conn, 'endpoint_url')?.trim());
  const rw = conn.recovery_window_days;
  if (rw !== undefined && rw !== null && rw !== '' && rw !== 0) set('recoveryWindowDays', toInt('recovery_window_days', rw, true));
  return cfg;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const KMS_KEY = [
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  /^mrk-[0-9a-f]{32}$/i,
  /^alias\/[\w/+=,.@-]{1,250}$/,
  /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[\w/+=,.@-]{1,256}$/,
];
/** AWS tag characters: letters, digits, spaces and `_ . : / = + - @` */
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** Throws BadRequestError naming the first invalid field. */
export function validateAwsSm(conn: Record<string, unknown>, options: DestinationOptions): void {
  const cfg = parseAwsSmConfig(conn);
  if ((cfg.accessKeyId === undefined) !== (cfg.secretAccessKey === undefined)) {
    throw new BadRequestError(
      `${cfg.accessKeyId === undefined ? 'access_key_id' : 'secret_access_key'}: access_key_id and secret_access_key must be set together (or neither, to use the default credential chain)`,
    );
  }
  if (cfg.region !== undefined && !REGION.test(cfg.region)) {
    throw new BadRequestError(`region: ${JSON.stringify(cfg.region)} is not a valid AWS region (e.g. us-east-1)`);
  }
  if (cfg.roleArn !== undefined && !ROLE_ARN.test(cfg.roleArn)) {
    throw new BadRequestError('role_arn: expected an IAM role ARN such as arn:aws:iam::123456789012:role/name');
  }
  if (cfg.externalId !== undefined && !EXTERNAL_ID.test(cfg.externalId)) {
    throw new BadRequestError('external_id: must be 2-1224 characters of letters, digits and +=,.@:/-');
  }
  if (cfg.kmsKeyId !== undefined && !KMS_KEY.some((r) => r.test(cfg.kmsKeyId!))) {
    throw new BadRequestError('kms_key_id: expected a KMS key id, key ARN, alias name (alias/...) or alias ARN');
  }
  if (cfg.endpointUrl !== undefined) validateEndpointUrl(cfg.endpointUrl);
  if (cfg.recoveryWindowDays !== undefined && (cfg.recoveryWindowDays < 7 || cfg.recoveryWindowDays > 30)) {
    throw new BadRequestError('recovery_window_days: must be between 7 and 30 (or unset for immediate deletion)');
  }
  validateAwsTags(options.customTags);
}

function validateEndpointUrl(s: string): void {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new BadRequestError('endpoint_url: not a valid URL');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new BadRequestError('endpoint_url: must be an http or https URL');
  if (u.username || u.password) throw new BadRequestError('endpoint_url: must not contain credentials');
  if (u.search || u.hash) throw new BadRequestError('endpoint_url: must not contain a query or fragment');
}

/** custom_tags under AWS's tag rules (the built-in `hashicorp:vault` is added by the client). */
export function validateAwsTags(tags: Record<string, string>): void {
  const keys = Object.keys(tags);
  if (keys.length > MAX_CUSTOM_TAGS) {
    throw new BadRequestError(`custom_tags: at most ${MAX_CUSTOM_TAGS} tags (AWS allows 50 per secret, one is ${VAULT_TAG_KEY})`);
  }
  for (const k of keys) {
    const v = tags[k]!;
    if (k.length === 0 || [...k].length > 128) throw new BadRequestError(`custom_tags: tag key ${JSON.stringify(k.slice(0, 130))} must be 1-128 characters`);
    if (k.toLowerCase().startsWith('aws:')) throw new BadRequestError(`custom_tags: tag key ${JSON.stringify(k)} uses the reserved prefix "aws:"`);
    if (k === VAULT_TAG_KEY) throw new BadRequestError(`custom_tags: tag key ${JSON.stringify(k)} is reserved for the built-in tag`);
    if (!TAG_CHARS.test(k)) throw new BadRequestError(`custom_tags: tag key ${JSON.stringify(k)} may contain only letters, digits, spaces and _ . : / = + - @`);
    if (typeof v !== 'string' || [...v].length > 256) throw new BadRequestError(`custom_tags: value of tag ${JSON.stringify(k)} must be at most 256 characters`);
    if (!TAG_CHARS.test(v)) throw new BadRequestError(`custom_tags: value of tag ${JSON.stringify(k)} may contain only letters, digits, spaces and _ . : / = + - @`);
  }
}

/** AWS names allow `A-Za-z0-9/_+=.@-`, up to 512 characters: others become `_`, the rest is cut. */
export function normalizeAwsSmName(name: string): string {
  return name.replace(/[^A-Za-z0-9/_+=.@-]/gu, '_').slice(0, MAX_NAME_LENGTH);
}

export function isValidAwsSmName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_NAME_LENGTH && /^[A-Za-z0-9/_+=.@-]+$/.test(name);
}

/** Region: configured, else AWS_REGION / AWS_DEFAULT_REGION, else us-east-1. */
export function effectiveRegion(cfg: AwsSmConfig, env: Record<string, string | undefined>): string {
  return cfg.region ?? (env.AWS_REGION || undefined) ?? (env.AWS_DEFAULT_REGION || undefined) ?? 'us-east-1';
}

/**
 * Endpoints as the SDK resolves them when none is given — `endpoint_url`, else
 * `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL` (unless
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS) — resolved here so that the same rule is
 * visible, testable and applied to STS too.
 */
export function effectiveEndpoints(
  cfg: AwsSmConfig,
  env: Record<string, string | undefined>,
): { secretsManager: string | undefined; sts: string | undefined } {
  if (cfg.endpointUrl) return { secretsManager: cfg.endpointUrl, sts: cfg.endpointUrl };
  if (/^(true|1)$/i.test(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '')) return { secretsManager: undefined, sts: undefined };
  const global = env.AWS_ENDPOINT_URL || undefined;
  return {
    secretsManager: env.AWS_ENDPOINT_URL_SECRETS_MANAGER || global,
    sts: env.AWS_ENDPOINT_URL_STS || global,
  };
}
