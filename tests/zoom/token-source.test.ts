import { SignJWT } from 'jose';
import { ConfigError } from '../../shared/errors';
import { ZoomOAuthTokenSource, webhookTokenExpiry } from '../../shared/adapters/zoom-oauth';
import { OAuthError } from '../../shared/ports/zoom-client';
import { startZoomSimulator, type ZoomSimulator } from '../../tools/zoom-simulator/simulator';

const MINUTE = 60_000;

async function webhookToken(expiresInMs: number, now = Date.now()): Promise<string> {
  return new SignJWT({ mid: 'meeting-uuid' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('https://event.zoom.us')
    .setExpirationTime(Math.floor((now + expiresInMs) / 1000))
    .sign(new TextEncoder().encode('a-secret-of-some-length-32-bytes!'));
}

/** A token endpoint under the test's control, recording every call. */
function fakeTokenEndpoint(answers: Array<() => Response | Promise<Response>>) {
  const calls: { url: string; init: RequestInit }[] = [];
  let issued = 0;
  const fetchImpl = (async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    const answer = answers.shift();
    if (answer) return answer();
    issued++;
    return Response.json({ access_token: `oauth-${issued}`, token_type: 'bearer', expires_in: 3600 });
  }) as typeof fetch;
  return { fetchImpl, calls };
}

describe('ZoomOAuthTokenSource with the Zoom simulator', () => {
  let zoom: ZoomSimulator;
  const source = (options: Partial<ConstructorParameters<typeof ZoomOAuthTokenSource>[0]> = {}) =>
    new ZoomOAuthTokenSource({
      tokenUrl: zoom.oauthTokenUrl,
      accountId: zoom.accountId,
      clientId: zoom.clientId,
      clientSecret: zoom.clientSecret,
      ...options,
    });

  beforeAll(async () => {
    zoom = await startZoomSimulator({ accountId: 'acct-1', clientId: 'client-1', clientSecret: 'secret-1' });
  });
  afterAll(async () => {
    await zoom.stop();
  });
  beforeEach(() => {
    zoom.revokeOAuthTokens();
    zoom.failOAuth(0);
    zoom.setOAuthDelay(0);
  });

  it('uses the webhook token while it has comfortably long to live', async () => {
    const tokens = source();
    const before = zoom.oauthStats.requests;
    const token = await webhookToken(60 * MINUTE);
    await expect(tokens.tokenFor({ token })).resolves.toEqual({ token, source: 'webhook' });
    expect(zoom.oauthStats.requests).toBe(before);
  });

  it('switches to OAuth when the webhook token expires within the margin, and the OAuth token works for a download', async () => {
    const recording = await zoom.addRecording({ downloadTokenTtlSeconds: 4 * 60 });
    const tokens = source();
    const result = await tokens.tokenFor({ token: recording.downloadToken });
    expect(result.source).toBe('oauth');
    expect(result.token).not.toBe(recording.downloadToken);
    const download = await fetch(recording.files[0]!.downloadUrl, { headers: { authorization: `Bearer ${result.token}` }, redirect: 'manual' });
    expect(download.status).toBe(302);
  });

  it('switches to OAuth for an expired webhook token and when there is none', async () => {
    const tokens = source();
    const expired = await webhookToken(-MINUTE);
    await expect(tokens.tokenFor({ token: expired })).resolves.toMatchObject({ source: 'oauth' });
    await expect(tokens.tokenFor(undefined)).resolves.toMatchObject({ source: 'oauth' });
    await expect(tokens.tokenFor({})).resolves.toMatchObject({ source: 'oauth' });
  });

  it('caches the OAuth token: many calls, one token request', async () => {
    const tokens = source();
    const before = zoom.oauthStats.requests;
    const first = await tokens.tokenFor(undefined);
    const second = await tokens.tokenFor(undefined);
    expect(second.token).toBe(first.token);
    expect(zoom.oauthStats.requests - before).toBe(1);
  });

  it('shares one refresh among 10 concurrent callers', async () => {
    zoom.setOAuthDelay(100);
    const tokens = source();
    const before = zoom.oauthStats.requests;
    const results = await Promise.all(Array.from({ length: 10 }, () => tokens.tokenFor(undefined)));
    expect(new Set(results.map((r) => r.token)).size).toBe(1);
    expect(zoom.oauthStats.requests - before).toBe(1);
  });

  it('fails with a retryable OAuthError while the endpoint fails, then recovers', async () => {
    zoom.failOAuth(2, { status: 503, retryAfterSeconds: 3 });
    const tokens = source();
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await tokens.tokenFor(undefined).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OAuthError);
      expect(error).toMatchObject({ retryable: true, failure: 'unavailable', status: 503, retryAfterMs: 3000, code: 'download_failed' });
    }
    await expect(tokens.tokenFor(undefined)).resolves.toMatchObject({ source: 'oauth' });
  });

  it('refuses bad credentials permanently, without the secret in the message', async () => {
    const tokens = source({ clientSecret: 'wrong-secret-value' });
    const error = await tokens.tokenFor(undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ retryable: false, failure: 'rejected', status: 401, code: 'unauthorized' });
    expect((error as Error).message).toMatch(/invalid_client/);
    expect((error as Error).message).not.toMatch(/wrong-secret-value|client-1/);
  });

  it('refuses a wrong account id permanently', async () => {
    const error = await source({ accountId: 'other-account' }).tokenFor(undefined).catch((e: unknown) => e);
    expect(error).toMatchObject({ retryable: false, failure: 'rejected', status: 400 });
  });

  it('fetches a new token after invalidateOAuth (the 401 path)', async () => {
    const tokens = source();
    const first = await tokens.tokenFor(undefined);
    tokens.invalidateOAuth('some-other-token');
    expect((await tokens.tokenFor(undefined)).token).toBe(first.token);
    tokens.invalidateOAuth(first.token);
    const second = await tokens.tokenFor(undefined);
    expect(second.token).not.toBe(first.token);
  });

  it('reports an unreachable endpoint as retryable', async () => {
    const closed = await startZoomSimulator();
    const url = closed.oauthTokenUrl;
    await closed.stop();
    const error = await source({ tokenUrl: url }).tokenFor(undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ retryable: true, failure: 'unavailable' });
  });
});

describe('ZoomOAuthTokenSource rules', () => {
  const credentials = { accountId: 'acct', clientId: 'id', clientSecret: 'shh' };

  it('posts account_credentials with HTTP Basic client credentials', async () => {
    const endpoint = fakeTokenEndpoint([]);
    const tokens = new ZoomOAuthTokenSource({ ...credentials, fetch: endpoint.fetchImpl });
    await tokens.tokenFor(undefined);
    expect(endpoint.calls).toHaveLength(1);
    const { url, init } = endpoint.calls[0]!;
    expect(url).toBe('https://zoom.us/oauth/token');
    expect(init.method).toBe('POST');
    const headers = init.headers as Record<string, string>;
    expect(headers.authorization).toBe(`Basic ${Buffer.from('id:shh').toString('base64')}`);
    expect(headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(String(init.body)))).toEqual({ grant_type: 'account_credentials', account_id: 'acct' });
  });

  it('renews the OAuth token 60 s before it expires', async () => {
    let now = Date.parse('2024-05-01T12:00:00Z');
    const endpoint = fakeTokenEndpoint([]);
    const tokens = new ZoomOAuthTokenSource({ ...credentials, fetch: endpoint.fetchImpl, now: () => now });
    expect((await tokens.tokenFor(undefined)).token).toBe('oauth-1');
    now += 3600_000 - 61_000;
    expect((await tokens.tokenFor(undefined)).token).toBe('oauth-1');
    now += 2_000; // 59 s left
    expect((await tokens.tokenFor(undefined)).token).toBe('oauth-2');
    expect(endpoint.calls).toHaveLength(2);
  });

  it('keeps serving the old token when an early renewal fails, and not once it expired', async () => {
    let now = 0;
    const endpoint = fakeTokenEndpoint([
      () => Response.json({ access_token: 'first', expires_in: 3600 }),
      () => new Response('busy', { status: 503 }),
      () => new Response('busy', { status: 503 }),
    ]);
    const tokens = new ZoomOAuthTokenSource({ ...credentials, fetch: endpoint.fetchImpl, now: () => now });
    await tokens.tokenFor(undefined);
    now = 3600_000 - 30_000; // within the renewal window, still valid
    expect((await tokens.tokenFor(undefined)).token).toBe('first');
    now = 3600_000 + 1;
    await expect(tokens.tokenFor(undefined)).rejects.toBeInstanceOf(OAuthError);
  });

  it('uses the webhook token down to minRemainingMs, reading expiresAt before the JWT', async () => {
    const now = Date.now();
    const endpoint = fakeTokenEndpoint([]);
    const tokens = new ZoomOAuthTokenSource({ ...credentials, fetch: endpoint.fetchImpl, now: () => now, minRemainingMs: 10 * MINUTE });
    const token = await webhookToken(11 * MINUTE, now);
    expect((await tokens.tokenFor({ token })).source).toBe('webhook');
    expect((await tokens.tokenFor({ token: await webhookToken(9 * MINUTE, now) })).source).toBe('oauth');
    // expiresAt (read by the webhook) wins over the token's own claim
    expect((await tokens.tokenFor({ token, expiresAt: new Date(now + MINUTE).toISOString() })).source).toBe('oauth');
  });

  it('explains that OAuth is missing when the webhook token has expired', async () => {
    const tokens = new ZoomOAuthTokenSource({ fetch: fakeTokenEndpoint([]).fetchImpl });
    const expired = await webhookToken(-MINUTE);
    const error = await tokens.tokenFor({ token: expired }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ failure: 'not_configured', retryable: false, code: 'unauthorized' });
    expect((error as Error).message).toMatch(/expired.*ZOOM_ACCOUNT_ID/);
    expect((error as Error).message).not.toContain(expired);
    // ...while a fresh one is still used without OAuth
    expect((await tokens.tokenFor({ token: await webhookToken(60 * MINUTE) })).source).toBe('webhook');
  });

  it('tries an unreadable webhook token only when there is no OAuth to fall back on', async () => {
    const endpoint = fakeTokenEndpoint([]);
    expect(await new ZoomOAuthTokenSource({ fetch: endpoint.fetchImpl }).tokenFor({ token: 'opaque' })).toEqual({ token: 'opaque', source: 'webhook' });
    expect((await new ZoomOAuthTokenSource({ ...credentials, fetch: endpoint.fetchImpl }).tokenFor({ token: 'opaque' })).source).toBe('oauth');
  });

  it.each([
    ['a 200 without access_token', () => Response.json({ token: 'x' }), 'invalid_response', true],
    ['a 200 that is not JSON', () => new Response('<html>', { status: 200 }), 'invalid_response', true],
    ['a 429 with Retry-After', () => new Response('', { status: 429, headers: { 'retry-after': '9' } }), 'unavailable', true],
    ['a 400 invalid_client', () => Response.json({ reason: 'Invalid client_id or client_secret', error: 'invalid_client' }, { status: 400 }), 'rejected', false],
    ['a network failure', () => Promise.reject(new TypeError('fetch failed')), 'unavailable', true],
  ])('maps %s', async (_case, answer, failure, retryable) => {
    const tokens = new ZoomOAuthTokenSource({ ...credentials, fetch: fakeTokenEndpoint([answer]).fetchImpl });
    const error = await tokens.tokenFor(undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ failure, retryable });
    if (_case.includes('Retry-After')) expect((error as OAuthError).retryAfterMs).toBe(9000);
  });

  it('reads exp from the JWT when expiresAt is absent', async () => {
    const now = Date.parse('2024-05-01T12:00:00Z');
    const token = await webhookToken(3600_000, now);
    expect(webhookTokenExpiry({ token })).toBe(Math.floor((now + 3600_000) / 1000) * 1000);
    expect(webhookTokenExpiry({ token: 'not-a-jwt' })).toBeUndefined();
  });

  it('refuses half a configuration and an insecure token URL at construction', () => {
    expect(() => new ZoomOAuthTokenSource({ accountId: 'a', clientId: 'b' })).toThrow(ConfigError);
    expect(() => new ZoomOAuthTokenSource({ tokenUrl: 'http://zoom.us/oauth/token' })).toThrow(ConfigError);
    expect(() => new ZoomOAuthTokenSource({ tokenUrl: 'http://127.0.0.1:9/oauth/token' })).not.toThrow();
  });
});
