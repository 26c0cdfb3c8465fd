/**
 * Shared pieces of the benchmarks: the server and the AWS emulator as child
 * processes (the driver is a third process), a keep-alive HTTP client, the
 * emulator call-log follower, RSS sampling, percentiles and result files.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const resultsDir = join(root, 'bench/results');
export const now = (): number => performance.timeOrigin + performance.now();
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function machine(): Record<string, unknown> {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    totalMemBytes: totalmem(),
    node: process.version,
    platform: process.platform,
    /** 1-minute load average when the benchmark ended: other work on the machine skews rates */
    loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
  };
}

export interface Stats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : 0);
  const r = (x: number) => Number(x.toFixed(2));
  return { n: s.length, p50: r(at(50)), p90: r(at(90)), p99: r(at(99)), max: r(s.at(-1) ?? 0), mean: r(s.reduce((a, b) => a + b, 0) / (s.length || 1)) };
}

// ------------------------------------------------------------------ HTTP

export interface HttpAnswer {
  status: number;
  body: unknown;
}

export class HttpClient {
  readonly agent: Agent;
  private readonly u: URL;

  constructor(
    base: string,
    private readonly headers: Record<string, string> = {},
    maxSockets = 64,
  ) {
    this.u = new URL(base);
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  call(method: string, path: string, body?: unknown): Promise<HttpAnswer> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.u.hostname,
          port: this.u.port,
          method,
          path,
          agent: this.agent,
          headers: { ...this.headers, ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // not JSON: keep the text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Like call, but throws unless the status is 2xx. */
  async ok(method: string, path: string, body?: unknown): Promise<unknown> {
    const a = await this.call(method, path, body);
    if (a.status < 200 || a.status > 299) throw new Error(`${method} ${path}: HTTP ${a.status} ${JSON.stringify(a.body).slice(0, 300)}`);
    return a.body;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Runs `worker(i)` for i in [0, n) on `concurrency` lanes. */
export async function pool(n: number, concurrency: number, worker: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) await worker(next++);
    }),
  );
}

// ------------------------------------------------------------ processes

function waitForLine(child: ChildProcess, re: RegExp, what: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = re.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(m[1]!);
      }
      if (out.length > 100_000) out = out.slice(-10_000);
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}) before it was ready: ${out.slice(-2000)}`)));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface Emulator {
  url: string;
  child: ChildProcess;
  http: HttpClient;
  /** the emulator's call log after `since` */
  calls(since?: number): Promise<CallRecord[]>;
  lastSeq(): Promise<number>;
  stop(): Promise<void>;
}

export interface CallRecord {
  seq: number;
  time: number;
  operation: string;
  secretName?: string;
  result: string;
  status: number;
}

export async function startEmulator(opts: { throttle?: boolean } = {}): Promise<Emulator> {
  const args = ['--import', 'tsx', join(root, 'test/emulators/aws-secrets-manager/main.ts'), '--port', '0'];
  if (opts.throttle) args.push('--throttle');
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await waitForLine(child, /listening on (http:\/\/\S+)/, 'emulator');
  const http = new HttpClient(url, {}, 4);
  const calls = async (since = 0) => (await http.ok('GET', `/_emulator/calls?since=${since}`)) as CallRecord[];
  return {
    url,
    child,
    http,
    calls,
    lastSeq: async () => (await calls(0)).at(-1)?.seq ?? 0,
    stop: async () => {
      http.close();
      await stopChild(child);
    },
  };
}

export interface Server {
  url: string;
  pid: number;
  token: string;
  api: HttpClient;
  dataDir: string;
  rssBytes(): number;
  cpuMs(): number;
  /** the inspector's WebSocket URL when BENCH_PROFILE_WINDOW is set */
  inspector?: Promise<string>;
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** sync stanza overrides (config-file keys) */
  sync?: Record<string, unknown>;
  /** write a V8 CPU profile of the server into this directory */
  cpuProfDir?: string;
}

/** A server on a fresh SQLite file (WAL, synchronous NORMAL), initialised, with `my-kv` mounted. */
export async function startServer(opts: ServerOptions = {}): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), 'secrets-sync-bench-'));
  const keyFile = join(dataDir, 'seal.key');
  writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
  const config = {
    storage: { sqlite: { path: join(dataDir, 'store.db'), synchronous: 'normal' } },
    listener: { tcp: { address: '127.0.0.1:0', tls_disable: true } },
    seal: { static: { key_file: keyFile } },
    log_level: 'error',
    sync: { workers: 16, reconcile_interval: '10m', first_attempt_wait: '0s', ...(opts.sync ?? {}) },
  };
  const configFile = join(dataDir, 'config.json');
  writeFileSync(configFile, JSON.stringify(config));
  const nodeArgs = opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
  // BENCH_PROFILE_WINDOW=DIR: profile only the measured phase, through the inspector (see profileWindow)
  if (process.env.BENCH_PROFILE_WINDOW) nodeArgs.push('--inspect=127.0.0.1:0');
  // BENCH_SERVER_BIN: another build's launcher, for before/after comparisons on the same machine
  const bin = process.env.BENCH_SERVER_BIN ?? join(root, 'bin/secrets-sync');
  const child = spawn(process.execPath, [...nodeArgs, bin, 'server', `-config=${configFile}`], {
    cwd: root,
    stdio: ['ignore', 'pipe', process.env.BENCH_PROFILE_WINDOW ? 'pipe' : 'inherit'],
  });
  let inspector: Promise<string> | undefined;
  if (process.env.BENCH_PROFILE_WINDOW) {
    inspector = new Promise((resolve) => {
      let err = '';
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /Debugger listening on (ws:\/\/\S+)/.exec(err);
        if (m) resolve(m[1]!);
      });
    });
  }
  const url = await waitForLine(child, /server started on (http:\/\/\S+)/, 'server');
  const anon = new HttpClient(url, {}, 2);
  const init = (await anon.ok('PUT', '/v1/sys/init', { secret_shares: 1, secret_threshold: 1 })) as { root_token: string };
  anon.close();
  const api = new HttpClient(url, { 'x-vault-token': init.root_token }, 64);
  await api.ok('PUT', '/v1/sys/mounts/my-kv', { type: 'kv-v2' });
  return {
    url,
    pid: child.pid!,
    token: init.root_token,
    api,
    dataDir,
    rssBytes: () => rssOf(child.pid!),
    cpuMs: () => cpuMsOf(child.pid!),
    inspector,
    stop: async () => {
      api.close();
      await stopChild(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** CPU time (user + system) a process has used so far, in ms (clock-tick resolution, 10 ms). */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

/** Samples RSS every `everyMs` until stopped; returns the peak. */
export function rssSampler(pid: number, everyMs = 100): { stop(): number } {
  let peak = rssOf(pid);
  const t = setInterval(() => {
    try {
      peak = Math.max(peak, rssOf(pid));
    } catch {
      // process gone
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(t);
      return peak;
    },
  };
}

/**
 * Runs fn; when BENCH_PROFILE_WINDOW=DIR is set, the server is CPU-profiled
 * for exactly that window and the profile written to DIR/<label>.cpuprofile.
 */
export async function profileWindow<T>(srv: Server, label: string, fn: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_PROFILE_WINDOW;
  if (!dir || !srv.inspector) return fn();
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(await srv.inspector);
  await new Promise((r) => ws.once('open', r));
  let id = 0;
  const pendingCalls = new Map<number, (v: unknown) => void>();
  ws.on('message', (d: Buffer) => {
    const m = JSON.parse(d.toString()) as { id?: number; result?: unknown };
    if (m.id !== undefined) pendingCalls.get(m.id)?.(m.result);
  });
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      pendingCalls.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 200 });
  await send('Profiler.start');
  const out = await fn();
  const r = (await send('Profiler.stop')) as { profile: unknown };
  ws.close();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${label}.cpuprofile`), JSON.stringify(r.profile));
  return out;
}

// ------------------------------------------------------------ sync setup

export const DEST = 'bench';
export const destPath = `/v1/sys/sync/destinations/aws-sm/${DEST}`;
/** Emulator secret name of a KV path (the destination's template is `bench/{{ .SecretPath }}`). */
export const awsName = (path: string): string => `bench/${path}`;

export async function createDestination(srv: Server, emu: Emulator): Promise<void> {
  await srv.api.ok('PUT', destPath, {
    access_key_id: 'AKIAIOSFODNN7EXAMPLE',
    secret_access_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    region: 'us-east-1',
    endpoint_url: emu.url,
    allowed_ipv4_addresses: '127.0.0.0/8',
    allowed_ports: new URL(emu.url).port,
    secret_name_template: 'bench/{{ .SecretPath }}',
  });
}

export const setSyncEnabled = (srv: Server, enabled: boolean): Promise<unknown> => srv.api.ok('PUT', '/v1/sys/sync/config', { disabled: !enabled });

/** Writes `paths` (16 clients) and associates them with the destination while sync is disabled. */
export async function seedAssociations(srv: Server, paths: string[], opts: { concurrency?: number; onProgress?: (done: number) => void } = {}): Promise<void> {
  const c = opts.concurrency ?? 16;
  await pool(paths.length, c, async (i) => {
    await srv.api.ok('PUT', `/v1/my-kv/data/${paths[i]}`, { data: { value: `initial-${i}`, pad: 'x'.repeat(64) } });
  });
  let done = 0;
  await pool(paths.length, c, async (i) => {
    await srv.api.ok('PUT', `${destPath}/associations/set`, { mount: 'my-kv', secret_name: paths[i] });
    if (++done % 10_000 === 0) opts.onProgress?.(done);
  });
}

export interface AssocSummary {
  total: number;
  byStatus: Record<string, number>;
}

export async function associationSummary(srv: Server): Promise<AssocSummary> {
  const b = (await srv.api.ok('GET', `${destPath}/associations`)) as { data: { associated_secrets: Record<string, { sync_status: string }> } };
  const byStatus: Record<string, number> = {};
  let total = 0;
  for (const e of Object.values(b.data.associated_secrets)) {
    byStatus[e.sync_status] = (byStatus[e.sync_status] ?? 0) + 1;
    total++;
  }
  return { total, byStatus };
}

/**
 * Follows the emulator's call log (polling `?since=`), so that a driver can
 * wait for the first successful write of a secret after a point in time.
 */
export class CallFollower {
  private seq = 0;
  private running = true;
  private readonly waiters = new Map<string, Array<{ after: number; resolve: (c: CallRecord) => void }>>();
  readonly seen: CallRecord[] = [];
  private loop: Promise<void> | undefined;

  constructor(
    private readonly emu: Emulator,
    private readonly keep = false,
  ) {}

  async start(): Promise<void> {
    this.seq = await this.emu.lastSeq();
    this.loop = (async () => {
      while (this.running) {
        const batch = await this.emu.calls(this.seq);
        if (batch.length === 0) {
          await sleep(1);
          continue;
        }
        this.seq = batch.at(-1)!.seq;
        for (const c of batch) {
          if (this.keep) this.seen.push(c);
          if (!c.secretName || c.result !== 'ok' || !WRITE_OPS.has(c.operation)) continue;
          const list = this.waiters.get(c.secretName);
          if (!list) continue;
          const left = list.filter((w) => {
            if (c.time < w.after) return true;
            w.resolve(c);
            return false;
          });
          if (left.length) this.waiters.set(c.secretName, left);
          else this.waiters.delete(c.secretName);
        }
      }
    })();
  }

  /** The first successful value write (CreateSecret/UpdateSecret/PutSecretValue) of `name` arriving after `after`. */
  nextWrite(name: string, after: number): Promise<CallRecord> {
    return new Promise((resolve) => {
      const list = this.waiters.get(name) ?? [];
      list.push({ after, resolve });
      this.waiters.set(name, list);
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/** Operations that carry a value to AWS. */
export const WRITE_OPS = new Set(['CreateSecret', 'UpdateSecret', 'PutSecretValue']);

/** Waits until `count` successful CreateSecret calls arrived after seq `since`; returns the calls seen. */
export async function waitForCreates(emu: Emulator, since: number, count: number, timeoutMs: number): Promise<CallRecord[]> {
  const seen: CallRecord[] = [];
  let seq = since;
  let creates = 0;
  const deadline = Date.now() + timeoutMs;
  while (creates < count) {
    if (Date.now() > deadline) throw new Error(`only ${creates} of ${count} secrets created within ${timeoutMs} ms`);
    const batch = await emu.calls(seq);
    if (batch.length === 0) {
      await sleep(50);
      continue;
    }
    seq = batch.at(-1)!.seq;
    for (const c of batch) {
      seen.push(c);
      if (c.operation === 'CreateSecret' && c.result === 'ok') creates++;
    }
  }
  return seen;
}

// -------------------------------------------------------------- results

export interface BenchResult {
  benchmark: string;
  title: string;
  date: string;
  machine: Record<string, unknown>;
  parameters: Record<string, unknown>;
  figures: Record<string, unknown>;
  /** rows for the combined table: [measure, value, target, met] */
  rows: Array<{ measure: string; value: string; target: string; met?: boolean }>;
}

export function writeResult(r: BenchResult): void {
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, `${r.benchmark}.json`), `${JSON.stringify(r, null, 2)}\n`);
}

export function tableOf(results: BenchResult[]): string {
  const lines = ['| benchmark | measure | result | target | met |', '|---|---|---:|---:|:---:|'];
  for (const r of results) {
    for (const row of r.rows) lines.push(`| ${r.title} | ${row.measure} | ${row.value} | ${row.target} | ${row.met === undefined ? '' : row.met ? 'yes' : '**no**'} |`);
  }
  return lines.join('\n');
}

export const fmt = (n: number, digits = 1): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
export const mb = (bytes: number): string => `${fmt(bytes / 1024 / 1024, 0)} MB`;
