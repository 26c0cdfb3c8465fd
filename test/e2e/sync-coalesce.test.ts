/**
 * Bursts coalesce: jobs carry no values and the worker reads the latest
 * version, so 500 rapid writes to one secret end with the last value at AWS
 * after far fewer than 500 writes there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEmulator, type AwsEmulator } from '../emulators/aws-secrets-manager/index.js';
import { BRIEF_POLICY, emulatorConnection } from '../support/brief.js';
import { startDevServer, waitFor, type TestServer } from '../support/dev-server.js';

const WRITES = 500;
let s: TestServer;
let aws: AwsEmulator;
let accessor: string;

beforeAll(async () => {
  aws = await startAwsEmulator();
  aws.control.setPolicy('AKIAIOSFODNN7EXAMPLE', BRIEF_POLICY);
  s = await startDevServer();
  expect((await s.api('PUT', 'sys/mounts/my-kv/', { type: 'kv-v2' })).status).toBe(204);
  accessor = (await s.api('GET', 'sys/mounts/my-kv')).body.data.accessor;
  expect((await s.api('PUT', 'sys/sync/destinations/aws-sm/burst', emulatorConnection(aws.url))).status).toBe(200);
});
afterAll(async () => {
  await s?.close();
  await aws?.close();
});

async function associate(secret: string): Promise<void> {
  expect((await s.api('PUT', `my-kv/data/${secret}`, { data: { n: 'initial' } })).status).toBe(200);
  const set = await s.api('PUT', 'sys/sync/destinations/aws-sm/burst/associations/set', { mount: 'my-kv', secret_name: secret });
  expect(set.body.data.associated_secrets[`${accessor}/${secret}`].sync_status).toBe('SYNCED');
}

/** Value-carrying calls (CreateSecret/UpdateSecret) the emulator received for one external secret. */
function writesTo(name: string): number {
  return aws.control.calls().filter((c) => c.secretName === name && (c.operation === 'CreateSecret' || c.operation === 'UpdateSecret')).length;
}

async function settle(secret: string, expected: string): Promise<void> {
  const name = `vault/${accessor}/${secret}`;
  await waitFor(() => aws.control.secret(name)?.currentValue === expected, 15_000, 10);
  await waitFor(async () => {
    const r = await s.api('GET', `sys/sync/associations/my-kv/${secret}`);
    return r.body?.data?.associated_destinations?.['aws-sm/burst']?.sync_status === 'SYNCED';
  }, 15_000, 20);
  // nothing further arrives once settled
  const n = writesTo(name);
  await new Promise((r) => setTimeout(r, 200));
  expect(writesTo(name)).toBe(n);
  expect(aws.control.secret(name)!.currentValue).toBe(expected);
}

describe('500 rapid writes to one associated secret', () => {
  it('sequential: AWS ends with the last write after far fewer than 500 writes', async () => {
    const secret = 'seq';
    await associate(secret);
    const name = `vault/${accessor}/${secret}`;
    const before = writesTo(name);
    for (let i = 1; i <= WRITES; i++) {
      const r = await s.api('PUT', `my-kv/data/${secret}`, { data: { n: `v${i}` } });
      expect(r.status).toBe(200);
    }
    await settle(secret, JSON.stringify({ n: `v${WRITES}` }));
    const calls = writesTo(name) - before;
    console.log(`coalescing (sequential): ${WRITES} KV writes -> ${calls} CreateSecret/UpdateSecret calls`);
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThan(100);
  });

  it('concurrent: AWS ends with the value of the newest KV version after far fewer than 500 writes', async () => {
    const secret = 'conc';
    await associate(secret);
    const name = `vault/${accessor}/${secret}`;
    const before = writesTo(name);
    let next = 1;
    const worker = async () => {
      while (next <= WRITES) {
        const i = next++;
        const r = await s.api('PUT', `my-kv/data/${secret}`, { data: { n: `v${i}` } });
        expect(r.status).toBe(200);
      }
    };
    await Promise.all(Array.from({ length: 25 }, worker));
    // the order of concurrent writes is the KV's: the newest version is the truth
    const latest = await s.api('GET', `my-kv/data/${secret}`);
    expect(latest.body.data.metadata.version).toBe(WRITES + 1);
    await settle(secret, JSON.stringify(latest.body.data.data));
    const calls = writesTo(name) - before;
    console.log(`coalescing (concurrent x25): ${WRITES} KV writes -> ${calls} CreateSecret/UpdateSecret calls`);
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThan(100);
  });
});
