/**
 * A Zoom simulator: a real HTTP server on loopback that plays the parts of Zoom the
 * archiver talks to — the Server-to-Server OAuth token endpoint, the recording
 * download URL (Bearer token, 302 to a signed "CDN" URL), the CDN (Content-Length,
 * single byte ranges: 206 with Content-Range, 416), signed webhook deliveries, and the REST API the reconciler lists with
 * (./api.ts): the account's and a user's recordings (1-month windows silently capped,
 * expiring page tokens bound to their query, newest first), the account's users by
 * status, one meeting's recordings (strict about double-encoded UUIDs) and moving them
 * to the trash (every DELETE recorded), the account listing's and the trash's scope
 * refusals (4711/124), and per-category per-second rate limits (429
 * with or without Retry-After). Files are generated deterministic bytes of any size
 * (never held in memory), so tests, the `npm start` sandbox and the benchmarks all use
 * it, and switchable faults reproduce what Zoom does on a bad day: resets mid-body,
 * 5xx, 429 storms (downloads and API), HTML pages with 200, wrong sizes, slow drips,
 * a CDN that ignores Range (200 with the whole file), redirects to foreign hosts, a failing OAuth endpoint, files still processing.
 *
 * Built on node:http rather than a framework: the faults need the raw socket (cut a
 * body after N bytes, throttle it) and the bytes must flow with backpressure at full
 * speed; the handful of routes are matched by hand.
 */
import { createHmac, randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import {
  ZoomRestApi,
  type AccountListingRefusal,
  type ApiFailureOptions,
  type ApiStats,
  type SimulatedUserSpec,
  type TrashCall,
  type TrashRefusal,
  type ZoomUserPayload,
} from './api';
import {
  closeWhenFlushed,
  decodeSegment,
  listenOn,
  parseRange,
  readBody,
  safeEqual,
  sendJson,
  splitOnce,
} from './http';
import { ContentStream, FixedContent, GeneratedContent, contentSha256, type FileContent } from './content';
import {
  resolveRecording,
  type ResolvedRecording,
  type SimulatedRecordingSpec,
  type ZoomFileStatus,
  type ZoomRecordingEventPayload,
  type ZoomRecordingFilePayload,
  type ZoomRecordingObjectPayload,
} from './payload';
import type { RateLimitCategory } from './rate-limit';

export { BLOCK_SIZE, contentSha256, GeneratedContent } from './content';
export { addOneMonth } from './api';
export type {
  AccountListingRefusal,
  ApiFailureOptions,
  ApiRoute,
  ApiStats,
  SimulatedUserSpec,
  TrashCall,
  TrashRefusal,
  ZoomUserPayload,
  ZoomUserStatus,
} from './api';
export type { RateLimitCategory } from './rate-limit';
export type {
  SimulatedFileSpec,
  SimulatedRecordingSpec,
  ZoomFileStatus,
  ZoomRecordingEventPayload,
  ZoomRecordingFilePayload,
  ZoomRecordingObjectPayload,
} from './payload';

/** It listens on 127.0.0.1, on free ports. */
export interface ZoomSimulatorOptions {
  accountId?: string;
  clientId?: string;
  clientSecret?: string;
  /** The app's webhook Secret Token, for deliverWebhook/validateEndpoint. */
  webhookSecret?: string;
  /** Lifetime of the API's next_page_token. Default 15 minutes, as Zoom's. */
  pageTokenTtlMs?: number;
}

/**
 * A fault for one file's download requests. Fields combine (e.g. slow and reset).
 * Status, HTML and redirect faults answer at the download URL; size, reset, speed and
 * range faults shape the CDN body that follows the redirect.
 */
export interface ZoomFault {
  /** Apply to this many download requests, then let the next fault (or none) apply. Default: all. */
  times?: number;
  /** Answer this status at the download URL (500, 503, 429, 404, 401...). */
  status?: number;
  /** With `status`: a Retry-After header in seconds. */
  retryAfterSeconds?: number;
  /** With `status`: a Retry-After header as an HTTP date. */
  retryAfterDate?: Date;
  /** Answer 200 with an HTML page ("Only the host can download..."), as Zoom does. */
  htmlPage?: boolean;
  /** Redirect here instead of to the CDN (a foreign host, e.g. http://localhost:PORT/x). */
  redirectTo?: string;
  /** Serve size + delta bytes (with a matching Content-Length). */
  wrongSize?: number;
  /** Close the connection after this many body bytes (Content-Length promised more). */
  resetAfterBytes?: number;
  /** Drip the body at about this rate. */
  bytesPerSecond?: number;
  /**
   * Answer 200 with the whole file even to a ranged request, as a server without range
   * support does (and `Accept-Ranges: none`). Without it the CDN honours one `bytes=`
   * range: 206 with Content-Range, or 416 when it starts past the end.
   */
  ignoreRange?: boolean;
}

export interface FileStats {
  /** Download-URL and CDN requests together. */
  requests: number;
  downloadRequests: number;
  cdnRequests: number;
  /** CDN requests that carried a Range header, whether it was honoured, ignored (ignoreRange) or unsatisfiable. */
  rangeRequests: number;
  /** Full-body (200) responses sent to the end. */
  completedDownloads: number;
  /** Body bytes handed to sockets, of full and partial (206) responses alike: a resume adds only the rest. */
  bytesServed: number;
  faultsApplied: number;
}

export type RequestKind = 'oauth' | 'download' | 'cdn' | 'api' | 'other';
export type AuthOutcome = 'webhook' | 'oauth' | 'missing' | 'invalid' | 'expired' | 'query';

/** One request as the simulator saw it; never holds a token or a query string. */
export interface RequestLogEntry {
  at: string;
  method: string;
  path: string;
  kind: RequestKind;
  fileId?: string;
  status?: number;
  auth?: AuthOutcome;
  /** Whether the request carried an Authorization header at all. */
  authorization: boolean;
}

export interface OAuthStats {
  requests: number;
  issued: number;
  failed: number;
}

export interface SimulatedFile {
  fileId: string;
  fileType: string;
  size: number;
  downloadUrl: string;
  /** Hex SHA-256 of the file's bytes (streamed from the generator, cached). */
  sha256(): Promise<string>;
}

export interface SimulatedRecording {
  uuid: string;
  /** The recording.completed webhook body, URLs pointing at this simulator. */
  payload: ZoomRecordingEventPayload;
  downloadToken: string;
  files: SimulatedFile[];
}

export interface WebhookDelivery {
  status: number;
  body: string;
}

export interface ZoomSimulator {
  /** http://127.0.0.1:PORT: OAuth, download URLs, REST API. */
  readonly baseUrl: string;
  /** The host name in every URL it hands out, for ZOOM_DOWNLOAD_HOSTS. */
  readonly host: string;
  readonly port: number;
  /** For ZOOM_OAUTH_TOKEN_URL. */
  readonly oauthTokenUrl: string;
  /** The REST API base, like https://api.zoom.us/v2. */
  readonly apiBaseUrl: string;
  readonly accountId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly webhookSecret: string;
  readonly requestLog: readonly RequestLogEntry[];
  readonly oauthStats: OAuthStats;
  addRecording(spec?: SimulatedRecordingSpec): Promise<SimulatedRecording>;
  /** A fresh download token for a recording, as the API's download_access_token. */
  issueDownloadToken(uuid: string, ttlSeconds?: number): Promise<string>;
  /** Faults for a file, applied in order, each for its `times`; undefined clears them. */
  setFault(fileId: string, fault: ZoomFault | readonly ZoomFault[] | undefined): void;
  stats(fileId: string): FileStats;
  expectedSha256(fileId: string): Promise<string>;
  /** The next `times` token requests fail with `status` (default 503). */
  failOAuth(times: number, options?: { status?: number; retryAfterSeconds?: number }): void;
  /** Delay every token answer (to make concurrent refreshes overlap). */
  setOAuthDelay(ms: number): void;
  /** Every OAuth token issued so far stops working (as if revoked or expired). */
  revokeOAuthTokens(): void;
  /**
   * A user of the account, for GET /v2/users (default status active). Every recording's
   * host is an active user already; adding one with the host's id changes its status
   * (an inactive host keeps its recordings). Returns the user as the API lists it.
   */
  addUser(spec?: SimulatedUserSpec): ZoomUserPayload;
  /** The file's status in API listings; 'processing' until Zoom finishes it. Id-less types (CC, TIMELINE) have none: ignored. */
  setFileStatus(fileId: string, status: ZoomFileStatus): void;
  /** GET /v2/accounts/.../recordings answers 400 code 4711 (missing scope) or 401 code 124; undefined: normal again. */
  refuseAccountListing(code: AccountListingRefusal): void;
  /** A per-second limit for the category, shared by all tokens (bucket of `perSecond`, refilled continuously); undefined: unlimited (default). */
  setRateLimit(category: RateLimitCategory, perSecond: number | undefined): void;
  /** Caps every listing's page_size to `max` (Zoom's is 300, the default again with undefined): small data sets then span several pages. */
  setMaxPageSize(max: number | undefined): void;
  /** Whether rate-limited 429s carry Retry-After (default true; Zoom's often do not). */
  setRetryAfter(enabled: boolean): void;
  /** The next `times` API requests (any /v2 route, once authorized) fail with `status` (default 429). */
  failApi(times: number, options?: ApiFailureOptions): void;
  apiStats(): ApiStats;
  /** DELETE /v2/meetings/{uuid}/recordings answers 400 code 4711 (the token lacks cloud_recording:delete:meeting_recording:admin); undefined: normal again. */
  refuseTrash(code: TrashRefusal): void;
  /** Every DELETE request under /v2 received, in order, whatever its answer (uuid decoded, action as sent or `trash`, status). */
  trashCalls(): TrashCall[];
  /** UUIDs in the trash now (trashed through the API): gone from every listing and GET; their downloads still work. */
  trashedRecordings(): string[];
  /** UUIDs deleted for good (action=delete): what a product must never cause. */
  permanentlyDeleted(): string[];
  /** POSTs `body` to `url` signed like Zoom (x-zm-signature), with webhookSecret. */
  deliverWebhook(url: string, body: unknown, options?: { timestampSeconds?: number }): Promise<WebhookDelivery>;
  /** Runs Zoom's endpoint.url_validation against `url`; true when it answered correctly. */
  validateEndpoint(url: string): Promise<boolean>;
  stop(): Promise<void>;
}

interface FileEntry {
  fileId: string;
  recording: ResolvedRecording;
  fileType: string;
  contentType: string;
  content: FileContent;
  payload: Omit<ZoomRecordingFilePayload, 'download_url' | 'play_url'>;
  faults: { fault: ZoomFault; used: number }[];
  stats: FileStats;
  sha256?: Promise<string>;
}

const HOST = '127.0.0.1';
/** Lifetime of issued OAuth tokens, as Zoom's. */
const OAUTH_TOKEN_TTL_SECONDS = 3600;
/** Lifetime of the signed CDN URLs. */
const CDN_URL_TTL_SECONDS = 3600;
const JWT_ISSUER = 'https://event.zoom.us';
const JWT_AUDIENCE = 'https://oauth.zoom.us';
const ZOOM_INVALID_TOKEN = { code: 124, message: 'Invalid access token.' };
const HTML_PAGE =
  '<!DOCTYPE html>\n<html><head><title>Error - Zoom</title></head><body><div class="error">Only the host can download the recording. Sign in to download.</div></body></html>\n';

/**
 * The environment that points zoom-archiver at a simulator: its OAuth app, token
 * endpoint and REST API, and downloads allowed from its host only. Used by the
 * sandbox, tests and benchmarks alike. The periodic sweep is off
 * (SWEEP_INTERVAL_SECONDS=0): a sweep at start would hand over the simulator's
 * recordings alongside the webhooks a test or the sandbox delivers; those that want
 * sweeps set it themselves.
 */
export function zoomEnvFor(simulator: Pick<ZoomSimulator, 'accountId' | 'clientId' | 'clientSecret' | 'oauthTokenUrl' | 'apiBaseUrl'>): Record<string, string> {
  return {
    ZOOM_ACCOUNT_ID: simulator.accountId,
    ZOOM_CLIENT_ID: simulator.clientId,
    ZOOM_CLIENT_SECRET: simulator.clientSecret,
    ZOOM_OAUTH_TOKEN_URL: simulator.oauthTokenUrl,
    ZOOM_API_BASE_URL: simulator.apiBaseUrl,
    ZOOM_DOWNLOAD_HOSTS: new URL(simulator.oauthTokenUrl).hostname,
    SWEEP_INTERVAL_SECONDS: '0',
  };
}

export async function startZoomSimulator(options: ZoomSimulatorOptions = {}): Promise<ZoomSimulator> {
  const simulator = new Simulator(options);
  await simulator.listen();
  return simulator;
}

class Simulator implements ZoomSimulator {
  readonly accountId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly webhookSecret: string;
  readonly requestLog: RequestLogEntry[] = [];
  readonly oauthStats: OAuthStats = { requests: 0, issued: 0, failed: 0 };
  baseUrl = '';
  readonly host = HOST;
  port = 0;
  /** The signed URLs downloads redirect to: another origin, like Zoom's ssrweb.zoom.us. */
  private cdnBaseUrl = '';

  /** Zoom (OAuth, download URLs, API) and its CDN listen apart: the redirect crosses origins, as Zoom's does. */
  private readonly servers: Record<ServerRole, http.Server>;
  private readonly signingKey = randomBytes(32);
  private readonly recordings = new Map<string, ResolvedRecording>();
  private readonly files = new Map<string, FileEntry>();
  private readonly oauthTokens = new Map<string, number>();
  /** Faults chosen at the download URL, carried to the CDN request of the same attempt. */
  private readonly attempts = new Map<string, ZoomFault | undefined>();
  private attemptCounter = 0;
  private oauthFailures: { remaining: number; status: number; retryAfterSeconds?: number } = { remaining: 0, status: 503 };
  private oauthDelayMs = 0;
  private readonly api: ZoomRestApi;

  constructor(options: ZoomSimulatorOptions) {
    this.accountId = options.accountId ?? 'sim-account';
    this.clientId = options.clientId ?? 'sim-client-id';
    this.clientSecret = options.clientSecret ?? 'sim-client-secret';
    this.webhookSecret = options.webhookSecret ?? 'sim-webhook-secret';
    this.api = new ZoomRestApi(
      {
        accountId: this.accountId,
        authorize: (request) => this.authorizeApi(request),
        recordingObject: (recording) => this.recordingObject(recording),
        issueDownloadToken: (uuid, ttlSeconds) => this.issueDownloadToken(uuid, ttlSeconds),
      },
      { pageTokenTtlMs: options.pageTokenTtlMs },
    );
    const serve = (role: ServerRole) =>
      http.createServer({ highWaterMark: 1024 * 1024 }, (request, response) => {
        this.handle(role, request, response).catch((error: unknown) => {
          if (!response.headersSent) sendJson(response, 500, { code: 500, message: `simulator error: ${String(error)}` });
          else response.destroy();
        });
      });
    this.servers = { zoom: serve('zoom'), cdn: serve('cdn') };
  }

  get apiBaseUrl(): string {
    return `${this.baseUrl}/v2`;
  }

  get oauthTokenUrl(): string {
    return `${this.baseUrl}/oauth/token`;
  }

  async listen(): Promise<void> {
    this.port = await listenOn(this.servers.zoom, HOST);
    this.baseUrl = `http://${HOST}:${this.port}`;
    this.cdnBaseUrl = `http://${HOST}:${await listenOn(this.servers.cdn, HOST)}`;
  }

  async stop(): Promise<void> {
    await Promise.all(
      Object.values(this.servers).map((server) => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        return closed;
      }),
    );
  }

  // -------------------------------------------------------------------------------
  // Test-facing API

  async addRecording(spec: SimulatedRecordingSpec = {}): Promise<SimulatedRecording> {
    const recording = resolveRecording(spec, this.accountId);
    this.recordings.set(recording.uuid, recording);
    this.api.recordingAdded(recording);
    for (const file of recording.files) {
      this.files.set(file.fileId, {
        fileId: file.fileId,
        recording,
        fileType: file.fileType,
        contentType: file.contentType,
        content: file.content ? new FixedContent(file.content) : new GeneratedContent(file.fileId, file.size),
        payload: file.payload,
        faults: [],
        stats: { requests: 0, downloadRequests: 0, cdnRequests: 0, rangeRequests: 0, completedDownloads: 0, bytesServed: 0, faultsApplied: 0 },
      });
    }
    const downloadToken = await this.issueDownloadToken(recording.uuid, spec.downloadTokenTtlSeconds ?? 86_400);
    return {
      uuid: recording.uuid,
      downloadToken,
      payload: {
        event: 'recording.completed',
        event_ts: Date.now(),
        payload: { account_id: this.accountId, object: this.recordingObject(recording) },
        download_token: downloadToken,
      },
      files: recording.files.map((file) => ({
        fileId: file.fileId,
        fileType: file.fileType,
        size: file.size,
        downloadUrl: this.downloadUrl(file.fileId),
        sha256: () => this.expectedSha256(file.fileId),
      })),
    };
  }

  async issueDownloadToken(uuid: string, ttlSeconds = 86_400): Promise<string> {
    const recording = this.recordings.get(uuid);
    if (!recording) throw new Error(`no simulated recording ${uuid}`);
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ mid: uuid, accountId: this.accountId, userId: recording.object.host_id })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(JWT_ISSUER)
      .setAudience(JWT_AUDIENCE)
      .setIssuedAt(Math.min(now, now + ttlSeconds - 1))
      .setExpirationTime(now + ttlSeconds)
      .sign(this.signingKey);
  }

  setFault(fileId: string, fault: ZoomFault | readonly ZoomFault[] | undefined): void {
    const entry = this.file(fileId);
    const list: readonly ZoomFault[] = fault === undefined ? [] : Array.isArray(fault) ? fault : [fault as ZoomFault];
    entry.faults = list.map((item) => ({ fault: item, used: 0 }));
  }

  stats(fileId: string): FileStats {
    const entry = this.files.get(fileId);
    return entry
      ? { ...entry.stats }
      : { requests: 0, downloadRequests: 0, cdnRequests: 0, rangeRequests: 0, completedDownloads: 0, bytesServed: 0, faultsApplied: 0 };
  }

  expectedSha256(fileId: string): Promise<string> {
    const entry = this.file(fileId);
    entry.sha256 ??= contentSha256(entry.content);
    return entry.sha256;
  }

  failOAuth(times: number, options: { status?: number; retryAfterSeconds?: number } = {}): void {
    this.oauthFailures = { remaining: times, status: options.status ?? 503, retryAfterSeconds: options.retryAfterSeconds };
  }

  setOAuthDelay(ms: number): void {
    this.oauthDelayMs = ms;
  }

  revokeOAuthTokens(): void {
    this.oauthTokens.clear();
  }

  addUser(spec?: SimulatedUserSpec): ZoomUserPayload {
    return this.api.addUser(spec);
  }

  setFileStatus(fileId: string, status: ZoomFileStatus): void {
    const entry = this.file(fileId);
    if (entry.payload.status !== undefined) entry.payload.status = status;
  }

  refuseAccountListing(code: AccountListingRefusal): void {
    this.api.refuseAccountListing(code);
  }

  setRateLimit(category: RateLimitCategory, perSecond: number | undefined): void {
    this.api.setRateLimit(category, perSecond);
  }

  setMaxPageSize(max: number | undefined): void {
    this.api.setMaxPageSize(max);
  }

  setRetryAfter(enabled: boolean): void {
    this.api.setRetryAfter(enabled);
  }

  failApi(times: number, options?: ApiFailureOptions): void {
    this.api.failApi(times, options);
  }

  apiStats(): ApiStats {
    return this.api.stats();
  }

  refuseTrash(code: TrashRefusal): void {
    this.api.refuseTrash(code);
  }

  trashCalls(): TrashCall[] {
    return this.api.trashCalls();
  }

  trashedRecordings(): string[] {
    return this.api.trashedRecordings();
  }

  permanentlyDeleted(): string[] {
    return this.api.permanentlyDeleted();
  }

  async deliverWebhook(url: string, body: unknown, options: { timestampSeconds?: number } = {}): Promise<WebhookDelivery> {
    const raw = typeof body === 'string' ? body : JSON.stringify(body);
    const timestamp = String(options.timestampSeconds ?? Math.floor(Date.now() / 1000));
    const signature = `v0=${createHmac('sha256', this.webhookSecret).update(`v0:${timestamp}:${raw}`).digest('hex')}`;
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'Zoom Marketplace/1.0a',
        'x-zm-request-timestamp': timestamp,
        'x-zm-signature': signature,
        'x-zm-trackingid': `v=2.0;clid=sim;rid=${randomBytes(8).toString('hex')}`,
      },
      body: raw,
      signal: AbortSignal.timeout(10_000),
    });
    return { status: response.status, body: await response.text() };
  }

  async validateEndpoint(url: string): Promise<boolean> {
    const plainToken = randomBytes(16).toString('base64url');
    const delivery = await this.deliverWebhook(url, { event: 'endpoint.url_validation', event_ts: Date.now(), payload: { plainToken } });
    if (delivery.status !== 200) return false;
    try {
      const answer = JSON.parse(delivery.body) as { plainToken?: unknown; encryptedToken?: unknown };
      const expected = createHmac('sha256', this.webhookSecret).update(plainToken).digest('hex');
      return answer.plainToken === plainToken && answer.encryptedToken === expected;
    } catch {
      return false;
    }
  }

  // -------------------------------------------------------------------------------
  // HTTP

  private async handle(role: ServerRole, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.baseUrl || 'http://simulator');
    const entry: RequestLogEntry = {
      at: new Date().toISOString(),
      method: request.method ?? 'GET',
      path: url.pathname,
      kind: 'other',
      authorization: request.headers.authorization !== undefined,
    };
    this.requestLog.push(entry);
    response.once('close', () => {
      entry.status = response.statusCode;
    });
    const segments = url.pathname.split('/').filter(Boolean);

    if (role === 'cdn') {
      if (segments[0] === 'cdn' && segments.length === 2 && request.method === 'GET') {
        entry.kind = 'cdn';
        return this.handleCdn(request, response, url, decodeSegment(segments[1]!), entry);
      }
    } else if (url.pathname === '/oauth/token' && request.method === 'POST') {
      entry.kind = 'oauth';
      return this.handleOAuth(request, response);
    } else if (segments[0] === 'rec' && segments[1] === 'download' && segments.length === 3 && request.method === 'GET') {
      entry.kind = 'download';
      return this.handleDownload(request, response, url, decodeSegment(segments[2]!), entry);
    } else if (segments[0] === 'v2' && (request.method === 'GET' || request.method === 'DELETE')) {
      entry.kind = 'api';
      return this.api.handle(request, response, url, segments.slice(1), entry);
    }
    request.resume();
    sendJson(response, 404, { code: 404, message: 'Not found.' });
  }

  private async handleOAuth(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.oauthStats.requests++;
    const body = await readBody(request, 64 * 1024);
    if (this.oauthDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.oauthDelayMs));
    if (this.oauthFailures.remaining > 0) {
      this.oauthFailures.remaining--;
      this.oauthStats.failed++;
      const { status, retryAfterSeconds } = this.oauthFailures;
      const headers: Record<string, string> = retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) };
      sendJson(response, status, { reason: 'Internal Error', error: 'server_error' }, headers);
      return;
    }
    const basic = /^Basic\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const [id, secret] = basic ? splitOnce(Buffer.from(basic, 'base64').toString('utf8'), ':') : [undefined, undefined];
    if (!safeEqual(id, this.clientId) || !safeEqual(secret, this.clientSecret)) {
      this.oauthStats.failed++;
      sendJson(response, 401, { reason: 'Invalid client_id or client_secret', error: 'invalid_client' });
      return;
    }
    const form = new URLSearchParams(body.toString('utf8'));
    if (form.get('grant_type') !== 'account_credentials') {
      this.oauthStats.failed++;
      sendJson(response, 400, { reason: 'Unsupported grant type', error: 'unsupported_grant_type' });
      return;
    }
    if (form.get('account_id') !== this.accountId) {
      this.oauthStats.failed++;
      sendJson(response, 400, { reason: 'Invalid request : Invalid account_id.', error: 'invalid_request' });
      return;
    }
    const token = `sim-oauth.${randomBytes(32).toString('base64url')}`;
    this.oauthTokens.set(token, Date.now() + OAUTH_TOKEN_TTL_SECONDS * 1000);
    this.oauthStats.issued++;
    sendJson(response, 200, {
      access_token: token,
      token_type: 'bearer',
      expires_in: OAUTH_TOKEN_TTL_SECONDS,
      scope: this.api.scopes(),
      api_url: this.baseUrl,
    });
  }

  private async handleDownload(request: IncomingMessage, response: ServerResponse, url: URL, fileId: string, log: RequestLogEntry): Promise<void> {
    request.resume();
    const file = this.files.get(fileId);
    if (!file) {
      sendJson(response, 404, { code: 3301, message: 'This recording does not exist.' });
      return;
    }
    log.fileId = fileId;
    file.stats.requests++;
    file.stats.downloadRequests++;
    const fault = this.nextFault(file);

    if (fault?.status !== undefined) {
      const headers: Record<string, string> = {};
      if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
      if (fault.retryAfterDate) headers['retry-after'] = fault.retryAfterDate.toUTCString();
      if (fault.status === 429) Object.assign(headers, { 'x-ratelimit-category': 'Light', 'x-ratelimit-type': 'QPS', 'x-ratelimit-limit': '30' });
      sendJson(response, fault.status, { code: fault.status, message: fault.status === 429 ? 'You have reached the maximum per-second rate limit for this API. Try again later.' : 'Internal server error.' }, headers);
      return;
    }

    const auth = await this.authorizeDownload(request, url, file);
    log.auth = auth;
    if (auth !== 'webhook' && auth !== 'oauth') {
      sendJson(response, 401, ZOOM_INVALID_TOKEN);
      return;
    }
    if (fault?.htmlPage) {
      response.writeHead(200, { 'content-type': 'text/html;charset=utf-8', 'content-length': Buffer.byteLength(HTML_PAGE) });
      response.end(HTML_PAGE);
      return;
    }
    if (fault?.redirectTo) {
      response.writeHead(302, { location: fault.redirectTo, 'content-length': 0 });
      response.end();
      return;
    }
    const attempt = String(++this.attemptCounter);
    this.attempts.set(attempt, fault);
    const exp = String(Math.floor(Date.now() / 1000) + CDN_URL_TTL_SECONDS);
    const query = new URLSearchParams({ exp, a: attempt, sig: this.cdnSignature(fileId, exp, attempt) });
    response.writeHead(302, { location: `${this.cdnBaseUrl}/cdn/${encodeURIComponent(fileId)}?${query}`, 'content-length': 0 });
    response.end();
  }

  private async authorizeDownload(request: IncomingMessage, url: URL, file: FileEntry): Promise<AuthOutcome> {
    if (url.searchParams.has('access_token')) return 'query'; // refused since 2023 (Zoom error 124)
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!token) return 'missing';
    const oauthExpiry = this.oauthTokens.get(token);
    if (oauthExpiry !== undefined) return oauthExpiry > Date.now() ? 'oauth' : 'expired';
    try {
      const { payload } = await jwtVerify(token, this.signingKey, { issuer: JWT_ISSUER, audience: JWT_AUDIENCE, algorithms: ['HS256'] });
      return payload.mid === file.recording.uuid ? 'webhook' : 'invalid';
    } catch (error) {
      return error instanceof joseErrors.JWTExpired ? 'expired' : 'invalid';
    }
  }

  private handleCdn(request: IncomingMessage, response: ServerResponse, url: URL, fileId: string, log: RequestLogEntry): void {
    request.resume();
    const file = this.files.get(fileId);
    const exp = url.searchParams.get('exp') ?? '';
    const attempt = url.searchParams.get('a') ?? '';
    const signed = file && safeEqual(url.searchParams.get('sig') ?? '', this.cdnSignature(fileId, exp, attempt)) && Number(exp) * 1000 > Date.now();
    if (!file || !signed) {
      const body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access denied</Message></Error>';
      response.writeHead(403, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      response.end(body);
      return;
    }
    log.fileId = fileId;
    file.stats.requests++;
    file.stats.cdnRequests++;
    const fault = this.attempts.get(attempt);
    const size = Math.max(0, file.content.size + (fault?.wrongSize ?? 0));
    const headers: Record<string, string | number> = {
      'content-type': file.contentType,
      'accept-ranges': fault?.ignoreRange ? 'none' : 'bytes',
      'content-disposition': `attachment; filename="${fileId}.${file.payload.file_extension.toLowerCase()}"`,
      etag: `"${fileId}-${size}"`,
    };

    let start = 0;
    let end = size;
    let status = 200;
    const rangeHeader = request.headers.range;
    if (rangeHeader !== undefined) file.stats.rangeRequests++;
    if (rangeHeader && !fault?.ignoreRange) {
      const range = parseRange(rangeHeader, size);
      if (range === 'unsatisfiable') {
        response.writeHead(416, { 'content-range': `bytes */${size}`, 'content-length': 0 });
        response.end();
        return;
      }
      if (range) {
        ({ start, end } = range);
        status = 206;
        headers['content-range'] = `bytes ${start}-${end - 1}/${size}`;
      }
    }
    headers['content-length'] = end - start;
    response.writeHead(status, headers);
    // A CDN answers at once; a slow body must not look like a slow server.
    response.flushHeaders();

    const cut = fault?.resetAfterBytes !== undefined && start + fault.resetAfterBytes < end;
    const stream = new ContentStream(file.content, start, cut ? start + fault!.resetAfterBytes! : end, { bytesPerSecond: fault?.bytesPerSecond });
    stream.on('data', (chunk: Buffer) => {
      file.stats.bytesServed += chunk.length;
    });
    response.once('close', () => stream.destroy());
    if (cut) {
      stream.once('end', () => closeWhenFlushed(response));
      stream.pipe(response, { end: false });
      return;
    }
    response.once('finish', () => {
      if (status === 200) file.stats.completedDownloads++;
    });
    stream.pipe(response);
  }

  private authorizeApi(request: IncomingMessage): AuthOutcome {
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const expiry = token ? this.oauthTokens.get(token) : undefined;
    return !token ? 'missing' : expiry === undefined ? 'invalid' : expiry > Date.now() ? 'oauth' : 'expired';
  }

  // -------------------------------------------------------------------------------
  // Helpers

  private file(fileId: string): FileEntry {
    const entry = this.files.get(fileId);
    if (!entry) throw new Error(`no simulated file ${fileId}`);
    return entry;
  }

  private nextFault(file: FileEntry): ZoomFault | undefined {
    const slot = file.faults.find(({ fault, used }) => fault.times === undefined || used < fault.times);
    if (!slot) return undefined;
    slot.used++;
    file.stats.faultsApplied++;
    return slot.fault;
  }

  private downloadUrl(fileId: string): string {
    return `${this.baseUrl}/rec/download/${encodeURIComponent(fileId)}`;
  }

  private recordingObject(recording: ResolvedRecording): ZoomRecordingObjectPayload {
    return {
      ...recording.object,
      share_url: `${this.baseUrl}/rec/share/${encodeURIComponent(recording.uuid)}`,
      recording_files: recording.files.map((file) => ({
        ...file.payload,
        ...(file.payload.id ? { play_url: `${this.baseUrl}/rec/play/${encodeURIComponent(file.fileId)}` } : {}),
        download_url: this.downloadUrl(file.fileId),
      })),
    };
  }

  private cdnSignature(fileId: string, exp: string, attempt: string): string {
    return createHmac('sha256', this.signingKey).update(`${fileId}\n${exp}\n${attempt}`).digest('base64url');
  }
}

type ServerRole = 'zoom' | 'cdn';
