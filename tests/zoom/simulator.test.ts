import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { urlValidationAnswer, verifySignature } from '../../services/webhook/signature';
import { BLOCK_SIZE, GeneratedContent, contentSha256, startZoomSimulator, type ZoomSimulator } from '../../tools/zoom-simulator/simulator';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function newOAuthToken(simulator: ZoomSimulator, credentials: string, accountId: string): Promise<string> {
  const response = await fetch(simulator.oauthTokenUrl, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=account_credentials&account_id=${accountId}`,
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { access_token: string; token_type: string; expires_in: number };
  expect(body).toMatchObject({ token_type: 'bearer', expires_in: 3600 });
  return body.access_token;
}

describe('Zoom simulator', () => {
  let zoom: ZoomSimulator;
  let oauthToken: string;

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  /** The CDN URL the download URL redirects to. */
  const cdnUrl = async (downloadUrl: string, token: string) => {
    const response = await fetch(downloadUrl, { headers: bearer(token), redirect: 'manual' });
    expect(response.status).toBe(302);
    return response.headers.get('location')!;
  };

  beforeAll(async () => {
    zoom = await startZoomSimulator({ accountId: 'acct', clientId: 'cid', clientSecret: 'csecret', webhookSecret: 'whsecret' });
  });
  beforeEach(async () => {
    oauthToken = await newOAuthToken(zoom, 'cid:csecret', 'acct');
  });
  afterAll(async () => {
    await zoom.stop();
  });

  describe('generated content', () => {
    it('is deterministic per file id, differs between files and between blocks', async () => {
      const a = new GeneratedContent('file-a', 3 * BLOCK_SIZE);
      const b = new GeneratedContent('file-b', 3 * BLOCK_SIZE);
      expect(await contentSha256(a)).toBe(await contentSha256(new GeneratedContent('file-a', 3 * BLOCK_SIZE)));
      expect(await contentSha256(a)).not.toBe(await contentSha256(b));
      const block = (content: GeneratedContent, index: number) => {
        const parts: Buffer[] = [];
        for (let offset = index * BLOCK_SIZE; offset < (index + 1) * BLOCK_SIZE; ) {
          const piece = content.piece(offset, (index + 1) * BLOCK_SIZE - offset);
          parts.push(Buffer.from(piece));
          offset += piece.length;
        }
        return Buffer.concat(parts);
      };
      expect(block(a, 0).equals(block(a, 1))).toBe(false);
      expect(block(a, 1).length).toBe(BLOCK_SIZE);
    });

    it('serves exactly the bytes sha256() describes, crossing block boundaries', async () => {
      const { files, downloadToken } = await zoom.addRecording({ files: [{ size: 2 * BLOCK_SIZE + 5 }] });
      const response = await fetch(files[0]!.downloadUrl, { headers: bearer(downloadToken) });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('video/mp4');
      expect(response.headers.get('content-length')).toBe(String(2 * BLOCK_SIZE + 5));
      expect(response.headers.get('accept-ranges')).toBe('bytes');
      const body = Buffer.from(await response.arrayBuffer());
      expect(sha256(body)).toBe(await files[0]!.sha256());
      expect(zoom.stats(files[0]!.fileId)).toMatchObject({ downloadRequests: 1, cdnRequests: 1, completedDownloads: 1, bytesServed: body.length });
    });

    it('serves fixed content when given', async () => {
      const vtt = 'WEBVTT\n\n00:00.000 --> 00:01.000\nhello\n';
      const { files, downloadToken } = await zoom.addRecording({ files: [{ fileType: 'TRANSCRIPT', content: vtt }] });
      const response = await fetch(files[0]!.downloadUrl, { headers: bearer(downloadToken) });
      expect(await response.text()).toBe(vtt);
    });
  });

  describe('ranges', () => {
    let full: Buffer;
    let location: string;
    beforeAll(async () => {
      const { files, downloadToken } = await zoom.addRecording({ files: [{ size: BLOCK_SIZE + 100 }] });
      location = await cdnUrl(files[0]!.downloadUrl, downloadToken);
      full = Buffer.from(await (await fetch(location)).arrayBuffer());
    });

    it.each([
      ['bytes=0-9', 0, 10],
      ['bytes=1048570-1048585', 1_048_570, 1_048_586],
      ['bytes=1048600-', 1_048_600, BLOCK_SIZE + 100],
      ['bytes=-7', BLOCK_SIZE + 93, BLOCK_SIZE + 100],
      ['bytes=5-99999999', 5, BLOCK_SIZE + 100],
    ])('%s answers 206 with the matching slice', async (range, start, end) => {
      const response = await fetch(location, { headers: { range } });
      expect(response.status).toBe(206);
      expect(response.headers.get('content-range')).toBe(`bytes ${start}-${end - 1}/${BLOCK_SIZE + 100}`);
      expect(Buffer.from(await response.arrayBuffer()).equals(full.subarray(start, end))).toBe(true);
    });

    it('answers 416 to a range past the end', async () => {
      const response = await fetch(location, { headers: { range: `bytes=${BLOCK_SIZE + 100}-` } });
      expect(response.status).toBe(416);
      expect(response.headers.get('content-range')).toBe(`bytes */${BLOCK_SIZE + 100}`);
    });

    it('refuses a tampered CDN signature', async () => {
      const tampered = new URL(location);
      tampered.searchParams.set('a', '999999');
      expect((await fetch(tampered)).status).toBe(403);
    });
  });

  describe('download authorization', () => {
    it('accepts its webhook token, its OAuth token and a fresh download_access_token; refuses others', async () => {
      const { files, downloadToken, uuid } = await zoom.addRecording();
      const url = files[0]!.downloadUrl;
      const status = async (headers: Record<string, string>, target = url) => (await fetch(target, { headers, redirect: 'manual' })).status;
      expect(await status(bearer(downloadToken))).toBe(302);
      expect(await status(bearer(oauthToken))).toBe(302);
      expect(await status(bearer(await zoom.issueDownloadToken(uuid, 60)))).toBe(302);
      expect(await status({})).toBe(401);
      expect(await status(bearer('forged'))).toBe(401);
      expect(await status(bearer(await zoom.issueDownloadToken(uuid, -1)))).toBe(401);
      expect(await status({}, `${url}?access_token=${downloadToken}`)).toBe(401); // query tokens refused since 2023
      const log = zoom.requestLog.filter((entry) => entry.fileId === files[0]!.fileId).map((entry) => entry.auth);
      expect(log).toEqual(['webhook', 'oauth', 'webhook', 'missing', 'invalid', 'expired', 'query']);
      expect(JSON.stringify(zoom.requestLog)).not.toContain(downloadToken);
    });

    it('puts Zoom-shaped claims in the webhook token, with the chosen expiry', async () => {
      const { downloadToken, uuid, payload } = await zoom.addRecording({ downloadTokenTtlSeconds: -3600 });
      const claims = decodeJwt(downloadToken);
      expect(claims).toMatchObject({ iss: 'https://event.zoom.us', aud: 'https://oauth.zoom.us', mid: uuid, accountId: 'acct' });
      expect(claims.exp! * 1000).toBeLessThan(Date.now() - 3500_000);
      expect(payload.download_token).toBe(downloadToken);
    });

    it('stops accepting revoked OAuth tokens', async () => {
      const { files } = await zoom.addRecording();
      expect((await fetch(files[0]!.downloadUrl, { headers: bearer(oauthToken), redirect: 'manual' })).status).toBe(302);
      zoom.revokeOAuthTokens();
      expect((await fetch(files[0]!.downloadUrl, { headers: bearer(oauthToken), redirect: 'manual' })).status).toBe(401);
    });
  });

  describe('faults', () => {
    it('applies a sequence of faults, each for its number of requests', async () => {
      const { files, downloadToken } = await zoom.addRecording({ files: [{ size: 1000 }] });
      zoom.setFault(files[0]!.fileId, [{ status: 503, times: 2 }, { status: 429, times: 1, retryAfterSeconds: 4 }, { htmlPage: true, times: 1 }]);
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      let htmlType: string | null = null;
      for (let i = 0; i < 5; i++) {
        const response = await fetch(files[0]!.downloadUrl, { headers: bearer(downloadToken), redirect: 'manual' });
        statuses.push(response.status);
        if (response.status === 429) retryAfter = response.headers.get('retry-after');
        if (response.status === 200) htmlType = response.headers.get('content-type');
        await response.arrayBuffer();
      }
      expect(statuses).toEqual([503, 503, 429, 200, 302]);
      expect(retryAfter).toBe('4');
      expect(htmlType).toMatch(/^text\/html/);
      expect(zoom.stats(files[0]!.fileId).faultsApplied).toBe(4);
    });

    it('cuts the connection after exactly resetAfterBytes', async () => {
      const size = 500_000;
      const { files, downloadToken } = await zoom.addRecording({ files: [{ size }] });
      zoom.setFault(files[0]!.fileId, { resetAfterBytes: 123_457, times: 1 });
      const location = await cdnUrl(files[0]!.downloadUrl, downloadToken);
      const received = await new Promise<{ bytes: number; error?: Error; length: string | undefined }>((resolve) => {
        http.get(location, (response) => {
          let bytes = 0;
          response.on('data', (chunk: Buffer) => (bytes += chunk.length));
          response.on('error', (error) => resolve({ bytes, error, length: response.headers['content-length'] }));
          response.on('end', () => resolve({ bytes, length: response.headers['content-length'] }));
        });
      });
      expect(received.length).toBe(String(size));
      expect(received.bytes).toBe(123_457);
      expect(received.error).toBeDefined();
      expect(zoom.stats(files[0]!.fileId).completedDownloads).toBe(0);
    });

    it('serves a wrong size with a consistent Content-Length', async () => {
      const { files, downloadToken } = await zoom.addRecording({ files: [{ size: 1000 }] });
      zoom.setFault(files[0]!.fileId, { wrongSize: -10 });
      const response = await fetch(files[0]!.downloadUrl, { headers: bearer(downloadToken) });
      expect(response.headers.get('content-length')).toBe('990');
      expect((await response.arrayBuffer()).byteLength).toBe(990);
    });

    it('drips slowly at bytesPerSecond', async () => {
      const { files, downloadToken } = await zoom.addRecording({ files: [{ size: 40_000 }] });
      zoom.setFault(files[0]!.fileId, { bytesPerSecond: 100_000 });
      const started = Date.now();
      const body = Buffer.from(await (await fetch(files[0]!.downloadUrl, { headers: bearer(downloadToken) })).arrayBuffer());
      expect(Date.now() - started).toBeGreaterThanOrEqual(350);
      expect(sha256(body)).toBe(await files[0]!.sha256());
    });
  });

  describe('OAuth endpoint', () => {
    const post = (credentials: string, body: string) =>
      fetch(zoom.oauthTokenUrl, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` }, body });

    it('refuses wrong client credentials, grant types and accounts', async () => {
      expect((await post('cid:wrong', 'grant_type=account_credentials&account_id=acct')).status).toBe(401);
      expect((await post('cid:csecret', 'grant_type=client_credentials&account_id=acct')).status).toBe(400);
      expect((await post('cid:csecret', 'grant_type=account_credentials&account_id=other')).status).toBe(400);
    });

    it('fails N times on demand, then recovers, and counts', async () => {
      const before = { ...zoom.oauthStats };
      zoom.failOAuth(2, { status: 500 });
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await post('cid:csecret', 'grant_type=account_credentials&account_id=acct')).status);
      expect(statuses).toEqual([500, 500, 200]);
      expect(zoom.oauthStats.requests - before.requests).toBe(3);
      expect(zoom.oauthStats.failed - before.failed).toBe(2);
      expect(zoom.oauthStats.issued - before.issued).toBe(1);
    });
  });

  describe('recordings API', () => {
    it('returns a meeting by (double-encoded) UUID, with a working download_access_token on request', async () => {
      const uuid = '/ajXp112QmuoKj4854875==';
      const { files } = await zoom.addRecording({ uuid, topic: '[ARB202] Oud ensemble' });
      const doubleEncoded = encodeURIComponent(encodeURIComponent(uuid));
      const response = await fetch(`${zoom.apiBaseUrl}/meetings/${doubleEncoded}/recordings?include_fields=download_access_token&ttl=600`, { headers: bearer(oauthToken) });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { uuid: string; topic: string; download_access_token: string; recording_files: { id: string; download_url: string }[] };
      expect(body).toMatchObject({ uuid, topic: '[ARB202] Oud ensemble' });
      expect(body.recording_files[0]).toMatchObject({ id: files[0]!.fileId, download_url: files[0]!.downloadUrl });
      expect(decodeJwt(body.download_access_token).exp! * 1000).toBeGreaterThan(Date.now() + 500_000);
      const download = await fetch(files[0]!.downloadUrl, { headers: bearer(body.download_access_token), redirect: 'manual' });
      expect(download.status).toBe(302);

      const once = await fetch(`${zoom.apiBaseUrl}/meetings/${encodeURIComponent(uuid)}/recordings`, { headers: bearer(oauthToken) });
      expect(((await once.json()) as { download_access_token?: string }).download_access_token).toBeUndefined();
    });

    it('needs an OAuth token and answers 404 for an unknown meeting', async () => {
      expect((await fetch(`${zoom.apiBaseUrl}/meetings/x/recordings`)).status).toBe(401);
      expect((await fetch(`${zoom.apiBaseUrl}/meetings/unknown/recordings`, { headers: bearer(oauthToken) })).status).toBe(404);
    });

    it('lists a user\'s recordings between two dates, paged', async () => {
      const separate = await startZoomSimulator({ clientId: 'c', clientSecret: 's', accountId: 'a' });
      try {
        for (const day of ['2024-03-01', '2024-03-05', '2024-03-09', '2024-04-02']) {
          await separate.addRecording({ startTime: `${day}T10:00:00Z`, topic: day });
        }
        const token = await newOAuthToken(separate, 'c:s', 'a');
        const page = async (query: string) =>
          (await (await fetch(`${separate.apiBaseUrl}/users/me/recordings?${query}`, { headers: bearer(token) })).json()) as {
            total_records: number;
            next_page_token: string;
            meetings: { topic: string }[];
          };
        const first = await page('from=2024-03-01&to=2024-03-31&page_size=2');
        expect(first.total_records).toBe(3);
        expect(first.meetings.map((m) => m.topic)).toEqual(['2024-03-09', '2024-03-05']); // newest first, as Zoom
        const second = await page(`from=2024-03-01&to=2024-03-31&page_size=2&next_page_token=${first.next_page_token}`);
        expect(second.meetings.map((m) => m.topic)).toEqual(['2024-03-01']);
        expect(second.next_page_token).toBe('');
      } finally {
        await separate.stop();
      }
    });
  });

  describe('webhook payloads and delivery', () => {
    it('builds a Zoom-shaped recording.completed; CC and TIMELINE files lack id and size', async () => {
      const { payload, files } = await zoom.addRecording({
        files: [{ fileType: 'MP4', size: 5000 }, { fileType: 'M4A', size: 300 }, { fileType: 'CC', size: 10 }, { fileType: 'TIMELINE', size: 10 }],
      });
      expect(payload.event).toBe('recording.completed');
      expect(payload.payload.account_id).toBe('acct');
      const recordingFiles = payload.payload.object.recording_files;
      expect(recordingFiles.map((f) => f.file_type)).toEqual(['MP4', 'M4A', 'CC', 'TIMELINE']);
      expect(recordingFiles[0]).toMatchObject({ id: files[0]!.fileId, file_size: 5000, status: 'completed', file_extension: 'MP4', recording_type: 'shared_screen_with_speaker_view' });
      for (const idLess of recordingFiles.slice(2)) {
        expect(idLess.id).toBeUndefined();
        expect(idLess.file_size).toBeUndefined();
        expect(idLess.status).toBeUndefined();
      }
      expect(payload.payload.object.total_size).toBe(5320);
      expect(recordingFiles.every((f) => f.download_url.startsWith(zoom.baseUrl))).toBe(true);
    });

    it('signs deliveries and answers url_validation the way the webhook checks them', async () => {
      const seen: { valid: boolean; event: string }[] = [];
      const receiver = http.createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          const rawBody = Buffer.concat(chunks);
          const check = verifySignature(
            { rawBody, signature: request.headers['x-zm-signature'] as string, timestamp: request.headers['x-zm-request-timestamp'] as string },
            'whsecret',
            { nowMs: Date.now(), maxSkewSeconds: 300 },
          );
          const body = JSON.parse(rawBody.toString('utf8')) as { event: string; payload: { plainToken?: string } };
          seen.push({ valid: check.ok, event: body.event });
          const answer = body.event === 'endpoint.url_validation' ? urlValidationAnswer(body.payload.plainToken!, 'whsecret') : {};
          response.writeHead(check.ok ? 200 : 401, { 'content-type': 'application/json' });
          response.end(JSON.stringify(answer));
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      try {
        const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/zoom`;
        const { payload } = await zoom.addRecording();
        expect((await zoom.deliverWebhook(url, payload)).status).toBe(200);
        expect(await zoom.validateEndpoint(url)).toBe(true);
        expect(seen).toEqual([
          { valid: true, event: 'recording.completed' },
          { valid: true, event: 'endpoint.url_validation' },
        ]);
      } finally {
        await new Promise((resolve) => receiver.close(resolve));
      }
    });
  });
});
