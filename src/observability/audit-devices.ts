/**
 * Audit devices (`sys/audit`): `file` (a path, `stdout` or `discard`) and
 * `socket` (TCP or a unix socket). Each device has its own salt, stored
 * sealed, for the HMAC of values. Unlike Vault, a failing device never blocks
 * or fails a request: a socket device buffers a bounded backlog and
 * reconnects with backoff; what does not fit is dropped and counted.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, createWriteStream, openSync, type WriteStream } from 'node:fs';
import { connect, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { BadRequestError } from '../errors.js';
import type { RequestInfo } from '../http/app.js';
import type { SecureStore } from '../storage/barrier.js';
import type { Clock } from '../util/clock.js';
import { auditHmac, formatAuditEntries } from './audit-format.js';

const DEVICE_PREFIX = 'audit/device/';

interface DeviceRecord {
  /** with trailing slash */
  path: string;
  type: 'file' | 'socket';
  description: string;
  options: Record<string, string>;
  local: boolean;
  /** base64 HMAC key */
  salt: string;
}

export interface AuditDeviceView {
  type: string;
  description: string;
  options: Record<string, string>;
  path: string;
  local: boolean;
}

interface Sink {
  write(line: string): void;
  close(): Promise<void>;
  /** after log rotation: let go of the open file so the next entry opens the path again (file devices) */
  reopen?(): Promise<void>;
}

interface Device {
  rec: DeviceRecord;
  salt: Buffer;
  sink: Sink;
}

export class AuditBroker {
  private store: SecureStore | undefined;
  private readonly devices = new Map<string, Device>();
  readonly dropped: Counter<'device_type' | 'reason'>;

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
    registry?: Registry,
  ) {
    this.dropped = new Counter({
      name: 'secrets_sync_audit_entries_dropped_total',
      help: 'Audit entries a device could not take (backlog full, write failure)',
      labelNames: ['device_type', 'reason'],
      registers: registry ? [registry] : [],
    });
  }

  /** Loads the devices once the store is unsealed. */
  async attach(store: SecureStore): Promise<void> {
    this.store = store;
    const rows = await store.read((tx) => tx.scanJson<DeviceRecord>(DEVICE_PREFIX));
    for (const [, rec] of rows) this.open(rec);
  }

  list(): Record<string, AuditDeviceView> {
    const out: Record<string, AuditDeviceView> = {};
    for (const [p, d] of [...this.devices].sort(([a], [b]) => (a < b ? -1 : 1))) out[p] = view(d.rec);
    return out;
  }

  async enable(rawPath: string, type: string, description: string, options: Record<string, string>, local: boolean): Promise<void> {
    const path = normalizePath(rawPath);
    if (type !== 'file' && type !== 'socket') {
      throw new BadRequestError(type === '' ? 'type is required' : `unknown backend type: "${type}" (supported: file, socket)`);
    }
    validateOptions(type, options);
    for (const p of this.devices.keys()) {
      if (p.startsWith(path) || path.startsWith(p)) throw new BadRequestError(`path already in use at ${p}`);
    }
    if (type === 'file') checkFileWritable(options.file_path!, options.mode);
    const rec: DeviceRecord = { path, type, description, options, local, salt: randomBytes(32).toString('base64') };
    const store = this.requireStore();
    await store.transaction(async (tx) => {
      if (await tx.getJson(`${DEVICE_PREFIX}${path}`)) throw new BadRequestError(`path already in use at ${path}`);
      await tx.putJson(`${DEVICE_PREFIX}${path}`, rec);
    });
    this.open(rec);
  }

  async disable(rawPath: string): Promise<void> {
    const path = normalizePath(rawPath);
    await this.requireStore().transaction((tx) => tx.delete(`${DEVICE_PREFIX}${path}`));
    const d = this.devices.get(path);
    this.devices.delete(path);
    await d?.sink.close();
  }

  /** sys/audit-hash: the HMAC a device would write for `input`; undefined when there is no such device. */
  hash(rawPath: string, input: string): string | undefined {
    const d = this.devices.get(normalizePath(rawPath));
    return d ? auditHmac(d.salt, input) : undefined;
  }

  /** A request observer: writes both entries to every device. Never throws. */
  observe(info: RequestInfo): void {
    if (this.devices.size === 0) return;
    const now = this.clock.nowMs();
    for (const d of this.devices.values()) {
      try {
        const o = d.rec.options;
        const [req, resp] = formatAuditEntries(info, { salt: d.salt, hmacAccessor: o.hmac_accessor !== 'false', logRaw: o.log_raw === 'true' }, now);
        const prefix = o.prefix ?? '';
        d.sink.write(`${prefix}${JSON.stringify(req)}\n${prefix}${JSON.stringify(resp)}\n`);
      } catch (err) {
        this.dropped.inc({ device_type: d.rec.type, reason: 'format' });
        this.logger.error({ device: d.rec.path, err: (err as Error).name }, 'audit: formatting an entry failed');
      }
    }
  }

  /**
   * SIGHUP, as Vault: file devices close their file and open the path again
   * on the next entry, so a rotated log (renamed by logrotate) is followed by
   * a fresh file instead of growing the renamed one.
   */
  async reopen(): Promise<void> {
    await Promise.all([...this.devices.values()].map((d) => d.sink.reopen?.()));
  }

  async close(): Promise<void> {
    const all = [...this.devices.values()];
    this.devices.clear();
    await Promise.all(all.map((d) => d.sink.close()));
  }

  private requireStore(): SecureStore {
    if (!this.store) throw new BadRequestError('Vault is sealed');
    return this.store;
  }

  private open(rec: DeviceRecord): void {
    const onDrop = (reason: string) => this.dropped.inc({ device_type: rec.type, reason });
    const sink = rec.type === 'file' ? new FileSink(rec.options.file_path!, rec.options.mode, this.logger, onDrop) : new SocketSink(rec.options, this.logger, onDrop);
    this.devices.set(rec.path, { rec, salt: Buffer.from(rec.salt, 'base64'), sink });
  }
}

function normalizePath(p: string): string {
  const clean = p.replace(/^\/+|\/+$/g, '');
  if (clean === '') throw new BadRequestError('path is required');
  return `${clean}/`;
}

function view(r: DeviceRecord): AuditDeviceView {
  return { type: r.type, description: r.description, options: r.options, path: r.path, local: r.local };
}

function validateOptions(type: 'file' | 'socket', o: Record<string, string>): void {
  if (o.format !== undefined && o.format !== 'json') throw new BadRequestError(`options.format: only "json" is supported`);
  if (type === 'file') {
    if (!o.file_path && !o.path) throw new BadRequestError('options.file_path is required for a file audit device');
    if (!o.file_path) o.file_path = o.path!;
    if (o.mode !== undefined && !/^0?[0-7]{3}$/.test(o.mode)) throw new BadRequestError('options.mode: must be an octal file mode such as 0600');
    return;
  }
  if (!o.address) throw new BadRequestError('options.address is required for a socket audit device');
  const st = o.socket_type ?? 'tcp';
  if (st !== 'tcp' && st !== 'unix') throw new BadRequestError('options.socket_type: must be "tcp" or "unix"');
  if (st === 'tcp' && !/^(\[[0-9a-fA-F:.]+\]|[^\s:]+):\d{1,5}$/.test(o.address)) throw new BadRequestError('options.address: must be HOST:PORT for socket_type "tcp"');
}

/**
 * Vault's sanity check at enable time: a file device whose file cannot be
 * opened for appending is refused, rather than accepted and then silently
 * dropping every entry. (Later failures are logged, counted, and retried.)
 */
function checkFileWritable(filePath: string, mode: string | undefined): void {
  if (filePath === 'stdout' || filePath === 'discard') return;
  try {
    closeSync(openSync(filePath, 'a', mode ? parseInt(mode, 8) : 0o600));
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error';
    throw new BadRequestError(`sanity check failed; unable to open "${filePath}" for writing: ${code}`);
  }
}

class FileSink implements Sink {
  private stream: WriteStream | undefined;
  private failedAt = 0;

  constructor(
    private readonly filePath: string,
    private readonly mode: string | undefined,
    private readonly logger: Logger,
    private readonly onDrop: (reason: string) => void,
  ) {}

  write(line: string): void {
    if (this.filePath === 'discard') return;
    if (this.filePath === 'stdout') {
      process.stdout.write(line);
      return;
    }
    if (!this.stream) {
      // After a failure, wait a little before trying the file again.
      if (Date.now() - this.failedAt < 5000) {
        this.onDrop('file_unavailable');
        return;
      }
      const s = createWriteStream(this.filePath, { flags: 'a', mode: this.mode ? parseInt(this.mode, 8) : 0o600 });
      s.on('error', (err) => {
        this.logger.error({ file: this.filePath, code: (err as { code?: string }).code }, 'audit: file device write failed');
        this.failedAt = Date.now();
        if (this.stream === s) this.stream = undefined;
        this.onDrop('write_error');
      });
      this.stream = s;
    }
    this.stream.write(line);
  }

  async close(): Promise<void> {
    const s = this.stream;
    this.stream = undefined;
    if (s) await new Promise<void>((resolve) => s.end(() => resolve()));
  }

  async reopen(): Promise<void> {
    this.failedAt = 0;
    await this.close();
  }
}

const MAX_BACKLOG_BYTES = 16 * 1024 * 1024;

class SocketSink implements Sink {
  private sock: Socket | undefined;
  private connected = false;
  private backlog: string[] = [];
  private backlogBytes = 0;
  private retryMs = 100;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly options: Record<string, string>,
    private readonly logger: Logger,
    private readonly onDrop: (reason: string) => void,
  ) {
    this.connect();
  }

  write(line: string): void {
    if (this.closed) return;
    if (this.connected && this.sock && this.sock.writableLength < MAX_BACKLOG_BYTES) {
      this.sock.write(line);
      return;
    }
    if (this.backlogBytes + line.length > MAX_BACKLOG_BYTES) {
      this.onDrop('backlog_full');
      return;
    }
    this.backlog.push(line);
    this.backlogBytes += line.length;
  }

  private connect(): void {
    if (this.closed) return;
    const o = this.options;
    let sock: Socket;
    if ((o.socket_type ?? 'tcp') === 'unix') sock = connect({ path: o.address! });
    else {
      const i = o.address!.lastIndexOf(':');
      sock = connect({ host: o.address!.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(o.address!.slice(i + 1)) });
    }
    this.sock = sock;
    sock.setNoDelay(true);
    sock.on('connect', () => {
      this.connected = true;
      this.retryMs = 100;
      const pending = this.backlog;
      this.backlog = [];
      this.backlogBytes = 0;
      for (const l of pending) sock.write(l);
    });
    sock.on('error', (err) => {
      this.logger.debug({ address: o.address, code: (err as { code?: string }).code }, 'audit: socket device error');
    });
    sock.on('close', () => {
      if (this.sock !== sock) return;
      this.connected = false;
      this.sock = undefined;
      if (this.closed) return;
      this.timer = setTimeout(() => this.connect(), this.retryMs);
      this.timer.unref();
      this.retryMs = Math.min(5000, this.retryMs * 2);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const s = this.sock;
    this.sock = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        s.destroy();
        resolve();
      }, 1000);
      t.unref();
      s.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      s.end();
    });
  }
}
