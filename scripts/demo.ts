/**
 * `npm run demo`: the brief's flow against a dev server and the AWS Secrets
 * Manager emulator, driven through the real CLI, printing what AWS holds after
 * each step. Everything runs on loopback and stops at the end.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAwsEmulator } from '../test/emulators/aws-secrets-manager/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'secrets-sync');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const home = mkdtempSync(join(tmpdir(), 'secrets-sync-demo-'));
const port = await freePort();
const aws = await startAwsEmulator();
const addr = `http://127.0.0.1:${port}`;
const env = { ...process.env, HOME: home, VAULT_ADDR: addr, VAULT_TOKEN: 'root' };
const server = spawn(process.execPath, [bin, 'server', '-dev', '-dev-root-token-id=root', `-dev-listen-address=127.0.0.1:${port}`], {
  env,
  stdio: ['ignore', 'ignore', 'ignore'],
});

// Asynchronous on purpose: the emulator runs in this process and must keep answering while the CLI waits.
async function run(...args: string[]): Promise<void> {
  process.stdout.write(`\n$ secrets-sync ${args.map((a) => (/[\s{}]/.test(a) ? `'${a}'` : a)).join(' ')}\n`);
  const r = await promisify(execFile)(process.execPath, [bin, ...args], { env, encoding: 'utf8' }).catch((e: { stdout: string; stderr: string }) => e);
  process.stdout.write(r.stdout + r.stderr);
}

function showAws(step: string): void {
  process.stdout.write(`\n--- AWS Secrets Manager now holds (${step}):\n`);
  const live = aws.control.secrets().filter((s) => s.deletedDate === undefined);
  if (live.length === 0) process.stdout.write('    (nothing)\n');
  for (const s of live) process.stdout.write(`    ${s.name} = ${s.currentValue}   tags=${JSON.stringify(s.tags)}\n`);
}

async function waitFor(pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

try {
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`${addr}/v1/sys/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  process.stdout.write(`dev server: ${addr} (root token "root"); AWS emulator: ${aws.url}\n`);
  await run('secrets', 'enable', '-path=my-kv', 'kv-v2');
  await run('kv', 'put', '-mount=my-kv', 'my-secret', 'foo=bar');
  await run(
    'write',
    'sys/sync/destinations/aws-sm/test',
    'access_key_id=AKIAIOSFODNN7EXAMPLE',
    'secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    `endpoint_url=${aws.url}`,
    'allowed_ipv4_addresses=127.0.0.1/32',
    `allowed_ports=${new URL(aws.url).port}`,
  );
  await run('write', '-f', 'sys/sync/destinations/aws-sm/test/associations/set', 'mount=my-kv', 'secret_name=my-secret');
  showAws('after associations/set');
  await run('kv', 'put', '-mount=my-kv', 'my-secret', 'foo=updated', 'extra=value');
  await waitFor(() => aws.control.secrets().some((s) => s.currentValue?.includes('updated')));
  showAws('after a new KV version');
  await run('kv', 'metadata', 'delete', '-mount=my-kv', 'my-secret');
  await waitFor(() => aws.control.secrets().every((s) => s.deletedDate !== undefined));
  showAws('after deleting the secret in KV');
  await run('sync', 'status');
} finally {
  server.kill('SIGTERM');
  await aws.close();
  rmSync(home, { recursive: true, force: true });
}
