/**
 * Config mode in a child process over a real SQLite file and seal key file:
 * init, restart, crash (kill -9), encryption at rest, seal key and config
 * failures — JSON config, and the HCL twin through the built CLI.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  REPO_ROOT,
  runCli,
  runExpectingFailure,
  startConfigServer,
  writeHclConfig,
  writeJsonConfig,
  writeSealKey,
  type ServerProcess,
} from '../support/config-server.js';

const dirs: string[] = [];
const procs: ServerProcess[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'secrets-sync-persist-'));
  dirs.push(d);
  return d;
}
async function start(config: string, port: number, token?: string, launcher: 'source' | 'cli' = 'source'): Promise<ServerProcess> {
  const p = await startConfigServer(config, port, { token, launcher });
  procs.push(p);
  return p;
}
afterAll(async () => {
  for (const p of procs) if (p.proc.exitCode === null && p.proc.signalCode === null) await p.kill9();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const DB_FILES = ['data.db', 'data.db-wal', 'data.db-shm'];

/** Every database file's raw bytes, concatenated (missing files are skipped). */
function rawDatabase(dir: string): Buffer {
  return Buffer.concat(DB_FILES.map((f) => join(dir, f)).filter(existsSync).map((f) => readFileSync(f)));
}

function expectNoneInClear(dir: string, secrets: string[]): void {
  const raw = rawDatabase(dir);
  // positive control: storage keys are in clear, so the scan reads real records
  expect(raw.includes(Buffer.from('core/keyring'))).toBe(true);
  for (const secret of secrets) {
    // utf8, utf16 (SQLite text encodings) and base64 forms
    for (const form of [Buffer.from(secret, 'utf8'), Buffer.from(secret, 'utf16le'), Buffer.from(Buffer.from(secret).toString('base64').slice(0, 16))]) {
      expect(raw.includes(form), `found ${secret.slice(0, 6)}… in clear in the database files`).toBe(false);
    }
  }
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('config mode with a JSON config (child process)', () => {
  let dir: string;
  let config: string;
  let port: number;
  let keyFile: string;
  let root: string;
  let child: string;
  let childAccessor: string;
  const CANARY_A = 'CANARY-kv-alpha-7f3a9c1e';
  const CANARY_B = 'CANARY-kv-bravo-44d0e2b9';
  const CANARY_CRASH = 'CANARY-kv-crash-91be77aa';
  const CANARY_META = 'CANARY-custom-meta-0c5d';

  beforeAll(async () => {
    dir = tempDir();
    port = await freePort();
    keyFile = writeSealKey(join(dir, 'seal.key'));
    config = writeJsonConfig(join(dir, 'server.json'), { dir, port, keyFile });
  });

  it('starts uninitialised: health 501, data APIs 503, then init returns the root token once', async () => {
    const s = await start(config, port);
    const h = await s.api('GET', 'sys/health', undefined, { token: null });
    expect(h.status).toBe(501);
    expect(h.body).toMatchObject({ initialized: false, sealed: false });
    expect((await s.api('GET', 'sys/init', undefined, { token: null })).body).toEqual({ initialized: false });
    expect((await s.api('GET', 'sys/seal-status', undefined, { token: null })).body).toMatchObject({ initialized: false, type: 'static', storage_type: 'sqlite' });
    for (const [m, p] of [
      ['GET', 'my-kv/data/x'],
      ['GET', 'sys/mounts'],
      ['PUT', 'sys/mounts/my-kv'],
      ['POST', 'auth/token/create'],
      ['GET', 'auth/token/lookup-self'],
    ] as const) {
      const r = await s.api(m, p, m === 'GET' ? undefined : {}, { token: 'hvs.anything' });
      expect(r.status, `${m} ${p}: ${r.text}`).toBe(503);
      expect(r.body.errors.length).toBeGreaterThan(0);
    }
    const init = await s.api('PUT', 'sys/init', { secret_shares: 1, secret_threshold: 1 }, { token: null });
    expect(init.status).toBe(200);
    root = init.body.root_token;
    expect(root).toMatch(/^hvs\.[A-Za-z0-9]{20,}$/);
    const again = await s.api('PUT', 'sys/init', {}, { token: null });
    expect(again.status).toBe(400);
    expect(again.text).not.toContain(root);
    expect((await s.api('GET', 'sys/health', undefined, { token: null })).status).toBe(200);

    const api = (m: string, p: string, b?: unknown) => s.api(m, p, b, { token: root });
    expect((await api('PUT', 'sys/mounts/my-kv/', { type: 'kv-v2' })).status).toBe(204);
    expect((await api('PUT', 'my-kv/data/x', { data: { password: CANARY_A } })).status).toBe(200);
    expect((await api('PUT', 'my-kv/data/x', { data: { password: CANARY_B, nested: { deep: CANARY_A } } })).status).toBe(200);
    expect((await api('POST', 'my-kv/metadata/x', { custom_metadata: { note: CANARY_META } })).status).toBe(204);
    expect((await api('PUT', 'sys/policies/acl/x-read', { policy: 'path "my-kv/data/x" { capabilities = ["read"] }' })).status).toBe(204);
    const t = await api('POST', 'auth/token/create', { policies: ['x-read'], ttl: '24h' });
    expect(t.status).toBe(200);
    child = t.body.auth.client_token;
    childAccessor = t.body.auth.accessor;
    expect((await s.api('GET', 'my-kv/data/x', undefined, { token: child })).body.data.data.password).toBe(CANARY_B);

    const exit = await s.stop();
    expect(exit.code).toBe(0);
  });

  it('after SIGTERM and restart: data, metadata, policies and tokens survive, no unseal step', async () => {
    const s = await start(config, port, root);
    const h = await s.api('GET', 'sys/health', undefined, { token: null });
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ initialized: true, sealed: false });
    const r = await s.api('GET', 'my-kv/data/x');
    expect(r.status).toBe(200);
    expect(r.body.data.data).toEqual({ password: CANARY_B, nested: { deep: CANARY_A } });
    expect((await s.api('GET', 'my-kv/data/x?version=1')).body.data.data).toEqual({ password: CANARY_A });
    const md = await s.api('GET', 'my-kv/metadata/x');
    expect(md.body.data).toMatchObject({ current_version: 2, custom_metadata: { note: CANARY_META } });
    expect((await s.api('GET', 'sys/mounts')).body.data['my-kv/'].options).toEqual({ version: '2' });
    // the child token still works, within its policy only
    const self = await s.api('GET', 'auth/token/lookup-self', undefined, { token: child });
    expect(self.status).toBe(200);
    expect(self.body.data).toMatchObject({ accessor: childAccessor, policies: ['default', 'x-read'] });
    expect((await s.api('GET', 'my-kv/data/x', undefined, { token: child })).status).toBe(200);
    expect((await s.api('PUT', 'my-kv/data/x', { data: { a: 1 } }, { token: child })).status).toBe(403);
    // a second init is still refused
    expect((await s.api('PUT', 'sys/init', {}, { token: null })).status).toBe(400);

    // kill -9 right after an acknowledged write
    const w = await s.api('PUT', 'my-kv/data/crash', { data: { v: CANARY_CRASH } });
    expect(w.status).toBe(200);
    const exit = await s.kill9();
    expect(exit.signal).toBe('SIGKILL');
    // what a crash leaves on disk holds no secret in clear either
    expectNoneInClear(dir, [CANARY_A, CANARY_B, CANARY_CRASH, CANARY_META, root, child, childAccessor]);

    const s2 = await start(config, port, root);
    const c = await s2.api('GET', 'my-kv/data/crash');
    expect(c.status).toBe(200);
    expect(c.body.data.data).toEqual({ v: CANARY_CRASH });
    expect((await s2.api('GET', 'my-kv/data/x')).body.data.metadata.version).toBe(2);
    expect((await s2.stop()).code).toBe(0);
  });

  it('no database file holds a KV value, a custom metadata value or a token in clear', () => {
    const present = DB_FILES.filter((f) => existsSync(join(dir, f)));
    expect(present).toContain('data.db');
    expectNoneInClear(dir, [CANARY_A, CANARY_B, CANARY_CRASH, CANARY_META, root, child, childAccessor]);
  });

  it('a different 32-byte seal key fails start with a clear message and changes nothing', async () => {
    const before = sha(join(dir, 'data.db'));
    const otherKey = writeSealKey(join(dir, 'other.key'));
    const wrong = writeJsonConfig(join(dir, 'wrong-key.json'), { dir, port, keyFile: otherKey });
    const r = await runExpectingFailure(wrong);
    expect(r.code).not.toBe(0);
    expect(r.stderr.toLowerCase()).toContain('seal key');
    expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    expect(r.stderr).not.toContain(readFileSync(otherKey, 'utf8').trim());
    expect(sha(join(dir, 'data.db'))).toBe(before);
    // and the right key still opens everything
    const s = await start(config, port, root);
    expect((await s.api('GET', 'my-kv/data/crash')).body.data.data).toEqual({ v: CANARY_CRASH });
    expect((await s.stop()).code).toBe(0);
  });

  it('a seal key of the wrong length is a config error naming the file', async () => {
    const shortKey = writeSealKey(join(dir, 'short.key'), 16);
    const cfg = writeJsonConfig(join(dir, 'short-key.json'), { dir, port, keyFile: shortKey });
    const r = await runExpectingFailure(cfg);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(shortKey);
    expect(r.stderr).toContain('32-byte');
    expect(r.stderr).not.toContain(readFileSync(shortKey, 'utf8').trim());
  });

  it('an unknown config key fails start naming the key', async () => {
    const cfg = writeJsonConfig(join(dir, 'unknown.json'), { dir, port, keyFile, extra: { storrage: {} } });
    const r = await runExpectingFailure(cfg);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('unknown key "storrage"');
  });
});

describe('config mode with the HCL twin, through bin/secrets-sync', () => {
  const built = existsSync(join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'));

  it('operator init -format=json, then data and tokens survive a restart', async () => {
    // npm test builds first (pretest); run `npm run build` before running this file alone
    expect(built, 'bin/secrets-sync is not built: run `npm run build`').toBe(true);
    const dir = tempDir();
    const port = await freePort();
    const keyFile = writeSealKey(join(dir, 'seal.key'));
    const config = writeHclConfig(join(dir, 'server.hcl'), { dir, port, keyFile });
    const env = { VAULT_ADDR: `http://127.0.0.1:${port}`, HOME: dir, VAULT_TOKEN: '' };
    const s = await start(config, port, undefined, 'cli');
    expect((await s.api('GET', 'sys/health', undefined, { token: null })).status).toBe(501);
    expect((await s.api('GET', 'my-kv/data/x', undefined, { token: 'x' })).status).toBe(503);

    const init = await runCli(['operator', 'init', '-format=json'], env);
    expect(init.code, init.stderr).toBe(0);
    const out = JSON.parse(init.stdout) as { root_token: string };
    const root = out.root_token;
    expect(root).toMatch(/^hvs\./);
    const again = await runCli(['operator', 'init', '-format=json'], env);
    expect(again.code).not.toBe(0);
    expect(again.stdout + again.stderr).not.toContain(root);

    const api = (m: string, p: string, b?: unknown, token = root) => s.api(m, p, b, { token });
    expect((await api('PUT', 'sys/mounts/my-kv', { type: 'kv-v2' })).status).toBe(204);
    const CANARY = 'CANARY-hcl-value-5e1f09d3';
    expect((await api('PUT', 'my-kv/data/x', { data: { v: CANARY } })).status).toBe(200);
    const child = (await api('POST', 'auth/token/create', { policies: ['default'] })).body.auth.client_token as string;
    expect((await s.stop()).code).toBe(0);
    expectNoneInClear(dir, [CANARY, root, child]);

    const s2 = await start(config, port, root, 'cli');
    expect((await s2.api('GET', 'my-kv/data/x')).body.data.data).toEqual({ v: CANARY });
    expect((await s2.api('GET', 'auth/token/lookup-self', undefined, { token: child })).status).toBe(200);
    expect((await s2.stop()).code).toBe(0);
    // a copy of the database under another seal key is useless
    const copyDir = tempDir();
    copyFileSync(join(dir, 'data.db'), join(copyDir, 'data.db'));
    const otherKey = writeSealKey(join(copyDir, 'seal.key'));
    const wrong = writeHclConfig(join(copyDir, 'server.hcl'), { dir: copyDir, port, keyFile: otherKey });
    const r = await runExpectingFailure(wrong);
    expect(r.code).not.toBe(0);
    expect(r.stderr.toLowerCase()).toContain('seal key');
  });
});
