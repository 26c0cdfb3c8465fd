/**
 * Prefix ranges over storage keys, shared by every PhysicalStore so that
 * `list`/`scan`/`deletePrefix` select the same keys everywhere. Both SQLite
 * (BINARY collation) and PostgreSQL (`COLLATE "C"`) order text by its UTF-8
 * bytes, which is code-point order; the range of keys starting with `prefix`
 * is `[prefix, prefixEnd(prefix))`.
 */

/**
 * The smallest string greater than every string that starts with `prefix`:
 * the prefix with its last code point incremented (skipping the surrogate
 * block, which UTF-8 cannot encode). Undefined when there is none (the empty
 * prefix, or one made only of U+10FFFF): the range then has no upper bound.
 *
 * Appending U+FFFF, as the SQLite store once did, misses keys whose next
 * character is U+FFFF itself or outside the BMP (an emoji encodes as F0..,
 * after U+FFFF's EF BF BF), so such secrets vanished from LIST.
 */
export function prefixEnd(prefix: string): string | undefined {
  const cps = Array.from(prefix);
  while (cps.length > 0) {
    const last = cps.pop()!.codePointAt(0)!;
    // A lone surrogate reaches storage as U+FFFD (the drivers' UTF-8 encoding).
    let next = last >= 0xd800 && last <= 0xdfff ? 0xfffe : last + 1;
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000;
    if (next <= 0x10ffff) return cps.join('') + String.fromCodePoint(next);
  }
  return undefined;
}
