/**
 * Tamper resistance (issue #7): a config-mode server over a real SQLite file
 * is stopped, its `entries` table edited behind its back (a version's
 * ciphertext copied onto another secret's version row, a flipped bit, two
 * destination records swapped), and restarted. The barrier's AAD (= record
 * key) and GCM tag must turn each edit into an integrity error: the affected
 * reads answer a generic 500 (never data, never the storage key), everything
 * else still reads, and the server logs the integrity failure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, runExpectingFailure, startConfigServer, writeJsonConfig, writeSealKey, type ServerProcess } from '../support/config-server.js';
import { apiClient, waitFor } from '../support/dev-server.js';

const VALUES = {
  victim: 'victim-value-1d9e',
  donor: 'donor-value-88c2',
  flipped: 'flipped-value-5a07',
  intact: 'intact-value-e3f1',
};
const CRED_1 = 'credOneSECRET0a1b2c3d';
const CRED_2 = 'credTwoSECRET9f8e7d6c';
const GENERIC_500 = { errors: ['1 error occurred:\n\t* internal error\n\n'] };

describe('tampered SQLite records', () => {
  let dir: string;
  let config: string;
  let port: number;
  let root = '';
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'secrets-sync-tamper-'));
    port = await freePort();
    const keyFile = writeSealKey(join(dir, 'seal.key'));
    config = writeJsonConfig(join(dir, 'server.json'), { dir, port, keyFile });
    server = await startConfigServer(config, port);
    const init = await server.api('PUT', 'sys/init', { secret_shares: 1, secret_threshold: 1 }, { token: null });
    expect(init.status).toBe(200);
    root = init.body.root_token;
    const api = apiClient(server.url, root);
    expect((await api('POST', 'sys/mounts/my-kv', { type: 'kv-v2' })).status).toBe(204);
    for (const [name, value] of Object.entries(VALUES)) {
      expect((await api('POST', `my-kv/data/${name}`, { data: { value } })).status).toBe(200);
    }
    for (const [name, cred] of [['d1', CRED_1], ['d2', CRED_2]]) {
      const r = await api('POST', `sys/sync/destinations/aws-sm/${name}`, { access_key_id: `AKIA${name.toUpperCase()}EXAMPLE`, secret_access_key: cred, region: 'us-east-1' });
      expect(r.status, r.text).toBe(200);
    }
    expect((await server.stop()).code).toBe(0);

    // Behind the server's back.
    const db = new Database(join(dir, 'data.db'));
    const get = (key: string) => (db.prepare('SELECT value FROM entries WHERE key = ?').get(key) as { value: Buffer } | undefined)?.value;
    const put = (key: string, value: Buffer) => expect(db.prepare('UPDATE entries SET value = ? WHERE key = ?').run(value, key).changes).toBe(1);
    const keys = (db.prepare('SELECT key FROM entries ORDER BY key').all() as Array<{ key: string }>).map((r) => r.key);
    const verKey = (name: string) => keys.find((k) => /^kv\/[^/]+\/ver\/1\//.test(k) && k.endsWith(`/ver/1/${name}`))!;
    expect(verKey('victim')).toBeDefined();
    // (a) another secret's version ciphertext, byte for byte valid, copied onto the victim's row
    put(verKey('victim'), get(verKey('donor'))!);
    // (b) one bit flipped in the middle of a stored value
    const flipped = Buffer.from(get(verKey('flipped'))!);
    flipped[flipped.length >> 1]! ^= 0x04;
    put(verKey('flipped'), flipped);
    // (c) two destination records swapped
    const d1 = get('sync/dest/aws-sm/d1')!;
    const d2 = get('sync/dest/aws-sm/d2')!;
    expect(d1).toBeDefined();
    put('sync/dest/aws-sm/d1', d2);
    put('sync/dest/aws-sm/d2', d1);
    db.close();

    server = await startConfigServer(config, port, { token: root });
  });

  afterAll(async () => {
    if (server && server.proc.exitCode === null && server.proc.signalCode === null) await server.kill9();
    rmSync(dir, { recursive: true, force: true });
  });

  const expectGeneric500 = (r: { status: number; text: string }) => {
    expect(r.status, r.text).toBe(500);
    expect(JSON.parse(r.text)).toEqual(GENERIC_500);
    for (const v of [...Object.values(VALUES), CRED_1, CRED_2]) expect(r.text).not.toContain(v);
    // The storage key (mount uuid, record layout) is not the client's business either.
    expect(r.text).not.toMatch(/kv\/|sync\/dest|integrity/);
  };

  it('a ciphertext copied onto another secret row does not open: generic 500, never the donor data', async () => {
    expectGeneric500(await server!.api('GET', 'my-kv/data/victim'));
    expectGeneric500(await server!.api('GET', 'my-kv/data/victim?version=1'));
    expectGeneric500(await server!.api('GET', 'my-kv/subkeys/victim'));
  });

  it('a flipped bit does not open: generic 500', async () => {
    expectGeneric500(await server!.api('GET', 'my-kv/data/flipped'));
  });

  it('swapped destination records do not open: generic 500, no credential or other destination leaks', async () => {
    expectGeneric500(await server!.api('GET', 'sys/sync/destinations/aws-sm/d1'));
    expectGeneric500(await server!.api('GET', 'sys/sync/destinations/aws-sm/d2'));
  });

  it('untouched records still read fine (the donor too)', async () => {
    for (const name of ['donor', 'intact'] as const) {
      const r = await server!.api('GET', `my-kv/data/${name}`);
      expect(r.status, r.text).toBe(200);
      expect(r.body.data.data).toEqual({ value: VALUES[name] });
    }
    expect((await server!.api('GET', 'my-kv/metadata/victim')).body.data.current_version).toBe(1);
    expect((await server!.api('GET', 'sys/health', undefined, { token: null })).status).toBe(200);
  });

  it('the server logs the integrity failure (naming the record key, never a value)', async () => {
    // The logger writes asynchronously: wait for both lines, not just the first.
    const log = await waitFor(() => (/stored record sync\/dest\/aws-sm\/d1/.test(server!.stderr()) ? server!.stderr() : ''), 5000, 50);
    expect(log).toMatch(/integrity check failed for stored record kv\/[^/]+\/ver\/1\/victim/);
    expect(log).toMatch(/integrity check failed for stored record sync\/dest\/aws-sm\/d1/);
    for (const v of [...Object.values(VALUES), CRED_1, CRED_2]) expect(log).not.toContain(v);
  });

  it('a flipped bit in the wrapped keyring stops the server from starting, with a clear message and nothing decrypted', async () => {
    expect((await server!.stop()).code).toBe(0);
    const db = new Database(join(dir, 'data.db'));
    const ring = Buffer.from((db.prepare('SELECT value FROM entries WHERE key = ?').get('core/keyring') as { value: Buffer }).value);
    ring[ring.length - 1]! ^= 0x01;
    db.prepare('UPDATE entries SET value = ? WHERE key = ?').run(ring, 'core/keyring');
    db.close();
    const r = await runExpectingFailure(config);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/seal key does not open this store/);
    for (const v of [...Object.values(VALUES), CRED_1, CRED_2]) expect(r.stderr + r.stdout).not.toContain(v);
  });
});
