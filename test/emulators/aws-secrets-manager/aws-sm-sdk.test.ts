import {
  BatchGetSecretValueCommand,
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
import { type AwsEmulator, startAwsEmulator } from './index.js';
import { sdkError, smClient, until } from './aws-test-clients.js';

let emu: AwsEmulator;
let sm: SecretsManagerClient;

beforeAll(async () => {
  emu = await startAwsEmulator();
  sm = smClient(emu.url);
});
afterAll(async () => {
  sm.destroy();
  await emu.close();
});
beforeEach(() => emu.control.reset());

const token = (c: string) => c.repeat(36);

describe('JS SDK against the emulator: values, versions, staging labels', () => {
  it('creates, reads, updates and moves AWSCURRENT/AWSPREVIOUS', async () => {
    const created = await sm.send(
      new CreateSecretCommand({ Name: 'vault/kv_1/app', SecretString: '{"foo":"bar"}', KmsKeyId: 'alias/mine', Description: 'app secret' }),
    );
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:123456789012:secret:vault\/kv_1\/app-[A-Za-z0-9]{6}$/);
    expect(created.Name).toBe('vault/kv_1/app');
    expect(created.VersionId).toMatch(/^[0-9a-f-]{36}$/);

    const got = await sm.send(new GetSecretValueCommand({ SecretId: 'vault/kv_1/app' }));
    expect(got.SecretString).toBe('{"foo":"bar"}');
    expect(got.VersionStages).toEqual(['AWSCURRENT']);
    expect(got.CreatedDate).toBeInstanceOf(Date);
    expect(Math.abs(got.CreatedDate!.getTime() - Date.now())).toBeLessThan(5000);

    const up = await sm.send(new UpdateSecretCommand({ SecretId: created.ARN, SecretString: 'v2' }));
    expect(up.VersionId).not.toBe(created.VersionId);
    const put = await sm.send(new PutSecretValueCommand({ SecretId: 'vault/kv_1/app', SecretString: 'v3' }));
    expect(put.VersionStages).toEqual(['AWSCURRENT']);

    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'vault/kv_1/app' }))).SecretString).toBe('v3');
    const prev = await sm.send(new GetSecretValueCommand({ SecretId: 'vault/kv_1/app', VersionStage: 'AWSPREVIOUS' }));
    expect(prev.SecretString).toBe('v2');
    expect(prev.VersionId).toBe(up.VersionId);
    const first = await sm.send(new GetSecretValueCommand({ SecretId: 'vault/kv_1/app', VersionId: created.VersionId }));
    expect(first.SecretString).toBe('{"foo":"bar"}');
    expect(first.VersionStages).toEqual([]);

    const d = await sm.send(new DescribeSecretCommand({ SecretId: 'vault/kv_1/app' }));
    expect(d.KmsKeyId).toBe('alias/mine');
    expect(d.Description).toBe('app secret');
    expect(d.VersionIdsToStages).toEqual({ [up.VersionId!]: ['AWSPREVIOUS'], [put.VersionId!]: ['AWSCURRENT'] });
    expect(d.CreatedDate).toBeInstanceOf(Date);
    expect(d.DeletedDate).toBeUndefined();

    const snap = emu.control.secret('vault/kv_1/app')!;
    expect(snap.currentValue).toBe('v3');
    expect(snap.kmsKeyId).toBe('alias/mine');
    expect(snap.versions.map((v) => v.stages)).toEqual([[], ['AWSPREVIOUS'], ['AWSCURRENT']]);
  });

  it('treats a repeated ClientRequestToken as idempotent and refuses it with another value', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'vault/idem', SecretString: 'a', ClientRequestToken: token('a') }));
    const again = await sm.send(new CreateSecretCommand({ Name: 'vault/idem', SecretString: 'a', ClientRequestToken: token('a') }));
    expect(again.VersionId).toBe(token('a'));
    const u1 = await sm.send(new UpdateSecretCommand({ SecretId: 'vault/idem', SecretString: 'b', ClientRequestToken: token('b') }));
    const u2 = await sm.send(new UpdateSecretCommand({ SecretId: 'vault/idem', SecretString: 'b', ClientRequestToken: token('b') }));
    expect(u1.VersionId).toBe(token('b'));
    expect(u2.VersionId).toBe(token('b'));
    expect(emu.control.secret('vault/idem')!.versions).toHaveLength(2);
    const e = await sdkError(sm.send(new UpdateSecretCommand({ SecretId: 'vault/idem', SecretString: 'c', ClientRequestToken: token('b') })));
    expect(e.name).toBe('ResourceExistsException');
    const short = await sdkError(sm.send(new UpdateSecretCommand({ SecretId: 'vault/idem', SecretString: 'c', ClientRequestToken: 'x'.repeat(31) })));
    expect(short.name).toBe('ValidationException');
  });

  it('answers AWS error types and messages for missing and existing secrets', async () => {
    const nf = await sdkError(sm.send(new GetSecretValueCommand({ SecretId: 'nope' })));
    expect(nf.name).toBe('ResourceNotFoundException');
    expect(nf.message).toBe("Secrets Manager can't find the specified secret.");
    expect(nf.$metadata?.httpStatusCode).toBe(400);
    expect((await sdkError(sm.send(new UpdateSecretCommand({ SecretId: 'nope', SecretString: 'x' })))).name).toBe('ResourceNotFoundException');
    await sm.send(new CreateSecretCommand({ Name: 'vault/dup', SecretString: 'x' }));
    const ex = await sdkError(sm.send(new CreateSecretCommand({ Name: 'vault/dup', SecretString: 'x' })));
    expect(ex.name).toBe('ResourceExistsException');
    expect(ex.message).toBe('The operation failed because the secret vault/dup already exists.');
    const stage = await sdkError(sm.send(new GetSecretValueCommand({ SecretId: 'vault/dup', VersionStage: 'AWSPREVIOUS' })));
    expect(stage.name).toBe('ResourceNotFoundException');
  });

  it('validates names, value sizes, tags and binary values', async () => {
    expect((await sdkError(sm.send(new CreateSecretCommand({ Name: 'bad name!', SecretString: 'x' })))).name).toBe('InvalidParameterException');
    expect((await sdkError(sm.send(new CreateSecretCommand({ Name: 'a'.repeat(513), SecretString: 'x' })))).name).toBe('ValidationException');
    await sm.send(new CreateSecretCommand({ Name: 'a'.repeat(512) }));
    await sm.send(new CreateSecretCommand({ Name: 'vault/max', SecretString: 'x'.repeat(65_536) }));
    const big = await sdkError(sm.send(new CreateSecretCommand({ Name: 'vault/big', SecretString: 'é'.repeat(32_769) })));
    expect(big.name).toBe('ValidationException');
    const both = await sdkError(sm.send(new CreateSecretCommand({ Name: 'vault/both', SecretString: 'x', SecretBinary: Buffer.from('y') })));
    expect(both.name).toBe('InvalidParameterException');
    const longKey = await sdkError(sm.send(new CreateSecretCommand({ Name: 'vault/t', Tags: [{ Key: 'k'.repeat(129), Value: 'v' }] })));
    expect(longKey.name).toBe('ValidationException');
    const longVal = await sdkError(sm.send(new CreateSecretCommand({ Name: 'vault/t', Tags: [{ Key: 'k', Value: 'v'.repeat(257) }] })));
    expect(longVal.name).toBe('ValidationException');
    const tags = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    await sm.send(new CreateSecretCommand({ Name: 'vault/t50', Tags: tags }));
    const e51 = await sdkError(sm.send(new TagResourceCommand({ SecretId: 'vault/t50', Tags: [{ Key: 'one-more', Value: 'v' }] })));
    expect(e51.name).toBe('ValidationException');
    await sm.send(new CreateSecretCommand({ Name: 'vault/bin', SecretBinary: new Uint8Array([0, 1, 2, 255]) }));
    const bin = await sm.send(new GetSecretValueCommand({ SecretId: 'vault/bin' }));
    expect([...bin.SecretBinary!]).toEqual([0, 1, 2, 255]);
    expect(bin.SecretString).toBeUndefined();
  });

  it('accepts names, full ARNs and partial ARNs as SecretId; regions are separate', async () => {
    const { ARN } = await sm.send(new CreateSecretCommand({ Name: 'vault/arn', SecretString: 'x' }));
    const partial = ARN!.slice(0, -7);
    expect((await sm.send(new DescribeSecretCommand({ SecretId: ARN }))).Name).toBe('vault/arn');
    expect((await sm.send(new DescribeSecretCommand({ SecretId: partial }))).Name).toBe('vault/arn');
    const wrong = await sdkError(sm.send(new DescribeSecretCommand({ SecretId: `${partial}-AAAAAA` })));
    expect(wrong.name).toBe('ResourceNotFoundException');
    const eu = smClient(emu.url, undefined, { region: 'eu-west-1' });
    expect((await sdkError(eu.send(new DescribeSecretCommand({ SecretId: 'vault/arn' })))).name).toBe('ResourceNotFoundException');
    const c = await eu.send(new CreateSecretCommand({ Name: 'vault/arn', SecretString: 'eu' }));
    expect(c.ARN).toContain(':eu-west-1:');
    eu.destroy();
  });

  it('tags merge and untag removes keys', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'vault/tags', Tags: [{ Key: 'a', Value: '1' }] }));
    await sm.send(new TagResourceCommand({ SecretId: 'vault/tags', Tags: [{ Key: 'a', Value: '2' }, { Key: 'b', Value: '3' }] }));
    expect((await sm.send(new DescribeSecretCommand({ SecretId: 'vault/tags' }))).Tags).toEqual([
      { Key: 'a', Value: '2' },
      { Key: 'b', Value: '3' },
    ]);
    await sm.send(new UntagResourceCommand({ SecretId: 'vault/tags', TagKeys: ['a'] }));
    expect(emu.control.secret('vault/tags')!.tags).toEqual([{ Key: 'b', Value: '3' }]);
  });
});

describe('JS SDK against the emulator: deletion semantics', () => {
  it('schedules deletion, refuses use and re-creation, and restores', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'vault/del', SecretString: 'x' }));
    const both = await sdkError(sm.send(new DeleteSecretCommand({ SecretId: 'vault/del', RecoveryWindowInDays: 7, ForceDeleteWithoutRecovery: true })));
    expect(both.name).toBe('InvalidParameterException');
    const short = await sdkError(sm.send(new DeleteSecretCommand({ SecretId: 'vault/del', RecoveryWindowInDays: 6 })));
    expect(short.name).toBe('InvalidParameterException');
    const del = await sm.send(new DeleteSecretCommand({ SecretId: 'vault/del' }));
    expect(Math.round((del.DeletionDate!.getTime() - Date.now()) / 86_400_000)).toBe(30);

    const get = await sdkError(sm.send(new GetSecretValueCommand({ SecretId: 'vault/del' })));
    expect(get.name).toBe('InvalidRequestException');
    expect(get.message).toBe("You can't perform this operation on the secret because it was marked for deletion.");
    expect((await sdkError(sm.send(new UpdateSecretCommand({ SecretId: 'vault/del', SecretString: 'y' })))).name).toBe('InvalidRequestException');
    const again = await sdkError(sm.send(new CreateSecretCommand({ Name: 'vault/del', SecretString: 'y' })));
    expect(again.name).toBe('InvalidRequestException');
    expect(again.message).toBe("You can't create this secret because a secret with this name is already scheduled for deletion.");
    expect((await sm.send(new DescribeSecretCommand({ SecretId: 'vault/del' }))).DeletedDate).toBeInstanceOf(Date);
    expect((await sm.send(new ListSecretsCommand({}))).SecretList).toEqual([]);
    expect((await sm.send(new ListSecretsCommand({ IncludePlannedDeletion: true }))).SecretList).toHaveLength(1);
    expect(emu.control.secret('vault/del')!.scheduledDeletionDate).toBeGreaterThan(Date.now());

    await sm.send(new RestoreSecretCommand({ SecretId: 'vault/del' }));
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'vault/del' }))).SecretString).toBe('x');
  });

  it('force-deletes at once; the name is reusable after forceDeleteDelayMs', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'vault/force', SecretString: 'x' }));
    await sm.send(new DeleteSecretCommand({ SecretId: 'vault/force', ForceDeleteWithoutRecovery: true }));
    expect(emu.control.secret('vault/force')).toBeUndefined();
    await sm.send(new CreateSecretCommand({ Name: 'vault/force', SecretString: 'y' }));

    emu.control.setForceDeleteDelay(300);
    await sm.send(new DeleteSecretCommand({ SecretId: 'vault/force', ForceDeleteWithoutRecovery: true }));
    const blocked = await sdkError(sm.send(new CreateSecretCommand({ Name: 'vault/force', SecretString: 'z' })));
    expect(blocked.name).toBe('InvalidRequestException');
    let created = false;
    const deadline = Date.now() + 3000;
    while (!created && Date.now() < deadline) {
      created = await sm.send(new CreateSecretCommand({ Name: 'vault/force', SecretString: 'z' })).then(
        () => true,
        () => false,
      );
      if (!created) await new Promise((r) => setTimeout(r, 25));
    }
    expect(created).toBe(true);
    // a forced deletion of an unknown secret succeeds, as on AWS
    await sm.send(new DeleteSecretCommand({ SecretId: 'vault/never', ForceDeleteWithoutRecovery: true }));
  });
});

describe('JS SDK against the emulator: listing and batch reads', () => {
  beforeEach(async () => {
    await sm.send(new CreateSecretCommand({ Name: 'vault/a/one', SecretString: '1', Description: 'Database password', Tags: [{ Key: 'team', Value: 'blue' }] }));
    await sm.send(new CreateSecretCommand({ Name: 'vault/a/two', SecretString: '2', Tags: [{ Key: 'team', Value: 'red' }] }));
    await sm.send(new CreateSecretCommand({ Name: 'vault/b/three', SecretString: '3' }));
    await sm.send(new CreateSecretCommand({ Name: 'other', SecretString: '4', Description: 'api key' }));
  });

  const names = async (filters: { Key: 'name' | 'tag-key' | 'tag-value' | 'description' | 'all'; Values: string[] }[]) =>
    ((await sm.send(new ListSecretsCommand({ Filters: filters }))).SecretList ?? []).map((s) => s.Name);

  it('filters by prefix, negation, tags, description and all', async () => {
    expect(await names([{ Key: 'name', Values: ['vault/a'] }])).toEqual(['vault/a/one', 'vault/a/two']);
    expect(await names([{ Key: 'name', Values: ['Vault'] }])).toEqual([]);
    expect(await names([{ Key: 'name', Values: ['!vault'] }])).toEqual(['other']);
    expect(await names([{ Key: 'tag-key', Values: ['te'] }])).toEqual(['vault/a/one', 'vault/a/two']);
    expect(await names([{ Key: 'tag-value', Values: ['red', 'blue'] }])).toEqual(['vault/a/one', 'vault/a/two']);
    expect(await names([{ Key: 'description', Values: ['pass'] }])).toEqual(['vault/a/one']);
    expect(await names([{ Key: 'all', Values: ['API'] }])).toEqual(['other']);
    expect(await names([{ Key: 'name', Values: ['vault'] }, { Key: 'tag-value', Values: ['!red'] }])).toEqual(['vault/a/one']);
  });

  it('paginates with MaxResults and NextToken', async () => {
    const seen: string[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const r = await sm.send(new ListSecretsCommand({ MaxResults: 3, NextToken: next }));
      seen.push(...(r.SecretList ?? []).map((s) => s.Name!));
      next = r.NextToken;
      pages++;
    } while (next !== undefined);
    expect(pages).toBe(2);
    expect(seen).toEqual(['vault/a/one', 'vault/a/two', 'vault/b/three', 'other']);
    expect((await sdkError(sm.send(new ListSecretsCommand({ NextToken: 'garbage' })))).name).toBe('InvalidNextTokenException');
    expect((await sdkError(sm.send(new ListSecretsCommand({ MaxResults: 101 })))).name).toBe('ValidationException');
  });

  it('BatchGetSecretValue by id list (with per-secret errors) and by filters', async () => {
    const r = await sm.send(new BatchGetSecretValueCommand({ SecretIdList: ['vault/a/one', 'missing'] }));
    expect(r.SecretValues!.map((v) => [v.Name, v.SecretString])).toEqual([['vault/a/one', '1']]);
    expect(r.Errors).toEqual([{ SecretId: 'missing', ErrorCode: 'ResourceNotFoundException', Message: "Secrets Manager can't find the specified secret." }]);
    const f = await sm.send(new BatchGetSecretValueCommand({ Filters: [{ Key: 'name', Values: ['vault/'] }], MaxResults: 2 }));
    expect(f.SecretValues!.map((v) => v.SecretString)).toEqual(['1', '2']);
    expect(f.NextToken).toBeDefined();
    const bad = await sdkError(sm.send(new BatchGetSecretValueCommand({ SecretIdList: ['x'], Filters: [{ Key: 'name', Values: ['x'] }] })));
    expect(bad.name).toBe('InvalidParameterException');
  });
});

describe('call log', () => {
  it('records operation, secret, result, access key and sub-ms arrival time', async () => {
    const t0 = performance.timeOrigin + performance.now();
    await sm.send(new CreateSecretCommand({ Name: 'vault/log', SecretString: 'x' }));
    await sdkError(sm.send(new GetSecretValueCommand({ SecretId: 'vault/none' })));
    await until(() => emu.control.calls().length === 2);
    const [a, b] = emu.control.calls();
    expect(a).toMatchObject({ operation: 'CreateSecret', secretName: 'vault/log', result: 'ok', accessKeyId: 'AKIAIOSFODNN7EXAMPLE', status: 200 });
    expect(b).toMatchObject({ operation: 'GetSecretValue', secretName: 'vault/none', result: 'ResourceNotFoundException', status: 400 });
    expect(a!.time).toBeGreaterThanOrEqual(t0 - 1);
    expect(b!.time).toBeGreaterThan(a!.time);
    expect(Number.isInteger(a!.time) && Number.isInteger(b!.time)).toBe(false);
  });
});
