/** KV-v2 conformance over real HTTP against the dev server (reference §1–§3). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer, type TestServer } from '../support/dev-server.js';

let s: TestServer;
beforeAll(async () => {
  s = await startDevServer();
  const r = await s.api('PUT', 'sys/mounts/my-kv/', { type: 'kv-v2', config: {}, local: false, seal_wrap: false, description: '', options: null });
  expect(r.status).toBe(204);
});
afterAll(async () => s.close());

const RFC3339NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

describe('envelope and mounts', () => {
  it('answers the envelope with application/json and a trailing newline', async () => {
    const r = await s.api('GET', 'sys/mounts');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.text.endsWith('\n')).toBe(true);
    expect(r.body).toMatchObject({ lease_id: '', renewable: false, lease_duration: 0, wrap_info: null, warnings: null, auth: null });
    expect(typeof r.body.request_id).toBe('string');
    const m = r.body.data['my-kv/'];
    expect(m.type).toBe('kv');
    expect(m.options).toEqual({ version: '2' });
    expect(m.accessor).toMatch(/^kv_[0-9a-f]{8}$/);
    expect(r.body['my-kv/']).toEqual(m); // data keys hoisted to the top level
    expect(r.body.data['secret/'].options).toEqual({ version: '2' });
  });

  it('reads one mount, refuses conflicts and missing type, deletes idempotently', async () => {
    expect((await s.api('GET', 'sys/mounts/my-kv')).body.data.type).toBe('kv');
    const missing = await s.api('GET', 'sys/mounts/nope');
    expect(missing.status).toBe(400);
    expect(missing.body.errors[0]).toBe('No secret engine mount at nope/');
    const conflict = await s.api('POST', 'sys/mounts/my-kv', { type: 'kv-v2' });
    expect(conflict.status).toBe(400);
    expect(conflict.body.errors[0]).toContain('path is already in use at my-kv/');
    const noType = await s.api('POST', 'sys/mounts/x', {});
    expect(noType.status).toBe(400);
    expect(noType.body.errors[0]).toBe('backend type must be specified as a string');
    expect((await s.api('DELETE', 'sys/mounts/never-there')).status).toBe(204);
  });

  it('kv with options.version "2" is kv-v2; accessors are unique and never reused', async () => {
    expect((await s.api('POST', 'sys/mounts/v2b', { type: 'kv', options: { version: '2' } })).status).toBe(204);
    const a1 = (await s.api('GET', 'sys/mounts/v2b')).body.data.accessor;
    expect((await s.api('DELETE', 'sys/mounts/v2b')).status).toBe(204);
    expect((await s.api('POST', 'sys/mounts/v2b', { type: 'kv-v2' })).status).toBe(204);
    const a2 = (await s.api('GET', 'sys/mounts/v2b')).body.data.accessor;
    expect(a2).not.toBe(a1);
  });

  it('serves the CLI preflight with the mount path, resolving by longest prefix', async () => {
    const r = await s.api('GET', 'sys/internal/ui/mounts/my-kv/foo/bar');
    expect(r.status).toBe(200);
    expect(r.body.data.path).toBe('my-kv/');
    expect(r.body.data.options.version).toBe('2');
    expect(r.body.data.type).toBe('kv');
  });

  it('health, seal-status and init report an initialised unsealed server', async () => {
    const h = await s.api('GET', 'sys/health', undefined, { token: null });
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ initialized: true, sealed: false, standby: false });
    const ss = await s.api('GET', 'sys/seal-status', undefined, { token: null });
    expect(ss.body).toMatchObject({ initialized: true, sealed: false });
    expect((await s.api('GET', 'sys/init', undefined, { token: null })).body).toEqual({ initialized: true });
    expect((await s.api('PUT', 'sys/init', {}, { token: null })).status).toBe(400);
  });

  it('unknown fields produce a warning', async () => {
    const r = await s.api('PUT', 'my-kv/data/warn', { data: { a: 'b' }, bogus: 1 });
    expect(r.status).toBe(200);
    expect(r.body.warnings).toEqual(['Endpoint ignored these unrecognized parameters: [bogus]']);
  });
});

describe('KV-v2 data', () => {
  it('writes and reads versions with Vault shapes', async () => {
    const w = await s.api('PUT', 'my-kv/data/my-secret', { data: { foo: 'bar' }, options: {} });
    expect(w.status).toBe(200);
    expect(w.body.data).toEqual({ version: 1, created_time: expect.stringMatching(RFC3339NANO), deletion_time: '', destroyed: false, custom_metadata: null });
    expect(w.body.mount_type).toBe('kv');
    await s.api('POST', 'my-kv/data/my-secret', { data: { foo: 'baz' } });
    const r = await s.api('GET', 'my-kv/data/my-secret');
    expect(r.status).toBe(200);
    expect(r.body.data.data).toEqual({ foo: 'baz' });
    expect(r.body.data.metadata).toMatchObject({ version: 2, destroyed: false, deletion_time: '', custom_metadata: null });
    const v1 = await s.api('GET', 'my-kv/data/my-secret?version=1');
    expect(v1.body.data.data).toEqual({ foo: 'bar' });
  });

  it('missing key or version → 404 with empty errors', async () => {
    const r = await s.api('GET', 'my-kv/data/none');
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ errors: [] });
    expect((await s.api('GET', 'my-kv/data/my-secret?version=99')).status).toBe(404);
  });

  it('no data → 400', async () => {
    const r = await s.api('PUT', 'my-kv/data/x', { options: {} });
    expect(r.status).toBe(400);
    expect(r.body.errors).toEqual(['no data provided']);
  });

  it('check-and-set: create-only, mismatch, required', async () => {
    expect((await s.api('PUT', 'my-kv/data/cas', { data: { a: '1' }, options: { cas: 0 } })).status).toBe(200);
    const again = await s.api('PUT', 'my-kv/data/cas', { data: { a: '2' }, options: { cas: 0 } });
    expect(again.status).toBe(400);
    expect(again.body.errors).toEqual(['check-and-set parameter did not match the current version']);
    expect((await s.api('PUT', 'my-kv/data/cas', { data: { a: '2' }, options: { cas: 1 } })).body.data.version).toBe(2);
    expect((await s.api('POST', 'my-kv/metadata/cas', { cas_required: true })).status).toBe(204);
    const req = await s.api('PUT', 'my-kv/data/cas', { data: { a: '3' } });
    expect(req.status).toBe(400);
    expect(req.body.errors).toEqual(['check-and-set parameter required for this call']);
    expect((await s.api('GET', 'my-kv/data/cas')).body.data.data).toEqual({ a: '2' });
  });

  it('mount config: max_versions, cas_required, delete_version_after', async () => {
    await s.api('POST', 'sys/mounts/cfg', { type: 'kv-v2' });
    expect((await s.api('GET', 'cfg/config')).body.data).toEqual({ max_versions: 0, cas_required: false, delete_version_after: '0s' });
    expect((await s.api('POST', 'cfg/config', { max_versions: '3', cas_required: 'false', delete_version_after: '1h' })).status).toBe(204);
    expect((await s.api('GET', 'cfg/config')).body.data).toEqual({ max_versions: 3, cas_required: false, delete_version_after: '1h0m0s' });
    for (let i = 0; i < 5; i++) await s.api('PUT', 'cfg/data/k', { data: { i } });
    const md = (await s.api('GET', 'cfg/metadata/k')).body.data;
    expect(Object.keys(md.versions)).toEqual(['3', '4', '5']);
    expect(md.oldest_version).toBe(3);
    expect(md.current_version).toBe(5);
    expect(md.versions['5'].deletion_time).not.toBe('');
    await s.api('POST', 'cfg/config', { cas_required: true });
    expect((await s.api('PUT', 'cfg/data/k', { data: { i: 9 } })).status).toBe(400);
  });

  it('default retention keeps 10 versions; oldest_version stays 0 until pruning', async () => {
    for (let i = 1; i <= 10; i++) await s.api('PUT', 'my-kv/data/ret', { data: { i } });
    expect((await s.api('GET', 'my-kv/metadata/ret')).body.data.oldest_version).toBe(0);
    await s.api('PUT', 'my-kv/data/ret', { data: { i: 11 } });
    const md = (await s.api('GET', 'my-kv/metadata/ret')).body.data;
    expect(md.oldest_version).toBe(2);
    expect(Object.keys(md.versions)).toHaveLength(10);
    expect((await s.api('GET', 'my-kv/data/ret?version=1')).status).toBe(404);
  });

  it('soft delete → 404 with the full envelope; undelete restores; destroy is final', async () => {
    await s.api('PUT', 'my-kv/data/del', { data: { v: 'one' } });
    await s.api('PUT', 'my-kv/data/del', { data: { v: 'two' } });
    expect((await s.api('DELETE', 'my-kv/data/del')).status).toBe(204);
    const r = await s.api('GET', 'my-kv/data/del');
    expect(r.status).toBe(404);
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.data).toBeNull();
    expect(r.body.data.metadata.version).toBe(2);
    expect(r.body.data.metadata.deletion_time).toMatch(RFC3339NANO);
    expect((await s.api('POST', 'my-kv/undelete/del', { versions: [2] })).status).toBe(204);
    expect((await s.api('GET', 'my-kv/data/del')).body.data.data).toEqual({ v: 'two' });
    expect((await s.api('POST', 'my-kv/delete/del', { versions: '1,2' })).status).toBe(204);
    expect((await s.api('GET', 'my-kv/data/del?version=1')).status).toBe(404);
    expect((await s.api('POST', 'my-kv/destroy/del', { versions: ['2'] })).status).toBe(204);
    const d = await s.api('GET', 'my-kv/data/del?version=2');
    expect(d.status).toBe(404);
    expect(d.body.data.metadata.destroyed).toBe(true);
    await s.api('POST', 'my-kv/undelete/del', { versions: [2] });
    expect((await s.api('GET', 'my-kv/data/del?version=2')).body.data.metadata.destroyed).toBe(true);
    const empty = await s.api('POST', 'my-kv/delete/del', { versions: [] });
    expect(empty.status).toBe(400);
    expect(empty.body.errors).toEqual(['No version number provided']);
    expect((await s.api('POST', 'my-kv/destroy/del', { versions: [42] })).status).toBe(204);
  });

  it('PATCH merges data with merge-patch and needs its content type', async () => {
    await s.api('PUT', 'my-kv/data/p', { data: { a: '1', b: '2', nested: { x: 1, y: 2 } } });
    const bad = await s.api('PATCH', 'my-kv/data/p', { data: { a: 'z' } }, { headers: { 'Content-Type': 'application/json' } });
    expect(bad.status).toBe(415);
    expect(bad.body.errors).toEqual(['PATCH requires Content-Type of application/merge-patch+json, provided application/json']);
    const ok = await s.api('PATCH', 'my-kv/data/p', { data: { a: 'z', b: null, nested: { y: null } } });
    expect(ok.status).toBe(200);
    expect(ok.body.data.version).toBe(2);
    expect((await s.api('GET', 'my-kv/data/p')).body.data.data).toEqual({ a: 'z', nested: { x: 1 } });
    expect((await s.api('PATCH', 'my-kv/data/missing', { data: { a: 1 } })).status).toBe(404);
  });

  it('subkeys with depth', async () => {
    await s.api('PUT', 'my-kv/data/sub', { data: { foo: 'x', bar: { baz: 'y', q: { r: 's' } } } });
    expect((await s.api('GET', 'my-kv/subkeys/sub')).body.data.subkeys).toEqual({ foo: null, bar: { baz: null, q: { r: null } } });
    expect((await s.api('GET', 'my-kv/subkeys/sub?depth=1')).body.data.subkeys).toEqual({ foo: null, bar: null });
    expect((await s.api('GET', 'my-kv/subkeys/sub')).body.data.metadata.version).toBe(1);
  });
});

describe('KV-v2 metadata and list', () => {
  it('reads metadata with Vault keys', async () => {
    await s.api('PUT', 'my-kv/data/md', { data: { a: 'b' } });
    const r = await s.api('GET', 'my-kv/metadata/md');
    expect(Object.keys(r.body.data).sort()).toEqual(
      ['cas_required', 'created_time', 'current_version', 'custom_metadata', 'delete_version_after', 'max_versions', 'oldest_version', 'updated_time', 'versions'].sort(),
    );
    expect(r.body.data.delete_version_after).toBe('0s');
    expect(r.body.data.versions['1']).toEqual({ created_time: expect.stringMatching(RFC3339NANO), deletion_time: '', destroyed: false });
  });

  it('custom_metadata: write, patch (null removes), validation', async () => {
    expect((await s.api('POST', 'my-kv/metadata/cm', { custom_metadata: { owner: 'ops', env: 'prod' }, max_versions: 5 })).status).toBe(204);
    let md = (await s.api('GET', 'my-kv/metadata/cm')).body.data;
    expect(md.custom_metadata).toEqual({ owner: 'ops', env: 'prod' });
    expect(md.current_version).toBe(0);
    expect(md.max_versions).toBe(5);
    expect((await s.api('PATCH', 'my-kv/metadata/cm', { custom_metadata: { env: null, team: 'a' } })).status).toBe(204);
    md = (await s.api('GET', 'my-kv/metadata/cm')).body.data;
    expect(md.custom_metadata).toEqual({ owner: 'ops', team: 'a' });
    expect(md.max_versions).toBe(5);
    const tooLong = await s.api('POST', 'my-kv/metadata/cm', { custom_metadata: { ['k'.repeat(129)]: 'v' } });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.errors[0]).toMatch(/^custom_metadata validation failed: /);
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    expect((await s.api('POST', 'my-kv/metadata/cm', { custom_metadata: many })).status).toBe(400);
    expect((await s.api('POST', 'my-kv/metadata/cm', { custom_metadata: { a: 'x'.repeat(513) } })).status).toBe(400);
    expect((await s.api('GET', 'my-kv/metadata/cm')).body.data.custom_metadata).toEqual({ owner: 'ops', team: 'a' });
    // A data read carries the key's custom metadata.
    await s.api('PUT', 'my-kv/data/cm', { data: { z: 1 } });
    expect((await s.api('GET', 'my-kv/data/cm')).body.data.metadata.custom_metadata).toEqual({ owner: 'ops', team: 'a' });
  });

  it('lists immediate children with LIST and ?list=true; none → 404', async () => {
    await s.api('POST', 'sys/mounts/lst', { type: 'kv-v2' });
    for (const k of ['a', 'dir/b', 'dir/c', 'dir/sub/d']) await s.api('PUT', `lst/data/${k}`, { data: { x: 1 } });
    const l1 = await s.api('LIST', 'lst/metadata/');
    expect(l1.body.data.keys).toEqual(['a', 'dir/']);
    const l2 = await s.api('GET', 'lst/metadata/dir?list=true');
    expect(l2.body.data.keys).toEqual(['b', 'c', 'sub/']);
    const none = await s.api('LIST', 'lst/metadata/nothing');
    expect(none.status).toBe(404);
    expect(none.body).toEqual({ errors: [] });
  });

  it('delete metadata removes all versions', async () => {
    await s.api('PUT', 'my-kv/data/gone', { data: { a: 1 } });
    expect((await s.api('DELETE', 'my-kv/metadata/gone')).status).toBe(204);
    expect((await s.api('GET', 'my-kv/metadata/gone')).status).toBe(404);
    expect((await s.api('GET', 'my-kv/data/gone')).status).toBe(404);
  });
});

describe('bad input changes nothing and echoes no value', () => {
  it('malformed JSON, wrong types, oversized bodies, unknown mounts, invalid paths', async () => {
    await s.api('PUT', 'my-kv/data/safe', { data: { keep: 'original' } });
    const before = await s.api('GET', 'my-kv/metadata/safe');
    const bad = await s.api('PUT', 'my-kv/data/safe', '{"data": {"keep": "s3cr3t-canary"', { headers: { 'Content-Type': 'application/json' } });
    expect(bad.status).toBe(400);
    expect(bad.text).not.toContain('s3cr3t-canary');
    const wrongType = await s.api('PUT', 'my-kv/data/safe', { data: 's3cr3t-canary' });
    expect(wrongType.status).toBe(400);
    expect(wrongType.text).not.toContain('s3cr3t-canary');
    const ver = await s.api('GET', 'my-kv/data/safe?version=abc');
    expect(ver.status).toBe(400);
    expect(ver.body.errors[0]).toBe('Field validation failed: error converting input for field "version": cannot parse as an integer');
    const cas = await s.api('PUT', 'my-kv/data/safe', { data: { a: 1 }, options: { cas: 's3cr3t-canary' } });
    expect(cas.status).toBe(400);
    expect(cas.text).not.toContain('s3cr3t-canary');
    const unknownMount = await s.api('GET', 'no-such-mount/data/x');
    expect(unknownMount.status).toBe(404);
    const badPath = await s.api('PUT', 'my-kv/data/a//b', { data: { a: 1 } });
    expect(badPath.status).toBe(400);
    const unsupported = await s.api('GET', 'my-kv/bogus/x');
    expect(unsupported.status).toBe(404);
    expect((await s.api('GET', 'my-kv/metadata/safe')).body.data).toEqual(before.body.data);
  });

  it('refuses bodies over the limit with 413', async () => {
    const big = JSON.stringify({ data: { v: 'x'.repeat(33 * 1024 * 1024) } });
    const r = await s.api('PUT', 'my-kv/data/big', big, { headers: { 'Content-Type': 'application/json' } });
    expect(r.status).toBe(413);
    expect((await s.api('GET', 'my-kv/data/big')).status).toBe(404);
  });

  it('unsupported method → 405', async () => {
    const r = await s.api('OPTIONS', 'my-kv/data/safe');
    expect(r.status).toBe(405);
  });

  it('missing or bad token → 403 permission denied', async () => {
    const r = await s.api('GET', 'my-kv/data/safe', undefined, { token: null });
    expect(r.status).toBe(403);
    expect(r.body.errors[0]).toContain('permission denied');
    const b = await s.api('GET', 'my-kv/data/safe', undefined, { token: 'hvs.bogus' });
    expect(b.status).toBe(403);
    const bearer = await fetch(`${s.url}/v1/my-kv/data/safe`, { headers: { Authorization: `Bearer ${s.rootToken}` } });
    expect(bearer.status).toBe(200);
  });
});
