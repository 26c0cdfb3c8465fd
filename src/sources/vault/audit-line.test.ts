import { describe, expect, it } from 'vitest';
import type { RequestInfo } from '../../http/app.js';
import { formatAuditEntries } from '../../observability/audit-format.js';
import { jsonDepthExceeds } from '../../util/json-depth.js';
import { kvSecretOf, MAX_AUDIT_LINE_BYTES, parseAuditLine } from './audit-line.js';

/** A response entry as Vault writes it (fields trimmed to those that matter plus some noise). */
function vaultResponse(path: string, operation: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    time: '2025-06-12T15:19:49.394915Z',
    type: 'response',
    auth: { client_token: 'hmac-sha256:aa', accessor: 'hmac-sha256:bb', display_name: 'root', policies: ['root'], token_type: 'service' },
    request: {
      id: 'c5b4cbd1-0000-0000-0000-000000000000',
      operation,
      mount_point: 'secret/',
      mount_type: 'kv',
      mount_accessor: 'kv_5dc4d18e',
      mount_running_version: 'v0.20.0+builtin',
      mount_class: 'secret',
      client_token: 'hmac-sha256:aa',
      namespace: { id: 'root' },
      path,
      data: { data: { password: 'hmac-sha256:cc' }, options: {} },
      remote_address: '127.0.0.1',
      remote_port: 51234,
    },
    response: { mount_point: 'secret/', mount_type: 'kv', mount_accessor: 'kv_5dc4d18e', data: { version: 2, created_time: 'hmac-sha256:dd' } },
    ...extra,
  });
}

function change(line: string | Buffer) {
  const r = parseAuditLine(line);
  if (r.kind !== 'change') return r;
  const s = kvSecretOf(r.change.mountPoint!, r.change.path, r.change.operation);
  return s ? { accessor: r.change.accessor, ...s } : { kind: 'unmapped' };
}

describe('parseAuditLine: KV-v2 changes', () => {
  it.each([
    ['secret/data/app', 'create', 'data'],
    ['secret/data/app', 'update', 'data'],
    ['secret/data/app', 'patch', 'data'],
    ['secret/data/app', 'delete', 'data'],
    ['secret/delete/app', 'update', 'delete'],
    ['secret/undelete/app', 'update', 'undelete'],
    ['secret/destroy/app', 'update', 'destroy'],
    ['secret/metadata/app', 'update', 'metadata'],
    ['secret/metadata/app', 'patch', 'metadata'],
    ['secret/metadata/app', 'delete', 'metadata'],
  ])('%s %s → %s', (path, op, action) => {
    expect(change(vaultResponse(path, op))).toEqual({ accessor: 'kv_5dc4d18e', action, secretPath: 'app' });
  });

  it('keeps nested secret paths whole', () => {
    expect(change(vaultResponse('secret/data/team/a/b', 'update'))).toMatchObject({ secretPath: 'team/a/b' });
  });

  it('accepts a mount point without trailing slash and a missing mount_type', () => {
    const e = JSON.parse(vaultResponse('secret/data/app', 'update'));
    e.request.mount_point = 'secret';
    delete e.request.mount_type;
    delete e.response.mount_type;
    expect(change(JSON.stringify(e))).toMatchObject({ secretPath: 'app' });
  });

  it('reads the mount facts from the response when the request lacks them', () => {
    const e = JSON.parse(vaultResponse('secret/data/app', 'update'));
    delete e.request.mount_accessor;
    delete e.request.mount_point;
    expect(change(JSON.stringify(e))).toEqual({ accessor: 'kv_5dc4d18e', action: 'data', secretPath: 'app' });
  });

  it('reports a change without a mount point for the caller to resolve', () => {
    const e = JSON.parse(vaultResponse('secret/data/app', 'update'));
    delete e.request.mount_point;
    delete e.response.mount_point;
    const r = parseAuditLine(JSON.stringify(e));
    expect(r).toEqual({ kind: 'change', change: { accessor: 'kv_5dc4d18e', path: 'secret/data/app', operation: 'update' } });
  });
});

describe('parseAuditLine: what is ignored', () => {
  it('request entries (the change is not yet done)', () => {
    const e = JSON.parse(vaultResponse('secret/data/app', 'update'));
    e.type = 'request';
    delete e.response;
    expect(parseAuditLine(JSON.stringify(e))).toEqual({ kind: 'ignored' });
  });

  it('failed responses (top-level error or an error in the response data)', () => {
    expect(parseAuditLine(vaultResponse('secret/data/app', 'update', { error: '1 error occurred:\n\t* permission denied\n\n' }))).toEqual({ kind: 'ignored' });
    const e = JSON.parse(vaultResponse('secret/data/app', 'update'));
    e.response.data = { error: 'check-and-set parameter did not match the current version' };
    expect(parseAuditLine(JSON.stringify(e))).toEqual({ kind: 'ignored' });
  });

  it('reads and lists', () => {
    expect(parseAuditLine(vaultResponse('secret/data/app', 'read'))).toEqual({ kind: 'ignored' });
    expect(parseAuditLine(vaultResponse('secret/metadata/', 'list'))).toEqual({ kind: 'ignored' });
  });

  it('other mount types', () => {
    const e = JSON.parse(vaultResponse('sys/policy/x', 'update'));
    e.request.mount_type = 'system';
    expect(parseAuditLine(JSON.stringify(e))).toEqual({ kind: 'ignored' });
  });

  it('KV paths that are not one secret', () => {
    expect(change(vaultResponse('secret/config', 'update'))).toEqual({ kind: 'unmapped' });
    expect(change(vaultResponse('secret/data/', 'update'))).toEqual({ kind: 'unmapped' });
    expect(change(vaultResponse('secret/data/a/../b', 'update'))).toEqual({ kind: 'unmapped' });
    expect(change(vaultResponse('secret/subkeys/app', 'update'))).toEqual({ kind: 'unmapped' });
    expect(change(vaultResponse('other/data/app', 'update'))).toEqual({ kind: 'unmapped' });
    // delete/undelete/destroy endpoints are writes only
    expect(change(vaultResponse('secret/destroy/app', 'delete'))).toEqual({ kind: 'unmapped' });
  });

  it('blank lines', () => {
    expect(parseAuditLine('   ')).toEqual({ kind: 'ignored' });
  });
});

describe('parseAuditLine: garbage and hostile input', () => {
  it.each([
    ['not json', 'invalid_json'],
    ['{"type":"response"', 'invalid_json'],
    ['[]', 'not_an_entry'],
    ['42', 'not_an_entry'],
    ['null', 'not_an_entry'],
    ['{"type":"response"}', 'not_an_entry'],
    ['{"type":"other","request":{}}', 'not_an_entry'],
    ['{"type":"response","request":"secret/data/x"}', 'not_an_entry'],
  ])('%s → %s', (line, reason) => {
    expect(parseAuditLine(line)).toEqual({ kind: 'malformed', reason });
  });

  it('wrongly typed fields are ignored, not thrown on', () => {
    const e = JSON.parse(vaultResponse('secret/data/app', 'update'));
    e.request.path = ['secret/data/app'];
    e.request.operation = { op: 'update' };
    expect(parseAuditLine(JSON.stringify(e))).toEqual({ kind: 'ignored' });
  });

  it('invalid UTF-8', () => {
    const buf = Buffer.concat([Buffer.from('{"type":"response","request":{"path":"secret/data/'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}')]);
    expect(parseAuditLine(buf)).toEqual({ kind: 'malformed', reason: 'invalid_utf8' });
  });

  it('lines over 1 MiB', () => {
    const big = vaultResponse('secret/data/app', 'update').replace('hmac-sha256:cc', 'x'.repeat(MAX_AUDIT_LINE_BYTES));
    expect(parseAuditLine(big)).toEqual({ kind: 'malformed', reason: 'too_long' });
    expect(parseAuditLine(Buffer.from(big))).toEqual({ kind: 'malformed', reason: 'too_long' });
  });

  it('deeply nested JSON, without parsing it', () => {
    expect(parseAuditLine('['.repeat(100_000) + ']'.repeat(100_000))).toEqual({ kind: 'malformed', reason: 'too_deep' });
    expect(parseAuditLine(`{"type":"response","request":{"data":${'{"a":'.repeat(70)}1${'}'.repeat(70)}}}`)).toEqual({ kind: 'malformed', reason: 'too_deep' });
  });

  it('counts depth outside strings only', () => {
    expect(jsonDepthExceeds('{"a":"[[[[{{{{\\"[[["}', 1)).toBe(false);
    expect(jsonDepthExceeds('[[1],[2,[3]]]', 3)).toBe(false);
    expect(jsonDepthExceeds('[[1],[2,[3]]]', 2)).toBe(true);
  });
});

describe('our own audit device output is understood by the parser', () => {
  const mount = { path: 'my-kv/', type: 'kv', description: '', accessor: 'kv_0123abcd', uuid: 'u', options: { version: '2' }, config: { default_lease_ttl: 0, max_lease_ttl: 0, force_no_cache: false }, local: false, sealWrap: false, createdMs: 0 };
  const info = (path: string, op: RequestInfo['op'], status = 200, error?: string): RequestInfo => ({
    op,
    path,
    status,
    token: undefined,
    clientToken: 'root',
    remoteAddress: '127.0.0.1',
    data: { data: { k: 'v' } },
    response: status === 204 ? undefined : { request_id: 'r', data: { version: 1 } },
    ...(error !== undefined && { error }),
    mount,
    durationMs: 1,
  });
  const lines = (i: RequestInfo) => formatAuditEntries(i, { salt: Buffer.alloc(32, 1), hmacAccessor: true, logRaw: false }, 0).map((e) => JSON.stringify(e));

  it('a write: the request entry is ignored, the response entry is the change', () => {
    const [req, resp] = lines(info('my-kv/data/app', 'write'));
    expect(parseAuditLine(req!)).toEqual({ kind: 'ignored' });
    expect(change(resp!)).toEqual({ accessor: 'kv_0123abcd', action: 'data', secretPath: 'app' });
  });

  it('a delete (204) and a failed write', () => {
    expect(change(lines(info('my-kv/metadata/app', 'delete', 204))[1]!)).toEqual({ accessor: 'kv_0123abcd', action: 'metadata', secretPath: 'app' });
    expect(parseAuditLine(lines(info('my-kv/data/app', 'write', 400, 'no data provided'))[1]!)).toEqual({ kind: 'ignored' });
  });
});
