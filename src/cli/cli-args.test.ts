import { describe, expect, it } from 'vitest';
import {
  HTTP_FLAGS,
  HelpRequested,
  UsageError,
  goDurationString,
  joinPath,
  parseDurationSeconds,
  parseFlags,
  sanitizePath,
} from './cli-args.js';
import { KV_FLAGS } from './cli-kv.js';

describe('parseFlags', () => {
  const specs = [
    ...HTTP_FLAGS,
    { name: 'mount', type: 'string' as const },
    { name: 'cas', type: 'int' as const },
    { name: 'force', type: 'bool' as const, aliases: ['f'] },
    { name: 'versions', type: 'strings' as const },
    { name: 'custom-metadata', type: 'map' as const },
  ];

  it('accepts Vault single-dash flags', () => {
    const p = parseFlags(['-mount=my-kv', '-format=json', 'my-secret', 'foo=bar'], specs);
    expect(p.flags).toEqual({ mount: 'my-kv', format: 'json' });
    expect(p.args).toEqual(['my-secret', 'foo=bar']);
  });

  it('accepts GNU double-dash flags with = or a separate value', () => {
    expect(parseFlags(['--mount=my-kv', 'k'], specs).flags).toEqual({ mount: 'my-kv' });
    expect(parseFlags(['--mount', 'my-kv', 'k'], specs)).toEqual({ flags: { mount: 'my-kv' }, args: ['k'] });
    expect(parseFlags(['-mount', 'my-kv', 'k'], specs)).toEqual({ flags: { mount: 'my-kv' }, args: ['k'] });
  });

  it('parses bools without consuming the next argument, and -flag=false', () => {
    expect(parseFlags(['-f', 'sys/rotate'], specs)).toEqual({ flags: { force: true }, args: ['sys/rotate'] });
    expect(parseFlags(['--force=false', 'p'], specs).flags).toEqual({ force: false });
    expect(() => parseFlags(['-f=maybe'], specs)).toThrow('invalid boolean value "maybe" for -f: parse error');
  });

  it('allows flags after positional arguments', () => {
    expect(parseFlags(['my-secret', '-mount=my-kv', 'a=b', '--cas', '0'], specs)).toEqual({
      flags: { mount: 'my-kv', cas: 0 },
      args: ['my-secret', 'a=b'],
    });
  });

  it('keeps a lone "-" and everything after "--" positional', () => {
    expect(parseFlags(['p', '-', '--', '-mount=x'], specs).args).toEqual(['p', '-', '-mount=x']);
  });

  it('collects repeatable lists (comma separated too) and k=v maps', () => {
    const p = parseFlags(['-versions=1,2', '-versions', '3', '-custom-metadata=a=1', '-custom-metadata=b=x=y'], specs);
    expect(p.flags['versions']).toEqual(['1', '2', '3']);
    expect(p.flags['custom-metadata']).toEqual({ a: '1', b: 'x=y' });
  });

  it('reports Go flag errors', () => {
    expect(() => parseFlags(['-nope'], specs)).toThrow(new UsageError('flag provided but not defined: -nope'));
    expect(() => parseFlags(['-mount'], specs)).toThrow('flag needs an argument: -mount');
    expect(() => parseFlags(['-cas=x'], specs)).toThrow('invalid value "x" for flag -cas: parse error');
    expect(() => parseFlags(['-h'], specs)).toThrow(HelpRequested);
  });

  it('knows every kv flag the brief lists', () => {
    const p = parseFlags(
      ['-mount=m', '-max-versions=5', '-cas-required', '-delete-version-after=1h', '-custom-metadata=k=v', 'key'],
      KV_FLAGS['metadata put']!,
    );
    expect(p.flags).toEqual({
      mount: 'm',
      'max-versions': 5,
      'cas-required': true,
      'delete-version-after': 3600,
      'custom-metadata': { k: 'v' },
    });
  });
});

describe('durations and paths', () => {
  it('parses Vault durations (bare integers are seconds)', () => {
    expect(parseDurationSeconds('30')).toBe(30);
    expect(parseDurationSeconds('1h30m')).toBe(5400);
    expect(parseDurationSeconds('2d')).toBe(172800);
    expect(parseDurationSeconds('500ms')).toBe(0.5);
    expect(parseDurationSeconds('abc')).toBeUndefined();
  });

  it("formats like Go's Duration.String", () => {
    expect(goDurationString(3600)).toBe('1h0m0s');
    expect(goDurationString(90)).toBe('1m30s');
    expect(goDurationString(5)).toBe('5s');
    expect(goDurationString(0)).toBe('0s');
  });

  it('sanitizes and joins paths like Vault/Go', () => {
    expect(sanitizePath('/sys/sync/destinations/aws-sm/test/associations/set/')).toBe(
      'sys/sync/destinations/aws-sm/test/associations/set',
    );
    expect(joinPath('my-kv/', 'my-secret')).toBe('my-kv/my-secret');
    expect(joinPath('my-kv/', 'data', '/a//b/')).toBe('my-kv/data/a/b');
  });
});
