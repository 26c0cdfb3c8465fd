/** The standalone emulator (`npm run emulator:aws`), as another process would use it. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, UpdateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkError, smClient } from './aws-test-clients.js';

let child: ChildProcess;
let url: string;
const KEY = { accessKeyId: 'AKIASTANDALONE000001', secretAccessKey: 'standalone/secret+key' };

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aws-emu-'));
  const policyFile = join(dir, 'policy.json');
  writeFileSync(
    policyFile,
    JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['secretsmanager:Create*', 'secretsmanager:Update*'], Resource: 'arn:aws:secretsmanager:*:*:secret:vault*' }] }),
  );
  child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'main.ts'), '--port', '0', '--policy', policyFile, '--credentials', `${KEY.accessKeyId}:${KEY.secretAccessKey}`, '--throttle'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
  });
});
afterAll(() => {
  child.kill('SIGTERM');
});

describe('standalone emulator (main.ts)', () => {
  it('prints its URL, applies --credentials, --policy and --throttle', async () => {
    const sm = smClient(url, KEY);
    await sm.send(new CreateSecretCommand({ Name: 'vault/standalone', SecretString: 'x' }));
    expect((await sdkError(sm.send(new CreateSecretCommand({ Name: 'prod/x' })))).name).toBe('AccessDeniedException');
    const example = smClient(url);
    expect((await sdkError(example.send(new CreateSecretCommand({ Name: 'vault/y' })))).name).toBe('UnrecognizedClientException');
    const outcomes = await Promise.all(
      Array.from({ length: 60 }, () => sm.send(new UpdateSecretCommand({ SecretId: 'vault/standalone', Description: 'd' })).then(() => 'ok', (e: Error) => e.name)),
    );
    expect(outcomes).toContain('ThrottlingException');
    const state = (await (await fetch(`${url}/_emulator/state`)).json()) as { throttle: Record<string, number> };
    expect(state.throttle.write).toBe(50);
    sm.destroy();
    example.destroy();
  });
});
