/**
 * Nothing lost across `kill -9`: a config-mode server (SQLite file) in a child
 * process takes a burst of writes to 40 associated secrets and is killed
 * mid-burst, three times over; after the last restart every secret at AWS
 * holds its last acknowledged value (or the one write in flight at the kill,
 * if that committed) and every association is SYNCED — never SYNCED with a
 * stale value on the way there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEmulator, type AwsEmulator } from '../emulators/aws-secrets-manager/index.js';
import { BRIEF_POLICY, emulatorConnection } from '../support/brief.js';
import { freePort, startConfigServer, writeJsonConfig, writeSealKey, type ServerProcess } from '../support/config-server.js';
import { waitFor } from '../support/dev-server.js';

const SECRETS = Array.from({ length: 40 }, (_, i) => `s${String(i).padStart(2, '0')}`);
const WRITERS = 8;
const KILLS = 3;

let aws: AwsEmulator;
let dir: string;
let configPath: string;
let port: number;
let root: string;
let accessor: string;
const procs: ServerProcess[] = [];
const dirs: string[] = [];

async function start(): Promise<ServerProcess> {
  const p = await startConfigServer(configPath, port, { token: root });
  procs.push(p);
  return p;
}

/** A fresh data directory and config (SQLite file, seal key, short retries); the server is not started. */
async function freshServerFiles(): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'secrets-sync-kill-'));
  dirs.push(dir);
  port = await freePort();
  configPath = writeJsonConfig(join(dir, 'config.json'), {
    dir,
    port,
    keyFile: writeSealKey(join(dir, 'seal.key')),
    extra: { log_level: 'warn', sync: { retry_initial: '100ms', retry_max: '1s' } },
  });
}

/** Starts, initialises (root token in `root`), restarts, mounts my-kv and creates aws-sm destination `d`. */
async function initServer(): Promise<ServerProcess> {
  let s = await start();
  const init = await s.api('PUT', 'sys/init', { secret_shares: 1, secret_threshold: 1 }, { token: null });
  expect(init.status).toBe(200);
  root = init.body.root_token;
  await s.stop();
  s = await start();
  expect((await s.api('PUT', 'sys/mounts/my-kv/', { type: 'kv-v2' })).status).toBe(204);
  accessor = (await s.api('GET', 'sys/mounts/my-kv')).body.data.accessor;
  expect((await s.api('PUT', 'sys/sync/destinations/aws-sm/d', emulatorConnection(aws.url))).status).toBe(200);
  return s;
}

beforeAll(async () => {
  aws = await startAwsEmulator();
  aws.control.setPolicy('AKIAIOSFODNN7EXAMPLE', BRIEF_POLICY);
});
afterAll(async () => {
  for (const p of procs) if (p.proc.exitCode === null && p.proc.signalCode === null) await p.kill9();
  await aws?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const awsValue = (secret: string): string | undefined => {
  const s = aws.control.secret(`vault/${accessor}/${secret}`);
  return s && s.deletedDate === undefined ? s.currentValue : undefined;
};
const json = (v: string): string => JSON.stringify({ v });

describe('kill -9 mid-burst, three times', () => {
  it('every acknowledged write reaches AWS and every association ends SYNCED with it', async () => {
    await freshServerFiles();
    let s = await initServer();

    /** last acknowledged value per secret, and the write in flight (maybe committed, never acknowledged) when the server died */
    const acked = new Map<string, string>();
    const inFlight = new Map<string, string>();
    for (const secret of SECRETS) {
      expect((await s.api('PUT', `my-kv/data/${secret}`, { data: { v: `${secret}-init` } })).status).toBe(200);
      acked.set(secret, `${secret}-init`);
      expect((await s.api('PUT', 'sys/sync/destinations/aws-sm/d/associations/set', { mount: 'my-kv', secret_name: secret })).status).toBe(200);
    }

    let totalAcked = 0;
    for (let round = 1; round <= KILLS; round++) {
      let stop = false;
      let n = 0;
      // each secret belongs to one writer, so "last acknowledged" is well defined per secret
      const writer = async (w: number) => {
        const mine = SECRETS.filter((_, i) => i % WRITERS === w);
        while (!stop) {
          const secret = mine[n++ % mine.length]!;
          const value = `${secret}-r${round}-${n}`;
          inFlight.set(secret, value);
          const r = await s.api('PUT', `my-kv/data/${secret}`, { data: { v: value } }).catch(() => undefined);
          if (r?.status === 200) {
            acked.set(secret, value);
            inFlight.delete(secret);
            totalAcked++;
          } else return;
        }
      };
      const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
      await waitFor(() => totalAcked >= round * 150, 20_000, 5);
      const exit = await s.kill9();
      stop = true;
      await Promise.all(writers);
      expect(exit.signal).toBe('SIGKILL');
      s = await start();
    }
    expect(totalAcked).toBeGreaterThanOrEqual(KILLS * 150);

    // The truth after the last restart: each secret's current KV value is its last acknowledged write,
    // or the write in flight at a kill if that one committed before the process died.
    const current = new Map<string, string>();
    const version = new Map<string, number>();
    for (const secret of SECRETS) {
      const r = await s.api('GET', `my-kv/data/${secret}`);
      expect(r.status).toBe(200);
      const v = r.body.data.data.v as string;
      expect([acked.get(secret), inFlight.get(secret)]).toContain(v);
      current.set(secret, v);
      version.set(secret, r.body.data.metadata.version);
    }

    const staleSynced: string[] = [];
    await waitFor(
      async () => {
        const r = await s.api('GET', 'sys/sync/destinations/aws-sm/d/associations');
        const entries = r.body.data.associated_secrets as Record<string, { sync_status: string; synced_version: number }>;
        let done = 0;
        for (const secret of SECRETS) {
          const e = entries[`${accessor}/${secret}`]!;
          if (e.sync_status !== 'SYNCED') continue;
          // SYNCED means "the destination holds the current value": check it every time we see it
          if (awsValue(secret) !== json(current.get(secret)!) || e.synced_version !== version.get(secret)) staleSynced.push(`${secret}: ${e.synced_version}`);
          else done++;
        }
        return done === SECRETS.length;
      },
      45_000,
      100,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; not converged: ${SECRETS.filter((x) => awsValue(x) !== json(current.get(x)!)).join(', ')}`);
    });
    expect(staleSynced).toEqual([]);
    for (const secret of SECRETS) expect(awsValue(secret)).toBe(json(current.get(secret)!));
    await s.stop();
  }, 80_000);
});

describe('graceful restart', () => {
  it('jobs queued while the destination fails survive SIGTERM and complete after the restart', async () => {
    await freshServerFiles();
    let s = await initServer();
    const names = ['r1', 'r2', 'r3', 'r4', 'r5'];
    aws.control.setFaults({ errorRate: 1 });
    try {
      for (const n of names) {
        expect((await s.api('PUT', `my-kv/data/${n}`, { data: { v: `${n}-a` } })).status).toBe(200);
        await s.api('PUT', 'sys/sync/destinations/aws-sm/d/associations/set', { mount: 'my-kv', secret_name: n });
        expect((await s.api('PUT', `my-kv/data/${n}`, { data: { v: `${n}-b` } })).status).toBe(200);
      }
      await waitFor(async () => {
        const r = await s.api('GET', 'sys/sync/destinations/aws-sm/d/associations');
        return names.every((n) => r.body.data.associated_secrets[`${accessor}/${n}`]?.sync_status === 'EXTERNAL_SERVICE_ERROR');
      }, 10_000, 50);
      const exit = await s.stop();
      expect(exit.code).toBe(0);
      for (const n of names) expect(awsValue(n)).toBeUndefined();
    } finally {
      // the destination recovers while the server is down: only the persisted queue can finish the work
      aws.control.setFaults({});
    }
    s = await start();
    await waitFor(async () => {
      const r = await s.api('GET', 'sys/sync/destinations/aws-sm/d/associations');
      return names.every((n) => r.body.data.associated_secrets[`${accessor}/${n}`]?.sync_status === 'SYNCED');
    }, 15_000, 50);
    for (const n of names) expect(awsValue(n)).toBe(json(`${n}-b`));
    await s.stop();
  }, 40_000);
});
