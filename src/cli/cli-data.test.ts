import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataParseError, parseArgsData } from './cli-data.js';
import type { CliIo } from './cli-io.js';

function io(stdin = ''): CliIo {
  return { stdout: { write: () => true }, stderr: { write: () => true }, stdin, env: {} };
}

describe('parseArgsData (kvbuilder)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-data-'));
  const file = join(dir, 'value.txt');
  writeFileSync(file, 'line1\nline2\n');
  const json = join(dir, 'data.json');
  writeFileSync(json, '{"a":"1","n":2}');

  it('parses k=v, keeping everything after the first =', async () => {
    expect(await parseArgsData(io(), ['foo=bar', 'x=a=b', 'empty='])).toEqual({
      foo: 'bar',
      x: 'a=b',
      empty: '',
    });
  });

  it('reads k=@file verbatim', async () => {
    expect(await parseArgsData(io(), [`cert=@${file}`])).toEqual({ cert: 'line1\nline2\n' });
  });

  it('treats \\@ as a literal @', async () => {
    expect(await parseArgsData(io(), ['k=\\@notafile'])).toEqual({ k: '@notafile' });
  });

  it('reads k=- from stdin', async () => {
    expect(await parseArgsData(io('s3cr3t'), ['password=-', 'user=me'])).toEqual({ password: 's3cr3t', user: 'me' });
  });

  it('merges a JSON object from a lone - or @file.json', async () => {
    expect(await parseArgsData(io('{"foo":"bar","n":1}'), ['-'])).toEqual({ foo: 'bar', n: 1 });
    expect(await parseArgsData(io(), [`@${json}`, 'b=2'])).toEqual({ a: '1', n: 2, b: '2' });
  });

  it('turns a repeated key into a list like Vault', async () => {
    expect(await parseArgsData(io(), ['p=a', 'p=b', 'p=c'])).toEqual({ p: ['a', 'b', 'c'] });
  });

  it('refuses stdin twice and malformed pairs with Vault wording', async () => {
    await expect(parseArgsData(io('x'), ['a=-', 'b=-'])).rejects.toThrow("Invalid key/value pair 'b=-': stdin already consumed");
    await expect(parseArgsData(io(), ['novalue'])).rejects.toThrow(
      new DataParseError("Invalid key/value pair 'novalue': format must be key=value"),
    );
    await expect(parseArgsData(io(), ['k=@/does/not/exist'])).rejects.toThrow(
      "Invalid key/value pair 'k=@/does/not/exist': error reading file: open /does/not/exist: no such file or directory",
    );
  });
});
