/**
 * Entry point of the `secrets-sync` command (bin/secrets-sync calls main()).
 * Subcommands, flags, output and exit codes follow Vault's CLI: 0 success,
 * 1 usage error, 2 API/server error (and `status` exits 2 when sealed).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN_FLAGS, policyDelete, policyList, policyRead, policyWrite, secretsDisable, secretsEnable, secretsList, secretsTune, tokenCreate, tokenLookup, tokenRevoke } from './cli-admin.js';
import { type FlagSpec, HelpRequested, UsageError, parseFlags } from './cli-args.js';
import { Ctx } from './cli-context.js';
import { DataParseError } from './cli-data.js';
import { GENERIC_FLAGS, deleteCmd, listCmd, patchCmd, readCmd, writeCmd } from './cli-generic.js';
import { type MainOptions, Ui, defaultIo } from './cli-io.js';
import { KV_FLAGS, kvDelete, kvDestroy, kvGet, kvList, kvPatch, kvPut, kvUndelete } from './cli-kv.js';
import { kvMetadataDelete, kvMetadataGet, kvMetadataPatch, kvMetadataPut } from './cli-kv-metadata.js';
import { SYNC_FLAGS, syncStatus } from './cli-sync.js';
import { SYSTEM_FLAGS, loginCmd, operatorInit, serverCmd, statusCmd } from './cli-system.js';

export type { MainOptions } from './cli-io.js';

interface Command {
  flags: FlagSpec[];
  run: (ctx: Ctx) => Promise<number>;
  usage: string;
  synopsis: string;
}

function cmd(flags: FlagSpec[] | undefined, run: Command['run'], usage: string, synopsis: string): Command {
  return { flags: flags ?? [], run, usage, synopsis };
}

const COMMANDS: Record<string, Command> = {
  server: cmd(SYSTEM_FLAGS['server'], serverCmd, 'server [-dev] [-dev-root-token-id=T] [-dev-listen-address=HOST:PORT] [-config=FILE]', 'Start a secrets-sync server'),
  'operator init': cmd(SYSTEM_FLAGS['operator init'], operatorInit, 'operator init [options]', 'Initializes a server'),
  status: cmd(SYSTEM_FLAGS['status'], statusCmd, 'status [options]', 'Print seal and HA status'),
  login: cmd(SYSTEM_FLAGS['login'], loginCmd, 'login [options] [TOKEN]', 'Authenticate locally'),
  read: cmd(GENERIC_FLAGS['read'], readCmd, 'read [options] PATH [K=V...]', 'Read data and retrieves secrets'),
  write: cmd(GENERIC_FLAGS['write'], writeCmd, 'write [options] PATH [DATA K=V...]', 'Write data, configuration, and secrets'),
  list: cmd(GENERIC_FLAGS['list'], listCmd, 'list [options] PATH', 'List data or secrets'),
  delete: cmd(GENERIC_FLAGS['delete'], deleteCmd, 'delete [options] PATH [K=V...]', 'Delete secrets and configuration'),
  patch: cmd(GENERIC_FLAGS['patch'], patchCmd, 'patch [options] PATH [DATA K=V...]', 'Set, update, or delete fields in a JSON merge patch'),
  'kv put': cmd(KV_FLAGS['put'], kvPut, 'kv put [options] KEY [DATA]', 'Sets or updates data in the KV store'),
  'kv get': cmd(KV_FLAGS['get'], kvGet, 'kv get [options] KEY', 'Retrieves data from the KV store'),
  'kv patch': cmd(KV_FLAGS['patch'], kvPatch, 'kv patch [options] KEY [DATA]', 'Sets or updates data in the KV store without overwriting'),
  'kv delete': cmd(KV_FLAGS['delete'], kvDelete, 'kv delete [options] KEY', 'Deletes versions in the KV store'),
  'kv undelete': cmd(KV_FLAGS['undelete'], kvUndelete, 'kv undelete [options] KEY', 'Undeletes versions in the KV store'),
  'kv destroy': cmd(KV_FLAGS['destroy'], kvDestroy, 'kv destroy [options] KEY', 'Permanently removes one or more versions in the KV store'),
  'kv list': cmd(KV_FLAGS['list'], kvList, 'kv list [options] PATH', 'List data or secrets'),
  'kv metadata get': cmd(KV_FLAGS['metadata get'], kvMetadataGet, 'kv metadata get [options] KEY', 'Retrieves key metadata from the KV store'),
  'kv metadata put': cmd(KV_FLAGS['metadata put'], kvMetadataPut, 'kv metadata put [options] KEY', 'Sets or updates key settings in the KV store'),
  'kv metadata patch': cmd(KV_FLAGS['metadata patch'], kvMetadataPatch, 'kv metadata patch [options] KEY', 'Patches key settings in the KV store'),
  'kv metadata delete': cmd(KV_FLAGS['metadata delete'], kvMetadataDelete, 'kv metadata delete [options] PATH', 'Deletes all versions and metadata for a key in the KV store'),
  'secrets enable': cmd(ADMIN_FLAGS['secrets enable'], secretsEnable, 'secrets enable [options] TYPE', 'Enable a secrets engine'),
  'secrets disable': cmd(ADMIN_FLAGS['secrets disable'], secretsDisable, 'secrets disable [options] PATH', 'Disable a secrets engine'),
  'secrets list': cmd(ADMIN_FLAGS['secrets list'], secretsList, 'secrets list [options]', 'List enabled secrets engines'),
  'secrets tune': cmd(ADMIN_FLAGS['secrets tune'], secretsTune, 'secrets tune [options] PATH', 'Tune a secrets engine configuration'),
  'policy write': cmd(ADMIN_FLAGS['policy write'], policyWrite, 'policy write [options] NAME PATH', 'Uploads a named policy from a file (or - for stdin)'),
  'policy read': cmd(ADMIN_FLAGS['policy read'], policyRead, 'policy read [options] NAME', 'Prints the contents of a policy'),
  'policy list': cmd(ADMIN_FLAGS['policy list'], policyList, 'policy list [options]', 'Lists the installed policies'),
  'policy delete': cmd(ADMIN_FLAGS['policy delete'], policyDelete, 'policy delete [options] NAME', 'Deletes a policy by name'),
  'token create': cmd(ADMIN_FLAGS['token create'], tokenCreate, 'token create [options]', 'Create a new token'),
  'token lookup': cmd(ADMIN_FLAGS['token lookup'], tokenLookup, 'token lookup [options] [TOKEN | ACCESSOR]', 'Display information about a token'),
  'token revoke': cmd(ADMIN_FLAGS['token revoke'], tokenRevoke, 'token revoke [options] [TOKEN | ACCESSOR]', 'Revoke a token and its children'),
  'sync status': cmd(SYNC_FLAGS['sync status'], syncStatus, 'sync status [options]', 'Summarise association sync status per destination'),
};

const GROUPS = ['kv', 'kv metadata', 'secrets', 'policy', 'token', 'operator', 'sync'];

function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'secrets-sync' && pkg.version) return pkg.version;
    } catch {
      // keep walking up
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

function subcommandsOf(prefix: string): string[] {
  const p = prefix === '' ? '' : prefix + ' ';
  const seen = new Set<string>();
  for (const name of Object.keys(COMMANDS)) {
    if (!name.startsWith(p)) continue;
    seen.add(name.slice(p.length).split(' ')[0]!);
  }
  return [...seen].sort();
}

function groupHelp(prefix: string): string {
  const lines = [`Usage: secrets-sync ${prefix === '' ? '<command>' : prefix + ' <subcommand>'} [options] [args]`, ''];
  lines.push(prefix === '' ? 'Commands:' : 'Subcommands:');
  for (const sub of subcommandsOf(prefix)) {
    const full = prefix === '' ? sub : `${prefix} ${sub}`;
    const synopsis = COMMANDS[full]?.synopsis ?? (GROUPS.includes(full) ? `Interact with ${full}` : '');
    lines.push(`    ${sub.padEnd(12)}${synopsis}`);
  }
  return lines.join('\n');
}

function commandHelp(c: Command): string {
  const lines = [`Usage: secrets-sync ${c.usage}`, '', `  ${c.synopsis}.`, ''];
  if (c.flags.length > 0) {
    lines.push('Options:', '');
    for (const f of c.flags) {
      const example = f.type === 'bool' ? '' : f.type === 'map' ? '=<key=value>' : `=<${f.type}>`;
      lines.push(`  -${f.name}${example}`);
    }
  }
  return lines.join('\n');
}

/** Runs the CLI and resolves with the process exit code. */
export async function main(argv: string[], opts: MainOptions = {}): Promise<number> {
  const io = defaultIo(opts);
  const ui = new Ui(io);
  if (argv.length === 0 || ['-h', '-help', '--help', 'help'].includes(argv[0]!)) {
    ui.error(groupHelp(''));
    return argv.length === 0 ? 127 : 0;
  }
  if (['version', '-version', '--version', '-v'].includes(argv[0]!)) {
    ui.output(`secrets-sync v${version()}`);
    return 0;
  }
  let name = '';
  let consumed = 0;
  for (let n = Math.min(3, argv.length); n >= 1; n--) {
    const candidate = argv.slice(0, n).join(' ');
    if (COMMANDS[candidate]) {
      name = candidate;
      consumed = n;
      break;
    }
  }
  if (name === '') {
    let group = '';
    for (let n = Math.min(2, argv.length); n >= 1; n--) {
      const candidate = argv.slice(0, n).join(' ');
      if (GROUPS.includes(candidate)) {
        group = candidate;
        break;
      }
    }
    if (group !== '') {
      ui.error(groupHelp(group));
      const next = argv[group.split(' ').length];
      return next !== undefined && /^-{1,2}h(elp)?$/.test(next) ? 0 : 1;
    }
    ui.error(`Unknown command: ${argv[0]}\n\n${groupHelp('')}`);
    return 127;
  }
  const command = COMMANDS[name]!;
  try {
    const parsed = parseFlags(argv.slice(consumed), command.flags);
    const ctx = new Ctx(io, parsed);
    if (command.flags.some((f) => f.name === 'format')) {
      const bad = ctx.checkFormat();
      if (bad !== 0) return bad;
    }
    return await command.run(ctx);
  } catch (e) {
    if (e instanceof HelpRequested) {
      ui.error(commandHelp(command));
      return 0;
    }
    if (e instanceof UsageError) {
      ui.error(e.message);
      return 1;
    }
    if (e instanceof DataParseError) {
      ui.error(`Failed to parse K=V data: ${e.message}`);
      return 1;
    }
    ui.error(e instanceof Error ? e.message : String(e));
    return 2;
  }
}
