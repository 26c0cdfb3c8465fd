/**
 * The events feed of Vault Enterprise 1.16+ (`sys/events/subscribe/kv-v2/*?json=true`
 * over a WebSocket). Where the remote has no events API (Community Edition,
 * OpenBao: 404/405) it falls back silently and looks again only rarely; any
 * other failure reconnects with exponential backoff. Events carry no values:
 * each one only names a secret to re-read.
 */
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { kvSecretOf } from './audit-line.js';
import type { VaultClient } from './vault-client.js';

export interface EventNotice {
  accessor: string;
  secretPath: string;
}

export interface EventsClientOptions {
  onNotice: (n: EventNotice) => void;
  /** the feed (re)opened: anything sent while it was down was missed */
  onConnect?: () => void;
  logger?: Logger;
  /** how long to wait before asking again a remote that has no events API */
  unavailableRetryMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

export type EventsState = 'connecting' | 'open' | 'unavailable' | 'retrying' | 'stopped';

export class EventsClient {
  private ws: WebSocket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private backoff: number;
  state: EventsState = 'stopped';

  constructor(
    private readonly client: VaultClient,
    private readonly opts: EventsClientOptions,
  ) {
    this.backoff = opts.initialBackoffMs ?? 1000;
  }

  start(): void {
    if (this.state !== 'stopped') return;
    this.state = 'connecting';
    void this.connect();
  }

  stop(): void {
    this.state = 'stopped';
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const ws = this.ws;
    this.ws = undefined;
    if (ws) {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
    }
  }

  private async connect(): Promise<void> {
    if (this.state === 'stopped') return;
    let headers: Record<string, string>;
    try {
      headers = await this.client.authHeaders();
    } catch (err) {
      this.retry(`login failed: ${(err as Error).message}`);
      return;
    }
    if ((this.state as EventsState) === 'stopped') return;
    const base = new URL(this.client.address);
    base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = `${base.origin}${base.pathname.replace(/\/$/, '')}/v1/sys/events/subscribe/kv-v2/*?json=true`;
    const ws = new WebSocket(url, { headers, ...this.client.tlsOptions, handshakeTimeout: 10_000, maxPayload: 1024 * 1024 });
    this.ws = ws;
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      if (status === 404 || status === 405) {
        // No events API here: the audit feed and the poll carry the load.
        this.opts.logger?.debug({ status }, 'source vault offers no events API');
        this.state = 'unavailable';
        this.schedule(this.opts.unavailableRetryMs ?? 600_000);
      } else this.retry(`subscribe answered ${status}`);
    });
    ws.on('open', () => {
      this.state = 'open';
      this.backoff = this.opts.initialBackoffMs ?? 1000;
      this.opts.logger?.info('source vault events feed connected');
      try {
        this.opts.onConnect?.();
      } catch {
        // the consumer logs its own failures
      }
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const n = parseEventFrame(data.toString());
      if (!n) return;
      try {
        this.opts.onNotice(n);
      } catch {
        // the consumer logs its own failures
      }
    });
    ws.on('error', (err) => {
      this.opts.logger?.debug({ err: (err as { code?: string }).code ?? err.name }, 'source vault events feed error');
    });
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.retry('connection closed');
    });
  }

  private retry(why: string): void {
    if (this.state === 'stopped') return;
    this.opts.logger?.debug({ why, retryInMs: this.backoff }, 'source vault events feed down; reconnecting');
    this.state = 'retrying';
    this.schedule(this.backoff);
    this.backoff = Math.min(this.opts.maxBackoffMs ?? 60_000, this.backoff * 2);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.ws = undefined;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.state === 'stopped') return;
      this.state = 'connecting';
      void this.connect();
    }, ms);
    this.timer.unref();
  }
}

/** Maps one CloudEvents JSON frame to the secret it concerns, or undefined. */
export function parseEventFrame(text: string): EventNotice | undefined {
  if (text.length > 1024 * 1024) return undefined;
  let f: unknown;
  try {
    f = JSON.parse(text);
  } catch {
    return undefined;
  }
  const data = obj(obj(f)?.data);
  const eventType = data?.event_type;
  if (typeof eventType !== 'string' || !eventType.startsWith('kv-v2/')) return undefined;
  const info = obj(data?.plugin_info);
  const accessor = info?.mount_accessor;
  const mountPath = info?.mount_path;
  const meta = obj(obj(data?.event)?.metadata);
  if (typeof accessor !== 'string' || accessor === '' || typeof mountPath !== 'string' || !meta) return undefined;
  const p = typeof meta.data_path === 'string' && meta.data_path !== '' ? meta.data_path : meta.path;
  if (typeof p !== 'string') return undefined;
  // Event paths are prefixed with the mount path; the operation decides nothing here (any change re-reads).
  const s = kvSecretOf(mountPath, p, 'update');
  return s ? { accessor, secretPath: s.secretPath } : undefined;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
