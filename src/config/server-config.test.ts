import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDurationMs } from '../util/duration.js';
import { ConfigError, loadServerConfig, parseServerConfig, type ServerConfig } from './server-config.js';

let dir: string;
let keyFile: string;
let key: Buffer;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'server-config-'));
  key = randomBytes(32);
  keyFile = join(dir, 'seal.key');
  writeFileSync(keyFile, key.toString('base64') + '\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const jsonDoc = (kf: string) => `{"storage": {"sqlite": {"path": "/var/lib/secrets-sync/data.db"}},
 "listener": {"tcp": {"address": "127.0.0.1:8200", "tls_disable": true}},
 "seal": {"static": {"key_file": ${JSON.stringify(kf)}}},
 "log_level": "info"}`;

const hclDoc = (kf: string) => `storage "sqlite" {
  path = "/var/lib/secrets-sync/data.db"
}
listener "tcp" {
  address     = "127.0.0.1:8200"
  tls_disable = true
}
seal "static" {
  key_file = ${JSON.stringify(kf)}
}
log_level = "info"
`;

/** A minimal valid JSON config with `extra` merged in at the top level. */
function json(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    storage: { inmem: {} },
    listener: { tcp: { tls_disable: true } },
    seal: { static: { key_file: keyFile } },
    ...extra,
  });
}

/** Runs `fn`, expects a ConfigError, returns its message. */
function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const noEnv = {};

describe('the documented example', () => {
  it('JSON and its HCL twin load to the same config', () => {
    const jsonPath = join(dir, 'server.json');
    const hclPath = join(dir, 'server.hcl');
    writeFileSync(jsonPath, jsonDoc(keyFile));
    writeFileSync(hclPath, hclDoc(keyFile));
    const a = loadServerConfig(jsonPath, noEnv);
    const b = loadServerConfig(hclPath, noEnv);
    expect(b).toEqual(a);
    expect(b.sealKey.equals(a.sealKey)).toBe(true);
    expect(a).toEqual<Omit<ServerConfig, 'sealKey'>>({
      storage: { type: 'sqlite', path: '/var/lib/secrets-sync/data.db', synchronous: 'normal' },
      listener: {
        tcp: { address: '127.0.0.1:8200', host: '127.0.0.1', port: 8200, tlsDisable: true, maxRequestSize: 33554432 },
      },
      seal: { type: 'static', keyFile },
      logLevel: 'info',
      sync: {
        workers: 16,
        reconcileIntervalMs: 600_000,
        retryInitialMs: 1000,
        retryMaxMs: 300_000,
        queueCapacity: 1_000_000,
        firstAttemptWaitMs: 5000,
      },
    });
    expect(a.sealKey.equals(key)).toBe(true);
  });

  it('guesses the format when the extension is neither .json nor .hcl', () => {
    const p1 = join(dir, 'server.conf');
    writeFileSync(p1, hclDoc(keyFile));
    const p2 = join(dir, 'server-json.conf');
    writeFileSync(p2, jsonDoc(keyFile));
    expect(loadServerConfig(p1, noEnv)).toEqual(loadServerConfig(p2, noEnv));
  });

  it('never carries the seal key when serialised', () => {
    const c = parseServerConfig(jsonDoc(keyFile), 'json', noEnv);
    const s = JSON.stringify(c);
    expect(s).not.toContain(key.toString('base64'));
    expect(s).not.toContain('sealKey');
    expect(c.sealKey.length).toBe(32);
  });

  it('accepts and ignores Vault keys people copy', () => {
    const c = parseServerConfig(json({ ui: true, api_addr: 'https://x:8200', cluster_addr: 'https://x:8201', disable_mlock: true }), 'json', noEnv);
    expect(c).not.toHaveProperty('ui');
    expect(c).not.toHaveProperty('disable_mlock');
  });

  it('accepts Vault’s list form of blocks in JSON', () => {
    const c = parseServerConfig(
      JSON.stringify({ storage: { inmem: {} }, listener: [{ tcp: { tls_disable: 'true' } }], seal: { static: { key_file: keyFile } } }),
      'json',
      noEnv,
    );
    expect(c.listener.tcp.tlsDisable).toBe(true);
  });
});

describe('unknown keys', () => {
  it('fail at the top level, naming the key', () => {
    expect(configError(() => parseServerConfig(json({ storge: {} }), 'json', noEnv))).toBe('config: unknown key "storge"');
  });

  it('fail when nested, naming the full path', () => {
    const text = json({ listener: { tcp: { adress: '0.0.0.0:1', tls_disable: true } } });
    expect(configError(() => parseServerConfig(text, 'json', noEnv))).toBe('config: unknown key "listener.tcp.adress"');
  });

  it('fail in HCL too', () => {
    const text = hclDoc(keyFile).replace('tls_disable = true', 'tls_disable = true\n  tls_min_version = "tls12"');
    expect(configError(() => parseServerConfig(text, 'hcl', noEnv))).toBe('config: unknown key "listener.tcp.tls_min_version"');
  });

  it('an unknown storage type fails', () => {
    const text = json({ storage: { consul: { address: 'x' } } });
    expect(configError(() => parseServerConfig(text, 'json', noEnv))).toContain('unknown key "storage.consul"');
  });
});

describe('listener', () => {
  it('rejects an address that is not HOST:PORT', () => {
    for (const address of ['127.0.0.1', 'localhost:http', ':8200', '127.0.0.1:70000', 8200]) {
      const text = json({ listener: { tcp: { address, tls_disable: true } } });
      expect(configError(() => parseServerConfig(text, 'json', noEnv))).toBe('config: "listener.tcp.address" must be HOST:PORT');
    }
  });

  it('parses IPv6 and port 0', () => {
    const c = parseServerConfig(json({ listener: { tcp: { address: '[::1]:0', tls_disable: '1' } } }), 'json', noEnv);
    expect(c.listener.tcp).toMatchObject({ host: '::1', port: 0, tlsDisable: true });
  });

  it('requires the certificate files unless tls_disable is true, naming both', () => {
    const msg = configError(() => parseServerConfig(json({ listener: { tcp: {} } }), 'json', noEnv));
    expect(msg).toContain('"listener.tcp.tls_cert_file" is required unless "listener.tcp.tls_disable" is true');
    expect(msg).toContain('"listener.tcp.tls_key_file" is required');
    const only = configError(() => parseServerConfig(json({ listener: { tcp: { tls_disable: 'false', tls_cert_file: '/c.pem' } } }), 'json', noEnv));
    expect(only).toBe('config: "listener.tcp.tls_key_file" is required unless "listener.tcp.tls_disable" is true');
    const ok = parseServerConfig(json({ listener: { tcp: { tls_cert_file: '/c.pem', tls_key_file: '/k.pem' } } }), 'json', noEnv);
    expect(ok.listener.tcp).toMatchObject({ tlsDisable: false, tlsCertFile: '/c.pem', tlsKeyFile: '/k.pem' });
  });

  it('rejects a tls_disable that is not a boolean', () => {
    const text = json({ listener: { tcp: { tls_disable: 'yes' } } });
    expect(configError(() => parseServerConfig(text, 'json', noEnv))).toBe('config: "listener.tcp.tls_disable" must be a boolean (true or false)');
  });

  it('max_request_size must be a positive integer', () => {
    for (const max_request_size of [0, -1, 1.5, '1024']) {
      const text = json({ listener: { tcp: { tls_disable: true, max_request_size } } });
      expect(configError(() => parseServerConfig(text, 'json', noEnv))).toBe('config: "listener.tcp.max_request_size" must be a positive integer');
    }
    const c = parseServerConfig(json({ listener: { tcp: { tls_disable: true, max_request_size: 1024 } } }), 'json', noEnv);
    expect(c.listener.tcp.maxRequestSize).toBe(1024);
  });

  it('is required', () => {
    const text = JSON.stringify({ storage: { inmem: {} }, seal: { static: { key_file: keyFile } } });
    expect(configError(() => parseServerConfig(text, 'json', noEnv))).toBe('config: "listener" is required');
  });
});

describe('storage', () => {
  it('needs exactly one type', () => {
    expect(configError(() => parseServerConfig(json({ storage: {} }), 'json', noEnv))).toBe(
      'config: "storage" must declare exactly one of sqlite, postgresql, inmem',
    );
    const two = `${hclDoc(keyFile)}\nstorage "inmem" {}\n`;
    expect(configError(() => parseServerConfig(two, 'hcl', noEnv))).toBe(
      'config: "storage" must declare exactly one of sqlite, postgresql, inmem (found sqlite, inmem)',
    );
  });

  it('rejects a block declared twice', () => {
    const twice = `${hclDoc(keyFile)}\nstorage "sqlite" {\n  path = "/other.db"\n}\n`;
    expect(configError(() => parseServerConfig(twice, 'hcl', noEnv))).toBe('config: "storage.sqlite" is declared more than once');
  });

  it('sqlite needs a path; synchronous is full or normal', () => {
    expect(configError(() => parseServerConfig(json({ storage: { sqlite: {} } }), 'json', noEnv))).toBe('config: "storage.sqlite.path" is required');
    const bad = json({ storage: { sqlite: { path: '/x.db', synchronous: 'off' } } });
    expect(configError(() => parseServerConfig(bad, 'json', noEnv))).toBe('config: "storage.sqlite.synchronous" must be one of full, normal');
    const c = parseServerConfig(json({ storage: { sqlite: { path: '/x.db', synchronous: 'FULL' } } }), 'json', noEnv);
    expect(c.storage).toEqual({ type: 'sqlite', path: '/x.db', synchronous: 'full' });
  });

  it('postgresql parses with a connection_url and never echoes it', () => {
    const url = 'postgres://u:hunter2@db/secrets';
    const c = parseServerConfig(json({ storage: { postgresql: { connection_url: url } } }), 'json', noEnv);
    expect(c.storage).toEqual({ type: 'postgresql', connectionUrl: url });
    const msg = configError(() => parseServerConfig(json({ storage: { postgresql: { connection_url: url, max_parallel: -1 } } }), 'json', noEnv));
    expect(msg).toBe('config: "storage.postgresql.max_parallel" must be a positive integer');
    expect(configError(() => parseServerConfig(json({ storage: { postgresql: {} } }), 'json', noEnv))).toBe(
      'config: "storage.postgresql.connection_url" is required',
    );
  });

  it('a wrongly typed block names its path', () => {
    expect(configError(() => parseServerConfig(json({ storage: 'sqlite' }), 'json', noEnv))).toBe('config: "storage" must be a block (an object)');
  });
});

describe('seal key', () => {
  it('reads the key from SECRETS_SYNC_SEAL_KEY by default', () => {
    const text = JSON.stringify({ storage: { inmem: {} }, listener: { tcp: { tls_disable: true } } });
    const c = parseServerConfig(text, 'json', { SECRETS_SYNC_SEAL_KEY: key.toString('base64') });
    expect(c.sealKey.equals(key)).toBe(true);
    expect(c.seal).toEqual({ type: 'static', keyEnv: 'SECRETS_SYNC_SEAL_KEY' });
    expect(configError(() => parseServerConfig(text, 'json', noEnv))).toMatch(
      /^config: seal "static": environment variable SECRETS_SYNC_SEAL_KEY is not set \(or set key_file \/ key_env/,
    );
  });

  it('reads the key from the variable named by key_env', () => {
    const text = json({ seal: { static: { key_env: 'MY_SEAL' } } });
    const c = parseServerConfig(text, 'json', { MY_SEAL: key.toString('base64'), SECRETS_SYNC_SEAL_KEY: 'ignored' });
    expect(c.sealKey.equals(key)).toBe(true);
    expect(configError(() => parseServerConfig(text, 'json', noEnv))).toBe('config: seal "static": environment variable MY_SEAL is not set');
  });

  it('a missing key_file is ENOENT, naming the path', () => {
    const missing = join(dir, 'nope.key');
    const text = json({ seal: { static: { key_file: missing } } });
    expect(configError(() => parseServerConfig(text, 'json', noEnv))).toBe(`config: seal "static": cannot read key_file ${missing}: ENOENT`);
  });

  it('a key of the wrong length names the source, not the key', () => {
    const short = randomBytes(16).toString('base64');
    const shortFile = join(dir, 'short.key');
    writeFileSync(shortFile, short);
    const fileMsg = configError(() => parseServerConfig(json({ seal: { static: { key_file: shortFile } } }), 'json', noEnv));
    expect(fileMsg).toBe(`config: seal "static": key_file ${shortFile} must hold a base64-encoded 32-byte key (got 16 bytes)`);
    expect(fileMsg).not.toContain(short);

    const notB64 = 'this is not base64 but a secret!';
    const envMsg = configError(() => parseServerConfig(json({ seal: { static: { key_env: 'K' } } }), 'json', { K: notB64 }));
    expect(envMsg).toBe('config: seal "static": environment variable K must hold a base64-encoded 32-byte key (not valid base64)');
    expect(envMsg).not.toContain(notB64);
  });

  it('takes key_file or key_env, not both', () => {
    const text = json({ seal: { static: { key_file: keyFile, key_env: 'K' } } });
    expect(configError(() => parseServerConfig(text, 'json', noEnv))).toBe('config: "seal.static" takes key_file or key_env, not both');
  });
});

describe('durations and sync settings', () => {
  it('parses Go durations to milliseconds', () => {
    expect(parseDurationMs('300ms')).toBe(300);
    expect(parseDurationMs('1h30m')).toBe(5_400_000);
    expect(parseDurationMs('1.5s')).toBe(1500);
    expect(parseDurationMs('10m')).toBe(600_000);
    expect(parseDurationMs('2d')).toBe(172_800_000);
    expect(parseDurationMs('500us')).toBe(0.5);
    expect(parseDurationMs(30)).toBe(30_000);
    expect(parseDurationMs('30')).toBe(30_000);
    expect(parseDurationMs('0')).toBe(0);
    for (const bad of ['', 'm', '10x', '1h 30m', '1.2.3s', true]) expect(parseDurationMs(bad)).toBeUndefined();
  });

  it('sync settings convert and default', () => {
    const c = parseServerConfig(json({ sync: { workers: 4, reconcile_interval: '1h30m', retry_initial: '300ms', first_attempt_wait: '0s' } }), 'json', noEnv);
    expect(c.sync).toEqual({
      workers: 4,
      reconcileIntervalMs: 5_400_000,
      retryInitialMs: 300,
      retryMaxMs: 300_000,
      queueCapacity: 1_000_000,
      firstAttemptWaitMs: 0,
    });
  });

  it('sync in HCL is an unlabelled block', () => {
    const c = parseServerConfig(`${hclDoc(keyFile)}\nsync {\n  queue_capacity = 500\n  retry_max = "1m"\n}\n`, 'hcl', noEnv);
    expect(c.sync).toMatchObject({ queueCapacity: 500, retryMaxMs: 60_000 });
  });

  it('bad durations and counts name the key', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ reconcile_interval: '10 minutes' }, '"sync.reconcile_interval" must be a duration like "10m", "1h30m" or "300ms", greater than zero'],
      [{ retry_initial: '0s' }, '"sync.retry_initial" must be a duration'],
      [{ first_attempt_wait: '-1s' }, '"sync.first_attempt_wait" must be a duration like "10m", "1h30m" or "300ms", not negative'],
      [{ workers: 0 }, '"sync.workers" must be a positive integer'],
      [{ retry_initial: '10m', retry_max: '1m' }, '"sync.retry_initial" must not exceed "sync.retry_max"'],
      [{ queue: 1 }, 'unknown key "sync.queue"'],
    ];
    for (const [sync, expected] of cases) {
      expect(configError(() => parseServerConfig(json({ sync }), 'json', noEnv))).toContain(expected);
    }
  });
});

describe('log settings', () => {
  it('defaults to info, accepts levels and aliases, rejects others', () => {
    expect(parseServerConfig(json(), 'json', noEnv).logLevel).toBe('info');
    expect(parseServerConfig(json({ log_level: 'DEBUG', log_format: 'json' }), 'json', noEnv)).toMatchObject({ logLevel: 'debug', logFormat: 'json' });
    expect(parseServerConfig(json({ log_level: 'warning' }), 'json', noEnv).logLevel).toBe('warn');
    expect(configError(() => parseServerConfig(json({ log_level: 'loud' }), 'json', noEnv))).toBe(
      'config: "log_level" must be one of trace, debug, info, warn, error',
    );
    expect(configError(() => parseServerConfig(json({ log_format: 'xml' }), 'json', noEnv))).toBe('config: "log_format" must be one of json, standard');
  });
});

describe('source "vault"', () => {
  const hclSource = (body: string) => `${hclDoc(keyFile)}\nsource "vault" {\n${body}\n}\n`;

  it('parses token and approle forms', () => {
    const a = parseServerConfig(hclSource('  address = "https://vault.example:8200/"\n  token = "hvs.secret"\n  namespace = "team"'), 'hcl', noEnv);
    expect(a.source).toEqual({
      vault: { address: 'https://vault.example:8200', token: 'hvs.secret', namespace: 'team', tlsSkipVerify: false, pollIntervalMs: 300_000 },
    });
    const b = parseServerConfig(
      hclSource(
        '  address = "http://127.0.0.1:8200"\n  audit_listen_address = "127.0.0.1:9090"\n  poll_interval = "30s"\n  tls_skip_verify = "true"\n  approle {\n    role_id = "r"\n    secret_id = "s"\n  }',
      ),
      'hcl',
      noEnv,
    );
    expect(b.source?.vault).toMatchObject({
      approle: { roleId: 'r', secretId: 's' },
      auditListenAddress: { host: '127.0.0.1', port: 9090 },
      pollIntervalMs: 30_000,
      tlsSkipVerify: true,
    });
  });

  it('needs exactly one of token or approle, and an http(s) address', () => {
    expect(configError(() => parseServerConfig(hclSource('  address = "https://v:8200"'), 'hcl', noEnv))).toBe(
      'config: "source.vault" needs exactly one of token or approle',
    );
    const msg = configError(() => parseServerConfig(hclSource('  address = "ftp://v"\n  token = "hvs.topsecret"'), 'hcl', noEnv));
    expect(msg).toBe('config: "source.vault.address" must be an http:// or https:// URL');
    expect(configError(() => parseServerConfig(hclSource('  address = "https://v"\n  approle {\n    role_id = "r"\n  }'), 'hcl', noEnv))).toBe(
      'config: "source.vault.approle.secret_id" is required',
    );
  });
});

describe('syntax errors', () => {
  it('invalid JSON reports a position, never the text', () => {
    const msg = configError(() => parseServerConfig('{"source": {"vault": {"token": "hvs.secret" oops}}}', 'json', noEnv));
    expect(msg).toMatch(/^config: config file: invalid JSON/);
    expect(msg).not.toContain('hvs.secret');
  });

  it('invalid HCL points at an attribute on the line of a block’s "{"', () => {
    const text = 'storage "sqlite" { path = "/x.db"\n}\n';
    expect(configError(() => parseServerConfig(text, 'hcl', noEnv))).toBe(
      'config: config file: invalid HCL (line 1: HCL2 does not allow an attribute on the same line as a block\'s opening "{")',
    );
  });

  it('a file that is neither JSON nor HCL says so', () => {
    const p = join(dir, 'garbage.conf');
    writeFileSync(p, 'storage = {{{');
    expect(configError(() => loadServerConfig(p, noEnv))).toBe(`config: ${p} is neither valid JSON nor valid HCL`);
  });

  it('a missing config file names the path', () => {
    const p = join(dir, 'missing.hcl');
    expect(configError(() => loadServerConfig(p, noEnv))).toBe(`config: cannot read config file ${p}: ENOENT`);
  });
});
