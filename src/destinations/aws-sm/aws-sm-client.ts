/**
 * The aws-sm destination client. It needs no more than the brief's narrow IAM
 * policy (`Create*`, `Update*`, `Delete*`, `TagResource` on `vault*`):
 *
 * - upsert = CreateSecret (value + tags); on ResourceExistsException →
 *   UpdateSecret + TagResource, then UntagResource for removed tag keys (a
 *   denial degrades to a warning); when the engine knows it wrote the name
 *   before, UpdateSecret comes first and CreateSecret only if it is gone;
 * - a name still held by a deletion (AWS finishes a forced delete
 *   asynchronously) is retried with backoff for a bounded time, and
 *   RestoreSecret is tried where the policy permits it;
 * - delete = DeleteSecret with ForceDeleteWithoutRecovery (so the name can be
 *   reused), or a recovery window when `recovery_window_days` is set.
 *
 * Retries of throttling, 5xx and network errors are the SDK's (standard mode);
 * every connection goes through the outbound network guard.
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretCommand,
  type Tag,
} from '@aws-sdk/client-secrets-manager';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import {
  DestinationError,
  secretFragments,
  type ClientDeps,
  type DestinationClient,
  type DestinationOptions,
  type UpsertRequest,
  type UpsertResult,
} from '../destination.js';
import { NetGuard, createGuardedAgent } from '../net-guard.js';
import {
  MAX_NAME_LENGTH,
  MAX_SECRET_BYTES,
  VAULT_TAG_KEY,
  effectiveEndpoints,
  effectiveRegion,
  isValidAwsSmName,
  type AwsSmConfig,
} from './aws-sm-config.js';
import { assumeRoleProvider, type AwsCredentials, type ManagedCredentialProvider } from './aws-sm-credentials.js';
import { awsErrorInfo, classifyAwsError, hasAwsCode } from './aws-sm-errors.js';

export interface AwsSmTuning {
  /** SDK attempts per call, including the first (default 3) */
  maxAttempts?: number;
  /** TCP/TLS connect timeout (default 5 s) */
  connectionTimeoutMs?: number;
  /** whole-response timeout per attempt (default 15 s) */
  requestTimeoutMs?: number;
  /** how long upsert keeps retrying a name still held by a deletion (default 20 s) */
  recreateWaitMs?: number;
  /** first backoff step of that wait (default 250 ms, doubling, at most 2 s) */
  recreateBackoffMs?: number;
}

export const TAG_REMOVAL_DENIED_WARNING = "tag removal not permitted by the destination's IAM policy";

/** UpdateSecret found no secret after CreateSecret said it exists (a concurrent delete). */
class SecretVanished extends DestinationError {
  constructor(cause: DestinationError) {
    super(cause.status, cause.message, { retryable: true });
  }
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function isScheduledForDeletion(err: unknown): boolean {
  const info = awsErrorInfo(err);
  return info?.code === 'InvalidRequestException' && /(scheduled|marked) for deletion|marked deleted/i.test(info.message);
}

export class AwsSmClient implements DestinationClient {
  private readonly sm: SecretsManagerClient;
  private readonly roleCredentials: ManagedCredentialProvider | undefined;
  private readonly now: () => number;
  private readonly logger: ClientDeps['logger'];
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly tuning: Required<AwsSmTuning>;
  /** remembered after the first AccessDenied so that we do not ask again on every upsert */
  private restorePermitted = true;
  private closed = false;

  constructor(
    private readonly cfg: AwsSmConfig,
    options: DestinationOptions,
    deps: ClientDeps = {},
    tuning: AwsSmTuning = {},
  ) {
    const env = deps.env ?? process.env;
    this.now = deps.now ?? Date.now;
    this.logger = deps.logger;
    this.sleep = deps.sleep ?? defaultSleep;
    this.tuning = {
      maxAttempts: tuning.maxAttempts ?? 3,
      connectionTimeoutMs: tuning.connectionTimeoutMs ?? 5_000,
      requestTimeoutMs: tuning.requestTimeoutMs ?? 15_000,
      recreateWaitMs: tuning.recreateWaitMs ?? 20_000,
      recreateBackoffMs: tuning.recreateBackoffMs ?? 250,
    };
    const guard = deps.guard ?? new NetGuard(options);
    const { httpAgent, httpsAgent } = createGuardedAgent(guard);
    const requestHandler = new NodeHttpHandler({
      httpAgent,
      httpsAgent,
      connectionTimeout: this.tuning.connectionTimeoutMs,
      requestTimeout: this.tuning.requestTimeoutMs,
      // without it smithy only logs a warning when requestTimeout passes
      throwOnRequestTimeout: true,
    });
    const region = effectiveRegion(cfg, env);
    const endpoints = effectiveEndpoints(cfg, env);
    const staticCredentials: AwsCredentials | undefined =
      cfg.accessKeyId && cfg.secretAccessKey ? { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey } : undefined;
    // external_id is ignored without role_arn, as in Vault.
    this.roleCredentials = cfg.roleArn
      ? assumeRoleProvider({
          roleArn: cfg.roleArn,
          ...(cfg.externalId ? { externalId: cfg.externalId } : {}),
          region,
          ...(endpoints.sts ? { endpoint: endpoints.sts } : {}),
          ...(staticCredentials ? { baseCredentials: staticCredentials } : {}),
          requestHandler,
          now: this.now,
          secrets: this.credentialSecrets(),
        })
      : undefined;
    const credentials = this.roleCredentials ?? staticCredentials;
    this.sm = new SecretsManagerClient({
      region,
      ...(endpoints.secretsManager ? { endpoint: endpoints.secretsManager } : {}),
      // absent: the SDK's default chain (env, shared files, SSO, container/instance roles)
      ...(credentials ? { credentials } : {}),
      requestHandler,
      maxAttempts: this.tuning.maxAttempts,
      retryMode: 'standard',
    });
  }

  async upsert(req: UpsertRequest): Promise<UpsertResult> {
    try {
      return await this.doUpsert(req);
    } catch (err) {
      // every path classifies; this is the net under it
      if (err instanceof DestinationError) throw err;
      throw this.classify(err, 'upsert', req.name, [...secretFragments(req.value), ...this.credentialSecrets()]);
    }
  }

  private async doUpsert(req: UpsertRequest, retried = false): Promise<UpsertResult> {
    this.assertOpen();
    const { name, value } = req;
    if (!isValidAwsSmName(name)) {
      throw new DestinationError(
        'CLIENT_SIDE_ERROR',
        `invalid AWS Secrets Manager name ${JSON.stringify(name.slice(0, MAX_NAME_LENGTH + 1))}: 1-${MAX_NAME_LENGTH} characters of A-Za-z0-9/_+=.@-`,
        { retryable: false },
      );
    }
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > MAX_SECRET_BYTES) {
      throw new DestinationError('CLIENT_SIDE_ERROR', `value is ${bytes} bytes; AWS Secrets Manager allows at most ${MAX_SECRET_BYTES}`, {
        retryable: false,
      });
    }
    if (req.idempotencyToken.length < 32 || req.idempotencyToken.length > 64) {
      throw new DestinationError('INTERNAL_VAULT_ERROR', 'idempotency token must be 32-64 characters', { retryable: false });
    }
    const secrets = [...secretFragments(value), ...this.credentialSecrets()];
    const tags: Tag[] = Object.entries({ ...req.tags, [VAULT_TAG_KEY]: '' }).map(([Key, Value]) => ({ Key, Value }));
    const kms = this.cfg.kmsKeyId ? { KmsKeyId: this.cfg.kmsKeyId } : {};

    const create = () =>
      this.send('CreateSecret', name, secrets, () =>
        this.sm.send(new CreateSecretCommand({ Name: name, SecretString: value, ClientRequestToken: req.idempotencyToken, Tags: tags, ...kms })),
      );

    if (req.knownToExist && !retried) {
      try {
        return await this.update(req, tags, secrets, false, req.tagsUnchanged === true);
      } catch (e) {
        // deleted at AWS since our last write: create it below
        if (!(e instanceof SecretVanished)) throw e;
      }
    }
    try {
      await create();
      return { action: 'created', warnings: [] };
    } catch (err) {
      if (hasAwsCode(err, 'ResourceExistsException')) {
        try {
          return await this.update(req, tags, secrets);
        } catch (e) {
          // deleted between our CreateSecret and UpdateSecret: start over, once
          if (e instanceof SecretVanished && !retried) return this.doUpsert(req, true);
          throw e;
        }
      }
      if (!isScheduledForDeletion(err)) throw this.classify(err, 'CreateSecret', name, secrets);
    }
    return this.createOverPendingDeletion(req, tags, secrets, create);
  }

  /** The name is held by a deletion: a forced delete frees it shortly; a recovery window only by RestoreSecret. */
  private async createOverPendingDeletion(
    req: UpsertRequest,
    tags: Tag[],
    secrets: string[],
    create: () => Promise<unknown>,
  ): Promise<UpsertResult> {
    const { name } = req;
    // With a recovery window configured the name is likely held for days: restore first.
    if (this.cfg.recoveryWindowDays !== undefined && (await this.tryRestore(name, secrets))) return this.update(req, tags, secrets);
    this.logger?.debug({ destination: 'aws-sm', secretName: name }, 'name held by a pending deletion; retrying CreateSecret');
    const deadline = this.now() + this.tuning.recreateWaitMs;
    let delay = this.tuning.recreateBackoffMs;
    while (this.now() < deadline) {
      await this.sleep(Math.min(delay, Math.max(0, deadline - this.now())));
      delay = Math.min(delay * 2, 2_000);
      try {
        await create();
        return { action: 'created', warnings: [] };
      } catch (err) {
        if (hasAwsCode(err, 'ResourceExistsException')) return this.update(req, tags, secrets);
        if (!isScheduledForDeletion(err)) throw this.classify(err, 'CreateSecret', name, secrets);
      }
    }
    if (this.cfg.recoveryWindowDays === undefined && (await this.tryRestore(name, secrets))) return this.update(req, tags, secrets);
    throw new DestinationError(
      'CLIENT_SIDE_ERROR',
      `CreateSecret ${name}: a secret with this name is still scheduled for deletion after ${Math.round(this.tuning.recreateWaitMs / 1000)}s` +
        (this.restorePermitted ? '' : ' and RestoreSecret is not permitted by the IAM policy') +
        '; a forced deletion frees the name shortly, a recovery window only when it ends or the secret is restored',
      { retryable: true },
    );
  }

  private async update(req: UpsertRequest, tags: Tag[], secrets: string[], restored = false, tagsCurrent = false): Promise<UpsertResult> {
    const { name } = req;
    const kms = this.cfg.kmsKeyId ? { KmsKeyId: this.cfg.kmsKeyId } : {};
    try {
      await this.send('UpdateSecret', name, secrets, () =>
        this.sm.send(new UpdateSecretCommand({ SecretId: name, SecretString: req.value, ClientRequestToken: req.idempotencyToken, ...kms })),
      );
    } catch (err) {
      if (isScheduledForDeletion(err)) {
        if (!restored && (await this.tryRestore(name, secrets))) return this.update(req, tags, secrets, true, tagsCurrent);
        throw new DestinationError(
          'CLIENT_SIDE_ERROR',
          `UpdateSecret ${name}: the secret is marked for deletion at AWS` +
            (this.restorePermitted ? ' and could not be restored' : ' and RestoreSecret is not permitted by the IAM policy') +
            '; restore it (aws secretsmanager restore-secret) or wait until the deletion completes',
          { retryable: true },
        );
      }
      const classified = this.classify(err, 'UpdateSecret', name, secrets);
      throw hasAwsCode(err, 'ResourceNotFoundException') ? new SecretVanished(classified) : classified;
    }
    if (!tagsCurrent) {
      try {
        await this.send('TagResource', name, secrets, () => this.sm.send(new TagResourceCommand({ SecretId: name, Tags: tags })));
      } catch (err) {
        throw this.classify(err, 'TagResource', name, secrets);
      }
    }
    const warnings: string[] = [];
    const current = new Set(tags.map((t) => t.Key));
    const removed = [...new Set(req.removedTagKeys)].filter((k) => !current.has(k) && k !== VAULT_TAG_KEY);
    if (removed.length > 0) {
      try {
        await this.send('UntagResource', name, secrets, () => this.sm.send(new UntagResourceCommand({ SecretId: name, TagKeys: removed })));
      } catch (err) {
        if (!hasAwsCode(err, 'AccessDeniedException', 'AccessDenied')) throw this.classify(err, 'UntagResource', name, secrets);
        warnings.push(`${TAG_REMOVAL_DENIED_WARNING} (UntagResource denied); tag keys left on ${name}: ${removed.join(', ')}`);
        this.logger?.warn({ destination: 'aws-sm', secretName: name, tagKeys: removed }, TAG_REMOVAL_DENIED_WARNING);
      }
    }
    return { action: 'updated', warnings };
  }

  /** RestoreSecret where permitted; false when denied or not restorable (e.g. a forced deletion in progress). */
  private async tryRestore(name: string, secrets: string[]): Promise<boolean> {
    if (!this.restorePermitted) return false;
    try {
      await this.send('RestoreSecret', name, secrets, () => this.sm.send(new RestoreSecretCommand({ SecretId: name })));
      return true;
    } catch (err) {
      if (hasAwsCode(err, 'AccessDeniedException', 'AccessDenied')) {
        this.restorePermitted = false;
        return false;
      }
      if (hasAwsCode(err, 'InvalidRequestException', 'ResourceNotFoundException')) return false;
      throw this.classify(err, 'RestoreSecret', name, secrets);
    }
  }

  async delete(name: string): Promise<void> {
    this.assertOpen();
    const secrets = this.credentialSecrets();
    const window = this.cfg.recoveryWindowDays;
    try {
      await this.send('DeleteSecret', name, secrets, () =>
        this.sm.send(
          new DeleteSecretCommand(
            window === undefined ? { SecretId: name, ForceDeleteWithoutRecovery: true } : { SecretId: name, RecoveryWindowInDays: window },
          ),
        ),
      );
    } catch (err) {
      if (hasAwsCode(err, 'ResourceNotFoundException')) return;
      // Already scheduled for deletion: it is going away, which is what we asked for.
      if (isScheduledForDeletion(err)) return;
      throw this.classify(err, 'DeleteSecret', name, secrets);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.roleCredentials?.close();
    this.sm.destroy();
  }

  /** One SDK call; with assumed-role credentials an expired session is refreshed and the call retried once. */
  private async send<T>(operation: string, name: string, secrets: string[], call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (this.roleCredentials && hasAwsCode(err, 'ExpiredTokenException', 'ExpiredToken')) {
        this.roleCredentials.invalidate();
        try {
          return await call();
        } catch (err2) {
          throw this.keepAwsCode(err2, operation, name, secrets);
        }
      }
      throw this.keepAwsCode(err, operation, name, secrets);
    }
  }

  /** AWS service errors pass through (callers branch on their codes); everything else is classified here. */
  private keepAwsCode(err: unknown, operation: string, name: string, secrets: string[]): unknown {
    if (err instanceof DestinationError) return err;
    if (awsErrorInfo(err)) return err;
    return this.classify(err, operation, name, secrets);
  }

  private classify(err: unknown, operation: string, name: string, secrets: string[]): DestinationError {
    return classifyAwsError(err, { operation, name, secrets });
  }

  private credentialSecrets(): string[] {
    return [this.cfg.secretAccessKey, this.cfg.accessKeyId, this.cfg.externalId].filter((s): s is string => !!s);
  }

  private assertOpen(): void {
    if (this.closed) throw new DestinationError('INTERNAL_VAULT_ERROR', 'aws-sm client used after close', { retryable: false });
  }
}
