/**
 * Load: 200 concurrent keep-alive clients against one config-mode server
 * (child process, SQLite file) for STRESS_SECONDS (default 60), mixing KV
 * reads and writes with sync API calls (association lists, `set` on existing
 * associations, destination reads), the AWS emulator in its own process.
 * Every answer must be 2xx (or the expected 404 of a secret never written);
 * p50/p99 per operation class and the server's peak RSS (VmRSS sampled from
 * /proc) go to bench/results/stress.json and the console. At the end every
 * association converges to SYNCED with the last KV value at the emulator.
 *
 * `npm run test:stress` (not part of `npm test`); STRESS_SECONDS, STRESS_CLIENTS,
 * STRESS_LAUNCHER=cli (the built server instead of the tsx-run source).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorConnection } from '../support/brief.js';
import { freePort, REPO_ROOT, startConfigServer, writeJsonConfig, writeSealKey, type ServerProcess } from '../support/config-server.js';
import { waitFor } from '../support/dev-server.js';

const SECONDS = Number(process.env.STRESS_SECONDS ?? 60);
const CLIENTS = Number(process.env.STRESS_CLIENTS ?? 200);
/** one secret per client: its only writer, so "the last acknowledged value" is well defined */
const SECRETS = Array.from({ length: CLIENTS }, (_, i) => `load/s${String(i).padStart(3, '0')}`);
const RESULTS = join(REPO_ROOT, 'bench', 'results', 'stress.json');
/** `source` (default: tsx, no build needed) or `cli` (the built bin/secrets-sync: run `npm run build` first; figures closer to production) */
const LAUNCHER = process.env.STRESS_LAUNCHER === 'cli' ? 'cli' : 'source';

type OpClass = 'kv_read' | 'kv_write' | 'kv_read_missing' | 'assoc_list' | 'assoc_set' | 'dest_read';
/** cumulative weights of the mix */
const MIX: Array<[OpClass, number]> = [
  ['kv_read', 0.45],
  ['kv_write', 0.8],
  ['kv_read_missing', 0.82],
  ['assoc_list', 0.9],
  ['assoc_set', 0.95],
  ['dest_read', 1],
];

let dir = '';
let emu: ChildProcess | undefined;
let emuUrl = '';
let server: ServerProcess | undefined;

const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS + 8 });

interface Answer {
  status: number;
  text: string;
}
function call(base: string, token: string, method: string, path: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${base}/v1/${path}`,
      {
        method,
        agent,
        headers: { 'X-Vault-Token': token, ...(payload !== undefined && { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }) },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout (30 s)')));
    req.on('error', reject);
    req.end(payload);
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function vmRssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** user + system CPU seconds of a process so far */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

async function emulatorSecret(name: string): Promise<{ currentValue?: string; deletedDate?: string } | undefined> {
  const r = await fetch(`${emuUrl}/_emulator/secrets/${encodeURIComponent(name)}`);
  return r.status === 200 ? ((await r.json()) as { currentValue?: string }) : undefined;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'secrets-sync-stress-'));
  const emuPort = await freePort();
  emu = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/emulators/aws-secrets-manager/main.ts'), '--port', String(emuPort)], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  emuUrl = `http://127.0.0.1:${emuPort}`;
  await waitFor(async () => (await fetch(`${emuUrl}/_emulator/health`).catch(() => undefined))?.ok, 15_000, 50);
});

afterAll(async () => {
  agent.destroy();
  if (server && server.proc.exitCode === null && server.proc.signalCode === null) await server.kill9();
  if (emu && emu.exitCode === null) {
    emu.kill('SIGTERM');
    await new Promise((r) => emu!.once('exit', r));
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe(`load: ${CLIENTS} keep-alive clients for ${SECONDS} s`, () => {
  it('answers every request, reports latency and memory, and converges', async () => {
    const port = await freePort();
    const config = writeJsonConfig(join(dir, 'config.json'), {
      dir,
      port,
      keyFile: writeSealKey(join(dir, 'seal.key')),
      extra: { log_level: 'warn', sync: { retry_initial: '200ms', retry_max: '2s' } },
    });
    server = await startConfigServer(config, port, { launcher: LAUNCHER });
    const s = server;
    const init = await s.api('PUT', 'sys/init', { secret_shares: 1, secret_threshold: 1 }, { token: null });
    expect(init.status).toBe(200);
    const token = init.body.root_token as string;
    const api = (m: string, p: string, b?: unknown) => call(s.url, token, m, p, b);
    expect((await api('PUT', 'sys/mounts/my-kv/', { type: 'kv-v2' })).status).toBe(204);
    const accessor = JSON.parse((await api('GET', 'sys/mounts/my-kv')).text).data.accessor as string;
    expect((await api('PUT', 'sys/sync/destinations/aws-sm/d', emulatorConnection(emuUrl))).status).toBe(200);

    const last = new Map<string, string>();
    await Promise.all(
      SECRETS.map(async (secret, i) => {
        const v = `${secret}-init`;
        expect((await api('PUT', `my-kv/data/${secret}`, { data: { v } })).status).toBe(200);
        last.set(secret, v);
        // a few at a time: `set` waits for the first attempt
        await new Promise((r) => setTimeout(r, (i % 20) * 10));
        const r = await api('POST', 'sys/sync/destinations/aws-sm/d/associations/set', { mount: 'my-kv', secret_name: secret });
        expect(r.status, r.text).toBe(200);
      }),
    );

    const pid = s.proc.pid!;
    let peakRss = vmRssKiB(pid);
    const rssStart = peakRss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, vmRssKiB(pid))), 250);

    const latencies = new Map<OpClass, number[]>(MIX.map(([c]) => [c, []]));
    const failures: string[] = [];
    const deadline = Date.now() + SECONDS * 1000;
    const MAX_OPS_PER_CLIENT = 1_000_000; // a bound besides the clock
    let seq = 0;

    const client = async (c: number) => {
      const mine = SECRETS[c]!;
      for (let n = 0; n < MAX_OPS_PER_CLIENT && Date.now() < deadline && failures.length < 50; n++) {
        const x = Math.random();
        const op = MIX.find(([, w]) => x < w)![0];
        const other = SECRETS[Math.floor(Math.random() * SECRETS.length)]!;
        let method = 'GET';
        let path = '';
        let body: unknown;
        let expected = [200];
        let value = '';
        switch (op) {
          case 'kv_read':
            path = `my-kv/data/${other}`;
            break;
          case 'kv_read_missing':
            path = `my-kv/data/load/never-written-${c}`;
            expected = [404];
            break;
          case 'kv_write':
            method = 'PUT';
            path = `my-kv/data/${mine}`;
            value = `${mine}-${++seq}-${'x'.repeat(64)}`;
            body = { data: { v: value } };
            break;
          case 'assoc_list':
            path = 'sys/sync/destinations/aws-sm/d/associations';
            break;
          case 'assoc_set':
            method = 'POST';
            path = 'sys/sync/destinations/aws-sm/d/associations/set';
            body = { mount: 'my-kv', secret_name: other };
            break;
          case 'dest_read':
            path = 'sys/sync/destinations/aws-sm/d';
            break;
        }
        const t0 = performance.now();
        let a: Answer;
        try {
          a = await api(method, path, body);
        } catch (err) {
          failures.push(`${op} ${method} ${path}: ${(err as Error).message}`);
          continue;
        }
        latencies.get(op)!.push(performance.now() - t0);
        if (!expected.includes(a.status)) failures.push(`${op} ${method} ${path}: ${a.status} ${a.text.slice(0, 200)}`);
        else if (op === 'kv_write') last.set(mine, value);
      }
    };
    const started = performance.now();
    const cpuStart = cpuSeconds(pid);
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
    const elapsedS = (performance.now() - started) / 1000;
    const serverCpuS = cpuSeconds(pid) - cpuStart;
    clearInterval(sampler);
    peakRss = Math.max(peakRss, vmRssKiB(pid));

    const perOp: Record<string, { count: number; per_s: number; p50_ms: number; p99_ms: number; max_ms: number }> = {};
    let total = 0;
    for (const [op, l] of latencies) {
      l.sort((a, b) => a - b);
      total += l.length;
      const r3 = (v: number) => Math.round(v * 1000) / 1000;
      perOp[op] = { count: l.length, per_s: Math.round(l.length / elapsedS), p50_ms: r3(percentile(l, 50)), p99_ms: r3(percentile(l, 99)), max_ms: r3(l.at(-1) ?? NaN) };
    }
    // convergence: every association SYNCED with the last KV value at the emulator
    const convergeStart = performance.now();
    let notConverged: string[] = [];
    await waitFor(
      async () => {
        const r = await api('GET', 'sys/sync/destinations/aws-sm/d/associations');
        const entries = JSON.parse(r.text).data.associated_secrets as Record<string, { sync_status: string }>;
        notConverged = [];
        for (const secret of SECRETS) {
          if (entries[`${accessor}/${secret}`]?.sync_status !== 'SYNCED') notConverged.push(`${secret}: ${entries[`${accessor}/${secret}`]?.sync_status}`);
          else if ((await emulatorSecret(`vault/${accessor}/${secret}`))?.currentValue !== JSON.stringify({ v: last.get(secret) })) notConverged.push(`${secret}: stale at AWS`);
        }
        return notConverged.length === 0;
      },
      60_000,
      250,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; not converged (${notConverged.length}): ${notConverged.slice(0, 10).join(', ')}`);
    });
    const convergeS = (performance.now() - convergeStart) / 1000;

    const result = {
      date: new Date().toISOString(),
      clients: CLIENTS,
      launcher: LAUNCHER,
      seconds: Math.round(elapsedS * 10) / 10,
      requests: total,
      requests_per_s: Math.round(total / elapsedS),
      errors: failures.length,
      operations: perOp,
      // share of one core the server used during the load (the rest of the machine is shared with the clients and the emulator)
      server_cpu_percent: Math.round((serverCpuS / elapsedS) * 100),
      cpus: availableParallelism(),
      server_rss_start_mib: Math.round(rssStart / 102.4) / 10,
      server_peak_rss_mib: Math.round(peakRss / 102.4) / 10,
      converged_after_s: Math.round(convergeS * 10) / 10,
      associations: SECRETS.length,
      node: process.version,
    };
    mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(RESULTS, JSON.stringify(result, null, 2) + '\n');
    console.log(
      [
        `load: ${CLIENTS} clients, ${result.seconds} s, ${total} requests (${result.requests_per_s}/s), ${failures.length} errors`,
        ...Object.entries(perOp).map(([op, o]) => `  ${op.padEnd(16)} n=${String(o.count).padStart(7)}  ${String(o.per_s).padStart(5)}/s  p50 ${o.p50_ms.toFixed(2)} ms  p99 ${o.p99_ms.toFixed(2)} ms  max ${o.max_ms.toFixed(1)} ms`),
        `  server RSS: ${result.server_rss_start_mib} MiB at start, peak ${result.server_peak_rss_mib} MiB; server CPU ${result.server_cpu_percent}% of one core (${result.cpus} CPUs)`,
        `  converged (${SECRETS.length} associations SYNCED with the last value) ${result.converged_after_s} s after the load stopped`,
        `  → ${RESULTS}`,
      ].join('\n'),
    );
    expect(failures).toEqual([]);
    for (const [op, o] of Object.entries(perOp)) expect(o.count, op).toBeGreaterThan(0);
    expect(s.stderr()).not.toMatch(/"level":50/);
    expect((await s.stop()).code).toBe(0);
  }, (SECONDS + 180) * 1000);
});
