import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startDevServer, waitFor, type TestServer } from '../../test/support/dev-server.js';

let s: TestServer;
let accessor: string;
beforeAll(async () => {
  s = await startDevServer();
  accessor = (await s.api('GET', 'sys/mounts/secret')).body.data.accessor;
});
afterAll(async () => {
  await s?.close();
});

interface Sub {
  frames: Array<Record<string, any>>;
  ws: WebSocket;
}

function subscribe(type: string, token: string | undefined, query = 'json=true'): Promise<Sub | { status: number }> {
  const url = `${s.url.replace(/^http/, 'ws')}/v1/sys/events/subscribe/${type}?${query}`;
  const ws = new WebSocket(url, { headers: token ? { 'X-Vault-Token': token } : {} });
  const frames: Array<Record<string, any>> = [];
  ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ frames, ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.once('error', (e) => {
      if (!(e as Error).message.includes('Unexpected server response')) reject(e);
    });
  });
}

async function tokenWith(policy: string): Promise<string> {
  const name = `p${Math.random().toString(16).slice(2, 10)}`;
  await s.api('PUT', `sys/policy/${name}`, { policy });
  return (await s.api('POST', 'auth/token/create', { policies: [name] })).body.auth.client_token;
}

describe('sys/events/subscribe', () => {
  it('sends Vault CloudEvents frames for KV-v2 changes, without values', async () => {
    const sub = (await subscribe('kv-v2/*', s.rootToken)) as Sub;
    try {
      await s.api('PUT', 'secret/data/ev/one', { data: { pw: 'never-in-an-event' } });
      await s.api('POST', 'secret/delete/ev/one', { versions: [1] });
      await s.api('DELETE', 'secret/metadata/ev/one');
      await waitFor(() => sub.frames.length >= 3, 2000);
      const [w, d, m] = sub.frames;
      expect(w).toMatchObject({
        specversion: '1.0',
        type: '*',
        datacontentype: 'application/cloudevents',
        data: {
          event_type: 'kv-v2/data-write',
          event: { metadata: { current_version: '1', oldest_version: '0', data_path: 'secret/data/ev/one', path: 'secret/data/ev/one', modified: 'true', operation: 'data-write' } },
          plugin_info: { mount_class: 'secret', mount_accessor: accessor, mount_path: 'secret/', plugin: 'kv' },
        },
      });
      expect(w!.id).toBe(w!.data.event.id);
      expect(w!.source).toMatch(/^vault:\/\//);
      expect(d!.data.event_type).toBe('kv-v2/delete');
      expect(d!.data.event.metadata).toMatchObject({ path: 'secret/delete/ev/one', data_path: 'secret/data/ev/one', deleted_versions: '[1]' });
      expect(m!.data.event_type).toBe('kv-v2/metadata-delete');
      expect(m!.data.event.metadata.data_path).toBeUndefined();
      expect(JSON.stringify(sub.frames)).not.toContain('never-in-an-event');
    } finally {
      sub.ws.close();
    }
  });

  it('filters by event type glob', async () => {
    const sub = (await subscribe('kv-v2/data-patch', s.rootToken)) as Sub;
    try {
      await s.api('PUT', 'secret/data/ev/two', { data: { a: '1' } });
      await s.api('PATCH', 'secret/data/ev/two', { data: { b: '2' } });
      await waitFor(() => sub.frames.length >= 1, 2000);
      await new Promise((r) => setTimeout(r, 50));
      expect(sub.frames.map((f) => f.data.event_type)).toEqual(['kv-v2/data-patch']);
    } finally {
      sub.ws.close();
    }
  });

  it('refuses a missing token, a token without read on the subscribe path, and json=false', async () => {
    expect(await subscribe('kv-v2/*', undefined)).toEqual({ status: 403 });
    expect(await subscribe('kv-v2/*', 'not-a-token')).toEqual({ status: 403 });
    const t = await tokenWith('path "secret/*" { capabilities = ["read", "subscribe"] }');
    expect(await subscribe('kv-v2/*', t)).toEqual({ status: 403 });
    expect(await subscribe('kv-v2/*', s.rootToken, 'json=false')).toEqual({ status: 400 });
  });

  it('sends only events whose data_path the token may subscribe to', async () => {
    const t = await tokenWith(`
      path "sys/events/subscribe/*" { capabilities = ["read"] }
      path "secret/data/allowed/*" { capabilities = ["subscribe"] }
    `);
    const sub = (await subscribe('kv-v2/*', t)) as Sub;
    try {
      await s.api('PUT', 'secret/data/hidden/x', { data: { a: '1' } });
      await s.api('PUT', 'secret/data/allowed/x', { data: { a: '1' } });
      await waitFor(() => sub.frames.length >= 1, 2000);
      await new Promise((r) => setTimeout(r, 50));
      expect(sub.frames.map((f) => f.data.event.metadata.data_path)).toEqual(['secret/data/allowed/x']);
    } finally {
      sub.ws.close();
    }
  });

  it('other upgrade paths are 404', async () => {
    const ws = new WebSocket(`${s.url.replace(/^http/, 'ws')}/v1/sys/other`, { headers: { 'X-Vault-Token': s.rootToken } });
    const status = await new Promise<number>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('error', () => undefined);
    });
    ws.terminate();
    expect(status).toBe(404);
  });
});
