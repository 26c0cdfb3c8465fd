/** Entry point of `secrets-sync server`: config or dev mode, banner, signals. */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadServerConfig, type ServerConfig } from '../config/server-config.js';
import { parseHostPort } from '../config/config-schema.js';
import { startServer } from './start-server.js';

export interface RunServerOptions {
  dev: boolean;
  devRootTokenId?: string;
  devListenAddress?: string;
  configPath?: string;
}

function devBanner(url: string, rootToken: string): string {
  return [
    '==> secrets-sync server configuration:',
    '',
    '             Api Address: ' + url,
    '                     Cgo: disabled',
    '         Cluster Address: ' + url,
    '              Listener 1: tcp (addr: "' + url.replace(/^https?:\/\//, '') + '", tls: "disabled")',
    '               Log Level: info',
    '                 Storage: inmem',
    '',
    '==> secrets-sync server started! Log data will stream in below:',
    '',
    'WARNING! dev mode is enabled! In this mode, the server runs entirely in-memory',
    'and starts unsealed. All data is lost when it stops. The root token is already',
    'authenticated to the CLI, so you can immediately begin using it.',
    '',
    'You may need to set the following environment variables:',
    '',
    `    $ export VAULT_ADDR='${url}'`,
    '',
    'The root token is displayed below in case you want to re-authenticate.',
    '',
    `Root Token: ${rootToken}`,
    '',
    'Development mode should NOT be used in production installations!',
    '',
  ].join('\n');
}

/** Starts the server and resolves with the exit code once it stops (on SIGINT/SIGTERM). */
export async function runServer(opts: RunServerOptions): Promise<number> {
  let config: ServerConfig | undefined;
  try {
    if (opts.configPath) config = loadServerConfig(opts.configPath);
    else if (!opts.dev) {
      process.stderr.write('Error: either -dev or -config=FILE is required\n');
      return 1;
    }
  } catch (err) {
    process.stderr.write(`Error loading configuration: ${err instanceof ConfigError ? err.message : (err as Error).message}\n`);
    return 1;
  }
  let listen: { host: string; port: number } | undefined;
  if (opts.dev) {
    const hp = parseHostPort(opts.devListenAddress ?? '127.0.0.1:8200');
    if (!hp) {
      process.stderr.write('Error: -dev-listen-address must be HOST:PORT\n');
      return 1;
    }
    listen = { host: hp.host, port: hp.port };
  }
  let handle;
  try {
    handle = await startServer({
      dev: opts.dev ? { rootTokenId: opts.devRootTokenId ?? 'hvs.' + randomBytes(18).toString('base64url').replace(/[-_]/g, 'x').slice(0, 24) } : undefined,
      config,
      listen,
    });
  } catch (err) {
    process.stderr.write(`Error starting server: ${(err as Error).message}\n`);
    return 1;
  }
  if (opts.dev && handle.rootToken) {
    process.stdout.write(devBanner(handle.url, handle.rootToken) + '\n');
    try {
      writeFileSync(join(process.env.HOME ?? homedir(), '.vault-token'), handle.rootToken, { mode: 0o600 });
    } catch {
      // the token helper file is a convenience
    }
  } else {
    process.stdout.write(`==> secrets-sync server started on ${handle.url}${handle.core.initialized() ? '' : ' (not initialized: run `secrets-sync operator init`)'}\n`);
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      handle.close().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    // Vault's SIGHUP: reopen audit files (log rotation). Node's default action for SIGHUP is to exit,
    // which a logrotate `postrotate kill -HUP` written for Vault would otherwise trigger.
    process.on('SIGHUP', () => {
      handle.core.audit.reopen().catch(() => undefined);
    });
  });
}
