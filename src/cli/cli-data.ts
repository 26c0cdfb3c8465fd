/**
 * Vault's kvbuilder: turns `k=v` arguments into a request body.
 * `k=@file` reads a file, `k=-` reads stdin, `\@x` is a literal `@x`,
 * a lone `-` or `@file.json` merges a JSON object, and a repeated key
 * becomes a list.
 */
import { readFile } from 'node:fs/promises';
import { type CliIo, readStdin } from './cli-io.js';

export class DataParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataParseError';
  }
}

function mergeJsonObject(target: Record<string, unknown>, text: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error((e as Error).message);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error('json: cannot unmarshal into Go value of type map[string]interface {}');
  }
  Object.assign(target, parsed);
}

/** parseArgsData: errors carry Vault's "Invalid key/value pair '<arg>': <why>" text. */
export async function parseArgsData(io: CliIo, args: readonly string[]): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {};
  let stdinUsed = false;
  const takeStdin = async (): Promise<string> => {
    if (stdinUsed) throw new Error('stdin already consumed');
    stdinUsed = true;
    return readStdin(io);
  };
  for (const raw of args) {
    try {
      await addOne(raw);
    } catch (e) {
      throw new DataParseError(`Invalid key/value pair '${raw}': ${(e as Error).message}`);
    }
  }
  return result;

  async function addOne(raw: string): Promise<void> {
    if (raw === '') return;
    const eq = raw.indexOf('=');
    if (eq < 0) {
      if (raw === '-') {
        mergeJsonObject(result, await takeStdin());
        return;
      }
      if (raw.startsWith('@')) {
        let text: string;
        try {
          text = await readFile(raw.slice(1), 'utf8');
        } catch (e) {
          throw new Error(goFileError(raw.slice(1), e));
        }
        mergeJsonObject(result, text);
        return;
      }
      throw new Error('format must be key=value');
    }
    const key = raw.slice(0, eq);
    let value = raw.slice(eq + 1);
    if (value.length > 0) {
      if (value.startsWith('@')) {
        try {
          value = await readFile(value.slice(1), 'utf8');
        } catch (e) {
          throw new Error(`error reading file: ${goFileError(value.slice(1), e)}`);
        }
      } else if (value.startsWith('\\@')) {
        value = value.slice(1);
      } else if (value === '-') {
        value = await takeStdin();
      }
    }
    if (Object.prototype.hasOwnProperty.call(result, key)) {
      const existing = result[key];
      result[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
      return;
    }
    result[key] = value;
  }
}

function goFileError(path: string, e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code === 'ENOENT') return `open ${path}: no such file or directory`;
  if (code === 'EACCES') return `open ${path}: permission denied`;
  if (code === 'EISDIR') return `read ${path}: is a directory`;
  return (e as Error).message;
}

/** parseArgsDataStringLists: `k=v` pairs as query parameters (for read/delete). */
export async function parseArgsQuery(io: CliIo, args: readonly string[]): Promise<Record<string, string[]>> {
  const data = await parseArgsData(io, args);
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(data)) {
    out[k] = Array.isArray(v) ? v.map((x) => String(x)) : [typeof v === 'string' ? v : JSON.stringify(v)];
  }
  return out;
}
