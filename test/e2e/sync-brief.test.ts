/** The user's brief end to end: KV-v2 → aws-sm under the brief's narrow IAM policy, enforced by the emulator. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEmulator, type AwsEmulator } from '../emulators/aws-secrets-manager/index.js';
import { BRIEF_POLICY, emulatorConnection } from '../support/brief.js';
import { startDevServer, waitFor, type TestServer } from '../support/dev-server.js';

let s: TestServer;
let aws: AwsEmulator;
let accessor: string;
const NAME = () => `vault/${accessor}/my-secret`;

beforeAll(async () => {
  aws = await startAwsEmulator();
  aws.control.setPolicy('AKIAIOSFODNN7EXAMPLE', BRIEF_POLICY);
  s = await startDevServer();
  expect((await s.api('PUT', 'sys/mounts/my-kv/', { type: 'kv-v2' })).status).toBe(204);
  accessor = (await s.api('GET', 'sys/mounts/my-kv')).body.data.accessor;
  expect((await s.api('PUT', 'my-kv/data/my-secret', { data: { foo: 'bar' }, options: {} })).status).toBe(200);
});
afterAll(async () => {
  await s?.close();
  await aws?.close();
});

describe('the brief', () => {
  it('creates the destination with masked credentials', async () => {
    const r = await s.api('PUT', 'sys/sync/destinations/aws-sm/test', emulatorConnection(aws.url));
    expect(r.status).toBe(200);
    expect(r.body.data.name).toBe('test');
    expect(r.body.data.type).toBe('aws-sm');
    expect(r.body.data.connection_details.access_key_id).toBe('*****');
    expect(r.body.data.connection_details.secret_access_key).toBe('*****');
    expect(r.text).not.toContain('wJalrXUtnFEMI');
    expect(r.body.data.options).toMatchObject({ granularity_level: 'secret-path', secret_name_template: 'vault/{{ .MountAccessor }}/{{ .SecretPath }}', custom_tags: {} });
  });

  it('set answers SYNCED and AWS holds the JSON value tagged hashicorp:vault', async () => {
    const r = await s.api('PUT', 'sys/sync/destinations/aws-sm/test/associations/set', { mount: 'my-kv', secret_name: 'my-secret' });
    expect(r.status).toBe(200);
    const entry = r.body.data.associated_secrets[`${accessor}/my-secret`];
    expect(entry).toMatchObject({ accessor, secret_name: 'my-secret', sync_status: 'SYNCED' });
    expect(entry.updated_at).toMatch(/Z$/);
    expect(r.body.data.store_name).toBe('test');
    expect(r.body.data.store_type).toBe('aws-sm');
    const sec = aws.control.secret(NAME())!;
    expect(sec.currentValue).toBe('{"foo":"bar"}');
    expect(sec.tags).toContainEqual({ Key: 'hashicorp:vault', Value: '' });
  });

  it('a new KV version arrives within 1 s, as one UpdateSecret (no create attempt, no re-tagging)', async () => {
    aws.control.clearCalls();
    const t0 = Date.now();
    await s.api('PUT', 'my-kv/data/my-secret', { data: { foo: 'baz' } });
    await waitFor(() => aws.control.secret(NAME())?.currentValue === '{"foo":"baz"}', 1000, 5);
    expect(Date.now() - t0).toBeLessThan(1000);
    await waitFor(async () => (await s.api('GET', 'sys/sync/destinations/aws-sm/test/associations')).body.data.associated_secrets[`${accessor}/my-secret`].sync_status === 'SYNCED');
    expect(aws.control.calls().map((c) => c.operation)).toEqual(['UpdateSecret']);
  });

  it('soft-deleting the latest version syncs the previous active one', async () => {
    await s.api('DELETE', 'my-kv/data/my-secret');
    await waitFor(() => aws.control.secret(NAME())?.currentValue === '{"foo":"bar"}', 2000, 5);
    await s.api('POST', 'my-kv/undelete/my-secret', { versions: [2] });
    await waitFor(() => aws.control.secret(NAME())?.currentValue === '{"foo":"baz"}', 2000, 5);
  });

  it('deleting the metadata deletes it at AWS; set re-creates it; remove deletes and answers UNSYNCED', async () => {
    await s.api('DELETE', 'my-kv/metadata/my-secret');
    await waitFor(() => aws.control.secret(NAME()) === undefined || aws.control.secret(NAME())!.deletedDate !== undefined, 2000, 5);
    await s.api('PUT', 'my-kv/data/my-secret', { data: { foo: 'again' } });
    const set = await s.api('PUT', 'sys/sync/destinations/aws-sm/test/associations/set', { mount: 'my-kv', secret_name: 'my-secret' });
    expect(set.body.data.associated_secrets[`${accessor}/my-secret`].sync_status).toBe('SYNCED');
    expect(aws.control.secret(NAME())!.currentValue).toBe('{"foo":"again"}');
    const rm = await s.api('PUT', 'sys/sync/destinations/aws-sm/test/associations/remove', { mount: 'my-kv', secret_name: 'my-secret' });
    expect(rm.status).toBe(200);
    expect(rm.body.data.associated_secrets[`${accessor}/my-secret`].sync_status).toBe('UNSYNCED');
    const gone = aws.control.secret(NAME());
    expect(gone === undefined || gone.deletedDate !== undefined).toBe(true);
    expect((await s.api('GET', 'sys/sync/destinations/aws-sm/test/associations')).body.data.associated_secrets).toEqual({});
  });

  it('never used a call outside the brief policy', () => {
    const denied = aws.control.calls().filter((c) => c.result === 'AccessDeniedException');
    expect(denied.map((c) => c.operation)).toEqual([]);
  });
});
