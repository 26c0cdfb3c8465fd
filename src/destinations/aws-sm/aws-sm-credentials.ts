/**
 * Credentials for the aws-sm client: static keys, the SDK's default chain, or
 * STS AssumeRole (role_arn + external_id) on top of either, cached and
 * refreshed before expiry.
 */
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { NodeHttpHandler } from '@smithy/node-http-handler';
import { DestinationError } from '../destination.js';
import { classifyAwsError } from './aws-sm-errors.js';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** An SDK credential provider we control the cache of (`memoized` tells the SDK not to wrap it). */
export interface ManagedCredentialProvider {
  (): Promise<AwsCredentials>;
  memoized: true;
  /** drops the cached credentials (after the service called them expired) */
  invalidate(): void;
  close(): void;
}

export interface AssumeRoleOptions {
  roleArn: string;
  externalId?: string;
  region: string;
  endpoint?: string;
  /** static keys, or undefined for the SDK's default chain */
  baseCredentials?: AwsCredentials;
  requestHandler: NodeHttpHandler;
  now?: () => number;
  /** refresh this long before expiry (default 5 minutes) */
  refreshBeforeMs?: number;
  durationSeconds?: number;
  sessionName?: string;
  /** never to appear in messages */
  secrets?: string[];
}

export function assumeRoleProvider(opts: AssumeRoleOptions): ManagedCredentialProvider {
  const now = opts.now ?? Date.now;
  const refreshBefore = opts.refreshBeforeMs ?? 5 * 60_000;
  const sts = new STSClient({
    region: opts.region,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(opts.baseCredentials ? { credentials: opts.baseCredentials } : {}),
    requestHandler: opts.requestHandler,
    maxAttempts: 3,
    retryMode: 'standard',
  });
  let cached: AwsCredentials | undefined;
  let inflight: Promise<AwsCredentials> | undefined;

  const fresh = (c: AwsCredentials | undefined): c is AwsCredentials =>
    c !== undefined && (c.expiration === undefined || c.expiration.getTime() - now() > refreshBefore);

  const fetchCredentials = async (): Promise<AwsCredentials> => {
    let out;
    try {
      out = await sts.send(
        new AssumeRoleCommand({
          RoleArn: opts.roleArn,
          RoleSessionName: opts.sessionName ?? 'secrets-sync',
          DurationSeconds: opts.durationSeconds ?? 3600,
          ...(opts.externalId ? { ExternalId: opts.externalId } : {}),
        }),
      );
    } catch (err) {
      throw classifyAwsError(err, { operation: 'AssumeRole', name: opts.roleArn, secrets: opts.secrets ?? [] });
    }
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) {
      throw new DestinationError('EXTERNAL_SERVICE_ERROR', `AssumeRole ${opts.roleArn}: the response carried no credentials`);
    }
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
      ...(c.Expiration ? { expiration: c.Expiration } : {}),
    };
  };

  const provider = async (): Promise<AwsCredentials> => {
    if (fresh(cached)) return cached;
    inflight ??= fetchCredentials().finally(() => {
      inflight = undefined;
    });
    const c = await inflight;
    cached = c;
    return c;
  };
  return Object.assign(provider, {
    memoized: true as const,
    invalidate: () => {
      cached = undefined;
    },
    close: () => sts.destroy(),
  });
}
