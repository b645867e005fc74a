import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ZoomHttpDownloader } from '../../shared/adapters/zoom-download';
import { DownloadNetworkError } from '../../shared/ports/zoom-client';

// Zoom serves downloads over https, with a 302 to a CDN on another host: here two
// loopback https servers (127.0.0.1 and localhost) with the fixture certificate.
const tlsFixtures = path.join(__dirname, '../fixtures/tls');
const cert = readFileSync(path.join(tlsFixtures, 'localhost-cert.pem'));
const key = readFileSync(path.join(tlsFixtures, 'localhost-key.pem'));
const file = randomBytes(3 * 1024 * 1024 + 11);
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

describe('ZoomHttpDownloader over https', () => {
  let zoom: https.Server;
  let cdn: https.Server;
  const seen: { host: string; authorization?: string }[] = [];

  beforeAll(async () => {
    cdn = https.createServer({ key, cert }, (request, response) => {
      seen.push({ host: 'cdn', authorization: request.headers.authorization });
      response.writeHead(200, { 'content-type': 'video/mp4', 'content-length': file.length });
      response.end(file);
    });
    await new Promise<void>((resolve) => cdn.listen(0, '127.0.0.1', resolve));
    const cdnPort = (cdn.address() as AddressInfo).port;
    zoom = https.createServer({ key, cert }, (request, response) => {
      seen.push({ host: 'zoom', authorization: request.headers.authorization });
      response.writeHead(302, { location: `https://localhost:${cdnPort}/cdn/file.mp4?signature=secret` });
      response.end();
    });
    await new Promise<void>((resolve) => zoom.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await Promise.all([zoom, cdn].map((server) => new Promise((resolve) => server.close(resolve))));
  });
  beforeEach(() => {
    seen.length = 0;
  });

  const url = () => `https://127.0.0.1:${(zoom.address() as AddressInfo).port}/rec/download/abc`;

  it('follows the 302 to the other host over TLS and streams the exact bytes, the token to Zoom only', async () => {
    const downloader = new ZoomHttpDownloader({ allowlist: '127.0.0.1,localhost', tls: { ca: cert } });
    const response = await downloader.open(url(), { token: 'tok', expectedSize: file.length });
    expect(response).toMatchObject({ redirects: 1, contentLength: file.length, contentType: 'video/mp4' });
    expect(response.finalUrl).toMatch(/^https:\/\/localhost:\d+\/cdn\/file\.mp4$/);
    const hash = createHash('sha256');
    for await (const chunk of response.body) hash.update(chunk as Buffer);
    expect(hash.digest('hex')).toBe(sha256(file));
    expect(seen).toEqual([
      { host: 'zoom', authorization: 'Bearer tok' },
      { host: 'cdn', authorization: undefined },
    ]);
  });

  it('refuses a certificate it does not trust as a network error, before sending the token', async () => {
    const downloader = new ZoomHttpDownloader({ allowlist: '127.0.0.1,localhost' });
    const error = await failure(downloader.open(url(), { token: 'tok' }));
    expect(error).toBeInstanceOf(DownloadNetworkError);
    expect((error as Error).message).toMatch(/could not fetch from 127\.0\.0\.1:\d+ \(\w*CERT\w*\)/);
    expect((error as Error).message).not.toContain('tok');
    expect(seen).toEqual([]);
  });
});
