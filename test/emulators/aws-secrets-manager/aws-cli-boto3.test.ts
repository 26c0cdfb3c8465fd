/**
 * Fidelity against clients we did not write: the AWS CLI and boto3 (botocore
 * signs, serialises and parses errors its own way).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsEmulator, startAwsEmulator } from './index.js';
import { awsCli, awsJson, python } from './aws-test-clients.js';

let emu: AwsEmulator;
beforeAll(async () => {
  emu = await startAwsEmulator();
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => emu.control.reset());

describe('AWS CLI', () => {
  it('drives every operation and reads AWS-shaped answers', async () => {
    const sm = (...args: string[]) => awsJson(emu.url, ['secretsmanager', ...args]);
    const c = await sm(
      'create-secret', '--name', 'vault/cli/one', '--secret-string', '{"foo":"bar"}', '--description', 'from the cli',
      '--kms-key-id', 'alias/cli', '--tags', 'Key=team,Value=blue', '--client-request-token', 'a'.repeat(32),
    );
    expect(c).toEqual({ ARN: expect.stringMatching(/:secret:vault\/cli\/one-[A-Za-z0-9]{6}$/), Name: 'vault/cli/one', VersionId: 'a'.repeat(32) });
    const g = await sm('get-secret-value', '--secret-id', String(c.ARN));
    expect(g).toMatchObject({ Name: 'vault/cli/one', SecretString: '{"foo":"bar"}', VersionStages: ['AWSCURRENT'] });
    // CLI v1 prints timestamps as the epoch seconds it received
    expect(Math.abs(Number(g.CreatedDate) * 1000 - Date.now())).toBeLessThan(60_000);
    const p = await sm('put-secret-value', '--secret-id', 'vault/cli/one', '--secret-string', 'v2');
    expect(p.VersionStages).toEqual(['AWSCURRENT']);
    const u = await sm('update-secret', '--secret-id', 'vault/cli/one', '--secret-string', 'v3', '--description', 'updated');
    const d = await sm('describe-secret', '--secret-id', 'vault/cli/one');
    expect(d).toMatchObject({ Description: 'updated', KmsKeyId: 'alias/cli', Tags: [{ Key: 'team', Value: 'blue' }] });
    expect(d.VersionIdsToStages).toEqual({ [String(p.VersionId)]: ['AWSPREVIOUS'], [String(u.VersionId)]: ['AWSCURRENT'] });
    await sm('tag-resource', '--secret-id', 'vault/cli/one', '--tags', 'Key=env,Value=prod');
    await sm('untag-resource', '--secret-id', 'vault/cli/one', '--tag-keys', 'team');
    const l = await sm('list-secrets', '--filters', 'Key=tag-key,Values=env', '--include-planned-deletion');
    expect((l.SecretList as Array<{ Name: string; Tags: unknown }>).map((s) => [s.Name, s.Tags])).toEqual([
      ['vault/cli/one', [{ Key: 'env', Value: 'prod' }]],
    ]);
    const b = await sm('batch-get-secret-value', '--secret-id-list', 'vault/cli/one', 'vault/cli/missing');
    expect((b.SecretValues as Array<{ SecretString: string }>).map((v) => v.SecretString)).toEqual(['v3']);
    expect((b.Errors as Array<{ ErrorCode: string }>)[0]!.ErrorCode).toBe('ResourceNotFoundException');
    const del = await sm('delete-secret', '--secret-id', 'vault/cli/one', '--recovery-window-in-days', '7');
    expect(del.Name).toBe('vault/cli/one');
    const marked = await awsCli(emu.url, ['secretsmanager', 'get-secret-value', '--secret-id', 'vault/cli/one']);
    expect(marked.code).not.toBe(0);
    expect(marked.stderr).toContain(
      "An error occurred (InvalidRequestException) when calling the GetSecretValue operation: You can't perform this operation on the secret because it was marked for deletion.",
    );
    await sm('restore-secret', '--secret-id', 'vault/cli/one');
    await sm('delete-secret', '--secret-id', 'vault/cli/one', '--force-delete-without-recovery');
    expect(emu.control.secrets()).toEqual([]);
  });

  it('reports AWS error codes on stderr', async () => {
    await awsJson(emu.url, ['secretsmanager', 'create-secret', '--name', 'vault/cli/dup', '--secret-string', 'x']);
    const [missing, dup, both, badKey] = await Promise.all([
      awsCli(emu.url, ['secretsmanager', 'describe-secret', '--secret-id', 'vault/none']),
      awsCli(emu.url, ['secretsmanager', 'create-secret', '--name', 'vault/cli/dup', '--secret-string', 'x']),
      awsCli(emu.url, ['secretsmanager', 'delete-secret', '--secret-id', 'vault/cli/dup', '--recovery-window-in-days', '7', '--force-delete-without-recovery']),
      awsCli(emu.url, ['secretsmanager', 'list-secrets'], { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wrong' }),
    ]);
    expect(missing.stderr).toContain("(ResourceNotFoundException) when calling the DescribeSecret operation: Secrets Manager can't find the specified secret.");
    expect(dup.stderr).toContain('(ResourceExistsException) when calling the CreateSecret operation: The operation failed because the secret vault/cli/dup already exists.');
    expect(both.stderr).toContain('(InvalidParameterException) when calling the DeleteSecret operation');
    expect(badKey.stderr).toContain('(InvalidSignatureException) when calling the ListSecrets operation: The request signature we calculated does not match');
  });
});

const BOTO3_SCRIPT = String.raw`
import json, os, boto3
from botocore.exceptions import ClientError
from botocore.config import Config
sm = boto3.client('secretsmanager', endpoint_url=os.environ['ENDPOINT'], region_name='us-east-1',
                  config=Config(retries={'max_attempts': 1}))
out = {}
def err(fn, **kw):
    try:
        fn(**kw)
        return None
    except ClientError as e:
        return [e.response['Error']['Code'], e.response['Error'].get('Message'), e.response['ResponseMetadata']['HTTPStatusCode']]
c = sm.create_secret(Name='vault/py/one', SecretString='s1', Tags=[{'Key': 'a', 'Value': '1'}])
out['create'] = {'Name': c['Name'], 'VersionId': c['VersionId'], 'ARN': c['ARN']}
u = sm.update_secret(SecretId='vault/py/one', SecretString='s2')
p = sm.put_secret_value(SecretId='vault/py/one', SecretBinary=b'\x00\xffbin')
g = sm.get_secret_value(SecretId='vault/py/one')
out['get'] = {'SecretBinary': list(g['SecretBinary']), 'VersionStages': g['VersionStages'], 'created_is_datetime': hasattr(g['CreatedDate'], 'year')}
out['previous'] = sm.get_secret_value(SecretId='vault/py/one', VersionStage='AWSPREVIOUS')['SecretString']
out['byVersion'] = sm.get_secret_value(SecretId='vault/py/one', VersionId=c['VersionId'])['SecretString']
d = sm.describe_secret(SecretId=c['ARN'])
out['describe'] = {'stages': sorted(map(tuple, map(sorted, d['VersionIdsToStages'].values()))), 'tags': d['Tags']}
sm.tag_resource(SecretId='vault/py/one', Tags=[{'Key': 'b', 'Value': '2'}])
sm.untag_resource(SecretId='vault/py/one', TagKeys=['a'])
for i in range(5):
    sm.create_secret(Name='vault/py/page%d' % i, SecretString=str(i))
names = []
for page in sm.get_paginator('list_secrets').paginate(Filters=[{'Key': 'name', 'Values': ['vault/py/page']}], PaginationConfig={'PageSize': 2}):
    names += [s['Name'] for s in page['SecretList']]
out['paginated'] = names
bg = sm.batch_get_secret_value(Filters=[{'Key': 'name', 'Values': ['vault/py/page']}])
out['batch'] = sorted(v['SecretString'] for v in bg['SecretValues'])
dd = sm.delete_secret(SecretId='vault/py/one', RecoveryWindowInDays=7)
out['deletionDays'] = round((dd['DeletionDate'].timestamp() - __import__('time').time()) / 86400)
out['errors'] = {
    'markedDeleted': err(sm.get_secret_value, SecretId='vault/py/one'),
    'recreate': err(sm.create_secret, Name='vault/py/one', SecretString='x'),
    'notFound': err(sm.describe_secret, SecretId='vault/py/none'),
    'exists': err(sm.create_secret, Name='vault/py/page0', SecretString='x'),
    'both': err(sm.delete_secret, SecretId='vault/py/page0', RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True),
    'tooLong': err(sm.create_secret, Name='vault/py/big', SecretString='x' * 65537),
    'badName': err(sm.create_secret, Name='vault py', SecretString='x'),
}
sm.restore_secret(SecretId='vault/py/one')
out['restored'] = list(sm.get_secret_value(SecretId='vault/py/one')['SecretBinary'])
print(json.dumps(out))
`;

describe('boto3', () => {
  it('round-trips every operation and error', async () => {
    const out = (await python(emu.url, BOTO3_SCRIPT)) as Record<string, unknown>;
    expect(out.create).toMatchObject({ Name: 'vault/py/one' });
    expect(out.get).toEqual({ SecretBinary: [0, 255, 98, 105, 110], VersionStages: ['AWSCURRENT'], created_is_datetime: true });
    expect(out.previous).toBe('s2');
    expect(out.byVersion).toBe('s1');
    expect(out.describe).toEqual({ stages: [['AWSCURRENT'], ['AWSPREVIOUS']], tags: [{ Key: 'a', Value: '1' }] });
    expect(out.paginated).toEqual(['vault/py/page0', 'vault/py/page1', 'vault/py/page2', 'vault/py/page3', 'vault/py/page4']);
    expect(out.batch).toEqual(['0', '1', '2', '3', '4']);
    expect(out.deletionDays).toBe(7);
    expect(out.errors).toEqual({
      markedDeleted: ['InvalidRequestException', "You can't perform this operation on the secret because it was marked for deletion.", 400],
      recreate: ['InvalidRequestException', "You can't create this secret because a secret with this name is already scheduled for deletion.", 400],
      notFound: ['ResourceNotFoundException', "Secrets Manager can't find the specified secret.", 400],
      exists: ['ResourceExistsException', 'The operation failed because the secret vault/py/page0 already exists.', 400],
      both: ['InvalidParameterException', "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.", 400],
      tooLong: ['ValidationException', expect.stringContaining("Value at 'secretString' failed to satisfy constraint"), 400],
      badName: ['InvalidParameterException', expect.stringContaining('Invalid name.'), 400],
    });
    expect(emu.control.secret('vault/py/one')!.tags).toEqual([{ Key: 'b', Value: '2' }]);
    expect(out.restored).toEqual([0, 255, 98, 105, 110]);
    expect(emu.control.secret('vault/py/one')!.deletedDate).toBeUndefined();
  });
});
