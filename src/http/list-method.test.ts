import { describe, expect, it } from 'vitest';
import { ListMethodRewriter } from './list-method.js';

const feedAll = (chunks: string[]) => {
  const rw = new ListMethodRewriter();
  return chunks.map((c) => rw.feed(Buffer.from(c, 'latin1')).toString('latin1')).join('');
};

describe('ListMethodRewriter', () => {
  it('rewrites LIST into GET ?list=true, keeping the query', () => {
    expect(feedAll(['LIST /v1/secret/metadata/ HTTP/1.1\r\nHost: x\r\n\r\n'])).toBe('GET /v1/secret/metadata/?list=true HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(feedAll(['LIST /v1/a?x=1 HTTP/1.1\r\n\r\n'])).toBe('GET /v1/a?x=1&list=true HTTP/1.1\r\n\r\n');
  });

  it('follows Content-Length bodies on keep-alive connections, across chunk boundaries', () => {
    const body = 'LIST /v1/not-a-request HTTP/1.1\r\n\r\n'; // body bytes that look like a request
    const req1 = `POST /v1/a HTTP/1.1\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const req2 = 'LIST /v1/b HTTP/1.1\r\n\r\n';
    const all = req1 + req2;
    for (let cut = 1; cut < all.length; cut += 7) {
      expect(feedAll([all.slice(0, cut), all.slice(cut)])).toBe(req1 + 'GET /v1/b?list=true HTTP/1.1\r\n\r\n');
    }
  });

  it('follows chunked bodies', () => {
    const req1 = 'PUT /v1/a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nLIST \r\n3;ext=1\r\nabc\r\n0\r\n\r\n';
    const req2 = 'LIST /v1/c HTTP/1.1\r\n\r\n';
    expect(feedAll([req1 + req2])).toBe(req1 + 'GET /v1/c?list=true HTTP/1.1\r\n\r\n');
    expect(feedAll([...(req1 + req2)])).toBe(req1 + 'GET /v1/c?list=true HTTP/1.1\r\n\r\n');
  });

  it('passes everything through after an Upgrade', () => {
    const head = 'GET /v1/sys/events/subscribe/x HTTP/1.1\r\nUpgrade: websocket\r\n\r\n';
    expect(feedAll([head, 'LIST frames'])).toBe(head + 'LIST frames');
  });
});
