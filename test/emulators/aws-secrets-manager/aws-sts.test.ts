import { CreateSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsEmulator, type RoleConfig, startAwsEmulator } from './index.js';
import { type Creds, EXAMPLE_CREDS, awsCli, awsJson, sdkError, smClient } from './aws-test-clients.js';

const ROLE: RoleConfig = {
  roleArn: 'arn:aws:iam::123456789012:role/secrets-sync',
  externalId: 'ext-1234',
  policy: {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['secretsmanager:GetSecretValue', 'secretsmanager:CreateSecret'], Resource: 'arn:aws:secretsmanager:*:*:secret:vault/app/*' }],
  },
};
const OPEN_ROLE: RoleConfig = {
  roleArn: 'arn:aws:iam::123456789012:role/path/open',
  policy: { Statement: { Effect: 'Allow', Action: '*', Resource: '*' } },
  trustedAccessKeys: ['AKIAIOSFODNN7EXAMPLE'],
  maxSessionDurationSeconds: 7200,
};
const OTHER = { accessKeyId: 'AKIAOTHEROTHEROTHER1', secretAccessKey: 'other-secret' };

let emu: AwsEmulator;
let sts: STSClient;

beforeAll(async () => {
  emu = await startAwsEmulator({
    roles: [ROLE, OPEN_ROLE],
    credentials: [{ ...EXAMPLE_CREDS }, { ...OTHER }],
  });
  sts = new STSClient({ endpoint: emu.url, region: 'us-east-1', credentials: EXAMPLE_CREDS, maxAttempts: 1 });
});
afterAll(async () => {
  sts.destroy();
  await emu.close();
});
beforeEach(() => emu.control.reset());

async function assume(externalId?: string, client = sts): Promise<Creds & { expiration: Date }> {
  const r = await client.send(new AssumeRoleCommand({ RoleArn: ROLE.roleArn, RoleSessionName: 'sync-1', ExternalId: externalId, DurationSeconds: 900 }));
  const c = r.Credentials!;
  expect(r.AssumedRoleUser?.Arn).toBe('arn:aws:sts::123456789012:assumed-role/secrets-sync/sync-1');
  return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken!, expiration: c.Expiration! };
}

describe('STS AssumeRole through @aws-sdk/client-sts', () => {
  it('issues temporary credentials bound to the role policy', async () => {
    const creds = await assume('ext-1234');
    expect(creds.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(Math.abs(creds.expiration.getTime() - (Date.now() + 900_000))).toBeLessThan(5000);
    const sm = smClient(emu.url, creds);
    await sm.send(new CreateSecretCommand({ Name: 'vault/app/db', SecretString: 'pw' }));
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'vault/app/db' }))).SecretString).toBe('pw');
    const denied = await sdkError(sm.send(new CreateSecretCommand({ Name: 'vault/other', SecretString: 'x' })));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toMatch(
      /^User: arn:aws:sts::123456789012:assumed-role\/secrets-sync\/sync-1 is not authorized to perform: secretsmanager:CreateSecret on resource: arn:aws:secretsmanager:us-east-1:123456789012:secret:vault\/other-\w{6} because no identity-based policy allows the secretsmanager:CreateSecret action$/,
    );
    const tempSts = new STSClient({ endpoint: emu.url, region: 'us-east-1', credentials: creds });
    const who = await tempSts.send(new GetCallerIdentityCommand({}));
    tempSts.destroy();
    expect(who.Arn).toBe('arn:aws:sts::123456789012:assumed-role/secrets-sync/sync-1');
    expect(emu.control.calls().find((c) => c.operation === 'AssumeRole')).toMatchObject({ service: 'sts', result: 'ok', accessKeyId: 'AKIAIOSFODNN7EXAMPLE' });

    const badToken = smClient(emu.url, { ...creds, sessionToken: 'forged' });
    expect((await sdkError(badToken.send(new GetSecretValueCommand({ SecretId: 'vault/app/db' })))).name).toBe('UnrecognizedClientException');
    emu.control.expireSessions();
    const expired = await sdkError(sm.send(new GetSecretValueCommand({ SecretId: 'vault/app/db' })));
    expect(expired.name).toBe('ExpiredTokenException');
    expect(expired.message).toBe('The security token included in the request is expired');
    sm.destroy();
    badToken.destroy();
  });

  it('refuses a wrong or missing ExternalId, an untrusted caller and too long a session', async () => {
    for (const ext of ['wrong', undefined]) {
      const e = await sdkError(assume(ext));
      expect(e.name).toBe('AccessDenied');
      expect(e.message).toBe(`User: arn:aws:iam::123456789012:user/emulator-user is not authorized to perform: sts:AssumeRole on resource: ${ROLE.roleArn}`);
      expect(e.$metadata?.httpStatusCode).toBe(403);
    }
    const other = new STSClient({ endpoint: emu.url, region: 'us-east-1', credentials: OTHER, maxAttempts: 1 });
    expect((await sdkError(other.send(new AssumeRoleCommand({ RoleArn: OPEN_ROLE.roleArn, RoleSessionName: 's1' })))).name).toBe('AccessDenied');
    const ok = await sts.send(new AssumeRoleCommand({ RoleArn: OPEN_ROLE.roleArn, RoleSessionName: 's1', DurationSeconds: 7200 }));
    expect(ok.AssumedRoleUser?.Arn).toBe('arn:aws:sts::123456789012:assumed-role/open/s1');
    const long = await sdkError(sts.send(new AssumeRoleCommand({ RoleArn: OPEN_ROLE.roleArn, RoleSessionName: 's1', DurationSeconds: 7201 })));
    expect(long.name).toBe('ValidationError');
    const bad = new STSClient({ endpoint: emu.url, region: 'us-east-1', credentials: { ...EXAMPLE_CREDS, secretAccessKey: 'nope' }, maxAttempts: 1 });
    expect((await sdkError(bad.send(new GetCallerIdentityCommand({})))).name).toBe('SignatureDoesNotMatch');
    const raw = await fetch(emu.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'Action=GetCallerIdentity&Version=2011-06-15' });
    expect(raw.status).toBe(403);
    expect(await raw.text()).toContain('<Code>MissingAuthenticationToken</Code>');
    other.destroy();
    bad.destroy();
  });
});

describe('STS through the AWS CLI', () => {
  it('aws sts assume-role works and its credentials work with aws secretsmanager', async () => {
    const r = await awsJson(emu.url, ['sts', 'assume-role', '--role-arn', ROLE.roleArn, '--role-session-name', 'cli', '--external-id', 'ext-1234']);
    const c = r.Credentials as { AccessKeyId: string; SecretAccessKey: string; SessionToken: string };
    expect(c.AccessKeyId).toMatch(/^ASIA/);
    const temp = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
    const [created, denied, wrongExt] = await Promise.all([
      awsJson(emu.url, ['secretsmanager', 'create-secret', '--name', 'vault/app/cli', '--secret-string', 'x'], temp),
      awsCli(emu.url, ['secretsmanager', 'list-secrets'], temp),
      awsCli(emu.url, ['sts', 'assume-role', '--role-arn', ROLE.roleArn, '--role-session-name', 'cli', '--external-id', 'nope']),
    ]);
    expect(created.Name).toBe('vault/app/cli');
    expect(denied.stderr).toContain('(AccessDeniedException) when calling the ListSecrets operation: User: arn:aws:sts::123456789012:assumed-role/secrets-sync/cli');
    expect(wrongExt.stderr).toContain('(AccessDenied) when calling the AssumeRole operation');
  });
});
