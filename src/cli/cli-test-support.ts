/**
 * Test support for the CLI's unit tests (not used at run time): a recording
 * fake of the remote Vault HTTP API and a runner that captures main()'s output.
 * End-to-end tests run the CLI against the real server instead.
 */
import { mkdtempSync } from 'node:fs';
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunServerOptions } from '../server/run-server.js';
import { main } from './main.js';

export interface RecordedRequest {
  method: string;
  /** Path with query string, e.g. `/v1/my-kv/metadata?list=true`. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Reply {
  status: number;
  body?: unknown;
}

export type Handler = (method: string, path: string, body: unknown, req: RecordedRequest) => Reply | undefined;

export interface FakeVault {
  url: string;
  requests: RecordedRequest[];
  reset(): void;
  close(): Promise<void>;
}

/** Starts a node:http server that records every request and answers from `handler` (default 404 `{"errors":[]}`). */
export async function startFakeVault(handler: Handler): Promise<FakeVault> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rec: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(rec);
      let parsed: unknown;
      try {
        parsed = rec.body ? JSON.parse(rec.body) : undefined;
      } catch {
        parsed = undefined;
      }
      const reply = handler(rec.method, rec.path, parsed, rec) ?? { status: 404, body: { errors: [] } };
      if (reply.body === undefined) {
        res.writeHead(reply.status);
        res.end();
        return;
      }
      res.writeHead(reply.status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(reply.body) + '\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reset: () => {
      requests.length = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The preflight answer for a mount (`version` "2" for KV v2). */
export function mountInfo(path: string, version: string): Reply {
  return {
    status: 200,
    body: {
      data: {
        accessor: 'kv_6f196233',
        config: { default_lease_ttl: 0, force_no_cache: false, max_lease_ttl: 0 },
        description: '',
        local: false,
        options: { version },
        path,
        seal_wrap: false,
        type: 'kv',
      },
    },
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  stdin?: string;
  env?: Record<string, string | undefined>;
  home?: string;
  runServer?: (opts: RunServerOptions) => Promise<number>;
}

/** Runs main() against the fake with a root token and a scratch HOME; captures output. */
export async function runCli(fake: FakeVault | undefined, argv: string[], opts: RunOptions = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const home = opts.home ?? mkdtempSync(join(tmpdir(), 'cli-home-'));
  const env: Record<string, string | undefined> = {
    HOME: home,
    ...(fake ? { VAULT_ADDR: fake.url } : {}),
    VAULT_TOKEN: 'root-token',
    ...opts.env,
  };
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: opts.stdin ?? '',
    env,
    ...(opts.runServer ? { runServer: opts.runServer } : {}),
  });
  return { code, stdout, stderr };
}
