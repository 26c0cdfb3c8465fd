import { describe, expect, it } from 'vitest';
import { createAuth } from '../../auth/index.js';
import { PermissionDeniedError } from '../../errors.js';
import { openMemoryStore } from '../../storage/memory.js';
import { coerceFields } from '../field-coercion.js';
import { capabilityFor, type Operation, type RequestContext, type RouteResult, RouteTable } from '../router.js';
import { policyRoutes } from './sys-policy-routes.js';

const RULES = 'path "secret/data/app/*" {\n  capabilities = ["read"]\n}\n';

function harness() {
  const auth = createAuth(openMemoryStore());
  const table = new RouteTable().add(...policyRoutes(() => auth));
  async function call(op: Operation, path: string, token: string, raw: Record<string, unknown> = {}): Promise<RouteResult | undefined> {
    if (op === 'list' && !path.endsWith('/')) path += '/';
    const m = table.match(path);
    const handler = m?.def.handlers[op];
    if (!m || !handler) throw new Error(`no ${op} ${path}`);
    const entry = await auth.tokens.lookup(token);
    if (!entry) throw new PermissionDeniedError();
    const acl = await auth.policies.aclFor(entry.policies);
    if (!(m.def.capability?.[op] ?? capabilityFor(op, undefined)).some((c) => acl.allows(path, c))) throw new PermissionDeniedError();
    const data = m.def.fields ? coerceFields(raw, m.def.fields).data : raw;
    const ctx: RequestContext = { op, path, params: m.params, data, raw, query: {}, headers: {}, token: entry, clientToken: token, acl, remoteAddress: '' };
    return handler(ctx);
  }
  return { auth, call };
}

describe('sys/policy routes', () => {
  it('legacy sys/policy: write (policy or rules), read rules, list keys+policies, delete', async () => {
    const { auth, call } = harness();
    const root = (await auth.tokens.createRoot('root')).token;
    expect(await call('write', 'sys/policy/App', root, { policy: RULES })).toBeUndefined();
    const w = await call('write', 'sys/policy/legacy', root, { rules: RULES });
    expect(w?.warnings).toEqual(["'rules' is deprecated, please use 'policy' instead"]);
    expect(await call('read', 'sys/policy/app', root)).toEqual({ data: { name: 'app', rules: RULES }, hoistData: true });
    for (const op of ['read', 'list'] as const) {
      expect(await call(op, 'sys/policy', root)).toEqual({
        data: { keys: ['app', 'default', 'legacy', 'root'], policies: ['app', 'default', 'legacy', 'root'] },
        hoistData: true,
      });
    }
    expect(await call('delete', 'sys/policy/app', root)).toBeUndefined();
    await expect(call('read', 'sys/policy/app', root)).rejects.toMatchObject({ status: 404 });
  });

  it('sys/policies/acl: write, read policy, list keys, delete', async () => {
    const { auth, call } = harness();
    const root = (await auth.tokens.createRoot('root')).token;
    await call('write', 'sys/policies/acl/app', root, { policy: RULES });
    expect(await call('read', 'sys/policies/acl/app', root)).toEqual({ data: { name: 'app', policy: RULES }, hoistData: true });
    expect(await call('list', 'sys/policies/acl', root)).toEqual({ data: { keys: ['app', 'default', 'root'] }, hoistData: true });
    expect((await call('read', 'sys/policies/acl/default', root))?.data).toMatchObject({ name: 'default' });
    expect((await call('read', 'sys/policies/acl/root', root))?.data).toEqual({ name: 'root', policy: '' });
    await call('delete', 'sys/policies/acl/app', root);
    expect((await call('list', 'sys/policies/acl', root))?.data).toEqual({ keys: ['default', 'root'] });
  });

  it('accepts a base64-encoded policy like Vault', async () => {
    const { auth, call } = harness();
    const root = (await auth.tokens.createRoot('root')).token;
    await call('write', 'sys/policies/acl/b64', root, { policy: Buffer.from(RULES).toString('base64') });
    expect((await auth.policies.read('b64'))?.raw).toBe(RULES);
  });

  it('answers 400 for invalid or missing policies and protected names', async () => {
    const { auth, call } = harness();
    const root = (await auth.tokens.createRoot('root')).token;
    await expect(call('write', 'sys/policy/x', root, { policy: 'path "a" { capabilities = ["fly"] }' })).rejects.toMatchObject({
      status: 400,
      message: 'failed to parse policy: path "a": invalid capability "fly"',
    });
    await expect(call('write', 'sys/policies/acl/x', root, {})).rejects.toThrow("'policy' parameter not supplied or empty");
    await expect(call('write', 'sys/policies/acl/x', root, { rules: RULES })).rejects.toThrow("'policy' parameter not supplied or empty");
    await expect(call('write', 'sys/policy/root', root, { policy: RULES })).rejects.toThrow('cannot update "root" policy');
    await expect(call('delete', 'sys/policy/root', root)).rejects.toThrow('cannot delete "root" policy');
    await expect(call('delete', 'sys/policies/acl/default', root)).rejects.toThrow('cannot delete default policy');
  });

  it('a policy takes effect on the next request (ACL cache invalidated)', async () => {
    const { auth, call } = harness();
    const root = (await auth.tokens.createRoot('root')).token;
    await call('write', 'sys/policies/acl/reader', root, { policy: 'path "sys/policies/acl" { capabilities = ["list"] }' });
    const t = await auth.tokens.create((await auth.tokens.lookup(root))!, { policies: ['reader'] });
    expect((await call('list', 'sys/policies/acl', t.token))?.data).toEqual({ keys: ['default', 'reader', 'root'] });
    await expect(call('read', 'sys/policies/acl/reader', t.token)).rejects.toBeInstanceOf(PermissionDeniedError);
    await call('write', 'sys/policies/acl/reader', root, { policy: 'path "sys/policies/acl/*" { capabilities = ["read"] }' });
    expect((await call('read', 'sys/policies/acl/reader', t.token))?.data).toMatchObject({ name: 'reader' });
    await expect(call('list', 'sys/policies/acl', t.token)).rejects.toBeInstanceOf(PermissionDeniedError);
  });
});
