/** Injectable process I/O so the CLI can be driven and captured by tests. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { RunServerOptions } from '../server/run-server.js';

export interface OutStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface CliIo {
  stdout: OutStream;
  stderr: OutStream;
  /** A readable stream (process.stdin) or, in tests, the whole input as a string. */
  stdin: NodeJS.ReadableStream | string;
  env: Record<string, string | undefined>;
  /** Starts the server; defaults to src/server/run-server.ts (loaded lazily). */
  runServer?: (opts: RunServerOptions) => Promise<number>;
}

export type MainOptions = Partial<CliIo>;

export function defaultIo(opts: MainOptions = {}): CliIo {
  return {
    stdout: opts.stdout ?? process.stdout,
    stderr: opts.stderr ?? process.stderr,
    stdin: opts.stdin ?? process.stdin,
    env: opts.env ?? process.env,
    ...(opts.runServer ? { runServer: opts.runServer } : {}),
  };
}

/** Mirrors mitchellh/cli's BasicUi: Output/Info to stdout, Error/Warn to stderr, one line each. */
export class Ui {
  constructor(private readonly io: CliIo) {}

  output(s: string): void {
    this.io.stdout.write(s + '\n');
  }

  info(s: string): void {
    this.io.stdout.write(s + '\n');
  }

  error(s: string): void {
    this.io.stderr.write(s + '\n');
  }

  warn(s: string): void {
    this.io.stderr.write(s + '\n');
  }

  /**
   * Vault's PrintRaw: with a terminal the value gets a newline; when piped it
   * is written bare so `$(vault kv get -field=x ...)` captures exactly the value.
   */
  raw(s: string): void {
    this.io.stdout.write(this.io.stdout.isTTY ? s + '\n' : s);
  }
}

const stdinCache = new WeakMap<object, Promise<string>>();

/** Reads all of stdin (once per stream; later reads get the same text). */
export function readStdin(io: CliIo): Promise<string> {
  const stdin = io.stdin;
  if (typeof stdin === 'string') return Promise.resolve(stdin);
  let pending = stdinCache.get(stdin);
  if (!pending) {
    pending = (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of stdin as AsyncIterable<Buffer | string>) {
        chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      }
      return Buffer.concat(chunks).toString('utf8');
    })();
    stdinCache.set(stdin, pending);
  }
  return pending;
}

export function homeDir(io: CliIo): string {
  return io.env['HOME'] || io.env['USERPROFILE'] || homedir();
}

/** Vault's token helper file. */
export function tokenFilePath(io: CliIo): string {
  return join(homeDir(io), '.vault-token');
}
