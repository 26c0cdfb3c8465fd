/**
 * KV commands against a recording fake of the remote Vault API (a stand-in for
 * the server, for the CLI's own unit tests; e2e runs use the real server).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeVault, type Reply, mountInfo, runCli, startFakeVault } from './cli-test-support.js';

const META = {
  created_time: '2023-10-04T01:33:47.161455425Z',
  custom_metadata: null,
  deletion_time: '',
  destroyed: false,
  version: 1,
};

const SEED_PUT = `==== Secret Path ====
my-kv/data/my-secret

======= Metadata =======
Key                Value
---                -----
created_time       2023-10-04T01:33:47.161455425Z
custom_metadata    <nil>
deletion_time      n/a
destroyed          false
version            1
`;

const SEED_GET = `${SEED_PUT}
=== Data ===
Key    Value
---    -----
foo    bar
`;

let fake: FakeVault;

function routes(method: string, path: string, body: unknown): Reply | undefined {
  if (method === 'GET' && path.startsWith('/v1/sys/internal/ui/mounts/my-kv')) return mountInfo('my-kv/', '2');
  if (method === 'GET' && path.startsWith('/v1/sys/internal/ui/mounts/kv1')) return mountInfo('kv1/', '1');
  if (path === '/v1/my-kv/data/my-secret' && (method === 'PUT' || method === 'PATCH')) return { status: 200, body: { data: META } };
  if (method === 'GET' && path.split('?')[0] === '/v1/my-kv/data/my-secret') {
    return { status: 200, body: { request_id: 'r1', lease_id: '', lease_duration: 0, renewable: false, data: { data: { foo: 'bar' }, metadata: META }, warnings: null, mount_type: 'kv' } };
  }
  if (method === 'GET' && path === '/v1/my-kv/data/deleted') {
    return { status: 404, body: { data: { data: null, metadata: { ...META, deletion_time: '2023-10-05T00:00:00Z' } } } };
  }
  if (method === 'GET' && path === '/v1/my-kv/metadata?list=true') return { status: 200, body: { data: { keys: ['my-secret', 'dir/', 'a'] } } };
  if (method === 'GET' && path === '/v1/my-kv/metadata/my-secret') {
    return {
      status: 200,
      body: {
        data: {
          cas_required: false,
          created_time: META.created_time,
          current_version: 2,
          custom_metadata: { owner: 'ops' },
          delete_version_after: '0s',
          max_versions: 0,
          oldest_version: 0,
          updated_time: META.created_time,
          versions: { '2': { created_time: 'T2', deletion_time: '', destroyed: false }, '1': { created_time: 'T1', deletion_time: '', destroyed: true } },
        },
      },
    };
  }
  if (method === 'PUT' && path === '/v1/kv1/foo') return { status: 204 };
  if (['PUT', 'PATCH', 'DELETE'].includes(method)) return { status: 204 };
  void body;
  return undefined;
}

beforeAll(async () => {
  fake = await startFakeVault(routes);
});
afterAll(() => fake.close());

describe('kv put', () => {
  it('preflights the mount, PUTs data + options and prints the seed output', async () => {
    fake.reset();
    const r = await runCli(fake, ['kv', 'put', '-mount=my-kv', 'my-secret', 'foo=bar']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(SEED_PUT);
    expect(fake.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      'GET /v1/sys/internal/ui/mounts/my-kv',
      'PUT /v1/my-kv/data/my-secret',
    ]);
    const put = fake.requests[1]!;
    expect(JSON.parse(put.body)).toEqual({ data: { foo: 'bar' }, options: {} });
    expect(put.headers['x-vault-token']).toBe('root-token');
    expect(put.headers['x-vault-request']).toBe('true');
    expect(put.headers['content-type']).toBe('application/json');
  });

  it('accepts the path syntax, GNU flags and -cas', async () => {
    fake.reset();
    const r = await runCli(fake, ['kv', 'put', '--cas', '0', 'my-kv/my-secret', 'foo=bar', 'n=1']);
    expect(r.code).toBe(0);
    expect(fake.requests[0]!.path).toBe('/v1/sys/internal/ui/mounts/my-kv/my-secret');
    expect(JSON.parse(fake.requests[1]!.body)).toEqual({ data: { foo: 'bar', n: '1' }, options: { cas: 0 } });
  });

  it('reads a JSON object from stdin with a lone -', async () => {
    fake.reset();
    const r = await runCli(fake, ['kv', 'put', '-mount=my-kv', 'my-secret', '-'], { stdin: '{"foo":"bar","n":2}' });
    expect(r.code).toBe(0);
    expect(JSON.parse(fake.requests[1]!.body)).toEqual({ data: { foo: 'bar', n: 2 }, options: {} });
  });

  it('writes KV v1 paths directly', async () => {
    fake.reset();
    const r = await runCli(fake, ['kv', 'put', 'kv1/foo', 'a=b']);
    expect(r.stdout).toBe('Success! Data written to: kv1/foo\n');
    expect(fake.requests[1]).toMatchObject({ method: 'PUT', path: '/v1/kv1/foo' });
    expect(JSON.parse(fake.requests[1]!.body)).toEqual({ a: 'b' });
  });

  it('treats a 404 preflight as KV v1', async () => {
    fake.reset();
    const r = await runCli(fake, ['kv', 'put', 'nomount/foo', 'a=b']);
    expect(fake.requests[1]).toMatchObject({ method: 'PUT', path: '/v1/nomount/foo' });
    expect(r).toMatchObject({ code: 0, stdout: 'Success! Data written to: nomount/foo\n' });
  });

  it('rejects missing data with a usage error (exit 1, no request)', async () => {
    fake.reset();
    const r = await runCli(fake, ['kv', 'put', '-mount=my-kv', 'my-secret']);
    expect(r).toMatchObject({ code: 1, stderr: 'Must supply data\n' });
    expect(fake.requests).toHaveLength(0);
  });
});

describe('kv get', () => {
  it('prints the seed output', async () => {
    const r = await runCli(fake, ['kv', 'get', '-mount=my-kv', 'my-secret']);
    expect(r.stdout).toBe(SEED_GET);
    expect(r.code).toBe(0);
  });

  it('sends -version as a query parameter and prints one field raw', async () => {
    fake.reset();
    const r = await runCli(fake, ['kv', 'get', '-version=3', '-field=foo', 'my-kv/my-secret']);
    expect(fake.requests[1]!.path).toBe('/v1/my-kv/data/my-secret?version=3');
    expect(r.stdout).toBe('bar');
  });

  it('prints the whole response with -format=json', async () => {
    const r = await runCli(fake, ['kv', 'get', '-format=json', '-mount=my-kv', 'my-secret']);
    expect(JSON.parse(r.stdout)).toMatchObject({ request_id: 'r1', data: { data: { foo: 'bar' } }, mount_type: 'kv' });
    expect(r.stdout.startsWith('{\n  "request_id": "r1",\n  "lease_id": "",')).toBe(true);
  });

  it('reports a missing secret like Vault', async () => {
    const r = await runCli(fake, ['kv', 'get', '-mount=my-kv', 'missing']);
    expect(r).toMatchObject({ code: 2, stdout: '', stderr: 'No value found at my-kv/data/missing\n' });
  });

  it('shows only metadata for a deleted version (404 carrying data)', async () => {
    const r = await runCli(fake, ['kv', 'get', '-mount=my-kv', 'deleted']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('deletion_time      2023-10-05T00:00:00Z');
    expect(r.stdout).not.toContain('=== Data ===');
  });
});

describe('kv patch / delete / undelete / destroy', () => {
  it('kv patch sends a JSON merge patch', async () => {
    fake.reset();
    const r = await runCli(fake, ['kv', 'patch', '-mount=my-kv', 'my-secret', 'foo=baz', '-remove-data=old']);
    expect(r.code).toBe(0);
    const p = fake.requests[1]!;
    expect(p.method).toBe('PATCH');
    expect(p.headers['content-type']).toBe('application/merge-patch+json');
    expect(JSON.parse(p.body)).toEqual({ data: { foo: 'baz', old: null }, options: {} });
    expect(r.stdout).toBe(SEED_PUT);
  });

  it('kv patch -method=rw reads then writes with cas', async () => {
    fake.reset();
    const r = await runCli(fake, ['kv', 'patch', '-method=rw', '-mount=my-kv', 'my-secret', 'x=y']);
    expect(r.code).toBe(0);
    expect(fake.requests.map((q) => q.method)).toEqual(['GET', 'GET', 'PUT']);
    expect(JSON.parse(fake.requests[2]!.body)).toEqual({ data: { foo: 'bar', x: 'y' }, options: { cas: 1 } });
  });

  it('kv delete without versions deletes the current version', async () => {
    fake.reset();
    const r = await runCli(fake, ['kv', 'delete', '-mount=my-kv', 'my-secret']);
    expect(fake.requests[1]).toMatchObject({ method: 'DELETE', path: '/v1/my-kv/data/my-secret' });
    expect(r.stdout).toBe('Success! Data deleted (if it existed) at: my-kv/data/my-secret\n');
  });

  it('kv delete -versions writes to delete/', async () => {
    fake.reset();
    await runCli(fake, ['kv', 'delete', '-versions=1,2', '-mount=my-kv', 'my-secret']);
    expect(fake.requests[1]).toMatchObject({ method: 'PUT', path: '/v1/my-kv/delete/my-secret' });
    expect(JSON.parse(fake.requests[1]!.body)).toEqual({ versions: ['1', '2'] });
  });

  it('kv undelete and destroy need -versions', async () => {
    fake.reset();
    let r = await runCli(fake, ['kv', 'undelete', '-versions=2', '-mount=my-kv', 'my-secret']);
    expect(fake.requests[1]).toMatchObject({ method: 'PUT', path: '/v1/my-kv/undelete/my-secret' });
    expect(r.stdout).toBe('Success! Data written to: my-kv/undelete/my-secret\n');
    r = await runCli(fake, ['kv', 'destroy', '-versions', '1', '-mount=my-kv', 'my-secret']);
    expect(fake.requests[3]).toMatchObject({ method: 'PUT', path: '/v1/my-kv/destroy/my-secret' });
    r = await runCli(fake, ['kv', 'destroy', '-mount=my-kv', 'my-secret']);
    expect(r).toMatchObject({ code: 1, stderr: 'No versions provided, use the "-versions" flag\n' });
  });
});

describe('kv list / metadata', () => {
  it('kv list lists metadata with ?list=true and sorts keys', async () => {
    fake.reset();
    const r = await runCli(fake, ['kv', 'list', 'my-kv']);
    expect(fake.requests[1]).toMatchObject({ method: 'GET', path: '/v1/my-kv/metadata?list=true' });
    expect(r.stdout).toBe('Keys\n----\na\ndir/\nmy-secret\n');
  });

  it('kv metadata put sends only the given settings', async () => {
    fake.reset();
    const r = await runCli(fake, [
      'kv', 'metadata', 'put', '-mount=my-kv', '-max-versions=5', '-cas-required=true',
      '-delete-version-after=1h', '-custom-metadata=owner=ops', '-custom-metadata=env=prod', 'my-secret',
    ]);
    expect(r.stdout).toBe('Success! Data written to: my-kv/metadata/my-secret\n');
    expect(fake.requests[1]).toMatchObject({ method: 'PUT', path: '/v1/my-kv/metadata/my-secret' });
    expect(JSON.parse(fake.requests[1]!.body)).toEqual({
      max_versions: 5,
      cas_required: true,
      delete_version_after: '1h0m0s',
      custom_metadata: { owner: 'ops', env: 'prod' },
    });
  });

  it('kv metadata patch is a merge patch', async () => {
    fake.reset();
    await runCli(fake, ['kv', 'metadata', 'patch', '-mount=my-kv', '-remove-custom-metadata=owner', 'my-secret']);
    expect(fake.requests[1]).toMatchObject({ method: 'PATCH', path: '/v1/my-kv/metadata/my-secret' });
    expect(fake.requests[1]!.headers['content-type']).toBe('application/merge-patch+json');
    expect(JSON.parse(fake.requests[1]!.body)).toEqual({ custom_metadata: { owner: null } });
  });

  it('kv metadata get prints metadata then each version', async () => {
    const r = await runCli(fake, ['kv', 'metadata', 'get', '-mount=my-kv', 'my-secret']);
    expect(r.stdout).toBe(`===== Metadata Path =====
my-kv/metadata/my-secret

========== Metadata ==========
Key                     Value
---                     -----
cas_required            false
created_time            2023-10-04T01:33:47.161455425Z
current_version         2
custom_metadata         map[owner:ops]
delete_version_after    0s
max_versions            0
oldest_version          0
updated_time            2023-10-04T01:33:47.161455425Z

====== Version 1 ======
Key              Value
---              -----
created_time     T1
deletion_time    n/a
destroyed        true

====== Version 2 ======
Key              Value
---              -----
created_time     T2
deletion_time    n/a
destroyed        false
`);
  });

  it('kv metadata delete', async () => {
    fake.reset();
    const r = await runCli(fake, ['kv', 'metadata', 'delete', '-mount=my-kv', 'my-secret']);
    expect(fake.requests[1]).toMatchObject({ method: 'DELETE', path: '/v1/my-kv/metadata/my-secret' });
    expect(r.stdout).toBe('Success! Data deleted (if it existed) at: my-kv/metadata/my-secret\n');
  });
});
