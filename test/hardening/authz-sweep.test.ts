/**
 * Authorisation sweep (issue #7): every registered route (system table plus
 * the mounted KV-v2 and KV-v1 tables) is called with each operation it
 * declares, without a token, with a revoked token, with an expired token and
 * with a token whose policy grants nothing there. Every call is refused with
 * Vault's 403, no answer carries a stored canary, and the store is unchanged.
 * New routes are swept automatically because the test iterates the tables.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Operation, RouteDef } from '../../src/http/router.js';
import { startDevServer, waitFor, type TestServer } from '../support/dev-server.js';
import { snapshotDiff, storeSnapshot } from './hardening-support.js';

const CANARY_KV = 'canary-kv2-7f3a9c';
const CANARY_KV1 = 'canary-kv1-51d0e2';
const CANARY_CRED = 'canaryCredential0b8e44SECRET';
const CANARY_META = 'canary-meta-c4e1';
const CANARIES = [CANARY_KV, CANARY_KV1, CANARY_CRED, CANARY_META];

/** Routes reachable without a token; a new one must be added here on purpose. */
const UNAUTHENTICATED = new Set(['sys/health', 'sys/seal-status', 'sys/init']);

const ALL_POLICY = 'path "*" { capabilities = ["create", "read", "update", "delete", "list", "patch", "sudo"] }';
const NOTHING_POLICY = 'path "nothing/*" { capabilities = ["read"] }';

const PERMISSION_DENIED = { errors: ['1 error occurred:\n\t* permission denied\n\n'] };

interface Target {
  table: 'system' | 'kv2' | 'kv1';
  def: RouteDef;
  op: Operation;
  path: string;
}

/** A concrete path for a pattern: params filled with real objects (mount my-kv, destination aws-sm/dest1, secret app). */
function concretePath(table: Target['table'], pattern: string): string {
  const prefix = table === 'kv2' ? 'my-kv/' : table === 'kv1' ? 'my-kv1/' : '';
  const filled = pattern
    .split('/')
    .map((seg) => {
      if (!seg.startsWith(':')) return seg;
      const name = seg.replace(/^:/, '').replace(/[+*]$/, '');
      switch (name) {
        case 'path':
          return table === 'system' ? 'my-kv' : 'app';
        case 'type':
          return 'aws-sm';
        case 'name':
          return pattern.startsWith('sys/sync/') ? 'dest1' : 'all';
        case 'mount':
          return 'my-kv';
        case 'secret':
          return 'app';
        default:
          return 'x';
      }
    })
    .join('/');
  return prefix + filled;
}

function request(op: Operation): { method: string; suffix: string; body?: string; contentType?: string } {
  switch (op) {
    case 'read':
      return { method: 'GET', suffix: '' };
    case 'list':
      return { method: 'GET', suffix: '/?list=true' };
    case 'write':
      return { method: 'POST', suffix: '', body: JSON.stringify({ data: { k: 'v' }, policy: 'path "*" {}' }), contentType: 'application/json' };
    case 'patch':
      return { method: 'PATCH', suffix: '', body: JSON.stringify({ data: { k: 'v' } }), contentType: 'application/merge-patch+json' };
    case 'delete':
      return { method: 'DELETE', suffix: '' };
  }
}

describe('authorisation sweep over every registered route', () => {
  let s: TestServer;
  let targets: Target[] = [];
  let revoked = '';
  let expired = '';
  let powerless = '';

  beforeAll(async () => {
    s = await startDevServer('sweep-root');
    expect((await s.api('POST', 'sys/mounts/my-kv', { type: 'kv', options: { version: '2' } })).status).toBe(204);
    expect((await s.api('POST', 'sys/mounts/my-kv1', { type: 'kv', options: { version: '1' } })).status).toBe(204);
    expect((await s.api('POST', 'my-kv/data/app', { data: { password: CANARY_KV } })).status).toBe(200);
    expect((await s.api('POST', 'my-kv/metadata/app', { custom_metadata: { owner: CANARY_META } })).status).toBe(204);
    expect((await s.api('POST', 'my-kv1/app', { password: CANARY_KV1 })).status).toBe(204);
    const dest = await s.api('POST', 'sys/sync/destinations/aws-sm/dest1', {
      access_key_id: 'AKIAIOSFODNN7EXAMPLE',
      secret_access_key: CANARY_CRED,
      region: 'us-east-1',
    });
    expect(dest.status, dest.text).toBe(200);
    expect((await s.api('PUT', 'sys/policy/all', { policy: ALL_POLICY })).status).toBe(204);
    expect((await s.api('PUT', 'sys/policy/nothing', { policy: NOTHING_POLICY })).status).toBe(204);

    const mk = async (body: Record<string, unknown>) => {
      const r = await s.api('POST', 'auth/token/create', { no_default_policy: true, ...body });
      expect(r.status, r.text).toBe(200);
      return r.body.auth.client_token as string;
    };
    revoked = await mk({ policies: ['all'] });
    expect((await s.api('GET', 'my-kv/data/app', undefined, { token: revoked })).status).toBe(200);
    expect((await s.api('POST', 'auth/token/revoke', { token: revoked })).status).toBe(204);
    expired = await mk({ policies: ['all'], ttl: '1s' });
    expect((await s.api('GET', 'my-kv/data/app', undefined, { token: expired })).status).toBe(200);
    powerless = await mk({ policies: ['nothing'] });
    // The expiry is noticed (and the token reaped) on the first use after it.
    await waitFor(async () => (await s.api('GET', 'my-kv/data/app', undefined, { token: expired })).status === 403, 5000, 100);

    const tables = s.core.routeTables();
    targets = (['system', 'kv2', 'kv1'] as const).flatMap((table) =>
      tables[table].list().flatMap((def) =>
        (Object.keys(def.handlers) as Operation[]).map((op) => ({ table, def, op, path: concretePath(table, def.pattern) })),
      ),
    );
  });

  afterAll(async () => {
    await s?.close();
  });

  it('enumerates a non-trivial route list, every pattern resolving to itself', () => {
    const patterns = new Set(targets.map((t) => `${t.table}:${t.def.pattern}`));
    expect(patterns.size).toBeGreaterThan(30);
    expect(targets.length).toBeGreaterThan(50);
    // Each concrete path must reach the route it was generated from, or the sweep would test another route.
    const tables = s.core.routeTables();
    for (const t of targets) {
      const rel = t.table === 'system' ? t.path : t.path.slice(t.path.indexOf('/') + 1);
      expect(tables[t.table].match(rel)?.def, `${t.table}:${t.def.pattern} ← ${t.path}`).toBe(t.def);
    }
  });

  it('declares only the expected routes unauthenticated', () => {
    const open = targets.filter((t) => t.def.unauthenticated).map((t) => t.def.pattern);
    expect(new Set(open)).toEqual(UNAUTHENTICATED);
  });

  const variants = ['no token', 'revoked token', 'expired token', 'token without the capability'] as const;
  for (const variant of variants) {
    it(`refuses every authenticated route and operation with 403: ${variant}`, async () => {
      const token = { 'no token': null, 'revoked token': revoked, 'expired token': expired, 'token without the capability': powerless }[variant];
      const before = await storeSnapshot(s.core);
      const failures: string[] = [];
      let swept = 0;
      for (const t of targets) {
        if (t.def.unauthenticated) continue;
        const r = request(t.op);
        const headers: Record<string, string> = {};
        if (token) headers['X-Vault-Token'] = token;
        if (r.contentType) headers['Content-Type'] = r.contentType;
        const res = await fetch(`${s.url}/v1/${t.path}${r.suffix}`, { method: r.method, headers, body: r.body });
        const text = await res.text();
        swept++;
        const what = `${t.op} ${t.path} (${t.table}:${t.def.pattern})`;
        if (res.status !== 403) failures.push(`${what}: ${res.status} ${text.trim()}`);
        else if (JSON.stringify(JSON.parse(text)) !== JSON.stringify(PERMISSION_DENIED)) failures.push(`${what}: body ${text.trim()}`);
        for (const c of CANARIES) if (text.includes(c)) failures.push(`${what}: leaks ${c}`);
      }
      expect(failures).toEqual([]);
      expect(swept).toBeGreaterThan(40);
      expect(snapshotDiff(before, await storeSnapshot(s.core))).toEqual([]);
    });
  }

  it('refuses undeclared operations, malformed fields and unknown paths with 403 before revealing anything', async () => {
    const all: Operation[] = ['read', 'list', 'write', 'patch', 'delete'];
    const probes: Array<{ op: Operation; path: string; body?: string }> = [];
    for (const t of targets) {
      if (t.def.unauthenticated) continue;
      for (const op of all) if (!t.def.handlers[op]) probes.push({ op, path: t.path });
      // Every declared field with a value of the wrong shape: without authorisation this must not be a 400 naming a field.
      if (t.def.fields && (t.op === 'write' || t.op === 'patch')) {
        probes.push({ op: t.op, path: t.path, body: JSON.stringify(Object.fromEntries(Object.keys(t.def.fields).map((f) => [f, { nested: [1, { x: null }] }]))) });
      }
    }
    probes.push({ op: 'read', path: 'no-such-mount/data/x' }, { op: 'read', path: 'my-kv/no-such-route/x' }, { op: 'list', path: 'my-kv1/' });
    expect(probes.length).toBeGreaterThan(50);
    const failures: string[] = [];
    for (const token of [null, powerless, revoked]) {
      for (const p of probes) {
        const r = request(p.op);
        const headers: Record<string, string> = {};
        if (token) headers['X-Vault-Token'] = token;
        if (r.contentType) headers['Content-Type'] = r.contentType;
        const res = await fetch(`${s.url}/v1/${p.path}${r.suffix}`, { method: r.method, headers, body: p.body ?? r.body });
        const text = await res.text();
        if (res.status !== 403) failures.push(`${token === null ? 'no token' : token === powerless ? 'powerless' : 'revoked'} ${p.op} ${p.path}: ${res.status} ${text.trim()}`);
      }
    }
    expect(failures).toEqual([]);
    // With the root token the same kinds of request get their real answers.
    expect((await s.api('DELETE', 'sys/mounts')).status).toBe(405);
    expect((await s.api('GET', 'no-such-mount/data/x')).status).toBe(404);
    expect((await s.api('POST', 'auth/token/create', { ttl: { nested: true } })).status).toBe(400);
  });

  it('the events WebSocket (served outside the route table) refuses the same tokens with 403', async () => {
    const upgrade = (token: string | null) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${s.url.replace(/^http/, 'ws')}/v1/sys/events/subscribe/kv-v2/*?json=true`, { headers: token ? { 'X-Vault-Token': token } : {} });
        ws.on('unexpected-response', (_req, res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('error', (e) => reject(e));
      });
    for (const token of [null, revoked, expired, powerless]) expect(await upgrade(token)).toBe(403);
    expect(await upgrade(s.rootToken)).toBe(101);
  });

  it('the same calls succeed or fail on their merits with the root token (the sweep is not vacuous)', async () => {
    // A few representative reads answer data to root, so the 403s above come from authorisation.
    expect((await s.api('GET', 'my-kv/data/app')).body.data.data.password).toBe(CANARY_KV);
    expect((await s.api('GET', 'my-kv1/app')).body.data.password).toBe(CANARY_KV1);
    expect((await s.api('GET', 'sys/sync/destinations/aws-sm/dest1')).body.data.connection_details.secret_access_key).toBe('*****');
    expect((await s.api('GET', 'auth/token/lookup-self', undefined, { token: powerless })).status).toBe(403);
  });
});
