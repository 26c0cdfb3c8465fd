/**
 * Sync benchmarks: propagation latency, quota-bound initial sync, engine
 * throughput against the raw SDK, and coalescing. Each starts its own server
 * and emulator child processes.
 */
import { Agent } from 'node:http';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  type BenchResult,
  CallFollower,
  type Emulator,
  type Server,
  type ServerOptions,
  WRITE_OPS,
  associationSummary,
  awsName,
  createDestination,
  destPath,
  fmt,
  machine,
  now,
  pool,
  profileWindow,
  seedAssociations,
  setSyncEnabled,
  sleep,
  startEmulator,
  startServer,
  stats,
  waitForCreates,
} from './bench-harness.js';

export interface Profile {
  full: boolean;
  cpuProfDir?: string;
}

const pad = (i: number, w = 6) => String(i).padStart(w, '0');

async function withPair<T>(emuOpts: { throttle?: boolean }, srvOpts: ServerOptions, fn: (srv: Server, emu: Emulator) => Promise<T>): Promise<T> {
  const emu = await startEmulator(emuOpts);
  let srv: Server | undefined;
  try {
    srv = await startServer(srvOpts);
    await createDestination(srv, emu);
    return await fn(srv, emu);
  } finally {
    await srv?.stop();
    await emu.stop();
  }
}

/** Seeds n associations with sync disabled, enables sync and waits for all n secrets to be created. */
async function initialSync(srv: Server, emu: Emulator, paths: string[], timeoutMs: number): Promise<{ enabledAt: number; calls: Awaited<ReturnType<typeof waitForCreates>>; serverCpuMs: number }> {
  await setSyncEnabled(srv, false);
  await seedAssociations(srv, paths);
  const since = await emu.lastSeq();
  const enabledAt = now();
  const cpu0 = srv.cpuMs();
  const calls = await profileWindow(srv, `initial-sync-${paths.length}`, async () => {
    await setSyncEnabled(srv, true);
    return waitForCreates(emu, since, paths.length, timeoutMs);
  });
  return { enabledAt, calls, serverCpuMs: srv.cpuMs() - cpu0 };
}

async function waitAllSynced(srv: Server, n: number, timeoutMs: number): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await associationSummary(srv);
    if ((s.byStatus.SYNCED ?? 0) >= n || Date.now() > deadline) return s.byStatus;
    await sleep(200);
  }
}

// ------------------------------------------------------------ 1. latency

export async function propagation(p: Profile): Promise<BenchResult> {
  const sequentialWrites = p.full ? 1000 : 300;
  const seqSecrets = 100;
  const writers = 50;
  const concSecrets = 500;
  const concWrites = p.full ? 5000 : 1500;
  const sync = { destination_rate: 0 };
  return withPair({}, { sync, cpuProfDir: p.cpuProfDir }, async (srv, emu) => {
    const paths = Array.from({ length: concSecrets }, (_, i) => `lat/${pad(i)}`);
    await initialSync(srv, emu, paths, 120_000);
    await waitAllSynced(srv, concSecrets, 30_000);
    const follower = new CallFollower(emu);
    await follower.start();
    let n = 0;
    /** One write and the arrival of its value (or a newer one) at the emulator. */
    const writeAndWait = async (path: string): Promise<{ latency: number; early: boolean }> => {
      const sent = now();
      const arrival = follower.nextWrite(awsName(path), sent);
      await srv.api.ok('PUT', `/v1/my-kv/data/${path}`, { data: { value: `v${++n}`, pad: 'x'.repeat(64) } });
      const acked = now();
      const c = await arrival;
      return { latency: Math.max(0, c.time - acked), early: c.time < acked };
    };
    // warm-up (JIT), not measured
    for (let i = 0; i < 50; i++) await writeAndWait(paths[i % seqSecrets]!);

    const seq: number[] = [];
    let seqEarly = 0;
    const t0 = now();
    for (let i = 0; i < sequentialWrites; i++) {
      const r = await writeAndWait(paths[i % seqSecrets]!);
      seq.push(r.latency);
      if (r.early) seqEarly++;
    }
    const seqSeconds = (now() - t0) / 1000;

    const conc: number[] = [];
    let concEarly = 0;
    let issued = 0;
    const t1 = now();
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        // each writer owns 10 secrets and writes them in turn, waiting for each value to arrive
        for (let k = 0; issued < concWrites; k++) {
          issued++;
          const r = await writeAndWait(paths[w * (concSecrets / writers) + (k % (concSecrets / writers))]!);
          conc.push(r.latency);
          if (r.early) concEarly++;
        }
      }),
    );
    const concSeconds = (now() - t1) / 1000;
    await follower.stop();
    const s1 = stats(seq);
    const s2 = stats(conc);
    return {
      benchmark: 'propagation',
      title: 'Propagation latency',
      date: new Date().toISOString(),
      machine: machine(),
      parameters: {
        sequentialWrites,
        sequentialSecrets: seqSecrets,
        writers,
        concurrentSecrets: concSecrets,
        concurrentWrites: concWrites,
        workers: 16,
        destinationRate: 'unlimited (sync.destination_rate 0)',
        emulatorQuotas: 'off',
        storage: 'sqlite file, WAL, synchronous NORMAL',
        definition:
          'ack = KV PUT answer received by the driver; arrival = emulator call-log arrival time of the first successful CreateSecret/UpdateSecret of that secret sent after the PUT; each writer waits for its value to arrive before its next write (closed loop); an arrival before the ack counts as 0',
      },
      figures: {
        sequential: { ...s1, arrivedBeforeAck: seqEarly, writesPerSecond: Number((sequentialWrites / seqSeconds).toFixed(1)) },
        concurrent: { ...s2, arrivedBeforeAck: concEarly, writesPerSecond: Number((conc.length / concSeconds).toFixed(1)) },
      },
      rows: [
        {
          measure: `sequential, ${sequentialWrites} writes (${seqEarly} arrived before the ack reached the client): p50 / p99 / max`,
          value: `${fmt(s1.p50)} / ${fmt(s1.p99)} / ${fmt(s1.max)} ms`,
          target: '≤ 15 / 50 ms',
          met: s1.p50 <= 15 && s1.p99 <= 50,
        },
        {
          measure: `${writers} writers on ${concSecrets} secrets, ${conc.length} writes: p50 / p99 / max`,
          value: `${fmt(s2.p50)} / ${fmt(s2.p99)} / ${fmt(s2.max)} ms`,
          target: 'p99 ≤ 250 ms',
          met: s2.p99 <= 250,
        },
      ],
    };
  });
}

// ------------------------------------------------------ 2. quota-bound

export async function quotaBound(p: Profile): Promise<BenchResult> {
  const n = p.full ? 5000 : 1000;
  return withPair({ throttle: true }, { cpuProfDir: p.cpuProfDir }, async (srv, emu) => {
    const paths = Array.from({ length: n }, (_, i) => `quota/${pad(i)}`);
    const { enabledAt, calls } = await initialSync(srv, emu, paths, n * 100);
    const creates = calls.filter((c) => c.operation === 'CreateSecret' && c.result === 'ok');
    const last = creates.at(-1)!.time;
    const first = creates[0]!.time;
    const throttled = calls.filter((c) => c.result === 'ThrottlingException').length;
    const byStatus = await waitAllSynced(srv, n, 60_000);
    const rate = n / ((last - enabledAt) / 1000);
    const steady = (n - 1) / ((last - first) / 1000);
    const failed = n - (byStatus.SYNCED ?? 0);
    return {
      benchmark: 'quota-bound',
      title: 'Quota-bound initial sync',
      date: new Date().toISOString(),
      machine: machine(),
      parameters: { associations: n, emulatorQuota: 'AWS rates (--throttle): CreateSecret 50/s, burst 50', ourLimiter: 'default (aws-sm 50 writes/s)', workers: 16 },
      figures: {
        seconds: Number(((last - enabledAt) / 1000).toFixed(2)),
        ratePerSecond: Number(rate.toFixed(2)),
        rateFirstToLast: Number(steady.toFixed(2)),
        throttledAnswers: throttled,
        awsCalls: calls.length,
        statuses: byStatus,
      },
      rows: [
        { measure: `${n} associations at 50 writes/s quota: rate (enable → last create)`, value: `${fmt(rate, 1)} /s`, target: '≥ 47 /s', met: rate >= 47 },
        { measure: 'throttled answers / not SYNCED at the end', value: `${throttled} / ${failed}`, target: '— / 0', met: failed === 0 },
      ],
    };
  });
}

// ------------------------------------------------------ 3. throughput

export async function throughput(p: Profile): Promise<BenchResult> {
  const n = p.full ? 10_000 : 2000;
  const concurrency = 16;
  return withPair({}, { sync: { destination_rate: 0 }, cpuProfDir: p.cpuProfDir }, async (srv, emu) => {
    const paths = Array.from({ length: n }, (_, i) => `tp/${pad(i)}`);
    const { enabledAt, calls, serverCpuMs } = await initialSync(srv, emu, paths, n * 50);
    const last = calls.filter((c) => c.operation === 'CreateSecret' && c.result === 'ok').at(-1)!.time;
    const engineRate = n / ((last - enabledAt) / 1000);
    const byStatus = await waitAllSynced(srv, n, 60_000);

    // the raw SDK at the same concurrency against the same emulator, from this (driver) process
    const client = new SecretsManagerClient({
      endpoint: emu.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
      maxAttempts: 1,
      requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: concurrency }) },
    });
    const warm = Math.min(500, n);
    await pool(warm, concurrency, async (i) => {
      await client.send(new CreateSecretCommand({ Name: `warm/${pad(i)}`, SecretString: 'w' }));
    });
    const r0 = now();
    const rc0 = process.cpuUsage();
    await pool(n, concurrency, async (i) => {
      await client.send(new CreateSecretCommand({ Name: `raw/${pad(i)}`, SecretString: JSON.stringify({ value: `initial-${i}`, pad: 'x'.repeat(64) }) }));
    });
    const rawRate = n / ((now() - r0) / 1000);
    const rc = process.cpuUsage(rc0);
    const rawCpuUs = (rc.user + rc.system) / n;
    const engineCpuUs = (serverCpuMs * 1000) / n;
    client.destroy();
    const ratio = engineRate / rawRate;
    return {
      benchmark: 'throughput',
      title: 'Engine throughput',
      date: new Date().toISOString(),
      machine: machine(),
      parameters: {
        associations: n,
        concurrency,
        operation: 'CreateSecret (initial sync of new secrets)',
        emulatorQuotas: 'off',
        destinationRate: 'unlimited (sync.destination_rate 0)',
        raw: '@aws-sdk/client-secrets-manager CreateSecret from the driver process, keep-alive, same concurrency, after 500 warm-up calls',
      },
      figures: {
        engineRatePerSecond: Number(engineRate.toFixed(1)),
        rawSdkRatePerSecond: Number(rawRate.toFixed(1)),
        ratio: Number(ratio.toFixed(3)),
        engineServerCpuUsPerSecret: Number(engineCpuUs.toFixed(1)),
        rawDriverCpuUsPerCall: Number(rawCpuUs.toFixed(1)),
        statuses: byStatus,
      },
      rows: [
        { measure: `${n} associations, quotas off: engine / raw SDK (16 concurrent)`, value: `${fmt(engineRate, 0)} / ${fmt(rawRate, 0)} /s`, target: '' },
        { measure: 'ratio engine / raw', value: fmt(ratio, 2), target: '≥ 0.80', met: ratio >= 0.8 },
        { measure: 'CPU per secret: engine (server) / raw SDK (driver)', value: `${fmt(engineCpuUs, 0)} / ${fmt(rawCpuUs, 0)} µs`, target: '' },
      ],
    };
  });
}

// ------------------------------------------------------- 4. coalescing

export async function coalescing(p: Profile): Promise<BenchResult> {
  const writes = 1000;
  const clients = 16;
  return withPair({}, { cpuProfDir: p.cpuProfDir }, async (srv, emu) => {
    const path = 'hot/secret';
    await initialSync(srv, emu, [path], 30_000);
    await waitAllSynced(srv, 1, 10_000);
    const follower = new CallFollower(emu, true);
    await follower.start();
    const t0 = now();
    let k = 0;
    await pool(writes, clients, async () => {
      await srv.api.ok('PUT', `/v1/my-kv/data/${path}`, { data: { value: `v${++k}` } });
    });
    const writeSeconds = (now() - t0) / 1000;
    // quiet: the association reports the last version synced
    const deadline = Date.now() + 30_000;
    for (;;) {
      const b = (await srv.api.ok('GET', `${destPath}/associations`)) as { data: { associated_secrets: Record<string, { synced_version: number; sync_status: string }> } };
      const e = Object.values(b.data.associated_secrets)[0]!;
      if ((e.synced_version === writes + 1 && e.sync_status === 'SYNCED') || Date.now() > deadline) break;
      await sleep(100);
    }
    await sleep(300);
    await follower.stop();
    const mine = follower.seen.filter((c) => c.secretName === awsName(path));
    const valueWrites = mine.filter((c) => WRITE_OPS.has(c.operation) && c.result === 'ok').length;
    return {
      benchmark: 'coalescing',
      title: 'Coalescing',
      date: new Date().toISOString(),
      machine: machine(),
      parameters: { writes, clients, destinationRate: 'default (aws-sm 50 writes/s)', emulatorQuotas: 'off' },
      figures: {
        kvWriteSeconds: Number(writeSeconds.toFixed(3)),
        awsValueWrites: valueWrites,
        awsCallsTotal: mine.length,
        byOperation: Object.fromEntries([...new Set(mine.map((c) => `${c.operation} ${c.result}`))].map((o) => [o, mine.filter((c) => `${c.operation} ${c.result}` === o).length])),
      },
      rows: [
        {
          measure: `${writes} writes to one secret (${clients} clients, ${fmt(writeSeconds, 2)} s): AWS value writes (all calls)`,
          value: `${valueWrites} (${mine.length})`,
          target: '≤ 20',
          met: valueWrites <= 20,
        },
      ],
    };
  });
}
