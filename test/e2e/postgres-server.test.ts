/**
 * The real server on PostgreSQL (config mode, in-process, over HTTP): init,
 * mounts, KV, a destination syncing to the AWS emulator, a restart; then two
 * instances on one database writing at once, every association converging
 * to SYNCED with one destination write per change.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServerConfig } from '../../src/config/server-config.js';
import { startServer, type ServerHandle } from '../../src/server/start-server.js';
import { startAwsEmulator, type AwsEmulator } from '../emulators/aws-secrets-manager/index.js';
import { BRIEF_POLICY, emulatorConnection } from '../support/brief.js';
import { apiClient, waitFor } from '../support/dev-server.js';
import { createTestDatabase, queryDatabase, type TestDatabase } from '../support/postgres.js';

let aws: AwsEmulator;
let db: TestDatabase;
const sealKey = randomBytes(32).toString('base64');
const running = new Set<ServerHandle>();

interface Instance {
  h: ServerHandle;
  api: (method: string, path: string, body?: unknown) => ReturnType<ReturnType<typeof apiClient>>;
  close(): Promise<void>;
}

async function start(token?: string): Promise<Instance> {
  const text = JSON.stringify({
    storage: { postgresql: { connection_url: db.url, max_parallel: 8 } },
    listener: { tcp: { address: '127.0.0.1:0', tls_disable: true } },
    seal: { static: {} },
    log_level: 'error',
  });
  const config = parseServerConfig(text, 'json', { SECRETS_SYNC_SEAL_KEY: sealKey });
  const h = await startServer({ config, listen: { host: '127.0.0.1', port: 0 }, logger: pino({ level: 'silent' }) });
  running.add(h);
  const client = apiClient(h.url, token);
  return {
    h,
    api: (m, p, b) => client(m, p, b),
    async close() {
      running.delete(h);
      await h.close();
    },
  };
}

beforeAll(async () => {
  aws = await startAwsEmulator();
  aws.control.setPolicy('AKIAIOSFODNN7EXAMPLE', BRIEF_POLICY);
  db = await createTestDatabase('e2e');
});
afterAll(async () => {
  for (const h of running) await h.close().catch(() => undefined);
  await aws?.close();
  await db?.drop();
});

/** Value-carrying calls the emulator received for one external secret. */
const writesTo = (name: string) => aws.control.calls().filter((c) => c.secretName === name && (c.operation === 'CreateSecret' || c.operation === 'UpdateSecret')).length;

let root: string;
const CANARY = `CANARY-pg-${randomBytes(6).toString('hex')}`;

describe('one server on PostgreSQL', () => {
  let accessor: string;
  const NAME = () => `vault/${accessor}/app/db`;

  it('initialises, mounts, writes and reads KV, syncs to AWS', async () => {
    const a = await start();
    expect((await a.api('GET', 'sys/init')).body).toEqual({ initialized: false });
    const status = await a.api('GET', 'sys/seal-status');
    expect(status.body.storage_type).toBe('postgresql');
    const init = await a.api('PUT', 'sys/init', { secret_shares: 1, secret_threshold: 1 });
    expect(init.status).toBe(200);
    root = init.body.root_token;
    const api = (m: string, p: string, b?: unknown) => apiClient(a.h.url, root)(m, p, b);

    expect((await api('PUT', 'sys/mounts/my-kv/', { type: 'kv-v2' })).status).toBe(204);
    accessor = (await api('GET', 'sys/mounts/my-kv')).body.data.accessor;
    expect((await api('PUT', 'my-kv/data/app/db', { data: { password: CANARY } })).status).toBe(200);
    expect((await api('PUT', 'my-kv/data/app/\u{1F511}', { data: { emoji: 'yes' } })).status).toBe(200);
    expect((await api('GET', 'my-kv/data/app/db')).body.data.data).toEqual({ password: CANARY });
    expect((await api('LIST', 'my-kv/metadata/app')).body.data.keys).toEqual(['db', '\u{1F511}']);

    expect((await api('PUT', 'sys/sync/destinations/aws-sm/pg', emulatorConnection(aws.url))).status).toBe(200);
    const set = await api('PUT', 'sys/sync/destinations/aws-sm/pg/associations/set', { mount: 'my-kv', secret_name: 'app/db' });
    expect(set.body.data.associated_secrets[`${accessor}/app/db`].sync_status).toBe('SYNCED');
    expect(aws.control.secret(NAME())!.currentValue).toBe(JSON.stringify({ password: CANARY }));

    expect((await api('PUT', 'my-kv/data/app/db', { data: { password: `${CANARY}-2` } })).status).toBe(200);
    await waitFor(() => aws.control.secret(NAME())?.currentValue === JSON.stringify({ password: `${CANARY}-2` }), 10_000);
    await waitFor(async () => (await api('GET', 'sys/sync/associations/my-kv/app/db')).body.data.associated_destinations['aws-sm/pg'].sync_status === 'SYNCED');
    await a.close();
  });

  it('keeps values sealed in the database (keys in clear, values not)', async () => {
    const rows = await queryDatabase<{ n: string; keyring: string }>(
      db.url,
      "SELECT count(*) FILTER (WHERE position(convert_to($1, 'UTF8') in value) > 0) AS n, count(*) FILTER (WHERE key = 'core/keyring') AS keyring FROM entries",
      [CANARY],
    );
    expect(rows).toEqual([{ n: '0', keyring: '1' }]);
  });

  it('after a restart everything is there and syncing resumes', async () => {
    const b = await start(root);
    expect((await b.api('GET', 'sys/init')).body).toEqual({ initialized: true });
    expect((await b.api('GET', 'my-kv/data/app/db')).body.data.data).toEqual({ password: `${CANARY}-2` });
    expect((await b.api('GET', 'my-kv/metadata/app/db')).body.data.current_version).toBe(2);
    const assoc = await b.api('GET', 'sys/sync/associations/my-kv/app/db');
    expect(assoc.body.data.associated_destinations['aws-sm/pg'].sync_status).toBe('SYNCED');
    expect((await b.api('PUT', 'my-kv/data/app/db', { data: { password: `${CANARY}-3` } })).status).toBe(200);
    await waitFor(() => aws.control.secret(NAME())?.currentValue === JSON.stringify({ password: `${CANARY}-3` }), 10_000);
    await b.close();
  });
});

describe('two servers on one PostgreSQL database', () => {
  const SECRETS = ['a1', 'a2', 'a3', 'b1', 'b2', 'b3'];
  const ROUNDS = 4;
  let a: Instance;
  let b: Instance;
  let accessor: string;
  const nameOf = (s: string) => `vault/${accessor}/two/${s}`;

  beforeAll(async () => {
    a = await start(root);
    expect((await a.api('PUT', 'sys/mounts/two-kv/', { type: 'kv-v2' })).status).toBe(204);
    accessor = (await a.api('GET', 'sys/mounts/two-kv')).body.data.accessor;
    expect((await a.api('PUT', 'sys/sync/destinations/aws-sm/two', emulatorConnection(aws.url))).status).toBe(200);
    for (const s of SECRETS) {
      expect((await a.api('PUT', `two-kv/data/two/${s}`, { data: { round: 0 } })).status).toBe(200);
      const set = await a.api('PUT', 'sys/sync/destinations/aws-sm/two/associations/set', { mount: 'two-kv', secret_name: `two/${s}` });
      expect(set.body.data.associated_secrets[`${accessor}/two/${s}`].sync_status).toBe('SYNCED');
    }
    // The second instance starts once the mount exists (mount tables are loaded at start).
    b = await start(root);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  async function converged(round: number, via: Instance): Promise<boolean> {
    for (const s of SECRETS) {
      if (aws.control.secret(nameOf(s))?.currentValue !== JSON.stringify({ round })) return false;
      const r = await via.api('GET', `sys/sync/associations/two-kv/two/${s}`);
      if (r.body?.data?.associated_destinations?.['aws-sm/two']?.sync_status !== 'SYNCED') return false;
    }
    return true;
  }

  it('both write different secrets at once; every association ends SYNCED with one AWS write per change', async () => {
    for (let round = 1; round <= ROUNDS; round++) {
      const results = await Promise.all(
        SECRETS.map((s) => (s.startsWith('a') ? a : b).api('PUT', `two-kv/data/two/${s}`, { data: { round } })),
      );
      for (const r of results) expect(r.status, r.text).toBe(200);
      await waitFor(() => converged(round, round % 2 ? a : b), 15_000, 25);
    }
    // Settled: nothing further arrives, and both instances report the same.
    await new Promise((r) => setTimeout(r, 300));
    for (const s of SECRETS) {
      expect(writesTo(nameOf(s)), s).toBe(1 + ROUNDS);
      const fromA = (await a.api('GET', `sys/sync/associations/two-kv/two/${s}`)).body.data.associated_destinations['aws-sm/two'];
      const fromB = (await b.api('GET', `sys/sync/associations/two-kv/two/${s}`)).body.data.associated_destinations['aws-sm/two'];
      expect(fromA.sync_status).toBe('SYNCED');
      expect(fromB).toEqual(fromA);
      expect((await b.api('GET', `two-kv/metadata/two/${s}`)).body.data.current_version).toBe(1 + ROUNDS);
    }
  });

  it('both writing the same secret in turn converges on the last write', async () => {
    const s = 'a1';
    for (let i = 1; i <= 6; i++) {
      expect((await (i % 2 ? a : b).api('PUT', `two-kv/data/two/${s}`, { data: { turn: i } })).status).toBe(200);
    }
    await waitFor(() => aws.control.secret(nameOf(s))?.currentValue === JSON.stringify({ turn: 6 }), 15_000, 25);
    await waitFor(async () => (await b.api('GET', `sys/sync/associations/two-kv/two/${s}`)).body.data.associated_destinations['aws-sm/two'].sync_status === 'SYNCED', 15_000);
    expect((await a.api('GET', `two-kv/data/two/${s}`)).body.data.data).toEqual({ turn: 6 });
  });
});
