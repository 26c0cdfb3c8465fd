/**
 * Real clients for the emulator's tests: the JS SDK, the AWS CLI and boto3.
 */
import { execFile } from 'node:child_process';
import { SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY } from './aws-emulator.js';

export interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export const EXAMPLE_CREDS: Creds = { accessKeyId: EXAMPLE_ACCESS_KEY_ID, secretAccessKey: EXAMPLE_SECRET_ACCESS_KEY };

export function smClient(url: string, creds: Creds = EXAMPLE_CREDS, extra: Partial<SecretsManagerClientConfig> = {}): SecretsManagerClient {
  return new SecretsManagerClient({ endpoint: url, region: 'us-east-1', credentials: creds, maxAttempts: 1, ...extra });
}

/** Resolves with the SDK error a promise rejects with (fails if it resolves). */
export async function sdkError(p: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number; attempts?: number } }> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the call to fail');
}

export interface ProcResult {
  code: number;
  stdout: string;
  stderr: string;
}

function childEnv(creds: Creds): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
  if (creds.sessionToken !== undefined) env.AWS_SESSION_TOKEN = creds.sessionToken;
  return env;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<ProcResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** `aws <args> --endpoint-url URL --region us-east-1 --output json`. */
export function awsCli(url: string, args: string[], creds: Creds = EXAMPLE_CREDS): Promise<ProcResult> {
  return run('aws', [...args, '--endpoint-url', url, '--region', 'us-east-1', '--output', 'json'], childEnv(creds));
}

/** Parses the CLI's JSON output (throws with stderr if the command failed). */
export async function awsJson(url: string, args: string[], creds: Creds = EXAMPLE_CREDS): Promise<Record<string, unknown>> {
  const r = await awsCli(url, args, creds);
  if (r.code !== 0) throw new Error(`aws ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim() === '' ? {} : (JSON.parse(r.stdout) as Record<string, unknown>);
}

/** Runs a python3 script with `ENDPOINT` set in its environment; returns its stdout parsed as JSON. */
export async function python(url: string, script: string, creds: Creds = EXAMPLE_CREDS): Promise<unknown> {
  const r = await run('python3', ['-'], { ...childEnv(creds), ENDPOINT: url }, script);
  if (r.code !== 0) throw new Error(`python3 failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Waits until `check` returns true, polling every few ms, up to `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
