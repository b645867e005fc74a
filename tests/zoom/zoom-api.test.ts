/**
 * ZoomApiClient (shared/adapters/zoom-api.ts) against the Zoom simulator over real
 * HTTP, with real OAuth tokens from its token endpoint: month windows, page tokens,
 * the per-user fallback, 429s with and without Retry-After, double-encoded UUIDs and
 * local pacing. Waits go through an injected clock and sleep (recorded, not slept),
 * except where a test says otherwise; a tiny local server plays a Zoom that answers
 * garbage, for the malformed-response cases only.
 */
import fc from 'fast-check';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../../shared/errors';
import { ZoomApiClient, ZoomApiInputError, createZoomApi, meetingIdPath, monthWindows, type ZoomApiClientOptions } from '../../shared/adapters/zoom-api';
import { ZoomOAuthTokenSource } from '../../shared/adapters/zoom-oauth';
import { ZoomApiError, type DateRange, type RecordingPage } from '../../shared/ports/zoom-api';
import { OAuthError } from '../../shared/ports/zoom-client';
import { TokenBucket } from '../../shared/rate-limit';
import { startZoomSimulator, type ZoomSimulator } from '../../tools/zoom-simulator/simulator';

async function collect(pages: AsyncIterable<RecordingPage>): Promise<RecordingPage[]> {
  const all: RecordingPage[] = [];
  for await (const page of pages) all.push(page);
  return all;
}

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

const uuids = (pages: RecordingPage[]) => pages.flatMap((page) => page.recordings.map((recording) => recording.uuid));

// -----------------------------------------------------------------------------------
// Pure functions

describe('monthWindows', () => {
  it('cuts a year into its 12 calendar months, both ends included', () => {
    const windows = monthWindows({ from: '2025-01-01', to: '2025-12-31' });
    expect(windows).toHaveLength(12);
    expect(windows.slice(0, 3)).toEqual([
      { from: '2025-01-01', to: '2025-01-31' },
      { from: '2025-02-01', to: '2025-02-28' },
      { from: '2025-03-01', to: '2025-03-31' },
    ]);
    expect(windows[11]).toEqual({ from: '2025-12-01', to: '2025-12-31' });
  });

  it('starts each window on the day after the last one and ends it before the same day of the next month', () => {
    expect(monthWindows({ from: '2026-01-15', to: '2026-02-20' })).toEqual([
      { from: '2026-01-15', to: '2026-02-14' },
      { from: '2026-02-15', to: '2026-02-20' },
    ]);
    // Jan 31 + 1 month is Feb 28 (clamped, as Zoom's cap): the window ends the day before.
    expect(monthWindows({ from: '2026-01-31', to: '2026-03-31' })).toEqual([
      { from: '2026-01-31', to: '2026-02-27' },
      { from: '2026-02-28', to: '2026-03-27' },
      { from: '2026-03-28', to: '2026-03-31' },
    ]);
    expect(monthWindows({ from: '2024-02-01', to: '2024-02-29' })).toEqual([{ from: '2024-02-01', to: '2024-02-29' }]);
    expect(monthWindows({ from: '2026-05-07', to: '2026-05-07' })).toEqual([{ from: '2026-05-07', to: '2026-05-07' }]);
  });

  it('always covers the range exactly, in consecutive windows within Zoom\'s one-month cap', () => {
    const day = fc.integer({ min: Date.UTC(2019, 0, 1) / 86_400_000, max: Date.UTC(2030, 11, 31) / 86_400_000 });
    const iso = (d: number) => new Date(d * 86_400_000).toISOString().slice(0, 10);
    fc.assert(
      fc.property(day, fc.integer({ min: 0, max: 800 }), (start, length) => {
        const range = { from: iso(start), to: iso(start + length) };
        const windows = monthWindows(range);
        expect(windows[0]!.from).toBe(range.from);
        expect(windows.at(-1)!.to).toBe(range.to);
        windows.forEach((window, index) => {
          expect(window.from <= window.to).toBe(true);
          expect(window.to < oneMonthAfter(window.from)).toBe(true);
          if (index > 0) expect(window.from).toBe(nextDay(windows[index - 1]!.to));
        });
        // No more windows than months touched, plus one for clamped month ends.
        expect(windows.length).toBeLessThanOrEqual(Math.ceil((length + 1) / 28) + 1);
      }),
    );
  });

  it('refuses dates that are not real YYYY-MM-DD and ranges that end before they start', () => {
    for (const range of [
      { from: '2026-02-30', to: '2026-03-01' },
      { from: '2026-1-01', to: '2026-03-01' },
      { from: '2026-01-01', to: '2026-03-01T00:00:00Z' },
      { from: '', to: '2026-03-01' },
      { from: '2026-03-02', to: '2026-03-01' },
    ]) {
      expect(() => monthWindows(range)).toThrow(ZoomApiInputError);
    }
    expect(() => monthWindows({ from: '2026-03-02', to: '2026-03-01' })).toThrow(/ends \(to 2026-03-01\) before it starts \(from 2026-03-02\)/);
  });
});

function oneMonthAfter(date: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return new Date(Date.UTC(y, m, Math.min(d, last))).toISOString().slice(0, 10);
}

function nextDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

describe('meetingIdPath', () => {
  it('encodes a UUID once, or twice when it starts with / or contains //', () => {
    expect(meetingIdPath('4444AAAiAAAAAiAiAiiAii==')).toBe('4444AAAiAAAAAiAiAiiAii%3D%3D');
    expect(meetingIdPath('ab/c+d==')).toBe('ab%2Fc%2Bd%3D%3D');
    expect(meetingIdPath('/ajXp112QmuoKj4854875==')).toBe('%252FajXp112QmuoKj4854875%253D%253D');
    expect(meetingIdPath('ab//cd==')).toBe('ab%252F%252Fcd%253D%253D');
    expect(() => meetingIdPath('')).toThrow(ZoomApiInputError);
  });
});

describe('TokenBucket', () => {
  it('lets a burst of its capacity through, then spaces requests 1/rate apart', () => {
    let now = 0;
    const bucket = new TokenBucket(4, () => now);
    expect([bucket.reserve(), bucket.reserve(), bucket.reserve(), bucket.reserve()]).toEqual([0, 0, 0, 0]);
    // Reserved together, each waits one interval longer than the one before.
    expect([bucket.reserve(), bucket.reserve()]).toEqual([250, 500]);
    now += 500;
    expect(bucket.reserve()).toBe(250);
    bucket.refund();
    now += 250;
    expect(bucket.reserve()).toBe(0);
  });

  it('holds one request below 1/s', () => {
    let now = 0;
    const bucket = new TokenBucket(0.5, () => now);
    expect(bucket.capacity).toBe(1);
    expect(bucket.reserve()).toBe(0);
    expect(bucket.reserve()).toBe(2000);
    expect(() => new TokenBucket(0)).toThrow(RangeError);
  });
});

describe('ZoomApiClient configuration', () => {
  const tokens = { tokenFor: async () => ({ token: 't', source: 'oauth' as const }), invalidateOAuth: () => {} };

  it.each([
    ['http://api.zoom.us/v2', /must use https/],
    ['ftp://127.0.0.1/v2', /must use https/],
    ['https://user:pass@api.zoom.us/v2', /must not contain credentials/],
    ['not a url', /not a valid URL/],
  ])('refuses ZOOM_API_BASE_URL %s', (baseUrl, message) => {
    let error: unknown;
    try {
      new ZoomApiClient({ baseUrl, tokens, requestsPerSecond: 10 });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(message);
    expect((error as ConfigError).message).not.toContain('pass');
    expect((error as ConfigError).variables).toEqual(['ZOOM_API_BASE_URL']);
  });

  it('accepts https and loopback http, and builds from the reconciler settings', () => {
    expect(() => new ZoomApiClient({ baseUrl: 'https://api.zoom.us/v2/', tokens, requestsPerSecond: 10 })).not.toThrow();
    expect(() => new ZoomApiClient({ baseUrl: 'http://127.0.0.1:9/v2', tokens, requestsPerSecond: 10 })).not.toThrow();
    const api = createZoomApi({ apiBaseUrl: 'https://api.zoom.us/v2', requestsPerSecond: 10, lookbackDays: 3 }, tokens);
    expect(api.stats()).toEqual({ calls: 0, rateLimited: 0, retries: 0, pacedMs: 0 });
  });

  it('refuses a bad range at the call, before any request', () => {
    const fetchSpy = jest.fn();
    const api = new ZoomApiClient({ baseUrl: 'https://api.zoom.us/v2', tokens, requestsPerSecond: 10, fetch: fetchSpy as unknown as typeof fetch });
    expect(() => api.listRecordings({ from: '2026-02-01', to: '2026-01-01' })).toThrow(ZoomApiInputError);
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});

// -----------------------------------------------------------------------------------
// Against the simulator

describe('ZoomApiClient with the Zoom simulator', () => {
  let zoom: ZoomSimulator;
  let tokenSource: ZoomOAuthTokenSource;

  beforeEach(async () => {
    zoom = await startZoomSimulator({ accountId: 'acct-api', clientId: 'client-api', clientSecret: 'secret-api' });
    tokenSource = new ZoomOAuthTokenSource({
      tokenUrl: zoom.oauthTokenUrl,
      accountId: zoom.accountId,
      clientId: zoom.clientId,
      clientSecret: zoom.clientSecret,
    });
  });
  afterEach(async () => {
    await zoom.stop();
  });

  const client = (options: Partial<ZoomApiClientOptions> = {}) => {
    const clock = fakeClock();
    const api = new ZoomApiClient({
      baseUrl: zoom.apiBaseUrl,
      tokens: tokenSource,
      requestsPerSecond: 1000,
      now: clock.now,
      sleep: clock.sleep,
      random: () => 0.5,
      ...options,
    });
    return { api, clock };
  };

  /** Recordings on the 1st, the 14th and the last day of each month of 2025, and two outside the year. */
  async function yearOfRecordings(hostId?: string): Promise<string[]> {
    const inside: string[] = [];
    for (let month = 0; month < 12; month++) {
      const last = new Date(Date.UTC(2025, month + 1, 0)).getUTCDate();
      for (const day of [1, 14, last]) {
        const startTime = new Date(Date.UTC(2025, month, day, day === last ? 23 : 0, day === last ? 59 : 0)).toISOString().replace('.000Z', 'Z');
        inside.push((await zoom.addRecording({ startTime, ...(hostId ? { hostId } : {}) })).uuid);
      }
    }
    await zoom.addRecording({ startTime: '2024-12-31T23:59:00Z' });
    await zoom.addRecording({ startTime: '2026-01-01T00:00:00Z' });
    return inside;
  }

  it('lists a 12-month range as 12 windows, following next_page_token, every recording exactly once', async () => {
    const expected = await yearOfRecordings();
    const { api } = client({ pageSize: 2 });
    const pages = await collect(api.listRecordings({ from: '2025-01-01', to: '2025-12-31' }));

    const windows = [...new Map(pages.map((page) => [page.window.from, page.window])).values()];
    expect(windows).toEqual(monthWindows({ from: '2025-01-01', to: '2025-12-31' }));
    expect(windows).toHaveLength(12);
    // Three recordings a month at page_size 2: pages 1 and 2 of every window.
    expect(pages).toHaveLength(24);
    expect(pages.map((page) => page.pageNumber)).toEqual(Array.from({ length: 24 }, (_, index) => (index % 2) + 1));
    expect(pages.every((page) => page.listing === 'account' && page.userId === undefined)).toBe(true);
    const listed = uuids(pages);
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual([...expected].sort());
    // Each recording is in the window of its start date.
    for (const page of pages) {
      for (const recording of page.recordings) {
        const day = recording.start_time.slice(0, 10);
        expect(day >= page.window.from && day <= page.window.to).toBe(true);
      }
    }
    expect(zoom.apiStats().byRoute.account_recordings).toBe(24);
    expect(api.stats()).toMatchObject({ calls: 24, rateLimited: 0, retries: 0 });
  });

  it('passes files Zoom is still processing through as they are listed', async () => {
    const recording = await zoom.addRecording({ startTime: '2026-02-10T10:00:00Z', files: [{ fileType: 'MP4' }, { fileType: 'TRANSCRIPT', status: 'processing' }] });
    const { api } = client();
    const [page] = await collect(api.listRecordings({ from: '2026-02-01', to: '2026-02-28' }));
    expect(page!.recordings.map((r) => r.uuid)).toEqual([recording.uuid]);
    expect(page!.recordings[0]!.recording_files.map((file) => file.status)).toEqual(['completed', 'processing']);
    zoom.setFileStatus(recording.files[1]!.fileId, 'completed');
    const [again] = await collect(api.listRecordings({ from: '2026-02-01', to: '2026-02-28' }));
    expect(again!.recordings[0]!.recording_files.map((file) => file.status)).toEqual(['completed', 'completed']);
  });

  describe('per-user fallback', () => {
    async function accountWithUsers() {
      const active = await zoom.addRecording({ startTime: '2026-01-05T09:00:00Z', hostId: 'teacher-active', hostEmail: 'a@example.com' });
      const active2 = await zoom.addRecording({ startTime: '2026-02-11T09:00:00Z', hostId: 'teacher-active', hostEmail: 'a@example.com' });
      const departed = await zoom.addRecording({ startTime: '2026-01-20T09:00:00Z', hostId: 'teacher/gone', hostEmail: 'g@example.com' });
      zoom.addUser({ id: 'teacher/gone', status: 'inactive' });
      zoom.addUser({ id: 'invited-user', email: 'new@example.com', status: 'pending' });
      zoom.addUser({ id: 'active-no-recordings', status: 'active' });
      return { expected: [active.uuid, active2.uuid, departed.uuid] };
    }

    it('lists user by user when the account listing lacks the scope (4711): active and inactive users, never pending ones', async () => {
      const { expected } = await accountWithUsers();
      zoom.refuseAccountListing(4711);
      const { api } = client({ pageSize: 1 });
      const issuedBefore = zoom.oauthStats.issued;
      const pages = await collect(api.listRecordings({ from: '2026-01-01', to: '2026-02-28' }));

      expect(pages.every((page) => page.listing === 'users')).toBe(true);
      expect([...uuids(pages)].sort()).toEqual([...expected].sort());
      expect(pages.find((page) => page.recordings.some((r) => r.uuid === expected[2]))).toMatchObject({
        userId: 'teacher/gone',
        window: { from: '2026-01-01', to: '2026-01-31' },
        pageNumber: 1,
      });
      const stats = zoom.apiStats();
      // Refused once, no fresh token asked for a missing scope, users listed once for both windows.
      expect(stats.byRoute.account_recordings).toBe(1);
      expect(zoom.oauthStats.issued - issuedBefore).toBeLessThanOrEqual(1);
      const paths = zoom.requestLog.filter((entry) => entry.kind === 'api').map((entry) => entry.path);
      expect(paths).toContain('/v2/users/teacher%2Fgone/recordings');
      expect(paths.some((path) => path.includes('invited-user'))).toBe(false);
      // Three users (two active, one inactive) x two windows, at least one call each.
      expect(stats.byRoute.user_recordings).toBeGreaterThanOrEqual(6);

      // For the rest of the client's life: the account listing is not tried again.
      zoom.refuseAccountListing(undefined);
      const later = await collect(api.listRecordings({ from: '2026-01-01', to: '2026-01-31' }));
      expect(later.every((page) => page.listing === 'users')).toBe(true);
      expect(zoom.apiStats().byRoute.account_recordings).toBe(1);
      expect(api.listingMode).toBe('users');
    });

    it('on 124 for the account listing tries a fresh token once, then lists user by user', async () => {
      const { expected } = await accountWithUsers();
      zoom.refuseAccountListing(124);
      const { api } = client();
      const issuedBefore = zoom.oauthStats.issued;
      const pages = await collect(api.listRecordings({ from: '2026-01-01', to: '2026-02-28' }));
      expect(pages.every((page) => page.listing === 'users')).toBe(true);
      expect([...uuids(pages)].sort()).toEqual([...expected].sort());
      expect(zoom.apiStats().byRoute.account_recordings).toBe(2);
      // The first token, then the fresh one after the first 124.
      expect(zoom.oauthStats.issued - issuedBefore).toBe(2);
    });

    it('is unauthorized when the users answer 124 as well (a token Zoom refuses everywhere)', async () => {
      await accountWithUsers();
      const invalidated: string[] = [];
      const tokens = {
        tokenFor: async () => ({ token: 'not-a-zoom-token-SECRET', source: 'oauth' as const }),
        invalidateOAuth: (token: string) => void invalidated.push(token),
      };
      const { api } = client({ tokens });
      const error = await failure(collect(api.listRecordings({ from: '2026-01-01', to: '2026-01-31' })));
      expect(error).toBeInstanceOf(ZoomApiError);
      expect(error).toMatchObject({ failure: 'unauthorized', retryable: false, details: { status: 401, zoomCode: 124, path: '/users' } });
      expect((error as Error).message).not.toContain('SECRET');
      // Once for the account listing, once for the users.
      expect(invalidated).toHaveLength(2);
      expect(zoom.apiStats().byRoute).toMatchObject({ account_recordings: 2, users: 2, user_recordings: 0 });
    });
  });

  it('retries once with a fresh token after a 401 (a revoked OAuth token)', async () => {
    const recording = await zoom.addRecording({ startTime: '2026-01-05T09:00:00Z' });
    const { api } = client();
    await expect(api.getRecording(recording.uuid)).resolves.toMatchObject({ uuid: recording.uuid });
    zoom.revokeOAuthTokens();
    await expect(api.getRecording(recording.uuid)).resolves.toMatchObject({ uuid: recording.uuid });
    expect(api.stats().calls).toBe(3);
    expect(api.listingMode).toBe('account');
  });

  it('lets an OAuthError from the token source through as it is', async () => {
    zoom.failOAuth(1, { status: 401 });
    const { api } = client();
    const error = await failure(collect(api.listRecordings({ from: '2026-01-01', to: '2026-01-31' })));
    expect(error).toBeInstanceOf(OAuthError);
    expect(zoom.apiStats().calls).toBe(0);
  });

  describe('429 and failures', () => {
    beforeEach(async () => {
      await zoom.addRecording({ startTime: '2026-01-05T09:00:00Z' });
    });
    const range: DateRange = { from: '2026-01-01', to: '2026-01-31' };

    it('waits out Retry-After', async () => {
      zoom.failApi(2, { retryAfterSeconds: 3 });
      const { api, clock } = client();
      const pages = await collect(api.listRecordings(range));
      expect(uuids(pages)).toHaveLength(1);
      expect(clock.waits).toEqual([3000, 3000]);
      expect(api.stats()).toMatchObject({ calls: 3, rateLimited: 2, retries: 2 });
    });

    it('backs off exponentially with full jitter when a 429 has no Retry-After', async () => {
      zoom.failApi(3);
      const { api, clock } = client({ random: () => 0.5 });
      await collect(api.listRecordings(range));
      // Half of 1 s, 2 s, 4 s.
      expect(clock.waits).toEqual([500, 1000, 2000]);
      expect(api.stats()).toMatchObject({ calls: 4, rateLimited: 3, retries: 3 });
    });

    it('retries 5xx the same way', async () => {
      zoom.failApi(2, { status: 503 });
      const { api, clock } = client({ random: () => 0.25 });
      await expect(collect(api.listRecordings(range))).resolves.toHaveLength(1);
      expect(clock.waits).toEqual([250, 500]);
      expect(api.stats()).toMatchObject({ calls: 3, rateLimited: 0, retries: 2 });
    });

    it('gives up after maxRetries with unavailable, naming the window', async () => {
      zoom.failApi(100);
      const { api } = client({ maxRetries: 3 });
      const error = await failure(collect(api.listRecordings(range)));
      expect(error).toBeInstanceOf(ZoomApiError);
      expect(error).toMatchObject({ failure: 'unavailable', retryable: true, details: { status: 429, window: range, path: '/accounts/me/recordings' } });
      expect((error as Error).message).toContain('2026-01-01..2026-01-31');
      expect((error as Error).message).toContain('4 times');
      expect(api.stats()).toMatchObject({ calls: 4, rateLimited: 4, retries: 3 });
    });

    it('fails at once when Retry-After is beyond the longest wait accepted, naming when to retry', async () => {
      zoom.failApi(1, { retryAfterSeconds: 86_400 });
      const { api, clock } = client();
      const error = await failure(collect(api.listRecordings(range)));
      expect(error).toMatchObject({ failure: 'unavailable', details: { status: 429 } });
      expect((error as Error).message).toContain(new Date(clock.now() + 86_400_000).toISOString());
      expect(clock.waits).toEqual([]);
    });

    it("waits out the simulator's own per-second limit (real Retry-After, real sleep)", async () => {
      await zoom.addRecording({ startTime: '2026-01-06T09:00:00Z' });
      zoom.setRateLimit('medium', 1);
      const api = new ZoomApiClient({ baseUrl: zoom.apiBaseUrl, tokens: tokenSource, requestsPerSecond: 100, pageSize: 1 });
      const pages = await collect(api.listRecordings(range));
      expect(uuids(pages)).toHaveLength(2);
      expect(api.stats().rateLimited).toBeGreaterThanOrEqual(1);
      expect(api.stats().rateLimited).toBe(zoom.apiStats().rateLimited);
    });

    it('stops waiting when the signal aborts', async () => {
      zoom.failApi(5, { retryAfterSeconds: 60 });
      const api = new ZoomApiClient({ baseUrl: zoom.apiBaseUrl, tokens: tokenSource, requestsPerSecond: 100 });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50);
      const error = await failure(collect(api.listRecordings(range, { signal: controller.signal })));
      expect((error as Error).name).toBe('AbortError');
      expect(api.stats().calls).toBe(1);
    });
  });

  describe('getRecording', () => {
    it('finds a UUID that needs double encoding, and a plain one', async () => {
      const slashed = await zoom.addRecording({ uuid: '/ajXp112QmuoKj4854875==', startTime: '2026-01-05T09:00:00Z' });
      const inner = await zoom.addRecording({ uuid: 'ab//cd+efGHij4854875==', startTime: '2026-01-06T09:00:00Z' });
      const plain = await zoom.addRecording({ uuid: 'Qm+uoK/j4854875abcdXY==', startTime: '2026-01-07T09:00:00Z' });
      const { api } = client();
      await expect(api.getRecording(slashed.uuid)).resolves.toMatchObject({ uuid: slashed.uuid, start_time: '2026-01-05T09:00:00Z' });
      await expect(api.getRecording(inner.uuid)).resolves.toMatchObject({ uuid: inner.uuid });
      await expect(api.getRecording(plain.uuid)).resolves.toMatchObject({ uuid: plain.uuid });
      // Encoded only once, the simulator (like Zoom) does not find it: the double encoding matters.
      const token = (await tokenSource.tokenFor(undefined)).token;
      const once = await fetch(`${zoom.apiBaseUrl}/meetings/${encodeURIComponent(slashed.uuid)}/recordings`, { headers: { authorization: `Bearer ${token}` } });
      expect(once.status).toBe(404);
    });

    it('answers undefined for a meeting without recordings', async () => {
      const { api } = client();
      await expect(api.getRecording('NoSuchMeeting4854875==')).resolves.toBeUndefined();
      expect(api.stats().calls).toBe(1);
    });
  });

  describe('pacing', () => {
    it('N calls at R/s wait at least (N - capacity)/R seconds in the local bucket', async () => {
      for (let day = 1; day <= 10; day++) await zoom.addRecording({ startTime: `2026-01-${String(day).padStart(2, '0')}T09:00:00Z` });
      const { api, clock } = client({ requestsPerSecond: 4, pageSize: 1 });
      const pages = await collect(api.listRecordings({ from: '2026-01-01', to: '2026-01-31' }));
      expect(pages).toHaveLength(10);
      const { calls, pacedMs } = api.stats();
      expect(calls).toBe(10);
      expect(pacedMs).toBeGreaterThanOrEqual(((10 - 4) / 4) * 1000);
      expect(clock.waits.reduce((sum, ms) => sum + ms, 0)).toBe(pacedMs);
    });

    it("keeps under the simulator's limit when set below it, as the default 10/s is below Pro's 20/s (no 429)", async () => {
      for (let day = 1; day <= 8; day++) await zoom.addRecording({ startTime: `2026-01-${String(day).padStart(2, '0')}T09:00:00Z` });
      zoom.setRateLimit('medium', 6);
      const api = new ZoomApiClient({ baseUrl: zoom.apiBaseUrl, tokens: tokenSource, requestsPerSecond: 5, pageSize: 1 });
      await expect(collect(api.listRecordings({ from: '2026-01-01', to: '2026-01-31' }))).resolves.toHaveLength(8);
      expect(zoom.apiStats().rateLimited).toBe(0);
      expect(api.stats()).toMatchObject({ calls: 8, rateLimited: 0 });
      // On a real clock the requests' own time refills the bucket too: the exact bound is the fake-clock test's.
      expect(api.stats().pacedMs).toBeGreaterThan(0);
    });
  });
});

// -----------------------------------------------------------------------------------
// A Zoom that answers garbage

describe('ZoomApiClient with malformed answers', () => {
  let server: http.Server;
  let baseUrl: string;
  let answer: (url: URL) => { status: number; body: string; headers?: Record<string, string> };
  const TOKEN = 'local-token-DO-NOT-LEAK';
  const tokens = { tokenFor: async () => ({ token: TOKEN, source: 'oauth' as const }), invalidateOAuth: () => {} };

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      const { status, body, headers } = answer(new URL(request.url ?? '/', 'http://local'));
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const client = () => {
    const clock = fakeClock();
    return new ZoomApiClient({ baseUrl, tokens, requestsPerSecond: 1000, now: clock.now, sleep: clock.sleep });
  };
  const range = { from: '2026-01-01', to: '2026-02-28' };

  it('fails a page that is not JSON, naming its window', async () => {
    answer = (url) => (url.searchParams.get('from') === '2026-02-01' ? { status: 200, body: '<html>maintenance</html>' } : { status: 200, body: JSON.stringify({ next_page_token: '', meetings: [] }) });
    const pages: RecordingPage[] = [];
    const error = await failure(
      (async () => {
        for await (const page of client().listRecordings(range)) pages.push(page);
      })(),
    );
    expect(pages).toHaveLength(1);
    expect(error).toBeInstanceOf(ZoomApiError);
    expect(error).toMatchObject({ failure: 'invalid_response', details: { window: { from: '2026-02-01', to: '2026-02-28' } } });
    expect((error as Error).message).toMatch(/window 2026-02-01\.\.2026-02-28, page 1 is not JSON/);
    expect((error as Error).message).not.toContain(TOKEN);
  });

  it('fails a page whose recordings are not what Zoom documents, saying what is wrong', async () => {
    const good = { uuid: 'u1==', id: 1, topic: 't', start_time: '2026-01-02T00:00:00Z', recording_files: [], future_field: { x: 1 }, host_email: null };
    const bad = { uuid: 'u2==', id: 2, topic: 't', recording_files: [] };
    answer = () => ({ status: 200, body: JSON.stringify({ next_page_token: null, total_records: 2, meetings: [good, bad] }) });
    const error = await failure(collect(client().listRecordings({ from: '2026-01-01', to: '2026-01-31' })));
    expect(error).toMatchObject({ failure: 'invalid_response', details: { window: { from: '2026-01-01', to: '2026-01-31' } } });
    expect((error as Error).message).toContain('meetings[1].start_time');
    expect((error as Error).message).toContain('2026-01-01..2026-01-31');

    answer = () => ({ status: 200, body: JSON.stringify({ next_page_token: '', meetings: [good] }) });
    const [page] = await collect(client().listRecordings({ from: '2026-01-01', to: '2026-01-31' }));
    expect(page!.recordings).toEqual([expect.objectContaining({ uuid: 'u1==', host_email: undefined })]);
  });

  it('fails a listing whose next_page_token comes back again', async () => {
    answer = () => ({ status: 200, body: JSON.stringify({ next_page_token: 'same', meetings: [] }) });
    const error = await failure(collect(client().listRecordings({ from: '2026-01-01', to: '2026-01-31' })));
    expect(error).toMatchObject({ failure: 'invalid_response' });
    expect((error as Error).message).toMatch(/repeats an earlier next_page_token/);
  });

  it("rejects other 4xx with Zoom's code and capped message, the path without its query", async () => {
    answer = () => ({ status: 400, body: JSON.stringify({ code: 300, message: `Invalid field ${'x'.repeat(500)} ${TOKEN}` }) });
    const error = await failure(collect(client().listRecordings({ from: '2026-01-01', to: '2026-01-31' })));
    expect(error).toMatchObject({ failure: 'rejected', retryable: false, details: { status: 400, zoomCode: 300, path: '/accounts/me/recordings' } });
    const message = (error as Error).message;
    expect(message).toContain('400 (code 300');
    expect(message).not.toContain('page_size');
    expect(message).not.toContain(TOKEN);
    expect(message.length).toBeLessThan(400);

    answer = () => ({ status: 403, body: JSON.stringify({ code: 200, message: 'No permission.' }) });
    await expect(client().getRecording('abc==')).rejects.toMatchObject({ failure: 'unauthorized', details: { status: 403, path: '/meetings/abc%3D%3D/recordings' } });
  });

  it('reads a Retry-After date (the daily limit) and fails when it is beyond the longest wait', async () => {
    const tomorrow = new Date(Date.now() + 86_400_000);
    answer = () => ({ status: 429, body: JSON.stringify({ code: 429, message: 'You have reached the maximum daily rate limit for this API.' }), headers: { 'retry-after': tomorrow.toUTCString() } });
    const api = new ZoomApiClient({ baseUrl, tokens, requestsPerSecond: 1000 });
    const error = await failure(api.getRecording('abc=='));
    expect(error).toMatchObject({ failure: 'unavailable', details: { status: 429, zoomCode: 429 } });
    expect((error as Error).message).toMatch(/asked to retry after \d{4}-\d{2}-\d{2}T/);
    expect((error as Error).message).toContain('daily rate limit');
    expect(api.stats()).toMatchObject({ calls: 1, rateLimited: 1, retries: 0 });
  });

  it('retries a request that times out, then gives up with unavailable', async () => {
    const hanging = http.createServer(() => {
      // Never answers.
    });
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    try {
      const clock = fakeClock();
      const api = new ZoomApiClient({
        baseUrl: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/v2`,
        tokens,
        requestsPerSecond: 1000,
        requestTimeoutMs: 50,
        maxRetries: 2,
        now: clock.now,
        sleep: clock.sleep,
      });
      const error = await failure(api.getRecording('abc=='));
      expect(error).toMatchObject({ failure: 'unavailable' });
      expect((error as Error).message).toContain('timed out');
      expect(api.stats()).toMatchObject({ calls: 3, retries: 2 });
    } finally {
      hanging.closeAllConnections();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
    }
  });
});
