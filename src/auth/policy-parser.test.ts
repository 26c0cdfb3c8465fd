import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../errors.js';
import { parsePolicy } from './policy-parser.js';

function parseError(text: string): string {
  try {
    parsePolicy('p', text);
  } catch (e) {
    expect(e).toBeInstanceOf(BadRequestError);
    return (e as Error).message;
  }
  throw new Error('expected a parse error');
}

describe('parsePolicy', () => {
  it('parses a single-line block', () => {
    expect(parsePolicy('p', 'path "a/*" { capabilities = ["read"] }').rules).toEqual([{ path: 'a/*', capabilities: ['read'] }]);
  });

  it('parses several multi-line blocks with comments of every kind', () => {
    const p = parsePolicy(
      'p',
      `# hash comment
// slash comment
/* block
   comment */
path "secret/data/*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
}

path "sys/mounts" {
  capabilities = ["read"] # trailing
}
`,
    );
    expect(p.rules).toEqual([
      { path: 'secret/data/*', capabilities: ['create', 'read', 'update', 'patch', 'delete', 'list'] },
      { path: 'sys/mounts', capabilities: ['read'] },
    ]);
    expect(p.name).toBe('p');
  });

  it('keeps repeated stanzas for one path (merged later by the ACL)', () => {
    const p = parsePolicy('p', 'path "a" { capabilities = ["read"] }\npath "a" { capabilities = ["list"] }\n');
    expect(p.rules).toEqual([
      { path: 'a', capabilities: ['read'] },
      { path: 'a', capabilities: ['list'] },
    ]);
  });

  it('accepts HCL1-style blocks whose closing brace follows an attribute', () => {
    expect(parsePolicy('p', 'path "a" {\n  capabilities = ["read"] }').rules).toEqual([{ path: 'a', capabilities: ['read'] }]);
  });

  it('accepts and ignores the parameter, wrapping and event keys', () => {
    const p = parsePolicy(
      'p',
      `path "secret/+/x" {
  capabilities = ["subscribe", "read"]
  subscribe_event_types = ["kv*"]
  allowed_parameters = { "foo" = [] }
  denied_parameters = { "bar" = ["x"] }
  required_parameters = ["foo"]
  min_wrapping_ttl = "1s"
  max_wrapping_ttl = "1h"
  comment = "why"
}
`,
    );
    expect(p.rules).toEqual([{ path: 'secret/+/x', capabilities: ['subscribe', 'read'] }]);
  });

  it('reduces a stanza containing deny to deny alone', () => {
    expect(parsePolicy('p', 'path "a" { capabilities = ["read", "deny", "list"] }').rules[0]!.capabilities).toEqual(['deny']);
  });

  it('maps the old policy = "..." shorthand', () => {
    const rules = parsePolicy(
      'p',
      'path "a" { policy = "read" }\npath "b" { policy = "write" }\npath "c" { policy = "deny" }\npath "d" { policy = "sudo" }\n',
    ).rules;
    expect(rules.map((r) => r.capabilities)).toEqual([
      ['read', 'list'],
      ['create', 'read', 'update', 'delete', 'list'],
      ['deny'],
      ['create', 'read', 'update', 'delete', 'list', 'sudo'],
    ]);
  });

  it('strips a leading slash from the pattern', () => {
    expect(parsePolicy('p', 'path "/a/b" { capabilities = ["read"] }').rules[0]!.path).toBe('a/b');
  });

  it('parses the JSON form', () => {
    expect(parsePolicy('p', '{"path":{"a/*":{"capabilities":["read"]},"b":[{"capabilities":["list"]}]}}').rules).toEqual([
      { path: 'a/*', capabilities: ['read'] },
      { path: 'b', capabilities: ['list'] },
    ]);
  });

  it('accepts an empty policy and an empty stanza', () => {
    expect(parsePolicy('p', '').rules).toEqual([]);
    expect(parsePolicy('p', '# nothing\n').rules).toEqual([]);
    expect(parsePolicy('p', 'path "a" {}').rules).toEqual([{ path: 'a', capabilities: [] }]);
  });

  it('names an invalid capability the way Vault does', () => {
    expect(parseError('path "a/*" { capabilities = ["read", "x"] }')).toBe('failed to parse policy: path "a/*": invalid capability "x"');
  });

  it('rejects unknown keys', () => {
    expect(parseError('foo = 1')).toBe('failed to parse policy: invalid key "foo"');
    expect(parseError('path "a" { capabilities = ["read"]\n  bogus = 1\n}')).toBe('failed to parse policy: path "a": invalid key "bogus"');
  });

  it('rejects syntax errors', () => {
    expect(parseError('path "a" { capabilities = ["read"')).toMatch(/^failed to parse policy: /);
    expect(parseError('path "a" { capabilities = ["read"] ')).toMatch(/^failed to parse policy: /);
    expect(parseError('{"path": ')).toBe('failed to parse policy: invalid JSON');
  });

  it('rejects malformed stanzas', () => {
    expect(parseError('path { capabilities = ["read"] }')).toMatch(/^failed to parse policy: path must be given/);
    expect(parseError('path "a" { capabilities = [1] }')).toBe('failed to parse policy: path "a": capabilities must be a list of strings');
    expect(parseError('path "a" { policy = "admin" }')).toBe('failed to parse policy: path "a": invalid policy "admin"');
    expect(parseError('path "a/+*" { capabilities = ["read"] }')).toBe(
      `failed to parse policy: path "a/+*": invalid use of wildcards ('+*' is forbidden)`,
    );
    expect(parseError('[1]')).toMatch(/^failed to parse policy: /);
  });
});
