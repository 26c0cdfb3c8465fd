/**
 * AWS error values as the emulator answers them. Secrets Manager's own modelled
 * exceptions carry a `Message` member (botocore's service model); errors raised
 * by the AWS front end (signature, credentials, throttling, authorization,
 * validation) carry a lower-case `message`. Both SDKs and botocore read either.
 */
export class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status: number = 400,
    /** JSON key of the message in the error body */
    readonly messageKey: 'message' | 'Message' = 'message',
  ) {
    super(message);
  }
}

/** Errors modelled by secretsmanager/2017-10-17/service-2.json (member `Message`). */
const MODELLED = new Set([
  'DecryptionFailure',
  'EncryptionFailure',
  'InternalServiceError',
  'InvalidNextTokenException',
  'InvalidParameterException',
  'InvalidRequestException',
  'LimitExceededException',
  'MalformedPolicyDocumentException',
  'PreconditionNotMetException',
  'PublicPolicyException',
  'ResourceExistsException',
  'ResourceNotFoundException',
]);

/** A Secrets Manager error with the casing and status AWS uses for it. */
export function smError(type: string, message: string): AwsError {
  const status = type === 'InternalServiceError' ? 500 : 400;
  return new AwsError(type, message, status, MODELLED.has(type) ? 'Message' : 'message');
}

export const MSG = {
  notFound: "Secrets Manager can't find the specified secret.",
  markedForDeletion: "You can't perform this operation on the secret because it was marked for deletion.",
  alreadyMarkedDeleted: "You tried to perform the operation on a secret that's currently marked deleted.",
  createScheduled: "You can't create this secret because a secret with this name is already scheduled for deletion.",
  exists: (name: string) => `The operation failed because the secret ${name} already exists.`,
  invalidToken: 'The security token included in the request is invalid.',
  expiredToken: 'The security token included in the request is expired',
  badSignature:
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  missingToken: 'Missing Authentication Token',
  rateExceeded: 'Rate exceeded',
  internal: 'An error occurred on the server side.',
} as const;

/** `1 validation error detected: ...` as the AWS front end words it. */
export function validationError(problems: string[]): AwsError {
  const n = problems.length;
  return new AwsError(
    'ValidationException',
    `${n} validation error${n === 1 ? '' : 's'} detected: ${problems.join('; ')}`,
  );
}

export function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) =>
    c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : c === "'" ? '&apos;' : '&quot;',
  );
}

/** Maps a JSON-protocol error onto the AWS Query protocol (STS) code/status it has there. */
export function queryErrorOf(err: AwsError): { code: string; status: number; type: 'Sender' | 'Receiver' } {
  const map: Record<string, [string, number]> = {
    UnrecognizedClientException: ['InvalidClientTokenId', 403],
    InvalidSignatureException: ['SignatureDoesNotMatch', 403],
    IncompleteSignatureException: ['IncompleteSignature', 400],
    MissingAuthenticationTokenException: ['MissingAuthenticationToken', 403],
    ExpiredTokenException: ['ExpiredToken', 400],
    AccessDeniedException: ['AccessDenied', 403],
    ThrottlingException: ['Throttling', 400],
    ValidationException: ['ValidationError', 400],
    InternalServiceError: ['InternalFailure', 500],
  };
  const [code, status] = map[err.type] ?? [err.type, err.status];
  return { code, status, type: status >= 500 ? 'Receiver' : 'Sender' };
}
