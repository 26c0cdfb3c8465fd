/**
 * The brief's commands (seed.md) verbatim with `vault` replaced by
 * bin/secrets-sync, against a real dev server and the AWS emulator enforcing
 * the brief's IAM policy. Needs `npm run build` (npm test runs it first).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEmulator, type AwsEmulator } from '../emulators/aws-secrets-manager/index.js';
import { BRIEF_POLICY } from '../support/brief.js';
import { startDevServer, type TestServer } from '../support/dev-server.js';

const BIN = join(process.cwd(), 'bin', 'secrets-sync');
let s: TestServer;
let aws: AwsEmulator;
let env: NodeJS.ProcessEnv;

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** Replaces timestamps and accessors so output shapes compare exactly. */
const shape = (out: string) =>
  out.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>').replace(/kv_[0-9a-f]{8}/g, '<accessor>');

beforeAll(async () => {
  aws = await startAwsEmulator();
  aws.control.setPolicy('AKIAIOSFODNN7EXAMPLE', BRIEF_POLICY);
  // The SDK's own endpoint variable, seen by the server (this file runs in its own process): the brief's
  // destination command then needs no endpoint_url.
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = aws.url;
  s = await startDevServer();
  env = {
    ...process.env,
    HOME: mkdtempSync(join(tmpdir(), 'cli-seed-')),
    VAULT_ADDR: s.url,
    VAULT_TOKEN: s.rootToken,
  };
});
afterAll(async () => {
  await s?.close();
  await aws?.close();
});

describe('seed.md through bin/secrets-sync', () => {
  it('secrets enable', async () => {
    const r = await cli('secrets', 'enable', '-path=my-kv', 'kv-v2');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Success! Enabled the kv-v2 secrets engine at: my-kv/\n');
  });

  it('kv put and kv get print Vault-shaped tables', async () => {
    const put = await cli('kv', 'put', '-mount=my-kv', 'my-secret', "foo=bar");
    expect(put.code).toBe(0);
    const metadata = [
      '==== Secret Path ====',
      'my-kv/data/my-secret',
      '',
      '======= Metadata =======',
      'Key                Value',
      '---                -----',
      'created_time       <time>',
      'custom_metadata    <nil>',
      'deletion_time      n/a',
      'destroyed          false',
      'version            1',
    ].join('\n');
    expect(shape(put.stdout)).toBe(metadata + '\n');
    const get = await cli('kv', 'get', '-mount=my-kv', 'my-secret');
    expect(shape(get.stdout)).toBe(metadata + '\n\n=== Data ===\nKey    Value\n---    -----\nfoo    bar\n');
    const missing = await cli('kv', 'get', '-mount=my-kv', 'nope');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('No value found at my-kv/data/nope');
  });

  it('the destination and association commands, under the brief policy', async () => {
    const port = new URL(aws.url).port;
    const dest = await cli(
      'write',
      'sys/sync/destinations/aws-sm/test',
      'access_key_id=AKIAIOSFODNN7EXAMPLE',
      'secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      // the network allowance for the loopback emulator (real AWS needs none)
      'allowed_ipv4_addresses=127.0.0.0/8',
      `allowed_ports=${port}`,
    );
    expect(dest.code).toBe(0);
    expect(dest.stdout).toContain('connection_details    map[access_key_id:***** secret_access_key:*****]');
    expect(dest.stdout).toMatch(/^name\s+test$/m);
    expect(dest.stdout).toMatch(/^type\s+aws-sm$/m);
    expect(dest.stdout).not.toContain('wJalrXUtnFEMI');

    const set = await cli('write', '-f', '/sys/sync/destinations/aws-sm/test/associations/set', 'mount=my-kv', 'secret_name=my-secret');
    expect(set.code).toBe(0);
    expect(shape(set.stdout)).toMatch(
      /^associated_secrets\s+map\[<accessor>\/my-secret:map\[accessor:<accessor> external_name:vault\/<accessor>\/my-secret secret_name:my-secret sync_status:SYNCED synced_version:1 updated_at:<time>\]\]$/m,
    );
    expect(set.stdout).toMatch(/^store_name\s+test$/m);
    expect(set.stdout).toMatch(/^store_type\s+aws-sm$/m);
    const accessor = /kv_[0-9a-f]{8}/.exec(set.stdout)![0];
    const sec = aws.control.secret(`vault/${accessor}/my-secret`)!;
    expect(sec.currentValue).toBe('{"foo":"bar"}');

    const status = await cli('sync', 'status');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/test\s+aws-sm\s+1\s+1\s+0\s+0/);
  });
});
