/**
 * hvac (HashiCorp's Python client, Debian's python3-hvac, run with Debian's /usr/bin/python3) against
 * secrets-sync, unchanged: a real client we did not write, which uses the LIST verb and exact
 * status codes. .ci/run installs python3-hvac.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDevServer, type TestServer } from '../support/dev-server.js';

const PYTHON = '/usr/bin/python3';
let s: TestServer;
beforeAll(async () => {
  s = await startDevServer();
});
afterAll(async () => s?.close());

it('hvac drives KV-v2, policies and tokens unchanged', async () => {
  const { stdout } = await promisify(execFile)(PYTHON, [join(process.cwd(), 'test/e2e/clients/hvac-flow.py'), s.url, s.rootToken], { encoding: 'utf8' });
  const out = JSON.parse(stdout);
  expect(out.authenticated).toBe(true);
  expect(out.mounts).toEqual(expect.arrayContaining(['hv-kv/', 'secret/']));
  expect(out.read.data).toEqual({ user: 'u', pw: 'p2' });
  expect(out.read.metadata.version).toBe(2);
  expect(out.read_v1).toEqual({ user: 'u', pw: 'p1' });
  expect(out.list).toEqual(['db']);
  expect(out.patched).toEqual({ user: 'u', pw: 'p2', extra: 'x' });
  expect(out.metadata).toEqual({ max_versions: 5, custom_metadata: null, current_version: 3 });
  expect(out.deleted_read).toBe('InvalidPath');
  expect(out.undeleted).toEqual({ user: 'u', pw: 'p2', extra: 'x' });
  expect(out.cas_mismatch).toContain('check-and-set parameter did not match the current version');
  expect(out.missing).toBe('InvalidPath');
  expect(out.policy).toContain('hv-kv/data/app/*');
  expect(out.child_policies).toEqual(['default', 'reader']);
  expect(out.child_read).toBe('u');
  expect(out.child_write).toBe('Forbidden');
  expect(out.lookup_self).toEqual(['default', 'reader']);
  expect(out.revoked_authenticated).toBe(false);
  expect(out.sync_config).toEqual({ disabled: false, queue_capacity: 1_000_000 });
  expect(out.after_delete_list).toBe('InvalidPath');
});
