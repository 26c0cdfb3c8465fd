/**
 * The aws-sm client against the AWS emulator over real HTTP with the real SDK.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ALLOW_ALL,
  EXAMPLE_ACCESS_KEY_ID,
  EXAMPLE_SECRET_ACCESS_KEY,
  startAwsEmulator,
  type AwsEmulator,
  type PolicyDocument,
} from '../../../test/emulators/aws-secrets-manager/index.js';
import { DestinationError, type DestinationClient, type DestinationOptions } from '../destination.js';
import { destinationTypes } from '../registry.js';
import { AwsSmClient, TAG_REMOVAL_DENIED_WARNING, type AwsSmTuning } from './aws-sm-client.js';
import { parseAwsSmConfig } from './aws-sm-config.js';

/** The brief's policy: only Create*, Update*, Delete*, TagResource on vault*. */
const NARROW_POLICY: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'Statement1',
      Effect: 'Allow',
      Action: ['secretsmanager:Create*', 'secretsmanager:Update*', 'secretsmanager:Delete*', 'secretsmanager:TagResource'],
      Resource: 'arn:aws:secretsmanager:*:*:secret:vault*',
    },
  ],
};
const NARROW_AKID = 'AKIAI44QH8DHBNARROW1';
const NARROW_SECRET = 'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbNARROWKEY1';
const DENIED_AKID = 'AKIAI44QH8DHBDENIED1';
const DENIED_SECRET = 'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbDENIEDKEY1';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/vault-sync';
const EXTERNAL_ID = 'ext-id-4815162342';

let emu: AwsEmulator;
let port: number;
const clients: DestinationClient[] = [];
let seq = 0;

function token(): string {
  seq++;
  return `tok-${String(seq).padStart(6, '0')}-${'x'.repeat(32)}`;
}

function options(over: Partial<DestinationOptions> = {}): DestinationOptions {
  return {
    granularity: 'secret-path',
    secretNameTemplate: 'vault/{{ .MountAccessor }}/{{ .SecretPath }}',
    customTags: {},
    allowedIpv4Addresses: ['127.0.0.0/8'],
    allowedIpv6Addresses: [],
    allowedPorts: [port],
    disableStrictNetworking: false,
    ...over,
  };
}

function client(conn: Record<string, unknown> = {}, over: Partial<DestinationOptions> = {}, tuning: AwsSmTuning = {}): AwsSmClient {
  const c = new AwsSmClient(
    parseAwsSmConfig({ access_key_id: NARROW_AKID, secret_access_key: NARROW_SECRET, region: 'us-east-1', endpoint_url: emu.url, ...conn }),
    options(over),
    { env: {} },
    { recreateBackoffMs: 20, ...tuning },
  );
  clients.push(c);
  return c;
}

async function failureOf(p: Promise<unknown>): Promise<DestinationError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DestinationError);
  return err as DestinationError;
}

const tagsOf = (name: string) => Object.fromEntries((emu.control.secret(name)?.tags ?? []).map((t) => [t.Key, t.Value]));

beforeAll(async () => {
  emu = await startAwsEmulator({
    credentials: [
      { accessKeyId: EXAMPLE_ACCESS_KEY_ID, secretAccessKey: EXAMPLE_SECRET_ACCESS_KEY, policy: ALLOW_ALL },
      { accessKeyId: NARROW_AKID, secretAccessKey: NARROW_SECRET, policy: NARROW_POLICY, userName: 'vault-sync' },
      { accessKeyId: DENIED_AKID, secretAccessKey: DENIED_SECRET, policy: { Statement: [] }, userName: 'nobody' },
    ],
    roles: [{ roleArn: ROLE_ARN, policy: NARROW_POLICY, externalId: EXTERNAL_ID, trustedAccessKeys: [NARROW_AKID] }],
  });
  port = emu.port;
});

afterAll(async () => {
  await emu.close();
});

beforeEach(() => {
  emu.control.reset();
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

describe('aws-sm client: upsert and delete under the narrow policy', () => {
  it('creates the secret with its value and the hashicorp:vault tag', async () => {
    const c = client({}, { customTags: { team: 'payments' } });
    const res = await c.upsert({ name: 'vault/kv_6f196233/my-secret', value: '{"foo":"bar"}', tags: { team: 'payments' }, removedTagKeys: [], idempotencyToken: token() });
    expect(res).toEqual({ action: 'created', warnings: [] });
    const s = emu.control.secret('vault/kv_6f196233/my-secret')!;
    expect(s.currentValue).toBe('{"foo":"bar"}');
    expect(tagsOf(s.name)).toEqual({ 'hashicorp:vault': '', team: 'payments' });
    expect(emu.control.calls().map((x) => x.operation)).toEqual(['CreateSecret']);
  });

  it('updates an existing secret with UpdateSecret + TagResource (no reads, no PutSecretValue)', async () => {
    const c = client();
    await c.upsert({ name: 'vault/kv/a', value: '{"v":1}', tags: {}, removedTagKeys: [], idempotencyToken: token() });
    const res = await c.upsert({ name: 'vault/kv/a', value: '{"v":2}', tags: { env: 'prod' }, removedTagKeys: [], idempotencyToken: token() });
    expect(res).toEqual({ action: 'updated', warnings: [] });
    const s = emu.control.secret('vault/kv/a')!;
    expect(s.currentValue).toBe('{"v":2}');
    expect(s.versions.find((v) => v.stages.includes('AWSPREVIOUS'))?.value).toBe('{"v":1}');
    expect(tagsOf('vault/kv/a')).toEqual({ 'hashicorp:vault': '', env: 'prod' });
    expect(emu.control.calls().map((x) => `${x.operation}:${x.result}`)).toEqual([
      'CreateSecret:ok',
      'CreateSecret:ResourceExistsException',
      'UpdateSecret:ok',
      'TagResource:ok',
    ]);
  });

  it('knownToExist: UpdateSecret first, no failed CreateSecret; a secret deleted meanwhile is created', async () => {
    const c = client();
    await c.upsert({ name: 'vault/kv/known', value: '{"v":1}', tags: {}, removedTagKeys: [], idempotencyToken: token() });
    emu.control.clearCalls();
    const res = await c.upsert({ name: 'vault/kv/known', value: '{"v":2}', tags: {}, removedTagKeys: [], idempotencyToken: token(), knownToExist: true });
    expect(res).toEqual({ action: 'updated', warnings: [] });
    expect(emu.control.secret('vault/kv/known')!.currentValue).toBe('{"v":2}');
    expect(emu.control.calls().map((x) => `${x.operation}:${x.result}`)).toEqual(['UpdateSecret:ok', 'TagResource:ok']);
    emu.control.clearCalls();
    const gone = await c.upsert({ name: 'vault/kv/never', value: '{"v":3}', tags: {}, removedTagKeys: [], idempotencyToken: token(), knownToExist: true });
    expect(gone).toEqual({ action: 'created', warnings: [] });
    expect(emu.control.secret('vault/kv/never')!.currentValue).toBe('{"v":3}');
    expect(emu.control.calls().map((x) => `${x.operation}:${x.result}`)).toEqual(['UpdateSecret:ResourceNotFoundException', 'CreateSecret:ok']);
  });

  it('a retried upsert with the same token creates no new version', async () => {
    const c = client();
    const t = token();
    await c.upsert({ name: 'vault/kv/idem', value: 'v1', tags: {}, removedTagKeys: [], idempotencyToken: t });
    await c.upsert({ name: 'vault/kv/idem', value: 'v1', tags: {}, removedTagKeys: [], idempotencyToken: t });
    expect(emu.control.secret('vault/kv/idem')!.versions).toHaveLength(1);
  });

  it('tag removal denied by the narrow policy degrades to a warning', async () => {
    const c = client();
    await c.upsert({ name: 'vault/kv/t', value: 'x1', tags: { a: '1', b: '2' }, removedTagKeys: [], idempotencyToken: token() });
    const res = await c.upsert({ name: 'vault/kv/t', value: 'x2', tags: { a: '1' }, removedTagKeys: ['b', 'a', 'hashicorp:vault'], idempotencyToken: token() });
    expect(res.action).toBe('updated');
    expect(res.warnings).toHaveLength(1);
    expect(res.warnings[0]).toContain(TAG_REMOVAL_DENIED_WARNING);
    expect(res.warnings[0]).toContain('tag keys left on vault/kv/t: b');
    expect(emu.control.secret('vault/kv/t')!.currentValue).toBe('x2');
  });

  it('removes tags when UntagResource is permitted', async () => {
    const c = client({ access_key_id: EXAMPLE_ACCESS_KEY_ID, secret_access_key: EXAMPLE_SECRET_ACCESS_KEY });
    await c.upsert({ name: 'vault/kv/t2', value: 'x1', tags: { a: '1', b: '2' }, removedTagKeys: [], idempotencyToken: token() });
    const res = await c.upsert({ name: 'vault/kv/t2', value: 'x2', tags: { a: '1' }, removedTagKeys: ['b'], idempotencyToken: token() });
    expect(res.warnings).toEqual([]);
    expect(tagsOf('vault/kv/t2')).toEqual({ 'hashicorp:vault': '', a: '1' });
  });

  it('deletes with ForceDeleteWithoutRecovery; deleting a missing secret succeeds', async () => {
    const c = client();
    await c.upsert({ name: 'vault/kv/d', value: 'x', tags: {}, removedTagKeys: [], idempotencyToken: token() });
    await c.delete('vault/kv/d');
    expect(emu.control.secret('vault/kv/d')).toBeUndefined();
    await c.delete('vault/kv/d');
    await c.delete('vault/kv/never-existed');
  });

  it('re-creates a force-deleted name after the reuse delay (retrying with backoff)', async () => {
    emu.control.setForceDeleteDelay(400);
    const c = client();
    await c.upsert({ name: 'vault/kv/re', value: 'one', tags: {}, removedTagKeys: [], idempotencyToken: token() });
    await c.delete('vault/kv/re');
    const res = await c.upsert({ name: 'vault/kv/re', value: 'two', tags: {}, removedTagKeys: [], idempotencyToken: token() });
    expect(res.action).toBe('created');
    expect(emu.control.secret('vault/kv/re')!.currentValue).toBe('two');
    const creates = emu.control.calls().filter((x) => x.operation === 'CreateSecret');
    expect(creates.some((x) => x.result === 'InvalidRequestException')).toBe(true);
    // the narrow policy denies RestoreSecret; the client asked at most once
    expect(emu.control.calls().filter((x) => x.operation === 'RestoreSecret').length).toBeLessThanOrEqual(1);
  });

  it('gives up on a name held by a deletion after the bounded wait, with a clear message', async () => {
    emu.control.setForceDeleteDelay(60_000);
    const c = client({}, {}, { recreateWaitMs: 200 });
    await c.upsert({ name: 'vault/kv/held', value: 'one', tags: {}, removedTagKeys: [], idempotencyToken: token() });
    await c.delete('vault/kv/held');
    const err = await failureOf(c.upsert({ name: 'vault/kv/held', value: 'two', tags: {}, removedTagKeys: [], idempotencyToken: token() }));
    expect(err.status).toBe('CLIENT_SIDE_ERROR');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('CreateSecret vault/kv/held: a secret with this name is still scheduled for deletion');
    expect(err.message).toContain('RestoreSecret is not permitted');
  });

  it('with recovery_window_days: deletes with a window, and restores (where permitted) on re-association', async () => {
    const c = client({ access_key_id: EXAMPLE_ACCESS_KEY_ID, secret_access_key: EXAMPLE_SECRET_ACCESS_KEY, recovery_window_days: 7 });
    await c.upsert({ name: 'vault/kv/w', value: 'one', tags: {}, removedTagKeys: [], idempotencyToken: token() });
    await c.delete('vault/kv/w');
    expect(emu.control.secret('vault/kv/w')!.deletedDate).toBeDefined();
    await c.delete('vault/kv/w'); // already scheduled: success
    const res = await c.upsert({ name: 'vault/kv/w', value: 'two', tags: {}, removedTagKeys: [], idempotencyToken: token() });
    expect(res.action).toBe('updated');
    const s = emu.control.secret('vault/kv/w')!;
    expect(s.deletedDate).toBeUndefined();
    expect(s.currentValue).toBe('two');
  });

  it('a name held by a recovery window under the narrow policy is a CLIENT_SIDE_ERROR naming RestoreSecret', async () => {
    const admin = client({ access_key_id: EXAMPLE_ACCESS_KEY_ID, secret_access_key: EXAMPLE_SECRET_ACCESS_KEY, recovery_window_days: 7 });
    await admin.upsert({ name: 'vault/kv/w2', value: 'one', tags: {}, removedTagKeys: [], idempotencyToken: token() });
    await admin.delete('vault/kv/w2');
    const c = client({ recovery_window_days: 7 }, {}, { recreateWaitMs: 100 });
    const err = await failureOf(c.upsert({ name: 'vault/kv/w2', value: 'two', tags: {}, removedTagKeys: [], idempotencyToken: token() }));
    expect(err.status).toBe('CLIENT_SIDE_ERROR');
    expect(err.message).toMatch(/scheduled for deletion.*RestoreSecret is not permitted/);
  });

  it('refuses a value over 65,536 bytes before any call', async () => {
    const c = client();
    const err = await failureOf(c.upsert({ name: 'vault/kv/big', value: 'é'.repeat(40_000), tags: {}, removedTagKeys: [], idempotencyToken: token() }));
    expect(err.status).toBe('CLIENT_SIDE_ERROR');
    expect(err.message).toBe('value is 80000 bytes; AWS Secrets Manager allows at most 65536');
    expect(emu.control.calls()).toHaveLength(0);
  });

  it('passes kms_key_id on create and update', async () => {
    const kms = 'alias/vault-sync';
    const c = client({ kms_key_id: kms });
    await c.upsert({ name: 'vault/kv/k', value: 'one', tags: {}, removedTagKeys: [], idempotencyToken: token() });
    expect(emu.control.secret('vault/kv/k')!.kmsKeyId).toBe(kms);
    await c.upsert({ name: 'vault/kv/k', value: 'two', tags: {}, removedTagKeys: [], idempotencyToken: token() });
    expect(emu.control.secret('vault/kv/k')!.currentValue).toBe('two');
  });
});

describe('aws-sm client: error classification over the wire', () => {
  it('AccessDenied (name outside vault*) is a CLIENT_SIDE_ERROR naming the operation and AWS code, never the value', async () => {
    const c = client();
    const value = '{"password":"hunter2-super-secret"}';
    const err = await failureOf(c.upsert({ name: 'other/kv/x', value, tags: {}, removedTagKeys: [], idempotencyToken: token() }));
    expect(err.status).toBe('CLIENT_SIDE_ERROR');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/^CreateSecret other\/kv\/x: AccessDeniedException: /);
    expect(err.message).not.toContain('hunter2');
    expect(err.message).not.toContain(NARROW_SECRET);
  });

  it('a user with no permissions gets CLIENT_SIDE_ERROR on delete too', async () => {
    const c = client({ access_key_id: DENIED_AKID, secret_access_key: DENIED_SECRET });
    const err = await failureOf(c.delete('vault/kv/x'));
    expect(err.status).toBe('CLIENT_SIDE_ERROR');
    expect(err.message).toMatch(/^DeleteSecret vault\/kv\/x: AccessDeniedException/);
  });

  it('unknown access key and wrong secret key are CLIENT_SIDE_ERRORs', async () => {
    const unknown = await failureOf(
      client({ access_key_id: 'AKIAUNKNOWNUNKNOWN01', secret_access_key: 'x'.repeat(40) }).upsert({ name: 'vault/a', value: 'v', tags: {}, removedTagKeys: [], idempotencyToken: token() }),
    );
    expect(unknown.status).toBe('CLIENT_SIDE_ERROR');
    expect(unknown.message).toContain('UnrecognizedClientException');
    const badSig = await failureOf(
      client({ secret_access_key: 'y'.repeat(40) }).upsert({ name: 'vault/a', value: 'v', tags: {}, removedTagKeys: [], idempotencyToken: token() }),
    );
    expect(badSig.status).toBe('CLIENT_SIDE_ERROR');
    expect(badSig.message).toContain('InvalidSignatureException');
    expect(badSig.message).not.toContain('y'.repeat(40));
  });

  it('throttling is EXTERNAL_SERVICE_ERROR, retryable, throttled (after the SDK retries)', async () => {
    emu.control.setThrottle({ create: 0.001 });
    const c = client({}, {}, { maxAttempts: 2 });
    // the first call takes the bucket's single token... at a rate this low it holds none
    const results = await Promise.allSettled(
      [1, 2, 3].map((i) => c.upsert({ name: `vault/kv/th${i}`, value: 'v', tags: {}, removedTagKeys: [], idempotencyToken: token() })),
    );
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as DestinationError);
    expect(failed.length).toBeGreaterThan(0);
    for (const err of failed) {
      expect(err).toBeInstanceOf(DestinationError);
      expect(err.status).toBe('EXTERNAL_SERVICE_ERROR');
      expect(err.throttled).toBe(true);
      expect(err.retryable).toBe(true);
      expect(err.message).toContain('ThrottlingException');
    }
  });

  it('5xx is EXTERNAL_SERVICE_ERROR retryable after the SDK retried it', async () => {
    emu.control.setFaults({ errorRate: 1 });
    const c = client({}, {}, { maxAttempts: 3 });
    const err = await failureOf(c.upsert({ name: 'vault/kv/5xx', value: 'v', tags: {}, removedTagKeys: [], idempotencyToken: token() }));
    expect(err.status).toBe('EXTERNAL_SERVICE_ERROR');
    expect(err.retryable).toBe(true);
    expect(err.throttled).toBe(false);
    expect(err.message).toContain('InternalServiceError');
    expect(emu.control.calls().filter((x) => x.operation === 'CreateSecret')).toHaveLength(3);
  });

  it('a dropped connection is EXTERNAL_SERVICE_ERROR', async () => {
    emu.control.setFaults({ dropRate: 1 });
    const c = client({}, {}, { maxAttempts: 1 });
    const err = await failureOf(c.upsert({ name: 'vault/kv/drop', value: 'v', tags: {}, removedTagKeys: [], idempotencyToken: token() }));
    expect(err.status).toBe('EXTERNAL_SERVICE_ERROR');
    expect(err.retryable).toBe(true);
  });

  it('a hanging service times out as EXTERNAL_SERVICE_ERROR', async () => {
    emu.control.setFaults({ hang: true });
    const c = client({}, {}, { maxAttempts: 1, requestTimeoutMs: 300 });
    const err = await failureOf(c.delete('vault/kv/hang'));
    expect(err.status).toBe('EXTERNAL_SERVICE_ERROR');
    expect(err.retryable).toBe(true);
    emu.control.setFaults({});
  });

  it('an unreadable answer is EXTERNAL_SERVICE_ERROR', async () => {
    emu.control.setFaults({ garbageRate: 1 });
    const c = client({}, {}, { maxAttempts: 1 });
    const err = await failureOf(c.upsert({ name: 'vault/kv/garbage', value: 'v', tags: {}, removedTagKeys: [], idempotencyToken: token() }));
    expect(err.status).toBe('EXTERNAL_SERVICE_ERROR');
  });

  it('nothing listening is EXTERNAL_SERVICE_ERROR (connection refused)', async () => {
    const c = client({ endpoint_url: 'http://127.0.0.1:9' }, { allowedPorts: [9] }, { maxAttempts: 1 });
    const err = await failureOf(c.delete('vault/kv/x'));
    expect(err.status).toBe('EXTERNAL_SERVICE_ERROR');
    expect(err.message).toContain('ECONNREFUSED');
  });
});

describe('aws-sm client: assume role', () => {
  it('role_arn + external_id: AssumeRole through the emulator STS, then sync as the role', async () => {
    const c = client({ role_arn: ROLE_ARN, external_id: EXTERNAL_ID });
    await c.upsert({ name: 'vault/kv/role', value: 'r1', tags: {}, removedTagKeys: [], idempotencyToken: token() });
    await c.upsert({ name: 'vault/kv/role', value: 'r2', tags: {}, removedTagKeys: [], idempotencyToken: token() });
    expect(emu.control.secret('vault/kv/role')!.currentValue).toBe('r2');
    const calls = emu.control.calls();
    expect(calls.filter((x) => x.operation === 'AssumeRole')).toHaveLength(1); // cached
    expect(calls.find((x) => x.operation === 'CreateSecret')!.accessKeyId).toMatch(/^ASIA/);
  });

  it('refreshes the session when the service says it expired', async () => {
    const c = client({ role_arn: ROLE_ARN, external_id: EXTERNAL_ID });
    await c.upsert({ name: 'vault/kv/exp', value: 'r1', tags: {}, removedTagKeys: [], idempotencyToken: token() });
    emu.control.expireSessions();
    await c.upsert({ name: 'vault/kv/exp', value: 'r2', tags: {}, removedTagKeys: [], idempotencyToken: token() });
    expect(emu.control.secret('vault/kv/exp')!.currentValue).toBe('r2');
    expect(emu.control.calls().filter((x) => x.operation === 'AssumeRole')).toHaveLength(2);
  });

  it('a wrong external_id is a CLIENT_SIDE_ERROR from AssumeRole', async () => {
    const c = client({ role_arn: ROLE_ARN, external_id: 'wrong-external-id' });
    const err = await failureOf(c.upsert({ name: 'vault/kv/role', value: 'v', tags: {}, removedTagKeys: [], idempotencyToken: token() }));
    expect(err.status).toBe('CLIENT_SIDE_ERROR');
    expect(err.message).toMatch(/^AssumeRole arn:aws:iam::123456789012:role\/vault-sync: AccessDenied: /);
    expect(err.message).not.toContain('wrong-external-id');
  });
});

describe('aws-sm client: outbound network guard', () => {
  it('refuses the emulator on 127.0.0.1 by default, before any request', async () => {
    const c = client({}, { allowedIpv4Addresses: [], allowedPorts: [] });
    const err = await failureOf(c.upsert({ name: 'vault/kv/g', value: 'v', tags: {}, removedTagKeys: [], idempotencyToken: token() }));
    expect(err.status).toBe('CLIENT_SIDE_ERROR');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(`outbound connection to 127.0.0.1:${port} refused: address is in a special-purpose range (loopback`);
    expect(emu.control.calls()).toHaveLength(0);
  });

  it('refuses a host name resolving to loopback (localhost) by default', async () => {
    const c = client({ endpoint_url: `http://localhost:${port}` }, { allowedIpv4Addresses: [], allowedPorts: [port] });
    const err = await failureOf(c.delete('vault/kv/g'));
    expect(err.status).toBe('CLIENT_SIDE_ERROR');
    expect(err.message).toMatch(/outbound connection to localhost \((127\.0\.0\.1|\[::1\])\):\d+ refused/);
    expect(emu.control.calls()).toHaveLength(0);
  });

  it('allows it with allowed_ipv4_addresses + allowed_ports, or disable_strict_networking', async () => {
    await client().upsert({ name: 'vault/kv/g1', value: 'v', tags: {}, removedTagKeys: [], idempotencyToken: token() });
    await client({}, { allowedIpv4Addresses: [], allowedPorts: [], disableStrictNetworking: true }).upsert({
      name: 'vault/kv/g2',
      value: 'v',
      tags: {},
      removedTagKeys: [],
      idempotencyToken: token(),
    });
    expect(emu.control.secrets().map((s) => s.name).sort()).toEqual(['vault/kv/g1', 'vault/kv/g2']);
  });

  it('guards STS too', async () => {
    const c = client({ role_arn: ROLE_ARN, external_id: EXTERNAL_ID }, { allowedIpv4Addresses: [], allowedPorts: [] });
    const err = await failureOf(c.delete('vault/kv/g'));
    expect(err.status).toBe('CLIENT_SIDE_ERROR');
    expect(err.message).toContain('refused');
    expect(emu.control.calls()).toHaveLength(0);
  });
});

describe('aws-sm client: default credential chain', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_EC2_METADATA_DISABLED', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'AWS_PROFILE']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('uses the SDK default chain (here: environment variables) when no keys are configured', async () => {
    process.env.AWS_ACCESS_KEY_ID = NARROW_AKID;
    process.env.AWS_SECRET_ACCESS_KEY = NARROW_SECRET;
    const c = client({ access_key_id: undefined, secret_access_key: undefined });
    await c.upsert({ name: 'vault/kv/env', value: 'v', tags: {}, removedTagKeys: [], idempotencyToken: token() });
    expect(emu.control.calls()[0]!.accessKeyId).toBe(NARROW_AKID);
  });

  it('no credentials anywhere is a CLIENT_SIDE_ERROR', async () => {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    delete process.env.AWS_PROFILE;
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/credentials';
    process.env.AWS_CONFIG_FILE = '/nonexistent/config';
    const c = client({ access_key_id: undefined, secret_access_key: undefined });
    const err = await failureOf(c.delete('vault/kv/x'));
    expect(err.status).toBe('CLIENT_SIDE_ERROR');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/^DeleteSecret vault\/kv\/x: CredentialsProviderError: /);
    expect(emu.control.calls()).toHaveLength(0);
  });
});

describe('aws-sm via the registry', () => {
  it('spec.createClient builds a working client; endpoint from AWS_ENDPOINT_URL_SECRETS_MANAGER when endpoint_url is unset', async () => {
    const spec = destinationTypes['aws-sm'];
    const c = spec.createClient({ access_key_id: NARROW_AKID, secret_access_key: NARROW_SECRET }, options(), {
      env: { AWS_ENDPOINT_URL_SECRETS_MANAGER: emu.url, AWS_REGION: 'eu-west-1' },
    });
    clients.push(c);
    await c.upsert({ name: spec.normalizeName('vault/kv_1/a b#c'), value: 'v', tags: {}, removedTagKeys: [], idempotencyToken: token() });
    const s = emu.control.secret('vault/kv_1/a_b_c')!;
    expect(s.region).toBe('eu-west-1');
  });
});
