/**
 * Audit log rotation, as Vault: logrotate renames the file and sends SIGHUP;
 * the server keeps running and the file device starts a fresh file at the
 * configured path. (Node's default action for SIGHUP is to exit — a
 * `postrotate kill -HUP` copied from Vault's docs used to stop the server.)
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startConfigServer, writeJsonConfig, writeSealKey, type ServerProcess } from '../support/config-server.js';
import { waitFor } from '../support/dev-server.js';

let dir = '';
let server: ServerProcess | undefined;
afterAll(async () => {
  if (server && server.proc.exitCode === null && server.proc.signalCode === null) await server.kill9();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const paths = (file: string): string[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { request?: { path?: string } }).request?.path ?? '')
    : [];

describe('SIGHUP', () => {
  it('keeps the server running and reopens file audit devices (log rotation)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'secrets-sync-rotate-'));
    const port = await freePort();
    const config = writeJsonConfig(join(dir, 'config.json'), { dir, port, keyFile: writeSealKey(join(dir, 'seal.key')) });
    server = await startConfigServer(config, port);
    const s = server;
    const root = (await s.api('PUT', 'sys/init', {}, { token: null })).body.root_token as string;
    const api = (m: string, p: string, b?: unknown) => s.api(m, p, b, { token: root });
    const log = join(dir, 'audit.log');
    expect((await api('PUT', 'sys/audit/f', { type: 'file', options: { file_path: log } })).status).toBe(204);
    expect((await api('PUT', 'sys/mounts/before-rotation/', { type: 'kv-v2' })).status).toBe(204);
    await waitFor(() => paths(log).some((p) => p.startsWith('sys/mounts/before-rotation')), 5000, 20);

    renameSync(log, `${log}.1`);
    s.proc.kill('SIGHUP');
    // the signal is handled asynchronously: keep making requests until one lands in a fresh file
    await waitFor(
      async () => {
        expect(s.proc.exitCode, `server exited on SIGHUP: ${s.stderr()}`).toBeNull();
        expect(s.proc.signalCode, 'server killed by SIGHUP').toBeNull();
        await api('PUT', 'sys/mounts/after-rotation/', { type: 'kv-v2' });
        return paths(log).some((p) => p.startsWith('sys/mounts/after-rotation'));
      },
      5000,
      50,
    );
    expect((await s.api('GET', 'sys/health', undefined, { token: null })).status).toBe(200);
    expect(paths(`${log}.1`).some((p) => p.startsWith('sys/mounts/before-rotation'))).toBe(true);
    expect(paths(log).some((p) => p.startsWith('sys/mounts/before-rotation'))).toBe(false);
    expect((await s.stop()).code).toBe(0);
  });
});
