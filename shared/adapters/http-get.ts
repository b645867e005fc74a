/**
 * The HTTP/1.1 GET the Zoom downloader streams recording files with: one request on a
 * fresh connection (`Connection: close`), over TLS for https, the response body as a
 * Readable of large chunks.
 *
 * Why not node:http: its client reads a socket 64 KiB at a time into a new buffer and
 * runs each piece through its parser and two streams; on a 2-core machine that costs
 * more CPU than curl spends writing the same file to disk, so a download to the folder
 * store ran at a third of curl's rate. Here the socket reads into one reused buffer
 * (`onread`) straight into the chunk of up to `chunkBytes` being filled, so the body's
 * bytes are not copied, and what one turn of the event loop read is pushed as one
 * chunk (bench/results/latest.md, transfer sections). With a `pool`, the chunks are
 * filled in reused memory (shared/adapters/chunk-pool.ts).
 *
 * What it does and does not do: GET only; a status line and headers up to
 * `maxHeadBytes` (interim 1xx answers skipped); the body framed by
 * `Transfer-Encoding: chunked` (trailers read and dropped), else `Content-Length`, else
 * the connection's end (RFC 9112 §6.3; both headers at once are refused, as are control
 * characters in a header line and single-valued headers are kept at their first value).
 * A request header that could not be sent as it is, or bad options, reject with a
 * TypeError before connecting. No keep-alive, no compression (the caller asks
 * for `identity`), no redirects (the caller follows them: it checks every hop first),
 * no proxies. A body that ends before its framing says fails with `incomplete`; a
 * connection silent for `idleTimeoutMs` fails with `timeout`, except while the body is
 * paused because its consumer is slow. Destroying the body closes the connection.
 */
import net from 'node:net';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import type { ChunkPool } from './chunk-pool';

export type HttpGetFailure = 'network' | 'timeout' | 'protocol' | 'incomplete' | 'aborted';

/** Why a GET or its body failed. `code` is the socket's (ECONNREFUSED, ECONNRESET, …) or one of ours. */
export class HttpGetError extends Error {
  readonly code: string;
  constructor(
    readonly failure: HttpGetFailure,
    message: string,
    options: { code?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpGetError';
    this.code = options.code ?? `HTTP_GET_${failure.toUpperCase()}`;
  }
}

export interface HttpGetOptions {
  /** Request headers besides Host and Connection. Names and values must not hold CR or LF. */
  headers?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
  /** A connection silent this long (connect, head or body) fails with `timeout`. Default 60 s. */
  idleTimeoutMs?: number;
  /** Largest socket read (TLS decrypts 16 KiB records: a read there is one) and largest body chunk. Default 1 MiB. */
  chunkBytes?: number;
  /** What the body buffers before the socket is paused. Default 1 MiB. */
  highWaterMark?: number;
  /**
   * Buffers to read into (shared/adapters/chunk-pool.ts): every body chunk is then a
   * view lent from the pool, for the final consumer to give back with releaseChunk.
   * Its chunkBytes is the chunk size (chunkBytes must then be absent or equal).
   */
  pool?: ChunkPool;
  /** Largest status line plus headers. Default 64 KiB. */
  maxHeadBytes?: number;
  /** What the body fails with, given why (an HttpGetError, or what its consumer threw): a caller's own error type. Default: the error itself. */
  bodyError?: (error: Error) => Error;
  /** For tests: TLS options such as `ca` (the system's trust store otherwise). */
  tls?: Pick<tls.ConnectionOptions, 'ca' | 'rejectUnauthorized'>;
}

export interface HttpGetResponse {
  statusCode: number;
  /** Lowercase names; a repeated header's values joined with ", ". */
  headers: Readonly<Record<string, string>>;
  /** The body's bytes (chunked framing removed). */
  body: Readable;
}

const CRLF_CRLF = Buffer.from('\r\n\r\n');
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: [^\r\n]*)?$/;
const MAX_CHUNK_LINE = 4096;
/** Interim (1xx) answers skipped at most before the real one. */
const MAX_INTERIM_ANSWERS = 8;
/** Control characters other than tab: never in a header line. */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
/** Headers that have one value: a repeat is dropped (node:http's list), not joined. */
const SINGLE_VALUED = new Set(['content-type', 'content-range', 'location', 'retry-after', 'etag', 'last-modified', 'age', 'expires', 'server']);
const LF_LF = Buffer.from('\n\n');
/** A chunk with less room than this left is pushed as it is; the next read starts a new one. */
const MIN_READ_BYTES = 64 * 1024;
/** What a read after the end would go to: never read into (the socket is destroyed), never anyone's bytes. */
const AFTER_THE_END = Buffer.alloc(MIN_READ_BYTES);

export function httpGet(url: URL, options: HttpGetOptions = {}): Promise<HttpGetResponse> {
  return new Promise((resolve, reject) => {
    new Exchange(url, options, resolve, reject).start();
  });
}

type Framing = { kind: 'length'; remaining: number } | { kind: 'chunked' } | { kind: 'close' } | { kind: 'none' };
type ChunkedState = 'size' | 'data' | 'data-end' | 'trailer';

class Exchange {
  private readonly chunkBytes: number;
  private readonly maxHeadBytes: number;
  private readonly idleTimeoutMs: number;
  private socket?: net.Socket;
  /** The head read so far (a copy: the read buffer is the next chunk's memory). */
  private head = Buffer.alloc(0);
  private interim = 0;
  private body?: Readable;
  private framing: Framing = { kind: 'none' };
  private done = false;
  /** The body's consumer asked us to wait: a silent connection is then not a timeout. */
  private paused = false;
  // The chunk being filled: bytes [start, end) are not pushed yet.
  private out = Buffer.alloc(0);
  private outStart = 0;
  private outEnd = 0;
  private flushScheduled = false;
  // Chunked framing.
  private chunked: ChunkedState = 'size';
  private chunkLeft = 0;
  private line = '';
  private readonly onAbort = () => this.fail(new HttpGetError('aborted', 'the GET was aborted'));

  constructor(
    private readonly url: URL,
    private readonly options: HttpGetOptions,
    private readonly resolve: (response: HttpGetResponse) => void,
    private readonly reject: (error: Error) => void,
  ) {
    this.chunkBytes = options.chunkBytes ?? options.pool?.chunkBytes ?? 1024 * 1024;
    this.maxHeadBytes = options.maxHeadBytes ?? 64 * 1024;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  }

  start(): void {
    const { url, options } = this;
    let request: string;
    try {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`httpGet: ${url.protocol} is not http: or https:`);
      for (const [name, value] of [['chunkBytes', this.chunkBytes], ['maxHeadBytes', this.maxHeadBytes], ['idleTimeoutMs', this.idleTimeoutMs]] as const) {
        if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`httpGet: ${name} must be a positive whole number, not ${value}`);
      }
      if (options.pool && this.chunkBytes !== options.pool.chunkBytes) throw new TypeError(`httpGet: chunkBytes ${this.chunkBytes} differs from the pool's ${options.pool.chunkBytes}`);
      request = requestHead(url, options.headers ?? {});
    } catch (error) {
      this.reject(error as Error);
      return;
    }
    if (options.signal?.aborted) {
      this.reject(new HttpGetError('aborted', 'the GET was aborted'));
      return;
    }
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
    const secure = url.protocol === 'https:';
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = url.port ? Number(url.port) : secure ? 443 : 80;
    // Each read goes to the end of the chunk being filled (`buffer` as a function: asked
    // again after every read), so the body's bytes are never copied; returning false
    // pauses the socket (net docs, `onread`).
    const onread: net.OnReadOpts = {
      buffer: () => this.readBuffer(),
      callback: (bytes, buffer) => this.onRead(Buffer.from(buffer.buffer, buffer.byteOffset, bytes)),
    };
    // tls.connect takes `onread` too since Node 15.1 (nodejs/node#35753); @types/node does not declare it.
    const socket = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ...options.tls, ...({ onread } as tls.ConnectionOptions) })
      : net.connect({ host, port, onread });
    this.socket = socket;
    socket.setTimeout(this.idleTimeoutMs);
    socket.on('timeout', () => {
      if (this.paused && !this.done) {
        socket.setTimeout(this.idleTimeoutMs);
        return;
      }
      this.fail(new HttpGetError('timeout', `no bytes from ${url.host} within ${this.idleTimeoutMs} ms`));
    });
    // `on`: a second error after the first must not become an uncaught exception.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.fail(new HttpGetError('network', `the connection to ${url.host} failed (${error.code ?? error.name})`, { code: error.code, cause: error }));
    });
    socket.on('end', () => this.onEnd());
    socket.on('close', () => this.onEnd());
    socket.write(request);
  }

  /** Where the next read goes: the free end of the chunk being filled, or a new chunk. */
  private readBuffer(): Buffer {
    // Node asks for the next read's buffer even after the read that ended the exchange
    // (the socket is gone, nothing more is read): a new chunk then would never go back.
    if (this.done) return AFTER_THE_END;
    if (this.out.length - this.outEnd < MIN_READ_BYTES) {
      this.flush();
      this.nextChunk();
    }
    return this.out.subarray(this.outEnd);
  }

  /** Returns false to stop reading (the body is full). */
  private onRead(bytes: Buffer): boolean {
    if (this.done) return false;
    try {
      if (!this.body) {
        const rest = this.readHead(bytes);
        if (rest === undefined || this.done) return !this.done;
        bytes = rest;
      }
      this.readBody(bytes);
    } catch (error) {
      this.fail(error as Error);
      return false;
    }
    return !this.paused && !this.done;
  }

  /** Collects the head; once whole, answers and returns the bytes after it. */
  private readHead(bytes: Buffer): Buffer | undefined {
    for (;;) {
      const all = (this.head = Buffer.concat([this.head, bytes]));
      const end = all.indexOf(CRLF_CRLF);
      if ((end < 0 ? all.length : end) > this.maxHeadBytes) throw new HttpGetError('protocol', `the response head from ${this.url.host} exceeds ${this.maxHeadBytes} bytes`);
      if (end < 0) {
        // Lines ended by LF alone: the head would never end, so say so now rather than time out.
        if (all.includes(LF_LF)) throw new HttpGetError('protocol', `the response head from ${this.url.host} ends its lines without CR`);
        return undefined;
      }
      const { statusCode, headers } = parseHead(all.toString('latin1', 0, end), this.url.host);
      const rest = all.subarray(end + CRLF_CRLF.length);
      this.head = Buffer.alloc(0);
      if (statusCode >= 100 && statusCode < 200) {
        if (statusCode === 101) throw new HttpGetError('protocol', `${this.url.host} switched protocols`);
        if (++this.interim > MAX_INTERIM_ANSWERS) throw new HttpGetError('protocol', `${this.url.host} sent more than ${MAX_INTERIM_ANSWERS} interim answers`);
        if (rest.length === 0) return undefined;
        bytes = rest;
        continue;
      }
      this.framing = framingOf(statusCode, headers, this.url.host);
      this.answer(statusCode, headers);
      return rest;
    }
  }

  private answer(statusCode: number, headers: Record<string, string>): void {
    const body = new Readable({
      highWaterMark: this.options.highWaterMark ?? 1024 * 1024,
      read: () => {
        if (!this.paused) return;
        this.paused = false;
        // The silence while paused was ours: the next idle period starts now.
        this.socket?.setTimeout(this.idleTimeoutMs);
        this.socket?.resume();
      },
      destroy: (error, callback) => {
        this.finish();
        callback(error);
      },
    });
    this.body = body;
    this.resolve({ statusCode, headers, body });
    if (this.framing.kind === 'none' || (this.framing.kind === 'length' && this.framing.remaining === 0)) this.complete();
  }

  private readBody(bytes: Buffer): void {
    const framing = this.framing;
    if (framing.kind === 'close') this.append(bytes);
    else if (framing.kind === 'length') {
      const take = Math.min(framing.remaining, bytes.length);
      this.append(bytes.subarray(0, take));
      framing.remaining -= take;
      if (framing.remaining === 0) this.complete();
    } else if (framing.kind === 'chunked') this.readChunked(bytes);
    else if (bytes.length > 0) this.complete();
  }

  private readChunked(bytes: Buffer): void {
    let at = 0;
    while (at < bytes.length && !this.done) {
      if (this.chunked === 'data') {
        const take = Math.min(this.chunkLeft, bytes.length - at);
        this.append(bytes.subarray(at, at + take));
        at += take;
        this.chunkLeft -= take;
        if (this.chunkLeft === 0) this.chunked = 'data-end';
        continue;
      }
      // A line: the chunk size, the CRLF after a chunk's data, or a trailer.
      const newline = bytes.indexOf(0x0a, at);
      const piece = bytes.toString('latin1', at, newline < 0 ? bytes.length : newline + 1);
      at = newline < 0 ? bytes.length : newline + 1;
      this.line += piece;
      if (this.line.length > MAX_CHUNK_LINE) throw new HttpGetError('protocol', `a chunk line from ${this.url.host} exceeds ${MAX_CHUNK_LINE} bytes`);
      if (newline < 0) continue;
      const line = this.line.endsWith('\r\n') ? this.line.slice(0, -2) : this.line.slice(0, -1);
      this.line = '';
      if (this.chunked === 'data-end') {
        if (line !== '') throw new HttpGetError('protocol', `a chunk from ${this.url.host} is longer than its size`);
        this.chunked = 'size';
      } else if (this.chunked === 'size') {
        const size = /^([0-9a-fA-F]{1,13})[ \t]*(?:;.*)?$/.exec(line);
        if (!size) throw new HttpGetError('protocol', `a malformed chunk size from ${this.url.host}`);
        this.chunkLeft = Number.parseInt(size[1]!, 16);
        this.chunked = this.chunkLeft === 0 ? 'trailer' : 'data';
      } else if (line === '') this.complete();
    }
  }

  /**
   * Adds body bytes to the chunk being filled — where a read put them already, or
   * copied there (the bytes after the head, chunked data) — and pushes what this turn
   * of the loop added at its end (or when the chunk is full).
   */
  private append(bytes: Buffer): void {
    let at = 0;
    if (bytes.buffer === this.out.buffer && bytes.byteOffset === this.out.byteOffset + this.outEnd) {
      this.outEnd += bytes.length;
      at = bytes.length;
    }
    // A copy may overlap its source (chunked data moving down over its framing): Buffer#copy allows that.
    while (at < bytes.length) {
      if (this.outEnd === this.out.length) {
        // What is still pending in the full chunk goes first: a new chunk must not drop it.
        this.flush();
        this.nextChunk();
      }
      const copied = bytes.copy(this.out, this.outEnd, at);
      this.outEnd += copied;
      at += copied;
      if (this.outEnd === this.out.length) this.flush();
    }
    if (this.outEnd > this.outStart && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        if (!this.done) this.flush();
      });
    }
  }

  /** Moves on to a new chunk to fill: the pool may reuse the last one once its views come back. */
  private nextChunk(): void {
    const { pool } = this.options;
    pool?.doneFilling(this.out);
    this.out = pool ? pool.take() : Buffer.allocUnsafe(this.chunkBytes);
    this.outStart = this.outEnd = 0;
  }

  private flush(): void {
    if (this.outEnd === this.outStart || !this.body || this.body.destroyed) return;
    const view = this.out.subarray(this.outStart, this.outEnd);
    const chunk = this.options.pool ? this.options.pool.lend(view) : view;
    this.outStart = this.outEnd;
    if (!this.body.push(chunk) && !this.paused) {
      this.paused = true;
      this.socket?.pause();
    }
  }

  private complete(): void {
    if (this.done) return;
    this.flush();
    this.finish();
    this.body?.push(null);
  }

  private onEnd(): void {
    if (this.done) return;
    if (this.body && this.framing.kind === 'close') {
      this.complete();
      return;
    }
    const where = this.body ? 'before the end of the body' : 'before a response';
    this.fail(new HttpGetError('incomplete', `${this.url.host} closed the connection ${where}`));
  }

  /** Ends the exchange with `error`: rejects while there is no answer yet, else fails the body. */
  private fail(error: Error): void {
    if (this.done) return;
    this.finish();
    const body = this.body;
    if (!body) {
      this.reject(error);
      return;
    }
    const failure = this.options.bodyError?.(error) ?? error;
    // After a turn of the loop: the body may have been answered in this very read, and
    // its caller (resumed after the promise) has not had a chance to listen for errors.
    setImmediate(() => body.destroy(failure));
  }

  /** The exchange is over: no more reads, the connection goes. */
  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.socket?.destroy();
    this.options.pool?.doneFilling(this.out);
  }
}

function requestHead(url: URL, headers: Readonly<Record<string, string>>): string {
  let head = `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    // The value is never quoted: it may be a credential.
    if (!TOKEN.test(name) || CONTROL.test(value)) throw new TypeError(`httpGet: request header ${JSON.stringify(name)} is not valid`);
    const lower = name.toLowerCase();
    if (lower === 'host' || lower === 'connection' || lower === 'content-length' || lower === 'transfer-encoding') {
      throw new TypeError(`httpGet: request header ${name} is set by the client itself`);
    }
    head += `${name}: ${value}\r\n`;
  }
  return `${head}Connection: close\r\n\r\n`;
}

function parseHead(text: string, host: string): { statusCode: number; headers: Record<string, string> } {
  const lines = text.split('\r\n');
  const status = STATUS_LINE.exec(lines[0] ?? '');
  if (!status) throw new HttpGetError('protocol', `${host} did not answer with an HTTP/1.1 status line`);
  // No prototype: a header named __proto__ or constructor is a header like any other.
  const headers = Object.create(null) as Record<string, string>;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    // Control characters (a bare CR or LF, NUL) are refused, not passed on to messages and logs.
    if (!TOKEN.test(name) || CONTROL.test(line)) throw new HttpGetError('protocol', `a malformed header line from ${host}`);
    const key = name.toLowerCase();
    // Only spaces and tabs around a value (RFC 9110 §5.5), not what String#trim takes.
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    const previous = headers[key];
    if (previous === undefined) headers[key] = value;
    else if (key === 'content-length') {
      if (previous !== value) throw new HttpGetError('protocol', `${host} sent two different Content-Length headers`);
    } else if (!SINGLE_VALUED.has(key)) headers[key] = `${previous}, ${value}`;
    // A single-valued header sent twice: the first counts, as in node:http.
  }
  return { statusCode: Number(status[1]), headers };
}

function framingOf(statusCode: number, headers: Record<string, string>, host: string): Framing {
  if (statusCode === 204 || statusCode === 304) return { kind: 'none' };
  const encoding = headers['transfer-encoding'];
  // Both framings at once: which one is meant cannot be known (RFC 9112 §6.3 says to treat it as an error).
  if (encoding !== undefined && headers['content-length'] !== undefined) throw new HttpGetError('protocol', `${host} sent both Transfer-Encoding and Content-Length`);
  if (encoding !== undefined) {
    // Transfer-Encoding wins over Content-Length; a response not ending in chunked runs to the close.
    const last = encoding.split(',').pop()!.trim().toLowerCase();
    return last === 'chunked' ? { kind: 'chunked' } : { kind: 'close' };
  }
  const length = headers['content-length'];
  if (length !== undefined) {
    if (!/^\d{1,15}$/.test(length)) throw new HttpGetError('protocol', `${host} sent a malformed Content-Length`);
    return { kind: 'length', remaining: Number(length) };
  }
  return { kind: 'close' };
}
