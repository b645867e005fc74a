/**
 * DownloadTokenSource for Zoom: the webhook's download_token while it has comfortably
 * long to live (it lasts 24 h, and deliveries can be days late), otherwise a
 * Server-to-Server OAuth token (grant `account_credentials`, 3600 s, no refresh
 * token). The OAuth token is cached and renewed shortly before it expires; concurrent
 * uploads share one refresh, because Zoom rate-limits the token endpoint and some
 * accounts cap concurrent tokens.
 */
import type { ZoomSecrets } from '../config/secrets';
import { decodeJwt } from 'jose';
import * as z from 'zod/mini';
import { ConfigError } from '../errors';
import {
  OAuthError,
  type DownloadToken,
  type DownloadTokenSource,
  type WebhookDownloadAccess,
} from '../ports/zoom-client';
import { isLoopbackHost, parseRetryAfter } from './zoom-download';

export const DEFAULT_ZOOM_OAUTH_TOKEN_URL = 'https://zoom.us/oauth/token';

export interface ZoomOAuthOptions {
  /** ZOOM_OAUTH_TOKEN_URL; https, or http on a loopback host (simulator). */
  tokenUrl?: string;
  /** ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET; all three or none. */
  accountId?: string;
  clientId?: string;
  clientSecret?: string;
  fetch?: typeof fetch;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  /** A webhook token with less life left than this is not used. Default 5 minutes. */
  minRemainingMs?: number;
  /** Renew the OAuth token this long before it expires. Default 60 s. */
  renewBeforeMs?: number;
  /** Timeout of one token request. Default 15 s. */
  requestTimeoutMs?: number;
}

const TokenResponseSchema = z.object({
  access_token: z.string().check(z.minLength(1)),
  token_type: z.optional(z.string()),
  expires_in: z.number().check(z.positive()),
});

/** Zoom's error body, e.g. {"reason":"Invalid client_id or client_secret","error":"invalid_client"}. */
const ErrorResponseSchema = z.object({ error: z.string().check(z.regex(/^[a-z_]{1,64}$/)) });

interface CachedToken {
  token: string;
  expiresAtMs: number;
}

/** The token source of the Server-to-Server OAuth app in `secrets` (the keys' names as in the Zoom secret and the environment). */
export function oauthTokenSourceFor(tokenUrl: string, secrets: Pick<ZoomSecrets, 'ZOOM_ACCOUNT_ID' | 'ZOOM_CLIENT_ID' | 'ZOOM_CLIENT_SECRET'>): ZoomOAuthTokenSource {
  return new ZoomOAuthTokenSource({ tokenUrl, accountId: secrets.ZOOM_ACCOUNT_ID, clientId: secrets.ZOOM_CLIENT_ID, clientSecret: secrets.ZOOM_CLIENT_SECRET });
}

export class ZoomOAuthTokenSource implements DownloadTokenSource {
  private readonly tokenUrl: string;
  private readonly credentials?: { accountId: string; basic: string };
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  private readonly minRemainingMs: number;
  private readonly renewBeforeMs: number;
  private readonly requestTimeoutMs: number;
  private cached?: CachedToken;
  private refreshing?: Promise<CachedToken>;

  constructor(options: ZoomOAuthOptions = {}) {
    this.tokenUrl = checkTokenUrl(options.tokenUrl ?? DEFAULT_ZOOM_OAUTH_TOKEN_URL);
    const { accountId, clientId, clientSecret } = options;
    const given = [accountId, clientId, clientSecret].filter(Boolean).length;
    if (given > 0 && given < 3) {
      throw new ConfigError('Zoom OAuth needs all of ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET, or none');
    }
    if (accountId && clientId && clientSecret) {
      this.credentials = { accountId, basic: Buffer.from(`${clientId}:${clientSecret}`, 'utf8').toString('base64') };
    }
    this.fetchImpl = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
    this.minRemainingMs = options.minRemainingMs ?? 5 * 60_000;
    this.renewBeforeMs = options.renewBeforeMs ?? 60_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
  }

  get oauthConfigured(): boolean {
    return this.credentials !== undefined;
  }

  async tokenFor(access: WebhookDownloadAccess | undefined): Promise<DownloadToken> {
    if (access?.token) {
      const expiresAtMs = webhookTokenExpiry(access);
      if (expiresAtMs !== undefined && expiresAtMs - this.now() >= this.minRemainingMs) {
        return { token: access.token, source: 'webhook' };
      }
      // A token whose expiry cannot be read is still worth a try when there is nothing else.
      if (expiresAtMs === undefined && !this.credentials) return { token: access.token, source: 'webhook' };
    }
    if (!this.credentials) {
      throw new OAuthError(
        access?.token
          ? 'the webhook download token has expired (or expires soon) and Zoom Server-to-Server OAuth is not configured (ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET)'
          : 'no webhook download token, and Zoom Server-to-Server OAuth is not configured (ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET)',
        'not_configured',
      );
    }
    return { token: (await this.oauthToken()).token, source: 'oauth' };
  }

  invalidateOAuth(token: string): void {
    if (this.cached?.token === token) this.cached = undefined;
  }

  private async oauthToken(): Promise<CachedToken> {
    const cached = this.cached;
    if (cached && cached.expiresAtMs - this.renewBeforeMs > this.now()) return cached;
    this.refreshing ??= this.refresh().finally(() => {
      this.refreshing = undefined;
    });
    try {
      return await this.refreshing;
    } catch (error) {
      // Renewal is early on purpose: while the old token still lives, a failed renewal is not an outage.
      if (cached && this.cached === cached && cached.expiresAtMs - 5_000 > this.now()) return cached;
      throw error;
    }
  }

  private async refresh(): Promise<CachedToken> {
    const credentials = this.credentials!;
    const requestedAt = this.now();
    let response: Response;
    try {
      response = await this.fetchImpl(this.tokenUrl, {
        method: 'POST',
        headers: {
          authorization: `Basic ${credentials.basic}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ grant_type: 'account_credentials', account_id: credentials.accountId }).toString(),
        redirect: 'error',
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
    } catch (cause) {
      throw new OAuthError(`Zoom OAuth token endpoint unreachable (${describeCause(cause)})`, 'unavailable', undefined, { cause });
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) throw failedResponse(response, text, requestedAt);
    let body: z.infer<typeof TokenResponseSchema>;
    try {
      body = TokenResponseSchema.parse(JSON.parse(text));
    } catch {
      throw new OAuthError('Zoom OAuth token endpoint answered 200 without a usable access_token', 'invalid_response', response.status);
    }
    // Counted from the request, not the answer: a slow answer must not stretch the token's life.
    const token = { token: body.access_token, expiresAtMs: requestedAt + body.expires_in * 1000 };
    this.cached = token;
    return token;
  }
}

function failedResponse(response: Response, text: string, nowMs: number): OAuthError {
  const status = response.status;
  let detail = '';
  try {
    const parsed = ErrorResponseSchema.safeParse(JSON.parse(text));
    if (parsed.success) detail = ` (${parsed.data.error})`;
  } catch {
    // Not JSON: the status says enough.
  }
  const message = `Zoom OAuth token endpoint answered ${status}${detail}`;
  if (status === 429 || status === 408 || status >= 500) {
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), nowMs);
    return new OAuthError(message, 'unavailable', status, { retryAfterMs });
  }
  return new OAuthError(`${message}: check ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET`, 'rejected', status);
}

/** The webhook token's expiry in ms, from `expiresAt` or the JWT's `exp`; undefined when unreadable. */
export function webhookTokenExpiry(access: WebhookDownloadAccess): number | undefined {
  if (access.expiresAt) {
    const parsed = Date.parse(access.expiresAt);
    if (Number.isFinite(parsed)) return parsed;
  }
  if (!access.token) return undefined;
  try {
    const { exp } = decodeJwt(access.token);
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

function checkTokenUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('ZOOM_OAUTH_TOKEN_URL is not a valid URL');
  }
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
  if (!secure) throw new ConfigError('ZOOM_OAUTH_TOKEN_URL must use https (http only on a loopback host)');
  if (url.username || url.password) throw new ConfigError('ZOOM_OAUTH_TOKEN_URL must not contain credentials');
  return url.toString();
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause.cause as { code?: unknown } | undefined)?.code ?? (cause as { code?: unknown }).code;
    if (cause.name === 'TimeoutError') return 'timed out';
    return typeof code === 'string' ? code : cause.name;
  }
  return 'unknown error';
}
