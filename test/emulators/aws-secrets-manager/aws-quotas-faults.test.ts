import { CreateSecretCommand, GetSecretValueCommand, type SecretsManagerClient, UpdateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsEmulator, type CallRecord, type SecretSnapshot, startAwsEmulator } from './index.js';
import { sdkError, smClient } from './aws-test-clients.js';

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

describe('request-rate quotas', () => {
  it('answers ThrottlingException "Rate exceeded" and the SDK retries it to success', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'vault/q', SecretString: '0' }));
    emu.control.setThrottle({ write: 5 });
    for (let i = 0; i < 5; i++) await sm.send(new UpdateSecretCommand({ SecretId: 'vault/q', SecretString: `v${i}` }));
    const once = await sdkError(sm.send(new UpdateSecretCommand({ SecretId: 'vault/q', SecretString: 'no' })));
    expect(once.name).toBe('ThrottlingException');
    expect(once.message).toBe('Rate exceeded');
    expect(once.$metadata?.httpStatusCode).toBe(400);

    emu.control.clearCalls();
    const retrying = smClient(emu.url, undefined, { maxAttempts: 12 });
    const r = await retrying.send(new UpdateSecretCommand({ SecretId: 'vault/q', SecretString: 'final' }));
    expect(r.$metadata.attempts).toBeGreaterThan(1);
    const results = emu.control.calls().map((c) => c.result);
    expect(results.slice(0, -1).every((x) => x === 'ThrottlingException')).toBe(true);
    expect(results.at(-1)).toBe('ok');
    expect(emu.control.secret('vault/q')!.currentValue).toBe('final');
    retrying.destroy();
  });

  it('applies AWS rates when switched on (CreateSecret 50/s)', async () => {
    emu.control.setThrottle(true);
    const outcomes = await Promise.all(
      Array.from({ length: 70 }, (_, i) => sm.send(new CreateSecretCommand({ Name: `vault/burst/${i}` })).then(() => 'ok', (e: Error) => e.name)),
    );
    const ok = outcomes.filter((x) => x === 'ok').length;
    expect(ok).toBeGreaterThanOrEqual(50);
    expect(ok).toBeLessThan(70);
    expect(outcomes.filter((x) => x !== 'ok').every((x) => x === 'ThrottlingException')).toBe(true);
    emu.control.setThrottle(false);
    await sm.send(new CreateSecretCommand({ Name: 'vault/after' }));
  });
});

describe('injected faults', () => {
  it('5xx InternalServiceError (retried by the SDK), dropped connections, garbage, hangs, latency', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'vault/f', SecretString: 'x' }));
    emu.control.setFaults({ errorRate: 1 });
    const two = smClient(emu.url, undefined, { maxAttempts: 2 });
    const e = await sdkError(two.send(new GetSecretValueCommand({ SecretId: 'vault/f' })));
    expect(e.name).toBe('InternalServiceError');
    expect(e.$metadata?.httpStatusCode).toBe(500);
    expect(e.$metadata?.attempts).toBe(2);
    two.destroy();

    emu.control.setFaults({ dropRate: 1 });
    await sdkError(sm.send(new GetSecretValueCommand({ SecretId: 'vault/f' })));
    emu.control.setFaults({ garbageRate: 1 });
    await sdkError(sm.send(new GetSecretValueCommand({ SecretId: 'vault/f' })));
    emu.control.setFaults({ hang: true });
    const hung = await sdkError(sm.send(new GetSecretValueCommand({ SecretId: 'vault/f' }), { abortSignal: AbortSignal.timeout(300) }));
    expect(hung.name).toMatch(/Abort|Timeout/);
    emu.control.setFaults({ latencyMs: 120 });
    const t0 = performance.now();
    await sm.send(new GetSecretValueCommand({ SecretId: 'vault/f' }));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(115);
    emu.control.setFaults({});
    expect(emu.control.calls().map((c) => c.result)).toEqual([
      'ok',
      'InternalServiceError',
      'InternalServiceError',
      'dropped',
      'garbage',
      'hang',
      'ok',
    ]);
  });
});

describe('control surface', () => {
  it('onCall / waitForCall see arrivals', async () => {
    const seen: CallRecord[] = [];
    const off = emu.control.onCall((c) => seen.push(c));
    const waiting = emu.control.waitForCall((c) => c.operation === 'CreateSecret' && c.secretName === 'vault/w');
    await sm.send(new CreateSecretCommand({ Name: 'vault/w' }));
    expect((await waiting).result).toBe('ok');
    off();
    await sm.send(new CreateSecretCommand({ Name: 'vault/w2' }));
    expect(seen.map((c) => c.secretName)).toEqual(['vault/w']);
    await expect(emu.control.waitForCall(() => false, 50)).rejects.toThrow(/no matching call/);
  });

  it('works over HTTP under /_emulator/', async () => {
    const ctl = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`${emu.url}/_emulator/${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: r.status, body: (await r.json()) as unknown };
    };
    expect((await ctl('GET', 'health')).body).toEqual({ ok: true });
    await sm.send(new CreateSecretCommand({ Name: 'vault/h', SecretString: 'x', Tags: [{ Key: 'a', Value: 'b' }] }));
    const secrets = (await ctl('GET', 'secrets')).body as SecretSnapshot[];
    expect(secrets.map((s) => [s.name, s.currentValue, s.tags])).toEqual([['vault/h', 'x', [{ Key: 'a', Value: 'b' }]]]);
    expect(((await ctl('GET', `secrets/${encodeURIComponent('vault/h')}`)).body as SecretSnapshot).arn).toBe(secrets[0]!.arn);
    expect((await ctl('GET', 'secrets/nope')).status).toBe(404);
    const calls = (await ctl('GET', 'calls')).body as CallRecord[];
    expect(calls).toHaveLength(1);
    expect(((await ctl('GET', `calls?since=${calls[0]!.seq}`)).body as CallRecord[])).toEqual([]);

    await ctl('POST', 'policy', { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', policy: { Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }] } });
    expect((await sdkError(sm.send(new CreateSecretCommand({ Name: 'vault/denied' })))).name).toBe('AccessDeniedException');
    await ctl('POST', 'faults', { errorRate: 1 });
    expect((await sdkError(sm.send(new CreateSecretCommand({ Name: 'vault/x' })))).name).toBe('InternalServiceError');
    expect(((await ctl('GET', 'state')).body as { faults: { errorRate: number } }).faults.errorRate).toBe(1);
    expect((await ctl('POST', 'faults', { errorRate: 2 })).status).toBe(400);
    await ctl('POST', 'throttle', { rates: { create: 1 } });
    expect(((await ctl('GET', 'state')).body as { throttle: Record<string, number> }).throttle.create).toBe(1);
    await ctl('POST', 'credentials', { accessKeyId: 'AKIANEWNEWNEWNEWNEW1', secretAccessKey: 'new-secret' });
    await ctl('POST', 'roles', { roleArn: 'arn:aws:iam::123456789012:role/r', policy: { Statement: [] } });
    await ctl('POST', 'expire-sessions');
    await ctl('POST', 'force-delete-delay', { ms: 10 });
    expect((await ctl('DELETE', 'calls')).status).toBe(200);
    expect((await ctl('GET', 'calls')).body).toEqual([]);

    expect((await ctl('POST', 'reset')).status).toBe(200);
    expect((await ctl('GET', 'secrets')).body).toEqual([]);
    await sm.send(new CreateSecretCommand({ Name: 'vault/after-reset' })); // policy and faults back to the start-up ones
    const n = smClient(emu.url, { accessKeyId: 'AKIANEWNEWNEWNEWNEW1', secretAccessKey: 'new-secret' });
    expect((await sdkError(n.send(new CreateSecretCommand({ Name: 'vault/n' })))).name).toBe('UnrecognizedClientException');
    n.destroy();
    expect((await ctl('GET', 'nothing-here')).status).toBe(404);
  });
});
