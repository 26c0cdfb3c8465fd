/**
 * Test support: a config-mode server in a child process (real SQLite file,
 * real seal key file), so tests can SIGTERM it, `kill -9` it and restart it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiClient, waitFor } from './dev-server.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY = join(REPO_ROOT, 'test', 'support', 'run-config-server.ts');

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Writes a fresh base64 seal key (32 random bytes unless told otherwise) and returns its path. */
export function writeSealKey(path: string, bytes = 32): string {
  writeFileSync(path, randomBytes(bytes).toString('base64') + '\n', { mode: 0o600 });
  return path;
}

export interface ConfigOptions {
  dir: string;
  port: number;
  keyFile: string;
  dbPath?: string;
  maxRequestSize?: number;
  /** extra top-level keys (JSON only) */
  extra?: Record<string, unknown>;
}

export function writeJsonConfig(path: string, o: ConfigOptions): string {
  const tcp: Record<string, unknown> = { address: `127.0.0.1:${o.port}`, tls_disable: true };
  if (o.maxRequestSize !== undefined) tcp.max_request_size = o.maxRequestSize;
  const doc = {
    storage: { sqlite: { path: o.dbPath ?? join(o.dir, 'data.db') } },
    listener: { tcp },
    seal: { static: { key_file: o.keyFile } },
    log_level: 'info',
    ...(o.extra ?? {}),
  };
  writeFileSync(path, JSON.stringify(doc, null, 2));
  return path;
}

export function writeHclConfig(path: string, o: ConfigOptions): string {
  const text = [
    'storage "sqlite" {',
    `  path = ${JSON.stringify(o.dbPath ?? join(o.dir, 'data.db'))}`,
    '}',
    'listener "tcp" {',
    `  address     = "127.0.0.1:${o.port}"`,
    '  tls_disable = true',
    '}',
    'seal "static" {',
    `  key_file = ${JSON.stringify(o.keyFile)}`,
    '}',
    'log_level = "info"',
    '',
  ].join('\n');
  writeFileSync(path, text);
  return path;
}

export interface ServerProcess {
  url: string;
  proc: ChildProcess;
  api: ReturnType<typeof apiClient>;
  stdout(): string;
  stderr(): string;
  /** resolves with the exit code (null when killed by a signal) */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM and wait for the exit */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL (kill -9) and wait for the exit */
  kill9(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export type Launcher = 'source' | 'cli';

function spawnServer(configPath: string, launcher: Launcher, env: NodeJS.ProcessEnv = {}): ChildProcess {
  const args =
    launcher === 'cli'
      ? [join(REPO_ROOT, 'bin', 'secrets-sync'), 'server', `-config=${configPath}`]
      : ['--import', 'tsx', ENTRY, configPath];
  return spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Starts the server and waits until it answers sys/health; rejects with its stderr if it exits first. */
export async function startConfigServer(configPath: string, port: number, opts: { launcher?: Launcher; token?: string } = {}): Promise<ServerProcess> {
  const proc = spawnServer(configPath, opts.launcher ?? 'source');
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  let done: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => {
      done = { code, signal };
      resolve(done);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => {
      if (done) throw new Error(`server exited (${done.code ?? done.signal}): ${err}`);
      const r = await fetch(`${url}/v1/sys/health`).catch(() => undefined);
      return r !== undefined;
    }, 15_000, 50);
  } catch (e) {
    proc.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\nstdout: ${out}\nstderr: ${err}`);
  }
  const stopWith = async (sig: NodeJS.Signals) => {
    if (!done) proc.kill(sig);
    return exited;
  };
  return {
    url,
    proc,
    api: apiClient(url, opts.token),
    stdout: () => out,
    stderr: () => err,
    exited,
    stop: () => stopWith('SIGTERM'),
    kill9: () => stopWith('SIGKILL'),
  };
}

/** Runs a server that is expected to fail at start; resolves with its exit code and output. */
export async function runExpectingFailure(configPath: string, timeoutMs = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawnServer(configPath, 'source');
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout: out, stderr: err };
}

/** Runs the built CLI (`bin/secrets-sync ...`) to completion. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'secrets-sync'), ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
  return { code, stdout: out, stderr: err };
}
