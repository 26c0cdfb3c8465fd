import { describe, expect, it } from 'vitest';
import { DestinationError, classifyError, scrubSecrets, secretFragments } from '../destination.js';
import { classifyAwsError } from './aws-sm-errors.js';

/** The shape of an SDK ServiceException. */
function awsErr(code: string, message: string, status: number, fault: 'client' | 'server' = status >= 500 ? 'server' : 'client'): Error {
  return Object.assign(new Error(message), { name: code, $fault: fault, $metadata: { httpStatusCode: status } });
}

const ctx = { operation: 'CreateSecret', name: 'vault/kv/x' };

describe('classifyAwsError', () => {
  it.each([
    ['AccessDeniedException', 400],
    ['AccessDenied', 403],
    ['UnrecognizedClientException', 400],
    ['InvalidSignatureException', 400],
    ['InvalidClientTokenId', 403],
    ['SignatureDoesNotMatch', 403],
    ['ValidationException', 400],
    ['InvalidParameterException', 400],
    ['InvalidRequestException', 400],
    ['ResourceNotFoundException', 400],
    ['EncryptionFailure', 400],
    ['SomethingNew', 400],
  ])('%s → CLIENT_SIDE_ERROR, not retryable', (code, status) => {
    const e = classifyAwsError(awsErr(code, 'msg', status), ctx);
    expect(e.status).toBe('CLIENT_SIDE_ERROR');
    expect(e.retryable).toBe(false);
    expect(e.throttled).toBe(false);
    expect(e.message).toBe(`CreateSecret vault/kv/x: ${code}: msg`);
  });

  it.each([
    ['ThrottlingException', 400],
    ['Throttling', 400],
    ['TooManyRequestsException', 429],
    ['Whatever', 429],
  ])('%s → EXTERNAL_SERVICE_ERROR, throttled', (code, status) => {
    const e = classifyAwsError(awsErr(code, 'Rate exceeded', status), ctx);
    expect(e).toMatchObject({ status: 'EXTERNAL_SERVICE_ERROR', retryable: true, throttled: true });
  });

  it.each([
    ['InternalServiceError', 500],
    ['ServiceUnavailable', 503],
    ['UnknownServerThing', 502],
    ['LimitExceededException', 400],
  ])('%s → EXTERNAL_SERVICE_ERROR, retryable', (code, status) => {
    expect(classifyAwsError(awsErr(code, 'x', status), ctx)).toMatchObject({ status: 'EXTERNAL_SERVICE_ERROR', retryable: true, throttled: false });
  });

  it('expired session credentials are a CLIENT_SIDE_ERROR that a retry (after refresh) may fix', () => {
    expect(classifyAwsError(awsErr('ExpiredTokenException', 'expired', 400), ctx)).toMatchObject({ status: 'CLIENT_SIDE_ERROR', retryable: true });
  });

  it('credential-provider errors (no credentials found) are CLIENT_SIDE_ERROR', () => {
    const e = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError', tryNextLink: false });
    expect(classifyAwsError(e, ctx)).toMatchObject({ status: 'CLIENT_SIDE_ERROR', retryable: false });
    expect(classifyAwsError(e, ctx).message).toContain('Could not load credentials');
  });

  it('network errors and timeouts are EXTERNAL_SERVICE_ERROR', () => {
    for (const code of ['ECONNREFUSED', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']) {
      const e = classifyAwsError(Object.assign(new Error(`connect ${code} 10.0.0.1:443`), { code }), ctx);
      expect(e).toMatchObject({ status: 'EXTERNAL_SERVICE_ERROR', retryable: true });
      expect(e.message).toBe(`CreateSecret vault/kv/x: network error ${code}`);
    }
    expect(classifyAwsError(Object.assign(new Error('timed out'), { name: 'TimeoutError' }), ctx).status).toBe('EXTERNAL_SERVICE_ERROR');
  });

  it('a 2xx the SDK could not parse is EXTERNAL_SERVICE_ERROR', () => {
    const e = Object.assign(new SyntaxError('Unexpected token <'), { $metadata: { httpStatusCode: 200 } });
    expect(classifyAwsError(e, ctx)).toMatchObject({ status: 'EXTERNAL_SERVICE_ERROR', retryable: true });
  });

  it('programming errors are INTERNAL_VAULT_ERROR and do not echo their message', () => {
    const e = classifyAwsError(new TypeError('cannot read x of {"password":"p"}'), ctx);
    expect(e).toMatchObject({ status: 'INTERNAL_VAULT_ERROR', retryable: false });
    expect(e.message).toBe('CreateSecret vault/kv/x: internal error (TypeError)');
  });

  it('passes DestinationErrors through unchanged', () => {
    const d = new DestinationError('CLIENT_SIDE_ERROR', 'refused');
    expect(classifyAwsError(d, ctx)).toBe(d);
  });

  it('scrubs the value and credentials if a message ever contains them', () => {
    const value = '{"password":"correct-horse-battery"}';
    const e = classifyAwsError(awsErr('ValidationException', 'bad input correct-horse-battery for key AKIAXYZ', 400), {
      ...ctx,
      secrets: [...secretFragments(value), 'AKIAXYZ'],
    });
    expect(e.message).toBe('CreateSecret vault/kv/x: ValidationException: bad input [redacted] for key [redacted]');
  });
});

describe('generic classifyError', () => {
  it('classifies network codes, timeouts and causes', () => {
    expect(classifyError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toMatchObject({ status: 'EXTERNAL_SERVICE_ERROR', retryable: true });
    expect(classifyError(Object.assign(new Error('x'), { name: 'AbortError' }))).toMatchObject({ status: 'EXTERNAL_SERVICE_ERROR' });
    expect(classifyError(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'ETIMEDOUT' }) }))).toMatchObject({
      status: 'EXTERNAL_SERVICE_ERROR',
    });
    expect(classifyError('weird')).toMatchObject({ status: 'INTERNAL_VAULT_ERROR', retryable: false });
  });

  it('DestinationError defaults: external errors retryable, client ones not', () => {
    expect(new DestinationError('EXTERNAL_SERVICE_ERROR', 'x').retryable).toBe(true);
    expect(new DestinationError('CLIENT_SIDE_ERROR', 'x').retryable).toBe(false);
    expect(new DestinationError('CLIENT_SIDE_ERROR', 'x', { throttled: true }).retryable).toBe(true);
  });

  it('scrubSecrets replaces longest first and ignores very short strings', () => {
    expect(scrubSecrets('abcdef abcd ab', ['abcd', 'abcdef', 'ab'])).toBe('[redacted] [redacted] ab');
    expect(secretFragments('{"a":"longvalue","b":"x","c":{"d":1}}')).toEqual(['{"a":"longvalue","b":"x","c":{"d":1}}', 'longvalue', '{"d":1}']);
    expect(secretFragments('not json')).toEqual(['not json']);
  });
});
