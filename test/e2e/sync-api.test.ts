/** The Secrets Sync API's shapes (reference: secrets-sync-api.md) over real HTTP, against the AWS emulator. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEmulator, type AwsEmulator } from '../emulators/aws-secrets-manager/index.js';
import { emulatorConnection } from '../support/brief.js';
import { recordingApi, startDevServer, waitFor, type ApiAnswer, type TestServer } from '../support/dev-server.js';

const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const KV_CANARY = 'kv-canary-6f1d2c9e';
const DEST = 'sys/sync/destinations/aws-sm';

let s: TestServer;
let aws: AwsEmulator;
let accessor: string;
const seen: ApiAnswer[] = [];

/** Every response these tests get is kept and scanned for secrets at the end. */
const api = recordingApi(() => s, seen);

const conn = () => emulatorConnection(aws.url);
const awsName = (secret: string) => `vault/${accessor}/${secret}`;
const live = (name: string) => {
  const x = aws.control.secret(name);
  return x !== undefined && x.deletedDate === undefined;
};
const gone = (name: string) => {
  const x = aws.control.secret(name);
  return x === undefined || x.deletedDate !== undefined;
};

async function assocStatus(dest: string, secret: string): Promise<string | undefined> {
  const r = await api('GET', `${DEST}/${dest}/associations`);
  return r.body?.data?.associated_secrets?.[`${accessor}/${secret}`]?.sync_status;
}

beforeAll(async () => {
  aws = await startAwsEmulator();
  s = await startDevServer();
  expect((await api('PUT', 'sys/mounts/my-kv/', { type: 'kv-v2' })).status).toBe(204);
  accessor = (await api('GET', 'sys/mounts/my-kv')).body.data.accessor;
  for (const n of ['my-secret', 'other', 'purge-a', 'purge-b', 'force-a']) {
    expect((await api('PUT', `my-kv/data/${n}`, { data: { foo: KV_CANARY, n } })).status).toBe(200);
  }
});
afterAll(async () => {
  await s?.close();
  await aws?.close();
});

describe('sys/sync/config', () => {
  it('reads the defaults, merge-patches, coerces strings, and DELETE resets', async () => {
    const g = await api('GET', 'sys/sync/config');
    expect(g.status).toBe(200);
    expect(g.body.data).toEqual({ disabled: false, queue_capacity: 1000000 });

    const p = await api('PATCH', 'sys/sync/config', { queue_capacity: 5000 });
    expect(p.status, p.text).toBeLessThan(300);
    expect((await api('GET', 'sys/sync/config')).body.data).toEqual({ disabled: false, queue_capacity: 5000 });

    // `vault write sys/sync/config disabled=true` sends strings
    const w = await api('POST', 'sys/sync/config', { disabled: 'true' });
    expect(w.status, w.text).toBeLessThan(300);
    expect((await api('GET', 'sys/sync/config')).body.data).toEqual({ disabled: true, queue_capacity: 5000 });

    const w2 = await api('PUT', 'sys/sync/config', { queue_capacity: '7000', disabled: 'false' });
    expect(w2.status, w2.text).toBeLessThan(300);
    expect((await api('GET', 'sys/sync/config')).body.data).toEqual({ disabled: false, queue_capacity: 7000 });

    const bad = await api('PATCH', 'sys/sync/config', { queue_capacity: '1.5' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('queue_capacity');

    const d = await api('DELETE', 'sys/sync/config');
    expect(d.status).toBeLessThan(300);
    expect((await api('GET', 'sys/sync/config')).body.data).toEqual({ disabled: false, queue_capacity: 1000000 });
  });

  it('accepts the activation flag (idempotent)', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await api('POST', 'sys/activation-flags/secrets-sync/activate', undefined);
      expect([200, 204]).toContain(r.status);
    }
  });
});

describe('destinations', () => {
  it('creates with PUT: credentials masked, non-secret fields shown, default options', async () => {
    const r = await api('PUT', `${DEST}/d-put`, conn());
    expect(r.status, r.text).toBe(200);
    expect(r.body.data).toMatchObject({
      name: 'd-put',
      type: 'aws-sm',
      connection_details: { access_key_id: '*****', secret_access_key: '*****', region: 'us-east-1', endpoint_url: aws.url },
      options: { custom_tags: {}, granularity_level: 'secret-path', secret_name_template: 'vault/{{ .MountAccessor }}/{{ .SecretPath }}' },
    });
    const g = await api('GET', `${DEST}/d-put`);
    expect(g.status).toBe(200);
    expect(g.body.data).toEqual(r.body.data);
  });

  it('creates with POST; a credential never set reads ""', async () => {
    const r = await api('POST', `${DEST}/d-post`, { region: 'eu-west-1', endpoint_url: aws.url, granularity: 'secret-key', secret_name_template: 'vault/{{ .SecretPath }}/{{ .SecretKey }}' });
    expect(r.status, r.text).toBe(200);
    const g = await api('GET', `${DEST}/d-post`);
    expect(g.body.data.connection_details).toMatchObject({ access_key_id: '', secret_access_key: '', region: 'eu-west-1' });
    expect(g.body.data.options.granularity_level).toBe('secret-key');
  });

  it('secret-key granularity with a template without SecretKey is a 400 (every key would overwrite the same name)', async () => {
    const r = await api('PUT', `${DEST}/d-collide`, { ...conn(), granularity: 'secret-key' });
    expect(r.status).toBe(400);
    expect(r.body.errors.join(' ')).toContain('secret_name_template');
    expect((await api('GET', `${DEST}/d-collide`)).status).toBe(404);
    const p = await api('PATCH', `${DEST}/d-post`, { secret_name_template: 'vault/{{ .SecretPath }}' });
    expect(p.status).toBe(400);
  });

  it('PATCH changes only the given fields and keeps the credentials', async () => {
    const p = await api('PATCH', `${DEST}/d-put`, { custom_tags: { team: 'blue' } });
    expect(p.status, p.text).toBe(200);
    const g = (await api('GET', `${DEST}/d-put`)).body.data;
    expect(g.options.custom_tags).toEqual({ team: 'blue' });
    expect(g.options.granularity_level).toBe('secret-path');
    expect(g.connection_details).toMatchObject({ access_key_id: '*****', secret_access_key: '*****', region: 'us-east-1', endpoint_url: aws.url });
    // the kept credentials still sign: a sync through this destination succeeds
    const set = await api('POST', `${DEST}/d-put/associations/set`, { mount: 'my-kv', secret_name: 'other' });
    expect(set.body.data.associated_secrets[`${accessor}/other`].sync_status, set.text).toBe('SYNCED');
    expect(aws.control.secret(awsName('other'))?.tags).toContainEqual({ Key: 'team', Value: 'blue' });
    expect((await api('POST', `${DEST}/d-put/associations/remove`, { mount: 'my-kv', secret_name: 'other' })).status).toBe(200);
  });

  it('PATCH of a missing destination is a 404', async () => {
    expect((await api('PATCH', `${DEST}/nope`, { custom_tags: { a: 'b' } })).status).toBe(404);
  });

  it('POST on an existing destination updates it', async () => {
    const r = await api('POST', `${DEST}/d-post`, { secret_name_template: 'vault-{{ .SecretPath }}-{{ .SecretKey }}' });
    expect(r.status, r.text).toBe(200);
    const g = (await api('GET', `${DEST}/d-post`)).body.data;
    expect(g.options.secret_name_template).toBe('vault-{{ .SecretPath }}-{{ .SecretKey }}');
    expect(g.options.granularity_level).toBe('secret-key');
    expect(g.connection_details.region).toBe('eu-west-1');
  });

  it('a change of the immutable region is a 400 naming the field; the same region is fine', async () => {
    const r = await api('PATCH', `${DEST}/d-put`, { region: 'us-west-2' });
    expect(r.status).toBe(400);
    expect(r.body.errors.join(' ')).toContain('region');
    const r2 = await api('POST', `${DEST}/d-put`, { region: 'us-west-2' });
    expect(r2.status).toBe(400);
    expect((await api('GET', `${DEST}/d-put`)).body.data.connection_details.region).toBe('us-east-1');
    expect((await api('PATCH', `${DEST}/d-put`, { region: 'us-east-1' })).status).toBe(200);
  });

  it('unknown and not-yet-implemented types are 400 unsupported destination type', async () => {
    const x = await api('PUT', 'sys/sync/destinations/x/d1', { region: 'us-east-1' });
    expect(x.status).toBe(400);
    expect(x.body.errors).toEqual(['unsupported destination type x']);
    for (const t of ['gh', 'gcp-sm', 'azure-kv', 'vercel-project']) {
      const r = await api('PUT', `sys/sync/destinations/${t}/d1`, { access_token: 'x' });
      expect(r.status, t).toBe(400);
      expect(r.body.errors.join(' ')).toContain('unsupported destination type');
      const p = await api('PATCH', `sys/sync/destinations/${t}/d1`, { access_token: 'x' });
      expect(p.status, `PATCH ${t}`).toBe(400);
      expect(p.body.errors.join(' ')).toContain('unsupported destination type');
    }
    const px = await api('PATCH', 'sys/sync/destinations/x/d1', { region: 'us-east-1' });
    expect(px.body.errors).toEqual(['unsupported destination type x']);
  });

  it('a bad template (parse error, unknown field) is a 400 and nothing is stored', async () => {
    for (const tpl of ['vault/{{ .MountAccessor', 'vault/{{ .NoSuchField }}', 'vault/{{ .SecretPath | nosuchfunc }}']) {
      const r = await api('PUT', `${DEST}/d-bad`, { ...conn(), secret_name_template: tpl });
      expect(r.status, tpl).toBe(400);
      expect(r.body.errors.join(' ')).toContain('secret_name_template');
      expect((await api('GET', `${DEST}/d-bad`)).status).toBe(404);
      const p = await api('PATCH', `${DEST}/d-put`, { secret_name_template: tpl });
      expect(p.status).toBe(400);
    }
    expect((await api('GET', `${DEST}/d-put`)).body.data.options.secret_name_template).toBe('vault/{{ .MountAccessor }}/{{ .SecretPath }}');
  });

  it('LIST sys/sync/destinations and LIST sys/sync/destinations/aws-sm', async () => {
    const l = await api('LIST', 'sys/sync/destinations');
    expect(l.status).toBe(200);
    expect(l.body.data.keys).toEqual(['aws-sm/']);
    expect(l.body.data.key_info['aws-sm/'].slice().sort()).toEqual(['d-post', 'd-put']);
    expect(l.body.data.total_destinations).toBe(2);
    const g = await api('GET', 'sys/sync/destinations?list=true');
    expect(g.body.data).toEqual(l.body.data);
    const t = await api('LIST', `${DEST}`);
    expect(t.status).toBe(200);
    expect(t.body.data.keys.slice().sort()).toEqual(['d-post', 'd-put']);
    expect(t.body.data.total_destinations).toBe(2);
  });
});

describe('associations', () => {
  it('set answers SYNCED in the reference shape', async () => {
    const r = await api('POST', `${DEST}/d-put/associations/set`, { mount: 'my-kv', secret_name: 'my-secret' });
    expect(r.status, r.text).toBe(200);
    expect(r.body.data.store_name).toBe('d-put');
    expect(r.body.data.store_type).toBe('aws-sm');
    expect(r.body.data.associated_secrets[`${accessor}/my-secret`]).toMatchObject({ accessor, secret_name: 'my-secret', sync_status: 'SYNCED' });
    expect(aws.control.secret(awsName('my-secret'))?.currentValue).toBe(JSON.stringify({ foo: KV_CANARY, n: 'my-secret' }));
  });

  it('GET .../associations lists the destination\'s associations', async () => {
    const r = await api('GET', `${DEST}/d-put/associations`);
    expect(r.status).toBe(200);
    expect(Object.keys(r.body.data.associated_secrets)).toEqual([`${accessor}/my-secret`]);
    expect(r.body.data).toMatchObject({ store_name: 'd-put', store_type: 'aws-sm' });
    expect(r.body.data.associated_secrets[`${accessor}/my-secret`].updated_at).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('LIST sys/sync/associations counts associations and secrets', async () => {
    // a second destination for the same secret: two associations, one secret
    expect((await api('PUT', `${DEST}/d-two`, conn())).status).toBe(200);
    const set = await api('POST', `${DEST}/d-two/associations/set`, { mount: 'my-kv', secret_name: 'my-secret' });
    expect(set.body.data.associated_secrets[`${accessor}/my-secret`].sync_status).toBe('SYNCED');
    const l = await api('LIST', 'sys/sync/associations');
    expect(l.status).toBe(200);
    expect(l.body.data).toEqual({
      key_info: { 'my-kv/my-secret': [{ mount: 'my-kv/', secret_path: 'my-secret' }] },
      keys: ['my-kv/my-secret'],
      total_associations: 2,
      total_secrets: 1,
    });
  });

  it('the destinations of one secret, by path and by query', async () => {
    const a = await api('GET', 'sys/sync/associations/my-kv/my-secret');
    expect(a.status).toBe(200);
    const d = a.body.data.associated_destinations;
    expect(Object.keys(d).sort()).toEqual(['aws-sm/d-put', 'aws-sm/d-two']);
    expect(d['aws-sm/d-put']).toMatchObject({ type: 'aws-sm', name: 'd-put', sync_status: 'SYNCED' });
    expect(d['aws-sm/d-put'].updated_at).toBeTruthy();
    const q = await api('GET', 'sys/sync/associations/destinations?mount=my-kv&secret_name=my-secret');
    expect(q.status).toBe(200);
    expect(q.body.data.associated_destinations).toEqual(d);
  });

  it('remove answers UNSYNCED, also when the association did not exist', async () => {
    const r = await api('POST', `${DEST}/d-two/associations/remove`, { mount: 'my-kv', secret_name: 'my-secret' });
    expect(r.status).toBe(200);
    expect(r.body.data.associated_secrets[`${accessor}/my-secret`].sync_status).toBe('UNSYNCED');
    // d-put writes the same name: check the association list rather than the emulator
    expect(Object.keys((await api('GET', `${DEST}/d-two/associations`)).body.data.associated_secrets)).toEqual([]);
    const again = await api('POST', `${DEST}/d-two/associations/remove`, { mount: 'my-kv', secret_name: 'my-secret' });
    expect(again.status).toBe(200);
    const never = await api('POST', `${DEST}/d-two/associations/remove`, { mount: 'my-kv', secret_name: 'never-associated' });
    expect(never.status).toBe(200);
  });

  it('set on a KV-v1 mount or a missing mount is a 400', async () => {
    expect((await api('PUT', 'sys/mounts/v1', { type: 'kv' })).status).toBe(204);
    expect((await api('PUT', 'v1/foo', { a: KV_CANARY })).status).toBeLessThan(300);
    const v1 = await api('POST', `${DEST}/d-put/associations/set`, { mount: 'v1', secret_name: 'foo' });
    expect(v1.status).toBe(400);
    const missing = await api('POST', `${DEST}/d-put/associations/set`, { mount: 'no-such-mount', secret_name: 'foo' });
    expect(missing.status).toBe(400);
    const noMount = await api('POST', `${DEST}/d-put/associations/set`, { secret_name: 'foo' });
    expect(noMount.status).toBe(400);
    expect(noMount.text).toContain('mount');
  });

  it('set on a missing destination is a 400 or 404', async () => {
    const r = await api('POST', `${DEST}/no-such-dest/associations/set`, { mount: 'my-kv', secret_name: 'my-secret' });
    expect([400, 404]).toContain(r.status);
  });
});

describe('permissions', () => {
  let syncOnly: string;
  let nobody: string;
  beforeAll(async () => {
    expect((await api('PUT', 'sys/policies/acl/sync-admin', { policy: 'path "sys/sync/*" { capabilities = ["create","read","update","delete","list","patch"] }' })).status).toBe(204);
    syncOnly = (await api('POST', 'auth/token/create', { policies: ['sync-admin'] })).body.auth.client_token;
    nobody = (await api('POST', 'auth/token/create', { policies: ['default'] })).body.auth.client_token;
  });

  it('set needs read on the secret: 403 naming secret and mount', async () => {
    const r = await api('POST', `${DEST}/d-put/associations/set`, { mount: 'my-kv', secret_name: 'my-secret' }, { token: syncOnly });
    expect(r.status).toBe(403);
    expect(r.body.errors.join(' ')).toContain('permission denied to read the content of the secret my-secret in mount my-kv');
    // the sync paths themselves are allowed to that token
    expect((await api('GET', `${DEST}/d-put`, undefined, { token: syncOnly })).status).toBe(200);
  });

  it('with read on the secret, the same token may set', async () => {
    expect((await api('PUT', 'sys/policies/acl/read-other', { policy: 'path "my-kv/data/other" { capabilities = ["read"] }' })).status).toBe(204);
    const t = (await api('POST', 'auth/token/create', { policies: ['sync-admin', 'read-other'] })).body.auth.client_token;
    const r = await api('POST', `${DEST}/d-two/associations/set`, { mount: 'my-kv', secret_name: 'other' }, { token: t });
    expect(r.status, r.text).toBe(200);
    expect(r.body.data.associated_secrets[`${accessor}/other`].sync_status).toBe('SYNCED');
    expect((await api('POST', `${DEST}/d-two/associations/remove`, { mount: 'my-kv', secret_name: 'other' }, { token: t })).status).toBe(200);
  });

  it('a token without sync capabilities gets 403 on every sync path', async () => {
    const calls: Array<[string, string, unknown?]> = [
      ['GET', 'sys/sync/config'],
      ['PATCH', 'sys/sync/config', { disabled: true }],
      ['POST', 'sys/sync/config', { disabled: true }],
      ['DELETE', 'sys/sync/config'],
      ['LIST', 'sys/sync/destinations'],
      ['LIST', DEST],
      ['GET', `${DEST}/d-put`],
      ['PUT', `${DEST}/d-evil`, conn()],
      ['PATCH', `${DEST}/d-put`, { custom_tags: { a: 'b' } }],
      ['DELETE', `${DEST}/d-put`],
      ['DELETE', `${DEST}/d-put?force_delete=true`],
      ['GET', `${DEST}/d-put/associations`],
      ['POST', `${DEST}/d-put/associations/set`, { mount: 'my-kv', secret_name: 'my-secret' }],
      ['POST', `${DEST}/d-put/associations/remove`, { mount: 'my-kv', secret_name: 'my-secret' }],
      ['LIST', 'sys/sync/associations'],
      ['GET', 'sys/sync/associations/my-kv/my-secret'],
      ['GET', 'sys/sync/associations/destinations?mount=my-kv&secret_name=my-secret'],
    ];
    for (const [m, p, b] of calls) {
      for (const token of [nobody, null]) {
        const r = await api(m, p, b, { token });
        expect(r.status, `${m} ${p} ${token ? 'default token' : 'no token'}: ${r.text}`).toBe(403);
      }
    }
    expect((await api('GET', `${DEST}/d-put`)).status).toBe(200);
    expect((await api('GET', `${DEST}/d-evil`)).status).toBe(404);
    expect(await assocStatus('d-put', 'my-secret')).toBe('SYNCED');
  });
});

describe('queue_capacity and coercion', () => {
  it('a set beyond queue_capacity is a 400 while the queue cannot drain', async () => {
    expect((await api('PATCH', 'sys/sync/config', { disabled: true, queue_capacity: 1 })).status).toBeLessThan(300);
    try {
      const a = await api('POST', `${DEST}/d-two/associations/set`, { mount: 'my-kv', secret_name: 'other' });
      expect(a.body.data.associated_secrets[`${accessor}/other`].sync_status).toBe('PENDING');
      const b = await api('POST', `${DEST}/d-two/associations/set`, { mount: 'my-kv/', secret_name: 'force-a' });
      expect(b.status).toBe(400);
      expect(b.text).toContain('queue_capacity');
    } finally {
      expect((await api('DELETE', 'sys/sync/config')).status).toBeLessThan(300);
    }
    await waitFor(async () => (await assocStatus('d-two', 'other')) === 'SYNCED');
    expect((await api('POST', `${DEST}/d-two/associations/remove`, { mount: 'my-kv/', secret_name: 'other' })).body.data.associated_secrets[`${accessor}/other`].sync_status).toBe('UNSYNCED');
  });

  it('destination fields sent as strings (vault write k=v) are coerced', async () => {
    const r = await api('PUT', `${DEST}/d-str`, { ...conn(), custom_tags: 'team=blue', disable_strict_networking: 'false', allowed_ports: '8443,9000' });
    expect(r.status, r.text).toBe(200);
    expect(r.body.data.options).toMatchObject({ custom_tags: { team: 'blue' }, disable_strict_networking: false, allowed_ports: [8443, 9000] });
    const bad = await api('PUT', `${DEST}/d-str2`, { ...conn(), allowed_ports: 'eighty' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('allowed_ports');
    expect(bad.text).not.toContain(SECRET_KEY);
    expect((await api('GET', `${DEST}/d-str2`)).status).toBe(404);
    expect((await api('DELETE', `${DEST}/d-str`)).status).toBe(204);
  });

  it('missing association parameters are 400s naming the field', async () => {
    const r = await api('GET', 'sys/sync/associations/destinations?mount=my-kv');
    expect(r.status).toBe(400);
    expect(r.text).toContain('secret_name');
  });
});

describe('deleting destinations', () => {
  it('DELETE is refused while associations exist', async () => {
    const r = await api('DELETE', `${DEST}/d-put`);
    expect(r.status).toBe(400);
    expect((await api('GET', `${DEST}/d-put`)).status).toBe(200);
    expect(await assocStatus('d-put', 'my-secret')).toBe('SYNCED');
  });

  it('DELETE of a destination without associations removes it', async () => {
    expect((await api('DELETE', `${DEST}/d-post`)).status).toBe(204);
    expect((await api('GET', `${DEST}/d-post`)).status).toBe(404);
  });

  it('purge=true unsyncs every secret at AWS, then the destination disappears', async () => {
    expect((await api('PUT', `${DEST}/d-purge`, { ...conn(), secret_name_template: 'vault-purge/{{ .SecretPath }}' })).status).toBe(200);
    for (const n of ['purge-a', 'purge-b']) {
      const r = await api('POST', `${DEST}/d-purge/associations/set`, { mount: 'my-kv', secret_name: n });
      expect(r.body.data.associated_secrets[`${accessor}/${n}`].sync_status).toBe('SYNCED');
      expect(aws.control.secret(`vault-purge/${n}`)?.currentValue).toContain(n);
    }
    // slow the emulator down so that the purge is visible in progress
    aws.control.setFaults({ latencyMs: 150 });
    const d = await api('DELETE', `${DEST}/d-purge?purge=true`);
    expect(d.status, d.text).toBeLessThan(300);
    const during = await api('GET', `${DEST}/d-purge`);
    // each DeleteSecret takes >= 150 ms: the purge is still running
    expect(during.status).toBe(200);
    expect(during.body.data.purge_initiated_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    // no new association, no write, while purging
    expect((await api('PATCH', `${DEST}/d-purge`, { custom_tags: { a: 'b' } })).status).toBe(400);
    expect((await api('POST', `${DEST}/d-purge/associations/set`, { mount: 'my-kv', secret_name: 'other' })).status).toBe(400);
    aws.control.setFaults({});
    await waitFor(async () => (await api('GET', `${DEST}/d-purge`)).status === 404, 10_000);
    expect(gone('vault-purge/purge-a')).toBe(true);
    expect(gone('vault-purge/purge-b')).toBe(true);
    const l = await api('LIST', 'sys/sync/associations');
    expect(Object.keys(l.body.data?.key_info ?? {})).not.toContain('my-kv/purge-a');
  });

  it('a purge whose unsync fails keeps the destination with purge_initiated_at; it completes once AWS allows it', async () => {
    aws.control.addCredentials('AKIANODELETE00000001', 'noDeleteSecretKey/0123456789abcdefghij', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['secretsmanager:Create*', 'secretsmanager:Update*', 'secretsmanager:TagResource'], Resource: '*' }],
    });
    expect((await api('PUT', `${DEST}/d-purge-fail`, { ...conn(), access_key_id: 'AKIANODELETE00000001', secret_access_key: 'noDeleteSecretKey/0123456789abcdefghij', secret_name_template: 'vault-pf/{{ .SecretPath }}' })).status).toBe(200);
    expect((await api('POST', `${DEST}/d-purge-fail/associations/set`, { mount: 'my-kv', secret_name: 'purge-a' })).body.data.associated_secrets[`${accessor}/purge-a`].sync_status).toBe('SYNCED');
    expect((await api('DELETE', `${DEST}/d-purge-fail?purge=true`)).status).toBeLessThan(300);
    await waitFor(async () => (await assocStatus('d-purge-fail', 'purge-a')) === 'CLIENT_SIDE_ERROR', 5000);
    const d = await api('GET', `${DEST}/d-purge-fail`);
    expect(d.status).toBe(200);
    expect(d.body.data.purge_initiated_at).toBeTruthy();
    expect(live('vault-pf/purge-a')).toBe(true);
    aws.control.setPolicy('AKIANODELETE00000001', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'secretsmanager:*', Resource: '*' }] });
    await waitFor(async () => (await api('GET', `${DEST}/d-purge-fail`)).status === 404, 8000);
    expect(gone('vault-pf/purge-a')).toBe(true);
  });

  // Engine defect reported (sync-engine.ts fail() never records DestinationRecord.purgeError): flip to it() once fixed.
  it('a failed purge shows purge_error (reference: "if it failed, purge_error")', async () => {
    aws.control.addCredentials('AKIANODELETE00000002', 'noDeleteSecretKey/0123456789abcdefghij', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['secretsmanager:Create*', 'secretsmanager:Update*', 'secretsmanager:TagResource'], Resource: '*' }],
    });
    expect((await api('PUT', `${DEST}/d-purge-err`, { ...conn(), access_key_id: 'AKIANODELETE00000002', secret_access_key: 'noDeleteSecretKey/0123456789abcdefghij', secret_name_template: 'vault-pe/{{ .SecretPath }}' })).status).toBe(200);
    await api('POST', `${DEST}/d-purge-err/associations/set`, { mount: 'my-kv', secret_name: 'purge-a' });
    await api('DELETE', `${DEST}/d-purge-err?purge=true`);
    try {
      await waitFor(async () => (await assocStatus('d-purge-err', 'purge-a')) === 'CLIENT_SIDE_ERROR', 5000);
      const d = await api('GET', `${DEST}/d-purge-err`);
      expect(d.body.data.purge_error).toContain('DeleteSecret');
    } finally {
      // let the purge finish so that no retry outlives the test
      aws.control.setPolicy('AKIANODELETE00000002', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'secretsmanager:*', Resource: '*' }] });
      await waitFor(async () => (await api('GET', `${DEST}/d-purge-err`)).status === 404, 8000);
    }
  });

  it('force_delete=true removes the destination and its records, leaving the external secrets orphaned', async () => {
    expect((await api('PUT', `${DEST}/d-force`, { ...conn(), secret_name_template: 'vault-force/{{ .SecretPath }}' })).status).toBe(200);
    const r = await api('POST', `${DEST}/d-force/associations/set`, { mount: 'my-kv', secret_name: 'force-a' });
    expect(r.body.data.associated_secrets[`${accessor}/force-a`].sync_status).toBe('SYNCED');
    aws.control.clearCalls();
    const d = await api('DELETE', `${DEST}/d-force?force_delete=true`);
    expect(d.status, d.text).toBeLessThan(300);
    expect((await api('GET', `${DEST}/d-force`)).status).toBe(404);
    expect((await api('GET', `${DEST}/d-force/associations`)).status).toBe(404);
    const dests = (await api('GET', 'sys/sync/associations/my-kv/force-a')).body.data.associated_destinations;
    expect(dests).toEqual({});
    // orphaned, not deleted
    expect(aws.control.secret('vault-force/force-a')?.deletedDate).toBeUndefined();
    expect(aws.control.calls().filter((c) => c.operation === 'DeleteSecret')).toEqual([]);
    // a later KV write sends nothing for the forgotten association
    await api('PUT', 'my-kv/data/force-a', { data: { foo: 'later' } });
    await expect(aws.control.waitForCall(() => true, 300)).rejects.toThrow();
    expect((await api('LIST', 'sys/sync/destinations')).body.data.key_info['aws-sm/']).not.toContain('d-force');
  });
});

describe('secrets stay secret', () => {
  it('no response carried the secret access key or a KV value', () => {
    expect(seen.length).toBeGreaterThan(50);
    for (const r of seen) {
      expect(r.text).not.toContain(SECRET_KEY);
      expect(r.text).not.toContain('AKIAIOSFODNN7EXAMPLE');
      // KV reads are not made by these tests; every response is a sync/sys answer
      expect(r.text).not.toContain(KV_CANARY);
    }
  });
});
