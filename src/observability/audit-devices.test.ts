import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer, waitFor, type TestServer } from '../../test/support/dev-server.js';

let s: TestServer;
let dir: string;
const CANARY = 'canary-7f3a9c1e-do-not-log';

beforeAll(async () => {
  s = await startDevServer('audit-root-token');
  dir = mkdtempSync(join(tmpdir(), 'audit-dev-'));
});
afterAll(async () => {
  await s?.close();
  rmSync(dir, { recursive: true, force: true });
});

const readEntries = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>);

describe('file audit device', () => {
  const file = () => join(dir, 'audit.log');

  it('is enabled, listed, and refuses a duplicate path or an unknown type', async () => {
    expect((await s.api('PUT', 'sys/audit/file', { type: 'file', options: { file_path: file() } })).status).toBe(204);
    const list = await s.api('GET', 'sys/audit');
    expect(list.body.data['file/']).toEqual({ type: 'file', description: '', options: { file_path: file() }, path: 'file/', local: false });
    expect(list.body['file/']).toBeDefined();
    const dup = await s.api('PUT', 'sys/audit/file', { type: 'file', options: { file_path: file() } });
    expect(dup.status).toBe(400);
    expect(dup.body.errors[0]).toMatch(/path already in use/);
    expect((await s.api('PUT', 'sys/audit/sys', { type: 'syslog' })).status).toBe(400);
    expect((await s.api('PUT', 'sys/audit/nofile', { type: 'file' })).body.errors[0]).toMatch(/file_path/);
    // a file that cannot be opened is refused at enable time (as Vault's sanity check), not accepted and then dropped
    const unwritable = await s.api('PUT', 'sys/audit/bad', { type: 'file', options: { file_path: join(dir, 'no-such-dir', 'audit.log') } });
    expect(unwritable.status).toBe(400);
    expect(unwritable.body.errors[0]).toMatch(/sanity check failed; unable to open .* for writing: ENOENT/);
    expect((await s.api('GET', 'sys/audit')).body.data['bad/']).toBeUndefined();
  });

  it('writes request and response entries in Vault format; the canary value never appears', async () => {
    expect((await s.api('PUT', 'secret/data/canary', { data: { password: CANARY } })).status).toBe(200);
    const read = await s.api('GET', 'secret/data/canary');
    expect(read.body.data.data.password).toBe(CANARY);
    await waitFor(() => readEntries(file()).filter((e) => e.request?.path === 'secret/data/canary').length >= 4, 2000);
    const text = readFileSync(file(), 'utf8');
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain('audit-root-token');
    const entries = readEntries(file()).filter((e) => e.request?.path === 'secret/data/canary');
    expect(entries.map((e) => [e.type, e.request.operation])).toEqual([
      ['request', 'update'],
      ['response', 'update'],
      ['request', 'read'],
      ['response', 'read'],
    ]);
    const [wreq, wresp, , rresp] = entries;
    expect(wreq!.request).toMatchObject({ mount_point: 'secret/', mount_type: 'kv', namespace: { id: 'root' }, path: 'secret/data/canary' });
    expect(wreq!.request.mount_accessor).toMatch(/^kv_[0-9a-f]{8}$/);
    expect(wreq!.request.client_token).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(wreq!.auth.client_token).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(wreq!.auth.accessor).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(wreq!.auth.policies).toEqual(['root']);
    expect(wreq!.request.data.data.password).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(wresp!.response.data.version).toBe(1);
    expect(wresp!.error).toBeUndefined();
    // the same value hashes the same in request and response, and sys/audit-hash tells which
    const h = await s.api('PUT', 'sys/audit-hash/file', { input: CANARY });
    expect(h.status).toBe(200);
    expect(h.body.data.hash).toBe(wreq!.request.data.data.password);
    expect(rresp!.response.data.data.password).toBe(h.body.data.hash);
  });

  it('records failed requests with their error', async () => {
    await s.api('PUT', 'secret/data/canary', { data: { password: CANARY }, options: { cas: 99 } });
    const isCasFailure = (e: Record<string, any>) => e.type === 'response' && e.request.path === 'secret/data/canary' && e.error;
    await waitFor(() => readEntries(file()).some(isCasFailure), 2000);
    const failed = readEntries(file()).find(isCasFailure)!;
    expect(failed.error).toMatch(/check-and-set/);
    expect(readFileSync(file(), 'utf8')).not.toContain(CANARY);
  });

  it('needs sudo', async () => {
    await s.api('PUT', 'sys/policy/audit-reader', { policy: 'path "sys/audit*" { capabilities = ["read", "update", "list"] }' });
    const t = (await s.api('POST', 'auth/token/create', { policies: ['audit-reader'] })).body.auth.client_token;
    expect((await s.api('GET', 'sys/audit', undefined, { token: t })).status).toBe(403);
    expect((await s.api('PUT', 'sys/audit-hash/file', { input: 'x' }, { token: t })).status).toBe(403);
    expect((await s.api('PUT', 'sys/audit/x', { type: 'file', options: { file_path: 'discard' } }, { token: t })).status).toBe(403);
  });

  it('is disabled by DELETE', async () => {
    expect((await s.api('DELETE', 'sys/audit/file')).status).toBe(204);
    expect((await s.api('GET', 'sys/audit')).body.data).toEqual({});
    expect((await s.api('PUT', 'sys/audit-hash/file', { input: 'x' })).status).toBe(400);
  });
});

describe('socket audit device', () => {
  it('never blocks requests while its target is down, and delivers the backlog once it is up', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const a = srv.address();
        srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
      });
    });
    expect((await s.api('PUT', 'sys/audit/sock', { type: 'socket', options: { address: `127.0.0.1:${port}`, socket_type: 'tcp' } })).status).toBe(204);
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) expect((await s.api('PUT', 'secret/data/sock', { data: { v: CANARY } })).status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(2000);
    let received = '';
    const srv = createServer((c) => c.on('data', (d) => (received += d.toString())));
    await new Promise<void>((r) => srv.listen(port, '127.0.0.1', () => r()));
    try {
      await waitFor(() => received.split('\n').filter((l) => l.includes('"path":"secret/data/sock"')).length >= 10, 10_000);
      expect(received).not.toContain(CANARY);
      for (const line of received.split('\n').filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
    } finally {
      await s.api('DELETE', 'sys/audit/sock');
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it('refuses a socket device without an address', async () => {
    const r = await s.api('PUT', 'sys/audit/sock2', { type: 'socket', options: {} });
    expect(r.status).toBe(400);
    expect(r.body.errors[0]).toMatch(/address/);
  });
});
