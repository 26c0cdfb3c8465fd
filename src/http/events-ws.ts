/**
 * `GET /v1/sys/events/subscribe/:type?json=true` upgraded to a WebSocket
 * (Vault Enterprise's events API, reference §4). The token needs `read` on
 * `sys/events/subscribe/<type>` at connect, and each event is sent only if
 * the token has `subscribe` (or `read`) on the event's data_path (its path
 * when it has none). The token is looked up again at every ping so a revoked
 * token's stream ends. Slow consumers are disconnected rather than buffered
 * without bound.
 */
import { vaultTokenOf } from '../util/vault-token.js';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Acl, TokenEntry } from '../auth/auth-types.js';
import { cloudEventFrame, eventTypeMatches, type KvEvent, type KvEventBus } from '../kv/kv-events.js';
import type { ApiBackend } from './app.js';

const PREFIX = '/v1/sys/events/subscribe/';
const MAX_BUFFERED = 4 * 1024 * 1024;

export interface EventsWsOptions {
  /** default 30 s, as Vault */
  pingIntervalMs?: number;
}

/** Attaches the upgrade handler to the app's HTTP server; returns a closer. */
export function attachEventsWebSocket(server: Server, backend: ApiBackend, bus: KvEventBus, logger: Logger, opts: EventsWsOptions = {}): () => void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => undefined);
    void handleUpgrade(req, socket, head).catch((err) => {
      logger.error({ err: (err as Error).name }, 'events: upgrade failed');
      reject(socket, 500, 'internal error');
    });
  };

  async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = req.url ?? '';
    const qi = url.indexOf('?');
    const rawPath = qi === -1 ? url : url.slice(0, qi);
    if (!rawPath.startsWith(PREFIX)) return reject(socket, 404, 'unsupported path');
    let eventType: string;
    try {
      eventType = decodeURIComponent(rawPath.slice(PREFIX.length));
    } catch {
      return reject(socket, 400, 'invalid event type');
    }
    if (eventType === '') return reject(socket, 400, 'missing event type');
    const query = new URLSearchParams(qi === -1 ? '' : url.slice(qi + 1));
    if (!['true', '1', 't', 'T', 'TRUE', 'True'].includes(query.get('json') ?? '')) {
      return reject(socket, 400, 'only json=true is supported');
    }
    if (query.get('filter')) return reject(socket, 400, 'filter expressions are not supported');
    if (!backend.initialized()) return reject(socket, 503, 'Vault is not initialized');
    const raw = vaultTokenOf(req.headers);
    if (!raw) return reject(socket, 403, 'permission denied');
    const token = await backend.lookupToken(raw);
    if (!token) return reject(socket, 403, 'permission denied');
    const acl = await backend.aclFor(token);
    if (!acl.allows(`sys/events/subscribe/${eventType}`, 'read')) return reject(socket, 403, 'permission denied');
    if (!(await backend.useToken(token))) return reject(socket, 403, 'permission denied');
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws, eventType, raw, acl));
  }

  function serve(ws: WebSocket, pattern: string, rawToken: string, firstAcl: Acl): void {
    let acl = firstAcl;
    let alive = true;
    const unsubscribe = bus.subscribe((e: KvEvent) => {
      if (!eventTypeMatches(pattern, e.eventType)) return;
      const dp = e.metadata.data_path ?? e.metadata.path ?? '';
      if (!acl.root && !acl.allows(dp, 'subscribe') && !acl.allows(dp, 'read')) return;
      if (ws.bufferedAmount > MAX_BUFFERED) {
        ws.terminate();
        return;
      }
      ws.send(JSON.stringify(cloudEventFrame(e)));
    });
    const ping = setInterval(() => {
      if (!alive) {
        ws.terminate();
        return;
      }
      alive = false;
      ws.ping();
      // The token (and its policies) may have changed or been revoked meanwhile.
      void backend
        .lookupToken(rawToken)
        .then(async (t: TokenEntry | undefined) => {
          if (!t) ws.close(1008, 'token revoked');
          else acl = await backend.aclFor(t);
        })
        .catch(() => undefined);
    }, opts.pingIntervalMs ?? 30_000);
    ping.unref();
    ws.on('pong', () => {
      alive = true;
    });
    ws.on('message', () => undefined);
    ws.on('error', () => undefined);
    ws.on('close', () => {
      clearInterval(ping);
      unsubscribe();
    });
  }

  server.on('upgrade', onUpgrade);
  return () => {
    server.off('upgrade', onUpgrade);
    for (const c of wss.clients) c.terminate();
    wss.close();
  };
}


const REASONS: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable' };

function reject(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ errors: status === 403 ? ['1 error occurred:\n\t* permission denied\n\n'] : [message] }) + '\n';
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
