/**
 * The simulator's REST API over real HTTP, with real OAuth tokens: the Zoom rules the
 * reconciler's client is tested against (month cap, page tokens, scope refusals, users
 * by status, double-encoded UUIDs, rate limits, files still processing, moving
 * recordings to the trash).
 */
import { addOneMonth, startZoomSimulator, type ZoomSimulator, type ZoomSimulatorOptions } from '../../tools/zoom-simulator/simulator';

interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

interface Listing {
  from: string;
  to: string;
  page_size: number;
  page_count?: number;
  total_records: number;
  next_page_token: string;
  meetings: { uuid: string; topic: string; start_time: string; host_id: string; recording_files: { id?: string; file_type: string; status?: string; download_url: string }[] }[];
}

interface UserListing {
  page_count: number;
  page_number: number;
  page_size: number;
  total_records: number;
  next_page_token: string;
  users: { id: string; email: string; status: string; type: number; first_name: string; last_name: string }[];
}

async function oauthToken(sim: ZoomSimulator): Promise<string> {
  const response = await fetch(sim.oauthTokenUrl, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${sim.clientId}:${sim.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: `grant_type=account_credentials&account_id=${sim.accountId}`,
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Zoom simulator REST API', () => {
  let sim: ZoomSimulator;
  let token: string;

  const start = async (options: ZoomSimulatorOptions = {}) => {
    sim = await startZoomSimulator({ accountId: 'acct-1', ...options });
    token = await oauthToken(sim);
  };
  /** GET a path under /v2 (already encoded) with the OAuth token, or the given headers. */
  const get = async <T = Record<string, unknown>>(path: string, headers: Record<string, string> = { authorization: `Bearer ${token}` }): Promise<Answer<T>> => {
    const response = await fetch(`${sim.apiBaseUrl}${path}`, { headers });
    return { status: response.status, headers: response.headers, body: (await response.json()) as T };
  };
  const topics = (listing: Listing) => listing.meetings.map((meeting) => meeting.topic);

  afterEach(async () => {
    await sim?.stop();
  });

  describe('recordings listings', () => {
    it('pages the account listing newest first; 3 pages of 2 reach every recording exactly once', async () => {
      await start();
      for (const day of ['03-04', '03-01', '03-20', '03-09', '03-15']) await sim.addRecording({ startTime: `2024-${day}T10:00:00Z`, topic: day });
      await sim.addRecording({ startTime: '2024-04-01T10:00:00Z', topic: 'april' }); // outside the range

      const seen: string[] = [];
      const tokens: string[] = [];
      let next = '';
      let pages = 0;
      do {
        const { status, body } = await get<Listing>(`/accounts/me/recordings?from=2024-03-01&to=2024-03-31&page_size=2${next ? `&next_page_token=${next}` : ''}`);
        expect(status).toBe(200);
        expect(body).toMatchObject({ from: '2024-03-01', to: '2024-03-31', page_size: 2, total_records: 5 });
        expect(body.meetings.length).toBeLessThanOrEqual(2);
        seen.push(...topics(body));
        next = body.next_page_token;
        if (next) tokens.push(next);
        pages++;
      } while (next && pages < 10);
      expect(pages).toBe(3);
      expect(seen).toEqual(['03-20', '03-15', '03-09', '03-04', '03-01']);
      // Opaque: not a bare offset.
      for (const pageToken of tokens) expect(pageToken).not.toMatch(/^\d+$/);
      expect(tokens.map((t) => Buffer.from(t, 'base64url').toString('utf8'))).not.toContain('2');
    });

    it('answers the account by id too, and refuses another account', async () => {
      await start();
      await sim.addRecording({ startTime: '2024-03-02T10:00:00Z', topic: 'one' });
      const byId = await get<Listing>('/accounts/acct-1/recordings?from=2024-03-01&to=2024-03-31');
      expect(byId.status).toBe(200);
      expect(topics(byId.body)).toEqual(['one']);
      expect((await get('/accounts/other-account/recordings?from=2024-03-01&to=2024-03-31')).status).toBe(404);
    });

    it('defaults page_size to 30 and caps it to 300; setMaxPageSize lowers the cap', async () => {
      await start();
      for (let i = 0; i < 35; i++) await sim.addRecording({ startTime: `2024-05-${String(1 + (i % 28)).padStart(2, '0')}T0${i % 10}:00:00Z` });
      const byDefault = await get<Listing>('/accounts/me/recordings?from=2024-05-01&to=2024-05-31');
      expect(byDefault.body.page_size).toBe(30);
      expect(byDefault.body.meetings).toHaveLength(30);
      expect(byDefault.body.next_page_token).not.toBe('');
      const huge = await get<Listing>('/accounts/me/recordings?from=2024-05-01&to=2024-05-31&page_size=5000');
      expect(huge.body.page_size).toBe(300);
      expect(huge.body.meetings).toHaveLength(35);
      expect(huge.body.next_page_token).toBe('');

      sim.setMaxPageSize(10);
      const capped = await get<Listing>('/users/me/recordings?from=2024-05-01&to=2024-05-31&page_size=300');
      expect(capped.body).toMatchObject({ page_size: 10, page_count: 4, total_records: 35 });
      expect(capped.body.meetings).toHaveLength(10);
      sim.setMaxPageSize(undefined);
      expect((await get<Listing>('/users/me/recordings?from=2024-05-01&to=2024-05-31&page_size=300')).body.meetings).toHaveLength(35);
    });

    it('silently caps a range longer than a month to from + 1 month, and says so in `to`', async () => {
      await start();
      for (const day of ['2026-01-15', '2026-02-15', '2026-02-16', '2026-03-10', '2026-01-14']) await sim.addRecording({ startTime: `${day}T12:00:00Z`, topic: day });
      const { status, body } = await get<Listing>('/accounts/me/recordings?from=2026-01-15&to=2026-04-15&page_size=300');
      expect(status).toBe(200);
      expect(body).toMatchObject({ from: '2026-01-15', to: '2026-02-15', total_records: 2 });
      expect(topics(body)).toEqual(['2026-02-15', '2026-01-15']);
      // The per-user listing follows the same rule.
      const user = await get<Listing>('/users/me/recordings?from=2026-01-15&to=2026-04-15');
      expect(user.body.to).toBe('2026-02-15');
      expect(topics(user.body)).toEqual(['2026-02-15', '2026-01-15']);
      // A range within a month is left alone.
      expect((await get<Listing>('/accounts/me/recordings?from=2026-02-01&to=2026-02-20')).body.to).toBe('2026-02-20');
    });

    it('adds a calendar month, clamped to shorter months', () => {
      expect(addOneMonth('2026-01-15')).toBe('2026-02-15');
      expect(addOneMonth('2026-01-31')).toBe('2026-02-28');
      expect(addOneMonth('2024-01-31')).toBe('2024-02-29');
      expect(addOneMonth('2026-12-20')).toBe('2027-01-20');
    });

    it('lists by the UTC date of start_time, both ends included, and refuses malformed dates', async () => {
      await start();
      await sim.addRecording({ startTime: '2024-03-31T23:30:00-05:00', topic: 'april in UTC' });
      await sim.addRecording({ startTime: '2024-03-01T00:00:00Z', topic: 'first' });
      expect(topics((await get<Listing>('/accounts/me/recordings?from=2024-03-01&to=2024-03-31')).body)).toEqual(['first']);
      expect(topics((await get<Listing>('/accounts/me/recordings?from=2024-04-01&to=2024-04-01')).body)).toEqual(['april in UTC']);
      expect((await get('/accounts/me/recordings?from=2024-02-30&to=2024-03-31')).status).toBe(400);
      expect((await get('/accounts/me/recordings?from=03/01/2024')).status).toBe(400);
    });

    it('defaults to today..tomorrow (UTC)', async () => {
      await start();
      await sim.addRecording({ startTime: new Date().toISOString(), topic: 'now' });
      await sim.addRecording({ startTime: new Date(Date.now() - 3 * 86_400_000).toISOString(), topic: 'three days ago' });
      const { body } = await get<Listing>('/accounts/me/recordings');
      expect(body.from).toBe(new Date().toISOString().slice(0, 10));
      expect(topics(body)).toEqual(['now']);
    });

    it('lists only that user\'s recordings, by id or email; unknown users are 404', async () => {
      await start();
      await sim.addRecording({ hostId: 'host-a', hostEmail: 'a@school.example', startTime: '2024-03-02T10:00:00Z', topic: 'a1' });
      await sim.addRecording({ hostId: 'host-b', hostEmail: 'b@school.example', startTime: '2024-03-03T10:00:00Z', topic: 'b1' });
      await sim.addRecording({ hostId: 'host-a', hostEmail: 'a@school.example', startTime: '2024-03-04T10:00:00Z', topic: 'a2' });
      const range = 'from=2024-03-01&to=2024-03-31';
      expect(topics((await get<Listing>(`/users/host-a/recordings?${range}`)).body)).toEqual(['a2', 'a1']);
      expect(topics((await get<Listing>(`/users/${encodeURIComponent('b@school.example')}/recordings?${range}`)).body)).toEqual(['b1']);
      expect(topics((await get<Listing>(`/users/me/recordings?${range}`)).body)).toEqual(['a2', 'b1', 'a1']);
      const unknown = await get('/users/nobody/recordings');
      expect(unknown.status).toBe(404);
      expect(unknown.body).toMatchObject({ code: 1001 });
    });

    it('stays consistent when a recording is added between pages (no duplicate, no skip of older ones)', async () => {
      await start();
      for (const day of ['01', '02', '03', '04']) await sim.addRecording({ startTime: `2024-03-${day}T10:00:00Z`, topic: day });
      const first = await get<Listing>('/accounts/me/recordings?from=2024-03-01&to=2024-03-31&page_size=2');
      expect(topics(first.body)).toEqual(['04', '03']);
      await sim.addRecording({ startTime: '2024-03-20T10:00:00Z', topic: '20' });
      const second = await get<Listing>(`/accounts/me/recordings?from=2024-03-01&to=2024-03-31&page_size=2&next_page_token=${first.body.next_page_token}`);
      expect(topics(second.body)).toEqual(['02', '01']);
      expect(second.body.next_page_token).toBe('');
    });

    it('stays fast with 1,200 recordings over 12 months: each month listed once, every recording exactly once', async () => {
      await start();
      const added = new Set<string>();
      for (let i = 0; i < 1200; i++) {
        const month = i % 12;
        const startMs = Date.UTC(2025, month, 1 + (i % 28), 8 + (i % 10), i % 60);
        added.add((await sim.addRecording({ startTime: new Date(startMs).toISOString().replace('.000Z', 'Z') })).uuid);
      }
      const started = Date.now();
      const seen: string[] = [];
      for (let month = 1; month <= 12; month++) {
        const from = `2025-${String(month).padStart(2, '0')}-01`;
        const to = new Date(Date.UTC(2025, month, 0)).toISOString().slice(0, 10);
        let next = '';
        do {
          const { body } = await get<Listing>(`/accounts/me/recordings?from=${from}&to=${to}&page_size=30${next ? `&next_page_token=${next}` : ''}`);
          seen.push(...body.meetings.map((meeting) => meeting.uuid));
          next = body.next_page_token;
        } while (next);
      }
      expect(seen).toHaveLength(1200);
      expect(new Set(seen)).toEqual(added);
      expect(Date.now() - started).toBeLessThan(5_000);
    });
  });

  describe('next_page_token', () => {
    it('expires after pageTokenTtlMs with 400 code 300', async () => {
      await start({ pageTokenTtlMs: 150 });
      for (const day of ['01', '02', '03']) await sim.addRecording({ startTime: `2024-03-${day}T10:00:00Z` });
      const query = 'from=2024-03-01&to=2024-03-31&page_size=1';
      const first = await get<Listing>(`/accounts/me/recordings?${query}`);
      // Still valid at once...
      expect((await get(`/accounts/me/recordings?${query}&next_page_token=${first.body.next_page_token}`)).status).toBe(200);
      await sleep(250);
      const expired = await get(`/accounts/me/recordings?${query}&next_page_token=${first.body.next_page_token}`);
      expect(expired.status).toBe(400);
      expect(expired.body).toEqual({ code: 300, message: 'The next page token is invalid or expired.' });
    });

    it('is bound to its query: another range, user, route or status gets 400; a forged one too', async () => {
      await start();
      sim.addUser({ id: 'u-1' });
      sim.addUser({ id: 'u-2' });
      for (const day of ['01', '02', '03']) await sim.addRecording({ hostId: 'host-a', startTime: `2024-03-${day}T10:00:00Z` });
      const first = await get<Listing>('/accounts/me/recordings?from=2024-03-01&to=2024-03-31&page_size=1');
      const pageToken = first.body.next_page_token;
      expect(pageToken).not.toBe('');
      const invalid = { code: 300, message: 'The next page token is invalid or expired.' };
      for (const path of [
        `/accounts/me/recordings?from=2024-03-01&to=2024-03-30&page_size=1&next_page_token=${pageToken}`,
        `/accounts/me/recordings?from=2024-03-02&to=2024-03-31&page_size=1&next_page_token=${pageToken}`,
        `/users/host-a/recordings?from=2024-03-01&to=2024-03-31&page_size=1&next_page_token=${pageToken}`,
        `/users?page_size=1&next_page_token=${pageToken}`,
        `/accounts/me/recordings?from=2024-03-01&to=2024-03-31&page_size=1&next_page_token=${pageToken.slice(0, -2)}xx`,
        `/accounts/me/recordings?from=2024-03-01&to=2024-03-31&page_size=1&next_page_token=${Buffer.from('1').toString('base64url')}`,
      ]) {
        const answer = await get(path);
        expect({ path, status: answer.status, body: answer.body }).toEqual({ path, status: 400, body: invalid });
      }
      const users = await get<UserListing>('/users?page_size=1');
      expect(users.body.next_page_token).not.toBe('');
      expect((await get(`/users?status=inactive&page_size=1&next_page_token=${users.body.next_page_token}`)).status).toBe(400);
      // The right query still takes it, and a token can be used again (a retried request).
      for (let i = 0; i < 2; i++) {
        const again = await get<Listing>(`/accounts/me/recordings?from=2024-03-01&to=2024-03-31&page_size=1&next_page_token=${pageToken}`);
        expect(again.status).toBe(200);
        expect(again.body.meetings[0]!.start_time).toBe('2024-03-02T10:00:00Z');
      }
    });
  });

  describe('account listing refusals', () => {
    it('answers 4711 (400) or 124 (401) on demand, leaves per-user listings alone, and recovers', async () => {
      await start();
      await sim.addRecording({ hostId: 'host-a', startTime: '2024-03-02T10:00:00Z' });
      const path = '/accounts/me/recordings?from=2024-03-01&to=2024-03-31';

      sim.refuseAccountListing(4711);
      const scope = await get(path);
      expect(scope.status).toBe(400);
      expect(scope.body).toEqual({ code: 4711, message: 'Invalid access token, does not contain scopes:[cloud_recording:read:list_account_recordings:admin].' });
      expect((await get('/accounts/acct-1/recordings')).status).toBe(400);
      expect((await get<Listing>('/users/host-a/recordings?from=2024-03-01&to=2024-03-31')).body.total_records).toBe(1);
      expect((await get<UserListing>('/users')).status).toBe(200);

      sim.refuseAccountListing(124);
      const invalid = await get(path);
      expect(invalid.status).toBe(401);
      expect(invalid.body).toEqual({ code: 124, message: 'Invalid access token.' });

      sim.refuseAccountListing(undefined);
      const normal = await get<Listing>(path);
      expect(normal.status).toBe(200);
      expect(normal.body.total_records).toBe(1);
    });

    it('issues tokens without the account-listing scope while refusing with 4711', async () => {
      await start();
      const scopeOf = async () => {
        const response = await fetch(sim.oauthTokenUrl, {
          method: 'POST',
          headers: { authorization: `Basic ${Buffer.from(`${sim.clientId}:${sim.clientSecret}`).toString('base64')}` },
          body: `grant_type=account_credentials&account_id=${sim.accountId}`,
        });
        return ((await response.json()) as { scope: string }).scope.split(' ');
      };
      expect(await scopeOf()).toContain('cloud_recording:read:list_account_recordings:admin');
      sim.refuseAccountListing(4711);
      expect(await scopeOf()).not.toContain('cloud_recording:read:list_account_recordings:admin');
    });
  });

  describe('users', () => {
    it('lists users by status: hosts are active, an added status wins, pending users have no recordings', async () => {
      await start();
      await sim.addRecording({ hostId: 'host-a', hostEmail: 'a@school.example', startTime: '2024-03-02T10:00:00Z', topic: 'a' });
      await sim.addRecording({ hostId: 'host-b', hostEmail: 'b@school.example', startTime: '2024-03-03T10:00:00Z', topic: 'b' });
      const inactive = sim.addUser({ id: 'host-b', status: 'inactive' }); // a deactivated teacher keeps their recordings
      expect(inactive).toMatchObject({ id: 'host-b', email: 'b@school.example', status: 'inactive', type: 1 });
      const pending = sim.addUser({ email: 'new@school.example', status: 'pending' });
      const plain = sim.addUser({});
      expect(pending.id).toMatch(/^[\w-]{22}$/);

      const ids = async (query: string) => {
        const { status, body } = await get<UserListing>(`/users${query}`);
        expect(status).toBe(200);
        return body.users.map((user) => user.id);
      };
      expect(await ids('')).toEqual(['host-a', plain.id]);
      expect(await ids('?status=active')).toEqual(['host-a', plain.id]);
      expect(await ids('?status=inactive')).toEqual(['host-b']);
      expect(await ids('?status=pending')).toEqual([pending.id]);
      expect((await get('/users?status=deleted')).status).toBe(400);

      const listed = (await get<UserListing>('/users?status=inactive')).body.users[0]!;
      expect(listed).toMatchObject({ id: 'host-b', email: 'b@school.example', status: 'inactive', type: 1 });
      expect(typeof listed.first_name).toBe('string');
      expect(topics((await get<Listing>('/users/host-b/recordings?from=2024-03-01&to=2024-03-31')).body)).toEqual(['b']);
      expect((await get<Listing>(`/users/${pending.id}/recordings?from=2024-03-01&to=2024-03-31`)).body.total_records).toBe(0);
      // The account listing still holds the inactive user's recording.
      expect(topics((await get<Listing>('/accounts/me/recordings?from=2024-03-01&to=2024-03-31')).body)).toEqual(['b', 'a']);
    });

    it('pages users with page tokens', async () => {
      await start();
      const added = [sim.addUser({}), sim.addUser({}), sim.addUser({})].map((user) => user.id);
      const first = await get<UserListing>('/users?page_size=2');
      expect(first.body).toMatchObject({ page_count: 2, page_number: 1, page_size: 2, total_records: 3 });
      const second = await get<UserListing>(`/users?page_size=2&next_page_token=${first.body.next_page_token}`);
      expect(second.body).toMatchObject({ page_number: 2, next_page_token: '' });
      expect([...first.body.users, ...second.body.users].map((user) => user.id)).toEqual(added);
    });
  });

  describe('meeting recordings and UUID encoding', () => {
    const statusFor = async (path: string) => {
      const { status, body } = await get<{ uuid?: string; code?: number }>(path);
      return { status, uuid: body.uuid, code: body.code };
    };

    it('demands double encoding for a UUID starting with / or containing //', async () => {
      await start();
      for (const uuid of ['/abc//def==', 'abc//def+g==']) {
        await sim.addRecording({ uuid });
        expect(await statusFor(`/meetings/${encodeURIComponent(uuid)}/recordings`)).toEqual({ status: 404, uuid: undefined, code: 3301 });
        expect(await statusFor(`/meetings/${encodeURIComponent(encodeURIComponent(uuid))}/recordings`)).toEqual({ status: 200, uuid, code: undefined });
      }
      await sim.addRecording({ uuid: '/leading+slash==' });
      expect((await statusFor(`/meetings/${encodeURIComponent('/leading+slash==')}/recordings`)).status).toBe(404);
    });

    it('takes other UUIDs single- or double-encoded', async () => {
      await start();
      for (const uuid of ['ab/cd+ef==', 'plainUuidAbc123==', 'x+y/z']) {
        await sim.addRecording({ uuid });
        expect(await statusFor(`/meetings/${encodeURIComponent(uuid)}/recordings`)).toEqual({ status: 200, uuid, code: undefined });
        expect(await statusFor(`/meetings/${encodeURIComponent(encodeURIComponent(uuid))}/recordings`)).toEqual({ status: 200, uuid, code: undefined });
      }
    });

    it('answers a numeric meeting id with its latest instance', async () => {
      await start();
      await sim.addRecording({ meetingId: 555, uuid: 'older==', startTime: '2024-03-01T10:00:00Z' });
      await sim.addRecording({ meetingId: 555, uuid: 'newer==', startTime: '2024-03-08T10:00:00Z' });
      expect((await statusFor('/meetings/555/recordings')).uuid).toBe('newer==');
    });
  });

  describe('authorization', () => {
    it('needs a Bearer token from the OAuth endpoint on every route', async () => {
      await start();
      await sim.addRecording({ uuid: 'known==' });
      const paths = ['/accounts/me/recordings', '/users/me/recordings', '/users', `/meetings/${encodeURIComponent('known==')}/recordings`];
      for (const path of paths) {
        for (const headers of [{}, { authorization: 'Bearer forged' }] as Record<string, string>[]) {
          const answer = await get(path, headers);
          expect({ path, status: answer.status, body: answer.body }).toEqual({ path, status: 401, body: { code: 124, message: 'Invalid access token.' } });
        }
        expect((await get(path)).status).toBe(200);
      }
      sim.revokeOAuthTokens();
      expect((await get('/users')).status).toBe(401);
    });
  });

  describe('rate limits', () => {
    const medium = '/accounts/me/recordings?from=2024-03-01&to=2024-03-31';

    it('answers 429 over the per-second limit of the category, with Zoom\'s headers, then recovers', async () => {
      await start();
      await sim.addRecording({ uuid: 'light-one==' });
      sim.setRateLimit('medium', 2);
      const statuses: number[] = [];
      let limited: Answer | undefined;
      for (let i = 0; i < 3; i++) {
        const answer = await get(i % 2 === 0 ? medium : '/users');
        statuses.push(answer.status);
        if (answer.status === 429) limited = answer;
      }
      expect(statuses).toEqual([200, 200, 429]);
      expect(limited!.body).toEqual({ code: 429, message: 'You have reached the maximum per-second rate limit for this API. Try again later.' });
      expect(limited!.headers.get('x-ratelimit-category')).toBe('Medium');
      expect(limited!.headers.get('x-ratelimit-type')).toBe('QPS');
      expect(limited!.headers.get('x-ratelimit-limit')).toBe('2');
      expect(limited!.headers.get('retry-after')).toBe('1');
      // Light is another bucket.
      expect((await get(`/meetings/${encodeURIComponent('light-one==')}/recordings`)).status).toBe(200);
      expect(sim.apiStats().rateLimited).toBe(1);

      await sleep(600); // 2 a second: a token is back after 500 ms
      expect((await get(medium)).status).toBe(200);

      sim.setRateLimit('medium', undefined);
      const unlimited = await Promise.all(Array.from({ length: 10 }, () => get(medium)));
      expect(unlimited.map((answer) => answer.status)).toEqual(Array(10).fill(200));
    });

    it('limits the light category apart, and can omit Retry-After', async () => {
      await start();
      await sim.addRecording({ uuid: 'm==' });
      const meeting = `/meetings/${encodeURIComponent('m==')}/recordings`;
      sim.setRateLimit('light', 1);
      sim.setRetryAfter(false);
      expect((await get(meeting)).status).toBe(200);
      const limited = await get(meeting);
      expect(limited.status).toBe(429);
      expect(limited.headers.get('x-ratelimit-category')).toBe('Light');
      expect(limited.headers.get('retry-after')).toBeNull();
      expect((await get(medium)).status).toBe(200);
      sim.setRetryAfter(true);
      const withHeader = await get(meeting);
      expect(withHeader.status).toBe(429);
      expect(Number(withHeader.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    });

    it('failApi fails the next N authorized requests on any route, then lets them through', async () => {
      await start();
      sim.failApi(2, { retryAfterSeconds: 3 });
      expect((await get('/users', {})).status).toBe(401); // unauthorized requests do not use up the failures
      const first = await get(medium);
      const second = await get('/users');
      const third = await get(medium);
      expect([first.status, second.status, third.status]).toEqual([429, 429, 200]);
      expect(first.headers.get('retry-after')).toBe('3');
      expect(first.headers.get('x-ratelimit-category')).toBe('Medium');
      expect(first.body).toMatchObject({ code: 429 });

      sim.failApi(1); // no Retry-After, as users report
      const bare = await get(medium);
      expect(bare.status).toBe(429);
      expect(bare.headers.get('retry-after')).toBeNull();

      sim.failApi(1, { status: 503 });
      expect((await get('/users')).status).toBe(503);
      expect((await get('/users')).status).toBe(200);
      expect(sim.apiStats()).toMatchObject({ failedInjected: 4, rateLimited: 0 });
    });
  });

  describe('files still processing', () => {
    it('lists a processing file as such until setFileStatus; downloads still work; CC has no status', async () => {
      await start();
      const recording = await sim.addRecording({
        uuid: 'proc==',
        startTime: '2024-03-02T10:00:00Z',
        files: [{ fileType: 'MP4', size: 1000, status: 'processing' }, { fileType: 'M4A', size: 100 }, { fileType: 'CC', size: 10 }],
      });
      const [mp4, m4a, cc] = recording.files;
      const statuses = async () => {
        const listing = await get<Listing>('/accounts/me/recordings?from=2024-03-01&to=2024-03-31');
        const meeting = await get<Listing['meetings'][number]>(`/meetings/${encodeURIComponent('proc==')}/recordings`);
        const listed = listing.body.meetings[0]!.recording_files.map((file) => file.status);
        expect(meeting.body.recording_files.map((file) => file.status)).toEqual(listed);
        return listed;
      };
      expect(await statuses()).toEqual(['processing', 'completed', undefined]);
      expect(recording.payload.payload.object.recording_files[0]!.status).toBe('processing');
      const download = await fetch(mp4!.downloadUrl, { headers: { authorization: `Bearer ${token}` }, redirect: 'manual' });
      expect(download.status).toBe(302);

      sim.setFileStatus(mp4!.fileId, 'completed');
      sim.setFileStatus(cc!.fileId, 'completed'); // id-less: stays without status
      expect(await statuses()).toEqual(['completed', 'completed', undefined]);
      sim.setFileStatus(m4a!.fileId, 'processing');
      expect(await statuses()).toEqual(['completed', 'processing', undefined]);
      expect(() => sim.setFileStatus('no-such-file', 'completed')).toThrow();
    });
  });

  describe('counters', () => {
    it('counts calls per route and logs them as api requests without tokens', async () => {
      await start();
      await sim.addRecording({ uuid: 'c==' });
      await get('/accounts/me/recordings');
      await get('/accounts/me/recordings');
      await get('/users/me/recordings');
      await get('/users');
      await get(`/meetings/${encodeURIComponent('c==')}/recordings`);
      await get('/users', {});
      await get('/nothing/here');
      expect(sim.apiStats()).toEqual({
        calls: 7,
        byRoute: { account_recordings: 2, user_recordings: 1, users: 2, meeting_recordings: 1, meeting_recordings_delete: 0 },
        rateLimited: 0,
        failedInjected: 0,
      });
      const api = sim.requestLog.filter((entry) => entry.kind === 'api');
      expect(api).toHaveLength(7);
      expect(api.map((entry) => entry.auth)).toEqual(['oauth', 'oauth', 'oauth', 'oauth', 'oauth', 'missing', 'oauth']);
      expect(api.map((entry) => entry.status)).toEqual([200, 200, 200, 200, 200, 401, 404]);
      expect(JSON.stringify(sim.requestLog)).not.toContain(token);
    });
  });

  describe('moving recordings to the trash (DELETE /meetings/{uuid}/recordings)', () => {
    const trashScope = 'cloud_recording:delete:meeting_recording:admin';
    const range = 'from=2024-03-01&to=2024-03-31';
    /** DELETE a path under /v2 (already encoded) with the OAuth token, or the given headers; the body as text (204 has none). */
    const del = async (path: string, headers: Record<string, string> = { authorization: `Bearer ${token}` }) => {
      const response = await fetch(`${sim.apiBaseUrl}${path}`, { method: 'DELETE', headers });
      const text = await response.text();
      return { status: response.status, headers: response.headers, text, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
    };
    const meeting = (uuid: string) => `/meetings/${encodeURIComponent(uuid)}/recordings`;
    const listed = async () => {
      const account = await get<Listing>(`/accounts/me/recordings?${range}`);
      const user = await get<Listing>(`/users/me/recordings?${range}`);
      expect(user.body.meetings.map((m) => m.uuid)).toEqual(account.body.meetings.map((m) => m.uuid));
      return account.body.meetings.map((m) => m.uuid);
    };

    it('trashes with 204 and no body; the API forgets the recording (404 3301, not listed), downloads stay', async () => {
      await start();
      const kept = await sim.addRecording({ uuid: 'kept==', startTime: '2024-03-03T10:00:00Z' });
      const gone = await sim.addRecording({ uuid: 'gone+x/y==', startTime: '2024-03-02T10:00:00Z' });
      expect(await listed()).toEqual(['kept==', 'gone+x/y==']);

      const trashed = await del(`${meeting(gone.uuid)}?action=trash`);
      expect(trashed.status).toBe(204);
      expect(trashed.text).toBe('');
      expect(await listed()).toEqual(['kept==']);
      const after = await get(meeting(gone.uuid));
      expect({ status: after.status, body: after.body }).toEqual({ status: 404, body: { code: 3301, message: 'This recording does not exist.' } });
      expect((await get(meeting(kept.uuid))).status).toBe(200);

      // Already in the trash: the same DELETE answers 404 3301 and changes nothing.
      const again = await del(`${meeting(gone.uuid)}?action=trash`);
      expect({ status: again.status, body: again.body }).toEqual({ status: 404, body: { code: 3301, message: 'This recording does not exist.' } });
      expect(sim.trashCalls()).toEqual([
        { uuid: 'gone+x/y==', action: 'trash', status: 204 },
        { uuid: 'gone+x/y==', action: 'trash', status: 404 },
      ]);
      expect(sim.trashedRecordings()).toEqual(['gone+x/y==']);
      expect(sim.permanentlyDeleted()).toEqual([]);

      // Only the REST API forgets it: its download URL still redirects to the CDN.
      const download = await fetch(gone.files[0]!.downloadUrl, { headers: { authorization: `Bearer ${token}` }, redirect: 'manual' });
      expect(download.status).toBe(302);
    });

    it('trashes without an action (Zoom\'s default); records action=delete as a permanent deletion; refuses another action', async () => {
      await start();
      await sim.addRecording({ uuid: 'default==', startTime: '2024-03-02T10:00:00Z' });
      await sim.addRecording({ uuid: 'deleted==', startTime: '2024-03-03T10:00:00Z' });
      await sim.addRecording({ uuid: 'odd==', startTime: '2024-03-04T10:00:00Z' });

      expect((await del(meeting('default=='))).status).toBe(204);
      expect((await del(`${meeting('deleted==')}?action=delete`)).status).toBe(204);
      const invalid = await del(`${meeting('odd==')}?action=shred`);
      expect(invalid.status).toBe(400);
      expect(invalid.body).toMatchObject({ code: 300 });

      expect(sim.trashedRecordings()).toEqual(['default==']);
      expect(sim.permanentlyDeleted()).toEqual(['deleted==']);
      expect((await get(meeting('deleted=='))).status).toBe(404);
      expect(await listed()).toEqual(['odd==']); // the refused action left it alone
      expect(sim.trashCalls()).toEqual([
        { uuid: 'default==', action: 'trash', status: 204 },
        { uuid: 'deleted==', action: 'delete', status: 204 },
        { uuid: 'odd==', action: 'shred', status: 400 },
      ]);
    });

    it('demands double encoding for a UUID starting with / or containing //, as GET does', async () => {
      await start();
      for (const uuid of ['/abc//def==', 'abc//def+g==']) {
        await sim.addRecording({ uuid, startTime: '2024-03-02T10:00:00Z' });
        const once = await del(`/meetings/${encodeURIComponent(uuid)}/recordings?action=trash`);
        expect({ status: once.status, body: once.body }).toEqual({ status: 404, body: { code: 3301, message: 'This recording does not exist.' } });
        expect((await get(`/meetings/${encodeURIComponent(encodeURIComponent(uuid))}/recordings`)).status).toBe(200);
        expect((await del(`/meetings/${encodeURIComponent(encodeURIComponent(uuid))}/recordings?action=trash`)).status).toBe(204);
      }
      expect(sim.trashCalls()).toEqual([
        // Undecodable (encoded once): the raw segment.
        { uuid: encodeURIComponent('/abc//def=='), action: 'trash', status: 404 },
        { uuid: '/abc//def==', action: 'trash', status: 204 },
        { uuid: encodeURIComponent('abc//def+g=='), action: 'trash', status: 404 },
        { uuid: 'abc//def+g==', action: 'trash', status: 204 },
      ]);
      expect(sim.trashedRecordings()).toEqual(['/abc//def==', 'abc//def+g==']);
    });

    it('trashes the latest instance for a numeric meeting id; a recording added again leaves the trash', async () => {
      await start();
      await sim.addRecording({ meetingId: 777, uuid: 'older==', startTime: '2024-03-01T10:00:00Z' });
      await sim.addRecording({ meetingId: 777, uuid: 'newer==', startTime: '2024-03-08T10:00:00Z' });
      expect((await del('/meetings/777/recordings?action=trash')).status).toBe(204);
      expect(sim.trashedRecordings()).toEqual(['newer==']);
      expect(await listed()).toEqual(['older==']);
      await sim.addRecording({ meetingId: 777, uuid: 'newer==', startTime: '2024-03-08T10:00:00Z' });
      expect(sim.trashedRecordings()).toEqual([]);
      expect(await listed()).toEqual(['newer==', 'older==']);
    });

    it('needs a Bearer token (401 124, nothing trashed); a DELETE on another route is 404 and recorded', async () => {
      await start();
      await sim.addRecording({ uuid: 'guarded==', startTime: '2024-03-02T10:00:00Z' });
      for (const headers of [{}, { authorization: 'Bearer forged' }] as Record<string, string>[]) {
        const answer = await del(`${meeting('guarded==')}?action=trash`, headers);
        expect({ status: answer.status, body: answer.body }).toEqual({ status: 401, body: { code: 124, message: 'Invalid access token.' } });
      }
      expect(await listed()).toEqual(['guarded==']);
      expect((await del('/users/me')).status).toBe(404);
      expect(sim.trashCalls()).toEqual([
        { uuid: 'guarded==', action: 'trash', status: 401 },
        { uuid: 'guarded==', action: 'trash', status: 401 },
        { uuid: 'users/me', action: 'trash', status: 404 },
      ]);
      expect(sim.trashedRecordings()).toEqual([]);
      expect(sim.requestLog.filter((entry) => entry.method === 'DELETE').map((entry) => entry.kind)).toEqual(['api', 'api', 'api']);
    });

    it('refuses with 400 4711 while refuseTrash(4711), and issues tokens without the scope meanwhile', async () => {
      await start();
      await sim.addRecording({ uuid: 'scoped==', startTime: '2024-03-02T10:00:00Z' });
      const scopeOf = async () => {
        const response = await fetch(sim.oauthTokenUrl, {
          method: 'POST',
          headers: { authorization: `Basic ${Buffer.from(`${sim.clientId}:${sim.clientSecret}`).toString('base64')}` },
          body: `grant_type=account_credentials&account_id=${sim.accountId}`,
        });
        return ((await response.json()) as { scope: string }).scope.split(' ');
      };
      expect(await scopeOf()).toContain(trashScope);

      sim.refuseTrash(4711);
      expect(await scopeOf()).not.toContain(trashScope);
      const refused = await del(`${meeting('scoped==')}?action=trash`);
      expect(refused.status).toBe(400);
      expect(refused.body).toEqual({ code: 4711, message: `Invalid access token, does not contain scopes:[${trashScope}].` });
      expect((await get(meeting('scoped=='))).status).toBe(200); // reading is not refused
      expect(sim.trashedRecordings()).toEqual([]);

      sim.refuseTrash(undefined);
      expect((await del(`${meeting('scoped==')}?action=trash`)).status).toBe(204);
      expect(sim.trashCalls().map((call) => call.status)).toEqual([400, 204]);
    });

    it('applies failApi and the Light rate limit (shared with GET of a meeting), and counts the route', async () => {
      await start();
      await sim.addRecording({ uuid: 'limited==', startTime: '2024-03-02T10:00:00Z' });
      sim.failApi(1, { status: 503 });
      expect((await del(`${meeting('limited==')}?action=trash`)).status).toBe(503);
      sim.failApi(1, { retryAfterSeconds: 2 });
      const injected = await del(`${meeting('limited==')}?action=trash`);
      expect(injected.status).toBe(429);
      expect(injected.headers.get('retry-after')).toBe('2');
      expect(injected.headers.get('x-ratelimit-category')).toBe('Light');

      sim.setRateLimit('light', 1);
      expect((await get(meeting('limited=='))).status).toBe(200); // takes the Light token
      const limited = await del(`${meeting('limited==')}?action=trash`);
      expect(limited.status).toBe(429);
      expect(limited.headers.get('x-ratelimit-category')).toBe('Light');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await listed()).toEqual(['limited==']); // none of them trashed it

      sim.setRateLimit('light', undefined);
      expect((await del(`${meeting('limited==')}?action=trash`)).status).toBe(204);
      expect(sim.trashCalls().map((call) => call.status)).toEqual([503, 429, 429, 204]);
      expect(sim.apiStats()).toMatchObject({
        byRoute: { meeting_recordings: 1, meeting_recordings_delete: 4 },
        failedInjected: 2,
        rateLimited: 1,
      });
    });
  });
});
