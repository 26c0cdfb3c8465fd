/**
 * Issue #6 end to end: instance A (a dev server) is the remote store; it
 * streams its audit log to instance B's audit socket feed. B (config mode,
 * `source "vault"` pointing at A through a TCP proxy the test can cut) syncs
 * A's secrets to the AWS emulator.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServerConfig } from '../../src/config/server-config.js';
import { startServer, type ServerHandle } from '../../src/server/start-server.js';
import { startAwsEmulator, type AwsEmulator } from '../emulators/aws-secrets-manager/index.js';
import { emulatorConnection } from '../support/brief.js';
import { apiClient, startDevServer, waitFor, type TestServer } from '../support/dev-server.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** A TCP forwarder on a fixed port that can be taken down (connection refused) and brought back. */
class Proxy {
  private server: Server | undefined;
  private readonly conns = new Set<Socket>();
  constructor(
    readonly port: number,
    private readonly target: number,
  ) {}
  async up(): Promise<void> {
    const server = createServer((c) => {
      const up = connect(this.target, '127.0.0.1');
      this.conns.add(c).add(up);
      const drop = () => {
        c.destroy();
        up.destroy();
        this.conns.delete(c);
        this.conns.delete(up);
      };
      c.on('error', drop).on('close', drop);
      up.on('error', drop).on('close', drop);
      c.pipe(up).pipe(c);
    });
    await new Promise<void>((r) => server.listen(this.port, '127.0.0.1', () => r()));
    this.server = server;
  }
  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}

const silent = pino({ level: 'silent' });
let a: TestServer;
let aws: AwsEmulator;
let proxy: Proxy;
let dir: string;
let auditPort: number;
let b: ServerHandle;
let bApi: ReturnType<typeof apiClient>;
let bToken: string;
let accessor: string;
const env = { SYNC_TEST_SEAL_KEY: randomBytes(32).toString('base64') };

function configText(): string {
  return JSON.stringify({
    storage: { sqlite: { path: join(dir, 'b.db') } },
    listener: { tcp: { address: '127.0.0.1:0', tls_disable: true } },
    seal: { static: { key_env: 'SYNC_TEST_SEAL_KEY' } },
    log_level: 'error',
    sync: { retry_initial: '200ms', retry_max: '2s' },
    source: { vault: { address: `http://127.0.0.1:${proxy.port}`, token: a.rootToken, audit_listen_address: `127.0.0.1:${auditPort}`, poll_interval: '60s' } },
  });
}

async function startB(): Promise<void> {
  b = await startServer({ config: parseServerConfig(configText(), 'json', env), listen: { host: '127.0.0.1', port: 0 }, logger: silent, sourceFeeds: { events: false } });
  bApi = apiClient(b.url, bToken);
}

const NAME = (path: string) => `vault/${accessor}/${path}`;
const awsValue = (path: string) => {
  const s = aws.control.secret(NAME(path));
  return s && s.deletedDate === undefined ? s.currentValue : undefined;
};
const assocOf = async (path: string) => (await bApi('GET', 'sys/sync/destinations/aws-sm/dest/associations')).body.data.associated_secrets[`${accessor}/${path}`];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'remote-source-'));
  aws = await startAwsEmulator();
  a = await startDevServer();
  proxy = new Proxy(await freePort(), Number(new URL(a.url).port));
  await proxy.up();
  auditPort = await freePort();
  expect((await a.api('PUT', 'sys/mounts/my-kv/', { type: 'kv-v2' })).status).toBe(204);
  expect((await a.api('PUT', 'sys/mounts/old-kv/', { type: 'kv' })).status).toBe(204);
  accessor = (await a.api('GET', 'sys/mounts/my-kv')).body.data.accessor;
  expect((await a.api('PUT', 'my-kv/data/app', { data: { v: '1' } })).status).toBe(200);
  expect((await a.api('PUT', 'old-kv/legacy', { v: '1' })).status).toBe(204);

  b = await startServer({ config: parseServerConfig(configText(), 'json', env), listen: { host: '127.0.0.1', port: 0 }, logger: silent, sourceFeeds: { events: false } });
  const init = await apiClient(b.url, undefined)('PUT', 'sys/init', {});
  expect(init.status).toBe(200);
  bToken = init.body.root_token;
  bApi = apiClient(b.url, bToken);
  // A streams its audit log to B.
  expect((await a.api('PUT', 'sys/audit/to-b', { type: 'socket', options: { address: `127.0.0.1:${auditPort}`, socket_type: 'tcp' } })).status).toBe(204);
  expect((await bApi('PUT', 'sys/sync/destinations/aws-sm/dest', emulatorConnection(aws.url))).status).toBe(200);
}, 30_000);

afterAll(async () => {
  await b?.close();
  await a?.close();
  await proxy?.down();
  await aws?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('sync from a remote Vault', () => {
  it('set on a remote KV-v2 secret syncs it under the remote accessor', async () => {
    const r = await bApi('PUT', 'sys/sync/destinations/aws-sm/dest/associations/set', { mount: 'my-kv', secret_name: 'app' });
    expect(r.status).toBe(200);
    expect(r.body.data.associated_secrets[`${accessor}/app`]).toMatchObject({ accessor, secret_name: 'app', sync_status: 'SYNCED' });
    expect(awsValue('app')).toBe('{"v":"1"}');
  });

  it('a change in A arrives at AWS within 3 s through the audit feed', async () => {
    const t0 = Date.now();
    expect((await a.api('PUT', 'my-kv/data/app', { data: { v: '2' } })).status).toBe(200);
    await waitFor(() => awsValue('app') === '{"v":"2"}', 3000, 10);
    expect(Date.now() - t0).toBeLessThan(3000);
    const metrics = (await bApi('GET', 'sys/metrics?format=prometheus')).text;
    expect(metrics).toMatch(/secrets_sync_source_notices_total\{feed="audit",result="marked"\} [1-9]/);
  });

  it('patch, soft delete and undelete in A follow', async () => {
    await a.api('PATCH', 'my-kv/data/app', { data: { w: 'x' } });
    await waitFor(() => awsValue('app') === '{"v":"2","w":"x"}', 3000, 10);
    await a.api('DELETE', 'my-kv/data/app');
    await waitFor(() => awsValue('app') === '{"v":"2"}', 3000, 10);
    await a.api('POST', 'my-kv/undelete/app', { versions: [3] });
    await waitFor(() => awsValue('app') === '{"v":"2","w":"x"}', 3000, 10);
    await a.api('POST', 'my-kv/destroy/app', { versions: [3] });
    await waitFor(() => awsValue('app') === '{"v":"2"}', 3000, 10);
  });

  it('a secret in a KV-v1 mount of A is refused at set with a clear 400', async () => {
    const r = await bApi('PUT', 'sys/sync/destinations/aws-sm/dest/associations/set', { mount: 'old-kv', secret_name: 'legacy' });
    expect(r.status).toBe(400);
    expect(r.body.errors[0]).toMatch(/not a KV version 2 mount/);
    const missing = await bApi('PUT', 'sys/sync/destinations/aws-sm/dest/associations/set', { mount: 'nope', secret_name: 'x' });
    expect(missing.status).toBe(400);
    expect(missing.body.errors[0]).toMatch(/not found/);
  });

  it('remote unreachable: AWS keeps the last value, the status says why, and it catches up when A returns', async () => {
    await proxy.down();
    // The audit feed still reaches B (A connects to B directly); the read from A fails.
    await a.api('PUT', 'my-kv/data/app', { data: { v: 'during-outage' } });
    const failed = await waitFor(async () => {
      const e = await assocOf('app');
      return e?.sync_status === 'INTERNAL_VAULT_ERROR' ? e : undefined;
    }, 5000, 20);
    expect(failed.last_error).toMatch(/^source vault unreachable: ECONNREFUSED/);
    expect(awsValue('app')).toBe('{"v":"2"}');
    await proxy.up();
    await waitFor(() => awsValue('app') === '{"v":"during-outage"}', 5000, 20);
    await waitFor(async () => (await assocOf('app'))?.sync_status === 'SYNCED', 3000, 20);
  });

  it('a change made while B is down arrives after B restarts', async () => {
    await b.close();
    // No audit backlog either: only B's start-up reconcile can find this change.
    expect((await a.api('DELETE', 'sys/audit/to-b')).status).toBe(204);
    await a.api('PUT', 'my-kv/data/app', { data: { v: 'while-b-down' } });
    await startB();
    await waitFor(() => awsValue('app') === '{"v":"while-b-down"}', 5000, 20);
    // and the feed works again after the restart
    expect((await a.api('PUT', 'sys/audit/to-b', { type: 'socket', options: { address: `127.0.0.1:${auditPort}` } })).status).toBe(204);
    await a.api('PUT', 'my-kv/data/app', { data: { v: 'after-restart' } });
    await waitFor(() => awsValue('app') === '{"v":"after-restart"}', 5000, 10);
  });

  it('deleting the secret in A unsyncs it at AWS', async () => {
    expect((await a.api('DELETE', 'my-kv/metadata/app')).status).toBe(204);
    await waitFor(() => awsValue('app') === undefined, 3000, 10);
    await waitFor(async () => (await assocOf('app'))?.sync_status === 'UNSYNCED', 3000, 20);
  });

  it('malformed lines on the audit feed are counted and do not stop it', async () => {
    const sock = connect(auditPort, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write('not json\n');
    sock.write(Buffer.from([0xff, 0xfe, 0x0a]));
    sock.write('['.repeat(10_000) + '\n');
    sock.write('x'.repeat(2 * 1024 * 1024) + '\n');
    sock.end();
    await a.api('PUT', 'my-kv/data/app', { data: { v: 'back' } });
    await waitFor(() => awsValue('app') === '{"v":"back"}', 3000, 10);
    const metrics = (await bApi('GET', 'sys/metrics?format=prometheus')).text;
    for (const reason of ['invalid_json', 'invalid_utf8', 'too_deep', 'too_long']) {
      expect(metrics).toMatch(new RegExp(`secrets_sync_audit_feed_lines_total\\{result="${reason}"\\} [1-9]`));
    }
  });
});

describe('the events feed (our server offers sys/events/subscribe)', () => {
  let c: ServerHandle;
  let cDir: string;
  it('an instance with no audit feed learns of changes through the events WebSocket', async () => {
    cDir = mkdtempSync(join(tmpdir(), 'remote-events-'));
    const text = JSON.stringify({
      storage: { sqlite: { path: join(cDir, 'c.db') } },
      listener: { tcp: { address: '127.0.0.1:0', tls_disable: true } },
      seal: { static: { key_env: 'SYNC_TEST_SEAL_KEY' } },
      source: { vault: { address: a.url, token: a.rootToken, poll_interval: '60s' } },
    });
    c = await startServer({ config: parseServerConfig(text, 'json', env), listen: { host: '127.0.0.1', port: 0 }, logger: silent });
    try {
      const token = (await apiClient(c.url, undefined)('PUT', 'sys/init', {})).body.root_token;
      const cApi = apiClient(c.url, token);
      await waitFor(() => c.feeds()?.eventsState === 'open', 3000, 10);
      await a.api('PUT', 'my-kv/data/evt', { data: { e: '1' } });
      expect((await cApi('PUT', 'sys/sync/destinations/aws-sm/evt', { ...emulatorConnection(aws.url), secret_name_template: 'evt/{{ .MountAccessor }}/{{ .SecretPath }}' })).status).toBe(200);
      expect((await cApi('PUT', 'sys/sync/destinations/aws-sm/evt/associations/set', { mount: 'my-kv', secret_name: 'evt' })).body.data.associated_secrets[`${accessor}/evt`].sync_status).toBe('SYNCED');
      await a.api('PUT', 'my-kv/data/evt', { data: { e: '2' } });
      await waitFor(() => aws.control.secret(`evt/${accessor}/evt`)?.currentValue === '{"e":"2"}', 3000, 10);
      const metrics = (await cApi('GET', 'sys/metrics?format=prometheus')).text;
      expect(metrics).toMatch(/secrets_sync_source_notices_total\{feed="events",result="marked"\} [1-9]/);
    } finally {
      await c.close();
      rmSync(cDir, { recursive: true, force: true });
    }
  });
});
