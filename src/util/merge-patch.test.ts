import { describe, expect, it } from 'vitest';
import { applyMergePatch } from './merge-patch.js';

describe('applyMergePatch (RFC 7396)', () => {
  it('merges, replaces and removes', () => {
    expect(applyMergePatch({ a: 1, b: { c: 2, d: 3 } }, { a: null, b: { c: 9 }, e: [1] })).toEqual({ b: { c: 9, d: 3 }, e: [1] });
    expect(applyMergePatch({ a: 1 }, 'x')).toBe('x');
  });

  it('adds a __proto__ key as data and leaves the prototype alone', () => {
    const patch = JSON.parse('{"__proto__": {"polluted": "yes"}}');
    const out = applyMergePatch({ a: 1 }, patch) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(['a', '__proto__']);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
