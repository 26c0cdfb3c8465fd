import { describe, expect, it } from 'vitest';
import { createAuth } from '../../auth/index.js';
import { PermissionDeniedError, VaultError } from '../../errors.js';
import { openMemoryStore } from '../../storage/memory.js';
import { coerceFields } from '../field-coercion.js';
import { capabilityFor, type Operation, type RequestContext, type RouteResult, RouteTable } from '../router.js';
import { tokenRoutes } from './auth-token-routes.js';
import { policyRoutes } from './sys-policy-routes.js';

/** A stand-in for the HTTP layer: match, coerce, authenticate, authorise, count the use, call. */
function harness(start = 1_700_000_000_000) {
  const clock = { t: start };
  const auth = createAuth(openMemoryStore(), { now: () => clock.t });
  const table = new RouteTable().add(...tokenRoutes(auth), ...policyRoutes(() => auth));
  async function call(op: Operation, path: string, token: string | undefined, raw: Record<string, unknown> = {}): Promise<RouteResult | undefined> {
    if (op === 'list' && !path.endsWith('/')) path += '/';
    const m = table.match(path);
    if (!m) throw new Error(`no route ${path}`);
    const handler = m.def.handlers[op];
    if (!handler) throw new Error(`no ${op} handler on ${path}`);
    const data = m.def.fields ? coerceFields(raw, m.def.fields).data : raw;
    const entry = token ? await auth.tokens.lookup(token) : undefined;
    if (!entry) throw new PermissionDeniedError();
    const acl = await auth.policies.aclFor(entry.policies);
    const caps = m.def.capability?.[op] ?? capabilityFor(op, undefined);
    if (!caps.some((c) => acl.allows(path, c))) throw new PermissionDeniedError();
    if (!(await auth.tokens.use(entry))) throw new PermissionDeniedError();
    const ctx: RequestContext = {
      op,
      path,
      params: m.params,
      data,
      raw,
      query: {},
      headers: {},
      token: entry,
      clientToken: token,
      acl,
      remoteAddress: '127.0.0.1',
    };
    return handler(ctx);
  }
  const status = async (p: Promise<unknown>): Promise<number> => {
    try {
      await p;
      return 200;
    } catch (e) {
      if (e instanceof VaultError) return e.status;
      throw e;
    }
  };
  return { clock, auth, call, status };
}

type AuthBlock = { client_token: string; accessor: string; policies: string[]; lease_duration: number; [k: string]: unknown };
const authOf = (r: RouteResult | undefined): AuthBlock => r!.auth as AuthBlock;
const dataOf = (r: RouteResult | undefined): Record<string, unknown> => r!.data as Record<string, unknown>;

describe('auth/token routes', () => {
  it('create answers with Vault\'s auth block and no data', async () => {
    const h = harness();
    const root = await h.auth.tokens.createRoot('root');
    const r = await h.call('write', 'auth/token/create', root.token, {
      policies: 'b,a',
      meta: ['team=x'],
      ttl: '1h',
      num_uses: '3',
      display_name: 'ci',
    });
    expect(r!.data).toBeUndefined();
    const a = authOf(r);
    expect(a).toEqual({
      client_token: expect.stringMatching(/^hvs\.[A-Za-z0-9]{24}$/),
      accessor: expect.stringMatching(/^[A-Za-z0-9]{24}$/),
      policies: ['a', 'b', 'default'],
      token_policies: ['a', 'b', 'default'],
      metadata: { team: 'x' },
      lease_duration: 3600,
      renewable: true,
      entity_id: '',
      token_type: 'service',
      orphan: false,
      mfa_requirement: null,
      num_uses: 3,
    });
    const orphan = authOf(await h.call('write', 'auth/token/create-orphan', root.token, { policies: ['a'] }));
    expect(orphan.orphan).toBe(true);
    expect(orphan.metadata).toBeNull();
  });

  it('lookup-self returns the documented fields (GET and POST), with default policy only', async () => {
    const h = harness();
    const root = await h.auth.tokens.createRoot('root');
    const t = authOf(await h.call('write', 'auth/token/create', root.token, { policies: ['default'], ttl: 600, display_name: 'me' }));
    expect(t.policies).toEqual(['default']);
    h.clock.t += 10_000;
    for (const op of ['read', 'write'] as const) {
      const d = dataOf(await h.call(op, 'auth/token/lookup-self', t.client_token));
      expect(d).toEqual({
        accessor: t.accessor,
        creation_time: 1_700_000_000,
        creation_ttl: 600,
        display_name: 'token-me',
        entity_id: '',
        expire_time: '2023-11-14T22:23:20Z',
        explicit_max_ttl: 0,
        id: t.client_token,
        issue_time: '2023-11-14T22:13:20Z',
        meta: null,
        num_uses: 0,
        orphan: false,
        path: 'auth/token/create',
        policies: ['default'],
        renewable: true,
        ttl: 590,
        type: 'service',
      });
    }
    const rootView = dataOf(await h.call('read', 'auth/token/lookup-self', root.token));
    expect(rootView).toMatchObject({ expire_time: null, ttl: 0, policies: ['root'], id: 'root', path: 'auth/token/root' });
  });

  it('a default-policy token cannot create tokens or look up others', async () => {
    const h = harness();
    const root = await h.auth.tokens.createRoot('root');
    const plain = authOf(await h.call('write', 'auth/token/create', root.token, { policies: ['nothing'] }));
    expect(await h.status(h.call('write', 'auth/token/create', plain.client_token, {}))).toBe(403);
    expect(await h.status(h.call('write', 'auth/token/lookup', plain.client_token, { token: root.token }))).toBe(403);
    expect(await h.status(h.call('read', 'auth/token/lookup-self', 'hvs.bogus'))).toBe(403);
  });

  it('lookup and lookup-accessor', async () => {
    const h = harness();
    const root = await h.auth.tokens.createRoot('root');
    const t = authOf(await h.call('write', 'auth/token/create', root.token, { policies: 'a' }));
    expect(dataOf(await h.call('write', 'auth/token/lookup', root.token, { token: t.client_token })).id).toBe(t.client_token);
    const byAcc = dataOf(await h.call('write', 'auth/token/lookup-accessor', root.token, { accessor: t.accessor }));
    expect(byAcc.id).toBe('');
    expect(byAcc.accessor).toBe(t.accessor);
    await expect(h.call('write', 'auth/token/lookup', root.token, { token: 'hvs.nope' })).rejects.toThrow('bad token');
    await expect(h.call('write', 'auth/token/lookup', root.token, {})).rejects.toThrow('missing token to look up');
    await expect(h.call('write', 'auth/token/lookup-accessor', root.token, { accessor: 'x' })).rejects.toThrow('invalid accessor');
  });

  it('revoke-self, revoke and revoke-accessor answer 204 and revoke trees', async () => {
    const h = harness();
    const root = await h.auth.tokens.createRoot('root');
    const mk = async (parent: string, policies: string[] = ['a']) =>
      authOf(await h.call('write', 'auth/token/create', parent, { policies }));
    await h.auth.policies.write('a', 'path "auth/token/create" { capabilities = ["update"] }');
    const p = await mk(root.token);
    const c = await mk(p.client_token);
    expect(await h.call('write', 'auth/token/revoke-self', p.client_token)).toBeUndefined();
    expect(await h.auth.tokens.lookup(c.client_token)).toBeUndefined();
    const x = await mk(root.token);
    expect(await h.call('write', 'auth/token/revoke', root.token, { token: x.client_token })).toBeUndefined();
    expect(await h.auth.tokens.lookup(x.client_token)).toBeUndefined();
    expect(await h.call('write', 'auth/token/revoke', root.token, { token: x.client_token })).toBeUndefined();
    const y = await mk(root.token);
    expect(await h.call('write', 'auth/token/revoke-accessor', root.token, { accessor: y.accessor })).toBeUndefined();
    expect(await h.auth.tokens.lookup(y.client_token)).toBeUndefined();
  });

  it('renew-self and renew', async () => {
    const h = harness();
    const root = await h.auth.tokens.createRoot('root');
    const t = authOf(await h.call('write', 'auth/token/create', root.token, { ttl: '10m' }));
    h.clock.t += 300_000;
    const r = authOf(await h.call('write', 'auth/token/renew-self', t.client_token, { increment: '1h' }));
    expect(r.lease_duration).toBe(3600);
    expect(r.client_token).toBe(t.client_token);
    const r2 = authOf(await h.call('write', 'auth/token/renew', root.token, { token: t.client_token, increment: 60 }));
    expect(r2.lease_duration).toBe(60);
    const looked = dataOf(await h.call('read', 'auth/token/lookup-self', t.client_token));
    expect(looked.last_renewal_time).toBe(1_700_000_300);
    await expect(h.call('write', 'auth/token/renew-self', root.token, {})).rejects.toThrow('lease is not renewable');
  });

  it('num_uses are consumed per request', async () => {
    const h = harness();
    const root = await h.auth.tokens.createRoot('root');
    const t = authOf(await h.call('write', 'auth/token/create', root.token, { num_uses: 2 }));
    expect(dataOf(await h.call('read', 'auth/token/lookup-self', t.client_token)).num_uses).toBe(2);
    await h.call('read', 'auth/token/lookup-self', t.client_token);
    expect(await h.status(h.call('read', 'auth/token/lookup-self', t.client_token))).toBe(403);
  });

  it('reports bad input as 400', async () => {
    const h = harness();
    const root = await h.auth.tokens.createRoot('root');
    expect(await h.status(h.call('write', 'auth/token/create', root.token, { type: 'batch' }))).toBe(400);
    expect(await h.status(h.call('write', 'auth/token/create', root.token, { num_uses: -1 }))).toBe(400);
    await expect(h.call('write', 'auth/token/create', root.token, { ttl: 'soon' })).rejects.toThrow(
      'Field validation failed: error converting input for field "ttl"',
    );
  });
});
