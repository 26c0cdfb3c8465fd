/**
 * TLS listener (issue #7): a config-mode server in a child process with
 * `tls_disable = false` and a self-signed certificate generated at test time.
 * HTTPS works with the CA, plain HTTP and unverified HTTPS do not, the built
 * CLI honours VAULT_CACERT / VAULT_SKIP_VERIFY, and LIST works through TLS
 * (raw method and node-vault).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import vault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, REPO_ROOT, runCli, writeSealKey } from '../support/config-server.js';
import { waitFor } from '../support/dev-server.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const OPENSSL = hasOpenssl();
if (!OPENSSL) console.warn('tls.test.ts: skipped — the openssl binary is not installed (needed to generate a certificate)');

function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-days', '1', '-keyout', key, '-out', cert],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

interface Answer {
  status: number;
  body: any;
}

/** One HTTPS request with Node's https module (so the CA can be given), any method. */
function https(url: string, method: string, path: string, opts: { ca?: Buffer; token?: string; body?: unknown } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = httpsRequest(
      `${url}/v1/${path}`,
      {
        method,
        ca: opts.ca,
        headers: { ...(opts.token ? { 'X-Vault-Token': opts.token } : {}), ...(payload ? { 'Content-Type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe.skipIf(!OPENSSL)('TLS listener', () => {
  let dir: string;
  let port: number;
  let url: string;
  let ca: Buffer;
  let certFile: string;
  let otherCa: string;
  let proc: ChildProcess;
  let stderr = '';
  let root = '';

  beforeAll(async () => {
    expect(readFileSync(join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js')).length, 'the CLI is built (npm run build; npm test does it)').toBeGreaterThan(0);
    dir = mkdtempSync(join(tmpdir(), 'secrets-sync-tls-'));
    const mine = selfSigned(dir, 'server');
    certFile = mine.cert;
    ca = readFileSync(mine.cert);
    otherCa = selfSigned(dir, 'other').cert;
    port = await freePort();
    url = `https://127.0.0.1:${port}`;
    const keyFile = writeSealKey(join(dir, 'seal.key'));
    const config = join(dir, 'server.json');
    writeFileSync(
      config,
      JSON.stringify({
        storage: { sqlite: { path: join(dir, 'data.db') } },
        listener: { tcp: { address: `127.0.0.1:${port}`, tls_disable: false, tls_cert_file: mine.cert, tls_key_file: mine.key } },
        seal: { static: { key_file: keyFile } },
        log_level: 'info',
      }),
    );
    proc = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test', 'support', 'run-config-server.ts'), config], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    proc.stdout!.resume();
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`server exited: ${stderr}`);
      return (await https(url, 'GET', 'sys/health', { ca }).catch(() => undefined)) !== undefined;
    }, 15_000, 50);
    const init = await https(url, 'PUT', 'sys/init', { ca, body: { secret_shares: 1, secret_threshold: 1 } });
    expect(init.status).toBe(200);
    root = init.body.root_token;
    expect((await https(url, 'POST', 'sys/mounts/secret', { ca, token: root, body: { type: 'kv-v2' } })).status).toBe(204);
  });

  afterAll(async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves HTTPS to a client that trusts the certificate', async () => {
    const h = await https(url, 'GET', 'sys/health', { ca });
    expect(h.status).toBe(200);
    expect(h.body.initialized).toBe(true);
    expect((await https(url, 'POST', 'secret/data/https', { ca, token: root, body: { data: { v: 'over-tls' } } })).status).toBe(200);
    expect((await https(url, 'GET', 'secret/data/https', { ca, token: root })).body.data.data).toEqual({ v: 'over-tls' });
  });

  it('refuses plain HTTP on the TLS port, and HTTPS clients that do not trust the certificate', async () => {
    await expect(fetch(`http://127.0.0.1:${port}/v1/sys/health`)).rejects.toThrow();
    await expect(https(url, 'GET', 'sys/health')).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    await expect(https(url, 'GET', 'sys/health', { ca: readFileSync(otherCa) })).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });

  it('the CLI reads and writes KV with VAULT_CACERT', async () => {
    const env = { VAULT_ADDR: url, VAULT_CACERT: certFile, VAULT_TOKEN: root, VAULT_SKIP_VERIFY: '' };
    const put = await runCli(['kv', 'put', '-mount=secret', 'cli-tls', 'foo=bar'], env);
    expect(put.code, put.stderr).toBe(0);
    const get = await runCli(['kv', 'get', '-format=json', '-mount=secret', 'cli-tls'], env);
    expect(get.code, get.stderr).toBe(0);
    expect(JSON.parse(get.stdout).data.data).toEqual({ foo: 'bar' });
  });

  it('the CLI fails against an unknown CA, and works with VAULT_SKIP_VERIFY=true', async () => {
    const bad = await runCli(['kv', 'get', '-mount=secret', 'cli-tls'], { VAULT_ADDR: url, VAULT_CACERT: otherCa, VAULT_TOKEN: root, VAULT_SKIP_VERIFY: '' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/x509|certificate/i);
    expect(bad.stdout).not.toContain('bar');
    const none = await runCli(['kv', 'get', '-mount=secret', 'cli-tls'], { VAULT_ADDR: url, VAULT_CACERT: '', VAULT_TOKEN: root, VAULT_SKIP_VERIFY: '' });
    expect(none.code).not.toBe(0);
    const skip = await runCli(['kv', 'get', '-format=json', '-mount=secret', 'cli-tls'], { VAULT_ADDR: url, VAULT_CACERT: '', VAULT_SKIP_VERIFY: 'true', VAULT_TOKEN: root });
    expect(skip.code, skip.stderr).toBe(0);
    expect(JSON.parse(skip.stdout).data.data).toEqual({ foo: 'bar' });
  });

  it('LIST works through TLS: the raw method and node-vault', async () => {
    // raw LIST request over a TLS socket (the method Node's HTTP parser would refuse)
    const raw = await new Promise<string>((resolve, reject) => {
      const sock = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
        sock.end(`LIST /v1/secret/metadata HTTP/1.1\r\nHost: localhost\r\nX-Vault-Token: ${root}\r\nConnection: close\r\n\r\n`);
      });
      let text = '';
      sock.on('data', (d: Buffer) => (text += d.toString('utf8')));
      sock.on('end', () => resolve(text));
      sock.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 200/);
    const keys = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)).data.keys as string[];
    expect(keys).toEqual(expect.arrayContaining(['cli-tls', 'https']));
    const client = vault({ apiVersion: 'v1', endpoint: url, token: root, requestOptions: { ca } } as Parameters<typeof vault>[0]);
    const listed = await client.list('secret/metadata/');
    expect(listed.data.keys).toEqual(expect.arrayContaining(['cli-tls', 'https']));
  });
});
