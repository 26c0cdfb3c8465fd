/** The server config's `sync` stanza reaches the engine: queue_capacity is the default of sys/sync/config. */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseServerConfig } from '../../src/config/server-config.js';
import { startServer, type ServerHandle } from '../../src/server/start-server.js';
import { apiClient } from '../support/dev-server.js';

let h: ServerHandle;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  const config = parseServerConfig(
    JSON.stringify({
      storage: { inmem: {} },
      listener: { tcp: { address: '127.0.0.1:0', tls_disable: true } },
      sync: { queue_capacity: 1234 },
    }),
    'json',
    { SECRETS_SYNC_SEAL_KEY: randomBytes(32).toString('base64') },
  );
  h = await startServer({ config, logger: pino({ level: 'silent' }) });
  const init = await apiClient(h.url, undefined)('PUT', 'sys/init', {});
  api = apiClient(h.url, init.body.root_token);
});
afterAll(async () => h?.close());

it('queue_capacity from the config file is the default, and DELETE sys/sync/config returns to it', async () => {
  expect((await api('GET', 'sys/sync/config')).body.data).toEqual({ disabled: false, queue_capacity: 1234 });
  await api('PATCH', 'sys/sync/config', { queue_capacity: 99 });
  expect((await api('GET', 'sys/sync/config')).body.data.queue_capacity).toBe(99);
  expect((await api('DELETE', 'sys/sync/config')).status).toBe(204);
  expect((await api('GET', 'sys/sync/config')).body.data).toEqual({ disabled: false, queue_capacity: 1234 });
});

it('a destination read back (credentials masked) and written again keeps its credentials', async () => {
  const created = await api('PUT', 'sys/sync/destinations/aws-sm/roundtrip', {
    access_key_id: 'AKIAROUNDTRIP0000000',
    secret_access_key: 'roundtrip-secret-key',
    region: 'us-east-1',
  });
  expect(created.status).toBe(200);
  const read = (await api('GET', 'sys/sync/destinations/aws-sm/roundtrip')).body.data;
  expect(read.connection_details.secret_access_key).toBe('*****');
  expect((await api('PUT', 'sys/sync/destinations/aws-sm/roundtrip', { ...read.connection_details, custom_tags: { team: 'a' } })).status).toBe(200);
  const rec = await h.core.svc().sync.readDestination('aws-sm', 'roundtrip');
  expect(rec!.connection.secret_access_key).toBe('roundtrip-secret-key');
  expect(rec!.connection.access_key_id).toBe('AKIAROUNDTRIP0000000');
});
