import { describe, expect, it } from 'vitest';
import {
  columnize,
  formatMapTable,
  formatSecretJson,
  formatSecretTable,
  goJson,
  goValue,
  headerForMap,
  humanDuration,
  padEqualSigns,
  wrapAtLength,
  wrapAtLengthWithPadding,
} from './cli-format.js';

describe('goValue (Go %v of decoded JSON)', () => {
  it('renders scalars like Go', () => {
    expect(goValue(null)).toBe('<nil>');
    expect(goValue(undefined)).toBe('<nil>');
    expect(goValue('bar')).toBe('bar');
    expect(goValue(true)).toBe('true');
    expect(goValue(false)).toBe('false');
    expect(goValue(1)).toBe('1');
    expect(goValue(1.5)).toBe('1.5');
  });

  it('renders maps with sorted keys and nested values', () => {
    expect(goValue({ secret_access_key: '*****', access_key_id: '*****' })).toBe(
      'map[access_key_id:***** secret_access_key:*****]',
    );
    expect(goValue({ b: { d: null, c: [1, 'x'] }, a: {} })).toBe('map[a:map[] b:map[c:[1 x] d:<nil>]]');
  });

  it('renders lists with spaces', () => {
    expect(goValue(['a', 'b'])).toBe('[a b]');
    expect(goValue([])).toBe('[]');
  });

  it('sorts map keys bytewise like Go (uppercase before lowercase)', () => {
    expect(goValue({ b: 1, B: 2, a: 3 })).toBe('map[B:2 a:3 b:1]');
  });
});

describe('padEqualSigns / headerForMap', () => {
  it('matches the seed headers', () => {
    expect(padEqualSigns('Secret Path', 'my-kv/data/my-secret'.length)).toBe('==== Secret Path ====');
    const metadata = { created_time: '', custom_metadata: null, deletion_time: '', destroyed: false, version: 1 };
    expect(headerForMap('Metadata', metadata)).toBe('======= Metadata =======');
    expect(headerForMap('Data', { foo: 'bar' })).toBe('=== Data ===');
  });

  it('falls back to two signs a side for short widths', () => {
    expect(padEqualSigns('Metadata Path', 3)).toBe('== Metadata Path ==');
  });
});

describe('columnize', () => {
  it('pads all but the last column and replaces empty cells with n/a', () => {
    expect(columnize(['Key|Value', '---|-----', 'a|', 'long_key|x'], '|')).toBe(
      'Key         Value\n---         -----\na           n/a\nlong_key    x',
    );
  });
});

describe('seed outputs', () => {
  const metadata = {
    created_time: '2023-10-04T01:33:47.161455425Z',
    custom_metadata: null,
    deletion_time: '',
    destroyed: false,
    version: 1,
  };

  it('kv put metadata table', () => {
    expect(formatMapTable(metadata)).toBe(
      [
        'Key                Value',
        '---                -----',
        'created_time       2023-10-04T01:33:47.161455425Z',
        'custom_metadata    <nil>',
        'deletion_time      n/a',
        'destroyed          false',
        'version            1',
      ].join('\n'),
    );
  });

  it('kv get data table', () => {
    expect(formatMapTable({ foo: 'bar' })).toBe('Key    Value\n---    -----\nfoo    bar');
  });

  it('vault write sys/sync/destinations/aws-sm/test', () => {
    const secret = {
      request_id: 'r',
      lease_id: '',
      lease_duration: 0,
      renewable: false,
      data: {
        connection_details: { access_key_id: '*****', secret_access_key: '*****' },
        name: 'test',
        type: 'aws-sm',
      },
      warnings: null,
    };
    expect(formatSecretTable(secret)).toBe(
      [
        'Key                   Value',
        '---                   -----',
        'connection_details    map[access_key_id:***** secret_access_key:*****]',
        'name                  test',
        'type                  aws-sm',
      ].join('\n'),
    );
  });

  it('vault write -f .../associations/set', () => {
    const secret = {
      data: {
        associated_secrets: {
          'kv_6f196233/my-secret': {
            accessor: 'kv_6f196233',
            secret_name: 'my-secret',
            sync_status: 'SYNCED',
            updated_at: '2023-10-04T04:18:07.060590584Z',
          },
        },
        store_name: 'test',
        store_type: 'aws-sm',
      },
    };
    expect(formatSecretTable(secret)).toBe(
      [
        'Key                   Value',
        '---                   -----',
        'associated_secrets    map[kv_6f196233/my-secret:map[accessor:kv_6f196233 secret_name:my-secret sync_status:SYNCED updated_at:2023-10-04T04:18:07.060590584Z]]',
        'store_name            test',
        'store_type            aws-sm',
      ].join('\n'),
    );
  });
});

describe('token table and durations', () => {
  it('prints auth rows like Vault', () => {
    const out = formatSecretTable({
      data: null,
      auth: {
        client_token: 'hvs.abc',
        accessor: 'acc',
        policies: ['default', 'dev'],
        token_policies: ['default', 'dev'],
        identity_policies: null,
        lease_duration: 2764800,
        renewable: true,
      },
    });
    expect(out).toBe(
      [
        'Key                  Value',
        '---                  -----',
        'token                hvs.abc',
        'token_accessor       acc',
        'token_duration       768h',
        'token_renewable      true',
        'token_policies       ["default" "dev"]',
        'identity_policies    []',
        'policies             ["default" "dev"]',
      ].join('\n'),
    );
  });

  it('shows an infinite duration for root tokens', () => {
    expect(formatSecretTable({ auth: { client_token: 't', lease_duration: 0 } })).toContain('token_duration       ∞');
  });

  it('humanises duration-like keys', () => {
    expect(humanDuration(3600)).toBe('1h');
    expect(humanDuration(90)).toBe('1m30s');
    expect(humanDuration(3660)).toBe('1h1m');
    expect(humanDuration(0)).toBe('0s');
    expect(formatMapTable({ ttl: 3600, creation_ttl: 'x' })).toBe('Key             Value\n---             -----\ncreation_ttl    x\nttl             1h');
  });
});

describe('JSON output', () => {
  it('marshals like Go: fixed envelope order, sorted maps, HTML escaping', () => {
    const s = formatSecretJson({
      request_id: 'id',
      lease_id: '',
      lease_duration: 0,
      renewable: false,
      data: { z: 1, a: '<&>' },
      warnings: null,
      mount_type: 'kv',
    });
    expect(s).toBe(
      '{\n  "request_id": "id",\n  "lease_id": "",\n  "lease_duration": 0,\n  "renewable": false,\n  "data": {\n    "a": "\\u003c\\u0026\\u003e",\n    "z": 1\n  },\n  "warnings": null,\n  "mount_type": "kv"\n}',
    );
    expect(goJson(['b', 'a'])).toBe('[\n  "b",\n  "a"\n]');
  });
});

describe('wrapAtLength (kr/text minimum raggedness)', () => {
  it('wraps the login message exactly like Vault', () => {
    expect(
      wrapAtLength(
        'Success! You are now authenticated. The token information displayed below is already stored in the token helper. You do NOT need to run "vault login" again. Future Vault requests will automatically use this token.',
      ),
    ).toBe(
      'Success! You are now authenticated. The token information displayed below\nis already stored in the token helper. You do NOT need to run "vault login"\nagain. Future Vault requests will automatically use this token.',
    );
  });

  it('indents every line with the padding', () => {
    expect(wrapAtLengthWithPadding('* short warning', 2)).toBe('  * short warning');
  });
});
