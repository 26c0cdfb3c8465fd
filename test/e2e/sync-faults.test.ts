/**
 * Destination faults end to end: 5xx, throttling, dropped connections and
 * hangs show EXTERNAL_SERVICE_ERROR and converge to SYNCED once the fault
 * clears, with no manual step; AccessDenied and a wrong secret key show
 * CLIENT_SIDE_ERROR naming AWS's error. No KV value and no credential reaches
 * a status, an API response or the server's log (pino at trace level).
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../src/server/start-server.js';
import { startAwsEmulator, type AwsEmulator, type PolicyDocument } from '../emulators/aws-secrets-manager/index.js';
import { BRIEF_POLICY, emulatorConnection } from '../support/brief.js';
import { apiClient, waitFor, type ApiAnswer } from '../support/dev-server.js';

const SECRET_KEY = emulatorConnection('http://127.0.0.1:1').secret_access_key!;
const WRONG_SECRET_KEY = 'wrongKEYcanary/Zq8XyP2vN4mT7sL1kR9jH6gF3dS0aQ';
const DENIED_KEY_ID = 'AKIADENIEDEXAMPLE001';
const DENIED_SECRET = 'deniedSECRETcanary/Yw3Ek7Lm2Pq9Rt5Uv8Xz1Bc4Nf';

/** Every value written to KV in this file (scanned for at the end). */
const canaries: string[] = [];
function canary(tag: string): string {
  const c = `canary-${tag}-${Math.random().toString(36).slice(2, 10)}`;
  canaries.push(c);
  return c;
}

const logLines: string[] = [];
const responses: string[] = [];
let server: ServerHandle;
let aws: AwsEmulator;
let rawApi: ReturnType<typeof apiClient>;
let accessor: string;

async function api(method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  const r = await rawApi(method, path, body);
  responses.push(r.text);
  return r;
}

interface Entry {
  sync_status: string;
  last_error?: string;
}
async function assocOf(dest: string, secret: string): Promise<Entry | undefined> {
  const r = await api('GET', `sys/sync/destinations/aws-sm/${dest}/associations`);
  return r.body?.data?.associated_secrets?.[`${accessor}/${secret}`];
}
async function waitStatus(dest: string, secret: string, status: string, timeoutMs = 8000): Promise<Entry> {
  return waitFor<Entry | undefined>(async () => {
    const e = await assocOf(dest, secret);
    return e?.sync_status === status ? e : undefined;
  }, timeoutMs, 25) as Promise<Entry>;
}
const awsValue = (secret: string): string | undefined => {
  const s = aws.control.secret(`vault/${accessor}/${secret}`);
  return s && s.deletedDate === undefined ? s.currentValue : undefined;
};

beforeAll(async () => {
  aws = await startAwsEmulator();
  aws.control.setPolicy('AKIAIOSFODNN7EXAMPLE', BRIEF_POLICY);
  const noCreate: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['secretsmanager:Update*', 'secretsmanager:TagResource'], Resource: 'arn:aws:secretsmanager:*:*:secret:vault*' }],
  };
  aws.control.addCredentials(DENIED_KEY_ID, DENIED_SECRET, noCreate);
  const logger = pino({ level: 'trace' }, { write: (s: string) => void logLines.push(s) });
  server = await startServer({
    dev: { rootTokenId: 'root-token' },
    listen: { host: '127.0.0.1', port: 0 },
    logger,
    sync: { retryInitialMs: 50, retryMaxMs: 300, firstAttemptWaitMs: 3000, reconcileIntervalMs: 0, repushDelayMs: 2500, destinationTimeouts: { connectMs: 300, requestMs: 400 } },
  });
  rawApi = apiClient(server.url, 'root-token');
  expect((await api('PUT', 'sys/mounts/my-kv/', { type: 'kv-v2' })).status).toBe(204);
  accessor = (await api('GET', 'sys/mounts/my-kv')).body.data.accessor;
  expect((await api('PUT', 'sys/sync/destinations/aws-sm/faults', emulatorConnection(aws.url))).status).toBe(200);
});
afterAll(async () => {
  await server?.close();
  await aws?.close();
});

/** Writes a canary, associates it while the fault is on, checks the error status, clears the fault, waits for SYNCED. */
async function faultCase(secret: string, on: () => void, off: () => void, expectError: RegExp): Promise<void> {
  const v1 = canary(secret);
  expect((await api('PUT', `my-kv/data/${secret}`, { data: { k: v1 } })).status).toBe(200);
  on();
  try {
    const set = await api('PUT', 'sys/sync/destinations/aws-sm/faults/associations/set', { mount: 'my-kv', secret_name: secret });
    expect(set.status).toBe(200);
    const failed = await waitStatus('faults', secret, 'EXTERNAL_SERVICE_ERROR');
    expect(failed.last_error).toMatch(expectError);
    expect(failed.last_error).toContain(`vault/${accessor}/${secret}`);
    // a newer version written during the outage is the one that lands
    const v2 = canary(secret);
    expect((await api('PUT', `my-kv/data/${secret}`, { data: { k: v2 } })).status).toBe(200);
    expect((await assocOf('faults', secret))!.sync_status).toBe('EXTERNAL_SERVICE_ERROR');
    expect(awsValue(secret)).toBeUndefined();
    off();
    const ok = await waitStatus('faults', secret, 'SYNCED');
    expect(ok.last_error ?? '').toBe('');
    expect(awsValue(secret)).toBe(JSON.stringify({ k: v2 }));
  } finally {
    off();
  }
}

describe('destination outages converge without a manual step', () => {
  it('5xx: EXTERNAL_SERVICE_ERROR naming InternalServiceError, then SYNCED', async () => {
    await faultCase('five-xx', () => aws.control.setFaults({ errorRate: 1 }), () => aws.control.setFaults({}), /CreateSecret .*InternalServiceError/);
  });

  it('throttling: EXTERNAL_SERVICE_ERROR naming ThrottlingException, then SYNCED', async () => {
    await faultCase(
      'throttled',
      () => aws.control.setThrottle({ create: 0, write: 0, tag: 0 }),
      () => aws.control.setThrottle(false),
      /ThrottlingException/,
    );
  });

  it('dropped connections: EXTERNAL_SERVICE_ERROR, then SYNCED', async () => {
    await faultCase('dropped', () => aws.control.setFaults({ dropRate: 1 }), () => aws.control.setFaults({}), /CreateSecret .*(socket|ECONNRESET|connection|network)/i);
  });

  it('hangs past the client timeouts: EXTERNAL_SERVICE_ERROR, then SYNCED', async () => {
    await faultCase('hung', () => aws.control.setFaults({ hang: true }), () => aws.control.setFaults({}), /CreateSecret .*(time|ETIMEDOUT)/i);
  });

  it('an update (UpdateSecret path) during a 5xx outage converges too', async () => {
    const secret = 'update-path';
    expect((await api('PUT', `my-kv/data/${secret}`, { data: { k: canary(secret) } })).status).toBe(200);
    const set = await api('PUT', 'sys/sync/destinations/aws-sm/faults/associations/set', { mount: 'my-kv', secret_name: secret });
    expect(set.body.data.associated_secrets[`${accessor}/${secret}`].sync_status).toBe('SYNCED');
    aws.control.setFaults({ errorRate: 1 });
    try {
      const v2 = canary(secret);
      expect((await api('PUT', `my-kv/data/${secret}`, { data: { k: v2 } })).status).toBe(200);
      const failed = await waitStatus('faults', secret, 'EXTERNAL_SERVICE_ERROR');
      expect(failed.last_error).toMatch(/(CreateSecret|UpdateSecret) .*InternalServiceError/);
      aws.control.setFaults({});
      await waitStatus('faults', secret, 'SYNCED');
      expect(awsValue(secret)).toBe(JSON.stringify({ k: v2 }));
    } finally {
      aws.control.setFaults({});
    }
  });
});

describe('never older over newer', () => {
  it('a timed-out write that AWS applies late does not leave an older value under SYNCED', async () => {
    const secret = 'late-landing';
    expect((await api('PUT', `my-kv/data/${secret}`, { data: { k: canary(secret) } })).status).toBe(200);
    await api('PUT', 'sys/sync/destinations/aws-sm/faults/associations/set', { mount: 'my-kv', secret_name: secret });
    await waitStatus('faults', secret, 'SYNCED');
    // AWS answers after the client has given up (400 ms), but still applies the write
    aws.control.setFaults({ latencyMs: 2500 });
    let v3: string;
    try {
      expect((await api('PUT', `my-kv/data/${secret}`, { data: { k: canary(secret) } })).status).toBe(200);
      await waitStatus('faults', secret, 'EXTERNAL_SERVICE_ERROR');
    } finally {
      aws.control.setFaults({});
    }
    // a newer version goes through at once, while older requests are still in AWS's hands
    v3 = canary(secret);
    expect((await api('PUT', `my-kv/data/${secret}`, { data: { k: v3 } })).status).toBe(200);
    await waitFor(() => awsValue(secret) === JSON.stringify({ k: v3 }), 5000, 10);
    // once every late request has landed, AWS must hold the newest value and say so
    await new Promise((r) => setTimeout(r, 2500));
    await waitFor(async () => awsValue(secret) === JSON.stringify({ k: v3 }) && (await assocOf('faults', secret))?.sync_status === 'SYNCED', 5000, 50);
  });
});

describe('configuration problems are CLIENT_SIDE_ERROR naming the AWS error', () => {
  it('AccessDenied (a policy without Create*)', async () => {
    const secret = 'denied';
    expect((await api('PUT', 'sys/sync/destinations/aws-sm/denied', { ...emulatorConnection(aws.url), access_key_id: DENIED_KEY_ID, secret_access_key: DENIED_SECRET })).status).toBe(200);
    expect((await api('PUT', `my-kv/data/${secret}`, { data: { k: canary(secret) } })).status).toBe(200);
    await api('PUT', 'sys/sync/destinations/aws-sm/denied/associations/set', { mount: 'my-kv', secret_name: secret });
    const e = await waitStatus('denied', secret, 'CLIENT_SIDE_ERROR');
    expect(e.last_error).toMatch(/CreateSecret .*AccessDenied/);
    expect(e.last_error).toContain(`vault/${accessor}/${secret}`);
    expect(awsValue(secret)).toBeUndefined();
  });

  it('a wrong secret access key', async () => {
    const secret = 'bad-key';
    expect((await api('PUT', 'sys/sync/destinations/aws-sm/badkey', { ...emulatorConnection(aws.url), secret_access_key: WRONG_SECRET_KEY })).status).toBe(200);
    expect((await api('PUT', `my-kv/data/${secret}`, { data: { k: canary(secret) } })).status).toBe(200);
    await api('PUT', 'sys/sync/destinations/aws-sm/badkey/associations/set', { mount: 'my-kv', secret_name: secret });
    const e = await waitStatus('badkey', secret, 'CLIENT_SIDE_ERROR');
    expect(e.last_error).toMatch(/CreateSecret .*(InvalidSignatureException|SignatureDoesNotMatch)/);
    expect(awsValue(secret)).toBeUndefined();
  });
});

describe('secrets stay secret through all of the above', () => {
  it('no canary value and no AWS secret key in any status, API response or log line', async () => {
    // the secrets-of-one-secret view and the global list are responses too
    for (const s of ['five-xx', 'throttled', 'dropped', 'hung', 'update-path', 'late-landing', 'denied', 'bad-key']) {
      await api('GET', `sys/sync/associations/my-kv/${s}`);
    }
    await api('LIST', 'sys/sync/associations');
    for (const d of ['faults', 'denied', 'badkey']) {
      await api('GET', `sys/sync/destinations/aws-sm/${d}`);
      await api('GET', `sys/sync/destinations/aws-sm/${d}/associations`);
    }
    // positive controls: the scan sees real traffic and real failure logs
    expect(canaries.length).toBeGreaterThanOrEqual(10);
    const logs = logLines.join('');
    expect(logs).toContain('sync attempt failed');
    expect(logs).toContain('AccessDenied');
    expect(responses.join('\n')).toContain('InternalServiceError');
    const forbidden = [...canaries, SECRET_KEY, WRONG_SECRET_KEY, DENIED_SECRET];
    for (const [where, text] of [
      ['API responses', responses.join('\n')],
      ['server log', logs],
    ] as const) {
      for (const f of forbidden) expect(text.includes(f), `${f.slice(0, 12)}… found in ${where}`).toBe(false);
    }
  });
});
