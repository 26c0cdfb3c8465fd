/** `server`, `operator init`, `status` and `login`. */
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { type FlagSpec, HTTP_FLAGS, UsageError, flagBool, flagNumber, flagString } from './cli-args.js';
import { type Ctx, errText, expectArgs } from './cli-context.js';
import { type Secret, goJson, tableOutput, wrapAtLength } from './cli-format.js';
import { VaultClient } from './cli-http.js';
import { readStdin, tokenFilePath } from './cli-io.js';

export const SYSTEM_FLAGS: Record<string, FlagSpec[]> = {
  server: [
    { name: 'dev', type: 'bool' },
    { name: 'dev-root-token-id', type: 'string' },
    { name: 'dev-listen-address', type: 'string' },
    { name: 'config', type: 'string' },
  ],
  'operator init': [
    ...HTTP_FLAGS,
    { name: 'key-shares', type: 'int', aliases: ['n'] },
    { name: 'key-threshold', type: 'int', aliases: ['t'] },
    { name: 'status', type: 'bool' },
  ],
  status: HTTP_FLAGS,
  login: [
    ...HTTP_FLAGS,
    { name: 'method', type: 'string' },
    { name: 'no-store', type: 'bool' },
    { name: 'no-print', type: 'bool' },
  ],
};

export async function serverCmd(ctx: Ctx): Promise<number> {
  expectArgs(ctx, 0, 0, '0');
  const p = ctx.parsed;
  const env = ctx.io.env;
  const devRootTokenId = flagString(p, 'dev-root-token-id') ?? (env['VAULT_DEV_ROOT_TOKEN_ID'] || undefined);
  const devListenAddress = flagString(p, 'dev-listen-address') ?? (env['VAULT_DEV_LISTEN_ADDRESS'] || undefined);
  const configPath = flagString(p, 'config');
  const run = ctx.io.runServer ?? (await import('../server/run-server.js')).runServer;
  return run({
    dev: flagBool(p, 'dev') ?? false,
    ...(devRootTokenId !== undefined ? { devRootTokenId } : {}),
    ...(devListenAddress !== undefined ? { devListenAddress } : {}),
    ...(configPath !== undefined ? { configPath } : {}),
  });
}

const INIT_NOTE =
  'secrets-sync initialized. The server unseals itself with the key from its seal ' +
  'configuration, so there are no unseal keys to distribute. Keep the root token ' +
  'safe: create tokens with narrower policies for daily use and revoke the root ' +
  'token when it is no longer needed.';

export async function operatorInit(ctx: Ctx): Promise<number> {
  expectArgs(ctx, 0, 0, '0');
  const client = ctx.client();
  if (flagBool(ctx.parsed, 'status')) {
    let initialized: boolean;
    try {
      const res = await client.request('GET', 'sys/init');
      VaultClient.check(res);
      initialized = (JSON.parse(res.text) as { initialized?: boolean }).initialized === true;
    } catch (e) {
      ctx.ui.error(`Error checking init status: ${errText(e)}`);
      return 1;
    }
    if (!initialized) {
      ctx.ui.output('Vault is not initialized');
      return 2;
    }
    ctx.ui.output('Vault is initialized');
    return 0;
  }
  const body = {
    secret_shares: flagNumber(ctx.parsed, 'key-shares') ?? 1,
    secret_threshold: flagNumber(ctx.parsed, 'key-threshold') ?? 1,
  };
  let resp: Record<string, unknown>;
  try {
    const res = await client.request('PUT', 'sys/init', { body });
    VaultClient.check(res);
    resp = JSON.parse(res.text) as Record<string, unknown>;
  } catch (e) {
    ctx.ui.error(`Error initializing: ${errText(e)}`);
    return 2;
  }
  if (ctx.format === 'json') {
    ctx.ui.output(goJson(resp, false));
    return 0;
  }
  const keys = Array.isArray(resp['keys']) ? (resp['keys'] as unknown[]) : [];
  const keysB64 = Array.isArray(resp['keys_base64']) ? (resp['keys_base64'] as unknown[]) : [];
  keys.forEach((k, i) => {
    const shown = keysB64.length === keys.length ? keysB64[i] : k;
    ctx.ui.output(`Unseal Key ${i + 1}: ${String(shown)}`);
  });
  if (keys.length > 0) ctx.ui.output('');
  ctx.ui.output(`Initial Root Token: ${String(resp['root_token'] ?? '')}`);
  ctx.ui.output('');
  ctx.ui.output(wrapAtLength(INIT_NOTE));
  return 0;
}

export async function statusCmd(ctx: Ctx): Promise<number> {
  expectArgs(ctx, 0, 0, '0');
  const client = ctx.client();
  let status: Record<string, unknown>;
  try {
    const res = await client.request('GET', 'sys/seal-status');
    VaultClient.check(res);
    status = JSON.parse(res.text) as Record<string, unknown>;
  } catch (e) {
    ctx.ui.error(`Error checking seal status: ${errText(e)}`);
    return 1;
  }
  let haEnabled = false;
  try {
    const res = await client.request('GET', 'sys/leader');
    if (res.status === 200) haEnabled = (JSON.parse(res.text) as { ha_enabled?: boolean }).ha_enabled === true;
  } catch {
    // Leader status is optional for a single-node server.
  }
  const sealed = status['sealed'] === true;
  if (ctx.format === 'json') {
    ctx.ui.output(goJson({ ...status, ha_enabled: haEnabled }, false));
    return sealed ? 2 : 0;
  }
  const v = (k: string) => (status[k] === undefined || status[k] === null ? '' : String(status[k]));
  const out = ['Key | Value', `Seal Type | ${v('type')}`, `Initialized | ${v('initialized')}`, `Sealed | ${v('sealed')}`];
  out.push(`Total Shares | ${v('n')}`, `Threshold | ${v('t')}`);
  if (sealed) out.push(`Unseal Progress | ${v('progress') || '0'}/${v('t')}`, `Unseal Nonce | ${v('nonce')}`);
  out.push(`Version | ${v('version')}`);
  if (status['build_date'] !== undefined) out.push(`Build Date | ${v('build_date')}`);
  out.push(`Storage Type | ${v('storage_type')}`);
  if (v('cluster_name') !== '' && v('cluster_id') !== '') {
    out.push(`Cluster Name | ${v('cluster_name')}`, `Cluster ID | ${v('cluster_id')}`);
  }
  out.push(`HA Enabled | ${haEnabled}`);
  ctx.ui.output(tableOutput(out));
  return sealed ? 2 : 0;
}

async function promptToken(ctx: Ctx): Promise<string> {
  const stdin = ctx.io.stdin;
  if (typeof stdin !== 'string' && (stdin as NodeJS.ReadStream).isTTY) {
    ctx.io.stderr.write('Token (will be hidden): ');
    const rl = createInterface({ input: stdin, terminal: false });
    const line = await new Promise<string>((resolve) => rl.once('line', resolve));
    rl.close();
    return line.trim();
  }
  return (await readStdin(ctx.io)).trim();
}

export async function loginCmd(ctx: Ctx): Promise<number> {
  const method = flagString(ctx.parsed, 'method') ?? 'token';
  if (method !== 'token') {
    ctx.ui.error(`Unknown auth method: ${method}. Only "token" is supported.`);
    return 1;
  }
  if (ctx.args.length > 1) throw new UsageError(`Too many arguments (expected 0-1, got ${ctx.args.length})`);
  let token = ctx.args[0] ?? '';
  if (token.startsWith('token=')) token = token.slice('token='.length);
  if (token === '' || token === '-') token = await promptToken(ctx);
  if (token === '') {
    ctx.ui.error('Error authenticating: A token must be passed to auth, please view the help for more information.');
    return 2;
  }
  let lookup: Secret | null;
  try {
    lookup = await ctx.client(token).read('auth/token/lookup-self');
    if (!lookup) throw new Error('empty response from lookup-self');
  } catch (e) {
    ctx.ui.error(`Error authenticating: error looking up token: ${errText(e)}`);
    return 2;
  }
  const d = lookup.data ?? {};
  const policies = Array.isArray(d['policies']) ? (d['policies'] as unknown[]).map(String) : [];
  const ttl = typeof d['ttl'] === 'number' ? d['ttl'] : 0;
  const secret: Secret = {
    request_id: '',
    lease_id: '',
    lease_duration: 0,
    renewable: false,
    data: null,
    warnings: null,
    auth: {
      client_token: typeof d['id'] === 'string' ? d['id'] : token,
      accessor: typeof d['accessor'] === 'string' ? d['accessor'] : '',
      policies,
      token_policies: policies,
      identity_policies: Array.isArray(d['identity_policies']) ? (d['identity_policies'] as unknown[]).map(String) : null,
      metadata: (d['meta'] as Record<string, string> | null | undefined) ?? null,
      orphan: d['orphan'] === true,
      entity_id: typeof d['entity_id'] === 'string' ? d['entity_id'] : '',
      lease_duration: ttl,
      renewable: d['renewable'] === true,
      mfa_requirement: null,
    },
  };
  const noStore = flagBool(ctx.parsed, 'no-store') ?? false;
  if (!noStore) {
    try {
      await writeFile(tokenFilePath(ctx.io), token, { mode: 0o600 });
    } catch (e) {
      ctx.ui.error(`Error storing token: ${errText(e)}`);
      return 2;
    }
  }
  if (flagBool(ctx.parsed, 'no-print')) return 0;
  if (ctx.field !== undefined) return ctx.printRawField(secret, ctx.field, true);
  if (ctx.format !== 'table') return ctx.outputSecret(secret);
  if (!noStore && ctx.io.env['VAULT_TOKEN']) {
    ctx.ui.warn(
      wrapAtLength(
        'WARNING! The VAULT_TOKEN environment variable is set! The value of this variable will take precedence; if this is unwanted please unset VAULT_TOKEN or update its value accordingly.',
      ) + '\n',
    );
  }
  if (noStore) {
    ctx.ui.warn(
      wrapAtLength(
        'Success! You are now authenticated. The token information displayed below is not stored in the token helper. To use this token, set VAULT_TOKEN or pass it to commands.',
      ) + '\n',
    );
  } else {
    ctx.ui.output(
      wrapAtLength(
        'Success! You are now authenticated. The token information displayed below is already stored in the token helper. You do NOT need to run "secrets-sync login" again. Future Vault requests will automatically use this token.',
      ) + '\n',
    );
  }
  return ctx.outputSecret(secret);
}
