/**
 * A TCP server for Vault's `socket` audit device (`vault audit enable socket
 * address=host:port socket_type=tcp`): one JSON entry per line. Successful
 * KV-v2 changes are handed on; everything else is counted and dropped. The
 * feed is unauthenticated input, so every connection is bounded (line length,
 * buffered bytes, number of connections) and nothing a peer sends can throw.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Counter, type Registry } from 'prom-client';
import { type AuditChange, MAX_AUDIT_LINE_BYTES, parseAuditLine } from './audit-line.js';

export interface AuditListenerOptions {
  host: string;
  port: number;
  onChange: (change: AuditChange) => void;
  /** a device (re)connected: the feed may have missed entries meanwhile */
  onConnect?: () => void;
  registry?: Registry;
  maxLineBytes?: number;
  maxConnections?: number;
}

export class AuditListener {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  readonly lines: Counter<'result'>;
  private readonly maxLine: number;

  constructor(private readonly opts: AuditListenerOptions) {
    this.maxLine = opts.maxLineBytes ?? MAX_AUDIT_LINE_BYTES;
    const name = 'secrets_sync_audit_feed_lines_total';
    const existing = opts.registry?.getSingleMetric(name) as Counter<'result'> | undefined;
    this.lines =
      existing ??
      new Counter({
        name,
        help: 'Lines received on the audit socket feed, by result (change, ignored, or why it was dropped)',
        labelNames: ['result'],
        registers: opts.registry ? [opts.registry] : [],
      });
  }

  /** Resolves once listening; rejects when the address cannot be bound. */
  async start(): Promise<{ host: string; port: number }> {
    const server = createServer((sock) => this.accept(sock));
    server.maxConnections = this.opts.maxConnections ?? 64;
    server.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const a = server.address();
    return { host: this.opts.host, port: typeof a === 'object' && a ? a.port : this.opts.port };
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      for (const sock of this.sockets) sock.destroy();
    });
  }

  private accept(sock: Socket): void {
    this.sockets.add(sock);
    sock.setKeepAlive(true, 30_000);
    sock.on('error', () => undefined);
    sock.on('close', () => this.sockets.delete(sock));
    const chunks: Buffer[] = [];
    let pending = 0;
    // After an over-long line, everything up to the next newline is discarded.
    let skipping = false;
    sock.on('data', (data: Buffer) => {
      let start = 0;
      for (;;) {
        const nl = data.indexOf(0x0a, start);
        if (nl === -1) break;
        if (skipping) skipping = false;
        else if (pending + (nl - start) > this.maxLine) {
          this.lines.inc({ result: 'too_long' });
        } else {
          chunks.push(data.subarray(start, nl));
          this.handleLine(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
        }
        chunks.length = 0;
        pending = 0;
        start = nl + 1;
      }
      if (start < data.length && !skipping) {
        const rest = data.subarray(start);
        if (pending + rest.length > this.maxLine) {
          this.lines.inc({ result: 'too_long' });
          chunks.length = 0;
          pending = 0;
          skipping = true;
        } else {
          // Copy: the socket may reuse its buffer.
          chunks.push(Buffer.from(rest));
          pending += rest.length;
        }
      }
    });
    try {
      this.opts.onConnect?.();
    } catch {
      // a callback failure must not take the listener down
    }
  }

  private handleLine(line: Buffer): void {
    const r = parseAuditLine(line);
    if (r.kind === 'malformed') {
      this.lines.inc({ result: r.reason });
      return;
    }
    if (r.kind === 'ignored') {
      this.lines.inc({ result: 'ignored' });
      return;
    }
    this.lines.inc({ result: 'change' });
    try {
      this.opts.onChange(r.change);
    } catch {
      // the consumer logs its own failures
    }
  }
}
