/**
 * The core KV-v2, token and policy cases again, through the `node-vault` npm
 * client unchanged: proves a real client we did not write works against us.
 */
import vault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer, type TestServer } from '../support/dev-server.js';

let s: TestServer;
let v: vault.client;

/** A fresh client: node-vault's tokenCreate replaces the client's token with the new one. */
const client = (token: string): vault.client => vault({ apiVersion: 'v1', endpoint: s.url, token });

async function rejection(p: Promise<unknown>): Promise<{ message: string; response: { statusCode: number; body: any } }> {
  try {
    await p;
  } catch (err) {
    return err as { message: string; response: { statusCode: number; body: any } };
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  s = await startDevServer();
  v = client(s.rootToken);
});
afterAll(async () => s.close());

describe('node-vault against secrets-sync', () => {
  it('health and mounts', async () => {
    const h = await v.health();
    expect(h).toMatchObject({ initialized: true, sealed: false, standby: false });
    await v.mount({ mount_point: 'my-kv', type: 'kv', options: { version: '2' } });
    const mounts = await v.mounts();
    expect(mounts.data['my-kv/']).toMatchObject({ type: 'kv', options: { version: '2' } });
    expect(mounts['my-kv/'].type).toBe('kv');
    const conflict = await rejection(v.mount({ mount_point: 'my-kv', type: 'kv', options: { version: '2' } }));
    expect(conflict.response.statusCode).toBe(400);
    expect(conflict.message).toContain('path is already in use at my-kv/');
  });

  it('write, read, versions', async () => {
    const w = await v.write('my-kv/data/x', { data: { user: 'alice', pass: 'p1' } });
    expect(w.data.version).toBe(1);
    const w2 = await v.write('my-kv/data/x', { data: { user: 'alice', pass: 'p2' }, options: { cas: 1 } });
    expect(w2.data.version).toBe(2);
    const r = await v.read('my-kv/data/x');
    expect(r.data.data).toEqual({ user: 'alice', pass: 'p2' });
    expect(r.data.metadata).toMatchObject({ version: 2, destroyed: false, deletion_time: '' });
    const r1 = await v.read('my-kv/data/x?version=1');
    expect(r1.data.data.pass).toBe('p1');
    const cas = await rejection(v.write('my-kv/data/x', { data: { a: 1 }, options: { cas: 1 } }));
    expect(cas.response.statusCode).toBe(400);
    expect(cas.message).toBe('check-and-set parameter did not match the current version');
  });

  it('patch through update() (merge-patch)', async () => {
    const p = await v.update('my-kv/data/x', { data: { pass: 'p3', extra: 'e' } });
    expect(p.data.version).toBe(3);
    expect((await v.read('my-kv/data/x')).data.data).toEqual({ user: 'alice', pass: 'p3', extra: 'e' });
  });

  it('list uses the LIST verb', async () => {
    await v.write('my-kv/data/dir/a', { data: { k: 1 } });
    await v.write('my-kv/data/dir/sub/b', { data: { k: 2 } });
    const l = await v.list('my-kv/metadata/');
    expect(l.data.keys).toEqual(['dir/', 'x']);
    expect((await v.list('my-kv/metadata/dir')).data.keys).toEqual(['a', 'sub/']);
    const none = await rejection(v.list('my-kv/metadata/nothing'));
    expect(none.response.statusCode).toBe(404);
  });

  it('metadata read, write and delete', async () => {
    await v.write('my-kv/metadata/x', { max_versions: 5, custom_metadata: { owner: 'ops' } });
    const md = await v.read('my-kv/metadata/x');
    expect(md.data).toMatchObject({ current_version: 3, max_versions: 5, custom_metadata: { owner: 'ops' }, oldest_version: 0 });
    expect(Object.keys(md.data.versions)).toEqual(['1', '2', '3']);
    await v.write('my-kv/data/gone', { data: { a: 1 } });
    await v.delete('my-kv/metadata/gone');
    const gone = await rejection(v.read('my-kv/metadata/gone'));
    expect(gone.response.statusCode).toBe(404);
  });

  it('delete, undelete, destroy', async () => {
    await v.delete('my-kv/data/x');
    const soft = await rejection(v.read('my-kv/data/x'));
    expect(soft.response.statusCode).toBe(404);
    expect(soft.response.body.data.metadata.version).toBe(3);
    await v.write('my-kv/undelete/x', { versions: [3] });
    expect((await v.read('my-kv/data/x')).data.data.pass).toBe('p3');
    await v.write('my-kv/destroy/x', { versions: [1] });
    const destroyed = await rejection(v.read('my-kv/data/x?version=1'));
    expect(destroyed.response.statusCode).toBe(404);
    expect(destroyed.response.body.data.metadata.destroyed).toBe(true);
  });

  it('a missing secret → 404 error with statusCode', async () => {
    const e = await rejection(v.read('my-kv/data/never'));
    expect(e.response.statusCode).toBe(404);
    expect(e.response.body).toEqual({ errors: [] });
  });

  it('policies: addPolicy, getPolicy, policies, removePolicy', async () => {
    const rules = 'path "my-kv/data/dir/*" { capabilities = ["read"] }';
    await v.addPolicy({ name: 'dir-read', rules });
    const p = await v.getPolicy({ name: 'dir-read' });
    expect(p.name).toBe('dir-read');
    expect(p.rules).toBe(rules);
    const all = await v.policies();
    expect(all.policies).toContain('dir-read');
    expect(all.data.keys).toContain('dir-read');
    await v.addPolicy({ name: 'temp', rules });
    await v.removePolicy({ name: 'temp' });
    expect((await rejection(v.getPolicy({ name: 'temp' }))).response.statusCode).toBe(404);
  });

  it('tokens: create, lookup, lookup-self, and the token obeys its policy', async () => {
    const maker = client(s.rootToken);
    const created = await maker.tokenCreate({ policies: ['dir-read'], ttl: '1h', meta: { app: 'web' } });
    const t = created.auth.client_token as string;
    expect(created.auth).toMatchObject({ policies: ['default', 'dir-read'], renewable: true, token_type: 'service', orphan: false, metadata: { app: 'web' } });
    expect(created.auth.lease_duration).toBe(3600);
    expect(maker.token).toBe(t); // node-vault switches to the new token

    const look = await v.tokenLookup({ token: t });
    expect(look.data).toMatchObject({ id: t, accessor: created.auth.accessor, policies: ['default', 'dir-read'], meta: { app: 'web' } });
    const self = await client(t).tokenLookupSelf();
    expect(self.data.id).toBe(t);

    const scoped = client(t);
    expect((await scoped.read('my-kv/data/dir/a')).data.data).toEqual({ k: 1 });
    const denied = await rejection(scoped.read('my-kv/data/x'));
    expect(denied.response.statusCode).toBe(403);
    expect(denied.message).toContain('permission denied');
    const noWrite = await rejection(scoped.write('my-kv/data/dir/a', { data: { k: 9 } }));
    expect(noWrite.response.statusCode).toBe(403);

    await client(t).tokenRevokeSelf();
    expect((await rejection(client(t).tokenLookupSelf())).response.statusCode).toBe(403);
  });

  it('unmount', async () => {
    await v.mount({ mount_point: 'tmp-kv', type: 'kv-v2' });
    await v.write('tmp-kv/data/a', { data: { a: 1 } });
    await v.unmount({ mount_point: 'tmp-kv' });
    expect((await rejection(v.read('tmp-kv/data/a'))).response.statusCode).toBe(404);
  });
});
