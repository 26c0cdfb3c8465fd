import { connect } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditChange } from './audit-line.js';
import { AuditListener } from './audit-listener.js';

const entry = (path: string) =>
  JSON.stringify({ type: 'response', request: { operation: 'update', mount_point: 'kv/', mount_type: 'kv', mount_accessor: 'kv_1', path }, response: {} });

let listener: AuditListener | undefined;
afterEach(async () => {
  await listener?.stop();
  listener = undefined;
});

async function setup(maxLineBytes?: number) {
  const changes: AuditChange[] = [];
  let connects = 0;
  const registry = new Registry();
  listener = new AuditListener({ host: '127.0.0.1', port: 0, registry, onChange: (c) => changes.push(c), onConnect: () => connects++, ...(maxLineBytes && { maxLineBytes }) });
  const { port } = await listener.start();
  const send = async (...chunks: Array<string | Buffer>) => {
    const s = connect(port, '127.0.0.1');
    await new Promise<void>((r) => s.once('connect', () => r()));
    for (const c of chunks) {
      s.write(c);
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise<void>((r) => s.end(() => r()));
    await new Promise((r) => setTimeout(r, 30));
  };
  const count = async (result: string) => {
    const m = await registry.getSingleMetric('secrets_sync_audit_feed_lines_total')!.get();
    return m.values.find((v) => v.labels.result === result)?.value ?? 0;
  };
  return { changes, send, count, connects: () => connects };
}

describe('AuditListener', () => {
  it('reassembles lines split across chunks and several lines in one chunk', async () => {
    const t = await setup();
    const a = entry('kv/data/a');
    await t.send(a.slice(0, 10), a.slice(10) + '\n' + entry('kv/data/b') + '\n' + entry('kv/data/c').slice(0, 5), entry('kv/data/c').slice(5) + '\n');
    expect(t.changes.map((c) => c.path)).toEqual(['kv/data/a', 'kv/data/b', 'kv/data/c']);
    expect(await t.count('change')).toBe(3);
    expect(t.connects()).toBe(1);
  });

  it('drops an over-long line (even spread over chunks) and carries on with the next', async () => {
    const t = await setup(1000);
    await t.send('x'.repeat(600), 'y'.repeat(600), 'z'.repeat(600) + '\n' + entry('kv/data/after') + '\n');
    await t.send('q'.repeat(2000) + '\n' + entry('kv/data/second') + '\n');
    expect(t.changes.map((c) => c.path)).toEqual(['kv/data/after', 'kv/data/second']);
    expect(await t.count('too_long')).toBe(2);
  });

  it('counts garbage by reason and never throws', async () => {
    const t = await setup();
    await t.send('garbage\n', Buffer.from([0xff, 0xff, 0x0a]), '['.repeat(5000) + '\n', '{"type":"request","request":{}}\n', entry('kv/data/ok') + '\n');
    expect(await t.count('invalid_json')).toBe(1);
    expect(await t.count('invalid_utf8')).toBe(1);
    expect(await t.count('too_deep')).toBe(1);
    expect(await t.count('ignored')).toBe(1);
    expect(t.changes.map((c) => c.path)).toEqual(['kv/data/ok']);
  });

  it('a consumer that throws does not take the listener down', async () => {
    const registry = new Registry();
    listener = new AuditListener({ host: '127.0.0.1', port: 0, registry, onChange: () => { throw new Error('boom'); } });
    const { port } = await listener.start();
    const s = connect(port, '127.0.0.1');
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.end(entry('kv/data/a') + '\n');
    await new Promise((r) => setTimeout(r, 30));
    const s2 = connect(port, '127.0.0.1');
    await new Promise<void>((r, j) => s2.once('connect', () => r()).once('error', j));
    s2.destroy();
  });
});
