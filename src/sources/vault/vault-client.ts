/**
 * A small HTTP client for a remote Vault or OpenBao: token header,
 * `X-Vault-Namespace`, CA file or skip-verify, AppRole login, token renewal
 * (`auth/token/renew-self` at two thirds of the TTL) and re-login when the
 * token expires or is refused. Network failures become SourceUnavailableError
 * with a message naming only the error code; response bodies are never put in
 * messages (a read answers with secret values).
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';
import type { VaultSourceConfig } from '../../config/server-config.js';

export interface VaultResponse {
  status: number;
  /** parsed JSON body, undefined when empty or not JSON */
  body: unknown;
}

/** The remote cannot be reached (connection refused, timeout, TLS failure). */
export class SourceUnavailableError extends Error {
  override readonly name = 'SourceUnavailableError';
  constructor(readonly code: string) {
    super(`source vault unreachable: ${code}`);
  }
}

/** The remote answered with an unexpected status. */
export class SourceResponseError extends Error {
  override readonly name = 'SourceResponseError';
  constructor(
    readonly status: number,
    what: string,
    errors: string[],
  ) {
    // Vault's error strings carry no secret values; cap them anyway.
    super(`source vault answered ${status} to ${what}${errors.length ? `: ${errors.join('; ').slice(0, 300)}` : ''}`);
  }
}

export interface VaultClientOptions {
  /** per request; default 10 s */
  timeoutMs?: number;
  /** largest response accepted; default 32 MiB */
  maxResponseBytes?: number;
  logger?: Logger;
}

export class VaultClient {
  private token: string | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private login: Promise<void> | undefined;
  private readonly agent: HttpsAgent | undefined;
  private readonly url: URL;
  private closed = false;
  /** false after a network failure until a request succeeds again */
  reachable = true;
  private readonly recoveredListeners: Array<() => void> = [];
  private readonly unreachableListeners: Array<() => void> = [];

  constructor(
    readonly config: VaultSourceConfig,
    private readonly opts: VaultClientOptions = {},
  ) {
    this.url = new URL(config.address);
    this.token = config.token;
    if (this.url.protocol === 'https:') {
      this.agent = new HttpsAgent({
        keepAlive: true,
        ...(config.caCert !== undefined && { ca: readFileSync(config.caCert) }),
        rejectUnauthorized: !config.tlsSkipVerify,
      });
    }
  }

  /** TLS settings for other connections to the same remote (the events WebSocket). */
  get tlsOptions(): { ca?: Buffer; rejectUnauthorized: boolean } {
    return {
      ...(this.config.caCert !== undefined && { ca: readFileSync(this.config.caCert) }),
      rejectUnauthorized: !this.config.tlsSkipVerify,
    };
  }

  get address(): string {
    return this.config.address;
  }

  onRecovered(cb: () => void): void {
    this.recoveredListeners.push(cb);
  }

  onUnreachable(cb: () => void): void {
    this.unreachableListeners.push(cb);
  }

  /** Headers for a request with the current token (logs in first with AppRole). */
  async authHeaders(): Promise<Record<string, string>> {
    await this.ensureToken();
    const h: Record<string, string> = { 'X-Vault-Request': 'true' };
    if (this.token) h['X-Vault-Token'] = this.token;
    if (this.config.namespace) h['X-Vault-Namespace'] = this.config.namespace;
    return h;
  }

  /** Looks the token up (and logs in with AppRole) and schedules renewal. */
  async start(): Promise<void> {
    await this.ensureToken();
    if (this.config.token !== undefined) {
      const r = await this.raw('GET', 'auth/token/lookup-self', undefined, true);
      if (r.status === 200) {
        const d = (r.body as { data?: { ttl?: number; renewable?: boolean } } | undefined)?.data;
        if (d?.renewable && typeof d.ttl === 'number' && d.ttl > 0) this.scheduleRenew(d.ttl);
      } else if (r.status === 403) {
        this.opts.logger?.warn('source vault: the configured token was refused (auth/token/lookup-self answered 403)');
      }
    }
  }

  close(): void {
    this.closed = true;
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.agent?.destroy();
  }

  /**
   * An authenticated request. A 403 with AppRole re-logs in and retries once
   * (the token may have expired between renewals).
   */
  async request(method: string, path: string, body?: unknown): Promise<VaultResponse> {
    await this.ensureToken();
    const r = await this.raw(method, path, body, true);
    if (r.status === 403 && this.config.approle) {
      await this.relogin();
      return this.raw(method, path, body, true);
    }
    return r;
  }

  private async ensureToken(): Promise<void> {
    if (this.token !== undefined) return;
    await this.relogin();
  }

  private relogin(): Promise<void> {
    if (!this.config.approle) return Promise.resolve();
    this.login ??= this.doLogin().finally(() => {
      this.login = undefined;
    });
    return this.login;
  }

  private async doLogin(): Promise<void> {
    const a = this.config.approle!;
    const r = await this.raw('POST', 'auth/approle/login', { role_id: a.roleId, secret_id: a.secretId }, false);
    const auth = (r.body as { auth?: { client_token?: string; lease_duration?: number; renewable?: boolean } } | undefined)?.auth;
    if (r.status !== 200 || !auth?.client_token) throw new SourceResponseError(r.status, 'auth/approle/login', errorsOf(r.body));
    this.token = auth.client_token;
    if (auth.lease_duration && auth.lease_duration > 0) this.scheduleRenew(auth.lease_duration, auth.renewable !== false);
  }

  /** Renews at 2/3 of the TTL; a failed or shortened renewal of an AppRole token logs in again. */
  private scheduleRenew(ttlSeconds: number, renewable = true): void {
    if (this.closed) return;
    if (this.renewTimer) clearTimeout(this.renewTimer);
    const delay = Math.max(1000, Math.floor((ttlSeconds * 1000 * 2) / 3));
    this.renewTimer = setTimeout(() => void this.renew(renewable), delay);
    this.renewTimer.unref();
  }

  private async renew(renewable: boolean): Promise<void> {
    if (this.closed) return;
    try {
      if (renewable) {
        const r = await this.raw('POST', 'auth/token/renew-self', {}, true);
        const auth = (r.body as { auth?: { lease_duration?: number; renewable?: boolean } } | undefined)?.auth;
        if (r.status === 200 && auth?.lease_duration && auth.lease_duration > 5) {
          this.scheduleRenew(auth.lease_duration, auth.renewable !== false);
          return;
        }
      }
      if (this.config.approle) await this.doLogin();
      else this.opts.logger?.warn('source vault: token renewal failed; the token will expire');
    } catch (err) {
      this.opts.logger?.warn({ err: (err as Error).message }, 'source vault: token renewal failed; retrying in 10 s');
      this.renewTimer = setTimeout(() => void this.renew(renewable), 10_000);
      this.renewTimer.unref();
    }
  }

  /** One HTTP exchange. `path` is relative to /v1/ and may carry a query string. */
  raw(method: string, path: string, body: unknown, withToken: boolean): Promise<VaultResponse> {
    const url = new URL(`${this.url.pathname.replace(/\/$/, '')}/v1/${path}`, this.url);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { 'X-Vault-Request': 'true' };
    if (withToken && this.token) headers['X-Vault-Token'] = this.token;
    if (this.config.namespace) headers['X-Vault-Namespace'] = this.config.namespace;
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    const maxBytes = this.opts.maxResponseBytes ?? 32 * 1024 * 1024;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<VaultResponse>((resolve, reject) => {
      const req = send(url, { method, headers, timeout: timeoutMs, ...(this.agent && { agent: this.agent }) }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) {
            req.destroy(Object.assign(new Error('response too large'), { code: 'ERESPONSETOOLARGE' }));
            return;
          }
          chunks.push(c);
        });
        res.on('error', (e) => reject(this.netError(e)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          this.markReachable();
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
      req.on('error', (e) => reject(this.netError(e)));
      req.end(payload);
    });
  }

  private markReachable(): void {
    if (this.reachable) return;
    this.reachable = true;
    for (const cb of this.recoveredListeners) cb();
  }

  private netError(e: unknown): SourceUnavailableError {
    const code = typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : 'network error';
    if (this.reachable) {
      this.reachable = false;
      for (const cb of this.unreachableListeners) cb();
    }
    return new SourceUnavailableError(code);
  }
}

export function errorsOf(body: unknown): string[] {
  const e = (body as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(e) ? e.filter((x): x is string => typeof x === 'string') : [];
}

/** Encodes each segment of a secret or mount path for a URL. */
export function encodePath(p: string): string {
  return p
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
}
