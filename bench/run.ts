/**
 * The benchmark suite (issue #5): the real server over HTTP against the AWS
 * emulator on loopback, each in its own child process, driven from this one.
 *   npm run bench                 quick profile (< 5 minutes on 2 cores)
 *   npm run bench -- --full       full sizes (1,000 sequential writes, 5,000 / 10,000 / 100,000 associations)
 *   npm run bench -- --only propagation,kv-write [--cpu-prof DIR]
 * `--cpu-prof DIR` runs each server under `node --cpu-prof` and leaves the
 * .cpuprofile files in DIR (see bench/profile-summary.ts).
 * Each benchmark writes bench/results/<name>.json; the combined table goes to
 * stdout and bench/results/latest.md.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type BenchResult, machine, resultsDir, tableOf, writeResult } from './bench-harness.js';
import { kvWrite, memory } from './bench-store.js';
import { type Profile, coalescing, propagation, quotaBound, throughput } from './bench-sync.js';

const ALL: Record<string, (p: Profile) => Promise<BenchResult>> = {
  propagation,
  'quota-bound': quotaBound,
  throughput,
  coalescing,
  'kv-write': kvWrite,
  memory,
};

const { values } = parseArgs({
  options: { full: { type: 'boolean', default: false }, only: { type: 'string' }, 'cpu-prof': { type: 'string' } },
});
const names = values.only ? values.only.split(',') : Object.keys(ALL);
for (const n of names) if (!ALL[n]) throw new Error(`unknown benchmark ${n} (have: ${Object.keys(ALL).join(', ')})`);
const profile: Profile = { full: values.full ?? false, cpuProfDir: values['cpu-prof'] };

const results: BenchResult[] = [];
const started = performance.now();
for (const n of names) {
  const t = performance.now();
  process.stderr.write(`bench: ${n} (${profile.full ? 'full' : 'quick'}) ...\n`);
  const r = await ALL[n]!(profile);
  writeResult(r);
  results.push(r);
  process.stderr.write(`bench: ${n} done in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  console.log(`\n${tableOf([r])}`);
}
const m = machine();
const header =
  `Benchmarks (${profile.full ? 'full' : 'quick'} profile, \`npm run bench${profile.full ? ' -- --full' : ''}\`), ${new Date().toISOString().slice(0, 10)}: ` +
  `${m.cpus} × ${m.cpuModel}, ${Math.round(Number(m.totalMemBytes) / 2 ** 30)} GiB, node ${m.node}; server, AWS emulator and driver in separate processes on loopback; ` +
  `storage SQLite file (WAL, synchronous NORMAL). Total ${((performance.now() - started) / 1000).toFixed(0)} s; 1-minute load average at the end ${m.loadAverage1m} ` +
  `(other work shared the machine; CPU-per-operation figures are less sensitive to it than rates).`;
const table = `${header}\n\n${tableOf(results)}\n`;
if (!values.only) writeFileSync(join(resultsDir, 'latest.md'), table);
console.log(`\n${table}`);
