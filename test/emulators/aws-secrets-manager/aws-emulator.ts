/**
 * A protocol-faithful AWS Secrets Manager (JSON 1.1) and STS (Query) emulator
 * on one loopback port: SigV4 verified, IAM-style policies enforced, quotas and
 * faults injectable, and a control surface under `/_emulator/`.
 */
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AwsEmulatorControl, CallLog, type CallRecord, type EmulatorState, handleControlRequest, makeControl } from './aws-control.js';
import { AwsError, MSG, queryErrorOf, smError } from './aws-errors.js';
import { ALLOW_ALL, accessDeniedMessage, evaluatePolicy } from './aws-iam-policy.js';
import { type Faults, type QuotaRates, Quotas, normalizeFaults, pickFault } from './aws-quotas.js';
import { parseSigV4, verifySigV4 } from './aws-sigv4.js';
import { type OpContext, SM_OPERATIONS } from './aws-sm-operations.js';
import { SecretStore } from './aws-sm-store.js';
import { type CredentialConfig, type Identity, IdentityStore, type RoleConfig, stsErrorXml } from './aws-sts.js';

export interface AwsEmulatorOptions {
  /** default 0 (a free port) */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** default 123456789012 */
  account?: string;
  /** default: AWS's documented example key pair with an allow-all policy */
  credentials?: CredentialConfig[];
  roles?: RoleConfig[];
  /** request-rate quotas: off by default */
  throttle?: boolean | QuotaRates;
  faults?: Faults;
  /** how long a force-deleted name stays unusable (AWS: "a short while"); default 0 */
  forceDeleteDelayMs?: number;
  /** clock for AWS semantics (signature skew, deletion windows, session expiry), epoch ms */
  now?: () => number;
  /** call-log entries kept (oldest dropped first); default 200,000 */
  callLogLimit?: number;
  /** largest request body accepted; default 1 MiB */
  maxBodyBytes?: number;
}

export interface AwsEmulator {
  /** e.g. `http://127.0.0.1:43125` */
  url: string;
  port: number;
  control: AwsEmulatorControl;
  close(): Promise<void>;
}

export const EXAMPLE_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
export const EXAMPLE_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

const JSON_TYPE = 'application/x-amz-json-1.1';
const nowPrecise = () => performance.timeOrigin + performance.now();

function defaultCredentials(): CredentialConfig[] {
  return [{ accessKeyId: EXAMPLE_ACCESS_KEY_ID, secretAccessKey: EXAMPLE_SECRET_ACCESS_KEY, policy: ALLOW_ALL }];
}

/** Starts the emulator; resolves once it listens. */
export async function startAwsEmulator(options: AwsEmulatorOptions = {}): Promise<AwsEmulator> {
  const now = options.now ?? Date.now;
  const account = options.account ?? '123456789012';
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  const st: EmulatorState = {
    store: new SecretStore(account, now),
    identities: new IdentityStore(account, now),
    quotas: new Quotas(),
    faults: normalizeFaults(options.faults ?? {}),
    calls: new CallLog(options.callLogLimit ?? 200_000),
    forceDeleteDelayMs: options.forceDeleteDelayMs ?? 0,
    restoreInitial() {
      st.store.clear();
      st.identities.clear();
      for (const c of options.credentials ?? defaultCredentials()) st.identities.addCredentials(c);
      for (const r of options.roles ?? []) st.identities.addRole(r);
      st.quotas.configure(options.throttle ?? false);
      st.faults = normalizeFaults(options.faults ?? {});
      st.forceDeleteDelayMs = options.forceDeleteDelayMs ?? 0;
      st.calls.clear();
    },
  };
  st.restoreInitial();
  const control = makeControl(st);
  const hanging = new Set<ServerResponse>();

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= maxBody) chunks.push(c);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if ((req.url ?? '/').startsWith('/_emulator/')) return serveControl(req, res, body);
      void serveAws(req, res, body, size > maxBody);
    });
  });

  function serveControl(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    let out: { status: number; body: unknown };
    try {
      out = handleControlRequest(control, st, req.method ?? 'GET', req.url ?? '/', body.toString('utf8'));
    } catch (e) {
      out = { status: 400, body: { error: (e as Error).message } };
    }
    const text = JSON.stringify(out.body);
    res.writeHead(out.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  async function serveAws(req: IncomingMessage, res: ServerResponse, body: Buffer, tooLarge: boolean): Promise<void> {
    const arrival = nowPrecise();
    const requestId = randomUUID();
    const rawTarget = req.headers['x-amz-target'];
    // JSON-protocol requests carry X-Amz-Target and an amz-json body; everything else is STS Query.
    const isSm = typeof rawTarget === 'string' || (req.headers['content-type'] ?? '').includes('amz-json');
    const target = typeof rawTarget === 'string' ? rawTarget : '';
    const call: CallRecord = {
      seq: st.calls.nextSeq(),
      time: arrival,
      service: isSm ? 'secretsmanager' : 'sts',
      operation: isSm ? (target.startsWith('secretsmanager.') ? target.slice('secretsmanager.'.length) : target === '' ? 'unknown' : `?${target}`) : 'unknown',
      result: 'ok',
      status: 0,
      requestId,
      durationMs: 0,
    };
    const finish = (status: number, result: string): void => {
      call.status = status;
      call.result = result;
      call.durationMs = nowPrecise() - arrival;
      st.calls.add(call);
    };
    let stsParams: URLSearchParams | undefined;
    if (!isSm) {
      const q = (req.url ?? '').indexOf('?');
      stsParams = new URLSearchParams(req.method === 'POST' ? body.toString('utf8') : q < 0 ? '' : (req.url ?? '').slice(q + 1));
      call.operation = stsParams.get('Action') ?? 'unknown';
    }

    const fault = pickFault(st.faults);
    if (st.faults.latencyMs > 0) await new Promise((r) => setTimeout(r, st.faults.latencyMs));
    if (fault === 'hang') {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return finish(0, 'hang');
    }
    if (fault === 'drop') {
      req.socket.destroy();
      return finish(0, 'dropped');
    }
    if (fault === 'garbage') {
      const junk = '<html><body>502 Bad Gateway</body></html>\u0000{"__ty';
      res.writeHead(200, { 'content-type': JSON_TYPE, 'x-amzn-requestid': requestId, 'content-length': Buffer.byteLength(junk) });
      res.end(junk);
      return finish(200, 'garbage');
    }

    try {
      if (fault === 'error') throw smError('InternalServiceError', MSG.internal);
      if (tooLarge) throw new AwsError('SerializationException', 'Request body too large', 413);
      const identity = authenticate(req, body, isSm ? 'secretsmanager' : 'sts', call);
      if (!st.quotas.take(call.operation)) throw new AwsError('ThrottlingException', MSG.rateExceeded);
      let status = 200;
      let text: string;
      if (isSm) {
        text = JSON.stringify(runSm(call, identity, body));
      } else {
        const out = st.identities.handleQuery(stsParams!, identity, requestId);
        status = out.status;
        text = out.body;
      }
      res.writeHead(status, {
        'content-type': isSm ? JSON_TYPE : 'text/xml',
        'x-amzn-requestid': requestId,
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
      finish(status, 'ok');
    } catch (e) {
      const err = e instanceof AwsError ? e : smError('InternalServiceError', MSG.internal);
      if (!(e instanceof AwsError)) console.error('aws emulator: internal error', e);
      if (isSm) {
        const text = JSON.stringify({ __type: err.type, [err.messageKey]: err.message });
        res.writeHead(err.status, {
          'content-type': JSON_TYPE,
          'x-amzn-requestid': requestId,
          'x-amzn-errortype': err.type,
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
        finish(err.status, err.type);
      } else {
        const q = queryErrorOf(err);
        const text = stsErrorXml(q.type, q.code, err.message, requestId);
        res.writeHead(q.status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId, 'content-length': Buffer.byteLength(text) });
        res.end(text);
        finish(q.status, q.code);
      }
    }
  }

  function authenticate(req: IncomingMessage, body: Buffer, service: string, call: CallRecord): Identity {
    const signed = { method: req.method ?? 'POST', url: req.url ?? '/', rawHeaders: req.rawHeaders, body };
    const parsed = parseSigV4(signed, now());
    call.accessKeyId = parsed.accessKeyId;
    call.region = parsed.region;
    if (parsed.service !== service) {
      throw new AwsError('InvalidSignatureException', `Credential should be scoped to correct service: '${service}'. `);
    }
    const { identity, secret } = st.identities.resolve(parsed.accessKeyId, parsed.securityToken);
    verifySigV4(parsed, signed, secret);
    return identity;
  }

  function runSm(call: CallRecord, identity: Identity, body: Buffer): Record<string, unknown> {
    const handler = Object.hasOwn(SM_OPERATIONS, call.operation) ? SM_OPERATIONS[call.operation] : undefined;
    if (handler === undefined) {
      throw new AwsError('UnknownOperationException', `Operation ${call.operation} is not supported by this emulator`);
    }
    let input: unknown;
    try {
      input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch {
      throw new AwsError('SerializationException', 'Start of structure or map found where not expected.');
    }
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      throw new AwsError('SerializationException', 'Start of structure or map found where not expected.');
    }
    const decide = (action: string, resource: string): string | undefined => {
      const d = evaluatePolicy(identity.policy, action, resource);
      return d === 'allow' ? undefined : accessDeniedMessage(identity.principalArn, action, resource, d);
    };
    const ctx: OpContext = {
      region: call.region ?? 'us-east-1',
      store: st.store,
      now,
      forceDeleteDelayMs: st.forceDeleteDelayMs,
      allowed: decide,
      authorize(action, resource) {
        const denied = decide(action, resource);
        if (denied !== undefined) throw new AwsError('AccessDeniedException', denied);
      },
    };
    try {
      return handler(input as Record<string, unknown>, ctx);
    } finally {
      if (ctx.secretName !== undefined) call.secretName = ctx.secretName;
    }
  }

  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    control,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        hanging.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
