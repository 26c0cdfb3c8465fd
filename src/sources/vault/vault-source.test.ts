import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer, type TestServer } from '../../../test/support/dev-server.js';
import type { VaultSourceConfig } from '../../config/server-config.js';
import { DestinationError } from '../../destinations/destination.js';
import { EventsClient } from './events-client.js';
import { VaultClient } from './vault-client.js';
import { latestActive, VaultSource } from './vault-source.js';

const cfg = (address: string, extra: Partial<VaultSourceConfig> = {}): VaultSourceConfig => ({ address, tlsSkipVerify: false, pollIntervalMs: 60_000, ...extra });

describe('latestActive', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  it('picks the highest version neither destroyed nor deleted', () => {
    expect(latestActive({}, now)).toBe(0);
    expect(latestActive({ '1': { deletion_time: '' }, '2': { deletion_time: '', destroyed: true }, '3': { deletion_time: '2024-12-31T00:00:00Z' } }, now)).toBe(1);
    expect(latestActive({ '9': { deletion_time: '' }, '10': { deletion_time: '' } }, now)).toBe(10);
  });
  it('a deletion_time in the future is still active', () => {
    expect(latestActive({ '1': { deletion_time: '' }, '2': { deletion_time: '2025-06-01T00:00:00Z' } }, now)).toBe(2);
  });
});

describe('VaultSource against a real server', () => {
  let a: TestServer;
  let src: VaultSource;
  let accessor: string;
  beforeAll(async () => {
    a = await startDevServer();
    await a.api('PUT', 'sys/mounts/kv2/', { type: 'kv-v2' });
    await a.api('PUT', 'sys/mounts/kv1/', { type: 'kv' });
    accessor = (await a.api('GET', 'sys/mounts/kv2')).body.data.accessor;
    src = new VaultSource(new VaultClient(cfg(a.url, { token: a.rootToken })));
  });
  afterAll(async () => {
    src?.client.close();
    await a?.close();
  });

  it('mountByPath: KV-v2, KV-v1, missing, and no longest-prefix match', async () => {
    expect(await src.mountByPath('kv2')).toEqual({ accessor, path: 'kv2/', type: 'kv', kvVersion: '2' });
    expect(await src.mountByPath('kv1/')).toMatchObject({ path: 'kv1/', type: 'kv', kvVersion: '1' });
    expect(await src.mountByPath('nope')).toBeUndefined();
    expect(await src.mountByPath('kv2/sub')).toBeUndefined();
    expect(await src.mountByAccessor(accessor)).toMatchObject({ path: 'kv2/' });
    expect(await src.mountByAccessor('kv_00000000')).toBeUndefined();
  });

  it('readLatest follows soft deletes and destroys to the highest active version', async () => {
    expect(await src.readLatest(accessor, 'a/b')).toEqual({ kind: 'none' });
    await a.api('PUT', 'kv2/data/a/b', { data: { n: 1 } });
    await a.api('PUT', 'kv2/data/a/b', { data: { n: 2 } });
    await a.api('PUT', 'kv2/data/a/b', { data: { n: 3 } });
    expect(await src.readLatest(accessor, 'a/b')).toEqual({ kind: 'data', version: 3, data: { n: 3 } });
    await a.api('DELETE', 'kv2/data/a/b');
    expect(await src.readLatest(accessor, 'a/b')).toEqual({ kind: 'data', version: 2, data: { n: 2 } });
    await a.api('POST', 'kv2/destroy/a/b', { versions: [2] });
    expect(await src.latestVersion(accessor, 'a/b')).toBe(1);
    await a.api('DELETE', 'kv2/metadata/a/b');
    expect(await src.readLatest(accessor, 'a/b')).toEqual({ kind: 'none' });
    expect(await src.latestVersion(accessor, 'a/b')).toBe(0);
  });

  it('an unknown accessor reads as none (the mount is gone)', async () => {
    expect(await src.readLatest('kv_deadbeef', 'x')).toEqual({ kind: 'none' });
  });

  it('a token that may not read sys/mounts finds the mount from the association hint', async () => {
    await a.api('PUT', 'sys/policy/kv2-only', { policy: 'path "kv2/*" { capabilities = ["read", "list"] }' });
    const t = (await a.api('POST', 'auth/token/create', { policies: ['kv2-only'] })).body.auth.client_token;
    await a.api('PUT', 'kv2/data/hinted', { data: { h: 1 } });
    const limited = new VaultSource(new VaultClient(cfg(a.url, { token: t })));
    try {
      await expect(limited.readLatest(accessor, 'hinted')).rejects.toThrow(/cannot resolve mount accessor/);
      limited.hintMount(accessor, 'kv2/');
      expect(await limited.readLatest(accessor, 'hinted')).toEqual({ kind: 'data', version: 1, data: { h: 1 } });
    } finally {
      limited.client.close();
    }
  });

  it('a refused token is a clear sync error', async () => {
    const bad = new VaultSource(new VaultClient(cfg(a.url, { token: 'wrong' })));
    await expect(bad.readLatest(accessor, 'x')).rejects.toThrow(/source vault/);
    bad.client.close();
  });
});

describe('VaultClient failures and auth', () => {
  it('an unreachable remote is INTERNAL_VAULT_ERROR "source vault unreachable: ECONNREFUSED"', async () => {
    const src = new VaultSource(new VaultClient(cfg('http://127.0.0.1:1', { token: 't' })));
    const err = await src.readLatest('kv_1', 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DestinationError);
    expect((err as DestinationError).status).toBe('INTERNAL_VAULT_ERROR');
    expect((err as DestinationError).message).toBe('source vault unreachable: ECONNREFUSED');
    expect(src.client.reachable).toBe(false);
    src.client.close();
  });

  describe('with a fake remote', () => {
    let server: Server;
    let url: string;
    const seen: Array<{ method: string; path: string; token?: string; ns?: string; body: string }> = [];
    let issued = 0;
    let valid = new Set<string>();
    let eventsStatus = 404;
    beforeAll(async () => {
      server = createServer((req: IncomingMessage, res: ServerResponse) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          const path = (req.url ?? '').replace(/^\/v1\//, '');
          const token = req.headers['x-vault-token'] as string | undefined;
          seen.push({ method: req.method!, path, token, ns: req.headers['x-vault-namespace'] as string | undefined, body });
          const json = (status: number, o: unknown) => {
            res.writeHead(status, { 'content-type': 'application/json' });
            res.end(JSON.stringify(o));
          };
          if (path === 'auth/approle/login') {
            const b = JSON.parse(body);
            if (b.role_id !== 'role' || b.secret_id !== 'secret') return json(400, { errors: ['invalid role or secret ID'] });
            const t = `tok-${++issued}`;
            valid.add(t);
            return json(200, { auth: { client_token: t, lease_duration: 1, renewable: true } });
          }
          if (!token || !valid.has(token)) return json(403, { errors: ['permission denied'] });
          if (path === 'auth/token/renew-self') return json(200, { auth: { client_token: token, lease_duration: 1, renewable: true } });
          if (path.startsWith('sys/events/subscribe/')) return json(eventsStatus, { errors: [] });
          if (path === 'sys/mounts') return json(200, { data: { 'kv/': { accessor: 'kv_1', type: 'kv', options: { version: '2' } } } });
          if (path === 'kv/metadata/x') return json(200, { data: { versions: { '1': { deletion_time: '', destroyed: false } } } });
          if (path === 'kv/data/x?version=1') return json(200, { data: { data: { k: 'v' } } });
          return json(404, { errors: [] });
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      const a = server.address();
      url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
    });
    afterAll(async () => {
      await new Promise<void>((r) => server.close(() => r()));
    });

    it('logs in with AppRole, sends the namespace, re-logs in on 403 and renews before expiry', async () => {
      const client = new VaultClient(cfg(url, { approle: { roleId: 'role', secretId: 'secret' }, namespace: 'team-a' }));
      const src = new VaultSource(client);
      try {
        expect(await src.readLatest('kv_1', 'x')).toEqual({ kind: 'data', version: 1, data: { k: 'v' } });
        expect(seen[0]).toMatchObject({ method: 'POST', path: 'auth/approle/login', ns: 'team-a' });
        expect(seen.slice(1).every((r) => r.token === 'tok-1' && r.ns === 'team-a')).toBe(true);
        // The token is revoked behind our back: the next request logs in again and succeeds.
        valid = new Set();
        expect(await src.latestVersion('kv_1', 'x')).toBe(1);
        expect(issued).toBe(2);
        // lease_duration 1 s: renew-self comes within about a second.
        await new Promise((r) => setTimeout(r, 1300));
        expect(seen.some((r) => r.path === 'auth/token/renew-self' && r.token === 'tok-2')).toBe(true);
      } finally {
        client.close();
      }
    });

    it('a bad AppRole secret is a clear error', async () => {
      const src = new VaultSource(new VaultClient(cfg(url, { approle: { roleId: 'role', secretId: 'nope' } })));
      await expect(src.readLatest('kv_1', 'x')).rejects.toThrow(/source vault answered 400 to auth\/approle\/login: invalid role or secret ID/);
      src.client.close();
    });

    it('the events client falls back silently on 404 and keeps retrying on other statuses', async () => {
      const client = new VaultClient(cfg(url, { approle: { roleId: 'role', secretId: 'secret' } }));
      const ev = new EventsClient(client, { onNotice: () => undefined, initialBackoffMs: 50 });
      try {
        ev.start();
        await waitState(ev, 'unavailable');
        ev.stop();
        eventsStatus = 500;
        const ev2 = new EventsClient(client, { onNotice: () => undefined, initialBackoffMs: 50 });
        ev2.start();
        await waitState(ev2, 'retrying');
        ev2.stop();
      } finally {
        eventsStatus = 404;
        client.close();
      }
    });
  });
});

async function waitState(ev: EventsClient, state: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (ev.state !== state) {
    if (Date.now() > deadline) throw new Error(`state ${ev.state}, wanted ${state}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
