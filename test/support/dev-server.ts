/** Test support: a real dev server over HTTP on a free loopback port, and a tiny Vault API client. */
import pino from 'pino';
import { startServer, type ServerHandle } from '../../src/server/start-server.js';

export interface ApiAnswer {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

export interface TestServer extends ServerHandle {
  rootToken: string;
  api: (method: string, path: string, body?: unknown, opts?: { token?: string | null; headers?: Record<string, string> }) => Promise<ApiAnswer>;
}

export async function startDevServer(rootTokenId = 'root-token'): Promise<TestServer> {
  const h = await startServer({ dev: { rootTokenId }, listen: { host: '127.0.0.1', port: 0 }, logger: pino({ level: 'silent' }) });
  return Object.assign(h, { rootToken: rootTokenId, api: apiClient(h.url, rootTokenId) });
}

export function apiClient(url: string, defaultToken: string | undefined) {
  return async (method: string, path: string, body?: unknown, opts: { token?: string | null; headers?: Record<string, string> } = {}): Promise<ApiAnswer> => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    const token = opts.token === undefined ? defaultToken : opts.token;
    if (token) headers['X-Vault-Token'] = token;
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
        headers['Content-Type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
      }
    }
    const res = await fetch(`${url}/v1/${path.replace(/^\//, '')}`, { method, headers, body: payload });
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, text, headers: res.headers };
  };
}

/** Polls until fn returns a truthy value or the deadline passes. */
export async function waitFor<T>(fn: () => Promise<T> | T, timeoutMs = 5000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** An api() that keeps every answer, so a test can scan them all for secrets at the end. */
export function recordingApi(server: () => TestServer, seen: ApiAnswer[]) {
  return async (method: string, path: string, body?: unknown, opts?: { token?: string | null; headers?: Record<string, string> }): Promise<ApiAnswer> => {
    const r = await server().api(method, path, body, opts);
    seen.push(r);
    return r;
  };
}
