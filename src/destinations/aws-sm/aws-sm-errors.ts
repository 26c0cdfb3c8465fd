/**
 * Classifies AWS SDK errors (Secrets Manager and STS) into sync statuses, once.
 * Messages name the operation, the secret, AWS's error code and AWS's
 * message — never a value or a credential (scrubbed if one ever appears).
 */
import { DestinationError, classifyError, scrubSecrets } from '../destination.js';

export interface AwsErrorInfo {
  code: string;
  message: string;
  httpStatus: number | undefined;
  fault: 'client' | 'server' | undefined;
}

/** AWS's error code and message when `err` is an answer from an AWS service (or the SDK's credential chain). */
export function awsErrorInfo(err: unknown): AwsErrorInfo | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { name?: unknown; message?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: unknown }; Code?: unknown };
  const isService = e.$fault === 'client' || e.$fault === 'server' || typeof e.$metadata?.httpStatusCode === 'number';
  const isCredentials = e.name === 'CredentialsProviderError' || e.name === 'ProviderError';
  if (!isService && !isCredentials) return undefined;
  const code = typeof e.Code === 'string' ? e.Code : typeof e.name === 'string' ? e.name : 'UnknownError';
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  return {
    code,
    message: typeof e.message === 'string' ? e.message : '',
    httpStatus: status,
    fault: e.$fault === 'client' || e.$fault === 'server' ? e.$fault : undefined,
  };
}

export function hasAwsCode(err: unknown, ...codes: string[]): boolean {
  const info = awsErrorInfo(err);
  return info !== undefined && codes.includes(info.code);
}

/** Permission and credential problems: fixing them needs a configuration change. */
const CLIENT_CODES = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnrecognizedClientException',
  'UnrecognizedClient',
  'InvalidClientTokenId',
  'InvalidAccessKeyId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'IncompleteSignatureException',
  'MissingAuthenticationToken',
  'MissingAuthenticationTokenException',
  'NotAuthorized',
  'OptInRequired',
  'RegionDisabledException',
  'ValidationException',
  'ValidationError',
  'InvalidParameterException',
  'InvalidParameterValue',
  'InvalidParameterCombination',
  'InvalidRequestException',
  'ResourceNotFoundException',
  'ResourceExistsException',
  'PreconditionNotMetException',
  'MalformedPolicyDocumentException',
  'PublicPolicyException',
  'EncryptionFailure',
  'DecryptionFailure',
  'PackedPolicyTooLarge',
  'CredentialsProviderError',
  'ProviderError',
]);

/** Temporary credentials that ran out: a refresh (automatic) fixes it. */
const EXPIRED_CODES = new Set(['ExpiredTokenException', 'ExpiredToken', 'RequestExpired']);

const THROTTLING_CODES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'PriorRequestNotComplete',
]);

const SERVER_CODES = new Set([
  'InternalServiceError',
  'InternalServiceErrorException',
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'LimitExceededException',
]);

export interface ClassifyContext {
  /** AWS operation, e.g. `CreateSecret` */
  operation: string;
  /** the external secret concerned */
  name?: string;
  /** strings that must never appear in the message (value fragments, credentials) */
  secrets?: Iterable<string | undefined>;
}

export function classifyAwsError(err: unknown, ctx: ClassifyContext): DestinationError {
  if (err instanceof DestinationError) return err;
  const where = ctx.name === undefined ? ctx.operation : `${ctx.operation} ${ctx.name}`;
  const scrub = (m: string): string => scrubSecrets(m, ctx.secrets ?? []);
  const info = awsErrorInfo(err);
  if (!info) {
    const generic = classifyError(err, where);
    return generic.status === 'INTERNAL_VAULT_ERROR'
      ? generic
      : new DestinationError(generic.status, scrub(generic.message), { retryable: generic.retryable, throttled: generic.throttled });
  }
  const detail = info.message ? `${info.code}: ${info.message}` : info.code;
  const msg = scrub(`${where}: ${detail}`);
  if (THROTTLING_CODES.has(info.code) || info.httpStatus === 429) {
    return new DestinationError('EXTERNAL_SERVICE_ERROR', msg, { retryable: true, throttled: true });
  }
  if (EXPIRED_CODES.has(info.code)) return new DestinationError('CLIENT_SIDE_ERROR', msg, { retryable: true });
  if (CLIENT_CODES.has(info.code)) return new DestinationError('CLIENT_SIDE_ERROR', msg, { retryable: false });
  if (SERVER_CODES.has(info.code) || info.fault === 'server' || (info.httpStatus !== undefined && info.httpStatus >= 500)) {
    return new DestinationError('EXTERNAL_SERVICE_ERROR', msg, { retryable: true });
  }
  if (info.httpStatus !== undefined && info.httpStatus >= 200 && info.httpStatus < 300) {
    // a 2xx the SDK could not read: the service (or something in between) misbehaved
    return new DestinationError('EXTERNAL_SERVICE_ERROR', scrub(`${where}: unreadable response from the service (${info.code})`), { retryable: true });
  }
  if (info.fault === 'client' || (info.httpStatus !== undefined && info.httpStatus >= 400)) {
    return new DestinationError('CLIENT_SIDE_ERROR', msg, { retryable: false });
  }
  return new DestinationError('EXTERNAL_SERVICE_ERROR', msg, { retryable: true });
}
