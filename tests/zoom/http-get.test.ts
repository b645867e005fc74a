import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpGet, HttpGetError, type HttpGetFailure, type HttpGetOptions, type HttpGetResponse } from '../../shared/adapters/http-get';

const KiB = 1024;
const MiB = 1024 * KiB;
const tlsFixtures = path.join(__dirname, '../fixtures/tls');
const cert = readFileSync(path.join(tlsFixtures, 'localhost-cert.pem'));
const key = readFileSync(path.join(tlsFixtures, 'localhost-key.pem'));
// Bodies are slices of random bytes: a lost, repeated or misplaced byte changes the hash.
const random = randomBytes(64 * MiB + 17);

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

/** Reads a body to its end: its hash, length, and the chunks it came in. `first` is what was read of it already. */
async function drain(body: Readable, first?: Buffer) {
  const hash = createHash('sha256');
  let bytes = first?.length ?? 0;
  let chunks = 0;
  let largest = 0;
  if (first) hash.update(first);
  // 'data' events, not async iteration: that read() would join buffered chunks.
  body.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
    chunks += 1;
    largest = Math.max(largest, chunk.length);
  });
  await finished(body);
  return { sha256: hash.digest('hex'), bytes, chunks, largest };
}

/** What a paused-mode consumer gets from one read once the body has something. */
async function readSome(body: Readable): Promise<Buffer> {
  for (;;) {
    const chunk = body.read() as Buffer | null;
    if (chunk) return chunk;
    if (body.readableEnded) throw new Error('the body ended before any bytes');
    await once(body, 'readable');
  }
}

function expectFailure(error: unknown, kind: HttpGetFailure, code?: string | RegExp): void {
  expect(error).toBeInstanceOf(HttpGetError);
  expect((error as HttpGetError).failure).toBe(kind);
  if (code !== undefined) expect((error as HttpGetError).code).toMatch(code);
}

// Servers, their sockets and the bodies handed out: all closed after each test.
const servers = new Set<net.Server>();
const serverSockets = new Set<net.Socket>();
const bodies: Readable[] = [];

afterEach(async () => {
  for (const body of bodies.splice(0)) body.destroy();
  for (const socket of serverSockets) socket.destroy();
  await Promise.all([...servers].map((server) => new Promise((resolve) => server.close(resolve))));
  servers.clear();
});

/** A GET whose body is destroyed after the test. A short idle timeout: a hang fails as 'timeout', not as a Jest timeout. */
async function get(url: URL, options: HttpGetOptions = {}): Promise<HttpGetResponse> {
  const response = await httpGet(url, { idleTimeoutMs: 5_000, ...options });
  bodies.push(response.body);
  return response;
}

interface Peer {
  socket: net.Socket;
  closed: Promise<void>;
}

interface Served {
  port: number;
  /** Every connection the server accepted. */
  peers: Peer[];
  /** The first connection, once there is one. */
  peer: () => Promise<Peer>;
  url: (pathAndQuery?: string, host?: string) => URL;
}

async function serve(server: net.Server, host = '127.0.0.1'): Promise<Served> {
  servers.add(server);
  const peers: Peer[] = [];
  let firstPeer!: (peer: Peer) => void;
  const first = new Promise<Peer>((resolve) => (firstPeer = resolve));
  server.on('connection', (socket: net.Socket) => {
    serverSockets.add(socket);
    socket.on('error', () => {}); // clients hanging up mid-response is what many tests do
    const closed = new Promise<void>((resolve) =>
      socket.on('close', () => {
        serverSockets.delete(socket);
        resolve();
      }),
    );
    const peer = { socket, closed };
    peers.push(peer);
    firstPeer(peer);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const scheme = server instanceof https.Server ? 'https' : 'http';
  return { port, peers, peer: () => first, url: (pathAndQuery = '/', name = host) => new URL(`${scheme}://${name}:${port}${pathAndQuery}`) };
}

/** A server that sends exact bytes: `respond` gets the socket once the request head is in. */
function rawServer(respond: (socket: net.Socket, requestHead: string) => void | Promise<void>): Promise<Served> {
  return serve(
    net.createServer((socket) => {
      socket.setNoDelay(true);
      let head = '';
      let answered = false;
      // Keeps reading after the head, so the server sees the client's close.
      socket.on('data', (data) => {
        if (answered) return;
        head += data.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        answered = true;
        void Promise.resolve(respond(socket, head)).catch(() => {});
      });
    }),
  );
}

/** A raw server that writes `response` at once and keeps the connection open. */
const rawAnswer = (response: string | Buffer) => rawServer((socket) => void socket.write(response));

/** Writes `data` in pieces of `size` bytes, `delayMs` apart: each piece is likely a read of its own. */
async function dribble(socket: net.Socket, data: string | Buffer, size = 1, delayMs = 1): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  for (let at = 0; at < bytes.length && !socket.destroyed; at += size) {
    socket.write(bytes.subarray(at, at + size));
    await sleep(delayMs);
  }
}

/** A node:http server answering 200 with `body` and a Content-Length; counts the requests it handled. */
async function serveBytes(body: Buffer): Promise<Served & { requests: () => number }> {
  let requests = 0;
  const served = await serve(
    http.createServer((_request, response) => {
      requests += 1;
      response.writeHead(200, { 'content-type': 'video/mp4', 'content-length': body.length });
      response.end(body);
    }),
  );
  return { ...served, requests: () => requests };
}

/**
 * A node:http server that writes `body` as a file server would: 64 KiB at a time, the
 * next only once the socket took the last. `handed` is how much it gave the socket.
 */
async function servePaced(body: Buffer) {
  const progress = { handed: 0, finished: false };
  const served = await serve(
    http.createServer((_request, response) => {
      response.writeHead(200, { 'content-length': body.length });
      response.on('finish', () => (progress.finished = true));
      const next = () => {
        while (progress.handed < body.length && !response.destroyed) {
          const piece = body.subarray(progress.handed, progress.handed + 64 * KiB);
          progress.handed += piece.length;
          if (!response.write(piece)) {
            response.once('drain', next);
            return;
          }
        }
        if (progress.handed === body.length) response.end();
      };
      next();
    }),
  );
  return { ...served, progress };
}

/** A port with nobody listening on it: a server's, after it closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('httpGet over HTTPS', () => {
  const body = random.subarray(0, 5 * MiB + 3);
  const httpsServer = (onRequest: () => void = () => {}) =>
    https.createServer({ key, cert }, (_request, response) => {
      onRequest();
      response.writeHead(200, { 'content-length': body.length });
      response.end(body);
    });

  it.each(['127.0.0.1', 'localhost'])('streams a multi-MiB body byte-exact via %s, trusting the fixture certificate', async (name) => {
    const served = await serve(httpsServer());
    const response = await get(served.url('/video.mp4', name), { tls: { ca: cert } });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-length']).toBe(String(body.length));
    expect(await drain(response.body)).toMatchObject({ sha256: sha256(body), bytes: body.length });
  });

  it('refuses the self-signed certificate when it is not trusted, before any request', async () => {
    let requests = 0;
    const served = await serve(httpsServer(() => (requests += 1)));
    const error = await failure(get(served.url()));
    expectFailure(error, 'network', /CERT/);
    expect(requests).toBe(0);
  });

  it('refuses a trusted certificate that does not name the host (127.0.0.2)', async () => {
    let requests = 0;
    const served = await serve(httpsServer(() => (requests += 1)), '127.0.0.2');
    const error = await failure(get(served.url(), { tls: { ca: cert } }));
    expectFailure(error, 'network', /ALTNAME/);
    expect(requests).toBe(0);
    // (control) the server on 127.0.0.2 answers when the name is not checked: it was the name.
    const unchecked = await get(served.url(), { tls: { ca: cert, rejectUnauthorized: false } });
    expect(unchecked.statusCode).toBe(200);
    expect((await drain(unchecked.body)).sha256).toBe(sha256(body));
  });
});

describe('httpGet response bodies', () => {
  it.each([0, 1, 65_537, 3 * MiB + 17])('delivers a Content-Length body of %i bytes byte-exact', async (size) => {
    const body = random.subarray(7, 7 + size);
    const served = await serveBytes(body);
    const response = await get(served.url('/file'));
    expect(response.statusCode).toBe(200);
    expect(await drain(response.body)).toMatchObject({ sha256: sha256(body), bytes: size });
  });

  it('delivers the body in large chunks (8 MiB in far fewer than 64 KiB pieces), none larger than chunkBytes', async () => {
    const body = random.subarray(0, 8 * MiB);
    const served = await serveBytes(body);
    const response = await get(served.url());
    const received = await drain(response.body);
    expect(received).toMatchObject({ sha256: sha256(body), bytes: body.length });
    expect(received.chunks).toBeLessThan(64); // 64 KiB reads would give 128
    expect(received.largest).toBeLessThanOrEqual(MiB);
  });

  it('keeps chunks within a smaller chunkBytes', async () => {
    const body = random.subarray(0, 3 * MiB + 5);
    const served = await serveBytes(body);
    const response = await get(served.url(), { chunkBytes: 256 * KiB });
    const received = await drain(response.body);
    expect(received).toMatchObject({ sha256: sha256(body), bytes: body.length });
    expect(received.largest).toBeLessThanOrEqual(256 * KiB);
  });

  it('ends a Content-Length body at its length while the connection stays open, ignoring bytes after it', async () => {
    const served = await rawAnswer('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA');
    const response = await get(served.url());
    const received = await drain(response.body);
    expect(received).toMatchObject({ sha256: sha256(Buffer.from('hello')), bytes: 5 });
  });

  describe('chunked', () => {
    const data = random.subarray(100, 100 + 1 + 0xff + 0xabcd + 3);
    const at = [1, 1 + 0xff, 1 + 0xff + 0xabcd];
    // Strings are framing, Buffers chunk data. Extensions with and without spaces, upper- and lowercase hex.
    const wire: Array<string | Buffer> = [
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n',
      '1;a=b\r\n',
      data.subarray(0, at[0]),
      '\r\n',
      'ff ; name="x;y"\r\n',
      data.subarray(at[0], at[1]),
      '\r\n',
      'ABCD;a=b;c\r\n',
      data.subarray(at[1], at[2]),
      '\r\n',
      '3\r\n',
      data.subarray(at[2]),
      '\r\n',
      '0;last=1\r\nX-Trailer: yes\r\nX-Other: 2\r\n\r\n',
    ];
    const whole = Buffer.concat(wire.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : part)));

    it('removes the framing of a body sent in one write, and ends at the last chunk with the connection open', async () => {
      const served = await rawAnswer(whole);
      const response = await get(served.url());
      expect(response.headers['transfer-encoding']).toBe('chunked');
      expect(await drain(response.body)).toMatchObject({ sha256: sha256(data), bytes: data.length });
    });

    it('removes the framing when size lines, CRLFs, extensions and trailers straddle reads', async () => {
      const served = await rawServer(async (socket) => {
        for (const part of wire) {
          // Framing a byte at a time; data in three writes cut at odd places.
          if (typeof part === 'string') await dribble(socket, part);
          else {
            const [one, three] = [Math.floor(part.length / 5), Math.floor((part.length * 3) / 5)];
            for (const piece of [part.subarray(0, one), part.subarray(one, three), part.subarray(three)]) await dribble(socket, piece, piece.length || 1);
          }
        }
      });
      const response = await get(served.url());
      expect(await drain(response.body)).toMatchObject({ sha256: sha256(data), bytes: data.length });
    });

    it.each([
      ['a malformed chunk size', '5x\r\nhello\r\n0\r\n\r\n'],
      ['a chunk longer than its size', '3\r\nhello\r\n0\r\n\r\n'],
    ])('fails the body with protocol on %s', async (_case, framed) => {
      const served = await rawServer(async (socket) => {
        socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
        await sleep(20);
        socket.write(framed);
      });
      const response = await get(served.url());
      expectFailure(await failure(drain(response.body)), 'protocol', 'HTTP_GET_PROTOCOL');
    });

    it('fails the body, catchably, when it fails in the very read that completed the head', async () => {
      // One write: the head and bad framing arrive together. The caller listens only once
      // the promise has resumed it; an error emitted before then would be uncaught.
      const served = await rawAnswer('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\nhello\r\n0\r\n\r\n');
      const uncaught: unknown[] = [];
      const onUncaught = (error: unknown) => uncaught.push(error);
      process.prependListener('uncaughtException', onUncaught);
      try {
        const response = await get(served.url());
        expectFailure(await failure(drain(response.body)), 'protocol', 'HTTP_GET_PROTOCOL');
        expect(uncaught).toEqual([]);
      } finally {
        process.removeListener('uncaughtException', onUncaught);
      }
    });
  });

  it.each([
    ['no Content-Length nor Transfer-Encoding', ''],
    ['a Transfer-Encoding not ending in chunked', 'Transfer-Encoding: gzip\r\n'],
  ])('reads a body with %s to the close of the connection', async (_case, framing) => {
    const body = random.subarray(0, 3 * MiB + 5);
    const served = await rawServer((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\n${framing}\r\n`);
      socket.write(body.subarray(0, MiB + 1));
      socket.end(body.subarray(MiB + 1));
    });
    const response = await get(served.url());
    expect(await drain(response.body)).toMatchObject({ sha256: sha256(body), bytes: body.length });
  });

  it('refuses an answer with both Transfer-Encoding and Content-Length as protocol: which length is meant cannot be known', async () => {
    const served = await rawAnswer('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    expectFailure(await failure(get(served.url())), 'protocol', 'HTTP_GET_PROTOCOL');
  });

  it.each([
    ['204', 'HTTP/1.1 204 No Content\r\n\r\n'],
    ['304', 'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n'],
  ])('ends the body of a %s at once, without waiting for the close', async (status, head) => {
    const served = await rawAnswer(head);
    const response = await get(served.url());
    expect(response.statusCode).toBe(Number(status));
    expect(await drain(response.body)).toMatchObject({ bytes: 0 });
  });
});

describe('httpGet response heads', () => {
  const final = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Final: 1\r\n\r\nhello';

  it.each([
    ['in one write', false],
    ['in separate writes', true],
  ])('skips interim 1xx answers (%s) and returns the real one', async (_case, separately) => {
    const interim = ['HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n'];
    const served = await rawServer(async (socket) => {
      if (!separately) return void socket.write(interim.join('') + final);
      for (const part of [...interim, final]) {
        socket.write(part);
        await sleep(20);
      }
    });
    const response = await get(served.url());
    expect(response.statusCode).toBe(200);
    expect(response.headers).toEqual({ 'content-length': '5', 'x-final': '1' }); // nothing of the 103's headers
    expect(await drain(response.body)).toMatchObject({ sha256: sha256(Buffer.from('hello')), bytes: 5 });
  });

  it('lowercases header names, trims values and joins a repeated header with ", "', async () => {
    const served = await rawAnswer(
      'HTTP/1.1 200 Fine\r\nContent-Type: video/mp4\r\nSet-Cookie: a=1\r\nX-Mixed-CASE:   padded  \r\nset-cookie: b=2\r\nSET-COOKIE:c=3\r\nContent-Length: 0\r\n\r\n',
    );
    const response = await get(served.url());
    expect(response.statusCode).toBe(200);
    expect(response.headers).toEqual({ 'content-type': 'video/mp4', 'set-cookie': 'a=1, b=2, c=3', 'x-mixed-case': 'padded', 'content-length': '0' });
  });

  it('accepts a status line without a reason phrase and the same Content-Length twice', async () => {
    const served = await rawAnswer('HTTP/1.0 404\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nno');
    const response = await get(served.url());
    expect(response.statusCode).toBe(404);
    expect(await drain(response.body)).toMatchObject({ sha256: sha256(Buffer.from('no')) });
  });

  it.each([
    ['two different Content-Length headers', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello'],
    ['a malformed Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello'],
    ['a negative Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nhello'],
    ['an HTTP/2 status line', 'HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n'],
    ['a two-digit status', 'HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n'],
    ['a status glued to its reason', 'HTTP/1.1 200OK\r\nContent-Length: 0\r\n\r\n'],
    ['no status line at all', 'hello there\r\n\r\n'],
    ['a header line without a colon', 'HTTP/1.1 200 OK\r\nContent-Length 0\r\n\r\n'],
    ['a header name with a space', 'HTTP/1.1 200 OK\r\nContent Length: 0\r\n\r\n'],
    ['a folded header line', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 0\r\n\r\n'],
    ['a switch of protocols', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n'],
    ['a bare LF inside a header value', 'HTTP/1.1 200 OK\r\nContent-Type: text/html\nX-Forged: 1\r\nContent-Length: 0\r\n\r\n'],
    ['a NUL in a header value', 'HTTP/1.1 200 OK\r\nContent-Type: video/mp4\0\r\nContent-Length: 0\r\n\r\n'],
    ['a vertical tab after a Content-Length (not whitespace in HTTP)', 'HTTP/1.1 200 OK\r\nContent-Length: 0\x0b\r\n\r\n'],
    ['more than 8 interim answers', `${'HTTP/1.1 100 Continue\r\n\r\n'.repeat(9)}HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n`],
  ])('rejects a response with %s as protocol', async (_case, response) => {
    const served = await rawAnswer(response);
    expectFailure(await failure(get(served.url())), 'protocol', 'HTTP_GET_PROTOCOL');
  });

  it('rejects a head whose lines end in LF alone at once, not at the idle timeout', async () => {
    const served = await rawServer((socket) => void socket.write('HTTP/1.1 200 OK\nContent-Length: 2\n\nok'));
    // The default idle timeout is a minute: an answer within this test's time is the prompt refusal.
    expectFailure(await failure(get(served.url())), 'protocol', 'HTTP_GET_PROTOCOL');
  });

  it('keeps the first value of a single-valued header sent twice (Content-Type: the page is still seen as a page)', async () => {
    const served = await rawAnswer('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Type: video/mp4\r\nLocation: /a\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n');
    const response = await get(served.url());
    expect(response.headers['content-type']).toBe('text/html');
    expect(response.headers.location).toBe('/a');
  });

  it('keeps headers named like Object properties as headers', async () => {
    const served = await rawAnswer('HTTP/1.1 200 OK\r\n__proto__: x\r\nconstructor: y\r\nContent-Length: 0\r\n\r\n');
    const response = await get(served.url());
    expect(Object.getOwnPropertyDescriptor(response.headers, '__proto__')?.value).toBe('x');
    expect(response.headers.constructor).toBe('y');
  });

  it('accepts a head within maxHeadBytes', async () => {
    const served = await rawAnswer(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(900)}\r\nContent-Length: 0\r\n\r\n`);
    const response = await get(served.url(), { maxHeadBytes: 1024 });
    expect(response.headers['x-big']).toHaveLength(900);
  });

  it('rejects a head larger than maxHeadBytes as protocol', async () => {
    const served = await rawAnswer(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(2000)}\r\nContent-Length: 0\r\n\r\n`);
    expectFailure(await failure(get(served.url(), { maxHeadBytes: 1024 })), 'protocol');
  });

  it('rejects a head that keeps growing past the default 64 KiB without waiting for its end', async () => {
    const served = await rawServer(async (socket) => {
      socket.write('HTTP/1.1 200 OK\r\n');
      for (let line = 0; line < 100 && !socket.destroyed; line += 1) {
        socket.write(`X-Filler-${line}: ${'a'.repeat(KiB)}\r\n`);
        await sleep(1);
      }
    });
    // Were the size not checked before the head's end, this would fail as 'timeout'.
    expectFailure(await failure(get(served.url(), { idleTimeoutMs: 2_000 })), 'protocol');
  });
});

describe('httpGet requests', () => {
  it('sends GET with the path and query, Host with the port, the given headers and Connection: close', async () => {
    const heads: string[] = [];
    const served = await rawServer((socket, head) => {
      heads.push(head);
      socket.end('HTTP/1.1 204 No Content\r\n\r\n');
    });
    const response = await get(served.url('/rec/a%20b.mp4?sig=x%2By&n=1#fragment'), { headers: { 'Accept-Encoding': 'identity', 'X-Request-Id': 'abc 123' } });
    expect(response.statusCode).toBe(204);
    expect(heads).toEqual([
      `GET /rec/a%20b.mp4?sig=x%2By&n=1 HTTP/1.1\r\nHost: 127.0.0.1:${served.port}\r\nAccept-Encoding: identity\r\nX-Request-Id: abc 123\r\nConnection: close\r\n\r\n`,
    ]);
  });

  it('is read as intended by a node:http server', async () => {
    const seen: http.IncomingMessage[] = [];
    const served = await serve(
      http.createServer((request, response) => {
        seen.push(request);
        response.end('ok');
      }),
    );
    const response = await get(served.url('/x?y=1'), { headers: { authorization: 'Bearer tok' } });
    expect(await drain(response.body)).toMatchObject({ bytes: 2 });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/x?y=1', httpVersion: '1.1' });
    expect(seen[0]!.headers).toEqual({ host: `127.0.0.1:${served.port}`, authorization: 'Bearer tok', connection: 'close' });
  });

  it.each([
    ['a value with CR LF', { 'X-Note': 'secret\r\nInjected: 1' }],
    ['a value with a bare LF', { 'X-Note': 'secret\nvalue' }],
    ['a name that is not a token', { 'X Note': 'secret-value' }],
    ['Host, which the client sets', { Host: 'elsewhere.example' }],
    ['Connection, which the client sets', { connection: 'keep-alive' }],
    ['Transfer-Encoding, which a GET does not send', { 'Transfer-Encoding': 'chunked' }],
  ])('refuses a request header with %s before connecting', async (_case, headers) => {
    const served = await serveBytes(Buffer.from('ok'));
    // A TypeError, the caller's mistake (not a failure of the exchange to retry), never quoting the value.
    const error = await failure(get(served.url(), { headers }));
    expect(error).toBeInstanceOf(TypeError);
    for (const value of Object.values(headers)) expect((error as Error).message).not.toContain(value);
    // (control) a valid GET then is the server's first and only connection.
    await drain((await get(served.url())).body);
    expect(served.peers).toHaveLength(1);
    expect(served.requests()).toBe(1);
  });
});

describe('httpGet options', () => {
  it.each([
    ['a scheme other than http and https', new URL('ftp://127.0.0.1/file'), {}],
    ['a negative idle timeout', undefined, { idleTimeoutMs: -1 }],
    ['a chunk size of zero', undefined, { chunkBytes: 0 }],
    ['a fractional maxHeadBytes', undefined, { maxHeadBytes: 1.5 }],
  ])('rejects %s with a TypeError before connecting', async (_case, url: URL | undefined, options: HttpGetOptions) => {
    const served = await serveBytes(Buffer.from('ok'));
    expect(await failure(get(url ?? served.url(), options))).toBeInstanceOf(TypeError);
    expect(served.peers).toHaveLength(0);
  });
});

describe('httpGet failures', () => {
  it('fails with network ECONNREFUSED when nobody listens on the port', async () => {
    const port = await closedPort();
    const error = await failure(get(new URL(`http://127.0.0.1:${port}/`)));
    expectFailure(error, 'network', 'ECONNREFUSED');
  });

  it('fails with incomplete when the server closes before any response', async () => {
    const served = await rawServer((socket) => void socket.end());
    expectFailure(await failure(get(served.url())), 'incomplete', 'HTTP_GET_INCOMPLETE');
  });

  it('fails the body with incomplete when the server closes before Content-Length bytes', async () => {
    const served = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n');
      socket.end(random.subarray(0, 400_000));
    });
    const response = await get(served.url());
    expect(response.statusCode).toBe(200);
    expectFailure(await failure(drain(response.body)), 'incomplete', 'HTTP_GET_INCOMPLETE');
  });

  it.each([
    ['in a chunk\'s data', '5\r\nhel'],
    ['in a size line', '5\r\nhello\r\n1'],
    ['between a chunk and the last chunk', '5\r\nhello\r\n'],
    ['in the trailers', '5\r\nhello\r\n0\r\nX-Trailer: 1\r\n'],
  ])('fails a chunked body with incomplete when the server closes %s', async (_case, framed) => {
    const served = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
      socket.end(framed);
    });
    const response = await get(served.url());
    expectFailure(await failure(drain(response.body)), 'incomplete');
  });

  it.each([
    ['never answers', ''],
    ['stops in the middle of its head', 'HTTP/1.1 200 OK\r\nContent-Le'],
  ])('fails with timeout when the server %s for idleTimeoutMs', async (_case, partial) => {
    const served = await rawServer((socket) => void socket.write(partial));
    const error = await failure(get(served.url(), { idleTimeoutMs: 200 }));
    expectFailure(error, 'timeout', 'HTTP_GET_TIMEOUT');
    await (await served.peer()).closed;
  });

  it('fails the body with timeout when the server stalls in the middle of it', async () => {
    const served = await rawServer((socket) => void socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello'));
    const response = await get(served.url(), { idleTimeoutMs: 200 });
    expectFailure(await failure(drain(response.body)), 'timeout', 'HTTP_GET_TIMEOUT');
  });

  it('does not time out while the consumer leaves the body unread, and then delivers it whole', async () => {
    const body = random.subarray(0, 32 * MiB);
    const served = await servePaced(body);
    const response = await get(served.url(), { idleTimeoutMs: 400, highWaterMark: 64 * KiB });
    // Three timeouts exactly: the reading resumes as the idle timer comes due, which must
    // then count from the resume (without that, most runs failed with a timeout).
    await sleep(1200);
    // The server is stuck behind the unread body: the connection was silent all along.
    expect(served.progress.finished).toBe(false);
    expect(response.body.errored).toBeNull();
    expect(await drain(response.body)).toMatchObject({ sha256: sha256(body), bytes: body.length });
  });
});

describe('httpGet abort', () => {
  it('rejects with aborted and does not connect when the signal is aborted before the call', async () => {
    const served = await serveBytes(Buffer.from('ok'));
    const controller = new AbortController();
    controller.abort();
    expectFailure(await failure(get(served.url(), { signal: controller.signal })), 'aborted', 'HTTP_GET_ABORTED');
    // (control) a GET then is the server's first and only connection.
    await drain((await get(served.url())).body);
    expect(served.peers).toHaveLength(1);
  });

  it('rejects with aborted while waiting for the head, and closes the connection', async () => {
    const served = await rawServer(() => {});
    const controller = new AbortController();
    const pending = failure(get(served.url(), { signal: controller.signal }));
    const peer = await served.peer();
    controller.abort();
    expectFailure(await pending, 'aborted');
    await peer.closed;
  });

  it('fails the body with aborted when aborted during it, and closes the connection', async () => {
    const served = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n');
      socket.write(random.subarray(0, 1000));
    });
    const controller = new AbortController();
    const response = await get(served.url(), { signal: controller.signal });
    expect((await readSome(response.body)).equals(random.subarray(0, 1000))).toBe(true);
    controller.abort();
    expectFailure(await failure(drain(response.body)), 'aborted', 'HTTP_GET_ABORTED');
    await (await served.peer()).closed;
  });
});

describe('httpGet backpressure', () => {
  const body = random.subarray(0, 64 * MiB);

  it('reads no further than the body and socket buffers hold while the consumer waits', async () => {
    const served = await servePaced(body);
    const response = await get(served.url());
    const first = await readSome(response.body);
    await sleep(300);
    // Were the client buffering the body, the server would have handed over all 64 MiB by now.
    expect(served.progress.handed).toBeLessThan(16 * MiB);
    expect(served.progress.finished).toBe(false);
    expect(await drain(response.body, first)).toMatchObject({ sha256: sha256(body), bytes: body.length });
  });

  it('closes the connection when the body is destroyed early', async () => {
    const served = await servePaced(body);
    const response = await get(served.url());
    await readSome(response.body);
    response.body.destroy();
    await (await served.peer()).closed;
    expect(served.progress.finished).toBe(false);
    expect(served.progress.handed).toBeLessThan(body.length);
  });
});
