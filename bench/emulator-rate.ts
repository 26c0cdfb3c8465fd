/**
 * The AWS emulator's own sustained request rate, so that sync benchmarks know
 * it is not their bottleneck. The emulator runs in a child process (quotas
 * off); this process drives UpdateSecret at several concurrencies:
 *  - `sdk`: through @aws-sdk/client-secrets-manager (signing + parsing per call);
 *  - `replay`: one SDK-signed UpdateSecret (without ClientRequestToken, so each
 *    replay makes a new version) re-sent over keep-alive HTTP — this measures
 *    the emulator with far less client overhead.
 * Writes bench/results/emulator-rate.json and prints a Markdown table.
 * A 2 s warm-up (JIT) precedes the measured runs.
 *   npx tsx bench/emulator-rate.ts [--seconds 5] [--concurrency 16,64]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CreateSecretCommand, SecretsManagerClient, UpdateSecretCommand } from '@aws-sdk/client-secrets-manager';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, concurrency: { type: 'string', default: '16,64' } } });
const seconds = Number(values.seconds);
const concurrencies = values.concurrency.split(',').map(Number);
const creds = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };

async function startChild(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'test/emulators/aws-secrets-manager/main.ts'), '--port', '0'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`emulator exited (${code})`)));
  });
  return { child, url };
}

interface Run {
  mode: 'sdk' | 'replay';
  concurrency: number;
  seconds: number;
  requests: number;
  errors: number;
  ratePerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  serverArrivalsPerSecond: number;
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return Number(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!.toFixed(3));
}

async function serverRate(url: string, sinceSeq: number, from: number, to: number): Promise<{ rate: number; lastSeq: number }> {
  const calls = (await (await fetch(`${url}/_emulator/calls?since=${sinceSeq}`)).json()) as Array<{ seq: number; time: number }>;
  const inWindow = calls.filter((c) => c.time >= from && c.time < to).length;
  return { rate: inWindow / ((to - from) / 1000), lastSeq: calls.at(-1)?.seq ?? sinceSeq };
}

async function drive(concurrency: number, once: (worker: number) => Promise<void>): Promise<{ requests: number; errors: number; lat: number[]; from: number; to: number }> {
  const lat: number[] = [];
  let errors = 0;
  const from = performance.timeOrigin + performance.now();
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await once(w);
        } catch {
          errors++;
        }
        lat.push(performance.now() - t0);
      }
    }),
  );
  return { requests: lat.length, errors, lat: lat.sort((a, b) => a - b), from, to: performance.timeOrigin + performance.now() };
}

/** Captures one signed UpdateSecret request (minus its ClientRequestToken) for replay. */
async function signedUpdate(url: string, secretName: string): Promise<{ headers: Record<string, string>; body: string }> {
  const client = new SecretsManagerClient({ endpoint: url, region: 'us-east-1', credentials: creds, maxAttempts: 1 });
  let captured: { headers: Record<string, string>; body: string } | undefined;
  type Args = { request: { body?: unknown; headers: Record<string, string> } };
  const dropToken = (next: (a: Args) => Promise<unknown>) => async (args: Args) => {
    const b = args.request.body;
    const parsed = JSON.parse(typeof b === 'string' ? b : Buffer.from(b as Uint8Array).toString('utf8')) as Record<string, unknown>;
    delete parsed.ClientRequestToken;
    const text = JSON.stringify(parsed);
    args.request.body = text;
    args.request.headers['content-length'] = String(Buffer.byteLength(text));
    return next(args);
  };
  const capture = (next: (a: Args) => Promise<unknown>) => async (args: Args) => {
    captured = { headers: { ...args.request.headers }, body: String(args.request.body) };
    return next(args);
  };
  type Mw = Parameters<typeof client.middlewareStack.addRelativeTo>[0];
  client.middlewareStack.addRelativeTo(dropToken as unknown as Mw, { relation: 'before', toMiddleware: 'httpSigningMiddleware', name: 'dropToken' });
  client.middlewareStack.addRelativeTo(capture as unknown as Mw, { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'capture' });
  await client.send(new UpdateSecretCommand({ SecretId: secretName, SecretString: '{"bench":"replayed"}' }));
  client.destroy();
  return captured!;
}

async function main(): Promise<void> {
  const { child, url } = await startChild();
  const runs: Run[] = [];
  let seq = 0;
  try {
    const maxC = Math.max(...concurrencies);
    const setup = new SecretsManagerClient({ endpoint: url, region: 'us-east-1', credentials: creds, maxAttempts: 1 });
    for (let i = 0; i < maxC; i++) await setup.send(new CreateSecretCommand({ Name: `vault/bench/${i}`, SecretString: 'v0' }));
    // JIT warm-up of the emulator (not measured)
    const warmDeadline = performance.now() + 2000;
    await Promise.all(
      Array.from({ length: 16 }, async (_, w) => {
        while (performance.now() < warmDeadline) await setup.send(new UpdateSecretCommand({ SecretId: `vault/bench/${w}`, SecretString: 'warm' }));
      }),
    );
    setup.destroy();
    seq = ((await (await fetch(`${url}/_emulator/calls`)).json()) as Array<{ seq: number }>).at(-1)?.seq ?? 0;

    for (const c of concurrencies) {
      const client = new SecretsManagerClient({
        endpoint: url,
        region: 'us-east-1',
        credentials: creds,
        maxAttempts: 1,
        requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: c }) },
      });
      let n = 0;
      const r = await drive(c, async (w) => {
        await client.send(new UpdateSecretCommand({ SecretId: `vault/bench/${w}`, SecretString: `{"n":${n++}}` }));
      });
      const srv = await serverRate(url, seq, r.from, r.to);
      seq = srv.lastSeq;
      client.destroy();
      runs.push(toRun('sdk', c, r, srv.rate));
    }

    const replay = await signedUpdate(url, 'vault/bench/0');
    for (const c of concurrencies) {
      const agent = new Agent({ keepAlive: true, maxSockets: c });
      const u = new URL(url);
      const r = await drive(
        c,
        () =>
          new Promise<void>((resolve, reject) => {
            const req = request({ host: u.hostname, port: u.port, method: 'POST', path: '/', headers: replay.headers, agent }, (res) => {
              res.resume();
              res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
            });
            req.on('error', reject);
            req.end(replay.body);
          }),
      );
      const srv = await serverRate(url, seq, r.from, r.to);
      seq = srv.lastSeq;
      agent.destroy();
      runs.push(toRun('replay', c, r, srv.rate));
    }
  } finally {
    child.kill('SIGTERM');
  }

  const result = {
    benchmark: 'emulator-rate',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', totalMemBytes: totalmem(), node: process.version, platform: process.platform },
    parameters: { operation: 'UpdateSecret', seconds, concurrencies, quotas: 'off', emulator: 'separate child process', note: 'client and emulator share the machine\'s CPUs' },
    runs,
  };
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(join(root, 'bench/results/emulator-rate.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nAWS emulator sustained rate — UpdateSecret, ${seconds} s per run, ${result.machine.cpus} CPUs, node ${process.version}\n`);
  console.log('| client | concurrency | requests | errors | req/s (client) | req/s (server arrivals) | p50 ms | p99 ms |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of runs) {
    console.log(
      `| ${r.mode} | ${r.concurrency} | ${r.requests} | ${r.errors} | ${r.ratePerSecond.toFixed(0)} | ${r.serverArrivalsPerSecond.toFixed(0)} | ${r.latencyMs.p50.toFixed(2)} | ${r.latencyMs.p99.toFixed(2)} |`,
    );
  }
}

function toRun(mode: Run['mode'], concurrency: number, r: { requests: number; errors: number; lat: number[]; from: number; to: number }, serverArrivals: number): Run {
  const secs = (r.to - r.from) / 1000;
  return {
    mode,
    concurrency,
    seconds: Number(secs.toFixed(3)),
    requests: r.requests,
    errors: r.errors,
    ratePerSecond: Number((r.requests / secs).toFixed(1)),
    latencyMs: { p50: pct(r.lat, 50), p90: pct(r.lat, 90), p99: pct(r.lat, 99), max: pct(r.lat, 100) },
    serverArrivalsPerSecond: Number(serverArrivals.toFixed(1)),
  };
}

await main();
