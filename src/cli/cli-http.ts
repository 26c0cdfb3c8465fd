/**
 * A small Vault API client over node:http / node:https (so VAULT_CACERT and
 * VAULT_SKIP_VERIFY can be honoured without extra dependencies). It mirrors
 * the Go api package's `Logical()` semantics, including its 404 handling and
 * the exact text of its errors.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { parseGoBool } from './cli-args.js';
import type { Secret } from './cli-format.js';

export interface ClientConfig {
  address: string;
  token?: string;
  caCert?: string;
  caPath?: string;
  skipVerify: boolean;
  timeoutMs: number;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | string[]>;
  contentType?: string;
}

export interface ApiResponse {
  status: number;
  method: string;
  url: string;
  text: string;
}

/** api.ResponseError: a non-2xx/3xx answer, rendered exactly like Vault's client. */
export class ApiResponseError extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly statusCode: number,
    readonly errors: string[],
    readonly rawMessage: string | undefined,
  ) {
    super(ApiResponseError.render(method, url, statusCode, errors, rawMessage));
    this.name = 'ApiResponseError';
  }

  static render(method: string, url: string, status: number, errors: string[], raw?: string): string {
    const kind = raw !== undefined ? 'Raw Message' : 'Errors';
    let s = `Error making API request.\n\nURL: ${method} ${url}\nCode: ${status}. ${kind}:\n\n`;
    if (raw !== undefined) s += raw;
    else for (const e of errors) s += `* ${e}`;
    return s;
  }
}

/** A transport failure, worded like Go's *url.Error (`Put "https://...": dial tcp ...`). */
export class TransportError extends Error {
  constructor(method: string, url: string, cause: Error & { code?: string; address?: string; port?: number }) {
    super(`${method.charAt(0)}${method.slice(1).toLowerCase()} "${url}": ${describeCause(url, cause)}`);
    this.name = 'TransportError';
  }
}

function describeCause(url: string, err: Error & { code?: string }): string {
  const host = (() => {
    try {
      const u = new URL(url);
      return u.port ? `${u.hostname}:${u.port}` : `${u.hostname}:${u.protocol === 'https:' ? 443 : 80}`;
    } catch {
      return '';
    }
  })();
  switch (err.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${host}: connect: connection refused`;
    case 'ENOTFOUND':
      return `dial tcp: lookup ${host.replace(/:\d+$/, '')}: no such host`;
    case 'EPROTO':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return 'http: server gave HTTP response to HTTPS client';
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
    case 'ETIMEDOUT':
      return 'context deadline exceeded (Client.Timeout exceeded while awaiting headers)';
    default:
      return err.message;
  }
}

/** Go's url.PathEscape-like escaping of a request path (slashes kept). */
export function escapePath(p: string): string {
  return p
    .split('/')
    .map((seg) =>
      encodeURIComponent(seg)
        .replace(/%24/g, '$')
        .replace(/%26/g, '&')
        .replace(/%2B/g, '+')
        .replace(/%2C/g, ',')
        .replace(/%3A/g, ':')
        .replace(/%3B/g, ';')
        .replace(/%3D/g, '=')
        .replace(/%40/g, '@')
        .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()),
    )
    .join('/');
}

/** Go's url.Values.Encode: keys sorted, QueryEscape (space → '+'). */
export function encodeQuery(q: Record<string, string | string[]>): string {
  const esc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  const parts: string[] = [];
  for (const k of Object.keys(q).sort()) {
    const v = q[k]!;
    for (const item of Array.isArray(v) ? v : [v]) parts.push(`${esc(k)}=${esc(item)}`);
  }
  return parts.join('&');
}

/** Builds the client configuration from flags and VAULT_* variables, like api.DefaultConfig. */
export function clientConfigFromEnv(
  env: Record<string, string | undefined>,
  flags: { address?: string; caCert?: string; caPath?: string; skipVerify?: boolean },
  token: string | undefined,
): ClientConfig {
  let skipVerify = false;
  const sv = env['VAULT_SKIP_VERIFY'];
  if (sv !== undefined && sv !== '') {
    const b = parseGoBool(sv);
    if (b === undefined) throw new Error('could not parse VAULT_SKIP_VERIFY');
    skipVerify = b;
  }
  if (flags.skipVerify !== undefined) skipVerify = flags.skipVerify;
  const timeoutEnv = env['VAULT_CLIENT_TIMEOUT'];
  const timeoutS = timeoutEnv && /^\d+$/.test(timeoutEnv) ? parseInt(timeoutEnv, 10) : 60;
  const caCert = flags.caCert ?? (env['VAULT_CACERT'] || undefined);
  const caPath = flags.caPath ?? (env['VAULT_CAPATH'] || undefined);
  return {
    address: (flags.address ?? (env['VAULT_ADDR'] || 'https://127.0.0.1:8200')).replace(/\/+$/, ''),
    ...(token ? { token } : {}),
    ...(caCert ? { caCert } : {}),
    ...(caPath ? { caPath } : {}),
    skipVerify,
    timeoutMs: timeoutS * 1000,
  };
}

function loadCa(cfg: ClientConfig): string[] | undefined {
  if (cfg.caCert) return [readFileSync(cfg.caCert, 'utf8')];
  if (cfg.caPath) {
    return readdirSync(cfg.caPath)
      .filter((f) => /\.(pem|crt)$/i.test(f))
      .map((f) => readFileSync(join(cfg.caPath!, f), 'utf8'));
  }
  return undefined;
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Vault's "secret exists in a 404" rule: data or warnings make it a real answer. */
function secretIn404(text: string): Secret | null {
  const parsed = parseJson(text);
  if (!isObject(parsed)) return null;
  const data = parsed['data'];
  const warnings = parsed['warnings'];
  const hasData = isObject(data) && Object.keys(data).length > 0;
  const hasWarnings = Array.isArray(warnings) && warnings.length > 0;
  return hasData || hasWarnings ? (parsed as Secret) : null;
}

export class VaultClient {
  constructor(readonly config: ClientConfig) {}

  get token(): string | undefined {
    return this.config.token;
  }

  url(path: string, query?: Record<string, string | string[]>): string {
    const qs = query && Object.keys(query).length > 0 ? '?' + encodeQuery(query) : '';
    return `${this.config.address}/v1/${escapePath(path)}${qs}`;
  }

  /** One HTTP exchange; never throws for HTTP status codes. */
  request(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse> {
    const url = this.url(path, opts.query);
    const u = new URL(url);
    const headers: Record<string, string> = { 'X-Vault-Request': 'true' };
    if (this.config.token) headers['X-Vault-Token'] = this.config.token;
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body));
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const isHttps = u.protocol === 'https:';
    const ca = isHttps ? loadCa(this.config) : undefined;
    return new Promise<ApiResponse>((resolve, reject) => {
      const req = (isHttps ? httpsRequest : httpRequest)(
        u,
        {
          method,
          headers,
          timeout: this.config.timeoutMs,
          ...(isHttps ? { rejectUnauthorized: !this.config.skipVerify, ...(ca ? { ca } : {}) } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, method, url, text: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', (e) => reject(new TransportError(method, url, e)));
        },
      );
      req.on('timeout', () => {
        const e = Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' });
        req.destroy(e);
      });
      req.on('error', (e) => reject(new TransportError(method, url, e)));
      if (payload) req.write(payload);
      req.end();
    });
  }

  /** Throws ApiResponseError unless 2xx/3xx (or 429, which Vault's client also accepts). */
  static check(res: ApiResponse): void {
    if ((res.status >= 200 && res.status < 400) || res.status === 429) return;
    const parsed = parseJson(res.text);
    if (parsed === undefined && res.text.trim() !== '') {
      throw new ApiResponseError(res.method, res.url, res.status, [], res.text);
    }
    const errs = isObject(parsed) && Array.isArray(parsed['errors']) ? parsed['errors'].map(String) : [];
    throw new ApiResponseError(res.method, res.url, res.status, errs, undefined);
  }

  static parseSecret(res: ApiResponse): Secret | null {
    const parsed = parseJson(res.text);
    return isObject(parsed) ? (parsed as Secret) : null;
  }

  /** Logical().ReadWithData: a 404 without data means "nothing there" (null), not an error. */
  async read(path: string, query?: Record<string, string | string[]>): Promise<Secret | null> {
    const res = await this.request('GET', path, query ? { query } : {});
    if (res.status === 404) return secretIn404(res.text);
    VaultClient.check(res);
    return VaultClient.parseSecret(res);
  }

  /** Logical().List: GET with list=true, like the Go CLI. */
  async list(path: string): Promise<Secret | null> {
    const res = await this.request('GET', path, { query: { list: 'true' } });
    if (res.status === 404) return secretIn404(res.text);
    VaultClient.check(res);
    return VaultClient.parseSecret(res);
  }

  /** Logical().Write (PUT) / Delete / JSONMergePatch: a 404 with data is a response, else an error. */
  async send(method: string, path: string, opts: RequestOptions = {}): Promise<Secret | null> {
    const res = await this.request(method, path, opts);
    if (res.status === 404) {
      const s = secretIn404(res.text);
      if (s) return s;
    }
    VaultClient.check(res);
    return VaultClient.parseSecret(res);
  }

  write(path: string, data: unknown): Promise<Secret | null> {
    return this.send('PUT', path, { body: data ?? {} });
  }

  delete(path: string, query?: Record<string, string | string[]>): Promise<Secret | null> {
    return this.send('DELETE', path, query ? { query } : {});
  }

  patch(path: string, data: unknown): Promise<Secret | null> {
    return this.send('PATCH', path, { body: data ?? {}, contentType: 'application/merge-patch+json' });
  }
}
