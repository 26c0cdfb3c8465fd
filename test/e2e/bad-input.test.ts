/**
 * Bad input over real HTTP: every refusal is a clear 4xx in Vault's error
 * format, changes nothing (full before/after snapshot) and never echoes a
 * value it was sent. Extends the cases in kv-v2.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServerConfig } from '../../src/config/server-config.js';
import { startServer, type ServerHandle } from '../../src/server/start-server.js';
import { apiClient, startDevServer, type ApiAnswer, type TestServer } from '../support/dev-server.js';

const CANARY = 'CANARY-bad-input-3b9f7e21';
let s: TestServer;

beforeAll(async () => {
  s = await startDevServer();
  expect((await s.api('PUT', 'sys/mounts/my-kv', { type: 'kv-v2' })).status).toBe(204);
  expect((await s.api('PUT', 'my-kv/data/safe', { data: { keep: 'original-1' } })).status).toBe(200);
  expect((await s.api('PUT', 'my-kv/data/safe', { data: { keep: 'original-2', n: { deep: 1 } } })).status).toBe(200);
  expect((await s.api('POST', 'my-kv/metadata/safe', { custom_metadata: { owner: 'ops' }, max_versions: 7 })).status).toBe(204);
  expect((await s.api('PUT', 'my-kv/data/dir/child', { data: { c: 'x' } })).status).toBe(200);
  expect((await s.api('DELETE', 'my-kv/data/dir/child')).status).toBe(204);
});
afterAll(async () => s.close());

/** A request with the path sent exactly as given (no URL normalisation). */
function rawRequest(method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  const u = new URL(s.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: u.hostname, port: u.port, method, path, headers: { 'X-Vault-Token': s.rootToken, ...(body ? { 'Content-Type': 'application/json' } : {}) } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Everything observable about the store through the API. */
async function snapshot(api = s.api): Promise<unknown> {
  const body = async (m: string, p: string) => {
    const r = await api(m, p);
    return { status: r.status, data: r.body?.data ?? r.body };
  };
  const mounts = (await api('GET', 'sys/mounts')).body.data;
  const out: Record<string, unknown> = { mounts, policies: (await api('GET', 'sys/policy')).body.data.keys };
  for (const m of Object.keys(mounts)) {
    if (mounts[m].options?.version !== '2') continue;
    out[`${m}config`] = await body('GET', `${m}config`);
    const keys: string[] = [];
    const walk = async (prefix: string) => {
      const l = await api('LIST', `${m}metadata/${prefix}`);
      for (const k of (l.body?.data?.keys ?? []) as string[]) {
        if (k.endsWith('/')) await walk(prefix + k);
        else keys.push(prefix + k);
      }
    };
    await walk('');
    for (const k of keys.sort()) {
      const md = await body('GET', `${m}metadata/${k}`);
      out[`${m}metadata/${k}`] = md;
      for (const v of Object.keys((md.data as { versions?: object }).versions ?? {})) out[`${m}data/${k}?version=${v}`] = await body('GET', `${m}data/${k}?version=${v}`);
    }
  }
  return out;
}

function refused(r: ApiAnswer, status = 400): void {
  expect(r.status, `${r.status} ${r.text}`).toBe(status);
  expect(r.headers.get('content-type')).toBe('application/json');
  expect(Array.isArray(r.body?.errors), r.text).toBe(true);
  expect(r.body.errors.length).toBeGreaterThan(0);
  expect(r.text).not.toContain(CANARY);
}

const JSON_CT = { 'Content-Type': 'application/json' };
const PATCH_CT = { 'Content-Type': 'application/merge-patch+json' };

/** Every write endpoint, with a method and a valid-shaped body that carries the canary. */
const WRITE_ENDPOINTS: Array<[string, string]> = [
  ['PUT', 'my-kv/data/safe'],
  ['POST', 'my-kv/data/safe'],
  ['PATCH', 'my-kv/data/safe'],
  ['POST', 'my-kv/metadata/safe'],
  ['PATCH', 'my-kv/metadata/safe'],
  ['POST', 'my-kv/delete/safe'],
  ['POST', 'my-kv/undelete/safe'],
  ['POST', 'my-kv/destroy/safe'],
  ['POST', 'my-kv/config'],
  ['PUT', 'sys/mounts/new-mount'],
  ['PUT', 'sys/policies/acl/new-policy'],
  ['PUT', 'sys/policy/new-policy'],
  ['POST', 'auth/token/create'],
];

describe('refusals change nothing and echo nothing', () => {
  let before: unknown;
  beforeAll(async () => {
    before = await snapshot();
  });

  it('malformed JSON on each write endpoint → 400', async () => {
    for (const [m, p] of WRITE_ENDPOINTS) {
      for (const text of [`{"data": {"keep": "${CANARY}"`, `{"data": {"keep": "${CANARY}"}}}`, `{'data': '${CANARY}'}`, `${CANARY}`]) {
        const r = await s.api(m, p, text, { headers: m === 'PATCH' ? PATCH_CT : JSON_CT });
        refused(r);
        expect(r.body.errors[0]).toMatch(/^failed to parse JSON input/);
      }
    }
  });

  it('non-object JSON bodies ([1,2], "s", 5, true) → 400 on each write endpoint', async () => {
    for (const [m, p] of WRITE_ENDPOINTS) {
      for (const text of ['[1,2]', `["${CANARY}"]`, `"${CANARY}"`, '5', 'true']) {
        refused(await s.api(m, p, text, { headers: m === 'PATCH' ? PATCH_CT : JSON_CT }));
      }
    }
  });

  it('wrong field types name the field and never echo the value', async () => {
    const cases: Array<[string, string, unknown, string]> = [
      ['POST', 'my-kv/config', { max_versions: 'abc' }, 'max_versions'],
      ['POST', 'my-kv/config', { max_versions: CANARY }, 'max_versions'],
      ['POST', 'my-kv/config', { max_versions: -1 }, 'max_versions'],
      ['POST', 'my-kv/config', { max_versions: 1.5 }, 'max_versions'],
      ['POST', 'my-kv/config', { cas_required: 'maybe' }, 'cas_required'],
      ['POST', 'my-kv/config', { cas_required: CANARY }, 'cas_required'],
      ['POST', 'my-kv/config', { delete_version_after: CANARY }, 'delete_version_after'],
      ['POST', 'my-kv/config', { delete_version_after: '-1h' }, 'delete_version_after'],
      ['POST', 'my-kv/metadata/safe', { max_versions: 'abc' }, 'max_versions'],
      ['POST', 'my-kv/metadata/safe', { cas_required: 'maybe' }, 'cas_required'],
      ['POST', 'my-kv/metadata/safe', { delete_version_after: CANARY }, 'delete_version_after'],
      ['POST', 'my-kv/metadata/safe', { custom_metadata: 'str' }, 'custom_metadata'],
      ['POST', 'my-kv/metadata/safe', { custom_metadata: CANARY }, 'custom_metadata'],
      ['POST', 'my-kv/metadata/safe', { custom_metadata: [CANARY] }, 'custom_metadata'],
      ['POST', 'my-kv/metadata/safe', { custom_metadata: { k: 5 } }, 'custom_metadata'],
      ['POST', 'my-kv/metadata/safe', { custom_metadata: { k: { nested: CANARY } } }, 'custom_metadata'],
      ['POST', 'my-kv/metadata/safe', { custom_metadata: { k: '' } }, 'custom_metadata'],
      ['POST', 'my-kv/metadata/safe', { custom_metadata: { k: `${CANARY}\u0000` } }, 'custom_metadata'],
      ['POST', 'my-kv/metadata/safe', { max_versions: 3, custom_metadata: 'str' }, 'custom_metadata'], // nothing half-applied
      ['PATCH', 'my-kv/metadata/safe', { max_versions: 'abc' }, 'max_versions'],
      ['PATCH', 'my-kv/metadata/safe', { custom_metadata: 'str' }, 'custom_metadata'],
      ['PATCH', 'my-kv/metadata/safe', { max_versions: 2, custom_metadata: { k: 7 } }, 'custom_metadata'],
      ['POST', 'my-kv/delete/safe', { versions: 'x' }, 'versions'],
      ['POST', 'my-kv/undelete/safe', { versions: 'x' }, 'versions'],
      ['POST', 'my-kv/destroy/safe', { versions: 'x' }, 'versions'],
      ['POST', 'my-kv/destroy/safe', { versions: [CANARY] }, 'versions'],
      ['POST', 'my-kv/destroy/safe', { versions: { a: 1 } }, 'versions'],
      ['POST', 'my-kv/destroy/safe', { versions: '1,x' }, 'versions'],
      ['PUT', 'my-kv/data/safe', { data: CANARY }, 'data'],
      ['PUT', 'my-kv/data/safe', { data: [CANARY] }, 'data'],
      ['PUT', 'my-kv/data/safe', { data: { a: 1 }, options: CANARY }, 'options'],
      ['PUT', 'my-kv/data/safe', { data: { a: 1 }, options: { cas: CANARY } }, 'cas'],
      ['PUT', 'my-kv/data/safe', { data: { a: 1 }, options: { cas: -1 } }, 'cas'],
      ['PATCH', 'my-kv/data/safe', { data: CANARY }, 'data'],
      ['PATCH', 'my-kv/data/safe', { data: { a: 1 }, options: { cas: 'x' } }, 'cas'],
      ['PUT', 'sys/mounts/new-mount', { type: 'kv', options: CANARY }, 'options'],
      ['PUT', 'sys/mounts/new-mount', { type: 'kv', config: CANARY }, 'config'],
      ['PUT', 'sys/mounts/new-mount', { type: 'kv-v2', config: { default_lease_ttl: CANARY } }, 'default_lease_ttl'],
      ['PUT', 'sys/mounts/new-mount', { type: 'kv-v2', local: 'maybe' }, 'local'],
      ['PUT', 'sys/mounts/new-mount', { type: 'no-such-engine' }, 'no-such-engine'],
      ['POST', 'auth/token/create', { ttl: CANARY }, 'ttl'],
      ['POST', 'auth/token/create', { num_uses: 'abc' }, 'num_uses'],
      ['POST', 'auth/token/create', { num_uses: -1 }, 'number of uses'],
      ['POST', 'auth/token/create', { meta: CANARY }, 'meta'],
      ['POST', 'auth/token/create', { no_default_policy: 'maybe' }, 'no_default_policy'],
    ];
    for (const [m, p, body, field] of cases) {
      const r = await s.api(m, p, body);
      refused(r);
      if (field !== 'data') expect(r.body.errors[0], `${m} ${p} ${JSON.stringify(body)}`).toContain(field);
    }
    // query fields on reads
    for (const q of ['version=abc', 'version=-1', `version=${CANARY}`, 'version=1.5']) refused(await s.api('GET', `my-kv/data/safe?${q}`));
    for (const q of ['depth=x', `version=${CANARY}`]) refused(await s.api('GET', `my-kv/subkeys/safe?${q}`));
    refused(await s.api('GET', `my-kv/metadata/?list=${CANARY}`));
  });

  it('PATCH without merge-patch on data and metadata → 415 with Vault’s text', async () => {
    for (const p of ['my-kv/data/safe', 'my-kv/metadata/safe']) {
      const body = p.includes('/data/') ? { data: { keep: CANARY } } : { custom_metadata: { owner: CANARY } };
      for (const ct of ['application/json', 'text/plain']) {
        const r = await s.api('PATCH', p, body, { headers: { 'Content-Type': ct } });
        refused(r, 415);
        expect(r.body.errors).toEqual([`PATCH requires Content-Type of application/merge-patch+json, provided ${ct}`]);
      }
      const none = await fetch(`${s.url}/v1/${p}`, { method: 'PATCH', headers: { 'X-Vault-Token': s.rootToken } });
      expect(none.status).toBe(415);
      expect((await none.json()).errors).toEqual(['PATCH requires Content-Type of application/merge-patch+json, provided ']);
    }
  });

  it('unknown mounts → 404 for every method, and nothing gets created', async () => {
    for (const [m, b] of [['GET'], ['PUT', { data: { a: CANARY } }], ['POST', { data: { a: CANARY } }], ['PATCH', { data: { a: CANARY } }], ['DELETE'], ['LIST']] as Array<[string, unknown?]>) {
      for (const p of ['no-such-mount/data/x', 'no-such-mount/metadata/x', 'my-kv2/data/x', 'my/data/x']) {
        refused(await s.api(m, p, b), 404);
      }
    }
  });

  it('invalid paths → 400: empty segments, trailing slash on data, relative segments, control characters', async () => {
    // (dot segments are below: fetch normalises them away before sending)
    const bad = ['a//b', 'safe/', 'a/b/', 'a%01b', 'a%00b', '%2F', 'a/%2F/b'];
    for (const k of bad) {
      for (const [m, p, b] of [
        ['PUT', `my-kv/data/${k}`, { data: { v: CANARY } }],
        ['POST', `my-kv/data/${k}`, { data: { v: CANARY } }],
        ['PATCH', `my-kv/data/${k}`, { data: { v: CANARY } }],
        ['POST', `my-kv/metadata/${k}`, { custom_metadata: { v: CANARY } }],
        ['POST', `my-kv/destroy/${k}`, { versions: [1] }],
        ['POST', `my-kv/delete/${k}`, { versions: [1] }],
        ['DELETE', `my-kv/data/${k}`, undefined],
        ['DELETE', `my-kv/metadata/${k}`, undefined],
      ] as Array<[string, string, unknown]>) {
        const r = await s.api(m, p, b);
        expect([400, 404], `${m} ${p}: ${r.status} ${r.text}`).toContain(r.status);
        expect(r.text).not.toContain(CANARY);
      }
    }
    // the write forms in particular must be 400, not silently normalised
    refused(await s.api('PUT', 'my-kv/data/safe/', { data: { v: CANARY } }));
    refused(await s.api('PUT', 'my-kv/data/a//b', { data: { v: CANARY } }));
    refused(await s.api('POST', 'my-kv/metadata/safe/', { max_versions: 1 }));
  });

  it('dot segments sent verbatim → 400, never resolved onto another key', async () => {
    for (const k of ['../safe', 'a/./b', 'a/../safe', '.', '..', 'x/..']) {
      for (const [m, p] of [['PUT', `my-kv/data/${k}`], ['POST', `my-kv/metadata/${k}`], ['DELETE', `my-kv/data/${k}`], ['DELETE', `my-kv/metadata/${k}`]]) {
        const r = await rawRequest(m!, `/v1/${p}`, m === 'DELETE' ? undefined : JSON.stringify({ data: { v: CANARY }, max_versions: 1 }));
        expect([400, 404], `${m} ${p}: ${r.status} ${r.text}`).toContain(r.status);
        expect(r.text).not.toContain(CANARY);
      }
    }
  });

  it('a null body is an empty body: no data → 400', async () => {
    const r = await s.api('PUT', 'my-kv/data/safe', 'null', { headers: JSON_CT });
    refused(r);
    expect(r.body.errors).toEqual(['no data provided']);
  });

  it('after all of the above the store is exactly as before', async () => {
    expect(await snapshot()).toEqual(before);
    const read = await s.api('GET', 'my-kv/data/safe');
    expect(read.body.data.data).toEqual({ keep: 'original-2', n: { deep: 1 } });
    expect(read.body.data.metadata.version).toBe(2);
    expect((await s.api('GET', 'sys/policies/acl/new-policy')).status).toBe(404);
    expect((await s.api('GET', 'sys/mounts/new-mount')).status).toBe(400);
  });
});

describe('odd but valid JSON is stored faithfully', () => {
  it('a "__proto__" key is data, not a prototype, through write, patch and read', async () => {
    const w = await s.api('PUT', 'my-kv/data/proto', '{"data":{"__proto__":{"polluted":"yes"},"a":"b"}}', { headers: JSON_CT });
    expect(w.status, w.text).toBe(200);
    const r = await s.api('GET', 'my-kv/data/proto');
    expect(r.text).toContain('"__proto__":{"polluted":"yes"}');
    const p = await s.api('PATCH', 'my-kv/data/proto', '{"data":{"__proto__":{"more":"x"},"c":"d"}}', { headers: PATCH_CT });
    expect(p.status, p.text).toBe(200);
    const r2 = await s.api('GET', 'my-kv/data/proto');
    expect(JSON.parse(r2.text).data.data).toEqual(JSON.parse('{"__proto__":{"polluted":"yes","more":"x"},"a":"b","c":"d"}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const sub = await s.api('GET', 'my-kv/subkeys/proto');
    expect(sub.text).toContain('"__proto__":{');
    expect((await s.api('POST', 'my-kv/metadata/proto', '{"custom_metadata":{"__proto__":"x","a":"b"}}', { headers: JSON_CT })).status).toBe(204);
    expect((await s.api('GET', 'my-kv/metadata/proto')).text).toContain('"custom_metadata":{"__proto__":"x","a":"b"}');
  });
});

describe('config mode with a small max_request_size', () => {
  let h: ServerHandle;
  let api: ReturnType<typeof apiClient>;
  beforeAll(async () => {
    const config = parseServerConfig(
      JSON.stringify({
        storage: { inmem: {} },
        listener: { tcp: { address: '127.0.0.1:0', tls_disable: true, max_request_size: 2048 } },
        seal: { static: {} },
      }),
      'json',
      { SECRETS_SYNC_SEAL_KEY: randomBytes(32).toString('base64') },
    );
    h = await startServer({ config, listen: { host: '127.0.0.1', port: 0 }, logger: pino({ level: 'silent' }) });
    const init = await apiClient(h.url, undefined)('PUT', 'sys/init', {});
    expect(init.status).toBe(200);
    api = apiClient(h.url, init.body.root_token);
    expect((await api('PUT', 'sys/mounts/my-kv', { type: 'kv-v2' })).status).toBe(204);
    expect((await api('PUT', 'my-kv/data/safe', { data: { keep: 'original' } })).status).toBe(200);
  });
  afterAll(async () => h.close());

  it('a body over the limit → 413 on each write endpoint, nothing stored; under the limit is fine', async () => {
    const before = await snapshot(api);
    const big = CANARY + 'x'.repeat(4096);
    for (const [m, p, body] of [
      ['PUT', 'my-kv/data/safe', { data: { v: big } }],
      ['PUT', 'my-kv/data/big', { data: { v: big } }],
      ['PATCH', 'my-kv/data/safe', { data: { v: big } }],
      ['POST', 'my-kv/metadata/safe', { custom_metadata: { v: big } }],
      ['PUT', 'sys/policies/acl/big', { policy: `# ${big}\npath "x" { capabilities = ["read"] }` }],
    ] as Array<[string, string, unknown]>) {
      const r = await api(m, p, body);
      expect(r.status, `${m} ${p}: ${r.text}`).toBe(413);
      expect(r.body.errors.length).toBeGreaterThan(0);
      expect(r.text).not.toContain(CANARY);
    }
    expect(await snapshot(api)).toEqual(before);
    expect((await api('GET', 'my-kv/data/big')).status).toBe(404);
    expect((await api('PUT', 'my-kv/data/small', { data: { v: 'y'.repeat(1500) } })).status).toBe(200);
  });
});
