/**
 * Standalone emulator:
 *   npm run emulator:aws -- --port 4566 [--host 127.0.0.1] [--policy FILE]
 *     [--credentials AKID:SECRET ...] [--role FILE] [--throttle] [--error-rate F]
 *     [--latency-ms N] [--drop-rate F] [--garbage-rate F] [--force-delete-delay-ms N]
 * `--policy` applies to every `--credentials` pair (default: allow-all); with no
 * `--credentials`, AWS's documented example key pair is accepted.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EXAMPLE_ACCESS_KEY_ID, EXAMPLE_SECRET_ACCESS_KEY, startAwsEmulator } from './aws-emulator.js';
import { ALLOW_ALL, type PolicyDocument, assertPolicy } from './aws-iam-policy.js';
import type { CredentialConfig, RoleConfig } from './aws-sts.js';

function fail(msg: string): never {
  console.error(`emulator:aws: ${msg}`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4566' },
    host: { type: 'string', default: '127.0.0.1' },
    policy: { type: 'string' },
    credentials: { type: 'string', multiple: true },
    role: { type: 'string', multiple: true },
    throttle: { type: 'boolean', default: false },
    'error-rate': { type: 'string' },
    'latency-ms': { type: 'string' },
    'drop-rate': { type: 'string' },
    'garbage-rate': { type: 'string' },
    'force-delete-delay-ms': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});

if (values.help) {
  console.log(readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0]);
  process.exit(0);
}

const num = (v: string | undefined, name: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) fail(`--${name} must be a non-negative number`);
  return n;
};

let policy: PolicyDocument = ALLOW_ALL;
if (values.policy !== undefined) {
  try {
    const p: unknown = JSON.parse(readFileSync(values.policy, 'utf8'));
    assertPolicy(p);
    policy = p;
  } catch (e) {
    fail(`--policy ${values.policy}: ${(e as Error).message}`);
  }
}
const pairs = values.credentials ?? [`${EXAMPLE_ACCESS_KEY_ID}:${EXAMPLE_SECRET_ACCESS_KEY}`];
const credentials: CredentialConfig[] = pairs.map((pair) => {
  const i = pair.indexOf(':');
  if (i <= 0) fail(`--credentials expects AKID:SECRET, got ${pair}`);
  return { accessKeyId: pair.slice(0, i), secretAccessKey: pair.slice(i + 1), policy };
});
const roles: RoleConfig[] = (values.role ?? []).map((f) => JSON.parse(readFileSync(f, 'utf8')) as RoleConfig);
const port = num(values.port, 'port')!;

const emulator = await startAwsEmulator({
  port,
  host: values.host,
  credentials,
  roles,
  throttle: values.throttle,
  faults: {
    errorRate: num(values['error-rate'], 'error-rate'),
    latencyMs: num(values['latency-ms'], 'latency-ms'),
    dropRate: num(values['drop-rate'], 'drop-rate'),
    garbageRate: num(values['garbage-rate'], 'garbage-rate'),
  },
  forceDeleteDelayMs: num(values['force-delete-delay-ms'], 'force-delete-delay-ms'),
});
console.log(`AWS Secrets Manager emulator listening on ${emulator.url}`);

const stop = () => {
  void emulator.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
