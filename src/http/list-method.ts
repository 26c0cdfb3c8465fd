/**
 * Vault clients (hvac, node-vault) send the non-standard `LIST` HTTP method,
 * which Node's HTTP parser rejects before any framework sees it. Each
 * connection is therefore passed through a small request framer that rewrites
 * `LIST /v1/p` into `GET /v1/p?list=true` (Vault's own equivalent) and leaves
 * every other byte alone. It follows request framing (Content-Length and
 * chunked bodies) so keep-alive connections are rewritten correctly, and
 * steps aside after an `Upgrade` (WebSocket).
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

const CRLF2 = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
const MAX_HEAD = 64 * 1024;

type State =
  | { k: 'head' }
  | { k: 'body'; left: number }
  | { k: 'chunk-size' }
  | { k: 'chunk-data'; left: number }
  | { k: 'trailers' }
  | { k: 'pass' };

export class ListMethodRewriter {
  private state: State = { k: 'head' };
  private pending: Buffer = Buffer.alloc(0);

  /** Feeds raw bytes from the client; returns the bytes to hand to the HTTP parser. */
  feed(chunk: Buffer): Buffer {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    const out: Buffer[] = [];
    while (buf.length > 0) {
      const s = this.state;
      if (s.k === 'pass') {
        out.push(buf);
        break;
      }
      if (s.k === 'body' || s.k === 'chunk-data') {
        const n = Math.min(s.left, buf.length);
        out.push(buf.subarray(0, n));
        buf = buf.subarray(n);
        s.left -= n;
        if (s.left === 0) this.state = s.k === 'body' ? { k: 'head' } : { k: 'chunk-size' };
        continue;
      }
      const delim = s.k === 'head' || s.k === 'trailers' ? CRLF2 : CRLF;
      // A chunk's data is followed by CRLF; trailers may be just CRLF.
      if (s.k === 'trailers' && buf.subarray(0, 2).equals(CRLF)) {
        out.push(buf.subarray(0, 2));
        buf = buf.subarray(2);
        this.state = { k: 'head' };
        continue;
      }
      const i = buf.indexOf(delim);
      if (i === -1) {
        if (buf.length > MAX_HEAD) {
          // Not HTTP we understand: let the real parser answer it.
          this.state = { k: 'pass' };
          out.push(buf);
        } else this.pending = Buffer.from(buf);
        break;
      }
      const part = buf.subarray(0, i + delim.length);
      buf = buf.subarray(i + delim.length);
      if (s.k === 'head') {
        out.push(this.onHead(part));
      } else if (s.k === 'chunk-size') {
        out.push(part);
        const line = part.toString('latin1').trim();
        if (line === '') continue; // the CRLF closing the previous chunk's data
        const size = parseInt(line.split(';')[0]!, 16);
        if (!Number.isFinite(size)) {
          this.state = { k: 'pass' };
          continue;
        }
        this.state = size === 0 ? { k: 'trailers' } : { k: 'chunk-data', left: size };
      } else {
        out.push(part);
        this.state = { k: 'head' };
      }
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  private onHead(head: Buffer): Buffer {
    let text = head.toString('latin1');
    if (text.startsWith('\r\n')) {
      // stray CRLF between requests is allowed by HTTP/1.1 parsers
    }
    if (text.startsWith('LIST ')) {
      const lineEnd = text.indexOf('\r\n');
      const [, target, version] = text.slice(0, lineEnd).split(' ');
      const sep = target!.includes('?') ? '&' : '?';
      text = `GET ${target}${sep}list=true ${version}` + text.slice(lineEnd);
      head = Buffer.from(text, 'latin1');
    }
    const lower = text.toLowerCase();
    if (/\r\nupgrade:/.test(lower)) this.state = { k: 'pass' };
    else if (/\r\ntransfer-encoding:[^\r]*chunked/.test(lower)) this.state = { k: 'chunk-size' };
    else {
      const m = /\r\ncontent-length:\s*(\d+)/.exec(lower);
      const n = m ? Number(m[1]) : 0;
      this.state = n > 0 ? { k: 'body', left: n } : { k: 'head' };
    }
    return head;
  }
}

/** A socket-like stream that feeds the HTTP server rewritten bytes. */
export class RewritingSocket extends Duplex {
  private readonly rw = new ListMethodRewriter();

  constructor(readonly inner: Socket) {
    super({ allowHalfOpen: true });
    inner.on('data', (d: Buffer) => {
      const out = this.rw.feed(d);
      if (out.length && !this.push(out)) inner.pause();
    });
    inner.on('end', () => this.push(null));
    inner.on('error', (e) => this.destroy(e));
    inner.on('close', () => this.destroy());
    inner.on('timeout', () => this.emit('timeout'));
    inner.on('drain', () => this.emit('drain'));
  }

  override _read(): void {
    this.inner.resume();
  }

  override _write(chunk: Buffer, enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.inner.write(chunk, enc, cb);
  }

  // node:http corks the socket for a response's head and body; passing the
  // batch on corked makes it one writev syscall instead of one write each.
  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, cb: (err?: Error | null) => void): void {
    this.inner.cork();
    for (let i = 0; i < chunks.length - 1; i++) this.inner.write(chunks[i]!.chunk, chunks[i]!.encoding);
    const last = chunks[chunks.length - 1]!;
    this.inner.write(last.chunk, last.encoding, cb);
    this.inner.uncork();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.inner.end(cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.inner.destroy(err ?? undefined);
    cb(err);
  }

  get remoteAddress() {
    return this.inner.remoteAddress;
  }
  get remotePort() {
    return this.inner.remotePort;
  }
  get remoteFamily() {
    return this.inner.remoteFamily;
  }
  get localAddress() {
    return this.inner.localAddress;
  }
  get localPort() {
    return this.inner.localPort;
  }
  get encrypted() {
    return (this.inner as Socket & { encrypted?: boolean }).encrypted;
  }
  get bytesWritten() {
    return this.inner.bytesWritten;
  }
  setTimeout(ms: number, cb?: () => void): this {
    this.inner.setTimeout(ms, cb);
    return this;
  }
  setNoDelay(v?: boolean): this {
    this.inner.setNoDelay(v);
    return this;
  }
  setKeepAlive(enable?: boolean, delay?: number): this {
    this.inner.setKeepAlive(enable, delay);
    return this;
  }
  destroySoon(): void {
    this.end();
  }
}
