import { describe, expect, it } from 'vitest';
import { compileTemplate } from './name-template.js';
import { plan, stableJson, type PlanInput } from './planner.js';

const base = (over: Partial<PlanInput> = {}): PlanInput => ({
  source: { kind: 'data', version: 1, data: { foo: 'bar' } },
  granularity: 'secret-path',
  template: compileTemplate('vault/{{ .MountAccessor }}/{{ .SecretPath }}'),
  context: { MountAccessor: 'kv_1234abcd', SecretPath: 'my-secret' },
  normalize: (n) => n.replace(/[^A-Za-z0-9/_+=.@-]/g, '_'),
  customTags: {},
  previous: {},
  hash: (name, value, tags) => `${name}|${value}|${stableJson(tags)}`,
  ...over,
});

describe('planner', () => {
  it('creates the secret-path secret as a JSON object string', () => {
    const p = plan(base());
    expect(p.upserts).toEqual([{ key: '', name: 'vault/kv_1234abcd/my-secret', value: '{"foo":"bar"}', hash: expect.any(String), removedTagKeys: [], tagsUnchanged: false }]);
    expect(p.deletes).toEqual([]);
  });

  it('makes no call when nothing changed', () => {
    const first = plan(base());
    const again = plan(base({ previous: first.next }));
    expect(again.upserts).toEqual([]);
    expect(again.deletes).toEqual([]);
  });

  it('stable JSON: key order does not change the value', () => {
    const a = plan(base({ source: { kind: 'data', version: 1, data: { b: 1, a: { d: 2, c: 3 } } } }));
    expect(a.upserts[0]!.value).toBe('{"a":{"c":3,"d":2},"b":1}');
  });

  it('unsyncs everything when the source has no active version', () => {
    const first = plan(base());
    const p = plan(base({ source: { kind: 'none' }, previous: first.next }));
    expect(p.upserts).toEqual([]);
    expect(p.deletes).toEqual([{ key: '', name: 'vault/kv_1234abcd/my-secret' }]);
    expect(p.next).toEqual({});
  });

  it('secret-key granularity: one secret per key; added and removed keys create and delete', () => {
    const t = compileTemplate('vault_{{ .SecretPath }}_{{ .SecretKey }}');
    const first = plan(base({ granularity: 'secret-key', template: t, source: { kind: 'data', version: 1, data: { a: 'x', b: { n: 1 } } } }));
    expect(first.upserts.map((u) => [u.key, u.name, u.value])).toEqual([
      ['a', 'vault_my-secret_a', 'x'],
      ['b', 'vault_my-secret_b', '{"n":1}'],
    ]);
    const second = plan(base({ granularity: 'secret-key', template: t, previous: first.next, source: { kind: 'data', version: 2, data: { a: 'x', c: 'new' } } }));
    expect(second.upserts.map((u) => u.name)).toEqual(['vault_my-secret_c']);
    expect(second.deletes).toEqual([{ key: 'b', name: 'vault_my-secret_b' }]);
  });

  it('a template change moves the secret: create the new name, delete the old', () => {
    const first = plan(base());
    const p = plan(base({ template: compileTemplate('vault-moved/{{ .SecretPath }}'), previous: first.next }));
    expect(p.upserts.map((u) => u.name)).toEqual(['vault-moved/my-secret']);
    expect(p.deletes).toEqual([{ key: '', name: 'vault/kv_1234abcd/my-secret' }]);
  });

  it('tag changes rewrite and report removed tag keys', () => {
    const first = plan(base({ customTags: { team: 'a', env: 'prod' } }));
    const p = plan(base({ customTags: { team: 'b' }, previous: first.next }));
    expect(p.upserts).toHaveLength(1);
    expect(p.upserts[0]!.removedTagKeys).toEqual(['env']);
  });

  it('normalises names', () => {
    const p = plan(base({ context: { MountAccessor: 'kv_1', SecretPath: 'a b#c' } }));
    expect(p.upserts[0]!.name).toBe('vault/kv_1/a_b_c');
  });

  it('refuses two keys that normalise to the same external name', () => {
    const t = compileTemplate('vault/{{ .SecretKey }}');
    expect(() => plan(base({ granularity: 'secret-key', template: t, source: { kind: 'data', version: 1, data: { 'a b': '1', a_b: '2' } } }))).toThrow(
      /keys "a b" and "a_b" both map to the external name vault\/a_b/,
    );
  });

  it('a value-only change says the tags are unchanged; a tag change or a new name does not', () => {
    const first = plan(base({ customTags: { team: 'a' } }));
    const value = plan(base({ customTags: { team: 'a' }, previous: first.next, source: { kind: 'data', version: 2, data: { foo: 'new' } } }));
    expect(value.upserts[0]!.tagsUnchanged).toBe(true);
    const tags = plan(base({ customTags: { team: 'b' }, previous: first.next }));
    expect(tags.upserts[0]!.tagsUnchanged).toBe(false);
    const moved = plan(base({ customTags: { team: 'a' }, previous: first.next, template: compileTemplate('vault-x/{{ .SecretPath }}') }));
    expect(moved.upserts[0]!.tagsUnchanged).toBe(false);
  });
});
