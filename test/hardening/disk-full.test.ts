/**
 * Disk full: a config-mode server (child process) keeps its SQLite file on a
 * 2 MiB tmpfs and takes concurrent KV writes (to secrets associated with an
 * AWS destination) until the filesystem is full. While full: writes answer a
 * generic 5xx in Vault's format, reads keep working, nothing half-written is
 * visible. When the space returns (the tmpfs is enlarged): writes succeed
 * again, every acknowledged write reads back exactly with contiguous version
 * numbers (a refused write left no version or metadata behind), and the sync
 * converges to the last value of each secret.
 *
 * Needs `mount -t tmpfs` (root with CAP_SYS_ADMIN); where mounting is refused
 * the suite is skipped with a warning naming the reason.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEmulator, type AwsEmulator } from '../emulators/aws-secrets-manager/index.js';
import { BRIEF_POLICY, emulatorConnection } from '../support/brief.js';
import { freePort, startConfigServer, writeJsonConfig, writeSealKey, type ServerProcess } from '../support/config-server.js';
import { waitFor } from '../support/dev-server.js';

const GENERIC_500 = '1 error occurred:\n\t* internal error\n\n';
const SECRETS = Array.from({ length: 12 }, (_, i) => `s${String(i).padStart(2, '0')}`);
const WRITERS = 4;

let dir = '';
let mnt = '';
let mounted = false;
let mountRefused = '';
let aws: AwsEmulator;
let server: ServerProcess | undefined;
let accessor = '';

function tryMount(size: string): void {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt], { stdio: 'pipe' });
    mounted = true;
  } catch (err) {
    mountRefused = String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'secrets-sync-diskfull-'));
  mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  tryMount('2m');
  if (!mounted) {
    console.warn(`disk-full suite skipped: cannot mount a tmpfs (${mountRefused})`);
    return;
  }
  aws = await startAwsEmulator();
  aws.control.setPolicy('AKIAIOSFODNN7EXAMPLE', BRIEF_POLICY);
});

afterAll(async () => {
  if (server && server.proc.exitCode === null && server.proc.signalCode === null) await server.kill9();
  await aws?.close();
  if (mounted) execFileSync('umount', ['-l', mnt]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const awsValue = (secret: string): string | undefined => {
  const s = aws.control.secret(`vault/${accessor}/${secret}`);
  return s && s.deletedDate === undefined ? s.currentValue : undefined;
};

describe('the database filesystem fills up during KV writes', () => {
  it('refuses writes cleanly while full, keeps serving reads, and recovers when space returns', async (ctx) => {
    if (!mounted) ctx.skip();
    const port = await freePort();
    const config = writeJsonConfig(join(dir, 'config.json'), {
      dir,
      port,
      dbPath: join(mnt, 'data.db'),
      keyFile: writeSealKey(join(dir, 'seal.key')),
      extra: { log_level: 'warn', sync: { retry_initial: '100ms', retry_max: '1s' } },
    });
    server = await startConfigServer(config, port);
    const s = server;
    const init = await s.api('PUT', 'sys/init', { secret_shares: 1, secret_threshold: 1 }, { token: null });
    expect(init.status).toBe(200);
    const token = init.body.root_token as string;
    const api = (m: string, p: string, b?: unknown) => s.api(m, p, b, { token });
    expect((await api('PUT', 'sys/mounts/my-kv/', { type: 'kv-v2' })).status).toBe(204);
    accessor = (await api('GET', 'sys/mounts/my-kv')).body.data.accessor;
    expect((await api('PUT', 'sys/sync/destinations/aws-sm/d', emulatorConnection(aws.url))).status).toBe(200);

    /** acknowledged values per secret, in version order (version n = acked[n-1]) */
    const acked = new Map<string, string[]>(SECRETS.map((x) => [x, []]));
    const refused: Array<{ status: number; text: string }> = [];
    const value = (secret: string) => `${secret}-${randomBytes(6000).toString('base64')}`; // ~8 KB, incompressible
    const write = async (secret: string): Promise<boolean> => {
      const v = value(secret);
      const r = await api('PUT', `my-kv/data/${secret}`, { data: { v } });
      if (r.status === 200) {
        const list = acked.get(secret)!;
        list.push(v);
        expect(r.body.data.version).toBe(list.length);
        return true;
      }
      refused.push({ status: r.status, text: r.text });
      return false;
    };
    for (const secret of SECRETS) {
      expect(await write(secret)).toBe(true);
      expect((await api('POST', 'sys/sync/destinations/aws-sm/d/associations/set', { mount: 'my-kv', secret_name: secret })).status).toBe(200);
    }

    // concurrent writers (each owns its secrets, so "last acknowledged" is well defined) until every writer has been refused 3 times
    const writer = async (w: number) => {
      const mine = SECRETS.filter((_, i) => i % WRITERS === w);
      let fails = 0;
      for (let n = 0; n < 2000 && fails < 3; n++) if (!(await write(mine[n % mine.length]!))) fails++;
      return fails;
    };
    const fails = await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    expect(fails.every((f) => f === 3), 'the filesystem never filled up').toBe(true);
    const ackedWhileFilling = [...acked.values()].reduce((a, l) => a + l.length, 0);
    expect(ackedWhileFilling).toBeGreaterThan(SECRETS.length * 2);

    // while full: a clear, generic 5xx in Vault's format, no stack or SQLite detail
    for (const r of refused) {
      expect(r.status, r.text).toBeGreaterThanOrEqual(500);
      expect(r.status, r.text).toBeLessThan(600);
      expect(JSON.parse(r.text)).toEqual({ errors: [GENERIC_500] });
    }
    // the operator learns why from the log
    await waitFor(() => s.stderr().includes('SQLITE_FULL'), 5000, 50);
    // still full: another write is refused; the server keeps serving reads
    expect(await write(SECRETS[0]!)).toBe(false);
    expect((await s.api('GET', 'sys/health', undefined, { token: null })).status).toBe(200);
    for (const secret of SECRETS) {
      const list = acked.get(secret)!;
      const r = await api('GET', `my-kv/data/${secret}`);
      expect(r.status, r.text).toBe(200);
      expect(r.body.data.data).toEqual({ v: list.at(-1) });
      expect(r.body.data.metadata.version).toBe(list.length);
      const md = await api('GET', `my-kv/metadata/${secret}`);
      expect(md.status).toBe(200);
      expect(md.body.data.current_version).toBe(list.length);
    }
    expect((await api('GET', 'sys/sync/destinations/aws-sm/d/associations')).status).toBe(200);
    expect(s.proc.exitCode).toBeNull();

    // space returns
    execFileSync('mount', ['-o', 'remount,size=64m', mnt]);
    await waitFor(async () => write(SECRETS[0]!), 10_000, 100);
    for (const secret of SECRETS) expect(await write(secret)).toBe(true);

    // every acknowledged version reads back exactly; refused writes left no version behind
    for (const secret of SECRETS) {
      const list = acked.get(secret)!;
      const md = await api('GET', `my-kv/metadata/${secret}`);
      expect(md.body.data.current_version, secret).toBe(list.length);
      expect(Object.keys(md.body.data.versions).map(Number).sort((a, b) => a - b).at(-1)).toBe(list.length);
      for (let n = Math.max(1, list.length - 10); n <= list.length; n++) {
        const r = await api('GET', `my-kv/data/${secret}?version=${n}`);
        expect(r.status, `${secret} v${n}`).toBe(200);
        expect(r.body.data.data, `${secret} v${n}`).toEqual({ v: list[n - 1] });
      }
    }

    // the sync converges to the last value of every secret
    await waitFor(
      async () => {
        const r = await api('GET', 'sys/sync/destinations/aws-sm/d/associations');
        const entries = r.body.data.associated_secrets as Record<string, { sync_status: string }>;
        return SECRETS.every((x) => entries[`${accessor}/${x}`]?.sync_status === 'SYNCED' && awsValue(x) === JSON.stringify({ v: acked.get(x)!.at(-1) }));
      },
      30_000,
      100,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; not converged: ${SECRETS.filter((x) => awsValue(x) !== JSON.stringify({ v: acked.get(x)!.at(-1) })).join(', ')}\n${s.stderr().slice(-3000)}`);
    });
    expect((await s.stop()).code).toBe(0);

    // and the file is sound after a restart
    server = await startConfigServer(config, port, { token });
    const again = server;
    for (const secret of SECRETS) {
      const r = await again.api('GET', `my-kv/data/${secret}`);
      expect(r.body.data.data).toEqual({ v: acked.get(secret)!.at(-1) });
    }
    expect((await again.stop()).code).toBe(0);
  }, 90_000);
});
