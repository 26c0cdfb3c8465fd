import { describe, expect, it } from 'vitest';
import { capabilityNames, compileAcl, ROOT_ACL } from './acl.js';
import type { Acl } from './auth-types.js';
import { parsePolicy } from './policy-parser.js';

function acl(...texts: string[]): Acl {
  return compileAcl(texts.map((t, i) => parsePolicy(`p${i}`, t)));
}
const caps = (a: Acl, path: string) => [...a.capabilities(path)].sort();

describe('compileAcl', () => {
  it('Vault docs example: a read-only prefix rule', () => {
    const a = acl('path "my-kv/data/app/*" { capabilities = ["read"] }');
    expect(a.root).toBe(false);
    expect(a.allows('my-kv/data/app/x', 'read')).toBe(true);
    expect(a.allows('my-kv/data/app/x/y', 'read')).toBe(true);
    expect(a.allows('my-kv/data/app/x', 'update')).toBe(false);
    expect(a.allows('my-kv/data/app/x', 'create')).toBe(false);
    expect(a.allows('my-kv/data/other', 'read')).toBe(false);
    expect(caps(a, 'sys/mounts')).toEqual([]);
    expect(a.allows('sys/mounts', 'read')).toBe(false);
  });

  it('matches exact rules exactly', () => {
    const a = acl('path "secret/foo" { capabilities = ["read"] }');
    expect(a.allows('secret/foo', 'read')).toBe(true);
    expect(a.allows('/secret/foo', 'read')).toBe(true);
    expect(a.allows('secret/foo/bar', 'read')).toBe(false);
    expect(a.allows('secret/fo', 'read')).toBe(false);
    expect(a.allows('secret/foobar', 'read')).toBe(false);
  });

  it('lets an exact rule answer a list path with a trailing slash', () => {
    const a = acl('path "secret/metadata/dir" { capabilities = ["list"] }');
    expect(a.allows('secret/metadata/dir/', 'list')).toBe(true);
  });

  it('treats a trailing * as a string prefix, not a segment boundary', () => {
    const a = acl('path "secret/fo*" { capabilities = ["read"] }');
    expect(a.allows('secret/foo', 'read')).toBe(true);
    expect(a.allows('secret/fo', 'read')).toBe(true);
    expect(a.allows('secret/fox/trot', 'read')).toBe(true);
    expect(a.allows('secret/f', 'read')).toBe(false);
  });

  it('lets "*" alone match everything', () => {
    const a = acl('path "*" { capabilities = ["read"] }');
    expect(a.allows('anything/at/all', 'read')).toBe(true);
    expect(a.allows('', 'read')).toBe(true);
  });

  it('the longest prefix rule wins among prefix rules', () => {
    const a = acl('path "secret/*" { capabilities = ["read"] }\npath "secret/app/*" { capabilities = ["list"] }\n');
    expect(caps(a, 'secret/app/x')).toEqual(['list']);
    expect(caps(a, 'secret/other')).toEqual(['read']);
  });

  it('an exact rule beats every wildcard rule', () => {
    const a = acl(
      'path "secret/*" { capabilities = ["deny"] }\npath "secret/+/x" { capabilities = ["deny"] }\npath "secret/a/x" { capabilities = ["read"] }\n',
    );
    expect(caps(a, 'secret/a/x')).toEqual(['read']);
    expect(caps(a, 'secret/b/x')).toEqual(['deny']);
  });

  it('+ matches exactly one segment', () => {
    const a = acl('path "secret/+/config" { capabilities = ["read"] }');
    expect(a.allows('secret/team/config', 'read')).toBe(true);
    expect(a.allows('secret/team/sub/config', 'read')).toBe(false);
    expect(a.allows('secret/config', 'read')).toBe(false);
    expect(a.allows('secret/team/config/x', 'read')).toBe(false);
  });

  it('+ combines with a trailing *', () => {
    const a = acl('path "secret/+/data/*" { capabilities = ["read"] }\npath "kv/+/ap*" { capabilities = ["list"] }\n');
    expect(a.allows('secret/team/data/a/b', 'read')).toBe(true);
    expect(a.allows('secret/team/data/', 'read')).toBe(true);
    expect(a.allows('secret/team/data', 'read')).toBe(false);
    expect(a.allows('secret/team/other/a', 'read')).toBe(false);
    expect(a.allows('kv/x/app/deep', 'list')).toBe(true);
    expect(a.allows('kv/x/bpp', 'list')).toBe(false);
  });

  it('a leading + and a lone + are segment wildcards', () => {
    const a = acl('path "+/config" { capabilities = ["read"] }\npath "+" { capabilities = ["list"] }\n');
    expect(a.allows('anything/config', 'read')).toBe(true);
    expect(a.allows('top', 'list')).toBe(true);
    expect(a.allows('top/x', 'list')).toBe(false);
  });

  it('merges capabilities of the same pattern across policies (union)', () => {
    const a = acl('path "secret/*" { capabilities = ["read"] }', 'path "secret/*" { capabilities = ["list", "update"] }');
    expect(caps(a, 'secret/x')).toEqual(['list', 'read', 'update']);
  });

  it('merges repeated stanzas inside one policy', () => {
    const a = acl('path "a" { capabilities = ["read"] }\npath "a" { capabilities = ["list"] }\n');
    expect(caps(a, 'a')).toEqual(['list', 'read']);
  });

  it('deny in any policy wins for that pattern, in either order', () => {
    const one = acl('path "secret/*" { capabilities = ["read", "sudo"] }', 'path "secret/*" { capabilities = ["deny"] }');
    const two = acl('path "secret/*" { capabilities = ["deny"] }', 'path "secret/*" { capabilities = ["read"] }');
    for (const a of [one, two]) {
      expect(caps(a, 'secret/x')).toEqual(['deny']);
      expect(a.allows('secret/x', 'read')).toBe(false);
      expect(a.allows('secret/x', 'deny')).toBe(false);
    }
  });

  it('a more specific allow beats a less specific deny', () => {
    const a = acl('path "secret/*" { capabilities = ["deny"] }', 'path "secret/public/*" { capabilities = ["read"] }');
    expect(a.allows('secret/public/x', 'read')).toBe(true);
    expect(a.allows('secret/private/x', 'read')).toBe(false);
  });

  it('a more specific rule decides even if it grants nothing', () => {
    const a = acl('path "secret/*" { capabilities = ["read"] }\npath "secret/locked/*" {}\n');
    expect(caps(a, 'secret/locked/x')).toEqual([]);
  });

  describe('priority of wildcard rules', () => {
    it('(1) the rule whose first wildcard comes later wins', () => {
      const a = acl('path "foo/+" { capabilities = ["read"] }\npath "foo/a*" { capabilities = ["list"] }\n');
      // foo/a* has its glob at index 5, foo/+ its + at index 4
      expect(caps(a, 'foo/ab')).toEqual(['list']);
      const b = acl('path "foo/+/bar/baz" { capabilities = ["read"] }\npath "foo/bar/+/baz" { capabilities = ["list"] }\n');
      expect(caps(b, 'foo/bar/bar/baz')).toEqual(['list']);
    });

    it('(2) with the wildcard at the same place, not ending in * wins', () => {
      const a = acl('path "foo/+/bar" { capabilities = ["read"] }\npath "foo/+/ba*" { capabilities = ["list"] }\n');
      expect(caps(a, 'foo/x/bar')).toEqual(['read']);
      expect(caps(a, 'foo/x/baz')).toEqual(['list']);
      const b = acl('path "foo/+" { capabilities = ["read"] }\npath "foo/*" { capabilities = ["list"] }\n');
      expect(caps(b, 'foo/x')).toEqual(['read']);
      expect(caps(b, 'foo/x/y')).toEqual(['list']);
    });

    it('(3) then fewer + segments wins (Vault docs: secret/* over secret/+/+/foo/*)', () => {
      const a = acl('path "secret/*" { capabilities = ["read"] }\npath "secret/+/+/foo/*" { capabilities = ["list"] }\n');
      expect(caps(a, 'secret/a/b/foo/bar')).toEqual(['read']);
      const b = acl('path "foo/+/+/baz" { capabilities = ["read"] }\npath "foo/+/bar/+" { capabilities = ["list"] }\npath "foo/+/bar/baz" { capabilities = ["update"] }\n');
      expect(caps(b, 'foo/x/bar/baz')).toEqual(['update']);
    });

    it('(4) then the longer pattern wins', () => {
      const a = acl('path "foo/+/bar/b*" { capabilities = ["read"] }\npath "foo/+/bar/ba*" { capabilities = ["list"] }\n');
      expect(caps(a, 'foo/x/bar/baz')).toEqual(['list']);
      expect(caps(a, 'foo/x/bar/bz')).toEqual(['read']);
    });

    it('(5) finally the lexicographically greater pattern wins', () => {
      // both: first + at 0, not prefix, two +, length 5; "+/x/+" > "+/+/y" ('x' > '+')
      const a = acl('path "+/x/+" { capabilities = ["read"] }\npath "+/+/y" { capabilities = ["list"] }\n');
      expect(caps(a, 'k/x/y')).toEqual(['read']);
      const b = acl('path "+/+/y" { capabilities = ["list"] }', 'path "+/x/+" { capabilities = ["read"] }');
      expect(caps(b, 'k/x/y')).toEqual(['read']);
    });

    it('a prefix rule competes with wildcard rules', () => {
      const a = acl('path "secret/data/*" { capabilities = ["read"] }\npath "secret/+/app" { capabilities = ["list"] }\n');
      // prefix glob at index 12, + at index 7 -> prefix rule wins
      expect(caps(a, 'secret/data/app')).toEqual(['read']);
      expect(caps(a, 'secret/meta/app')).toEqual(['list']);
    });
  });

  it('root policy allows everything', () => {
    const a = compileAcl([parsePolicy('root', ''), parsePolicy('x', 'path "a" { capabilities = ["deny"] }')]);
    expect(a).toBe(ROOT_ACL);
    expect(a.root).toBe(true);
    expect(a.allows('sys/anything', 'sudo')).toBe(true);
    expect(capabilityNames(a, 'x')).toEqual(['root']);
  });

  it('capabilityNames answers deny when nothing is granted', () => {
    const a = acl('path "a" { capabilities = ["update", "read"] }');
    expect(capabilityNames(a, 'a')).toEqual(['read', 'update']);
    expect(capabilityNames(a, 'b')).toEqual(['deny']);
  });
});

describe('allowsAnyUnder', () => {
  it('is true for a grant on the path itself or with a slash', () => {
    expect(acl('path "my-kv" { capabilities = ["read"] }').allowsAnyUnder('my-kv')).toBe(true);
    expect(acl('path "my-kv/" { capabilities = ["list"] }').allowsAnyUnder('my-kv')).toBe(true);
    expect(acl('path "my-k*" { capabilities = ["read"] }').allowsAnyUnder('my-kv/')).toBe(true);
  });

  it('is true for any rule lying under the path', () => {
    const a = acl('path "my-kv/data/app/*" { capabilities = ["read"] }');
    expect(a.allowsAnyUnder('my-kv')).toBe(true);
    expect(a.allowsAnyUnder('my-kv/')).toBe(true);
    expect(a.allowsAnyUnder('other')).toBe(false);
    expect(a.allowsAnyUnder('my-k')).toBe(false);
    expect(acl('path "my-kv/data/x" { capabilities = ["create"] }').allowsAnyUnder('my-kv')).toBe(true);
  });

  it('ignores deny and empty rules', () => {
    expect(acl('path "my-kv/*" { capabilities = ["deny"] }').allowsAnyUnder('my-kv')).toBe(false);
    expect(acl('path "my-kv/data/x" {}').allowsAnyUnder('my-kv')).toBe(false);
    const a = acl('path "my-kv/*" { capabilities = ["deny"] }\npath "my-kv/data/ok" { capabilities = ["read"] }\n');
    expect(a.allowsAnyUnder('my-kv')).toBe(true);
  });

  it('understands segment wildcards', () => {
    expect(acl('path "+/data/*" { capabilities = ["read"] }').allowsAnyUnder('my-kv')).toBe(true);
    expect(acl('path "my-kv/+/x" { capabilities = ["read"] }').allowsAnyUnder('my-kv')).toBe(true);
    expect(acl('path "other/+/x" { capabilities = ["read"] }').allowsAnyUnder('my-kv')).toBe(false);
    expect(acl('path "+/+/x" { capabilities = ["deny"] }').allowsAnyUnder('my-kv')).toBe(false);
  });

  it('handles nested mount paths', () => {
    const a = acl('path "team/kv/data/*" { capabilities = ["read"] }');
    expect(a.allowsAnyUnder('team/kv/')).toBe(true);
    expect(a.allowsAnyUnder('team/other/')).toBe(false);
  });

  it('is always true for root', () => {
    expect(ROOT_ACL.allowsAnyUnder('x')).toBe(true);
  });
});
