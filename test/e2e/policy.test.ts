/** ACL policies and token lifecycle over real HTTP against the dev server (reference §5). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer, waitFor, type ApiAnswer, type TestServer } from '../support/dev-server.js';

let s: TestServer;

beforeAll(async () => {
  s = await startDevServer();
  expect((await s.api('PUT', 'sys/mounts/my-kv/', { type: 'kv-v2' })).status).toBe(204);
  expect((await s.api('PUT', 'sys/mounts/other-kv', { type: 'kv-v2' })).status).toBe(204);
  for (const k of ['app/x', 'app/deep/y', 'elsewhere', 'exact/one', 'exact/two', 'pre/fix-a', 'teams/a/cfg', 'teams/b/cfg', 'teams/a/other', 'app/secret-admin']) {
    expect((await s.api('PUT', `my-kv/data/${k}`, { data: { v: k } })).status).toBe(200);
  }
  expect((await s.api('PUT', 'other-kv/data/z', { data: { v: 'z' } })).status).toBe(200);
});
afterAll(async () => s.close());

async function policy(name: string, hcl: string): Promise<void> {
  const r = await s.api('PUT', `sys/policies/acl/${name}`, { policy: hcl });
  expect(r.status, r.text).toBe(204);
}

async function token(body: Record<string, unknown>): Promise<{ token: string; accessor: string; auth: any }> {
  const r = await s.api('POST', 'auth/token/create', body);
  expect(r.status, r.text).toBe(200);
  return { token: r.body.auth.client_token, accessor: r.body.auth.accessor, auth: r.body.auth };
}

function denied(r: ApiAnswer): void {
  expect(r.status, `${r.status} ${r.text}`).toBe(403);
  expect(r.text).toContain('permission denied');
}

describe('path rules end to end', () => {
  let reader: string;
  beforeAll(async () => {
    await policy('app-read', 'path "my-kv/data/app/*" { capabilities = ["read"] }');
    reader = (await token({ policies: ['app-read'] })).token;
  });

  it('a read-only glob rule reads under its prefix and nothing else', async () => {
    const ok = await s.api('GET', 'my-kv/data/app/x', undefined, { token: reader });
    expect(ok.status).toBe(200);
    expect(ok.body.data.data).toEqual({ v: 'app/x' });
    expect((await s.api('GET', 'my-kv/data/app/deep/y', undefined, { token: reader })).status).toBe(200);
    denied(await s.api('GET', 'my-kv/data/elsewhere', undefined, { token: reader }));
    denied(await s.api('GET', 'my-kv/metadata/app/x', undefined, { token: reader }));
    denied(await s.api('GET', 'other-kv/data/z', undefined, { token: reader }));
    denied(await s.api('PUT', 'my-kv/data/app/x', { data: { v: 'overwritten' } }, { token: reader }));
    denied(await s.api('PUT', 'my-kv/data/app/new', { data: { v: 'new' } }, { token: reader }));
    denied(await s.api('DELETE', 'my-kv/data/app/x', undefined, { token: reader }));
    denied(await s.api('PATCH', 'my-kv/data/app/x', { data: { v: 'p' } }, { token: reader }));
    denied(await s.api('LIST', 'my-kv/metadata/app', undefined, { token: reader }));
    denied(await s.api('GET', 'sys/mounts', undefined, { token: reader }));
    denied(await s.api('PUT', 'sys/mounts/evil', { type: 'kv-v2' }, { token: reader }));
    denied(await s.api('PUT', 'sys/policies/acl/app-read', { policy: 'path "*" { capabilities = ["sudo"] }' }, { token: reader }));
    // Nothing was changed by the refusals.
    expect((await s.api('GET', 'my-kv/data/app/x')).body.data).toMatchObject({ data: { v: 'app/x' }, metadata: { version: 1 } });
    expect((await s.api('GET', 'my-kv/data/app/new')).status).toBe(404);
    expect((await s.api('GET', 'sys/mounts/evil')).status).toBe(400);
  });

  it('create vs update: a create-only rule writes new keys but cannot overwrite', async () => {
    await policy('create-only', 'path "my-kv/data/co/*" { capabilities = ["create"] }');
    const t = (await token({ policies: ['create-only'] })).token;
    expect((await s.api('PUT', 'my-kv/data/co/k', { data: { a: '1' } }, { token: t })).status).toBe(200);
    denied(await s.api('PUT', 'my-kv/data/co/k', { data: { a: '2' } }, { token: t }));
    expect((await s.api('GET', 'my-kv/data/co/k')).body.data.data).toEqual({ a: '1' });
  });

  it('exact-path rules match that path only', async () => {
    await policy('exact', 'path "my-kv/data/exact/one" { capabilities = ["read", "update"] }');
    const t = (await token({ policies: ['exact'] })).token;
    expect((await s.api('GET', 'my-kv/data/exact/one', undefined, { token: t })).status).toBe(200);
    expect((await s.api('PUT', 'my-kv/data/exact/one', { data: { v: 'two' } }, { token: t })).status).toBe(200);
    denied(await s.api('GET', 'my-kv/data/exact/two', undefined, { token: t }));
    denied(await s.api('GET', 'my-kv/data/exact/one/child', undefined, { token: t }));
    denied(await s.api('GET', 'my-kv/data/exact/on', undefined, { token: t }));
  });

  it('a * at the end is a plain prefix, not a segment boundary', async () => {
    await policy('prefix', 'path "my-kv/data/pre/fix*" { capabilities = ["read"] }');
    const t = (await token({ policies: ['prefix'] })).token;
    expect((await s.api('GET', 'my-kv/data/pre/fix-a', undefined, { token: t })).status).toBe(200);
    denied(await s.api('GET', 'my-kv/data/pre/other', undefined, { token: t }));
  });

  it('+ matches exactly one segment', async () => {
    await policy('plus', 'path "my-kv/data/teams/+/cfg" { capabilities = ["read"] }');
    const t = (await token({ policies: ['plus'] })).token;
    expect((await s.api('GET', 'my-kv/data/teams/a/cfg', undefined, { token: t })).status).toBe(200);
    expect((await s.api('GET', 'my-kv/data/teams/b/cfg', undefined, { token: t })).status).toBe(200);
    denied(await s.api('GET', 'my-kv/data/teams/a/other', undefined, { token: t }));
    denied(await s.api('GET', 'my-kv/data/teams/cfg', undefined, { token: t }));
    denied(await s.api('GET', 'my-kv/data/teams/a/b/cfg', undefined, { token: t }));
  });

  it('deny beats a broader grant, also across policies', async () => {
    await policy('broad', 'path "my-kv/*" { capabilities = ["create", "read", "update", "delete", "list"] }');
    await policy('no-admin', 'path "my-kv/data/app/secret-admin" { capabilities = ["deny"] }\npath "my-kv/data/teams/*" { capabilities = ["deny"] }');
    const t = (await token({ policies: ['broad', 'no-admin'] })).token;
    expect((await s.api('GET', 'my-kv/data/app/x', undefined, { token: t })).status).toBe(200);
    expect((await s.api('LIST', 'my-kv/metadata/app', undefined, { token: t })).status).toBe(200);
    denied(await s.api('GET', 'my-kv/data/app/secret-admin', undefined, { token: t }));
    denied(await s.api('PUT', 'my-kv/data/app/secret-admin', { data: { v: 'x' } }, { token: t }));
    denied(await s.api('GET', 'my-kv/data/teams/a/cfg', undefined, { token: t }));
    // deny merged into the same pattern as a grant wins too
    await policy('grant-same', 'path "my-kv/data/elsewhere" { capabilities = ["read"] }');
    await policy('deny-same', 'path "my-kv/data/elsewhere" { capabilities = ["deny"] }');
    const t2 = (await token({ policies: ['grant-same', 'deny-same'] })).token;
    denied(await s.api('GET', 'my-kv/data/elsewhere', undefined, { token: t2 }));
  });

  it('a token whose policy does not exist can do nothing but the default policy', async () => {
    const t = (await token({ policies: ['does-not-exist'] })).token;
    denied(await s.api('GET', 'my-kv/data/app/x', undefined, { token: t }));
    expect((await s.api('GET', 'auth/token/lookup-self', undefined, { token: t })).status).toBe(200);
  });
});

describe('CLI preflight sys/internal/ui/mounts', () => {
  it('is allowed for any capability under the mount and refused otherwise', async () => {
    await policy('deep-list', 'path "my-kv/metadata/app/*" { capabilities = ["list"] }');
    const withCap = (await token({ policies: ['deep-list'] })).token;
    const ok = await s.api('GET', 'sys/internal/ui/mounts/my-kv', undefined, { token: withCap });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.data).toMatchObject({ path: 'my-kv/', type: 'kv', options: { version: '2' } });
    expect((await s.api('GET', 'sys/internal/ui/mounts/my-kv/app/x', undefined, { token: withCap })).status).toBe(200);
    denied(await s.api('GET', 'sys/internal/ui/mounts/other-kv', undefined, { token: withCap }));
    // a deny-only rule under the mount is not a capability
    await policy('deny-only', 'path "my-kv/data/app/*" { capabilities = ["deny"] }');
    const denyOnly = (await token({ policies: ['deny-only'] })).token;
    denied(await s.api('GET', 'sys/internal/ui/mounts/my-kv', undefined, { token: denyOnly }));
    const nothing = (await token({ policies: ['default'] })).token;
    denied(await s.api('GET', 'sys/internal/ui/mounts/my-kv', undefined, { token: nothing }));
    // the + wildcard in the mount segment counts too
    await policy('any-mount', 'path "+/data/app/*" { capabilities = ["read"] }');
    const plus = (await token({ policies: ['any-mount'] })).token;
    expect((await s.api('GET', 'sys/internal/ui/mounts/my-kv', undefined, { token: plus })).status).toBe(200);
    // no token at all, and an unknown mount answer 403, not 404
    denied(await s.api('GET', 'sys/internal/ui/mounts/my-kv', undefined, { token: null }));
    denied(await s.api('GET', 'sys/internal/ui/mounts/no-such', undefined, { token: withCap }));
  });
});

describe('tokens', () => {
  it('the default policy allows lookup-self, renew-self and revoke-self, nothing else', async () => {
    const { token: t, accessor } = await token({ policies: ['default'], ttl: '1h' });
    const look = await s.api('GET', 'auth/token/lookup-self', undefined, { token: t });
    expect(look.status).toBe(200);
    expect(look.body.data).toMatchObject({ id: t, accessor, policies: ['default'], path: 'auth/token/create', type: 'service' });
    expect(look.body.data.ttl).toBeGreaterThan(3500);
    const renew = await s.api('POST', 'auth/token/renew-self', { increment: '2h' }, { token: t });
    expect(renew.status, renew.text).toBe(200);
    expect(renew.body.auth.client_token).toBe(t);
    denied(await s.api('GET', 'sys/mounts', undefined, { token: t }));
    denied(await s.api('POST', 'auth/token/create', {}, { token: t }));
    denied(await s.api('GET', 'my-kv/data/app/x', undefined, { token: t }));
    expect((await s.api('POST', 'auth/token/revoke-self', undefined, { token: t })).status).toBe(204);
    denied(await s.api('GET', 'auth/token/lookup-self', undefined, { token: t }));
  });

  it('no_default_policy removes even lookup-self', async () => {
    await policy('only-app', 'path "my-kv/data/app/*" { capabilities = ["read"] }');
    const { token: t, auth } = await token({ policies: ['only-app'], no_default_policy: true });
    expect(auth.policies).toEqual(['only-app']);
    denied(await s.api('GET', 'auth/token/lookup-self', undefined, { token: t }));
    expect((await s.api('GET', 'my-kv/data/app/x', undefined, { token: t })).status).toBe(200);
  });

  it('a token with a short ttl stops working once it expires', async () => {
    const { token: t, auth } = await token({ policies: ['app-read'], ttl: '1s' });
    expect(auth.lease_duration).toBe(1);
    expect((await s.api('GET', 'my-kv/data/app/x', undefined, { token: t })).status).toBe(200);
    await waitFor(async () => (await s.api('GET', 'my-kv/data/app/x', undefined, { token: t })).status === 403, 4000, 100);
    denied(await s.api('GET', 'auth/token/lookup-self', undefined, { token: t }));
    const lookup = await s.api('POST', 'auth/token/lookup', { token: t });
    expect(lookup.status).toBe(400);
  });

  it('num_uses: the token works that many times, then 403', async () => {
    const { token: t, auth } = await token({ policies: ['app-read'], num_uses: 2 });
    expect(auth.num_uses).toBe(2);
    expect((await s.api('GET', 'my-kv/data/app/x', undefined, { token: t })).status).toBe(200);
    expect((await s.api('GET', 'my-kv/data/app/x', undefined, { token: t })).status).toBe(200);
    denied(await s.api('GET', 'my-kv/data/app/x', undefined, { token: t }));
    denied(await s.api('GET', 'auth/token/lookup-self', undefined, { token: t }));
  });

  it('num_uses: a refused request does not spend a use', async () => {
    const { token: t } = await token({ policies: ['app-read'], num_uses: 1 });
    denied(await s.api('GET', 'my-kv/data/elsewhere', undefined, { token: t }));
    expect((await s.api('GET', 'my-kv/data/app/x', undefined, { token: t })).status).toBe(200);
    denied(await s.api('GET', 'my-kv/data/app/x', undefined, { token: t }));
  });

  it('revoke by token and by accessor → 403 afterwards', async () => {
    const a = await token({ policies: ['app-read'] });
    expect((await s.api('GET', 'my-kv/data/app/x', undefined, { token: a.token })).status).toBe(200);
    expect((await s.api('POST', 'auth/token/revoke', { token: a.token })).status).toBe(204);
    denied(await s.api('GET', 'my-kv/data/app/x', undefined, { token: a.token }));
    const b = await token({ policies: ['app-read'] });
    expect((await s.api('POST', 'auth/token/revoke-accessor', { accessor: b.accessor })).status).toBe(204);
    denied(await s.api('GET', 'my-kv/data/app/x', undefined, { token: b.token }));
  });

  it('revoking a parent revokes its children; an orphan survives', async () => {
    await policy('token-maker', 'path "auth/token/create" { capabilities = ["update"] }\npath "auth/token/create-orphan" { capabilities = ["update", "sudo"] }\npath "my-kv/data/app/*" { capabilities = ["read"] }');
    const parent = await token({ policies: ['token-maker', 'app-read'] });
    const child = await s.api('POST', 'auth/token/create', { policies: ['app-read'] }, { token: parent.token });
    expect(child.status, child.text).toBe(200);
    const childToken = child.body.auth.client_token as string;
    const grand = await s.api('POST', 'auth/token/create', { policies: ['app-read'] }, { token: childToken });
    denied(grand); // the child has no create capability
    const orphan = await s.api('POST', 'auth/token/create-orphan', { policies: ['app-read'] }, { token: parent.token });
    expect(orphan.status, orphan.text).toBe(200);
    const orphanToken = orphan.body.auth.client_token as string;
    expect(orphan.body.auth.orphan).toBe(true);
    // a child may not get policies its parent lacks
    const notSubset = await s.api('POST', 'auth/token/create', { policies: ['broad'] }, { token: parent.token });
    expect(notSubset.status).toBe(400);
    expect(notSubset.body.errors).toEqual(['child policies must be subset of parent']);
    expect((await s.api('GET', 'my-kv/data/app/x', undefined, { token: childToken })).status).toBe(200);
    expect((await s.api('POST', 'auth/token/revoke', { token: parent.token })).status).toBe(204);
    denied(await s.api('GET', 'my-kv/data/app/x', undefined, { token: parent.token }));
    denied(await s.api('GET', 'my-kv/data/app/x', undefined, { token: childToken }));
    expect((await s.api('GET', 'my-kv/data/app/x', undefined, { token: orphanToken })).status).toBe(200);
  });

  it('revoke-self of a parent takes the children along', async () => {
    const parent = await token({ policies: ['token-maker'] });
    const child = await s.api('POST', 'auth/token/create', { policies: ['default'] }, { token: parent.token });
    expect(child.status).toBe(200);
    const c = child.body.auth.client_token as string;
    expect((await s.api('GET', 'auth/token/lookup-self', undefined, { token: c })).status).toBe(200);
    expect((await s.api('POST', 'auth/token/revoke-self', {}, { token: parent.token })).status).toBe(204);
    denied(await s.api('GET', 'auth/token/lookup-self', undefined, { token: c }));
  });
});

describe('policy CRUD shapes', () => {
  const HCL = 'path "my-kv/data/crud/*" {\n  capabilities = ["read", "list"]\n}\n';

  it('writes, reads, lists and deletes through both APIs', async () => {
    await policy('crud', HCL);
    const acl = await s.api('GET', 'sys/policies/acl/crud');
    expect(acl.status).toBe(200);
    expect(acl.body.data).toEqual({ name: 'crud', policy: HCL });
    const legacy = await s.api('GET', 'sys/policy/crud');
    expect(legacy.body.data).toEqual({ name: 'crud', rules: HCL });
    expect(legacy.body.name).toBe('crud');
    expect(legacy.body.rules).toBe(HCL);
    const list = await s.api('GET', 'sys/policy');
    expect(list.status).toBe(200);
    expect(list.body.data.keys).toContain('crud');
    expect(list.body.data.keys).toContain('default');
    expect(list.body.data.keys[list.body.data.keys.length - 1]).toBe('root');
    expect(list.body.data.policies).toEqual(list.body.data.keys);
    expect(list.body.keys).toEqual(list.body.data.keys);
    expect(list.body.policies).toEqual(list.body.data.keys);
    const aclList = await s.api('LIST', 'sys/policies/acl');
    expect(aclList.status).toBe(200);
    expect(aclList.body.data.keys).toContain('crud');
    // legacy write with `rules`
    const r = await s.api('PUT', 'sys/policy/legacy', { rules: HCL });
    expect(r.status).toBeLessThan(300);
    expect((await s.api('GET', 'sys/policies/acl/legacy')).body.data.policy).toBe(HCL);
    expect((await s.api('DELETE', 'sys/policies/acl/crud')).status).toBe(204);
    expect((await s.api('GET', 'sys/policies/acl/crud')).status).toBe(404);
    expect((await s.api('GET', 'sys/policy/crud')).status).toBe(404);
  });

  it('a policy change applies to existing tokens at once', async () => {
    await policy('live', 'path "my-kv/data/elsewhere" { capabilities = ["read"] }');
    const t = (await token({ policies: ['live'] })).token;
    expect((await s.api('GET', 'my-kv/data/elsewhere', undefined, { token: t })).status).toBe(200);
    await policy('live', 'path "my-kv/data/other" { capabilities = ["read"] }');
    denied(await s.api('GET', 'my-kv/data/elsewhere', undefined, { token: t }));
    expect((await s.api('DELETE', 'sys/policy/live')).status).toBe(204);
    denied(await s.api('GET', 'my-kv/data/other', undefined, { token: t }));
  });

  it('refuses to write or delete root, delete default, empty or invalid policies', async () => {
    const root = await s.api('PUT', 'sys/policies/acl/root', { policy: HCL });
    expect(root.status).toBe(400);
    expect(root.body.errors[0]).toContain('root');
    expect((await s.api('PUT', 'sys/policy/root', { policy: HCL })).status).toBe(400);
    expect((await s.api('DELETE', 'sys/policy/root')).status).toBe(400);
    expect((await s.api('DELETE', 'sys/policies/acl/default')).status).toBe(400);
    const empty = await s.api('PUT', 'sys/policies/acl/empty', { policy: '' });
    expect(empty.status).toBe(400);
    const bad = await s.api('PUT', 'sys/policies/acl/bad', { policy: 'path "x" { capabilities = ["fly"] }' });
    expect(bad.status).toBe(400);
    expect((await s.api('GET', 'sys/policies/acl/bad')).status).toBe(404);
    expect((await s.api('GET', 'sys/policies/acl/default')).body.data.policy).toContain('auth/token/lookup-self');
  });
});
