// The real-browser test helper itself: chromium starts, a page's script runs and
// reacts to a click, and the error collection catches a page that throws (so an
// empty `errors` in other tests means something).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openBrowser, screenshot, type TestBrowser } from '../support/browser';

const BROWSER_TIMEOUT_MS = 60_000;

const PAGES: Record<string, { type: string; body: string }> = {
  '/': {
    type: 'text/html; charset=utf-8',
    body: '<!doctype html><html><head><title>button</title><script src="/app.js" defer></script></head>' +
      '<body><button id="go">Press</button><p id="status">waiting</p></body></html>',
  },
  '/app.js': {
    type: 'text/javascript; charset=utf-8',
    body: "document.getElementById('go').addEventListener('click', () => {\n" +
      "  document.getElementById('status').textContent = 'pressed';\n});\n",
  },
  '/boom': {
    type: 'text/html; charset=utf-8',
    body: '<!doctype html><html><head><title>boom</title><script src="/boom.js"></script></head><body>boom</body></html>',
  },
  '/boom.js': { type: 'text/javascript; charset=utf-8', body: "throw new Error('boom');\n" },
};

let server: Server;
let baseUrl: string;
let browser: TestBrowser | undefined;

beforeAll(async () => {
  server = createServer((request, response) => {
    const page = PAGES[new URL(request.url ?? '/', 'http://localhost').pathname];
    if (!page) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': page.type, 'cache-control': 'no-store' }).end(page.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await openBrowser();
}, BROWSER_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server.close(resolve));
}, BROWSER_TIMEOUT_MS);

test('a page from a local server runs its script: the click changes the text, without errors', async () => {
  const { page, errors } = await browser!.newPage({ viewport: { width: 800, height: 600 } });
  await page.goto(`${baseUrl}/`);
  await expect(page.locator('#status').textContent()).resolves.toBe('waiting');
  await page.click('#go');
  await page.locator('#status', { hasText: 'pressed' }).waitFor();
  expect(await page.locator('#status').textContent()).toBe('pressed');
  expect(errors).toEqual([]);
}, BROWSER_TIMEOUT_MS);

test('a script that throws, and a missing asset, end up in errors', async () => {
  const { page, errors } = await browser!.newPage();
  await page.goto(`${baseUrl}/boom`);
  await Promise.all([
    page.waitForResponse((response) => response.url().endsWith('/missing.css')),
    page.evaluate('fetch("/missing.css").then((response) => response.status)'),
  ]);
  expect(errors).toEqual(
    expect.arrayContaining([expect.stringContaining('pageerror: boom'), expect.stringMatching(/^http 404: GET .*\/missing\.css$/)]),
  );
}, BROWSER_TIMEOUT_MS);

test('screenshot() writes a PNG into SCREENSHOT_DIR and returns its path', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'browser-support-shots-'));
  const previous = process.env.SCREENSHOT_DIR;
  process.env.SCREENSHOT_DIR = dir;
  try {
    const { page, errors } = await browser!.newPage({ viewport: { width: 320, height: 200 } });
    await page.goto(`${baseUrl}/`);
    const file = await screenshot(page, 'button page');
    expect(path.dirname(file)).toBe(dir);
    expect(path.basename(file)).toBe('button_page.png');
    const bytes = await readFile(file);
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(bytes.length).toBeGreaterThan(100);
    expect(errors).toEqual([]);
  } finally {
    if (previous === undefined) delete process.env.SCREENSHOT_DIR;
    else process.env.SCREENSHOT_DIR = previous;
    await rm(dir, { recursive: true, force: true });
  }
}, BROWSER_TIMEOUT_MS);

test('a missing chromium fails loudly, saying how to install it', async () => {
  const previous = process.env.CHROMIUM_PATH;
  process.env.CHROMIUM_PATH = path.join(tmpdir(), 'no-such-chromium');
  try {
    await expect(openBrowser()).rejects.toThrow(/no executable at .*no-such-chromium.*apt-get install -y chromium/);
  } finally {
    if (previous === undefined) delete process.env.CHROMIUM_PATH;
    else process.env.CHROMIUM_PATH = previous;
  }
});
