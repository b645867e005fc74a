import { createHash } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { UnexpectedRangeError, ZoomHttpDownloader } from '../../shared/adapters/zoom-download';
import { DownloadHttpError, SizeMismatchError } from '../../shared/ports/zoom-client';
import { ContentStream, GeneratedContent } from '../../tools/zoom-simulator/content';
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

/** SHA-256 of bytes [start, end) of a simulated file, from the simulator's own generator. */
const expectedSha256 = (fileId: string, size: number, start: number, end = size) =>
  sha256Of(new ContentStream(new GeneratedContent(fileId, size), start, end)).then((result) => result.sha256);

const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

describe('ZoomHttpDownloader ranged downloads against the Zoom simulator', () => {
  let zoom: ZoomSimulator;
  let downloader: ZoomHttpDownloader;
  const size = 3 * 1024 * 1024 + 17;
  // Past a block boundary and inside its 8-byte index stamp: a wrong slice changes the hash.
  const offset = 1024 * 1024 + 3;

  const fresh = async (fileSize = size): Promise<SimulatedRecording> => zoom.addRecording({ files: [{ size: fileSize }] });
  const logOf = (fileId: string) => zoom.requestLog.filter((entry) => entry.fileId === fileId);

  beforeAll(async () => {
    zoom = await startZoomSimulator();
    downloader = new ZoomHttpDownloader({ allowlist: zoom.host });
  });
  afterAll(async () => {
    await zoom.stop();
  });

  it('(control) the generator reproduces the simulator\'s file, so slices of it are the expected bytes', async () => {
    const { files } = await fresh(200_000);
    expect(await expectedSha256(files[0]!.fileId, 200_000, 0)).toBe(await files[0]!.sha256());
  });

  it('resumes at an offset: 206 through the redirect, exactly bytes [offset, size)', async () => {
    const { files, downloadToken } = await fresh();
    const file = files[0]!;
    const response = await downloader.open(file.downloadUrl, { token: downloadToken, expectedSize: size, offset });
    expect(response.offset).toBe(offset);
    expect(response.contentLength).toBe(size - offset);
    expect(response.redirects).toBe(1);
    expect(response.finalUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/cdn\/[^?]+$/);
    const received = await sha256Of(response.body);
    expect(received).toEqual({ sha256: await expectedSha256(file.fileId, size, offset), bytes: size - offset });

    // The Range reached the CDN, which is only reached through the 302: it survived the hop.
    expect(zoom.stats(file.fileId)).toMatchObject({ downloadRequests: 1, cdnRequests: 1, rangeRequests: 1, bytesServed: size - offset, completedDownloads: 0 });
    expect(logOf(file.fileId).map(({ kind, status, authorization }) => ({ kind, status, authorization }))).toEqual([
      { kind: 'download', status: 302, authorization: true },
      { kind: 'cdn', status: 206, authorization: false }, // still no token to another origin
    ]);
  });

  it('resumes without a known size, and a resume plus the head is the whole file', async () => {
    const { files, downloadToken } = await fresh();
    const file = files[0]!;
    const head = await downloader.open(file.downloadUrl, { token: downloadToken });
    // Stop early on purpose: read up to `offset` bytes, as an interrupted attempt would.
    const hash = createHash('sha256');
    let got = 0;
    for await (const chunk of head.body) {
      const piece = (chunk as Buffer).subarray(0, offset - got);
      hash.update(piece);
      got += piece.length;
      if (got >= offset) break;
    }
    const rest = await downloader.open(file.downloadUrl, { token: downloadToken, offset });
    expect(rest).toMatchObject({ offset, contentLength: size - offset });
    for await (const chunk of rest.body) hash.update(chunk as Buffer);
    expect(hash.digest('hex')).toBe(await file.sha256());
  });

  it('with ignoreRange the CDN answers 200 with the whole file, and the response says offset 0', async () => {
    const { files, downloadToken } = await fresh();
    const file = files[0]!;
    zoom.setFault(file.fileId, { ignoreRange: true });
    const response = await downloader.open(file.downloadUrl, { token: downloadToken, expectedSize: size, offset });
    expect(response.offset).toBe(0);
    expect(response.contentLength).toBe(size);
    expect(await sha256Of(response.body)).toEqual({ sha256: await file.sha256(), bytes: size });
    expect(zoom.stats(file.fileId)).toMatchObject({ cdnRequests: 1, rangeRequests: 1, bytesServed: size, completedDownloads: 1 });
    expect(logOf(file.fileId).find((entry) => entry.kind === 'cdn')?.status).toBe(200);
  });

  it('checks a 200 to a ranged request against the whole file size, as without a range', async () => {
    const { files, downloadToken } = await fresh(10_000);
    zoom.setFault(files[0]!.fileId, { ignoreRange: true, wrongSize: -1 });
    const error = await failure(downloader.open(files[0]!.downloadUrl, { token: downloadToken, expectedSize: 10_000, offset: 100 }));
    expect(error).toBeInstanceOf(SizeMismatchError);
    expect(error).toMatchObject({ expectedBytes: 10_000, actualBytes: 9_999, stage: 'header' });
  });

  it('refuses a 206 whose file size differs from Zoom\'s file_size', async () => {
    const { files, downloadToken } = await fresh(10_000);
    zoom.setFault(files[0]!.fileId, { wrongSize: 5 }); // Content-Range: bytes 100-10004/10005
    const error = await failure(downloader.open(files[0]!.downloadUrl, { token: downloadToken, expectedSize: 10_000, offset: 100 }));
    expect(error).toBeInstanceOf(DownloadHttpError);
    expect(error).toMatchObject({ status: 206, retryable: true });
    expect((error as Error).message).toMatch(/file_size 10000/);
  });

  it('maps a 416 to a DownloadHttpError that tells the caller to start over', async () => {
    const { files, downloadToken } = await fresh(10_000);
    const error = await failure(downloader.open(files[0]!.downloadUrl, { token: downloadToken, offset: 10_000 }));
    expect(error).toBeInstanceOf(DownloadHttpError);
    expect(error).toMatchObject({ status: 416, retryable: false, code: 'download_failed' });
    expect((error as Error).message).toMatch(/start over/);
    expect((error as Error).message).not.toMatch(/sig=|exp=|\?/);
    expect((error as Error).message).not.toContain(downloadToken);
    expect(zoom.stats(files[0]!.fileId)).toMatchObject({ rangeRequests: 1, bytesServed: 0 });
  });

  it.each([
    ['absent', undefined],
    ['0', 0],
  ])('sends no Range header when the offset is %s', async (_case, start) => {
    const { files, downloadToken } = await fresh(10_000);
    const response = await downloader.open(files[0]!.downloadUrl, { token: downloadToken, expectedSize: 10_000, offset: start });
    expect(response).toMatchObject({ offset: 0, contentLength: 10_000 });
    expect(await sha256Of(response.body)).toEqual({ sha256: await files[0]!.sha256(), bytes: 10_000 });
    expect(zoom.stats(files[0]!.fileId)).toMatchObject({ cdnRequests: 1, rangeRequests: 0, bytesServed: 10_000, completedDownloads: 1 });
  });
});

describe('ZoomHttpDownloader ranged downloads against a hand-written server', () => {
  interface Seen {
    path: string;
    range?: string;
    authorization?: string;
  }
  let server: http.Server;
  let base: string;
  let seen: Seen[] = [];
  /** The body of the file the server pretends to have. */
  const file = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
  const size = file.length;

  /** 206 answers by path; `/hop/...` redirects (same host, another path) to the rest of the path. */
  const answers: Record<string, (headers: IncomingHttpHeaders) => { status: number; headers: Record<string, string | number>; body?: Buffer }> = {
    '/good': () => ({ status: 206, headers: { 'content-range': `bytes 10-${size - 1}/${size}`, 'content-length': size - 10 }, body: file.subarray(10) }),
    '/good-chunked': () => ({ status: 206, headers: { 'content-range': `bytes 10-${size - 1}/${size}` }, body: file.subarray(10) }),
    '/other-start': () => ({ status: 206, headers: { 'content-range': `bytes 0-${size - 1}/${size}`, 'content-length': size }, body: file }),
    '/not-to-the-end': () => ({ status: 206, headers: { 'content-range': `bytes 10-19/${size}`, 'content-length': 10 }, body: file.subarray(10, 20) }),
    '/unknown-size': () => ({ status: 206, headers: { 'content-range': 'bytes 10-35/*', 'content-length': size - 10 }, body: file.subarray(10) }),
    '/malformed': () => ({ status: 206, headers: { 'content-range': 'bytes=10-35/36', 'content-length': size - 10 }, body: file.subarray(10) }),
    '/no-content-range': () => ({ status: 206, headers: { 'content-length': size - 10 }, body: file.subarray(10) }),
    '/multipart': () => ({ status: 206, headers: { 'content-type': 'multipart/byteranges; boundary=x', 'content-length': 4 }, body: Buffer.from('--x\n') }),
    '/length-contradicts': () => ({ status: 206, headers: { 'content-range': `bytes 10-${size - 1}/${size}`, 'content-length': 5 }, body: file.subarray(10, 15) }),
    '/416': () => ({ status: 416, headers: { 'content-range': `bytes */${size}`, 'content-length': 0 } }),
    '/whole': () => ({ status: 200, headers: { 'content-length': size }, body: file }),
  };

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      request.resume();
      const url = new URL(request.url ?? '/', 'http://x');
      seen.push({ path: url.pathname, range: request.headers.range, authorization: request.headers.authorization });
      if (url.pathname.startsWith('/hop/')) {
        // The next hop on another port of loopback: another origin, like Zoom's CDN.
        response.writeHead(302, { location: `${other}${url.pathname.slice('/hop'.length)}?sig=SECRET-SIG`, 'content-length': 0 });
        response.end();
        return;
      }
      const answer = answers[url.pathname];
      if (!answer) {
        response.writeHead(404, { 'content-length': 0 });
        response.end();
        return;
      }
      const { status, headers, body } = answer(request.headers);
      response.writeHead(status, { 'content-type': 'video/mp4', ...headers });
      response.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // `localhost` names the same server under another origin for the redirect tests.
    other = `http://localhost:${(server.address() as AddressInfo).port}`;
  });
  let other: string;
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    seen = [];
  });

  const downloader = () => new ZoomHttpDownloader({ allowlist: '127.0.0.1,localhost' });
  const open = (path: string, options: { offset?: number; expectedSize?: number } = {}) =>
    downloader().open(`${base}${path}?sig=SECRET-SIG`, { token: 'tok', offset: 10, expectedSize: size, ...options });

  it('accepts the 206 for exactly the rest of the file', async () => {
    const response = await open('/good');
    expect(response).toMatchObject({ offset: 10, contentLength: size - 10, redirects: 0 });
    expect((await sha256Of(response.body)).sha256).toBe(createHash('sha256').update(file.subarray(10)).digest('hex'));
    expect(seen).toEqual([{ path: '/good', range: 'bytes=10-', authorization: 'Bearer tok' }]);
  });

  it('sends the Range header on every hop, the token only to the first origin', async () => {
    const response = await open('/hop/good');
    expect(response).toMatchObject({ offset: 10, contentLength: size - 10, redirects: 1 });
    expect(response.finalUrl).toBe(`${other}/good`);
    await sha256Of(response.body);
    expect(seen).toEqual([
      { path: '/hop/good', range: 'bytes=10-', authorization: 'Bearer tok' },
      { path: '/good', range: 'bytes=10-', authorization: undefined },
    ]);
  });

  it('gives the body length of a 206 without Content-Length from its Content-Range', async () => {
    const response = await open('/good-chunked', { expectedSize: undefined });
    expect(response).toMatchObject({ offset: 10, contentLength: size - 10 });
    expect((await sha256Of(response.body)).bytes).toBe(size - 10);
  });

  it.each([
    ['other bytes (from 0)', '/other-start', /not bytes 10-35\/36/],
    ['bytes that stop before the end', '/not-to-the-end', /not bytes 10-35\/36/],
    ['an unknown file size', '/unknown-size', /malformed Content-Range/],
    ['a malformed Content-Range', '/malformed', /malformed Content-Range/],
    ['no Content-Range', '/no-content-range', /without Content-Range/],
    ['multipart byte ranges', '/multipart', /without Content-Range/],
    ['a Content-Length that contradicts its Content-Range', '/length-contradicts', /Content-Length 5 contradicts/],
  ])('refuses a 206 with %s as a retryable DownloadHttpError', async (_case, path, detail) => {
    const error = await failure(open(path));
    expect(error).toBeInstanceOf(DownloadHttpError);
    expect(error).toBeInstanceOf(UnexpectedRangeError);
    expect(error).toMatchObject({ status: 206, retryable: true, code: 'download_failed' });
    expect((error as Error).message).toMatch(detail);
    expect((error as Error).message).not.toMatch(/SECRET-SIG|sig=|tok\b/);
  });

  it('refuses the same 206s after a redirect, without leaking the signed URL', async () => {
    const error = await failure(open('/hop/other-start'));
    expect(error).toMatchObject({ status: 206, retryable: true });
    expect((error as Error).message).toContain(`${other}/other-start`);
    expect((error as Error).message).not.toMatch(/SECRET-SIG|sig=/);
  });

  it('checks the file size of a 206 against expectedSize when known, not otherwise', async () => {
    const error = await failure(open('/good', { expectedSize: size + 1 }));
    expect(error).toMatchObject({ status: 206, retryable: true });
    expect((error as Error).message).toMatch(/file_size 37/);
    const response = await open('/good', { expectedSize: undefined });
    expect(response.offset).toBe(10);
    response.body.resume();
  });

  it('maps a 416 to a non-retryable DownloadHttpError that says to start over', async () => {
    const error = await failure(open('/hop/416'));
    expect(error).toBeInstanceOf(DownloadHttpError);
    expect(error).not.toBeInstanceOf(UnexpectedRangeError);
    expect(error).toMatchObject({ status: 416, retryable: false });
    expect((error as Error).message).toMatch(/offset 10 .*start over without a range/);
    expect((error as Error).message).not.toMatch(/SECRET-SIG|sig=/);
  });

  it('hands over a 200 to a ranged request as the whole file at offset 0', async () => {
    const response = await open('/whole');
    expect(response).toMatchObject({ offset: 0, contentLength: size });
    expect((await sha256Of(response.body)).sha256).toBe(createHash('sha256').update(file).digest('hex'));
    expect(seen[0]!.range).toBe('bytes=10-');
  });

  it.each([
    ['absent', undefined],
    ['0', 0],
  ])('sends no Range header on any hop when the offset is %s', async (_case, offset) => {
    const response = await open('/hop/whole', { offset });
    expect(response).toMatchObject({ offset: 0, contentLength: size, redirects: 1 });
    response.body.resume();
    expect(seen).toHaveLength(2);
    expect(seen.every((request) => request.range === undefined)).toBe(true);
  });

  it('keeps refusing a 206 nobody asked for (no offset), as before', async () => {
    const error = await failure(open('/good', { offset: undefined }));
    expect(error).toBeInstanceOf(DownloadHttpError);
    expect(error).not.toBeInstanceOf(UnexpectedRangeError);
    expect(error).toMatchObject({ status: 206, retryable: false });
  });

  it.each([-1, 1.5, Number.NaN])('refuses an offset of %s before any request', async (offset) => {
    await expect(open('/good', { offset })).rejects.toBeInstanceOf(RangeError);
    expect(seen).toHaveLength(0);
  });
});
