/**
 * Server-side AWS Signature Version 4 verification (header form), written from
 * the published algorithm: canonical request → string to sign → HMAC chain.
 * Every check answers the error type and wording the AWS front end uses.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { AwsError, MSG } from './aws-errors.js';

export interface SignedRequest {
  method: string;
  /** raw request target, e.g. `/` or `/?a=b` */
  url: string;
  /** node's `req.rawHeaders` (name, value, name, value, ...) */
  rawHeaders: string[];
  body: Buffer;
}

export interface ParsedSigV4 {
  accessKeyId: string;
  scopeDate: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  amzDate: string;
  securityToken: string | undefined;
  /** canonicalised request headers (lower-case names, trimmed values) */
  headers: Map<string, string>;
}

const MAX_SKEW_MS = 15 * 60 * 1000;

function headerMap(rawHeaders: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!.trim().replace(/\s+/g, ' ');
    const prev = m.get(name);
    m.set(name, prev === undefined ? value : `${prev},${value}`);
  }
  return m;
}

/** `20240102T030405Z` for a time in ms. */
export function amzDateOf(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function parseAmzDate(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (m) return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  const t = Date.parse(s); // RFC 1123 `Date:` header
  return Number.isNaN(t) ? undefined : t;
}

const incomplete = (msg: string) => new AwsError('IncompleteSignatureException', msg);
const invalidSig = (msg: string) => new AwsError('InvalidSignatureException', msg);

/**
 * Parses and sanity-checks the Authorization header. Throws the AWS error for a
 * missing or malformed signature, an unsigned Host, a wrong scope or a stale date.
 */
export function parseSigV4(req: SignedRequest, nowMs: number): ParsedSigV4 {
  const headers = headerMap(req.rawHeaders);
  const auth = headers.get('authorization');
  if (auth === undefined || auth === '') {
    throw new AwsError('MissingAuthenticationTokenException', MSG.missingToken, 400);
  }
  const sp = auth.indexOf(' ');
  const algorithm = sp < 0 ? auth : auth.slice(0, sp);
  if (algorithm !== 'AWS4-HMAC-SHA256') {
    throw incomplete(`Unsupported AWS 'algorithm': '${algorithm}'`);
  }
  const params = new Map<string, string>();
  for (const part of auth.slice(sp + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = params.get('Credential');
  const signedHeadersRaw = params.get('SignedHeaders');
  const signature = params.get('Signature');
  const amzDate = headers.get('x-amz-date') ?? headers.get('date');
  const missing: string[] = [];
  if (!credential) missing.push("Authorization header requires 'Credential' parameter.");
  if (!signature) missing.push("Authorization header requires 'Signature' parameter.");
  if (!signedHeadersRaw) missing.push("Authorization header requires 'SignedHeaders' parameter.");
  if (!amzDate) missing.push("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  if (missing.length > 0) throw incomplete(`${missing.join(' ')} Authorization=${auth}`);

  const scope = credential!.split('/');
  if (scope.length !== 5 || scope.some((s) => s === '')) {
    throw incomplete(`Credential should be scoped to a valid region, not '${scope[2] ?? ''}'. `);
  }
  const [accessKeyId, scopeDate, region, service, terminator] = scope as [string, string, string, string, string];
  if (terminator !== 'aws4_request') {
    throw invalidSig(`Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'.`);
  }
  const signedHeaders = signedHeadersRaw!.split(';');
  if (!signedHeaders.includes('host') && !signedHeaders.includes(':authority')) {
    throw invalidSig("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  const when = parseAmzDate(amzDate!);
  if (when === undefined) throw incomplete(`Date must be in ISO-8601 'basic format'. Got '${amzDate}'.`);
  const isoDate = amzDateOf(when);
  if (isoDate.slice(0, 8) !== scopeDate) {
    throw invalidSig(
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${isoDate.slice(0, 8)}', from '${amzDate}'.`,
    );
  }
  if (when < nowMs - MAX_SKEW_MS) {
    throw invalidSig(
      `Signature expired: ${isoDate} is now earlier than ${amzDateOf(nowMs - MAX_SKEW_MS)} (${amzDateOf(nowMs)} - 15 min.)`,
    );
  }
  if (when > nowMs + MAX_SKEW_MS) {
    throw invalidSig(
      `Signature not yet current: ${isoDate} is still later than ${amzDateOf(nowMs + MAX_SKEW_MS)} (${amzDateOf(nowMs)} + 15 min.)`,
    );
  }
  return {
    accessKeyId,
    scopeDate,
    region,
    service,
    signedHeaders,
    signature: signature!,
    amzDate: amzDate!,
    securityToken: headers.get('x-amz-security-token'),
    headers,
  };
}

function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, '%20'));
  } catch {
    return s;
  }
}

function canonicalUri(path: string): string {
  if (path === '/' || path === '') return '/';
  // Non-S3 services sign the already-encoded path encoded once more.
  return path
    .split('/')
    .map((seg) => encodeRfc3986(seg))
    .join('/');
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  return query
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      const k = eq < 0 ? p : p.slice(0, eq);
      const v = eq < 0 ? '' : p.slice(eq + 1);
      return [encodeRfc3986(safeDecode(k)), encodeRfc3986(safeDecode(v))] as const;
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

const keyCache = new Map<string, Buffer>();

function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const cacheKey = `${secret}\0${date}\0${region}\0${service}`;
  let key = keyCache.get(cacheKey);
  if (key === undefined) {
    const kDate = createHmac('sha256', `AWS4${secret}`).update(date).digest();
    const kRegion = createHmac('sha256', kDate).update(region).digest();
    const kService = createHmac('sha256', kRegion).update(service).digest();
    key = createHmac('sha256', kService).update('aws4_request').digest();
    if (keyCache.size > 1000) keyCache.clear();
    keyCache.set(cacheKey, key);
  }
  return key;
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Computes the signature the request should carry if signed with `secret`. */
export function expectedSignature(p: ParsedSigV4, req: SignedRequest, secret: string): string {
  const headers = p.headers;
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const query = q < 0 ? '' : req.url.slice(q + 1);
  const bodyHash = sha256Hex(req.body);
  const declared = headers.get('x-amz-content-sha256');
  if (declared !== undefined && declared !== 'UNSIGNED-PAYLOAD' && declared !== bodyHash) {
    throw invalidSig("The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  const payloadHash = declared ?? bodyHash;
  let canonicalHeaders = '';
  for (const h of p.signedHeaders) canonicalHeaders += `${h}:${headers.get(h) ?? ''}\n`;
  const canonicalRequest = [
    req.method,
    canonicalUri(path),
    canonicalQuery(query),
    canonicalHeaders,
    p.signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${p.scopeDate}/${p.region}/${p.service}/aws4_request`;
  const stringToSign = `AWS4-HMAC-SHA256\n${p.amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
  return createHmac('sha256', signingKey(secret, p.scopeDate, p.region, p.service))
    .update(stringToSign)
    .digest('hex');
}

/** Throws `InvalidSignatureException` unless the request was signed with `secret`. */
export function verifySigV4(p: ParsedSigV4, req: SignedRequest, secret: string): void {
  const expected = Buffer.from(expectedSignature(p, req, secret));
  const given = Buffer.from(p.signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw invalidSig(MSG.badSignature);
  }
}
