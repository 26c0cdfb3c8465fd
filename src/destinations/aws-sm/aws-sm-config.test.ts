import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../errors.js';
import type { DestinationOptions } from '../destination.js';
import { effectiveEndpoints, effectiveRegion, normalizeAwsSmName, parseAwsSmConfig, validateAwsSm } from './aws-sm-config.js';

const opts = (customTags: Record<string, string> = {}): DestinationOptions => ({
  granularity: 'secret-path',
  secretNameTemplate: 'vault/{{ .MountAccessor }}/{{ .SecretPath }}',
  customTags,
  allowedIpv4Addresses: [],
  allowedIpv6Addresses: [],
  allowedPorts: [],
  disableStrictNetworking: false,
});

function rejects(conn: Record<string, unknown>, field: RegExp, tags?: Record<string, string>): void {
  expect(() => validateAwsSm(conn, opts(tags))).toThrow(BadRequestError);
  expect(() => validateAwsSm(conn, opts(tags))).toThrow(field);
}

describe('aws-sm connection validation', () => {
  it('accepts the brief and typical configs', () => {
    validateAwsSm({ access_key_id: 'AKIAIOSFODNN7EXAMPLE', secret_access_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }, opts());
    validateAwsSm({}, opts());
    validateAwsSm(
      {
        region: 'us-gov-west-1',
        role_arn: 'arn:aws:iam::123456789012:role/path/vault-sync',
        external_id: 'abc-123',
        kms_key_id: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        endpoint_url: 'https://secretsmanager.us-east-1.amazonaws.com',
        recovery_window_days: 7,
      },
      opts({ team: 'payments', 'cost center': 'a.b:c/d=e+f-g@h' }),
    );
    for (const kms of ['1234abcd-12ab-34cd-56ef-1234567890ab', 'alias/my-key', 'mrk-1234abcd12ab34cd56ef1234567890ab', 'arn:aws:kms:eu-west-1:123456789012:alias/x']) {
      validateAwsSm({ kms_key_id: kms }, opts());
    }
  });

  it('names the invalid field', () => {
    rejects({ access_key_id: 'AKIAIOSFODNN7EXAMPLE' }, /^secret_access_key: .*set together/);
    rejects({ secret_access_key: 'x' }, /^access_key_id: /);
    rejects({ region: 'mars-1' }, /^region: "mars-1" is not a valid AWS region/);
    rejects({ region: 'US-EAST-1' }, /^region: /);
    rejects({ role_arn: 'arn:aws:iam::123:user/x' }, /^role_arn: /);
    rejects({ role_arn: 'arn:aws:iam::123456789012:role/x', external_id: 'a' }, /^external_id: /);
    rejects({ kms_key_id: 'not a key' }, /^kms_key_id: /);
    rejects({ endpoint_url: 'ftp://x' }, /^endpoint_url: must be an http or https URL/);
    rejects({ endpoint_url: 'http://u:p@host' }, /^endpoint_url: must not contain credentials/);
    rejects({ endpoint_url: 'not a url' }, /^endpoint_url: not a valid URL/);
    rejects({ recovery_window_days: 6 }, /^recovery_window_days: must be between 7 and 30/);
    rejects({ recovery_window_days: '31' }, /^recovery_window_days: /);
  });

  it('validates custom tags under AWS rules', () => {
    rejects({}, /^custom_tags: tag key "aws:x" uses the reserved prefix/, { 'aws:x': '1' });
    rejects({}, /^custom_tags: tag key "AWS:x"/, { 'AWS:x': '1' });
    rejects({}, /^custom_tags: tag key .* must be 1-128 characters/, { ['k'.repeat(129)]: '1' });
    rejects({}, /^custom_tags: value of tag "k" must be at most 256/, { k: 'v'.repeat(257) });
    rejects({}, /^custom_tags: tag key "a\*b" may contain only/, { 'a*b': '1' });
    rejects({}, /^custom_tags: tag key "hashicorp:vault" is reserved/, { 'hashicorp:vault': 'x' });
    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));
    rejects({}, /^custom_tags: at most 49 tags/, fifty);
    const fortyNine = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, 'v']));
    validateAwsSm({}, opts(fortyNine));
    validateAwsSm({}, opts({ ['k'.repeat(128)]: 'v'.repeat(256), empty: '' }));
  });

  it('parses empty strings as unset', () => {
    expect(parseAwsSmConfig({ access_key_id: '', region: ' ', recovery_window_days: '' })).toEqual({});
    expect(parseAwsSmConfig({ recovery_window_days: '14' })).toEqual({ recoveryWindowDays: 14 });
  });
});

describe('aws-sm names, region and endpoints', () => {
  it('normalises to A-Za-z0-9/_+=.@- and 512 characters', () => {
    expect(normalizeAwsSmName('vault/kv_6f196233/my-secret')).toBe('vault/kv_6f196233/my-secret');
    expect(normalizeAwsSmName('vault/kv/a b#c:d é!')).toBe('vault/kv/a_b_c_d___');
    expect(normalizeAwsSmName('x'.repeat(600))).toHaveLength(512);
    expect(normalizeAwsSmName('a+b=c.d@e-f_g/h')).toBe('a+b=c.d@e-f_g/h');
  });

  it('region: configured, else AWS_REGION, AWS_DEFAULT_REGION, us-east-1', () => {
    expect(effectiveRegion({ region: 'eu-west-1' }, { AWS_REGION: 'us-west-2' })).toBe('eu-west-1');
    expect(effectiveRegion({}, { AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'ap-south-1' })).toBe('us-west-2');
    expect(effectiveRegion({}, { AWS_DEFAULT_REGION: 'ap-south-1' })).toBe('ap-south-1');
    expect(effectiveRegion({}, {})).toBe('us-east-1');
  });

  it('endpoints: endpoint_url, else the SDK variables per service', () => {
    expect(effectiveEndpoints({ endpointUrl: 'http://e' }, { AWS_ENDPOINT_URL: 'http://g' })).toEqual({ secretsManager: 'http://e', sts: 'http://e' });
    expect(effectiveEndpoints({}, { AWS_ENDPOINT_URL: 'http://g', AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://sm' })).toEqual({
      secretsManager: 'http://sm',
      sts: 'http://g',
    });
    expect(effectiveEndpoints({}, { AWS_ENDPOINT_URL: 'http://g', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' })).toEqual({
      secretsManager: undefined,
      sts: undefined,
    });
    expect(effectiveEndpoints({}, {})).toEqual({ secretsManager: undefined, sts: undefined });
  });
});
