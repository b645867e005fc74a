/**
 * The REST API part of the Zoom simulator (https://developers.zoom.us/docs/api/),
 * with the rules a client of it must survive:
 *
 * - GET /v2/accounts/{me|accountId}/recordings and GET /v2/users/{userId|email|me}/recordings:
 *   recordings whose meeting started (UTC date of `start_time`) within `from`..`to`, both
 *   included, newest first. A range longer than one month is not refused: `to` is
 *   silently capped to `from` + 1 calendar month, and the capped `to` is answered.
 *   `page_size` defaults to 30, larger than 300 is capped to 300 (setMaxPageSize lowers
 *   that cap, to make small data sets span several pages).
 * - GET /v2/users?status=active|inactive|pending: the account's users. Every
 *   recording's host is an active user unless added otherwise (addUser).
 * - GET /v2/meetings/{uuid|meetingId}/recordings: one instance; a UUID that starts
 *   with `/` or contains `//` must be double-encoded, as Zoom misroutes it otherwise.
 * - DELETE /v2/meetings/{uuid|meetingId}/recordings?action=trash|delete (default trash,
 *   as Zoom's): every file of the instance to the trash (or, with `delete`, gone for
 *   good), 204 without a body; the same double-encoding rule; unknown or already
 *   trashed: 404 code 3301; another action: 400 code 300. A trashed recording leaves
 *   every listing and GET (404 code 3301); its download URLs keep working (the
 *   simulator's CDN side does not know about the trash). Every DELETE is recorded
 *   (trashCalls), with what was trashed (trashedRecordings) and what was deleted for
 *   good (permanentlyDeleted: a product must never cause one). It can be refused for
 *   a missing scope (400 code 4711, refuseTrash), as Zoom does for tokens without
 *   cloud_recording:delete:meeting_recording:admin.
 * - `next_page_token`s are opaque (HMAC-signed), bound to their query (route, user,
 *   from, to, status) and expire (15 minutes by default): a forged, foreign or expired
 *   one answers 400 code 300.
 * - The account listing can be refused for a missing scope (400 code 4711) or the
 *   token (401 code 124), as Zoom does for tokens without
 *   cloud_recording:read:list_account_recordings:admin.
 * - Per-second rate limits per category, per account (Light: a meeting's recordings,
 *   GET and DELETE; Medium: listings), answering 429 with X-RateLimit-* headers and Retry-After (which
 *   can be switched off: users report Zoom's QPS 429s without it), and scripted failures.
 *
 * Every route needs a Bearer token from the simulator's OAuth endpoint (else 401 code 124).
 * Listing is linear in the recordings (a sorted copy is cached until the next addition).
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeMeetingId, decodeSegment, safeEqual, sendJson } from './http';
import type { ResolvedRecording, ZoomRecordingObjectPayload } from './payload';
import { CATEGORY_HEADER, RateLimiter, type RateLimitCategory } from './rate-limit';
import type { AuthOutcome, RequestLogEntry } from './simulator';

export type { RateLimitCategory } from './rate-limit';

export type ApiRoute = 'account_recordings' | 'user_recordings' | 'users' | 'meeting_recordings' | 'meeting_recordings_delete';

export interface ApiStats {
  /** Every request to /v2, whatever its answer. */
  calls: number;
  /** Requests per recognised route, whatever their answer. */
  byRoute: Record<ApiRoute, number>;
  /** 429s answered by the rate limiter (setRateLimit). */
  rateLimited: number;
  /** Failures answered because of failApi. */
  failedInjected: number;
}

export type ZoomUserStatus = 'active' | 'inactive' | 'pending';

export interface SimulatedUserSpec {
  /** Default: a random Zoom-shaped id (22 characters). */
  id?: string;
  /** Default: user-N@example.com. */
  email?: string;
  /** Default `active`. */
  status?: ZoomUserStatus;
  firstName?: string;
  lastName?: string;
}

/** A user as GET /v2/users lists it. */
export interface ZoomUserPayload {
  id: string;
  first_name: string;
  last_name: string;
  display_name: string;
  email: string;
  type: number;
  pmi: number;
  timezone: string;
  verified: number;
  dept: string;
  created_at: string;
  user_created_at: string;
  last_login_time?: string;
  language: string;
  role_id: string;
  status: ZoomUserStatus;
}

/** 4711: the token lacks the scope (HTTP 400); 124: "Invalid access token" (HTTP 401); undefined: allowed. */
export type AccountListingRefusal = 4711 | 124 | undefined;

/** 4711: DELETE .../recordings answers 400, the token lacking cloud_recording:delete:meeting_recording:admin; undefined: allowed. */
export type TrashRefusal = 4711 | undefined;

/** One DELETE request under /v2, as received, whatever its answer. */
export interface TrashCall {
  /**
   * The meeting UUID (or id) as decoded by Zoom's rule; the raw path segment when it
   * cannot be decoded (a UUID that needs double encoding, encoded once). For a DELETE
   * outside /meetings/{uuid}/recordings: the raw path below /v2.
   */
  uuid: string;
  /** The `action` query parameter; `trash` when absent or empty (Zoom's default). */
  action: string;
  /** The HTTP status answered. */
  status: number;
}

export interface ApiFailureOptions {
  /** Default 429. */
  status?: number;
  /** A Retry-After header in seconds; omitted: no header. */
  retryAfterSeconds?: number;
}

/** What the API needs from the simulator around it. */
export interface ApiBackend {
  readonly accountId: string;
  /** The outcome of the request's Bearer token against the simulator's OAuth tokens. */
  authorize(request: IncomingMessage): AuthOutcome;
  recordingObject(recording: ResolvedRecording): ZoomRecordingObjectPayload;
  issueDownloadToken(uuid: string, ttlSeconds: number): Promise<string>;
}

export interface ApiOptions {
  /** Lifetime of a next_page_token. Default 15 minutes, as Zoom's. */
  pageTokenTtlMs?: number;
}

const DEFAULT_PAGE_TOKEN_TTL_MS = 15 * 60_000;
const DEFAULT_PAGE_SIZE = 30;
const MAX_PAGE_SIZE = 300;
const DAY_MS = 86_400_000;

const INVALID_TOKEN = { code: 124, message: 'Invalid access token.' };
const NO_RECORDING = { code: 3301, message: 'This recording does not exist.' };
const INVALID_PAGE_TOKEN = { code: 300, message: 'The next page token is invalid or expired.' };
const MISSING_ACCOUNT_SCOPE = {
  code: 4711,
  message: 'Invalid access token, does not contain scopes:[cloud_recording:read:list_account_recordings:admin].',
};
const MISSING_TRASH_SCOPE = {
  code: 4711,
  message: 'Invalid access token, does not contain scopes:[cloud_recording:delete:meeting_recording:admin].',
};
const RATE_LIMITED_MESSAGE = 'You have reached the maximum per-second rate limit for this API. Try again later.';

const CATEGORY: Record<ApiRoute, RateLimitCategory> = {
  account_recordings: 'medium',
  user_recordings: 'medium',
  users: 'medium',
  meeting_recordings: 'light',
  meeting_recordings_delete: 'light',
};

const BASE_SCOPES = [
  'cloud_recording:read:list_recording_files:admin',
  'cloud_recording:read:recording:admin',
  'cloud_recording:read:list_user_recordings:admin',
  'user:read:list_users:admin',
];
const ACCOUNT_SCOPE = 'cloud_recording:read:list_account_recordings:admin';
const TRASH_SCOPE = 'cloud_recording:delete:meeting_recording:admin';

/** A recording with what listing sorts and filters it by. */
interface Listed {
  recording: ResolvedRecording;
  startMs: number;
  /** UTC date of start_time, yyyy-mm-dd. */
  day: string;
}

/** Where a recordings page resumes: after this (start, uuid) in the newest-first order. */
type RecordingCursor = [number, string];

interface Route {
  name: ApiRoute;
  /** The raw (still encoded) path segment of the account, user or meeting. */
  segment?: string;
}

export class ZoomRestApi {
  private readonly recordings = new Map<string, Listed>();
  /** Newest first; rebuilt on the first listing after an addition. */
  private sorted: Listed[] | undefined;
  /** Insertion order is the listing order. */
  private readonly users = new Map<string, ZoomUserPayload>();
  private userCounter = 0;
  private readonly pageTokens: PageTokens;
  private readonly limiter = new RateLimiter();
  private retryAfter = true;
  private maxPageSize = MAX_PAGE_SIZE;
  private accountRefusal: AccountListingRefusal;
  private trashRefusal: TrashRefusal;
  private readonly deletes: TrashCall[] = [];
  /** UUIDs in the trash, in the order they went there. */
  private readonly trash = new Set<string>();
  /** UUIDs deleted with action=delete, in order (a UUID added again and deleted again shows twice). */
  private readonly deletedForGood: string[] = [];
  private failures: { remaining: number; status: number; retryAfterSeconds?: number } = { remaining: 0, status: 429 };
  private readonly counters: ApiStats = {
    calls: 0,
    byRoute: { account_recordings: 0, user_recordings: 0, users: 0, meeting_recordings: 0, meeting_recordings_delete: 0 },
    rateLimited: 0,
    failedInjected: 0,
  };

  constructor(
    private readonly backend: ApiBackend,
    options: ApiOptions = {},
  ) {
    this.pageTokens = new PageTokens(options.pageTokenTtlMs ?? DEFAULT_PAGE_TOKEN_TTL_MS);
  }

  // -------------------------------------------------------------------------------
  // Test-facing (through the simulator)

  /** A recording was added (or replaced): list it, and count its host as a user. */
  recordingAdded(recording: ResolvedRecording): void {
    const startMs = Date.parse(recording.object.start_time);
    if (!Number.isFinite(startMs)) throw new Error(`simulated recording ${recording.uuid} has an invalid start_time ${recording.object.start_time}`);
    this.recordings.set(recording.uuid, { recording, startMs, day: utcDate(startMs) });
    this.trash.delete(recording.uuid);
    this.sorted = undefined;
    const { host_id: id, host_email: email } = recording.object;
    if (!this.users.has(id)) this.users.set(id, this.newUser({ id, email, status: 'active' }));
  }

  addUser(spec: SimulatedUserSpec = {}): ZoomUserPayload {
    const existing = spec.id === undefined ? undefined : this.users.get(spec.id);
    const user = existing
      ? {
          ...existing,
          ...(spec.email === undefined ? {} : { email: spec.email }),
          ...(spec.firstName === undefined ? {} : { first_name: spec.firstName }),
          ...(spec.lastName === undefined ? {} : { last_name: spec.lastName }),
          status: spec.status ?? existing.status,
        }
      : this.newUser(spec);
    user.display_name = `${user.first_name} ${user.last_name}`.trim();
    if (user.status === 'pending') delete user.last_login_time;
    this.users.set(user.id, user);
    return { ...user };
  }

  refuseAccountListing(code: AccountListingRefusal): void {
    this.accountRefusal = code;
  }

  refuseTrash(code: TrashRefusal): void {
    this.trashRefusal = code;
  }

  trashCalls(): TrashCall[] {
    return this.deletes.map((call) => ({ ...call }));
  }

  trashedRecordings(): string[] {
    return [...this.trash];
  }

  permanentlyDeleted(): string[] {
    return [...this.deletedForGood];
  }

  setRateLimit(category: RateLimitCategory, perSecond: number | undefined): void {
    this.limiter.set(category, perSecond);
  }

  setMaxPageSize(max: number | undefined): void {
    if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw new Error(`max page size must be a positive integer, got ${max}`);
    this.maxPageSize = max ?? MAX_PAGE_SIZE;
  }

  setRetryAfter(enabled: boolean): void {
    this.retryAfter = enabled;
  }

  failApi(times: number, options: ApiFailureOptions = {}): void {
    this.failures = { remaining: times, status: options.status ?? 429, retryAfterSeconds: options.retryAfterSeconds };
  }

  stats(): ApiStats {
    return { ...this.counters, byRoute: { ...this.counters.byRoute } };
  }

  /** The scopes an OAuth token is issued with (the account-listing or trash scope is missing while refused with 4711). */
  scopes(): string {
    return [...BASE_SCOPES, ...(this.accountRefusal === 4711 ? [] : [ACCOUNT_SCOPE]), ...(this.trashRefusal === 4711 ? [] : [TRASH_SCOPE])].join(' ');
  }

  // -------------------------------------------------------------------------------
  // HTTP

  /** A GET or DELETE under /v2; `segments` are the raw path segments after `v2`. */
  async handle(request: IncomingMessage, response: ServerResponse, url: URL, segments: string[], log: RequestLogEntry): Promise<void> {
    const route = matchRoute(request.method === 'DELETE' ? 'DELETE' : 'GET', segments);
    if (request.method !== 'DELETE') return this.answer(request, response, url, route, log);
    // Recorded on arrival, its status set as soon as it is answered (before the client can read it).
    const call: TrashCall = {
      uuid: route ? (decodeMeetingId(route.segment!) ?? route.segment!) : segments.join('/'),
      action: actionOf(url),
      status: 0,
    };
    this.deletes.push(call);
    try {
      await this.answer(request, response, url, route, log);
    } finally {
      call.status = response.statusCode;
    }
  }

  private async answer(request: IncomingMessage, response: ServerResponse, url: URL, route: Route | undefined, log: RequestLogEntry): Promise<void> {
    request.resume();
    this.counters.calls++;
    if (route) this.counters.byRoute[route.name]++;

    log.auth = this.backend.authorize(request);
    if (log.auth !== 'oauth') {
      sendJson(response, 401, INVALID_TOKEN);
      return;
    }
    if (this.failures.remaining > 0) {
      this.failures.remaining--;
      this.counters.failedInjected++;
      this.sendInjectedFailure(response, route);
      return;
    }
    if (!route) {
      sendJson(response, 404, { code: 404, message: 'Not found.' });
      return;
    }
    if (route.name === 'account_recordings' && this.accountRefusal !== undefined) {
      if (this.accountRefusal === 4711) sendJson(response, 400, MISSING_ACCOUNT_SCOPE);
      else sendJson(response, 401, INVALID_TOKEN);
      return;
    }
    if (route.name === 'meeting_recordings_delete' && this.trashRefusal === 4711) {
      sendJson(response, 400, MISSING_TRASH_SCOPE);
      return;
    }
    const category = CATEGORY[route.name];
    const waitMs = this.limiter.take(category);
    if (waitMs > 0) {
      this.counters.rateLimited++;
      const headers = this.rateLimitHeaders(category);
      if (this.retryAfter) headers['retry-after'] = String(Math.max(1, Math.ceil(waitMs / 1000)));
      sendJson(response, 429, { code: 429, message: RATE_LIMITED_MESSAGE }, headers);
      return;
    }

    switch (route.name) {
      case 'account_recordings':
        return this.accountRecordings(response, url, decodeSegment(route.segment!));
      case 'user_recordings':
        return this.userRecordings(response, url, decodeSegment(route.segment!));
      case 'users':
        return this.listUsers(response, url);
      case 'meeting_recordings':
        return this.meetingRecordings(response, url, route.segment!);
      case 'meeting_recordings_delete':
        return this.deleteMeetingRecordings(response, url, route.segment!);
    }
  }

  private sendInjectedFailure(response: ServerResponse, route: Route | undefined): void {
    const { status, retryAfterSeconds } = this.failures;
    const headers: Record<string, string> = status === 429 && route ? this.rateLimitHeaders(CATEGORY[route.name]) : {};
    if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
    const message = status === 429 ? RATE_LIMITED_MESSAGE : status >= 500 ? 'Internal server error.' : 'Simulated failure.';
    sendJson(response, status, { code: status, message }, headers);
  }

  private rateLimitHeaders(category: RateLimitCategory): Record<string, string> {
    const limit = this.limiter.limit(category);
    return {
      'x-ratelimit-category': CATEGORY_HEADER[category],
      'x-ratelimit-type': 'QPS',
      ...(limit === undefined ? {} : { 'x-ratelimit-limit': String(limit) }),
    };
  }

  private accountRecordings(response: ServerResponse, url: URL, accountId: string): void {
    if (accountId !== 'me' && accountId !== this.backend.accountId) {
      sendJson(response, 404, { code: 2001, message: `Account does not exist: ${accountId}.` });
      return;
    }
    const page = this.recordingsPage(response, url, 'account', () => true);
    if (!page) return;
    const { pageCount: _pageCount, ...body } = page;
    sendJson(response, 200, body);
  }

  private userRecordings(response: ServerResponse, url: URL, userId: string): void {
    let match: (listed: Listed) => boolean;
    let key: string;
    if (userId === 'me') {
      // The simulator's `me` is the whole account (its owner sees everything).
      match = () => true;
      key = 'me';
    } else {
      const user = this.users.get(userId) ?? this.userByEmail(userId);
      if (!user) {
        sendJson(response, 404, { code: 1001, message: `User does not exist: ${userId}.` });
        return;
      }
      match = (listed) => listed.recording.object.host_id === user.id;
      key = `user:${user.id}`;
    }
    const page = this.recordingsPage(response, url, key, match);
    if (!page) return;
    const { from, to, pageCount, ...rest } = page;
    sendJson(response, 200, { from, to, page_count: pageCount, ...rest });
  }

  /** One page of a recordings listing, or undefined once an error was answered. */
  private recordingsPage(
    response: ServerResponse,
    url: URL,
    scope: string,
    match: (listed: Listed) => boolean,
  ): { from: string; to: string; pageCount: number; page_size: number; total_records: number; next_page_token: string; meetings: ZoomRecordingObjectPayload[] } | undefined {
    const range = dateRange(url);
    if (!range) {
      sendJson(response, 400, { code: 300, message: 'Invalid date format, use yyyy-mm-dd.' });
      return undefined;
    }
    const { from, to } = range;
    const pageSize = this.pageSizeOf(url);
    const query = `recordings\n${scope}\n${from}\n${to}`;
    const token = url.searchParams.get('next_page_token') ?? '';
    let cursor: RecordingCursor | undefined;
    if (token !== '') {
      const opened = this.pageTokens.open(query, token);
      if (!isRecordingCursor(opened)) {
        sendJson(response, 400, INVALID_PAGE_TOKEN);
        return undefined;
      }
      cursor = opened;
    }
    const matching = this.newestFirst().filter((listed) => listed.day >= from && listed.day <= to && match(listed));
    let start = 0;
    if (cursor) {
      const after = cursor;
      start = matching.findIndex((listed) => compareListed(listed.startMs, listed.recording.uuid, after[0], after[1]) > 0);
      if (start < 0) start = matching.length;
    }
    const page = matching.slice(start, start + pageSize);
    const last = page[page.length - 1];
    const next = last && start + pageSize < matching.length ? this.pageTokens.issue(query, [last.startMs, last.recording.uuid]) : '';
    return {
      from,
      to,
      pageCount: Math.ceil(matching.length / pageSize),
      page_size: pageSize,
      total_records: matching.length,
      next_page_token: next,
      meetings: page.map((listed) => this.backend.recordingObject(listed.recording)),
    };
  }

  private listUsers(response: ServerResponse, url: URL): void {
    const status = url.searchParams.get('status') || 'active';
    if (status !== 'active' && status !== 'inactive' && status !== 'pending') {
      sendJson(response, 400, { code: 300, message: `Invalid field: status ${status}.` });
      return;
    }
    const pageSize = this.pageSizeOf(url);
    const query = `users\n${status}`;
    const token = url.searchParams.get('next_page_token') ?? '';
    let offset = 0;
    if (token !== '') {
      const opened = this.pageTokens.open(query, token);
      if (typeof opened !== 'number' || !Number.isInteger(opened) || opened < 0) {
        sendJson(response, 400, INVALID_PAGE_TOKEN);
        return;
      }
      offset = opened;
    }
    const matching = [...this.users.values()].filter((user) => user.status === status);
    const page = matching.slice(offset, offset + pageSize);
    const next = offset + pageSize < matching.length ? this.pageTokens.issue(query, offset + pageSize) : '';
    sendJson(response, 200, {
      page_count: Math.ceil(matching.length / pageSize),
      page_number: Math.floor(offset / pageSize) + 1,
      page_size: pageSize,
      total_records: matching.length,
      next_page_token: next,
      users: page.map((user) => ({ ...user })),
    });
  }

  private async meetingRecordings(response: ServerResponse, url: URL, segment: string): Promise<void> {
    const listed = this.meetingInstance(segment);
    if (!listed) {
      sendJson(response, 404, NO_RECORDING);
      return;
    }
    const body: Record<string, unknown> = { ...this.backend.recordingObject(listed.recording) };
    if ((url.searchParams.get('include_fields') ?? '').split(',').includes('download_access_token')) {
      const ttl = Number(url.searchParams.get('ttl') ?? 86_400);
      if (!Number.isInteger(ttl) || ttl < 0 || ttl > 604_800) {
        sendJson(response, 400, { code: 300, message: 'Invalid ttl.' });
        return;
      }
      body.download_access_token = await this.backend.issueDownloadToken(listed.recording.uuid, ttl);
    }
    sendJson(response, 200, body);
  }

  /** Moves the instance to the trash (or deletes it for good): the API forgets it, downloads stay as they are. */
  private deleteMeetingRecordings(response: ServerResponse, url: URL, segment: string): void {
    const action = actionOf(url);
    if (action !== 'trash' && action !== 'delete') {
      sendJson(response, 400, { code: 300, message: `Invalid field: action ${action.slice(0, 40)}.` });
      return;
    }
    const listed = this.meetingInstance(segment);
    if (!listed) {
      sendJson(response, 404, NO_RECORDING);
      return;
    }
    const { uuid } = listed.recording;
    this.recordings.delete(uuid);
    this.sorted = undefined;
    if (action === 'trash') this.trash.add(uuid);
    else this.deletedForGood.push(uuid);
    response.writeHead(204);
    response.end();
  }

  // -------------------------------------------------------------------------------
  // Helpers

  /** The instance a /meetings/{segment} path names, decoded by Zoom's rule; a numeric id means the meeting's latest instance, as in Zoom. */
  private meetingInstance(segment: string): Listed | undefined {
    const id = decodeMeetingId(segment);
    if (id === undefined) return undefined;
    return this.recordings.get(id) ?? this.newestFirst().find((candidate) => String(candidate.recording.object.id) === id);
  }

  /** page_size: default 30 (or the maximum if lower), capped to the maximum. */
  private pageSizeOf(url: URL): number {
    const raw = url.searchParams.get('page_size');
    const value = raw === null || raw === '' ? DEFAULT_PAGE_SIZE : Number(raw);
    return Math.min(this.maxPageSize, !Number.isInteger(value) || value < 1 ? DEFAULT_PAGE_SIZE : value);
  }

  private newestFirst(): Listed[] {
    this.sorted ??= [...this.recordings.values()].sort((a, b) => compareListed(a.startMs, a.recording.uuid, b.startMs, b.recording.uuid));
    return this.sorted;
  }

  private userByEmail(email: string): ZoomUserPayload | undefined {
    const wanted = email.toLowerCase();
    for (const user of this.users.values()) if (user.email.toLowerCase() === wanted) return user;
    return undefined;
  }

  private newUser(spec: SimulatedUserSpec): ZoomUserPayload {
    const n = ++this.userCounter;
    const id = spec.id ?? randomBytes(16).toString('base64url');
    const email = spec.email ?? `user-${n}@example.com`;
    const status = spec.status ?? 'active';
    const local = email.split('@')[0] ?? email;
    const firstName = spec.firstName ?? local.charAt(0).toUpperCase() + local.slice(1);
    const lastName = spec.lastName ?? '';
    const createdAt = '2021-01-04T09:00:00Z';
    return {
      id,
      first_name: firstName,
      last_name: lastName,
      display_name: `${firstName} ${lastName}`.trim(),
      email,
      type: 1,
      pmi: 1_000_000_000 + n,
      timezone: 'America/Los_Angeles',
      verified: status === 'pending' ? 0 : 1,
      dept: '',
      created_at: createdAt,
      user_created_at: createdAt,
      ...(status === 'pending' ? {} : { last_login_time: '2024-01-08T16:00:00Z' }),
      language: 'en-US',
      role_id: '2',
      status,
    };
  }
}

/** Opaque next_page_tokens: a cursor and an expiry, HMAC-signed together with their query. */
class PageTokens {
  private readonly key = randomBytes(32);

  constructor(private readonly ttlMs: number) {}

  issue(query: string, cursor: unknown): string {
    const body = Buffer.from(JSON.stringify({ c: cursor, e: Date.now() + this.ttlMs })).toString('base64url');
    return `${body}.${this.sign(query, body)}`;
  }

  /** The token's cursor; undefined when forged, issued for another query, or expired. */
  open(query: string, token: string): unknown {
    const dot = token.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const body = token.slice(0, dot);
    if (!safeEqual(token.slice(dot + 1), this.sign(query, body))) return undefined;
    try {
      const parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { c?: unknown; e?: unknown };
      return typeof parsed.e === 'number' && parsed.e > Date.now() ? parsed.c : undefined;
    } catch {
      return undefined;
    }
  }

  private sign(query: string, body: string): string {
    return createHmac('sha256', this.key).update(`${query}\n${body}`).digest('base64url');
  }
}

function matchRoute(method: 'GET' | 'DELETE', segments: string[]): Route | undefined {
  const [first, second, third] = segments;
  if (method === 'DELETE') {
    return segments.length === 3 && first === 'meetings' && third === 'recordings' ? { name: 'meeting_recordings_delete', segment: second } : undefined;
  }
  if (segments.length === 1 && first === 'users') return { name: 'users' };
  if (segments.length !== 3 || third !== 'recordings') return undefined;
  if (first === 'accounts') return { name: 'account_recordings', segment: second };
  if (first === 'users') return { name: 'user_recordings', segment: second };
  if (first === 'meetings') return { name: 'meeting_recordings', segment: second };
  return undefined;
}

/** DELETE's `action`: `trash` when absent or empty, as Zoom's default. */
function actionOf(url: URL): string {
  return url.searchParams.get('action') || 'trash';
}

/** Newest first; the same start in UUID order, so a cursor is a total order position. */
function compareListed(aStart: number, aUuid: string, bStart: number, bUuid: string): number {
  return bStart - aStart || (aUuid < bUuid ? -1 : aUuid > bUuid ? 1 : 0);
}

function isRecordingCursor(value: unknown): value is RecordingCursor {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === 'number' && typeof value[1] === 'string';
}

function utcDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function isDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const ms = Date.parse(`${value}T00:00:00Z`);
  return Number.isFinite(ms) && utcDate(ms) === value;
}

/** `date` plus one calendar month, clamped to the end of a shorter month (01-31 → 02-28). */
export function addOneMonth(date: string): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  // month is 1-based: index `month` is the next month, and day 0 of the one after is its last day.
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return utcDate(Date.UTC(year, month, Math.min(day, lastDay)));
}

/** from/to with Zoom's defaults (today, tomorrow) and its silent 1-month cap; undefined when malformed. */
function dateRange(url: URL): { from: string; to: string } | undefined {
  const from = url.searchParams.get('from') || utcDate(Date.now());
  const requestedTo = url.searchParams.get('to') || utcDate(Date.now() + DAY_MS);
  if (!isDate(from) || !isDate(requestedTo)) return undefined;
  const cap = addOneMonth(from);
  return { from, to: requestedTo > cap ? cap : requestedTo };
}

