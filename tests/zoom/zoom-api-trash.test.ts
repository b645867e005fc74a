/**
 * ZoomApiClient.trashRecording (shared/adapters/zoom-api.ts) against the Zoom simulator
 * over real HTTP, with real OAuth tokens: DELETE /meetings/{uuid}/recordings?action=trash
 * (never action=delete), double-encoded UUIDs, 'not_found' once trashed, retries of
 * 429/5xx, one fresh token after a 401, and the missing-scope refusal. Waits go through
 * an injected clock and sleep (recorded, not slept).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ZoomApiClient, ZoomApiInputError, type ZoomApiClientOptions } from '../../shared/adapters/zoom-api';
import { ZoomOAuthTokenSource } from '../../shared/adapters/zoom-oauth';
import { ZoomApiError, type RecordingPage, type ZoomTrashApi } from '../../shared/ports/zoom-api';
import { startZoomSimulator, type ZoomSimulator } from '../support/zoom-simulator';

const TRASH_SCOPE = 'cloud_recording:delete:meeting_recording:admin';

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** A clock that moves only when the client sleeps; every wait is recorded. */
function fakeClock(startMs = Date.parse('2026-03-01T00:00:00Z')) {
  let now = startMs;
  const waits: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      waits.push(ms);
      now += ms;
    },
    waits,
  };
}

async function collect(pages: AsyncIterable<RecordingPage>): Promise<RecordingPage[]> {
  const all: RecordingPage[] = [];
  for await (const page of pages) all.push(page);
  return all;
}

describe('ZoomApiClient.trashRecording with the Zoom simulator', () => {
  let zoom: ZoomSimulator;
  let tokenSource: ZoomOAuthTokenSource;

  beforeEach(async () => {
    zoom = await startZoomSimulator({ accountId: 'acct-trash', clientId: 'client-trash', clientSecret: 'secret-trash' });
    tokenSource = new ZoomOAuthTokenSource({
      tokenUrl: zoom.oauthTokenUrl,
      accountId: zoom.accountId,
      clientId: zoom.clientId,
      clientSecret: zoom.clientSecret,
    });
  });
  afterEach(async () => {
    // Whatever a test did, the client never deleted anything for good.
    expect(zoom.permanentlyDeleted()).toEqual([]);
    await zoom.stop();
  });

  /** The client, its fake clock, and every request it sent (method and URL). */
  const client = (options: Partial<ZoomApiClientOptions> = {}) => {
    const clock = fakeClock();
    const sent: { method: string; url: string }[] = [];
    const spy: typeof fetch = (input, init) => {
      sent.push({ method: init?.method ?? 'GET', url: String(input) });
      return fetch(input, init);
    };
    const api = new ZoomApiClient({
      baseUrl: zoom.apiBaseUrl,
      tokens: tokenSource,
      requestsPerSecond: 1000,
      now: clock.now,
      sleep: clock.sleep,
      random: () => 0.5,
      fetch: spy,
      ...options,
    });
    return { api, clock, sent };
  };

  it('moves a recording to the trash (204): then it is gone from GET and listings, and a second trash is not_found', async () => {
    const doomed = await zoom.addRecording({ uuid: 'Doomed+uoK/j4854875==', startTime: '2026-01-05T09:00:00Z' });
    const kept = await zoom.addRecording({ uuid: 'Kept4854875abcdXY==', startTime: '2026-01-06T09:00:00Z' });
    const { api, sent } = client();
    const trash: ZoomTrashApi = api;

    await expect(trash.trashRecording(doomed.uuid)).resolves.toBe('trashed');
    expect(sent).toEqual([{ method: 'DELETE', url: `${zoom.apiBaseUrl}/meetings/${encodeURIComponent(doomed.uuid)}/recordings?action=trash` }]);
    expect(zoom.trashedRecordings()).toEqual([doomed.uuid]);

    await expect(trash.getRecording(doomed.uuid)).resolves.toBeUndefined();
    await expect(api.getRecording(kept.uuid)).resolves.toMatchObject({ uuid: kept.uuid });
    const pages = await collect(api.listRecordings({ from: '2026-01-01', to: '2026-01-31' }));
    expect(pages.flatMap((page) => page.recordings.map((recording) => recording.uuid))).toEqual([kept.uuid]);

    await expect(trash.trashRecording(doomed.uuid)).resolves.toBe('not_found');
    expect(zoom.trashCalls()).toEqual([
      { uuid: doomed.uuid, action: 'trash', status: 204 },
      { uuid: doomed.uuid, action: 'trash', status: 404 },
    ]);
    expect(sent.filter((request) => request.method === 'DELETE').map((request) => new URL(request.url).search)).toEqual(['?action=trash', '?action=trash']);
    expect(zoom.apiStats().byRoute.meeting_recordings_delete).toBe(2);
    expect(api.stats()).toMatchObject({ rateLimited: 0, retries: 0 });
  });

  it('answers not_found for a meeting Zoom never had, and refuses an empty UUID before any request', async () => {
    const { api, sent } = client();
    await expect(api.trashRecording('NoSuchMeeting4854875==')).resolves.toBe('not_found');
    await expect(api.trashRecording('')).rejects.toBeInstanceOf(ZoomApiInputError);
    expect(sent).toHaveLength(1);
    expect(zoom.trashCalls()).toEqual([{ uuid: 'NoSuchMeeting4854875==', action: 'trash', status: 404 }]);
  });

  it('double-encodes a UUID that starts with / or contains // (encoded once, Zoom does not find it)', async () => {
    const slashed = await zoom.addRecording({ uuid: '/ajXp112QmuoKj4854875==', startTime: '2026-01-05T09:00:00Z' });
    const inner = await zoom.addRecording({ uuid: 'ab//cd+efGHij4854875==', startTime: '2026-01-06T09:00:00Z' });

    // Sent by hand, encoded only once: 404 3301, and nothing is trashed.
    const { token } = await tokenSource.tokenFor(undefined);
    for (const uuid of [slashed.uuid, inner.uuid]) {
      const once = await fetch(`${zoom.apiBaseUrl}/meetings/${encodeURIComponent(uuid)}/recordings?action=trash`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(once.status).toBe(404);
      expect(await once.json()).toEqual({ code: 3301, message: 'This recording does not exist.' });
    }
    expect(zoom.trashedRecordings()).toEqual([]);

    const { api, sent } = client();
    await expect(api.trashRecording(slashed.uuid)).resolves.toBe('trashed');
    await expect(api.trashRecording(inner.uuid)).resolves.toBe('trashed');
    expect(zoom.trashedRecordings()).toEqual([slashed.uuid, inner.uuid]);
    expect(sent.map((request) => new URL(request.url).pathname)).toEqual([
      '/v2/meetings/%252FajXp112QmuoKj4854875%253D%253D/recordings',
      '/v2/meetings/ab%252F%252Fcd%252BefGHij4854875%253D%253D/recordings',
    ]);
    expect(zoom.trashCalls().slice(2)).toEqual([
      { uuid: slashed.uuid, action: 'trash', status: 204 },
      { uuid: inner.uuid, action: 'trash', status: 204 },
    ]);
  });

  describe('429 and failures', () => {
    let uuid: string;
    beforeEach(async () => {
      uuid = (await zoom.addRecording({ uuid: 'Retried4854875abc==', startTime: '2026-01-05T09:00:00Z' })).uuid;
    });

    it('waits out Retry-After on 429, then trashes', async () => {
      zoom.failApi(2, { retryAfterSeconds: 3 });
      const { api, clock } = client();
      await expect(api.trashRecording(uuid)).resolves.toBe('trashed');
      expect(clock.waits).toEqual([3000, 3000]);
      expect(api.stats()).toMatchObject({ calls: 3, rateLimited: 2, retries: 2 });
      expect(zoom.trashCalls().map((call) => call.status)).toEqual([429, 429, 204]);
      expect(zoom.trashedRecordings()).toEqual([uuid]);
    });

    it('backs off exponentially with full jitter on a 429 without Retry-After', async () => {
      zoom.failApi(3);
      const { api, clock } = client({ random: () => 0.5 });
      await expect(api.trashRecording(uuid)).resolves.toBe('trashed');
      // Half of 1 s, 2 s, 4 s.
      expect(clock.waits).toEqual([500, 1000, 2000]);
      expect(api.stats()).toMatchObject({ calls: 4, rateLimited: 3, retries: 3 });
      expect(zoom.trashCalls().map((call) => call.status)).toEqual([429, 429, 429, 204]);
    });

    it('retries 503 the same way', async () => {
      zoom.failApi(2, { status: 503 });
      const { api, clock } = client({ random: () => 0.25 });
      await expect(api.trashRecording(uuid)).resolves.toBe('trashed');
      expect(clock.waits).toEqual([250, 500]);
      expect(api.stats()).toMatchObject({ calls: 3, rateLimited: 0, retries: 2 });
      expect(zoom.trashCalls().map((call) => call.status)).toEqual([503, 503, 204]);
    });

    it('gives up after maxRetries with unavailable, naming DELETE and the path', async () => {
      zoom.failApi(100, { status: 503 });
      const { api } = client({ maxRetries: 2 });
      const error = await failure(api.trashRecording(uuid));
      expect(error).toBeInstanceOf(ZoomApiError);
      const path = `/meetings/${encodeURIComponent(uuid)}/recordings`;
      expect(error).toMatchObject({ failure: 'unavailable', retryable: true, details: { status: 503, path } });
      expect((error as Error).message).toContain(`DELETE ${path}`);
      expect((error as Error).message).not.toContain('GET');
      expect((error as Error).message).toContain('3 times');
      expect(zoom.trashedRecordings()).toEqual([]);
    });

    it('retries once with a fresh token after a 401 (a revoked OAuth token)', async () => {
      const { api } = client();
      await expect(api.getRecording(uuid)).resolves.toMatchObject({ uuid });
      const issued = zoom.oauthStats.issued;
      zoom.revokeOAuthTokens();
      await expect(api.trashRecording(uuid)).resolves.toBe('trashed');
      expect(zoom.oauthStats.issued).toBe(issued + 1);
      expect(zoom.trashCalls().map((call) => call.status)).toEqual([401, 204]);
    });
  });

  describe('refusals', () => {
    it('is unauthorized when the token lacks the scope (4711), naming the scope, without the token', async () => {
      const recording = await zoom.addRecording({ uuid: 'Scoped4854875abcd==', startTime: '2026-01-05T09:00:00Z' });
      zoom.refuseTrash(4711);
      const invalidated: string[] = [];
      const tokens = {
        tokenFor: (wanted: undefined) => tokenSource.tokenFor(wanted),
        invalidateOAuth: (token: string) => {
          invalidated.push(token);
          tokenSource.invalidateOAuth(token);
        },
      };
      const { api } = client({ tokens });
      const error = await failure(api.trashRecording(recording.uuid));
      expect(error).toBeInstanceOf(ZoomApiError);
      const path = `/meetings/${encodeURIComponent(recording.uuid)}/recordings`;
      expect(error).toMatchObject({ failure: 'unauthorized', retryable: false, details: { status: 400, zoomCode: 4711, path } });
      const message = (error as Error).message;
      expect(message).toContain(`DELETE ${path}`);
      expect(message).toContain(`lacks the scope ${TRASH_SCOPE}`);
      const { token } = await tokenSource.tokenFor(undefined);
      expect(message).not.toContain(token);
      // A missing scope is not cured by a fresh token, and not retried.
      expect(invalidated).toEqual([]);
      expect(api.stats()).toMatchObject({ calls: 1, retries: 0 });
      await expect(api.getRecording(recording.uuid)).resolves.toMatchObject({ uuid: recording.uuid });

      zoom.refuseTrash(undefined);
      await expect(api.trashRecording(recording.uuid)).resolves.toBe('trashed');
    });

    it('is unauthorized, without the token, when Zoom refuses even a fresh token (401 124)', async () => {
      await zoom.addRecording({ uuid: 'Refused4854875abc==', startTime: '2026-01-05T09:00:00Z' });
      const invalidated: string[] = [];
      const tokens = {
        tokenFor: async () => ({ token: 'not-a-zoom-token-SECRET', source: 'oauth' as const }),
        invalidateOAuth: (token: string) => void invalidated.push(token),
      };
      const { api } = client({ tokens });
      const error = await failure(api.trashRecording('Refused4854875abc=='));
      expect(error).toMatchObject({ failure: 'unauthorized', details: { status: 401, zoomCode: 124 } });
      expect((error as Error).message).toMatch(/^Zoom refused DELETE \/meetings\/.+ freshly issued$/);
      expect((error as Error).message).not.toContain('SECRET');
      expect(invalidated).toEqual(['not-a-zoom-token-SECRET']);
      expect(zoom.trashCalls().map((call) => call.status)).toEqual([401, 401]);
      expect(zoom.trashedRecordings()).toEqual([]);
    });
  });

  it('cannot send action=delete: outside its comments the adapter never spells the action', () => {
    const source = readFileSync(path.join(__dirname, '../../shared/adapters/zoom-api.ts'), 'utf8');
    const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    expect(code).toContain("Object.freeze({ action: 'trash' })");
    expect(code).not.toMatch(/['"`](?!DELETE['"`])delete['"`]/i); // 'DELETE' is the HTTP method
    expect(code).not.toMatch(/action\s*[=:]\s*['"`]?\s*delete/i);
    // trashRecording takes the UUID and options only.
    expect(ZoomApiClient.prototype.trashRecording.length).toBe(1);
  });
});
