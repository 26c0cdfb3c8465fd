/**
 * The Fastify app: one catch-all `/v1/*` route that turns an HTTP request
 * into a logical request (operation, path, data), authenticates it, checks
 * the ACL, coerces fields and wraps the result in Vault's envelope.
 */
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type RequestListener } from 'node:http';
import { createServer as createTcpServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Acl, TokenEntry } from '../auth/auth-types.js';
import { BadRequestError, MethodNotAllowedError, NotFoundError, PermissionDeniedError, UnavailableError, UnsupportedMediaTypeError, VaultError } from '../errors.js';
import type { MountEntry } from '../kv/kv-types.js';
import { coerceFields, isPlainObject, toBool } from './field-coercion.js';
import { toErrorAnswer } from './http-errors.js';
import { jsonDepthExceeds } from '../util/json-depth.js';
import { vaultTokenOf } from '../util/vault-token.js';
import { RewritingSocket } from './list-method.js';
import { capabilityFor, type Operation, type RequestContext, type RouteMatch, type RouteResult, type RouteTable } from './router.js';

/** What the HTTP layer needs from the server core. */
export interface ApiBackend {
  initialized(): boolean;
  /** sys/* and auth/* routes */
  readonly systemRoutes: RouteTable;
  /** the mounted backend's route table for a request path */
  resolveMount(path: string): { mount: MountEntry; routes: RouteTable; rest: string } | undefined;
  lookupToken(raw: string): Promise<TokenEntry | undefined>;
  /** counts one use of a token (num_uses); false when it is revoked or used up meanwhile */
  useToken(entry: TokenEntry): Promise<boolean>;
  aclFor(entry: TokenEntry): Promise<Acl>;
  /** observes every finished request (audit log, metrics); must not throw */
  onRequest?(info: RequestInfo): void;
}

export interface RequestInfo {
  op: Operation;
  path: string;
  status: number;
  token: TokenEntry | undefined;
  clientToken: string | undefined;
  remoteAddress: string;
  data: Record<string, unknown>;
  response: unknown;
  error?: string;
  mount?: MountEntry;
  durationMs: number;
}

export interface AppOptions {
  backend: ApiBackend;
  logger: Logger;
  /** bytes; default 32 MiB */
  maxRequestSize?: number;
}

export function buildApp(opts: AppOptions): FastifyInstance {
  const bodyLimit = opts.maxRequestSize ?? 32 * 1024 * 1024;
  // The HTTP server never listens itself: listen() below feeds it connections
  // through the LIST-method rewriter.
  const app = Fastify({
    logger: false,
    bodyLimit,
    serverFactory: (handler: RequestListener) => createHttpServer(handler),
    routerOptions: { ignoreDuplicateSlashes: false, maxParamLength: 8192 },
    // Framework-level refusals in Vault's error format too; Fastify's own
    // bodies echo the request URL.
    frameworkErrors: (_err: Error, _req: FastifyRequest, reply: FastifyReply) => {
      void sendJson(reply, 400, { errors: ['invalid request path: malformed percent-encoding'] });
    },
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Socket) => {
      if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
      const [status, reason] = err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : [400, 'Bad Request'];
      const body = JSON.stringify({ errors: [status === 431 ? 'request header fields too large' : 'malformed HTTP request'] }) + '\n';
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    },
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err, _req, reply) => {
    const a = toErrorAnswer(err);
    if (a.status >= 500) opts.logger.error({ code: (err as { code?: string }).code, name: (err as Error).name }, 'request failed');
    void sendJson(reply, a.status, a.body);
  });
  app.setNotFoundHandler((req, reply) => {
    void sendJson(reply, 404, { errors: [`no handler for route "${req.url.split('?')[0]}". route entry not found.`] });
  });

  app.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    url: '/v1/*',
    handler: (req, reply) => handle(opts, req, reply),
  });
  return app;
}

function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('content-type', 'application/json').header('cache-control', 'no-store').send(Buffer.from(JSON.stringify(body) + '\n'));
}

function operationOf(req: FastifyRequest, query: Record<string, string>): Operation {
  switch (req.method) {
    case 'GET':
    case 'HEAD':
      if (query.list !== undefined) {
        let isList = false;
        try {
          isList = toBool('list', query.list);
        } catch {
          throw new BadRequestError('invalid value for "list" query parameter');
        }
        if (isList) return 'list';
      }
      return 'read';
    case 'POST':
    case 'PUT':
      return 'write';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      throw new MethodNotAllowedError();
  }
}

function parseBody(req: FastifyRequest, op: Operation): Record<string, unknown> {
  const buf = req.body as Buffer | undefined;
  if (op === 'patch') {
    const ct = String(req.headers['content-type'] ?? '');
    if (ct.split(';')[0]!.trim().toLowerCase() !== 'application/merge-patch+json') {
      throw new UnsupportedMediaTypeError(`PATCH requires Content-Type of application/merge-patch+json, provided ${ct}`);
    }
  }
  if (!buf || buf.length === 0) return {};
  const text = buf.toString('utf8');
  // Deeper input would overflow the stack of every recursive consumer
  // (JSON.stringify in the store answered a 500); refuse it before parsing.
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) throw new BadRequestError('failed to parse JSON input: JSON input exceeds allowed nesting depth');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Never echo the input: it may hold a secret.
    throw new BadRequestError('failed to parse JSON input: invalid JSON');
  }
  if (parsed === null) return {};
  if (!isPlainObject(parsed)) throw new BadRequestError('failed to parse JSON input: expected a JSON object');
  return parsed;
}

/** Vault's listener default (`max_json_depth`). */
const MAX_JSON_DEPTH = 300;

async function handle(opts: AppOptions, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const started = performance.now();
  const { backend } = opts;
  const url = req.url;
  const qi = url.indexOf('?');
  let path = decodeURIComponent((qi === -1 ? url : url.slice(0, qi)).slice('/v1/'.length));
  const query: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(qi === -1 ? '' : url.slice(qi + 1))) query[k] = v;
  const clientToken = vaultTokenOf(req.headers);
  let op: Operation = 'read';
  let token: TokenEntry | undefined;
  let data: Record<string, unknown> = {};
  let mount: MountEntry | undefined;
  const finish = (status: number, body: unknown, error?: string, observeOnly = false): FastifyReply => {
    backend.onRequest?.({
      op,
      path,
      status,
      token,
      clientToken,
      remoteAddress: req.ip,
      data,
      response: body,
      error,
      mount,
      durationMs: performance.now() - started,
    });
    // Method, path, status and time only: never bodies, tokens or error texts.
    if (opts.logger.isLevelEnabled('debug')) {
      opts.logger.debug({ method: req.method, path, status, ms: Math.round((performance.now() - started) * 1000) / 1000, remote: req.ip }, 'request');
    }
    if (observeOnly) return reply;
    if (status === 204) return reply.code(204).header('cache-control', 'no-store').send();
    return sendJson(reply, status, body);
  };
  try {
    op = operationOf(req, query);
    if (op === 'list' && !path.endsWith('/')) path += '/';
    let match: RouteMatch | undefined = backend.systemRoutes.match(path);
    let mountType = 'system';
    if (!match) {
      if (!backend.initialized()) throw new UnavailableError('Vault is not initialized');
      const resolved = backend.resolveMount(path);
      if (resolved) {
        mount = resolved.mount;
        mountType = resolved.mount.type;
        match = resolved.routes.match(resolved.rest);
      }
    } else if (path.startsWith('auth/token/')) mountType = 'token';
    const def = match?.def;
    if (!backend.initialized() && !def?.allowUninitialised) throw new UnavailableError('Vault is not initialized');
    const handler = def?.handlers[op];

    const raw = op === 'write' || op === 'patch' ? parseBody(req, op) : Object.fromEntries(Object.entries(query).filter(([k]) => k !== 'list'));
    const warnings: string[] = [];
    // Coercion errors are raised only after authorisation: a caller without
    // the capability learns nothing of a route's fields (nor that it exists).
    let fieldError: unknown;
    if (def?.fields && handler) {
      try {
        const c = coerceFields(raw, def.fields);
        data = c.data;
        if (c.unknown.length) warnings.push(`Endpoint ignored these unrecognized parameters: [${c.unknown.join(' ')}]`);
      } catch (err) {
        fieldError = err;
      }
    } else data = raw;

    const ctx: RequestContext = {
      op,
      path,
      params: match?.params ?? {},
      data,
      raw,
      query,
      headers: req.headers,
      token: undefined,
      clientToken,
      acl: undefined,
      remoteAddress: req.ip,
      mount,
    };
    if (!def?.unauthenticated) {
      // Deny by default: a missing route or operation is revealed (404/405)
      // only to a token that could use the path, as Vault does.
      if (!clientToken) throw new PermissionDeniedError();
      token = await backend.lookupToken(clientToken);
      if (!token) throw new PermissionDeniedError('permission denied');
      ctx.token = token;
      ctx.acl = await backend.aclFor(token);
      if (def?.authorize && handler) await def.authorize(ctx);
      else {
        const acl = ctx.acl;
        const override = def?.capability?.[op];
        // Existence only decides between `create` and `update`: a token granted both needs no extra read.
        const needsExists = !override && op === 'write' && def?.exists && handler && !(acl.allows(path, 'create') && acl.allows(path, 'update'));
        const exists = needsExists ? await def!.exists!(ctx) : undefined;
        const caps = override ?? capabilityFor(op, exists);
        if (!caps.some((c) => ctx.acl!.allows(path, c))) throw new PermissionDeniedError();
      }
    }
    if (!match) throw mount ? new VaultErrorNoRoute(path) : new VaultErrorNoMount(path);
    if (!handler) throw new MethodNotAllowedError();
    if (fieldError !== undefined) throw fieldError;
    if (token && !(await backend.useToken(token))) throw new PermissionDeniedError();
    const result: RouteResult | undefined = await handler(ctx);
    if (result === undefined) return finish(204, undefined);
    if (result.rawBody !== undefined) return finish(result.status ?? 200, result.rawBody);
    if (result.text) {
      finish(result.status ?? 200, undefined, undefined, true);
      return reply.code(result.status ?? 200).header('content-type', result.text.contentType).send(result.text.body);
    }
    const body: Record<string, unknown> = {
      request_id: randomUUID(),
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      data: result.data ?? null,
      wrap_info: null,
      warnings: [...warnings, ...(result.warnings ?? [])].length ? [...warnings, ...(result.warnings ?? [])] : null,
      auth: result.auth ?? null,
      mount_type: result.mountType ?? mountType,
    };
    if (result.hoistData && isPlainObject(result.data)) Object.assign(body, result.data, { data: result.data });
    return finish(result.status ?? 200, body);
  } catch (err) {
    const a = toErrorAnswer(err);
    if (a.status >= 500 && !(err instanceof UnavailableError)) {
      opts.logger.error({ err: { name: (err as Error)?.name, code: (err as { code?: string })?.code, message: (err as Error)?.message }, path }, 'request failed');
    }
    return finish(a.status, a.body, a.body.errors.join('; ') || String(a.status));
  }
}

/** Vault answers a path under no mount with a 404 naming the route (a bare NotFoundError would send `errors: []`). */
class VaultErrorNoMount extends VaultError {
  constructor(path: string) {
    super(404, 'no_route', 'no handler for route', [`no handler for route "${path}". route entry not found.`]);
  }
}

/** Vault answers a path no backend route handles with a 404 `unsupported path`. */
class VaultErrorNoRoute extends VaultError {
  constructor(_path: string) {
    super(404, 'unsupported_path', 'unsupported path', ['1 error occurred:\n\t* unsupported path\n\n']);
  }
}

export interface Listening {
  url: string;
  close(): Promise<void>;
}

/** Listens on host:port (TLS when cert/key given) and feeds connections to the app. */
export async function listen(app: FastifyInstance, host: string, port: number, tls?: { key: Buffer; cert: Buffer }): Promise<Listening> {
  await app.ready();
  const sockets = new Set<RewritingSocket>();
  const accept = (sock: Socket) => {
    // node:http sets this on sockets it accepts itself; ours come from a plain
    // net/tls server, and Nagle + delayed ACK would add ~40 ms to every answer.
    sock.setNoDelay(true);
    const wrapped = new RewritingSocket(sock);
    sockets.add(wrapped);
    wrapped.on('close', () => sockets.delete(wrapped));
    app.server.emit('connection', wrapped);
  };
  const outer: NetServer = tls ? createTlsServer({ key: tls.key, cert: tls.cert }, accept) : createTcpServer(accept);
  await new Promise<void>((resolve, reject) => {
    outer.once('error', reject);
    outer.listen(port, host, () => {
      outer.off('error', reject);
      resolve();
    });
  });
  const addr = outer.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    url: `${tls ? 'https' : 'http'}://${h}:${actualPort}`,
    async close() {
      await new Promise<void>((resolve) => {
        outer.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      await app.close();
    },
  };
}
