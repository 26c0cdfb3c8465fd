/** TLS options of the CLI's client: VAULT_CACERT verifies, VAULT_SKIP_VERIFY disables verification. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { type Server, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-test-support.js';

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!haveOpenssl())('https', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-tls-'));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  let server: Server;
  let url = '';
  const seen: string[] = [];

  beforeAll(async () => {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'ignore' });
    server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ data: { value: 'tls-ok' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('refuses an unknown certificate by default', async () => {
    const r = await runCli(undefined, ['read', 'secret/x'], { env: { VAULT_ADDR: url } });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `Error reading secret/x: Get "${url}/v1/secret/x": tls: failed to verify certificate: x509: certificate signed by unknown authority\n`,
    );
  });

  it('verifies against VAULT_CACERT (and -ca-cert)', async () => {
    let r = await runCli(undefined, ['read', '-field=value', 'secret/x'], { env: { VAULT_ADDR: url, VAULT_CACERT: cert } });
    expect(r).toMatchObject({ code: 0, stdout: 'tls-ok' });
    r = await runCli(undefined, ['read', '-field=value', `-ca-cert=${cert}`, 'secret/x'], { env: { VAULT_ADDR: url } });
    expect(r).toMatchObject({ code: 0, stdout: 'tls-ok' });
  });

  it('skips verification with VAULT_SKIP_VERIFY (and -tls-skip-verify)', async () => {
    let r = await runCli(undefined, ['read', '-field=value', 'secret/x'], { env: { VAULT_ADDR: url, VAULT_SKIP_VERIFY: 'true' } });
    expect(r).toMatchObject({ code: 0, stdout: 'tls-ok' });
    r = await runCli(undefined, ['read', '-tls-skip-verify', '-field=value', 'secret/x'], { env: { VAULT_ADDR: url } });
    expect(r).toMatchObject({ code: 0, stdout: 'tls-ok' });
  });

  it('explains an https address pointed at a plain-http server', async () => {
    const plain = await import('node:http');
    const s = plain.createServer((_q, res) => res.end('{}'));
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const port = (s.address() as AddressInfo).port;
    const r = await runCli(undefined, ['read', 'secret/x'], { env: { VAULT_ADDR: `https://127.0.0.1:${port}` } });
    await new Promise<void>((resolve) => s.close(() => resolve()));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('http: server gave HTTP response to HTTPS client');
  });
});
