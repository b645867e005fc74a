import { createHash } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ZoomHttpDownloader } from '../../shared/adapters/zoom-download';
import {
  DownloadHttpError,
  DownloadNetworkError,
  ForeignHostError,
  NotMediaError,
  SizeMismatchError,
  ZoomTransferError,
} from '../../shared/ports/zoom-client';
import { createMediaVerifier } from '../../services/uploader/media-verifier';
import { startZoomSimulator, type SimulatedRecording, type ZoomSimulator } from '../../tools/zoom-simulator/simulator';

async function sha256Of(body: Readable): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of body) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

describe('ZoomHttpDownloader against the Zoom simulator', () => {
  let zoom: ZoomSimulator;
  let foreign: ZoomSimulator;
  let downloader: ZoomHttpDownloader;
  let recording: SimulatedRecording;

  const fresh = async (size = 3 * 1024 * 1024 + 17, ttl?: number) =>
    zoom.addRecording({ files: [{ size }], downloadTokenTtlSeconds: ttl });

  beforeAll(async () => {
    zoom = await startZoomSimulator();
    foreign = await startZoomSimulator();
    downloader = new ZoomHttpDownloader({ allowlist: zoom.host });
    recording = await fresh();
  });
  afterAll(async () => {
    await Promise.all([zoom.stop(), foreign.stop()]);
  });

  it('follows the 302 to the CDN and streams the exact bytes', async () => {
    const file = recording.files[0]!;
    const response = await downloader.open(file.downloadUrl, { token: recording.downloadToken, expectedSize: file.size });
    expect(response.redirects).toBe(1);
    expect(response.contentLength).toBe(file.size);
    expect(response.contentType).toBe('video/mp4');
    expect(response.finalUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/cdn\/[^?]+$/); // no signed query string
    const received = await sha256Of(response.body);
    expect(received).toEqual({ sha256: await file.sha256(), bytes: file.size });
    expect(zoom.stats(file.fileId)).toMatchObject({ downloadRequests: 1, cdnRequests: 1 });
    const log = zoom.requestLog.filter((entry) => entry.fileId === file.fileId);
    expect(log.map(({ kind, auth, authorization }) => ({ kind, auth, authorization }))).toEqual([
      { kind: 'download', auth: 'webhook', authorization: true },
      { kind: 'cdn', auth: undefined, authorization: false }, // another origin: no token
    ]);
  });

  it('refuses a redirect to a foreign host without connecting to it', async () => {
    const { files, downloadToken } = await fresh(1000);
    zoom.setFault(files[0]!.fileId, { redirectTo: `http://localhost:${foreign.port}/rec/download/${files[0]!.fileId}?sig=SECRET-SIG` });
    const error = await failure(downloader.open(files[0]!.downloadUrl, { token: downloadToken }));
    expect(error).toBeInstanceOf(ForeignHostError);
    expect(error).toMatchObject({ host: 'localhost', code: 'foreign_host', retryable: false });
    expect((error as Error).message).not.toMatch(/SECRET-SIG|sig=/);
    expect(foreign.requestLog).toHaveLength(0);
  });

  it('(control) the same redirect does reach the foreign server when its host is allowed', async () => {
    const other = await startZoomSimulator();
    try {
      const { files, downloadToken } = await fresh(1000);
      zoom.setFault(files[0]!.fileId, { redirectTo: `http://localhost:${other.port}/rec/download/${files[0]!.fileId}` });
      const permissive = new ZoomHttpDownloader({ allowlist: `${zoom.host},localhost` });
      await failure(permissive.open(files[0]!.downloadUrl, { token: downloadToken }));
      expect(other.requestLog).toHaveLength(1);
    } finally {
      await other.stop();
    }
  });

  it('refuses a download URL off the allowlist before any request', async () => {
    const before = zoom.requestLog.length;
    const strict = new ZoomHttpDownloader(); // zoom.us,*.zoom.us
    const error = await failure(strict.open(recording.files[0]!.downloadUrl, { token: recording.downloadToken }));
    expect(error).toBeInstanceOf(ForeignHostError);
    expect(zoom.requestLog.length).toBe(before);
  });

  it('stops after 5 redirects', async () => {
    const { files, downloadToken } = await fresh(1000);
    zoom.setFault(files[0]!.fileId, { redirectTo: files[0]!.downloadUrl });
    const error = await failure(downloader.open(files[0]!.downloadUrl, { token: downloadToken }));
    expect(error).toBeInstanceOf(DownloadHttpError);
    expect(error).toMatchObject({ status: 302, retryable: false });
    expect((error as Error).message).toMatch(/more than 5 redirects/);
    expect(zoom.stats(files[0]!.fileId).downloadRequests).toBe(6);
    // same-origin hops keep the token
    expect(zoom.requestLog.filter((entry) => entry.fileId === files[0]!.fileId).every((entry) => entry.auth === 'webhook')).toBe(true);
  });

  it('maps 404 to a permanent not_found', async () => {
    const error = await failure(downloader.open(`${zoom.baseUrl}/rec/download/no-such-file`, { token: recording.downloadToken }));
    expect(error).toBeInstanceOf(DownloadHttpError);
    expect(error).toMatchObject({ status: 404, code: 'not_found', retryable: false });
  });

  it('maps an expired webhook token (401) to a retryable unauthorized, and an OAuth token then works', async () => {
    const expired = await fresh(1000, -60);
    const error = await failure(downloader.open(expired.files[0]!.downloadUrl, { token: expired.downloadToken }));
    expect(error).toBeInstanceOf(DownloadHttpError);
    expect(error).toMatchObject({ status: 401, code: 'unauthorized', retryable: true });
    expect((error as Error).message).not.toContain(expired.downloadToken);

    const oauth = (await (
      await fetch(zoom.oauthTokenUrl, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${zoom.clientId}:${zoom.clientSecret}`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'account_credentials', account_id: zoom.accountId }),
      })
    ).json()) as { access_token: string };
    const response = await downloader.open(expired.files[0]!.downloadUrl, { token: oauth.access_token });
    expect((await sha256Of(response.body)).sha256).toBe(await expired.files[0]!.sha256());
  });

  it('maps a token for another meeting to 401', async () => {
    const other = await fresh(1000);
    const error = await failure(downloader.open(other.files[0]!.downloadUrl, { token: recording.downloadToken }));
    expect(error).toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it.each([
    ['429 with Retry-After seconds', { status: 429, retryAfterSeconds: 7 }, 7000],
    ['429 without Retry-After', { status: 429 }, undefined],
    ['503 with Retry-After', { status: 503, retryAfterSeconds: 2 }, 2000],
    ['500', { status: 500 }, undefined],
  ])('maps %s to a retryable error', async (_case, fault, retryAfterMs) => {
    const { files, downloadToken } = await fresh(1000);
    zoom.setFault(files[0]!.fileId, fault);
    const error = await failure(downloader.open(files[0]!.downloadUrl, { token: downloadToken }));
    expect(error).toBeInstanceOf(DownloadHttpError);
    expect(error).toMatchObject({ status: fault.status, code: 'download_failed', retryable: true });
    expect((error as DownloadHttpError).retryAfterMs).toBe(retryAfterMs);
  });

  it('reads Retry-After given as an HTTP date', async () => {
    const { files, downloadToken } = await fresh(1000);
    zoom.setFault(files[0]!.fileId, { status: 429, retryAfterDate: new Date(Date.now() + 120_000) });
    const error = (await failure(downloader.open(files[0]!.downloadUrl, { token: downloadToken }))) as DownloadHttpError;
    expect(error.retryAfterMs).toBeGreaterThan(100_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(120_000);
  });

  it('recovers once a burst of 5xx is over', async () => {
    const { files, downloadToken } = await fresh(5000);
    zoom.setFault(files[0]!.fileId, { status: 503, times: 2 });
    for (let i = 0; i < 2; i++) {
      await expect(downloader.open(files[0]!.downloadUrl, { token: downloadToken })).rejects.toMatchObject({ status: 503 });
    }
    const response = await downloader.open(files[0]!.downloadUrl, { token: downloadToken });
    expect((await sha256Of(response.body)).sha256).toBe(await files[0]!.sha256());
  });

  it('refuses an HTML page answered with 200', async () => {
    const { files, downloadToken } = await fresh(1000);
    zoom.setFault(files[0]!.fileId, { htmlPage: true });
    const error = await failure(downloader.open(files[0]!.downloadUrl, { token: downloadToken }));
    expect(error).toBeInstanceOf(NotMediaError);
    expect(error).toMatchObject({ code: 'not_media', status: 200 });
    expect((error as Error).message).toMatch(/^Zoom answered an HTML page \(200, text\/html\)/);
    expect((error as Error).message).not.toMatch(/Only the host/); // no excerpt of the page
  });

  it('fails at the headers when Content-Length differs from file_size', async () => {
    const { files, downloadToken } = await fresh(10_000);
    zoom.setFault(files[0]!.fileId, { wrongSize: -1 });
    const error = await failure(downloader.open(files[0]!.downloadUrl, { token: downloadToken, expectedSize: 10_000 }));
    expect(error).toBeInstanceOf(SizeMismatchError);
    expect(error).toMatchObject({ expectedBytes: 10_000, actualBytes: 9_999, stage: 'header', retryable: true, code: 'size_mismatch' });
  });

  it('lets the verifier catch a wrong size when the size is checked on the body only', async () => {
    const { files, downloadToken } = await fresh(10_000);
    zoom.setFault(files[0]!.fileId, { wrongSize: 5 });
    const response = await downloader.open(files[0]!.downloadUrl, { token: downloadToken });
    const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    const error = await failure(pipeline(response.body, createMediaVerifier({ expectedSize: 10_000 }), sink));
    expect(error).toBeInstanceOf(SizeMismatchError);
  });

  it.each([0.1, 0.5, 0.99])('surfaces a reset at %s of the body as a retryable network error', async (fraction) => {
    const size = 2 * 1024 * 1024;
    const { files, downloadToken } = await fresh(size);
    zoom.setFault(files[0]!.fileId, { resetAfterBytes: Math.floor(size * fraction), times: 1 });
    const response = await downloader.open(files[0]!.downloadUrl, { token: downloadToken, expectedSize: size });
    let committed = false;
    const sink = new Writable({
      write: (_chunk, _encoding, callback) => callback(),
      final: (callback) => {
        committed = true;
        callback();
      },
    });
    const error = await failure(pipeline(response.body, createMediaVerifier({ expectedSize: size }), sink));
    expect(error).toBeInstanceOf(DownloadNetworkError);
    expect(error).toMatchObject({ retryable: true, code: 'download_failed' });
    expect((error as Error).message).toMatch(/^download from 127\.0\.0\.1:\d+ broke off \(HTTP_GET_INCOMPLETE\)$/);
    expect(committed).toBe(false);
    // the next attempt gets the whole file
    const again = await downloader.open(files[0]!.downloadUrl, { token: downloadToken });
    expect((await sha256Of(again.body)).sha256).toBe(await files[0]!.sha256());
  });

  it('delivers a slow drip intact', async () => {
    const { files, downloadToken } = await fresh(200_000);
    zoom.setFault(files[0]!.fileId, { bytesPerSecond: 1_000_000 });
    const started = Date.now();
    const response = await downloader.open(files[0]!.downloadUrl, { token: downloadToken });
    expect((await sha256Of(response.body)).sha256).toBe(await files[0]!.sha256());
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('times out a body that stops flowing', async () => {
    const { files, downloadToken } = await fresh(100_000);
    zoom.setFault(files[0]!.fileId, { bytesPerSecond: 1 });
    const impatient = new ZoomHttpDownloader({ allowlist: zoom.host, idleTimeoutMs: 300 });
    const response = await impatient.open(files[0]!.downloadUrl, { token: downloadToken });
    const error = await failure(sha256Of(response.body));
    expect(error).toBeInstanceOf(DownloadNetworkError);
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
    expect((error as Error).message).toMatch(/^download from 127\.0\.0\.1:\d+ stalled for 300 ms$/);
  });

  it('does not time out while its own consumer is slow (backpressure)', async () => {
    const size = 8 * 1024 * 1024;
    const { files, downloadToken } = await fresh(size);
    const patient = new ZoomHttpDownloader({ allowlist: zoom.host, idleTimeoutMs: 200, highWaterMark: 64 * 1024 });
    const response = await patient.open(files[0]!.downloadUrl, { token: downloadToken });
    const hash = createHash('sha256');
    let stalled = false;
    const slowSink = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        if (stalled) return callback();
        stalled = true;
        setTimeout(callback, 700); // the archive is busy for longer than the idle timeout
      },
    });
    await pipeline(response.body, slowSink);
    expect(hash.digest('hex')).toBe(await files[0]!.sha256());
  });

  it('passes an abort through as an abort, not as a network error', async () => {
    const { files, downloadToken } = await fresh(10_000_000);
    zoom.setFault(files[0]!.fileId, { bytesPerSecond: 2_000_000 });
    const controller = new AbortController();
    const response = await downloader.open(files[0]!.downloadUrl, { token: downloadToken, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const error = await failure(sha256Of(response.body));
    expect(error).toBeDefined();
    expect(error).not.toBeInstanceOf(ZoomTransferError);
    expect((error as Error).name).toBe('AbortError');
  });

  it('reports a refused connection as a retryable network error', async () => {
    const closed = await startZoomSimulator();
    const url = `${closed.baseUrl}/rec/download/x`;
    await closed.stop();
    const error = await failure(downloader.open(url, { token: 't' }));
    expect(error).toBeInstanceOf(DownloadNetworkError);
    expect(error).toMatchObject({ retryable: true, code: 'download_failed' });
    expect((error as Error).message).toMatch(/^could not fetch from 127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/);
  });

  it('times out a server that accepts and never answers, as a retryable network error', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const impatient = new ZoomHttpDownloader({ allowlist: '127.0.0.1', idleTimeoutMs: 200 });
      const error = await failure(impatient.open(`http://127.0.0.1:${port}/rec/download/x`, { token: 't' }));
      expect(error).toBeInstanceOf(DownloadNetworkError);
      expect(error).toMatchObject({ code: 'timeout', retryable: true });
      expect((error as Error).message).toBe(`no answer from 127.0.0.1:${port} within 200 ms`);
    } finally {
      silent.close();
    }
  });
});

describe('ZoomHttpDownloader content types', () => {
  let server: http.Server;
  let base: string;
  let seenAuthorization: string | undefined;

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      seenAuthorization = request.headers.authorization;
      const type = decodeURIComponent(new URL(request.url ?? '/', 'http://x').searchParams.get('type') ?? '');
      const body = type.includes('json') ? '{"code":124,"message":"Invalid access token."}' : 'WEBVTT\n\n00:00.000 --> 00:01.000\nhello\n';
      response.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      response.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const downloader = () => new ZoomHttpDownloader({ allowlist: '127.0.0.1' });
  const open = (type: string, expect?: 'media' | 'text') =>
    downloader().open(`${base}/file?type=${encodeURIComponent(type)}`, { token: 'tok', expect });

  it.each(['text/plain', 'text/html; charset=utf-8', 'application/json', 'application/problem+json', 'application/xml'])('refuses %s for a media file', async (type) => {
    const error = await failure(open(type));
    expect(error).toBeInstanceOf(NotMediaError);
    expect((error as NotMediaError).contentType).toBe(type);
  });

  it('names Zoom\'s numeric error code from a JSON answer', async () => {
    const error = await failure(open('application/json'));
    expect((error as Error).message).toMatch(/JSON document with error code 124/);
  });

  it.each(['text/vtt', 'text/plain', 'application/json', 'application/octet-stream'])('accepts %s for a text file', async (type) => {
    const response = await open(type, 'text');
    expect((await sha256Of(response.body)).bytes).toBeGreaterThan(0);
  });

  it('refuses HTML even for a text file', async () => {
    await expect(open('text/html', 'text')).rejects.toBeInstanceOf(NotMediaError);
  });

  it('sends the token as a Bearer header', async () => {
    await (await open('video/mp4')).body.resume();
    expect(seenAuthorization).toBe('Bearer tok');
  });
});
