/**
 * Port: what the uploader needs from Zoom to fetch one recording file — a download
 * token (the webhook's while it is fresh, else Server-to-Server OAuth) and a streamed
 * download that follows redirects only to Zoom's hosts. The typed errors below carry
 * everything a retry loop decides on (`retryable`, `retryAfterMs`, `code`), so no
 * caller ever matches on a message.
 *
 * Messages never contain a token, and URLs in them lose their query string (redactUrl):
 * Zoom's signed CDN URLs carry credentials there.
 */
import type { Readable } from 'node:stream';
import { ArchiverError } from '../errors';
import type { FailureCode } from '../events/details';
import { redactUrl } from '../redact-url';

/** The webhook's download token, once unsealed, with its `exp` when the webhook could read it. */
export interface WebhookDownloadAccess {
  token?: string;
  /** ISO time; when absent the token's own `exp` claim is read. */
  expiresAt?: string;
}

export interface DownloadToken {
  token: string;
  source: 'webhook' | 'oauth';
}

export interface DownloadTokenSource {
  /**
   * The webhook token while it has enough life left, else a (cached) OAuth token.
   * Passing `undefined` asks for OAuth directly: that is how a retry after a 401 on
   * the webhook token gets a different credential.
   * Rejects with OAuthError.
   */
  tokenFor(access: WebhookDownloadAccess | undefined): Promise<DownloadToken>;
  /** Forget a cached OAuth token Zoom refused (401), so the next call fetches a new one. */
  invalidateOAuth(token: string): void;
}

/** What a file is expected to be: media (MP4, M4A) or a text document (VTT, TXT, JSON, CSV); see contentKindOf. */
export type ContentKind = 'media' | 'text';

export interface DownloadOptions {
  token: string;
  signal?: AbortSignal;
  /** Zoom's file_size: a Content-Length that differs fails at once with SizeMismatchError. */
  expectedSize?: number;
  /** Default 'media': then a text, HTML or JSON answer is NotMediaError; for 'text' only HTML is. */
  expect?: ContentKind;
  /**
   * Resume: ask for the bytes from this offset on (`Range: bytes=<offset>-`, sent on
   * every hop of the redirect chain). Zoom's servers may ignore it: see
   * DownloadResponse.offset. 0 or absent: the whole file, no Range header.
   */
  offset?: number;
}

export interface DownloadResponse {
  /** The body, streamed. It fails with DownloadNetworkError when the connection breaks. */
  body: Readable;
  contentLength?: number;
  contentType?: string;
  /** Where the bytes came from after redirects, without its query string (safe to log). */
  finalUrl: string;
  redirects: number;
  /**
   * Where `body` starts in the file. With `options.offset` > 0: that offset when the
   * server answered 206 with a `Content-Range: bytes <offset>-<size-1>/<size>` that
   * matches it (and `expectedSize`, when known); 0 when it answered 200 with the whole
   * file (no ranges), and the caller must start over. Any other answer to a ranged
   * request (a 206 for other bytes, a 416) rejects with DownloadHttpError. Without an
   * offset, always 0. `contentLength` is the length of `body`, not of the file.
   */
  offset: number;
}

export interface ZoomDownloader {
  /**
   * Resolves once a media response has started; rejects with the errors below. Every
   * redirect hop is checked against the host allowlist before connecting; the token is
   * sent to the download URL's own origin only, never along a redirect to another host.
   */
  open(url: string, options: DownloadOptions): Promise<DownloadResponse>;
}

/** Common shape of every failure of a Zoom transfer: what the retry loop reads. */
export abstract class ZoomTransferError extends ArchiverError {
  abstract readonly code: FailureCode;
  /** How long Zoom asked us to wait (Retry-After), when it said so. */
  readonly retryAfterMs?: number;

  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options);
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/** Zoom answered with an HTTP status that is not a file. */
export class DownloadHttpError extends ZoomTransferError {
  readonly code: FailureCode;
  readonly retryable: boolean;

  constructor(
    readonly status: number,
    url: string | URL,
    options?: { retryAfterMs?: number; cause?: unknown; detail?: string },
  ) {
    super(`Zoom answered ${status} for ${redactUrl(url)}${options?.detail ? `: ${options.detail}` : ''}`, options);
    const classified = classifyStatus(status);
    this.code = classified.code;
    this.retryable = classified.retryable;
  }
}

/**
 * DownloadHttpError's verdict on a status. 401/403: the token was refused (retry once
 * with a fresh OAuth token); 404/410: gone for good; 408/429/5xx: Zoom is busy or
 * failing; any other 4xx will not get better.
 */
function classifyStatus(status: number): { code: FailureCode; retryable: boolean } {
  if (status === 401 || status === 403) return { code: 'unauthorized', retryable: true };
  if (status === 404 || status === 410) return { code: 'not_found', retryable: false };
  if (status === 408) return { code: 'timeout', retryable: true };
  if (status === 429 || status >= 500) return { code: 'download_failed', retryable: true };
  return { code: 'download_failed', retryable: false };
}

/** The connection failed, broke mid-body or went silent. Worth retrying. */
export class DownloadNetworkError extends ZoomTransferError {
  readonly retryable = true;
  readonly code: FailureCode;

  constructor(message: string, options?: { cause?: unknown; timeout?: boolean }) {
    super(message, options);
    this.code = options?.timeout ? 'timeout' : 'download_failed';
  }
}

/** A download URL or redirect points outside the allowlist (or uses plain http, userinfo...). Never retried. */
export class ForeignHostError extends ZoomTransferError {
  readonly retryable = false;
  readonly code = 'foreign_host' as const;

  constructor(
    /** The refused host name as parsed (no path, no query). */
    readonly host: string,
    readonly reason: string,
  ) {
    super(`refused to fetch from ${host || '(no host)'}: ${reason}`);
  }
}

/**
 * Zoom answered a page or a document instead of the file (it does so with 200, e.g.
 * "Only the host can download"). Retryable: the cause is usually the credential, and
 * the next attempt may use a fresh OAuth token; the loop bounds the attempts.
 */
export class NotMediaError extends ZoomTransferError {
  readonly retryable = true;
  readonly code = 'not_media' as const;

  constructor(
    message: string,
    readonly contentType?: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * The byte count differs from Zoom's file_size. Retryable once: Zoom's sizes are known
 * to be off now and then, so the loop fails permanently on the second mismatch.
 */
export class SizeMismatchError extends ZoomTransferError {
  readonly retryable = true;
  readonly code = 'size_mismatch' as const;

  constructor(
    readonly expectedBytes: number,
    /** Bytes seen; with `exceeded` the transfer was stopped as soon as it passed the expected size. */
    readonly actualBytes: number,
    readonly exceeded: boolean,
    readonly stage: 'header' | 'body' = 'body',
  ) {
    super(
      stage === 'header'
        ? `Content-Length ${actualBytes} differs from Zoom's file_size ${expectedBytes}`
        : exceeded
          ? `received more than Zoom's file_size ${expectedBytes} bytes`
          : `received ${actualBytes} bytes, Zoom's file_size is ${expectedBytes}`,
    );
  }
}

export type OAuthFailure = 'not_configured' | 'rejected' | 'unavailable' | 'invalid_response';

/**
 * Server-to-Server OAuth failed. Bad credentials or configuration do not heal by
 * retrying; an unreachable or failing token endpoint does.
 */
export class OAuthError extends ZoomTransferError {
  readonly retryable: boolean;
  readonly code: FailureCode;

  constructor(
    message: string,
    readonly failure: OAuthFailure,
    readonly status?: number,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options);
    this.retryable = failure === 'unavailable' || failure === 'invalid_response';
    this.code = this.retryable ? 'download_failed' : 'unauthorized';
  }
}
