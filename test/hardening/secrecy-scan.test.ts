/**
 * Secrets stay secret, end to end: one run of a config-mode server (child
 * process, SQLite file, `log_level = "trace"`) doing KV writes, patches and
 * metadata, destinations with canary credentials, associations at secret-path
 * and secret-key granularity, destination failures (5xx, a wrong secret key),
 * a file audit device and token creation — then every place a secret could
 * leak to is scanned for every canary: the database files (raw bytes, UTF-16,
 * base64), the server's stdout/stderr, the audit log, the metrics (both
 * forms), every API response body other than the ones whose purpose is to
 * return the secret (KV data reads, token issue/lookup-self), the events
 * WebSocket stream, and every `last_error`. Positive controls show each scan can find what it looks for.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startAwsEmulator, type AwsEmulator } from '../emulators/aws-secrets-manager/index.js';
import { BRIEF_POLICY } from '../support/brief.js';
import { freePort, startConfigServer, writeJsonConfig, writeSealKey, type ServerProcess } from '../support/config-server.js';
import { waitFor, type ApiAnswer } from '../support/dev-server.js';

const rnd = (n: number) => randomBytes(n).toString('hex');
// KV values (canaries only in KV data; custom metadata is metadata)
const V = {
  pw1: `CANARYpw1${rnd(6)}`,
  pw2: `CANARYpw2${rnd(6)}`,
  patched: `CANARYpatch${rnd(6)}`,
  nested: `CANARYnest${rnd(6)}`,
  apiKey: `CANARYkey${rnd(6)}`,
  outage: `CANARYoutage${rnd(6)}`,
  multiline: `-----BEGIN CANARY-----\nCANARYpem${rnd(8)}\n-----END CANARY-----`,
};
// destination credentials registered at the emulator
const AKID = `AKIACANARY${rnd(5).toUpperCase()}`; // 20 characters like a real one
const SECRET_KEY = `CANARYsk/${rnd(15)}+Zq`; // 40 characters
const WRONG_SECRET_KEY = `CANARYwrong/${rnd(14)}+Q`;
// non-secret markers that must be found (positive controls)
const MARKER_PATH = `marker-path-${rnd(4)}`;
const MARKER_META = `marker-meta-${rnd(4)}`;

let aws: AwsEmulator;
let dir: string;
let server: ServerProcess;
let root = '';
let child = '';
let childAccessor = '';
let accessor = '';

type Kind = 'kv-read' | 'token-issue' | 'other';
const answers: Array<{ kind: Kind; what: string; text: string }> = [];
const lastErrors: string[] = [];
/** frames of a `sys/events/subscribe/kv*` WebSocket open for the whole run */
const eventFrames: string[] = [];
let events: WebSocket | undefined;

function kindOf(method: string, path: string): Kind {
  if (method === 'GET' && /^my-kv\/data\//.test(path)) return 'kv-read';
  if (/^(sys\/init|auth\/token\/create|auth\/token\/lookup-self)/.test(path)) return 'token-issue';
  return 'other';
}

async function api(method: string, path: string, body?: unknown, token: string | null = root): Promise<ApiAnswer> {
  const r = await server.api(method, path, body, { token });
  answers.push({ kind: kindOf(method, path), what: `${method} ${path} → ${r.status}`, text: r.text });
  collectLastErrors(r.body);
  return r;
}

function collectLastErrors(v: unknown): void {
  if (v === null || typeof v !== 'object') return;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if ((k === 'last_error' || k === 'purge_error') && typeof x === 'string' && x !== '') lastErrors.push(x);
    else collectLastErrors(x);
  }
}

function valueCanaries(): string[] {
  return [...Object.values(V), ...V.multiline.split('\n').filter((l) => l.includes('CANARY'))];
}
function credentialCanaries(): string[] {
  return [AKID, SECRET_KEY, WRONG_SECRET_KEY];
}
function tokenCanaries(): string[] {
  return [root, child];
}
function allCanaries(): string[] {
  return [...valueCanaries(), ...credentialCanaries(), ...tokenCanaries()];
}

/** The canaries found in text, plain and JSON-escaped. */
function found(text: string, canaries: string[]): string[] {
  return canaries.filter((c) => text.includes(c) || text.includes(JSON.stringify(c).slice(1, -1)));
}

/** The canaries found in raw bytes: UTF-8, UTF-16LE/BE and base64 (at each of the three alignments). */
function foundInBytes(raw: Buffer, canaries: string[]): string[] {
  return canaries.filter((c) => {
    const forms = [Buffer.from(c, 'utf8'), Buffer.from(c, 'utf16le'), Buffer.from(c, 'utf16le').swap16()];
    for (let pad = 0; pad < 3; pad++) {
      // the base64 of c when it starts at offset pad mod 3 inside a larger encoded string: drop the edges that depend on neighbours
      const b64 = Buffer.from('\0'.repeat(pad) + c).toString('base64');
      const start = pad === 0 ? 0 : 4;
      forms.push(Buffer.from(b64.slice(start, start + 16)));
    }
    return forms.some((f) => raw.includes(f));
  });
}

const DB_FILES = ['data.db', 'data.db-wal', 'data.db-shm'];
function rawDatabase(): Buffer {
  return Buffer.concat(DB_FILES.map((f) => join(dir, f)).filter(existsSync).map((f) => readFileSync(f)));
}

async function assoc(dest: string): Promise<Record<string, { sync_status: string; last_error?: string; sub_key?: string }>> {
  const r = await api('GET', `sys/sync/destinations/aws-sm/${dest}/associations`);
  expect(r.status).toBe(200);
  return r.body.data.associated_secrets;
}
async function waitStatus(dest: string, key: string, status: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(async () => (await assoc(dest))[key]?.sync_status === status, timeoutMs, 50).catch(async (e: Error) => {
    throw new Error(`${dest} ${key} never ${status}: ${JSON.stringify((await assoc(dest))[key])} (${e.message})`);
  });
}

const connection = (secretKey: string) => ({
  access_key_id: AKID,
  secret_access_key: secretKey,
  region: 'us-east-1',
  endpoint_url: aws.url,
  allowed_ipv4_addresses: '127.0.0.0/8',
  allowed_ports: new URL(aws.url).port,
});

beforeAll(async () => {
  aws = await startAwsEmulator();
  aws.control.addCredentials(AKID, SECRET_KEY, BRIEF_POLICY, 'canary-user');
  dir = mkdtempSync(join(tmpdir(), 'secrets-sync-secrecy-'));
  const port = await freePort();
  const config = writeJsonConfig(join(dir, 'config.json'), {
    dir,
    port,
    keyFile: writeSealKey(join(dir, 'seal.key')),
    extra: { log_level: 'trace', sync: { retry_initial: '100ms', retry_max: '500ms', first_attempt_wait: '3s' } },
  });
  server = await startConfigServer(config, port);
});

afterAll(async () => {
  events?.terminate();
  if (server && server.proc.exitCode === null && server.proc.signalCode === null) await server.kill9();
  await aws?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('secrecy scan of one full run', () => {
  it('runs the whole surface with canaries', async () => {
    const init = await api('PUT', 'sys/init', { secret_shares: 1, secret_threshold: 1 }, null);
    expect(init.status).toBe(200);
    root = init.body.root_token;
    expect(root).toMatch(/^hvs\./);

    // audit device first, so the whole run is audited
    const auditPath = join(dir, 'audit.log');
    expect((await api('PUT', 'sys/audit/f', { type: 'file', options: { file_path: auditPath } })).status).toBe(204);
    expect((await api('PUT', 'sys/mounts/my-kv/', { type: 'kv-v2' })).status).toBe(204);
    accessor = (await api('GET', 'sys/mounts/my-kv')).body.data.accessor;
    const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/v1/sys/events/subscribe/kv*?json=true`, { headers: { 'X-Vault-Token': root } });
    events = ws;
    ws.on('message', (d) => eventFrames.push(d.toString()));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });

    // KV: writes, a patch, a nested value, custom metadata, subkeys, versions
    expect((await api('PUT', 'my-kv/data/app/db', { data: { password: V.pw1 } })).status).toBe(200);
    expect((await api('PUT', 'my-kv/data/app/db', { data: { password: V.pw2, nested: { deep: V.nested } } })).status).toBe(200);
    expect((await api('PATCH', 'my-kv/data/app/db', { data: { patched: V.patched } })).status).toBe(200);
    expect((await api('POST', 'my-kv/metadata/app/db', { custom_metadata: { owner: MARKER_META }, max_versions: 5 })).status).toBe(204);
    expect((await api('PUT', `my-kv/data/${MARKER_PATH}`, { data: { api_key: V.apiKey, pem: V.multiline } })).status).toBe(200);
    expect((await api('GET', 'my-kv/subkeys/app/db')).status).toBe(200);
    expect((await api('GET', 'my-kv/metadata/app/db')).status).toBe(200);
    expect((await api('LIST', 'my-kv/metadata/')).status).toBe(200);
    // a refused write (bad input) naming a secret must not echo it
    expect((await api('PUT', 'my-kv/data/app/bad', { data: V.pw1 })).status).toBe(400);
    expect((await api('POST', 'my-kv/data/app/db', { data: { password: V.pw1 }, options: { cas: 1 } })).status).toBe(400);

    // tokens
    expect((await api('PUT', 'sys/policies/acl/app-read', { policy: 'path "my-kv/data/app/*" { capabilities = ["read"] }' })).status).toBe(204);
    const t = await api('POST', 'auth/token/create', { policies: ['app-read'], ttl: '1h' });
    expect(t.status).toBe(200);
    child = t.body.auth.client_token;
    childAccessor = t.body.auth.accessor;
    expect((await api('GET', 'auth/token/lookup-self', undefined, child)).status).toBe(200);
    expect((await api('GET', 'my-kv/data/app/db', undefined, child)).status).toBe(200);
    expect((await api('PUT', 'my-kv/data/app/db', { data: { x: V.pw1 } }, child)).status).toBe(403);
    expect((await api('POST', 'auth/token/lookup-accessor', { accessor: childAccessor })).status).toBe(200);

    // destinations: secret-path, secret-key, and one with a wrong secret key
    for (const [name, extra] of [
      ['d', {}],
      ['dk', { granularity: 'secret-key', secret_name_template: 'vault-k/{{ .MountAccessor }}/{{ .SecretPath }}/{{ .SecretKey }}' }],
    ] as const) {
      const r = await api('PUT', `sys/sync/destinations/aws-sm/${name}`, { ...connection(SECRET_KEY), ...extra });
      expect(r.status, r.text).toBe(200);
    }
    expect((await api('PUT', 'sys/sync/destinations/aws-sm/bad', connection(WRONG_SECRET_KEY))).status).toBe(200);
    expect((await api('PATCH', 'sys/sync/destinations/aws-sm/d', { custom_tags: { team: 'marker' } }, root)).status).toBe(200);

    for (const dest of ['d', 'dk', 'bad']) {
      for (const secret of ['app/db', MARKER_PATH]) {
        const r = await api('POST', `sys/sync/destinations/aws-sm/${dest}/associations/set`, { mount: 'my-kv', secret_name: secret });
        expect(r.status, r.text).toBe(200);
      }
    }
    await waitStatus('d', `${accessor}/app/db`, 'SYNCED');
    await waitStatus('d', `${accessor}/${MARKER_PATH}`, 'SYNCED');
    await waitStatus('dk', `${accessor}/app/db/password`, 'SYNCED');
    await waitStatus('dk', `${accessor}/${MARKER_PATH}/pem`, 'SYNCED');
    await waitStatus('bad', `${accessor}/app/db`, 'CLIENT_SIDE_ERROR');
    expect(aws.control.secret(`vault/${accessor}/app/db`)?.currentValue).toBe(JSON.stringify({ nested: { deep: V.nested }, password: V.pw2, patched: V.patched }));
    expect(aws.control.secret(`vault-k/${accessor}/app/db/password`)?.currentValue).toBe(V.pw2);

    // a 5xx outage while a new value is written, then recovery
    aws.control.setFaults({ errorRate: 1 });
    try {
      expect((await api('PUT', 'my-kv/data/app/db', { data: { password: V.outage, nested: { deep: V.nested } } })).status).toBe(200);
      await waitStatus('d', `${accessor}/app/db`, 'EXTERNAL_SERVICE_ERROR');
      await waitStatus('dk', `${accessor}/app/db/password`, 'EXTERNAL_SERVICE_ERROR');
    } finally {
      aws.control.setFaults({});
    }
    await waitStatus('d', `${accessor}/app/db`, 'SYNCED');
    await waitStatus('dk', `${accessor}/app/db/password`, 'SYNCED');
    expect(aws.control.secret(`vault-k/${accessor}/app/db/password`)?.currentValue).toBe(V.outage);

    // the other read surfaces
    for (const [m, p] of [
      ['LIST', 'sys/sync/destinations'],
      ['LIST', 'sys/sync/destinations/aws-sm'],
      ['GET', 'sys/sync/associations/destinations?mount=my-kv&secret_name=app/db'],
      ['GET', 'sys/sync/associations/my-kv/app/db'],
      ['LIST', 'sys/sync/associations'],
      ['GET', 'sys/sync/config'],
      ['GET', 'sys/audit'],
      ['GET', 'sys/mounts'],
      ['LIST', 'auth/token/accessors'],
    ] as const) {
      const r = await api(m, p);
      expect([200, 404, 405], `${m} ${p}: ${r.text}`).toContain(r.status);
    }
    expect((await api('GET', 'my-kv/data/app/db')).status).toBe(200);
    expect((await api('GET', `my-kv/data/${MARKER_PATH}?version=1`)).status).toBe(200);
    // unsync one, and remove a secret (delete at AWS)
    expect((await api('POST', 'sys/sync/destinations/aws-sm/dk/associations/remove', { mount: 'my-kv', secret_name: MARKER_PATH })).status).toBe(200);
    await assoc('d');
    await assoc('dk');
    await assoc('bad');
  }, 90_000);

  it('credentials are masked on every destination read', async () => {
    for (const name of ['d', 'dk', 'bad']) {
      const r = await api('GET', `sys/sync/destinations/aws-sm/${name}`);
      expect(r.status).toBe(200);
      expect(r.body.data.connection_details).toMatchObject({ access_key_id: '*****', secret_access_key: '*****', region: 'us-east-1' });
    }
  });

  it('no canary in any API response (except KV data reads and token issue), nor in any last_error', async () => {
    expect(lastErrors.length).toBeGreaterThan(0); // the failures above did record errors
    expect(lastErrors.some((e) => /InternalServiceError/.test(e))).toBe(true);
    expect(lastErrors.some((e) => /Signature|security token|credentials/i.test(e))).toBe(true);
    for (const e of lastErrors) expect(found(e, allCanaries()), `last_error: ${e}`).toEqual([]);

    const leaks: string[] = [];
    for (const a of answers) {
      const canaries = a.kind === 'other' ? allCanaries() : a.kind === 'token-issue' ? [...valueCanaries(), ...credentialCanaries()] : [...credentialCanaries(), ...tokenCanaries()];
      for (const c of found(a.text, canaries)) leaks.push(`${a.what}: ${c.slice(0, 12)}…`);
    }
    expect(leaks).toEqual([]);
    // positive controls: the scan sees values where they belong
    const kvReads = answers.filter((a) => a.kind === 'kv-read').map((a) => a.text).join('\n');
    expect(found(kvReads, [V.pw2, V.nested, V.patched, V.outage, V.apiKey])).toHaveLength(5);
    expect(found(answers.filter((a) => a.kind === 'token-issue').map((a) => a.text).join('\n'), tokenCanaries())).toHaveLength(2);
    expect(answers.some((a) => a.kind === 'other' && a.text.includes(MARKER_META))).toBe(true);
  });

  it('no canary in the events stream (it carries paths and metadata, never data)', async () => {
    await waitFor(() => eventFrames.some((f) => f.includes(MARKER_PATH)), 5000, 50); // positive control
    expect(eventFrames.length).toBeGreaterThan(5);
    expect(found(eventFrames.join('\n'), allCanaries())).toEqual([]);
  });

  it('no canary in the metrics (Prometheus and JSON)', async () => {
    const prom = await api('GET', 'sys/metrics?format=prometheus');
    expect(prom.status).toBe(200);
    expect(prom.text).toContain('secrets_sync_');
    const json = await api('GET', 'sys/metrics');
    expect(json.status).toBe(200);
    expect(json.text.length).toBeGreaterThan(100);
    for (const text of [prom.text, json.text]) {
      expect(found(text, allCanaries())).toEqual([]);
      expect(text).not.toContain(MARKER_PATH); // no secret names in labels either
      expect(text).not.toContain(accessor);
    }
  });

  it('no canary in the audit log (values and tokens appear only as HMACs)', async () => {
    const auditPath = join(dir, 'audit.log');
    const hash = await api('POST', 'sys/audit-hash/f', { input: V.pw2 });
    expect(hash.status).toBe(200);
    const tokHash = await api('POST', 'sys/audit-hash/f', { input: root });
    await waitFor(() => existsSync(auditPath) && readFileSync(auditPath, 'utf8').includes('sys/audit-hash/f'), 5000, 50);
    const log = readFileSync(auditPath, 'utf8');
    expect(log.split('\n').filter(Boolean).length).toBeGreaterThan(50);
    expect(found(log, allCanaries())).toEqual([]);
    // positive control: the value and the token were logged — as their HMACs
    expect(log).toContain(hash.body.data.hash);
    expect(log).toContain(tokHash.body.data.hash);
  });

  it('no canary on the server stdout/stderr at trace level', async () => {
    // positive control: the log has the sync failures, naming the secrets (the server logs no per-request lines, even at trace)
    await waitFor(() => server.stderr().includes(MARKER_PATH), 5000, 50);
    const out = server.stdout() + server.stderr();
    expect(out).toMatch(/InvalidSignatureException/);
    expect(found(out, [...allCanaries(), childAccessor])).toEqual([]);
  });

  it('no canary in the database files while running and after shutdown; tokens not stored in clear', async () => {
    const running = rawDatabase();
    // positive control: storage keys are in clear, so the scan reads real records
    expect(running.includes(Buffer.from(MARKER_PATH))).toBe(true);
    expect(running.includes(Buffer.from('core/keyring'))).toBe(true);
    expect(foundInBytes(Buffer.from(`xx${V.pw1}yy`), [V.pw1])).toEqual([V.pw1]);
    expect(foundInBytes(Buffer.from(`x${Buffer.from(`a${V.pw1}b`).toString('base64')}`), [V.pw1])).toEqual([V.pw1]);
    expect(foundInBytes(running, [...allCanaries(), childAccessor, MARKER_META])).toEqual([]);
    expect((await server.stop()).code).toBe(0);
    const after = rawDatabase();
    expect(after.includes(Buffer.from(MARKER_PATH))).toBe(true);
    expect(foundInBytes(after, [...allCanaries(), childAccessor, MARKER_META])).toEqual([]);
    // and the shutdown itself logged nothing secret
    expect(found(server.stdout() + server.stderr(), allCanaries())).toEqual([]);
  });
});
