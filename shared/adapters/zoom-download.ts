/**
 * ZoomDownloader over HTTP/1.1 (TLS for https): streams a recording file from its download_url
 * with a Bearer token, following Zoom's 302 to its signed CDN URL. Download URLs come
 * from a webhook payload, so every hop is checked against a host allowlist BEFORE
 * connecting (no fetching arbitrary URLs, no token sent anywhere else), and a page or
 * document answered instead of the file is an error, never a body.
 *
 * A resume (`offset`) sends `Range: bytes=<offset>-` on every hop and accepts only a 206
 * for exactly the rest of the file; a server that ignores the range answers 200 with
 * the whole file, which is handed over as such (`offset: 0`).
 *
 * Each hop is one GET of ./http-get (neither node:http nor fetch: reading the socket in
 * large reads into one buffer is what lets a download keep up with the disk; see
 * there). Redirects are plain status handling, and the connection's idle timeout
 * covers a stalled body as well as a slow connect.
 */
import type { ConnectionOptions } from 'node:tls';
import { ConfigError } from '../errors';
import {
  DownloadHttpError,
  DownloadNetworkError,
  ForeignHostError,
  NotMediaError,
  SizeMismatchError,
  ZoomTransferError,
  type ContentKind,
  type DownloadOptions,
  type DownloadResponse,
  type ZoomDownloader,
} from '../ports/zoom-client';
import { redactUrl } from '../redact-url';
import { ChunkPool } from './chunk-pool';
import { httpGet, HttpGetError, type HttpGetResponse } from './http-get';

export const DEFAULT_ZOOM_DOWNLOAD_HOSTS = 'zoom.us,*.zoom.us';

// ---------------------------------------------------------------------------------
// Host allowlist

export interface HostAllowlist {
  /** Host names allowed as they are (lowercase, punycode, IPv6 in brackets). */
  readonly exact: ReadonlySet<string>;
  /** `.zoom.us` for `*.zoom.us`: any subdomain, not the domain itself. */
  readonly suffixes: readonly string[];
}

/**
 * Parses ZOOM_DOWNLOAD_HOSTS: comma-separated host names, `*.domain` for subdomains.
 * A port in an entry is ignored: which ports a URL may use is decided by checkUrl.
 */
export function parseHostAllowlist(spec: string): HostAllowlist {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const raw of spec.split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    const wildcard = entry.startsWith('*.');
    const host = normalizeHostEntry(wildcard ? entry.slice(2) : entry);
    if (!host || host.includes('*')) throw new ConfigError(`ZOOM_DOWNLOAD_HOSTS: "${entry}" is not a host name or *.domain`);
    if (wildcard) suffixes.push(`.${host}`);
    else exact.add(host);
  }
  if (exact.size === 0 && suffixes.length === 0) throw new ConfigError('ZOOM_DOWNLOAD_HOSTS lists no host');
  return { exact, suffixes };
}

/** Normalized the way WHATWG URL normalizes a hostname, so entries compare with parsed URLs. */
function normalizeHostEntry(entry: string): string | undefined {
  const bracketed = !entry.startsWith('[') && (entry.match(/:/g)?.length ?? 0) > 1 ? `[${entry}]` : entry;
  try {
    const url = new URL(`http://${bracketed}`);
    if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) return undefined;
    return url.hostname;
  } catch {
    return undefined;
  }
}

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export type UrlCheck = { ok: true; url: URL } | { ok: false; host: string; reason: string };

/**
 * Whether a download may be fetched from `url`. The host is the one WHATWG URL parses
 * (lowercased, punycode), so `https://zoom.us@evil.example/`, `https://zoom.us.evil.example/`
 * and look-alike Unicode hosts are all refused; userinfo is refused outright.
 */
export function checkUrl(url: string | URL, allowlist: HostAllowlist): UrlCheck {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return { ok: false, host: '', reason: 'not a valid URL' };
  }
  const host = parsed.hostname;
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    return { ok: false, host, reason: `scheme ${parsed.protocol} is not allowed` };
  }
  if (parsed.protocol === 'http:' && !isLoopbackHost(host)) {
    return { ok: false, host, reason: 'plain http is allowed only on loopback hosts' };
  }
  if (parsed.username || parsed.password) return { ok: false, host, reason: 'URL contains credentials' };
  // WHATWG URL empties `port` when it is the scheme's default: only loopback (the simulator, tests) may name another.
  if (parsed.port !== '' && !isLoopbackHost(host)) {
    return { ok: false, host, reason: `port ${parsed.port} is not allowed (only the scheme's default port, except on loopback)` };
  }
  const allowed = allowlist.exact.has(host) || allowlist.suffixes.some((suffix) => host.length > suffix.length && host.endsWith(suffix));
  if (!allowed) return { ok: false, host, reason: 'host is not on the download allowlist (ZOOM_DOWNLOAD_HOSTS)' };
  return { ok: true, url: parsed };
}

export function isAllowedUrl(url: string | URL, allowlist: HostAllowlist): boolean {
  return checkUrl(url, allowlist).ok;
}

// ---------------------------------------------------------------------------------
// Retry-After

/** Retry-After as milliseconds from `nowMs`: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP date names its day or month; anything else (e.g. "-5") is not one.
  const date = /[a-z]/i.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  if (!Number.isFinite(date)) return undefined;
  return Math.max(0, date - nowMs);
}

// ---------------------------------------------------------------------------------
// Downloader

export interface ZoomHttpDownloaderOptions {
  /** Parsed allowlist, or the ZOOM_DOWNLOAD_HOSTS string. Default zoom.us,*.zoom.us. */
  allowlist?: HostAllowlist | string;
  /** Redirect hops followed at most. Default 5. */
  maxRedirects?: number;
  /** A connection silent this long (connect, headers or body) fails with a timeout. Default 60 s. */
  idleTimeoutMs?: number;
  /** Buffer of the returned body stream. Default 1 MiB. */
  highWaterMark?: number;
  userAgent?: string;
  now?: () => number;
  /** Trust for https hops (tests: a self-signed CA). Default: the system's trust store. */
  tls?: Pick<ConnectionOptions, 'ca'>;
  /**
   * Reused memory for the bodies (shared/adapters/chunk-pool.ts): each body chunk is a
   * view lent from it, which the final consumer may give back with releaseChunk (the
   * folder store does, once written). Default: a pool of 1 MiB chunks keeping up to 16
   * for reuse. null: every chunk in new memory.
   */
  chunkPool?: ChunkPool | null;
}

/** Enough for four transfers at once, each holding a chunk being filled, one buffered and a write in flight. */
const DEFAULT_POOL_CHUNKS = 16;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const SNIFF_LIMIT = 4096;
const SNIFF_TIMEOUT_MS = 5_000;

/**
 * A 206 that is not the rest of the file asked for (other bytes, another file size, a
 * malformed or missing Content-Range, a Content-Length that contradicts it). Unlike
 * other statuses it is retryable: a later attempt may start over without a range.
 */
export class UnexpectedRangeError extends DownloadHttpError {
  override readonly retryable: boolean = true;
}

export class ZoomHttpDownloader implements ZoomDownloader {
  private readonly allowlist: HostAllowlist;
  private readonly maxRedirects: number;
  private readonly idleTimeoutMs: number;
  private readonly highWaterMark: number;
  private readonly userAgent: string;
  private readonly now: () => number;
  private readonly tls: Pick<ConnectionOptions, 'ca'> | undefined;
  private readonly pool: ChunkPool | undefined;

  constructor(options: ZoomHttpDownloaderOptions = {}) {
    const allowlist = options.allowlist ?? DEFAULT_ZOOM_DOWNLOAD_HOSTS;
    this.allowlist = typeof allowlist === 'string' ? parseHostAllowlist(allowlist) : allowlist;
    this.maxRedirects = options.maxRedirects ?? 5;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.highWaterMark = options.highWaterMark ?? 1024 * 1024;
    this.userAgent = options.userAgent ?? 'zoom-archiver';
    this.now = options.now ?? Date.now;
    this.tls = options.tls;
    this.pool = options.chunkPool === null ? undefined : (options.chunkPool ?? new ChunkPool(1024 * 1024, DEFAULT_POOL_CHUNKS));
  }

  async open(url: string, options: DownloadOptions): Promise<DownloadResponse> {
    const offset = options.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`download offset must be a non-negative integer, got ${String(offset)}`);
    let current: string | URL = url;
    let origin: string | undefined;
    for (let redirects = 0; ; redirects++) {
      const check = checkUrl(current, this.allowlist);
      if (!check.ok) throw new ForeignHostError(check.host, check.reason);
      const target = check.url;
      origin ??= target.origin;
      // The token goes to the download URL's origin only. The signed CDN URL Zoom redirects
      // to needs none (curl, fetch and requests drop it there too), and a signed URL may
      // refuse a second credential.
      const response = await this.request(target, options, offset, target.origin === origin);
      const status = response.statusCode;

      if (REDIRECT_STATUSES.has(status)) {
        const location = response.headers.location;
        response.body.destroy();
        if (!location) throw new DownloadHttpError(status, target, { detail: 'redirect without a Location header' });
        if (redirects >= this.maxRedirects) throw new DownloadHttpError(status, target, { detail: `more than ${this.maxRedirects} redirects` });
        try {
          current = new URL(location, target);
        } catch {
          throw new ForeignHostError('', 'redirect Location is not a valid URL');
        }
        continue;
      }

      // A 206 is only ever an answer to our Range; without one it stays an unexpected status.
      const ranged = offset > 0 && status === 206;
      if (offset > 0 && status === 416) {
        response.body.destroy();
        throw new DownloadHttpError(416, target, { detail: `the server cannot serve bytes from offset ${offset} (Range Not Satisfiable); start over without a range` });
      }
      if (status !== 200 && !ranged) {
        const retryAfterMs = parseRetryAfter(response.headers['retry-after'], this.now());
        response.body.destroy();
        throw new DownloadHttpError(status, target, { retryAfterMs });
      }

      const contentType = response.headers['content-type'];
      if (contentType && refusedContentType(contentType, options.expect ?? 'media')) {
        const head = await readHead(response);
        throw new NotMediaError(`${describeDocument(contentType, head)} (${status}, ${mediaType(contentType)}) instead of the file from ${redactUrl(target)}`, contentType, status);
      }

      let contentLength = parseContentLength(response.headers['content-length']);
      if (ranged) {
        // The range checks stand in for the size check: the file size in Content-Range must
        // be Zoom's file_size, and Content-Length the remaining length (size - offset).
        const problem = checkContentRange(response.headers['content-range'], offset, options.expectedSize, contentLength);
        if (typeof problem === 'string') {
          response.body.destroy();
          throw new UnexpectedRangeError(206, target, { detail: `${problem}; a later attempt may start over` });
        }
        contentLength = problem.length;
      } else if (options.expectedSize !== undefined && contentLength !== undefined && contentLength !== options.expectedSize) {
        // A 200, also to a ranged request: the whole file, checked against the whole size.
        response.body.destroy();
        throw new SizeMismatchError(options.expectedSize, contentLength, contentLength > options.expectedSize, 'header');
      }

      return {
        body: response.body,
        contentLength,
        contentType,
        finalUrl: redactUrl(target),
        redirects,
        // A 200 to a ranged request: the server ignored the range and sent the whole file.
        offset: ranged ? offset : 0,
      };
    }
  }

  private async request(url: URL, options: DownloadOptions, offset: number, withToken: boolean): Promise<HttpGetResponse> {
    try {
      return await httpGet(url, {
        signal: options.signal,
        idleTimeoutMs: this.idleTimeoutMs,
        highWaterMark: this.highWaterMark,
        ...(this.pool ? { pool: this.pool } : {}),
        headers: {
          // Only ever reached for allowlisted hosts: checkUrl ran before this request.
          ...(withToken ? { authorization: `Bearer ${options.token}` } : {}),
          // On every hop: the CDN at the end of the redirect chain is what serves the bytes.
          ...(offset > 0 ? { range: `bytes=${offset}-` } : {}),
          accept: '*/*',
          'accept-encoding': 'identity',
          'user-agent': this.userAgent,
        },
        // The body's failures typed: a broken or silent connection becomes DownloadNetworkError.
        bodyError: (error) => this.failure(error, url, options.signal, 'body'),
        ...(this.tls ? { tls: this.tls } : {}),
      });
    } catch (error) {
      // A request that cannot be sent as it is (a token with a line break) is a TypeError: not a network failure to retry.
      if (!(error instanceof HttpGetError) && !options.signal?.aborted) throw error;
      throw this.failure(error as Error, url, options.signal, 'answer');
    }
  }

  /** What a failed GET is to the uploader: the caller's abort as such, a timeout or another network failure. */
  private failure(error: Error, url: URL, signal: AbortSignal | undefined, waiting: 'answer' | 'body'): Error {
    if (signal?.aborted) return abortReason(signal);
    if (error instanceof HttpGetError && error.failure === 'timeout') {
      const what = waiting === 'answer' ? `no answer from ${url.host} within` : `download from ${url.host} stalled for`;
      return new DownloadNetworkError(`${what} ${this.idleTimeoutMs} ms`, { timeout: true });
    }
    const what = waiting === 'answer' ? `could not fetch from ${url.host}` : `download from ${url.host} broke off`;
    return new DownloadNetworkError(`${what} (${errorCode(error)})`, { cause: error });
  }
}

/** The caller's abort, passed through as such: it is not a transfer failure to retry. */
function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  // Duck-typed: DOMException is not an Error of every realm (Jest's, for one).
  if (reason && typeof reason === 'object' && typeof (reason as Error).name === 'string') return reason as Error;
  const error = new Error('the download was aborted');
  error.name = 'AbortError';
  return error;
}

function parseContentLength(value: string | undefined): number | undefined {
  return value && /^\d+$/.test(value) ? Number(value) : undefined;
}

/**
 * Whether a 206 carries exactly the bytes from `offset` to the end of the file:
 * `Content-Range: bytes <offset>-<size-1>/<size>`, `size` being `expectedSize` when known,
 * and Content-Length (when sent) `size - offset`. The body's length, or what is wrong.
 */
function checkContentRange(header: string | undefined, offset: number, expectedSize: number | undefined, contentLength: number | undefined): { length: number } | string {
  if (header === undefined) return 'a 206 without Content-Range';
  const match = /^bytes (\d+)-(\d+)\/(\d+)$/i.exec(header.trim());
  const [first, last, size] = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [];
  // The header is the server's text: quoted only when it is plainly a byte range, never raw.
  const quoted = /^[\w */-]{1,80}$/.test(header) ? `Content-Range "${header}"` : 'Content-Range';
  if (first === undefined || last === undefined || size === undefined || ![first, last, size].every(Number.isSafeInteger) || first > last || last >= size) {
    return `malformed ${quoted}`;
  }
  if (first !== offset || last !== size - 1) return `${quoted} is not bytes ${offset}-${size - 1}/${size} asked for (Range: bytes=${offset}-)`;
  if (expectedSize !== undefined && size !== expectedSize) return `${quoted} gives a file size other than Zoom's file_size ${expectedSize}`;
  if (contentLength !== undefined && contentLength !== size - offset) return `Content-Length ${contentLength} contradicts ${quoted} (${size - offset} bytes)`;
  return { length: size - offset };
}

function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

/** Types that are never a recording file; for text files (VTT, TXT, JSON) only pages are refused. */
function refusedContentType(contentType: string, expect: ContentKind): boolean {
  const type = mediaType(contentType);
  const page = type === 'text/html' || type === 'application/xhtml+xml';
  if (expect === 'text') return page;
  return page || type.startsWith('text/') || type === 'application/json' || type.endsWith('+json') || type === 'application/xml' || type.endsWith('+xml') || type === 'application/javascript';
}

/** Reads at most a few KB so the reason can say what Zoom sent; the content itself is never quoted. */
async function readHead(response: HttpGetResponse): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  const timer = setTimeout(() => response.body.destroy(), SNIFF_TIMEOUT_MS);
  try {
    for await (const chunk of response.body) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= SNIFF_LIMIT) break;
    }
  } catch {
    // Whatever was read is enough; the answer is refused anyway.
  } finally {
    clearTimeout(timer);
    response.body.destroy();
  }
  return Buffer.concat(chunks).subarray(0, SNIFF_LIMIT);
}

function describeDocument(contentType: string, head: Buffer): string {
  const type = mediaType(contentType);
  const text = head.toString('utf8').trimStart().toLowerCase();
  if (type.includes('html') || text.startsWith('<!doctype html') || text.startsWith('<html')) return 'Zoom answered an HTML page';
  if (type.includes('json')) {
    try {
      const code = (JSON.parse(head.toString('utf8')) as { code?: unknown }).code;
      if (typeof code === 'number') return `Zoom answered a JSON document with error code ${code}`;
    } catch {
      // Truncated or not JSON after all.
    }
    return 'Zoom answered a JSON document';
  }
  return 'Zoom answered a text document';
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  // Never the message: some embed the URL, query string included.
  return error instanceof Error ? error.name : 'unknown error';
}
