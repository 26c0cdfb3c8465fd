/** Generic, secrets, token, policy and system commands against a recording fake of the remote API. */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunServerOptions } from '../server/run-server.js';
import { clientConfigFromEnv } from './cli-http.js';
import { type FakeVault, type Reply, runCli, startFakeVault } from './cli-test-support.js';

const DEST = { connection_details: { access_key_id: '*****', secret_access_key: '*****' }, name: 'test', type: 'aws-sm' };
const ASSOC = {
  associated_secrets: {
    'kv_6f196233/my-secret': { accessor: 'kv_6f196233', secret_name: 'my-secret', sync_status: 'SYNCED', updated_at: '2023-10-04T04:18:07.060590584Z' },
  },
  store_name: 'test',
  store_type: 'aws-sm',
};
const AUTH = {
  client_token: 'hvs.new',
  accessor: 'acc1',
  policies: ['a', 'b', 'default'],
  token_policies: ['a', 'b', 'default'],
  metadata: null,
  lease_duration: 3600,
  renewable: true,
  entity_id: '',
  token_type: 'service',
  orphan: false,
  num_uses: 0,
};
let sealed = false;

function envelope(data: unknown, extra: Record<string, unknown> = {}): Reply {
  return { status: 200, body: { request_id: 'req', lease_id: '', renewable: false, lease_duration: 0, data, wrap_info: null, warnings: null, auth: null, ...extra } };
}

function routes(method: string, path: string): Reply | undefined {
  switch (`${method} ${path}`) {
    case 'PUT /v1/sys/sync/destinations/aws-sm/test':
      return envelope(DEST);
    case 'PUT /v1/sys/sync/destinations/aws-sm/test/associations/set':
      return envelope(ASSOC);
    case 'PUT /v1/sys/bad':
      return { status: 400, body: { errors: ['invalid thing', 'second'] } };
    case 'GET /v1/sys/sync/destinations?list=true':
      return envelope({ key_info: { 'aws-sm/': ['test', 'broken'] }, keys: ['aws-sm/'], total_destinations: 2 });
    case 'GET /v1/sys/sync/destinations/aws-sm/test/associations':
      return envelope(ASSOC);
    case 'GET /v1/sys/sync/destinations/aws-sm/broken/associations':
      return envelope({
        associated_secrets: {
          'kv_1/a': { accessor: 'kv_1', secret_name: 'a', sync_status: 'CLIENT_SIDE_ERROR', updated_at: 'T', last_error: 'AccessDeniedException: not authorized' },
          'kv_1/b': { accessor: 'kv_1', secret_name: 'b', sync_status: 'PENDING', updated_at: 'T' },
          'kv_1/c': { accessor: 'kv_1', secret_name: 'c', sync_status: 'SYNCED', updated_at: 'T' },
        },
        store_name: 'broken',
        store_type: 'aws-sm',
      });
    case 'GET /v1/sys/mounts':
      return envelope({
        'secret/': { accessor: 'kv_aaaa1111', type: 'kv', description: 'key/value secret storage', options: { version: '2' }, config: {} },
        'my-kv/': { accessor: 'kv_6f196233', type: 'kv', description: '', options: { version: '2' }, config: {} },
        'sys/': { accessor: 'system_1', type: 'system', description: 'system endpoints', options: null, config: {} },
      });
    case 'POST /v1/auth/token/create':
      return envelope(null, { auth: AUTH });
    case 'GET /v1/auth/token/lookup-self':
      return envelope({ id: 'hvs.login', accessor: 'acc-login', policies: ['root'], ttl: 0, renewable: false, orphan: true, entity_id: '', meta: null });
    case 'GET /v1/sys/seal-status':
      return { status: 200, body: { type: 'shamir', initialized: true, sealed, t: 1, n: 1, progress: 0, nonce: '', version: '0.1.0', storage_type: 'sqlite' } };
    case 'PUT /v1/sys/init':
      return { status: 200, body: { root_token: 'hvs.root', keys: [], keys_base64: [] } };
    case 'GET /v1/sys/policies/acl/dev':
      return envelope({ name: 'dev', policy: 'path "secret/*" {\n  capabilities = ["read"]\n}\n' });
    case 'GET /v1/sys/policies/acl?list=true':
      return envelope({ keys: ['default', 'dev', 'root'] });
    case 'GET /v1/secret/plain':
      return envelope({ ttl: 3600, value: 'x', empty: '' }, { warnings: ['Endpoint ignored these unrecognized parameters: [x]'] });
    default:
      return ['PUT', 'POST', 'PATCH', 'DELETE'].includes(method) ? { status: 204 } : undefined;
  }
}

let fake: FakeVault;
beforeAll(async () => {
  fake = await startFakeVault(routes);
});
afterAll(() => fake.close());

const last = () => fake.requests[fake.requests.length - 1]!;

describe('write / read / list / delete / patch', () => {
  it('vault write sys/sync/destinations/aws-sm/test prints the seed table', async () => {
    fake.reset();
    const r = await runCli(fake, [
      'write', 'sys/sync/destinations/aws-sm/test', 'access_key_id=AKIAIOSFODNN7EXAMPLE', 'secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    ]);
    expect(r.stdout).toBe(
      'Key                   Value\n---                   -----\nconnection_details    map[access_key_id:***** secret_access_key:*****]\nname                  test\ntype                  aws-sm\n',
    );
    expect(last()).toMatchObject({ method: 'PUT', path: '/v1/sys/sync/destinations/aws-sm/test' });
    expect(JSON.parse(last().body)).toEqual({ access_key_id: 'AKIAIOSFODNN7EXAMPLE', secret_access_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' });
  });

  it('vault write -f /sys/.../associations/set prints the seed table', async () => {
    const r = await runCli(fake, ['write', '-f', '/sys/sync/destinations/aws-sm/test/associations/set', 'mount=my-kv', 'secret_name=my-secret']);
    expect(r.stdout).toBe(
      'Key                   Value\n---                   -----\nassociated_secrets    map[kv_6f196233/my-secret:map[accessor:kv_6f196233 secret_name:my-secret sync_status:SYNCED updated_at:2023-10-04T04:18:07.060590584Z]]\nstore_name            test\nstore_type            aws-sm\n',
    );
    expect(JSON.parse(last().body)).toEqual({ mount: 'my-kv', secret_name: 'my-secret' });
  });

  it('write with no data needs -f; with -f sends an empty object', async () => {
    fake.reset();
    let r = await runCli(fake, ['write', 'sys/rotate']);
    expect(r).toMatchObject({ code: 1, stderr: 'Must supply data or use -force\n' });
    expect(fake.requests).toHaveLength(0);
    r = await runCli(fake, ['write', '--force', 'sys/rotate']);
    expect(r).toMatchObject({ code: 0, stdout: 'Success! Data written to: sys/rotate\n' });
    expect(last().body).toBe('{}');
  });

  it('prints API errors in Vault format on stderr with exit 2', async () => {
    const r = await runCli(fake, ['write', 'sys/bad', 'a=b']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`Error writing data to sys/bad: Error making API request.\n\nURL: PUT ${fake.url}/v1/sys/bad\nCode: 400. Errors:\n\n* invalid thing* second\n`);
  });

  it('read prints warnings to stderr, a table with n/a and durations to stdout', async () => {
    const r = await runCli(fake, ['read', 'secret/plain']);
    expect(r.stderr).toBe('WARNING! The following warnings were returned from Vault:\n\n  * Endpoint ignored these unrecognized parameters: [x]\n\n');
    expect(r.stdout).toBe('Key      Value\n---      -----\nempty    n/a\nttl      1h\nvalue    x\n');
    const f = await runCli(fake, ['read', '-field=value', 'secret/plain']);
    expect(f.stdout).toBe('x');
    const missing = await runCli(fake, ['read', 'secret/none']);
    expect(missing).toMatchObject({ code: 2, stderr: 'No value found at secret/none\n' });
  });

  it('read passes k=v as query parameters', async () => {
    fake.reset();
    await runCli(fake, ['read', 'sys/thing', 'b=2', 'a=1']);
    expect(last().path).toBe('/v1/sys/thing?a=1&b=2');
  });

  it('list uses GET ?list=true', async () => {
    fake.reset();
    const r = await runCli(fake, ['list', 'sys/sync/destinations']);
    expect(last()).toMatchObject({ method: 'GET', path: '/v1/sys/sync/destinations?list=true' });
    expect(r.stdout).toBe('Keys\n----\naws-sm/\n');
    const j = await runCli(fake, ['list', '-format=json', 'sys/sync/destinations']);
    expect(JSON.parse(j.stdout)).toEqual(['aws-sm/']);
  });

  it('patch sends merge-patch; delete sends DELETE', async () => {
    let r = await runCli(fake, ['patch', 'sys/sync/destinations/aws-sm/test', 'region=us-east-1']);
    expect(last()).toMatchObject({ method: 'PATCH' });
    expect(last().headers['content-type']).toBe('application/merge-patch+json');
    expect(r.stdout).toBe('Success! Data written to: sys/sync/destinations/aws-sm/test\n');
    r = await runCli(fake, ['delete', 'sys/sync/destinations/aws-sm/test', 'purge=true']);
    expect(last()).toMatchObject({ method: 'DELETE', path: '/v1/sys/sync/destinations/aws-sm/test?purge=true' });
    expect(r.stdout).toBe('Success! Data deleted (if it existed) at: sys/sync/destinations/aws-sm/test\n');
  });

  it('reports an invalid -format and unknown flags as usage errors', async () => {
    expect(await runCli(fake, ['read', '-format=xml', 'a'])).toMatchObject({ code: 1, stderr: 'Invalid output format: xml\n' });
    expect(await runCli(fake, ['read', '-bogus', 'a'])).toMatchObject({ code: 1, stderr: 'flag provided but not defined: -bogus\n' });
  });
});

describe('secrets', () => {
  it('secrets enable sends Vault\'s mount body', async () => {
    fake.reset();
    const r = await runCli(fake, ['secrets', 'enable', '-path=my-kv', 'kv-v2']);
    expect(r.stdout).toBe('Success! Enabled the kv-v2 secrets engine at: my-kv/\n');
    expect(last()).toMatchObject({ method: 'PUT', path: '/v1/sys/mounts/my-kv/' });
    expect(JSON.parse(last().body)).toEqual({ type: 'kv-v2', description: '', config: {}, local: false, seal_wrap: false, options: null });
    await runCli(fake, ['secrets', 'enable', '--version=2', '--description', 'team kv', 'kv']);
    expect(last().path).toBe('/v1/sys/mounts/kv/');
    expect(JSON.parse(last().body)).toMatchObject({ type: 'kv', description: 'team kv', options: { version: '2' } });
  });

  it('secrets list / disable / tune', async () => {
    let r = await runCli(fake, ['secrets', 'list']);
    expect(r.stdout).toBe(
      'Path       Type      Accessor       Description\n----       ----      --------       -----------\nmy-kv/     kv        kv_6f196233    n/a\nsecret/    kv        kv_aaaa1111    key/value secret storage\nsys/       system    system_1       system endpoints\n',
    );
    r = await runCli(fake, ['secrets', 'disable', 'my-kv']);
    expect(last()).toMatchObject({ method: 'DELETE', path: '/v1/sys/mounts/my-kv/' });
    expect(r.stdout).toBe('Success! Disabled the secrets engine (if it existed) at: my-kv/\n');
    r = await runCli(fake, ['secrets', 'tune', '-description=new', '-options=version=2', '-max-lease-ttl=1h', 'my-kv/']);
    expect(last()).toMatchObject({ method: 'POST', path: '/v1/sys/mounts/my-kv/tune' });
    expect(JSON.parse(last().body)).toEqual({ description: 'new', options: { version: '2' }, max_lease_ttl: '1h0m0s' });
    expect(r.stdout).toBe('Success! Tuned the secrets engine at: my-kv/\n');
  });
});

describe('token / policy / login', () => {
  it('token create sends the requested options and prints the token table', async () => {
    const r = await runCli(fake, ['token', 'create', '-policy=a', '-policy=b', '-ttl=1h', '-display-name=ci', '-use-limit=3', '-orphan', '-renewable=false']);
    expect(JSON.parse(last().body)).toEqual({ policies: ['a', 'b'], ttl: '1h0m0s', no_parent: true, display_name: 'ci', num_uses: 3, renewable: false });
    expect(r.stdout).toBe(
      'Key                  Value\n---                  -----\ntoken                hvs.new\ntoken_accessor       acc1\ntoken_duration       1h\ntoken_renewable      true\ntoken_policies       ["a" "b" "default"]\nidentity_policies    []\npolicies             ["a" "b" "default"]\n',
    );
    const f = await runCli(fake, ['token', 'create', '-field=token']);
    expect(f.stdout).toBe('hvs.new');
  });

  it('token lookup / revoke pick the right endpoint', async () => {
    await runCli(fake, ['token', 'lookup']);
    expect(last()).toMatchObject({ method: 'GET', path: '/v1/auth/token/lookup-self' });
    await runCli(fake, ['token', 'lookup', '-accessor', 'acc1']);
    expect(last()).toMatchObject({ method: 'POST', path: '/v1/auth/token/lookup-accessor' });
    expect(JSON.parse(last().body)).toEqual({ accessor: 'acc1' });
    let r = await runCli(fake, ['token', 'revoke', 'hvs.x']);
    expect(last()).toMatchObject({ method: 'PUT', path: '/v1/auth/token/revoke' });
    expect(r.stdout).toBe('Success! Revoked token (if it existed)\n');
    await runCli(fake, ['token', 'revoke', '-self']);
    expect(last()).toMatchObject({ path: '/v1/auth/token/revoke-self' });
    r = await runCli(fake, ['token', 'revoke']);
    expect(r).toMatchObject({ code: 1, stderr: 'Not enough arguments (expected 1, got 0)\n' });
  });

  it('policy write/read/list/delete', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-pol-'));
    const file = join(dir, 'dev.hcl');
    writeFileSync(file, 'path "secret/*" { capabilities = ["read"] }\n');
    let r = await runCli(fake, ['policy', 'write', 'Dev', file]);
    expect(last()).toMatchObject({ method: 'PUT', path: '/v1/sys/policies/acl/dev' });
    expect(JSON.parse(last().body)).toEqual({ policy: 'path "secret/*" { capabilities = ["read"] }\n' });
    expect(r.stdout).toBe('Success! Uploaded policy: dev\n');
    r = await runCli(fake, ['policy', 'write', 'dev', '-'], { stdin: 'path "x" {}' });
    expect(JSON.parse(last().body)).toEqual({ policy: 'path "x" {}' });
    r = await runCli(fake, ['policy', 'read', 'dev']);
    expect(r.stdout).toBe('path "secret/*" {\n  capabilities = ["read"]\n}\n');
    r = await runCli(fake, ['policy', 'list']);
    expect(r.stdout).toBe('default\ndev\nroot\n');
    r = await runCli(fake, ['policy', 'delete', 'dev']);
    expect(last()).toMatchObject({ method: 'DELETE', path: '/v1/sys/policies/acl/dev' });
    expect(r.stdout).toBe('Success! Deleted policy: dev\n');
  });

  it('login validates the token, stores it in ~/.vault-token and prints the token table', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cli-login-'));
    fake.reset();
    const r = await runCli(fake, ['login', 'hvs.login'], { home, env: { VAULT_TOKEN: undefined } });
    expect(r.code).toBe(0);
    expect(fake.requests[0]!.headers['x-vault-token']).toBe('hvs.login');
    expect(readFileSync(join(home, '.vault-token'), 'utf8')).toBe('hvs.login');
    expect(statSync(join(home, '.vault-token')).mode & 0o777).toBe(0o600);
    expect(r.stdout).toBe(
      'Success! You are now authenticated. The token information displayed below\nis already stored in the token helper. You do NOT need to run "secrets-sync\nlogin" again. Future Vault requests will automatically use this token.\n\n' +
        'Key                  Value\n---                  -----\ntoken                hvs.login\ntoken_accessor       acc-login\ntoken_duration       ∞\ntoken_renewable      false\ntoken_policies       ["root"]\nidentity_policies    []\npolicies             ["root"]\n',
    );
    // The stored token is used when VAULT_TOKEN is not set.
    fake.reset();
    await runCli(fake, ['token', 'lookup'], { home, env: { VAULT_TOKEN: undefined } });
    expect(fake.requests[0]!.headers['x-vault-token']).toBe('hvs.login');
  });
});

describe('status / operator init / server', () => {
  it('status prints the seal table; exit 2 when sealed', async () => {
    sealed = false;
    let r = await runCli(fake, ['status']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'Key             Value\n---             -----\nSeal Type       shamir\nInitialized     true\nSealed          false\nTotal Shares    1\nThreshold       1\nVersion         0.1.0\nStorage Type    sqlite\nHA Enabled      false\n',
    );
    sealed = true;
    r = await runCli(fake, ['status']);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('Unseal Progress    0/1');
    sealed = false;
  });

  it('operator init PUTs sys/init and prints the root token', async () => {
    let r = await runCli(fake, ['operator', 'init']);
    expect(last()).toMatchObject({ method: 'PUT', path: '/v1/sys/init' });
    expect(JSON.parse(last().body)).toEqual({ secret_shares: 1, secret_threshold: 1 });
    expect(r.stdout.startsWith('Initial Root Token: hvs.root\n\n')).toBe(true);
    r = await runCli(fake, ['operator', 'init', '-format=json']);
    expect(JSON.parse(r.stdout)).toEqual({ root_token: 'hvs.root', keys: [], keys_base64: [] });
  });

  it('server hands its flags to runServer and returns its exit code', async () => {
    const calls: RunServerOptions[] = [];
    const runServer = async (o: RunServerOptions) => {
      calls.push(o);
      return 3;
    };
    const r = await runCli(undefined, ['server', '-dev', '-dev-root-token-id=root', '--dev-listen-address', '127.0.0.1:8300'], { runServer });
    expect(r.code).toBe(3);
    expect(calls).toEqual([{ dev: true, devRootTokenId: 'root', devListenAddress: '127.0.0.1:8300' }]);
    await runCli(undefined, ['server', '-config=/etc/ss.hcl'], { runServer });
    expect(calls[1]).toEqual({ dev: false, configPath: '/etc/ss.hcl' });
  });

  it('reports a refused connection like Go', async () => {
    const r = await runCli(undefined, ['read', 'sys/x'], { env: { VAULT_ADDR: 'http://127.0.0.1:1' } });
    expect(r).toMatchObject({ code: 2, stderr: 'Error reading sys/x: Get "http://127.0.0.1:1/v1/sys/x": dial tcp 127.0.0.1:1: connect: connection refused\n' });
  });
});

describe('sync status', () => {
  it('aggregates association statuses per destination and lists failures', async () => {
    const r = await runCli(fake, ['sync', 'status']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'Destination    Type      Total    SYNCED    PENDING    ERRORS\n' +
        '-----------    ----      -----    ------    -------    ------\n' +
        'broken         aws-sm    3        1         1          1\n' +
        'test           aws-sm    1        1         0          0\n\n' +
        'Failing associations:\n' +
        'Destination      Association    Status               Updated    Last Error\n' +
        '-----------      -----------    ------               -------    ----------\n' +
        'aws-sm/broken    kv_1/a         CLIENT_SIDE_ERROR    T          AccessDeniedException: not authorized\n',
    );
    const j = await runCli(fake, ['sync', 'status', '-format=json']);
    const report = JSON.parse(j.stdout);
    expect(report.total_associations).toBe(4);
    expect(report.total_errors).toBe(1);
    expect(report.destinations[0]).toMatchObject({ type: 'aws-sm', name: 'broken', statuses: { CLIENT_SIDE_ERROR: 1, PENDING: 1, SYNCED: 1 } });
  });
});

describe('client configuration', () => {
  it('honours VAULT_ADDR, VAULT_CACERT and VAULT_SKIP_VERIFY; flags win', () => {
    expect(clientConfigFromEnv({}, {}, undefined)).toMatchObject({ address: 'https://127.0.0.1:8200', skipVerify: false });
    const c = clientConfigFromEnv({ VAULT_ADDR: 'https://h:8200/', VAULT_CACERT: '/ca.pem', VAULT_SKIP_VERIFY: 'true' }, {}, 't');
    expect(c).toMatchObject({ address: 'https://h:8200', caCert: '/ca.pem', skipVerify: true, token: 't' });
    expect(clientConfigFromEnv({ VAULT_SKIP_VERIFY: '1' }, { skipVerify: false, address: 'http://x' }, undefined)).toMatchObject({ skipVerify: false, address: 'http://x' });
    expect(() => clientConfigFromEnv({ VAULT_SKIP_VERIFY: 'maybe' }, {}, undefined)).toThrow('could not parse VAULT_SKIP_VERIFY');
  });
});
