import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  type SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsEmulator, type PolicyDocument, EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, startAwsEmulator } from './index.js';
import { amzDateOf } from './aws-sigv4.js';
import { sdkError, smClient } from './aws-test-clients.js';

/** The brief's policy (shared/reference/seed.md), verbatim. */
const SEED_POLICY: PolicyDocument = {
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
const ADMIN = { accessKeyId: 'AKIAADMINADMINADMIN1', secretAccessKey: 'admin-secret-key-admin-secret-key-000000' };
const USER = 'arn:aws:iam::123456789012:user/vault-sync';

let emu: AwsEmulator;
let sync: SecretsManagerClient;
let admin: SecretsManagerClient;

beforeAll(async () => {
  emu = await startAwsEmulator({
    credentials: [
      { accessKeyId: EXAMPLE_ACCESS_KEY_ID, secretAccessKey: EXAMPLE_SECRET_ACCESS_KEY, policy: SEED_POLICY, userName: 'vault-sync' },
      { ...ADMIN, userName: 'admin' },
    ],
  });
  sync = smClient(emu.url);
  admin = smClient(emu.url, ADMIN);
});
afterAll(async () => {
  sync.destroy();
  admin.destroy();
  await emu.close();
});
beforeEach(() => emu.control.reset());

const denied = (op: string, resource: string) =>
  `User: ${USER} is not authorized to perform: secretsmanager:${op} on resource: ${resource} because no identity-based policy allows the secretsmanager:${op} action`;

describe("the brief's IAM policy", () => {
  it('allows Create/Update/Delete/TagResource on vault*', async () => {
    const c = await sync.send(new CreateSecretCommand({ Name: 'vault/kv_1/s', SecretString: '{"foo":"bar"}', Tags: [{ Key: 'managed-by', Value: 'vault' }] }));
    await sync.send(new UpdateSecretCommand({ SecretId: 'vault/kv_1/s', SecretString: '{"foo":"baz"}' }));
    await sync.send(new TagResourceCommand({ SecretId: c.ARN, Tags: [{ Key: 'k', Value: 'v' }] }));
    expect(emu.control.secret('vault/kv_1/s')).toMatchObject({ currentValue: '{"foo":"baz"}', tags: [{ Key: 'managed-by', Value: 'vault' }, { Key: 'k', Value: 'v' }] });
    await sync.send(new DeleteSecretCommand({ SecretId: 'vault/kv_1/s', ForceDeleteWithoutRecovery: true }));
    expect(emu.control.secret('vault/kv_1/s')).toBeUndefined();
    await sync.send(new CreateSecretCommand({ Name: 'vault-other', SecretString: 'x' }));
    await sync.send(new DeleteSecretCommand({ SecretId: 'vault-other', RecoveryWindowInDays: 7 }));
  });

  it('denies reads, PutSecretValue, UntagResource, RestoreSecret, ListSecrets with AWS wording', async () => {
    const { ARN } = await admin.send(new CreateSecretCommand({ Name: 'vault/x', SecretString: 'v', Tags: [{ Key: 'k', Value: 'v' }] }));
    const cases: Array<[string, Promise<unknown>]> = [
      ['GetSecretValue', sync.send(new GetSecretValueCommand({ SecretId: 'vault/x' }))],
      ['DescribeSecret', sync.send(new DescribeSecretCommand({ SecretId: 'vault/x' }))],
      ['PutSecretValue', sync.send(new PutSecretValueCommand({ SecretId: 'vault/x', SecretString: 'w' }))],
      ['UntagResource', sync.send(new UntagResourceCommand({ SecretId: 'vault/x', TagKeys: ['k'] }))],
      ['RestoreSecret', sync.send(new RestoreSecretCommand({ SecretId: 'vault/x' }))],
    ];
    for (const [op, p] of cases) {
      const e = await sdkError(p);
      expect(e.name, op).toBe('AccessDeniedException');
      expect(e.message, op).toBe(denied(op, ARN!));
      expect(e.$metadata?.httpStatusCode).toBe(400);
    }
    const list = await sdkError(sync.send(new ListSecretsCommand({})));
    expect(list.message).toBe(denied('ListSecrets', '*'));
    expect(emu.control.secret('vault/x')!.currentValue).toBe('v');
  });

  it('denies every operation on names outside vault*', async () => {
    const c = await sdkError(sync.send(new CreateSecretCommand({ Name: 'prod/db', SecretString: 'x' })));
    expect(c.name).toBe('AccessDeniedException');
    expect(c.message).toMatch(
      /^User: arn:aws:iam::123456789012:user\/vault-sync is not authorized to perform: secretsmanager:CreateSecret on resource: arn:aws:secretsmanager:us-east-1:123456789012:secret:prod\/db-[A-Za-z0-9]{6} because no identity-based policy allows the secretsmanager:CreateSecret action$/,
    );
    await admin.send(new CreateSecretCommand({ Name: 'prod/db', SecretString: 'x' }));
    for (const p of [
      sync.send(new UpdateSecretCommand({ SecretId: 'prod/db', SecretString: 'y' })),
      sync.send(new TagResourceCommand({ SecretId: 'prod/db', Tags: [{ Key: 'a', Value: 'b' }] })),
      sync.send(new DeleteSecretCommand({ SecretId: 'prod/db', ForceDeleteWithoutRecovery: true })),
    ]) {
      expect((await sdkError(p)).name).toBe('AccessDeniedException');
    }
    expect(emu.control.secret('prod/db')!.currentValue).toBe('x');
    expect(emu.control.calls().filter((c) => c.result === 'AccessDeniedException')).toHaveLength(4);
  });

  it('an explicit Deny wins over an Allow', async () => {
    emu.control.setPolicy(ADMIN.accessKeyId, {
      Statement: [
        { Effect: 'Allow', Action: 'secretsmanager:*', Resource: '*' },
        { Effect: 'Deny', Action: ['secretsmanager:Get*'], Resource: ['arn:aws:secretsmanager:*:*:secret:locked/*'] },
      ],
    });
    const { ARN } = await admin.send(new CreateSecretCommand({ Name: 'locked/a', SecretString: 'x' }));
    const e = await sdkError(admin.send(new GetSecretValueCommand({ SecretId: 'locked/a' })));
    expect(e.message).toBe(
      `User: arn:aws:iam::123456789012:user/admin is not authorized to perform: secretsmanager:GetSecretValue on resource: ${ARN} with an explicit deny in an identity-based policy`,
    );
  });
});

describe('SigV4 verification', () => {
  it('refuses a wrong secret key, an unknown key and a tampered body', async () => {
    const wrong = smClient(emu.url, { accessKeyId: EXAMPLE_ACCESS_KEY_ID, secretAccessKey: 'not-the-secret' });
    const e = await sdkError(wrong.send(new CreateSecretCommand({ Name: 'vault/x', SecretString: 'x' })));
    expect(e.name).toBe('InvalidSignatureException');
    expect(e.message).toBe(
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
    const unknown = smClient(emu.url, { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x' });
    const u = await sdkError(unknown.send(new CreateSecretCommand({ Name: 'vault/x', SecretString: 'x' })));
    expect(u.name).toBe('UnrecognizedClientException');
    expect(u.message).toBe('The security token included in the request is invalid.');

    const tamper = smClient(emu.url);
    type Args = { request: { body?: unknown; headers: Record<string, string> } };
    // Rewrites the body after it was signed, keeping Content-Length right.
    const rewrite = (next: (a: Args) => Promise<unknown>) => async (args: Args) => {
      const b = args.request.body;
      const evil = (typeof b === 'string' ? b : Buffer.from(b as Uint8Array).toString('utf8')).replace('vault/good', 'vault/evil');
      args.request.body = evil;
      args.request.headers['content-length'] = String(Buffer.byteLength(evil));
      return next(args);
    };
    tamper.middlewareStack.addRelativeTo(
      rewrite as unknown as Parameters<typeof tamper.middlewareStack.addRelativeTo>[0],
      { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'tamper' },
    );
    const t = await sdkError(tamper.send(new CreateSecretCommand({ Name: 'vault/good', SecretString: 'x' })));
    expect(t.name).toBe('InvalidSignatureException');
    expect(emu.control.secrets()).toEqual([]);
    for (const c of [wrong, unknown, tamper]) c.destroy();
  });

  it('refuses a signature more than 15 minutes off; the SDK corrects its clock and retries', async () => {
    const skewed = smClient(emu.url, undefined, { systemClockOffset: -20 * 60_000 });
    const e = await sdkError(skewed.send(new ListSecretsCommand({})));
    expect(e.name).toBe('InvalidSignatureException');
    expect(e.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/);
    const retrying = smClient(emu.url, undefined, { systemClockOffset: -20 * 60_000, maxAttempts: 3 });
    const ok = await admin.send(new ListSecretsCommand({})).then(() => retrying.send(new CreateSecretCommand({ Name: 'vault/skew', SecretString: 'x' })));
    expect(ok.$metadata.attempts).toBe(2);
    skewed.destroy();
    retrying.destroy();
  });

  it('accepts nothing unsigned or half-signed', async () => {
    const body = JSON.stringify({ Name: 'vault/raw', SecretString: 'x' });
    const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.CreateSecret' };
    const raw = await fetch(emu.url, { method: 'POST', headers, body });
    expect(raw.status).toBe(400);
    expect(raw.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(raw.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(await raw.json()).toEqual({ __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });

    const amzDate = amzDateOf(Date.now());
    const cred = `${EXAMPLE_ACCESS_KEY_ID}/${amzDate.slice(0, 8)}/us-east-1/secretsmanager/aws4_request`;
    const noSig = await fetch(emu.url, {
      method: 'POST',
      headers: { ...headers, 'x-amz-date': amzDate, authorization: `AWS4-HMAC-SHA256 Credential=${cred}, SignedHeaders=host;x-amz-date` },
      body,
    });
    expect(((await noSig.json()) as { __type: string }).__type).toBe('IncompleteSignatureException');

    const noHost = await fetch(emu.url, {
      method: 'POST',
      headers: { ...headers, 'x-amz-date': amzDate, authorization: `AWS4-HMAC-SHA256 Credential=${cred}, SignedHeaders=content-type;x-amz-date;x-amz-target, Signature=${'0'.repeat(64)}` },
      body,
    });
    expect(await noHost.json()).toEqual({
      __type: 'InvalidSignatureException',
      message: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    });
    expect(emu.control.secrets()).toEqual([]);
  });
});
