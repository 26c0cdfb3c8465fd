/** What every command gets: parsed flags, the UI, a lazily built API client, and Vault's output helpers. */
import { readFileSync } from 'node:fs';
import { type ParsedArgs, UsageError, flagBool, flagString } from './cli-args.js';
import {
  type Secret,
  formatListTable,
  formatMapTable,
  formatSecretJson,
  formatSecretTable,
  formatWarnings,
  goJson,
  goValue,
  rawField,
} from './cli-format.js';
import { ApiResponseError, TransportError, VaultClient, clientConfigFromEnv } from './cli-http.js';
import { type CliIo, Ui, tokenFilePath } from './cli-io.js';

export const FORMATS = ['table', 'json'] as const;

export class Ctx {
  readonly ui: Ui;
  readonly format: string;
  readonly field: string | undefined;
  private cachedClient: VaultClient | undefined;

  constructor(
    readonly io: CliIo,
    readonly parsed: ParsedArgs,
  ) {
    this.ui = new Ui(io);
    this.format = (flagString(parsed, 'format') ?? (io.env['VAULT_FORMAT'] || 'table')).toLowerCase();
    const field = flagString(parsed, 'field');
    this.field = field === '' ? undefined : field;
  }

  get args(): string[] {
    return this.parsed.args;
  }

  /** Vault validates the format before doing anything; an unknown one is exit 1. */
  checkFormat(): number {
    if (!(FORMATS as readonly string[]).includes(this.format)) {
      this.ui.error(`Invalid output format: ${this.format}`);
      return 1;
    }
    return 0;
  }

  /** The token the CLI would send: VAULT_TOKEN, else the token helper file. */
  resolveToken(): string | undefined {
    const env = this.io.env['VAULT_TOKEN'];
    if (env) return env.trim();
    try {
      const t = readFileSync(tokenFilePath(this.io), 'utf8').trim();
      return t === '' ? undefined : t;
    } catch {
      return undefined;
    }
  }

  client(tokenOverride?: string): VaultClient {
    if (tokenOverride !== undefined) {
      return new VaultClient({ ...this.client().config, token: tokenOverride });
    }
    if (!this.cachedClient) {
      const address = flagString(this.parsed, 'address');
      const caCert = flagString(this.parsed, 'ca-cert');
      const caPath = flagString(this.parsed, 'ca-path');
      const skipVerify = flagBool(this.parsed, 'tls-skip-verify');
      const cfg = clientConfigFromEnv(
        this.io.env,
        {
          ...(address !== undefined ? { address } : {}),
          ...(caCert !== undefined ? { caCert } : {}),
          ...(caPath !== undefined ? { caPath } : {}),
          ...(skipVerify !== undefined ? { skipVerify } : {}),
        },
        this.resolveToken(),
      );
      this.cachedClient = new VaultClient(cfg);
    }
    return this.cachedClient;
  }

  /** OutputSecret: table (warnings to stderr first) or the whole response as JSON. */
  outputSecret(secret: Secret | null): number {
    if (!secret) return 0;
    if (this.format === 'json') {
      this.ui.output(formatSecretJson(secret));
      return 0;
    }
    for (const line of formatWarnings(secret.warnings)) this.ui.warn(line);
    const table = formatSecretTable(secret);
    if (table !== '') this.ui.output(table);
    return 0;
  }

  printWarnings(secret: Secret): void {
    for (const line of formatWarnings(secret.warnings)) this.ui.warn(line);
  }

  /** OutputData: a bare map (no envelope) as a table or JSON. */
  outputData(data: unknown): number {
    if (this.format === 'json') {
      this.ui.output(goJson(data ?? null));
      return 0;
    }
    if (Array.isArray(data)) {
      this.ui.output(formatListTable(data));
      return 0;
    }
    const table = formatMapTable(data as Record<string, unknown> | null);
    if (table !== '') this.ui.output(table);
    return 0;
  }

  /** OutputList: the `keys` of a LIST response. */
  outputList(secret: Secret): number {
    const keys = (secret.data?.['keys'] as unknown[] | undefined) ?? [];
    if (this.format === 'json') {
      this.ui.output(goJson(keys));
      return 0;
    }
    for (const line of formatWarnings(secret.warnings)) this.ui.warn(line);
    this.ui.output(formatListTable(keys));
    return 0;
  }

  /** PrintRawField: `%v` of one field, bare when piped. */
  printRawField(source: Secret | Record<string, unknown>, field: string, isSecret: boolean): number {
    const val = isSecret ? rawField(source as Secret, field) : (source as Record<string, unknown>)[field];
    if (val === null || val === undefined) {
      this.ui.error(`Field ${JSON.stringify(field)} not present in secret`);
      return 1;
    }
    if (this.format === 'json') {
      this.ui.raw(goJson(val));
      return 0;
    }
    this.ui.raw(goValue(val));
    return 0;
  }

  /** Secret or field output, the tail shared by read/write-style commands. */
  outputSecretOrField(secret: Secret): number {
    if (this.field !== undefined) return this.printRawField(secret, this.field, true);
    return this.outputSecret(secret);
  }
}

/** Text of an error as Vault's client would print it after "Error doing X: ". */
export function errText(e: unknown): string {
  if (e instanceof ApiResponseError || e instanceof TransportError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Argument-count checks with Vault's wording. */
export function expectArgs(ctx: Ctx, min: number, max: number, expected: string): void {
  const n = ctx.args.length;
  if (n < min) throw new UsageError(`Not enough arguments (expected ${expected}, got ${n})`);
  if (n > max) throw new UsageError(`Too many arguments (expected ${expected}, got ${n})`);
}
