/**
 * Secrets Sync features end to end against the AWS emulator: secret-key
 * granularity, name templates, moves, custom tags, disabled sync, assume role,
 * the outbound network guard, KMS keys and the Prometheus metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOW_ALL, startAwsEmulator, type AwsEmulator } from '../emulators/aws-secrets-manager/index.js';
import { BRIEF_POLICY, emulatorConnection } from '../support/brief.js';
import { recordingApi, startDevServer, waitFor, type ApiAnswer, type TestServer } from '../support/dev-server.js';

const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const BRIEF_AKID = 'AKIABRIEFPOLICY00001';
const BRIEF_SECRET = 'briefPolicySecretKey/0123456789abcdefXYZ';
const KV_CANARY = 'kv-canary-a7c3e19b';
const NAME_CANARY = 'namecanary';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/sync-role';
const EXTERNAL_ID = 'ext-id-4711';
const DEST = 'sys/sync/destinations/aws-sm';

let s: TestServer;
let aws: AwsEmulator;
let accessor: string;
const seen: ApiAnswer[] = [];

/** Every response these tests get is kept and scanned for secrets at the end. */
const api = recordingApi(() => s, seen);

const conn = () => emulatorConnection(aws.url);
const briefConn = () => ({ ...conn(), access_key_id: BRIEF_AKID, secret_access_key: BRIEF_SECRET });
const gone = (name: string) => {
  const x = aws.control.secret(name);
  return x === undefined || x.deletedDate !== undefined;
};
const live = (name: string) => {
  const x = aws.control.secret(name);
  return x !== undefined && x.deletedDate === undefined ? x : undefined;
};

async function kvPut(path: string, data: Record<string, unknown>): Promise<void> {
  const r = await api('PUT', `my-kv/data/${path}`, { data });
  expect(r.status, r.text).toBe(200);
}

async function createDest(name: string, body: Record<string, unknown>): Promise<void> {
  const r = await api('PUT', `${DEST}/${name}`, body);
  expect(r.status, r.text).toBe(200);
}

async function setAssoc(dest: string, secret: string): Promise<Record<string, any>> {
  const r = await api('POST', `${DEST}/${dest}/associations/set`, { mount: 'my-kv', secret_name: secret });
  expect(r.status, r.text).toBe(200);
  return r.body.data.associated_secrets;
}

async function entries(dest: string): Promise<Record<string, any>> {
  return (await api('GET', `${DEST}/${dest}/associations`)).body.data.associated_secrets;
}

beforeAll(async () => {
  aws = await startAwsEmulator();
  aws.control.addCredentials(BRIEF_AKID, BRIEF_SECRET, BRIEF_POLICY);
  s = await startDevServer();
  expect((await api('PUT', 'sys/mounts/my-kv/', { type: 'kv-v2' })).status).toBe(204);
  accessor = (await api('GET', 'sys/mounts/my-kv')).body.data.accessor;
});
afterAll(async () => {
  await s?.close();
  await aws?.close();
});

describe('secret-key granularity', () => {
  const tpl = 'vault/{{ .MountAccessor }}/{{ .SecretPath }}/{{ .SecretKey }}';
  const ext = (k: string) => `vault/${accessor}/keys/${k}`;

  it('one external secret per KV key, entries carrying sub_key, non-strings JSON-encoded', async () => {
    await createDest('d-keys', { ...conn(), granularity: 'secret-key', secret_name_template: tpl });
    await kvPut('keys', { user: 'admin', pass: KV_CANARY, list: [1, 'two'], obj: { b: 2, a: 1 }, n: 5, flag: true });
    const e = await setAssoc('d-keys', 'keys');
    expect(Object.keys(e).sort()).toEqual(['flag', 'list', 'n', 'obj', 'pass', 'user'].map((k) => `${accessor}/keys/${k}`));
    expect(e[`${accessor}/keys/pass`]).toMatchObject({ accessor, secret_name: 'keys', sub_key: 'pass', sync_status: 'SYNCED' });
    expect(live(ext('user'))?.currentValue).toBe('admin');
    expect(live(ext('pass'))?.currentValue).toBe(KV_CANARY);
    expect(live(ext('list'))?.currentValue).toBe('[1,"two"]');
    expect(JSON.parse(live(ext('obj'))!.currentValue!)).toEqual({ a: 1, b: 2 });
    expect(live(ext('n'))?.currentValue).toBe('5');
    expect(live(ext('flag'))?.currentValue).toBe('true');
    expect(aws.control.secret(`vault/${accessor}/keys`)).toBeUndefined();
  });

  it('a key added in KV creates its external secret; a removed key is deleted', async () => {
    await kvPut('keys', { user: 'admin', pass: KV_CANARY, list: [1, 'two'], obj: { b: 2, a: 1 }, n: 5, flag: true, added: 'new-one' });
    await waitFor(() => live(ext('added'))?.currentValue === 'new-one', 5000);
    await kvPut('keys', { user: 'root', added: 'new-one' });
    await waitFor(() => ['pass', 'list', 'obj', 'n', 'flag'].every((k) => gone(ext(k))) && live(ext('user'))?.currentValue === 'root', 5000);
    await waitFor(async () => {
      const e = await entries('d-keys');
      return Object.keys(e).sort().join() === [`${accessor}/keys/added`, `${accessor}/keys/user`].join() && Object.values(e).every((x: any) => x.sync_status === 'SYNCED');
    }, 5000);
  });

  it('remove deletes every per-key secret', async () => {
    const r = await api('POST', `${DEST}/d-keys/associations/remove`, { mount: 'my-kv', secret_name: 'keys' });
    expect(r.status).toBe(200);
    expect(Object.values(r.body.data.associated_secrets).every((x: any) => x.sync_status === 'UNSYNCED')).toBe(true);
    expect(gone(ext('user')) && gone(ext('added'))).toBe(true);
  });
});

describe('name templates', () => {
  it('a custom template with functions names the AWS secret', async () => {
    await createDest('d-tpl', { ...conn(), secret_name_template: 'vault-{{ .MountAccessor | uppercase }}-{{ .SecretPath | replace "/" "_" }}' });
    await kvPut('team/app/db', { password: KV_CANARY });
    const e = await setAssoc('d-tpl', 'team/app/db');
    expect(e[`${accessor}/team/app/db`].sync_status).toBe('SYNCED');
    const name = `vault-${accessor.toUpperCase()}-team_app_db`;
    expect(live(name)?.currentValue).toBe(JSON.stringify({ password: KV_CANARY }));
  });

  it('an invalid template is a 400 at destination write', async () => {
    for (const t of ['vault-{{ .SecretPath', 'vault-{{ .Bogus }}', 'vault-{{ .SecretPath | replace "/" }}']) {
      const r = await api('PUT', `${DEST}/d-tpl-bad`, { ...conn(), secret_name_template: t });
      expect(r.status, t).toBe(400);
    }
    expect((await api('GET', `${DEST}/d-tpl-bad`)).status).toBe(404);
  });

  it('re-set after a template change moves the secret (old deleted, new created)', async () => {
    await createDest('d-move', conn());
    await kvPut('movable', { v: KV_CANARY });
    await setAssoc('d-move', 'movable');
    const oldName = `vault/${accessor}/movable`;
    expect(live(oldName)).toBeDefined();
    expect((await api('PATCH', `${DEST}/d-move`, { secret_name_template: 'vault-moved/{{ .SecretPath }}' })).status).toBe(200);
    const e = await setAssoc('d-move', 'movable');
    expect(e[`${accessor}/movable`].sync_status).toBe('SYNCED');
    expect(live('vault-moved/movable')?.currentValue).toBe(JSON.stringify({ v: KV_CANARY }));
    expect(gone(oldName)).toBe(true);
  });

  it('a template change alone does not move existing secrets: later writes keep their name until a re-set', async () => {
    await createDest('d-stay', { ...conn(), secret_name_template: 'vault-one/{{ .SecretPath }}' });
    await kvPut('stays', { v: 1 });
    await setAssoc('d-stay', 'stays');
    expect((await api('PATCH', `${DEST}/d-stay`, { secret_name_template: 'vault-two/{{ .SecretPath }}' })).status).toBe(200);
    await kvPut('stays', { v: 2 });
    await waitFor(() => live('vault-one/stays')?.currentValue === '{"v":2}');
    expect(live('vault-two/stays')).toBeUndefined();
  });
});

describe('granularity change', () => {
  it('re-set after secret-path → secret-key replaces the JSON secret with one secret per key', async () => {
    await createDest('d-gran', { ...conn(), secret_name_template: 'vault-gran/{{ .SecretPath }}' });
    await kvPut('gran', { a: 'x', b: 'y' });
    await setAssoc('d-gran', 'gran');
    expect(live('vault-gran/gran')?.currentValue).toBe('{"a":"x","b":"y"}');
    expect((await api('PATCH', `${DEST}/d-gran`, { granularity: 'secret-key', secret_name_template: 'vault-gran/{{ .SecretPath }}/{{ .SecretKey }}' })).status).toBe(200);
    const e = await setAssoc('d-gran', 'gran');
    expect(Object.keys(e).sort()).toEqual([`${accessor}/gran/a`, `${accessor}/gran/b`]);
    expect(live('vault-gran/gran/a')?.currentValue).toBe('x');
    expect(live('vault-gran/gran/b')?.currentValue).toBe('y');
    expect(gone('vault-gran/gran')).toBe(true);
  });

  it('a bad granularity is a 400 naming the field', async () => {
    const r = await api('PATCH', `${DEST}/d-gran`, { granularity: 'secret-everything' });
    expect(r.status).toBe(400);
    expect(r.text).toContain('granularity');
  });
});

describe('custom tags', () => {
  it('tags appear on the AWS secret; a removed tag is removed at AWS when UntagResource is allowed', async () => {
    await createDest('d-tags', { ...conn(), custom_tags: { team: 'blue', env: 'prod' } });
    await kvPut('tagged', { v: KV_CANARY });
    await setAssoc('d-tags', 'tagged');
    const name = `vault/${accessor}/tagged`;
    expect(live(name)?.tags).toEqual(expect.arrayContaining([{ Key: 'team', Value: 'blue' }, { Key: 'env', Value: 'prod' }, { Key: 'hashicorp:vault', Value: '' }]));
    expect((await api('POST', `${DEST}/d-tags`, { custom_tags: { team: 'red' } })).status).toBe(200);
    await waitFor(() => {
      const t = live(name)?.tags ?? [];
      return t.some((x) => x.Key === 'team' && x.Value === 'red') && !t.some((x) => x.Key === 'env');
    }, 5000);
    expect(live(name)?.tags).toContainEqual({ Key: 'hashicorp:vault', Value: '' });
    await waitFor(async () => (await entries('d-tags'))[`${accessor}/tagged`]?.sync_status === 'SYNCED');
    expect((await entries('d-tags'))[`${accessor}/tagged`].last_error).toBeUndefined();
  });

  it('with the brief policy (no UntagResource) removal degrades: still SYNCED, last_error says so', async () => {
    await createDest('d-tags-brief', { ...briefConn(), custom_tags: { team: 'blue', env: 'prod' } });
    await kvPut('tagged-brief', { v: KV_CANARY });
    await setAssoc('d-tags-brief', 'tagged-brief');
    const name = `vault/${accessor}/tagged-brief`;
    expect(live(name)?.tags).toContainEqual({ Key: 'env', Value: 'prod' });
    expect((await api('POST', `${DEST}/d-tags-brief`, { custom_tags: { team: 'green' } })).status).toBe(200);
    const entry = await waitFor(async () => {
      const e = (await entries('d-tags-brief'))[`${accessor}/tagged-brief`];
      return e?.sync_status === 'SYNCED' && e.last_error ? e : undefined;
    }, 5000);
    expect(entry.last_error).toMatch(/tag/i);
    expect(entry.last_error).toContain('UntagResource');
    expect(live(name)?.tags).toContainEqual({ Key: 'team', Value: 'green' });
    expect(live(name)?.tags).toContainEqual({ Key: 'env', Value: 'prod' });
    const denied = aws.control.calls().filter((c) => c.result === 'AccessDeniedException' && c.accessKeyId === BRIEF_AKID);
    expect(denied.map((c) => c.operation)).toEqual(['UntagResource']);
  });
});

describe('credential changes', () => {
  it('a wrong secret key is CLIENT_SIDE_ERROR without echoing it; PATCHing the right one back and set → SYNCED', async () => {
    await createDest('d-creds', { ...conn(), secret_name_template: 'vault-creds/{{ .SecretPath }}' });
    await kvPut('rotated', { v: KV_CANARY });
    await setAssoc('d-creds', 'rotated');
    const wrong = 'wrongSecretAccessKey/0123456789abcdefABCD';
    const p = await api('PATCH', `${DEST}/d-creds`, { secret_access_key: wrong });
    expect(p.status).toBe(200);
    expect(p.body.data.connection_details.secret_access_key).toBe('*****');
    await kvPut('rotated', { v: 'second' });
    const entry = await waitFor(async () => {
      const e = (await entries('d-creds'))[`${accessor}/rotated`];
      return e?.sync_status === 'CLIENT_SIDE_ERROR' ? e : undefined;
    }, 5000);
    expect(entry.last_error).toMatch(/signature|SignatureDoesNotMatch/i);
    expect(JSON.stringify(seen.map((r) => r.text))).not.toContain(wrong);
    expect((await api('PATCH', `${DEST}/d-creds`, { secret_access_key: SECRET_KEY })).status).toBe(200);
    const e = await setAssoc('d-creds', 'rotated');
    expect(e[`${accessor}/rotated`].sync_status).toBe('SYNCED');
    expect(live('vault-creds/rotated')?.currentValue).toBe('{"v":"second"}');
  });
});

describe('secret lifecycle with secret-key granularity', () => {
  it('deleting the KV metadata deletes every per-key secret; a set before the secret exists syncs once it is written', async () => {
    await createDest('d-life', { ...conn(), granularity: 'secret-key', secret_name_template: 'vault-life/{{ .SecretPath }}/{{ .SecretKey }}' });
    const e = await setAssoc('d-life', 'later');
    expect(Object.values(e).map((x: any) => x.sync_status)).not.toContain('SYNCED');
    await kvPut('later', { a: '1', b: '2' });
    await waitFor(() => live('vault-life/later/a')?.currentValue === '1' && live('vault-life/later/b')?.currentValue === '2', 5000);
    expect((await api('DELETE', 'my-kv/metadata/later')).status).toBe(204);
    await waitFor(() => gone('vault-life/later/a') && gone('vault-life/later/b'), 5000);
    await waitFor(async () => Object.values(await entries('d-life')).every((x: any) => x.sync_status === 'UNSYNCED'), 5000);
  });
});

describe('disabled sync', () => {
  it('while disabled a KV write sends nothing and shows PENDING; re-enabling syncs it', async () => {
    await createDest('d-dis', conn());
    await kvPut('paused', { v: 'before' });
    await setAssoc('d-dis', 'paused');
    const name = `vault/${accessor}/paused`;
    expect((await api('PATCH', 'sys/sync/config', { disabled: true })).status).toBeLessThan(300);
    aws.control.clearCalls();
    try {
      await kvPut('paused', { v: 'during' });
      expect((await entries('d-dis'))[`${accessor}/paused`].sync_status).toBe('PENDING');
      // a set while disabled answers PENDING at once
      await kvPut('paused-new', { v: 'x' });
      const e = await setAssoc('d-dis', 'paused-new');
      expect(e[`${accessor}/paused-new`].sync_status).toBe('PENDING');
      // nothing reaches AWS within a generous window
      await expect(aws.control.waitForCall(() => true, 400)).rejects.toThrow();
      expect(aws.control.calls()).toEqual([]);
      expect(live(name)?.currentValue).toBe('{"v":"before"}');
      const one = await api('GET', 'sys/sync/associations/my-kv/paused');
      expect(one.body.data.associated_destinations['aws-sm/d-dis'].sync_status).toBe('PENDING');
    } finally {
      expect((await api('PATCH', 'sys/sync/config', { disabled: false })).status).toBeLessThan(300);
    }
    await waitFor(() => live(name)?.currentValue === '{"v":"during"}', 5000);
    await waitFor(async () => {
      const e = await entries('d-dis');
      return e[`${accessor}/paused`]?.sync_status === 'SYNCED' && e[`${accessor}/paused-new`]?.sync_status === 'SYNCED';
    }, 5000);
    expect(live(`vault/${accessor}/paused-new`)?.currentValue).toBe('{"v":"x"}');
  });
});

describe('assume role', () => {
  beforeAll(() => {
    aws.control.addRole({ roleArn: ROLE_ARN, policy: ALLOW_ALL, externalId: EXTERNAL_ID });
  });

  it('role_arn + external_id: the secret is written with the role session', async () => {
    await createDest('d-role', { ...conn(), role_arn: ROLE_ARN, external_id: EXTERNAL_ID, secret_name_template: 'vault-role/{{ .SecretPath }}' });
    const g = await api('GET', `${DEST}/d-role`);
    expect(g.body.data.connection_details).toMatchObject({ role_arn: ROLE_ARN });
    await kvPut('via-role', { v: KV_CANARY });
    aws.control.clearCalls();
    const e = await setAssoc('d-role', 'via-role');
    expect(e[`${accessor}/via-role`].sync_status).toBe('SYNCED');
    expect(live('vault-role/via-role')).toBeDefined();
    const calls = aws.control.calls();
    expect(calls.find((c) => c.operation === 'AssumeRole')?.result).toBe('ok');
    expect(calls.find((c) => c.operation === 'CreateSecret')?.accessKeyId).toMatch(/^ASIA/);
  });

  it('a wrong external_id is CLIENT_SIDE_ERROR with a useful last_error', async () => {
    await createDest('d-role-bad', { ...conn(), role_arn: ROLE_ARN, external_id: 'wrong-external-id', secret_name_template: 'vault-role-bad/{{ .SecretPath }}' });
    const e = await setAssoc('d-role-bad', 'via-role');
    const entry = e[`${accessor}/via-role`];
    expect(entry.sync_status).toBe('CLIENT_SIDE_ERROR');
    expect(entry.last_error).toContain('AssumeRole');
    expect(entry.last_error).toMatch(/not authorized|AccessDenied/);
    expect(entry.last_error).not.toContain('wrong-external-id');
    expect(aws.control.secret('vault-role-bad/via-role')).toBeUndefined();
    expect((await api('POST', `${DEST}/d-role-bad/associations/remove`, { mount: 'my-kv', secret_name: 'via-role' })).status).toBe(200);
  });
});

describe('outbound network guard', () => {
  it('refuses the loopback emulator until allowed; PATCH with allowances, set again → SYNCED', async () => {
    const { allowed_ipv4_addresses: _a, allowed_ports: _p, ...bare } = conn();
    await createDest('d-guard', { ...bare, secret_name_template: 'vault-guard/{{ .SecretPath }}' });
    await kvPut('guarded', { v: KV_CANARY });
    aws.control.clearCalls();
    const e = await setAssoc('d-guard', 'guarded');
    const entry = e[`${accessor}/guarded`];
    expect(entry.sync_status).toBe('CLIENT_SIDE_ERROR');
    expect(entry.last_error).toMatch(/refused/);
    expect(aws.control.calls()).toEqual([]);
    const p = await api('PATCH', `${DEST}/d-guard`, { allowed_ipv4_addresses: '127.0.0.0/8', allowed_ports: String(new URL(aws.url).port) });
    expect(p.status, p.text).toBe(200);
    expect(p.body.data.options.allowed_ports).toEqual([Number(new URL(aws.url).port)]);
    const e2 = await setAssoc('d-guard', 'guarded');
    expect(e2[`${accessor}/guarded`].sync_status).toBe('SYNCED');
    expect(e2[`${accessor}/guarded`].last_error).toBeUndefined();
    expect(live('vault-guard/guarded')).toBeDefined();
  });

  it('disable_strict_networking=true lets it through too', async () => {
    const { allowed_ipv4_addresses: _a, allowed_ports: _p, ...bare } = conn();
    await createDest('d-open', { ...bare, disable_strict_networking: 'true', secret_name_template: 'vault-open/{{ .SecretPath }}' });
    const e = await setAssoc('d-open', 'guarded');
    expect(e[`${accessor}/guarded`].sync_status).toBe('SYNCED');
    expect(live('vault-open/guarded')).toBeDefined();
  });
});

describe('kms_key_id', () => {
  it('is sent with the secret and recorded at the emulator', async () => {
    await createDest('d-kms', { ...conn(), kms_key_id: 'alias/sync-key', secret_name_template: 'vault-kms/{{ .SecretPath }}' });
    expect((await api('GET', `${DEST}/d-kms`)).body.data.connection_details.kms_key_id).toBe('alias/sync-key');
    await kvPut('encrypted', { v: KV_CANARY });
    await setAssoc('d-kms', 'encrypted');
    expect(live('vault-kms/encrypted')?.kmsKeyId).toBe('alias/sync-key');
    // an update keeps it
    await kvPut('encrypted', { v: 'second' });
    await waitFor(() => live('vault-kms/encrypted')?.currentValue === '{"v":"second"}', 5000);
    expect(live('vault-kms/encrypted')?.kmsKeyId).toBe('alias/sync-key');
  });
});

describe('metrics', () => {
  it('GET sys/metrics?format=prometheus has the sync series and no secret value or name in labels', async () => {
    await createDest('d-metrics', { ...conn(), secret_name_template: 'vault-metrics/{{ .SecretPath }}' });
    await kvPut(`${NAME_CANARY}-secret`, { v: KV_CANARY });
    await setAssoc('d-metrics', `${NAME_CANARY}-secret`);
    const r = await api('GET', 'sys/metrics?format=prometheus');
    expect(r.status).toBe(200);
    for (const m of ['secrets_sync_operations_total', 'secrets_sync_queue_depth', 'secrets_sync_propagation_seconds']) expect(r.text).toContain(m);
    expect(r.text).toMatch(/secrets_sync_operations_total\{[^}]*destination_type="aws-sm"[^}]*\} \d+/);
    expect(r.text).toMatch(/secrets_sync_propagation_seconds_count \d+/);
    for (const canary of [KV_CANARY, NAME_CANARY, SECRET_KEY, BRIEF_SECRET, accessor]) expect(r.text).not.toContain(canary);
    const unauth = await api('GET', 'sys/metrics?format=prometheus', undefined, { token: null });
    expect(unauth.status).toBe(403);
  });
});

describe('secrets stay secret', () => {
  it('no response carried a secret access key or a KV value', () => {
    expect(seen.length).toBeGreaterThan(40);
    for (const r of seen) {
      // external_id is not a credential: the reference shows it like role_arn
      for (const canary of [SECRET_KEY, BRIEF_SECRET, KV_CANARY]) expect(r.text).not.toContain(canary);
    }
  });
});
