/**
 * ZoomRecordingsApi and ZoomTrashApi over Zoom's REST API (https://developers.zoom.us/docs/api/meetings/#tag/cloud-recording),
 * with Zoom's rules kept in one place:
 *
 * - Ranges are listed in windows of at most one month (monthWindows): Zoom silently
 *   caps a longer `from`..`to`, so a client that asks for a year gets one month.
 * - Each window is listed with `page_size=300`, following `next_page_token` until it
 *   is empty; every page is validated, and a page that is not what Zoom documents is a
 *   ZoomApiError('invalid_response') naming its window, never a silent skip.
 * - Account-wide listing (GET /accounts/me/recordings) needs an admin scope; when Zoom
 *   refuses it for that reason (400 with code 4711, or 401 with code 124 that a fresh
 *   token does not cure) the client lists user by user for the rest of its life:
 *   active and inactive users (deactivated hosts keep their recordings; pending users
 *   have none).
 * - Every request takes a token from a local bucket of ZOOM_API_REQUESTS_PER_SECOND
 *   first (Zoom's limits are per account, shared with the account's other apps); 429s
 *   are waited out with Retry-After when Zoom sends it and exponential backoff with
 *   full jitter when it does not (it often does not), 5xx, 408 and network failures
 *   are retried the same way, and a Retry-After beyond `maxRetryWaitMs` (Zoom's daily
 *   limit answers with the next day) fails at once with 'unavailable', naming the time.
 * - A 401 is retried once with a fresh OAuth token (the cached one may have been revoked).
 * - trashRecording: DELETE /meetings/{uuid}/recordings?action=trash (Light category;
 *   scope cloud_recording:delete:meeting_recording:admin), retried like every call; a
 *   retry of a trash that did reach Zoom answers 404, i.e. 'not_found'. The query is a
 *   constant: this client cannot send `action=delete` (permanent deletion).
 *
 * Messages name the method, the path without its query string, the window, Zoom's
 * status, code and (capped) message; never a token.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type * as z from 'zod/mini';
import { ArchiverError, ConfigError } from '../errors';
import { DAY_MS, formatUtcDay, parseUtcDay } from '../utc-day';
import {
  ZoomApiError,
  type DateRange,
  type ListOptions,
  type RecordingPage,
  type ZoomApiFailure,
  type ZoomApiStats,
  type ZoomRecordingsApi,
  type ZoomTrashApi,
} from '../ports/zoom-api';
import type { DownloadTokenSource } from '../ports/zoom-client';
import { TokenBucket } from '../rate-limit';
import { backoffDelay } from '../retry';
import { ZoomRecordingObjectSchema, type ZoomRecordingObject } from '../zoom/recording';
import { ZoomErrorBodySchema, ZoomRecordingListPageSchema, ZoomUserListPageSchema } from './zoom-api-schemas';
import { isLoopbackHost, parseRetryAfter } from './zoom-download';
import type { ReconcilerSettings } from '../../services/reconciler/config';

export interface ZoomApiClientOptions {
  /** ZOOM_API_BASE_URL, e.g. https://api.zoom.us/v2; https, or http on a loopback host (the simulator). */
  baseUrl: string;
  /** Asked with `tokenFor(undefined)`: Server-to-Server OAuth. */
  tokens: Pick<DownloadTokenSource, 'tokenFor' | 'invalidateOAuth'>;
  /** ZOOM_API_REQUESTS_PER_SECOND: the local token bucket's rate; its capacity is max(1, rate). */
  requestsPerSecond: number;
  fetch?: typeof fetch;
  /** Milliseconds since the epoch: the bucket's clock and the base of Retry-After dates. */
  now?: () => number;
  /** Waits (pacing and retries); the client races it with the AbortSignal. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** In [0, 1): the backoff's jitter. */
  random?: () => number;
  /** Retries of one request after 429, 408, 5xx or a network failure. Default 8. */
  maxRetries?: number;
  /** The longest single wait accepted; a Retry-After beyond it fails with 'unavailable'. Default 120 s. */
  maxRetryWaitMs?: number;
  /** Timeout of one request, answer body included. Default 30 s. */
  requestTimeoutMs?: number;
  /** page_size of the listings, 1..300. Default 300 (Zoom's maximum). */
  pageSize?: number;
}

export const ZOOM_MAX_PAGE_SIZE = 300;
const BACKOFF = { baseMs: 1_000, maxMs: 60_000 };
/** Zoom: "Invalid access token, does not contain scopes" — the token works, the scope is missing. */
const ZOOM_CODE_MISSING_SCOPE = 4711;
/** Zoom: "Invalid access token." */
const ZOOM_CODE_INVALID_TOKEN = 124;
/** Zoom: "This recording does not exist." */
const ZOOM_CODE_NO_RECORDING = 3301;
/** Zoom: "User does not exist." (deleted between the user list and its recordings). */
const ZOOM_CODE_NO_USER = 1001;
const MAX_ZOOM_MESSAGE_CHARS = 200;
/** The only query DELETE is ever sent with: to the trash (Zoom keeps it 30 days), never `action=delete`. */
const TRASH_QUERY: Readonly<Record<string, string>> = Object.freeze({ action: 'trash' });
/** The scope DELETE .../recordings needs (classic: recording:write:admin). */
const TRASH_SCOPE = 'cloud_recording:delete:meeting_recording:admin';

type HttpMethod = 'GET' | 'DELETE';

/**
 * The caller's input cannot be sent to Zoom (a date that is not a real YYYY-MM-DD, a
 * range that ends before it starts, an empty UUID). A mistake of the caller, not a
 * refusal of Zoom's, so it is not a ZoomApiError; retrying cannot help.
 */
export class ZoomApiInputError extends ArchiverError {
  readonly retryable = false;
}

export class ZoomApiClient implements ZoomRecordingsApi, ZoomTrashApi {
  private readonly baseUrl: string;
  private readonly tokens: Pick<DownloadTokenSource, 'tokenFor' | 'invalidateOAuth'>;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  private readonly sleepImpl: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  private readonly maxRetries: number;
  private readonly maxRetryWaitMs: number;
  private readonly requestTimeoutMs: number;
  private readonly pageSize: number;
  private readonly bucket: TokenBucket;
  private readonly counters: ZoomApiStats = { calls: 0, rateLimited: 0, retries: 0, pacedMs: 0 };
  /** Becomes 'users' for good once Zoom refuses the account-wide listing for want of a scope. */
  private listing: RecordingPage['listing'] = 'account';

  constructor(options: ZoomApiClientOptions) {
    this.baseUrl = checkBaseUrl(options.baseUrl);
    if (!Number.isFinite(options.requestsPerSecond) || options.requestsPerSecond <= 0) {
      throw new ConfigError('ZOOM_API_REQUESTS_PER_SECOND must be a positive number', { variables: ['ZOOM_API_REQUESTS_PER_SECOND'] });
    }
    this.tokens = options.tokens;
    this.fetchImpl = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
    this.sleepImpl = options.sleep ?? ((ms, signal) => delay(ms, undefined, { signal }));
    this.random = options.random ?? Math.random;
    this.maxRetries = nonNegativeInt(options.maxRetries ?? 8, 'maxRetries');
    this.maxRetryWaitMs = nonNegativeInt(options.maxRetryWaitMs ?? 120_000, 'maxRetryWaitMs');
    this.requestTimeoutMs = nonNegativeInt(options.requestTimeoutMs ?? 30_000, 'requestTimeoutMs');
    this.pageSize = nonNegativeInt(options.pageSize ?? ZOOM_MAX_PAGE_SIZE, 'pageSize');
    if (this.pageSize < 1 || this.pageSize > ZOOM_MAX_PAGE_SIZE) throw new RangeError(`pageSize must be 1..${ZOOM_MAX_PAGE_SIZE}`);
    this.bucket = new TokenBucket(options.requestsPerSecond, this.now);
  }

  stats(): ZoomApiStats {
    return { ...this.counters };
  }

  /** Which listing the client uses now: 'users' once Zoom refused the account-wide one. */
  get listingMode(): RecordingPage['listing'] {
    return this.listing;
  }

  /** Throws ZoomApiInputError at once (before any request) for a range that is not valid. */
  listRecordings(range: DateRange, options: ListOptions = {}): AsyncGenerator<RecordingPage> {
    const windows = monthWindows(range);
    return this.listWindows(windows, options.signal);
  }

  async getRecording(uuid: string, options: ListOptions = {}): Promise<ZoomRecordingObject | undefined> {
    const path = `/meetings/${meetingIdPath(uuid)}/recordings`;
    const answer = await this.send('GET', path, {}, { signal: options.signal });
    if (!answer.ok) {
      if (answer.status === 404 || answer.code === ZOOM_CODE_NO_RECORDING) return undefined;
      throw refusal(answer, 'GET', path, undefined);
    }
    return parseAnswer(ZoomRecordingObjectSchema, answer, path, `GET ${path}`, undefined);
  }

  /** Moves the meeting instance (every file) to Zoom's trash; see ZoomTrashApi. */
  async trashRecording(uuid: string, options: ListOptions = {}): Promise<'trashed' | 'not_found'> {
    const path = `/meetings/${meetingIdPath(uuid)}/recordings`;
    const answer = await this.send('DELETE', path, TRASH_QUERY, { signal: options.signal });
    if (answer.ok) return 'trashed';
    if (answer.status === 404 || answer.code === ZOOM_CODE_NO_RECORDING) return 'not_found';
    throw refusal(answer, 'DELETE', path, undefined, `: the app lacks the scope ${TRASH_SCOPE} (classic: recording:write:admin)`);
  }

  // -------------------------------------------------------------------------------
  // Listing

  private async *listWindows(windows: DateRange[], signal: AbortSignal | undefined): AsyncGenerator<RecordingPage> {
    let users: string[] | undefined;
    for (const window of windows) {
      if (this.listing === 'account') {
        const outcome = yield* this.listAccountWindow(window, signal);
        if (outcome === 'listed') continue;
      }
      users ??= await this.listUsers(window, signal);
      for (const userId of users) {
        const path = `/users/${encodeURIComponent(userId)}/recordings`;
        const pages = this.pages(ZoomRecordingListPageSchema, path, windowQuery(window), window, signal, (answer) =>
          // The user was deleted since the user list was read: nothing of theirs to list.
          answer.status === 404 && answer.code === ZOOM_CODE_NO_USER,
        );
        let pageNumber = 0;
        for await (const page of pages) {
          yield { window, listing: 'users', userId, pageNumber: ++pageNumber, recordings: page.meetings };
        }
      }
    }
  }

  private async *listAccountWindow(window: DateRange, signal: AbortSignal | undefined): AsyncGenerator<RecordingPage, 'listed' | 'refused'> {
    const path = '/accounts/me/recordings';
    let pageNumber = 0;
    const outcome = yield* mapPages(
      this.pages(ZoomRecordingListPageSchema, path, windowQuery(window), window, signal, (answer) => {
        if (!isScopeRefusal(answer)) return false;
        this.listing = 'users';
        if (pageNumber === 0) return true;
        // Pages of this window were already yielded: listing it again user by user would repeat them.
        throw new ZoomApiError(
          `Zoom stopped allowing the account-wide recording list in the middle of window ${windowText(window)} (${describeAnswer(answer)}); later listings go user by user`,
          'unauthorized',
          { status: answer.status, zoomCode: answer.code, window, path },
        );
      }),
      (page) => ({ window, listing: 'account' as const, pageNumber: ++pageNumber, recordings: page.meetings }),
    );
    return outcome;
  }

  /** Ids of the active and inactive users (pending users cannot have recordings). */
  private async listUsers(window: DateRange, signal: AbortSignal | undefined): Promise<string[]> {
    const ids = new Set<string>();
    for (const status of ['active', 'inactive']) {
      const path = '/users';
      try {
        for await (const page of this.pages(ZoomUserListPageSchema, path, { status }, window, signal)) {
          for (const user of page.users) ids.add(user.id);
        }
      } catch (error) {
        if (error instanceof ZoomApiError && error.failure === 'unauthorized') {
          throw new ZoomApiError(
            `${error.message}: Zoom refused the account-wide recording list, so the recordings are listed user by user, and that needs the scope to list users as well`,
            'unauthorized',
            error.details,
            { cause: error },
          );
        }
        throw error;
      }
    }
    return [...ids];
  }

  /**
   * The pages of one listing, `next_page_token` followed to the end. A refusal that
   * `stopOn` accepts ends it with 'refused'; any other refusal is a ZoomApiError.
   */
  private async *pages<S extends z.ZodMiniType<{ next_page_token?: string | undefined }>>(
    schema: S,
    path: string,
    query: Record<string, string>,
    window: DateRange,
    signal: AbortSignal | undefined,
    stopOn?: (answer: Refused) => boolean,
  ): AsyncGenerator<z.output<S>, 'listed' | 'refused'> {
    const cursors = new Set<string>();
    let cursor = '';
    for (let pageNumber = 1; ; pageNumber++) {
      const answer = await this.send(
        'GET',
        path,
        { ...query, page_size: String(this.pageSize), ...(cursor ? { next_page_token: cursor } : {}) },
        { window, signal },
      );
      if (!answer.ok) {
        if (stopOn?.(answer)) return 'refused';
        throw refusal(answer, 'GET', path, window);
      }
      const what = `GET ${path}${query.status ? ` (status=${query.status})` : ''} for window ${windowText(window)}, page ${pageNumber}`;
      const page = parseAnswer(schema, answer, path, what, window);
      yield page;
      cursor = page.next_page_token ?? '';
      if (!cursor) return 'listed';
      if (cursors.has(cursor)) {
        throw new ZoomApiError(`Zoom's answer to ${what} repeats an earlier next_page_token: the listing would never end`, 'invalid_response', { window, path });
      }
      cursors.add(cursor);
    }
  }

  // -------------------------------------------------------------------------------
  // HTTP

  /**
   * One API request, paced, with the retries Zoom's answers call for: 429, 408, 5xx and
   * network failures (Retry-After, else backoff), and one fresh token after a 401.
   * Resolves with the 2xx body or with Zoom's refusal; rejects with ZoomApiError
   * ('unavailable'), OAuthError from the token source, or the signal's reason.
   */
  private async send(
    method: HttpMethod,
    path: string,
    query: Readonly<Record<string, string>>,
    context: { window?: DateRange; signal?: AbortSignal },
  ): Promise<Answer> {
    const { window, signal } = context;
    const search = new URLSearchParams(query).toString();
    const url = `${this.baseUrl}${path}${search ? `?${search}` : ''}`;
    const where = `${method} ${path}${window ? ` for window ${windowText(window)}` : ''}`;
    let retries = 0;
    let freshToken = false;
    for (;;) {
      const { token } = await this.tokens.tokenFor(undefined);
      // Paced right before the request, so the spacing we keep is the spacing Zoom sees.
      await this.pace(signal);
      this.counters.calls++;
      let response: Response;
      let text: string;
      try {
        ({ response, text } = await this.fetchText(method, url, token, signal));
      } catch (cause) {
        if (signal?.aborted) throw signal.reason;
        const why = describeCause(cause, this.requestTimeoutMs);
        if (retries >= this.maxRetries) {
          throw new ZoomApiError(
            `${where} failed ${retries + 1} times (${why}); Zoom's API is unreachable`,
            'unavailable',
            { window, path },
            { cause },
          );
        }
        retries++;
        this.counters.retries++;
        await this.wait(backoffDelay(retries, { ...BACKOFF, random: this.random }), signal);
        continue;
      }

      const status = response.status;
      if (status >= 200 && status < 300) return { ok: true, status, text };
      const refused: Refused = { ok: false, status, ...zoomError(text, token) };

      if (status === 401 && refused.code !== ZOOM_CODE_MISSING_SCOPE && !freshToken) {
        // The cached OAuth token may have been revoked or replaced: one more try with a new one.
        freshToken = true;
        this.tokens.invalidateOAuth(token);
        continue;
      }
      if (status === 429 || status === 408 || status >= 500) {
        if (status === 429) this.counters.rateLimited++;
        const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.now());
        if (retryAfterMs !== undefined && retryAfterMs > this.maxRetryWaitMs) {
          throw new ZoomApiError(
            `Zoom answered ${describeAnswer(refused)} to ${where} and asked to retry after ${new Date(this.now() + retryAfterMs).toISOString()}, later than the longest wait accepted (${Math.round(this.maxRetryWaitMs / 1000)} s)`,
            'unavailable',
            { status, zoomCode: refused.code, window, path },
          );
        }
        if (retries >= this.maxRetries) {
          throw new ZoomApiError(
            `Zoom answered ${describeAnswer(refused)} to ${where} ${retries + 1} times in a row; giving up`,
            'unavailable',
            { status, zoomCode: refused.code, window, path },
          );
        }
        retries++;
        this.counters.retries++;
        await this.wait(retryAfterMs ?? backoffDelay(retries, { ...BACKOFF, random: this.random }), signal);
        continue;
      }
      return refused;
    }
  }

  private async fetchText(method: HttpMethod, url: string, token: string, signal: AbortSignal | undefined): Promise<{ response: Response; text: string }> {
    const timeout = AbortSignal.timeout(this.requestTimeoutMs);
    const response = await this.fetchImpl(url, {
      method,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      // The API does not redirect; following one could carry the token elsewhere.
      redirect: 'manual',
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    return { response, text: await response.text() };
  }

  /** Takes a token from the local bucket, waiting (and counting the wait) when it is empty. */
  private async pace(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    const waitMs = this.bucket.reserve();
    if (waitMs <= 0) return;
    this.counters.pacedMs += waitMs;
    try {
      await this.wait(waitMs, signal);
    } catch (error) {
      this.bucket.refund();
      throw error;
    }
  }

  private async wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    if (ms <= 0) return;
    if (!signal) return this.sleepImpl(ms);
    let onAbort: () => void = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([this.sleepImpl(ms, signal), aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}

export function createZoomApi(settings: ReconcilerSettings, tokens: Pick<DownloadTokenSource, 'tokenFor' | 'invalidateOAuth'>): ZoomApiClient {
  return new ZoomApiClient({ baseUrl: settings.apiBaseUrl, requestsPerSecond: settings.requestsPerSecond, tokens });
}

// ---------------------------------------------------------------------------------
// Pure helpers (exported for tests and the reconciler)

/**
 * `range` cut into windows of at most one month, consecutive, non-overlapping, both
 * ends included: each starts the day after the previous one ends and ends the day
 * before the same day of the next month (clamped to that month's length), or at
 * `range.to`. 2026-01-01..2026-03-15 gives 2026-01-01..2026-01-31, 2026-02-01..2026-02-28,
 * 2026-03-01..2026-03-15; 2026-01-15..2026-02-20 gives 2026-01-15..2026-02-14,
 * 2026-02-15..2026-02-20. Every window stays within Zoom's one-month cap (`to` at most
 * `from` plus one month), so none is cut short. Throws ZoomApiInputError for a date that
 * is not a real YYYY-MM-DD or a range that ends before it starts.
 */
export function monthWindows(range: DateRange): DateRange[] {
  const from = parseDay(range.from, 'from');
  const to = parseDay(range.to, 'to');
  if (from > to) throw new ZoomApiInputError(`the date range ends (to ${range.to}) before it starts (from ${range.from})`);
  const windows: DateRange[] = [];
  let start = from;
  while (start <= to) {
    const end = Math.min(to, oneMonthLater(start) - DAY_MS);
    windows.push({ from: formatUtcDay(start), to: formatUtcDay(end) });
    start = end + DAY_MS;
  }
  return windows;
}

/**
 * The meeting UUID as the path segment of /meetings/{id}/recordings: encoded once, or
 * twice when it starts with `/` or contains `//` (Zoom's rule: otherwise Zoom decodes
 * it into a different path and answers 404 or another meeting).
 */
export function meetingIdPath(uuid: string): string {
  if (typeof uuid !== 'string' || uuid.length === 0 || uuid.length > 200) {
    throw new ZoomApiInputError('a meeting UUID must be 1 to 200 characters');
  }
  const once = encodeURIComponent(uuid);
  return uuid.startsWith('/') || uuid.includes('//') ? encodeURIComponent(once) : once;
}

function parseDay(value: unknown, field: 'from' | 'to'): number {
  const ms = parseUtcDay(value);
  if (ms === undefined) throw new ZoomApiInputError(`${field} must be a real date as YYYY-MM-DD (UTC), got ${JSON.stringify(String(value).slice(0, 40))}`);
  return ms;
}

/** The same day of the next month, clamped to that month's last day (Jan 31 -> Feb 28/29). */
function oneMonthLater(ms: number): number {
  const date = new Date(ms);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth() + 1;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return Date.UTC(year, month, Math.min(date.getUTCDate(), lastDay));
}

function windowText(window: DateRange): string {
  return `${window.from}..${window.to}`;
}

function windowQuery(window: DateRange): Record<string, string> {
  return { from: window.from, to: window.to };
}

function checkBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('ZOOM_API_BASE_URL is not a valid URL', { variables: ['ZOOM_API_BASE_URL'] });
  }
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
  if (!secure) throw new ConfigError('ZOOM_API_BASE_URL must use https (http only on a loopback host)', { variables: ['ZOOM_API_BASE_URL'] });
  if (url.username || url.password) throw new ConfigError('ZOOM_API_BASE_URL must not contain credentials', { variables: ['ZOOM_API_BASE_URL'] });
  if (url.search || url.hash) throw new ConfigError('ZOOM_API_BASE_URL must not have a query string or fragment', { variables: ['ZOOM_API_BASE_URL'] });
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function nonNegativeInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a whole number >= 0`);
  return value;
}

// ---------------------------------------------------------------------------------
// Answers

type Answer = { ok: true; status: number; text: string } | Refused;

interface Refused {
  ok: false;
  status: number;
  /** Zoom's error code from the body, e.g. 124, 300, 3301, 4711. */
  code?: number;
  /** Zoom's message, single-line, capped, without the token. */
  message?: string;
}

/** The account-wide listing refused for want of a scope (4711), or for a token that a fresh one did not cure (124). */
function isScopeRefusal(answer: Refused): boolean {
  return answer.code === ZOOM_CODE_MISSING_SCOPE || (answer.status === 401 && answer.code === ZOOM_CODE_INVALID_TOKEN);
}

function zoomError(text: string, token: string): { code?: number; message?: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return {};
  }
  const parsed = ZoomErrorBodySchema.safeParse(body);
  if (!parsed.success) return {};
  const { code, message } = parsed.data;
  const result: { code?: number; message?: string } = {};
  if (code !== undefined && Number.isSafeInteger(code)) result.code = code;
  if (message) result.message = cleanMessage(message, token);
  return result;
}

function cleanMessage(message: string, token: string): string {
  let clean = message.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  if (token) clean = clean.split(token).join('[token]');
  return clean.length > MAX_ZOOM_MESSAGE_CHARS ? `${clean.slice(0, MAX_ZOOM_MESSAGE_CHARS)}…` : clean;
}

function describeAnswer(answer: Refused): string {
  const detail = [answer.code === undefined ? undefined : `code ${answer.code}`, answer.message ? `"${answer.message}"` : undefined].filter(Boolean).join(' ');
  return `${answer.status}${detail ? ` (${detail})` : ''}`;
}

/** `scopeHint` replaces the generic hint for a missing scope (4711), naming the scope the call needs. */
function refusal(answer: Refused, method: HttpMethod, path: string, window: DateRange | undefined, scopeHint?: string): ZoomApiError {
  const unauthorized =
    answer.status === 401 || answer.status === 403 || answer.code === ZOOM_CODE_MISSING_SCOPE || answer.code === ZOOM_CODE_INVALID_TOKEN;
  const failure: ZoomApiFailure = unauthorized ? 'unauthorized' : 'rejected';
  const hint =
    scopeHint !== undefined && answer.code === ZOOM_CODE_MISSING_SCOPE
      ? scopeHint
      : answer.status === 401
        ? ': the OAuth token was refused even freshly issued'
        : answer.code === ZOOM_CODE_MISSING_SCOPE
          ? ': the app lacks a scope'
          : '';
  return new ZoomApiError(
    `Zoom refused ${method} ${path}${window ? ` for window ${windowText(window)}` : ''} with ${describeAnswer(answer)}${hint}`,
    failure,
    { status: answer.status, zoomCode: answer.code, window, path },
  );
}

function parseAnswer<S extends z.ZodMiniType>(
  schema: S,
  answer: { status: number; text: string },
  path: string,
  what: string,
  window: DateRange | undefined,
): z.output<S> {
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch (cause) {
    throw new ZoomApiError(`Zoom's answer to ${what} is not JSON (${answer.status}, ${answer.text.length} characters)`, 'invalid_response', { status: answer.status, window, path }, { cause });
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new ZoomApiError(
      `Zoom's answer to ${what} is not what Zoom documents: ${describeIssues(parsed.error.issues)}`,
      'invalid_response',
      { status: answer.status, window, path },
      { cause: parsed.error },
    );
  }
  return parsed.data;
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const shown = issues.slice(0, 3).map((issue) => {
    const where = issue.path.map((key, index) => (typeof key === 'number' ? `[${key}]` : `${index === 0 ? '' : '.'}${String(key)}`)).join('');
    return `${where || '(body)'}: ${issue.message}`;
  });
  return `${shown.join('; ')}${issues.length > shown.length ? ` (+${issues.length - shown.length} more)` : ''}`;
}

function describeCause(cause: unknown, timeoutMs: number): string {
  // Duck-typed: the timeout is a DOMException, not always an `Error` of this realm.
  if (typeof cause === 'object' && cause !== null) {
    const { name, code, cause: inner } = cause as { name?: unknown; code?: unknown; cause?: { code?: unknown } };
    if (name === 'TimeoutError') return `timed out after ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`}`;
    const errorCode = inner?.code ?? code;
    if (typeof errorCode === 'string') return errorCode;
    if (typeof name === 'string') return name;
  }
  return 'unknown error';
}

/** Maps the pages of `source` through `map`, passing its return value on. */
async function* mapPages<T, U, R>(source: AsyncGenerator<T, R>, map: (item: T) => U): AsyncGenerator<U, R> {
  for (;;) {
    const next = await source.next();
    if (next.done) return next.value;
    yield map(next.value);
  }
}
