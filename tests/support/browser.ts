/**
 * Real-browser tests: Debian's chromium (`apt-get install -y chromium`, at
 * /usr/bin/chromium or CHROMIUM_PATH) driven by playwright-core. Playwright never
 * downloads a browser here; a missing chromium fails the test with how to install it.
 *
 * Each openBrowser() starts one headless chromium with a fresh, empty profile (a
 * temporary user data directory that close() removes); each newPage() gets its own
 * browser context (no cookies, storage or credentials shared with other pages) and
 * an `errors` list that collects what should never happen on a working page:
 * uncaught exceptions, console errors, failed requests and HTTP errors (status >= 400)
 * of the requests the page makes (not chromium's own /favicon.ico probe), so a test
 * can end with `expect(errors).toEqual([])`.
 */
import { constants as fsConstants, accessSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';

export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/** No GPU, no sandbox (containers, root), and nothing that reaches the network on its own. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Playwright's limit for one action or navigation: below Jest's, so a hang names its step. */
const ACTION_TIMEOUT_MS = 20_000;

export interface NewPageOptions {
  viewport?: BrowserContextOptions['viewport'];
  httpCredentials?: BrowserContextOptions['httpCredentials'];
  extraHTTPHeaders?: BrowserContextOptions['extraHTTPHeaders'];
}

export interface BrowserPage {
  page: Page;
  /** One line per problem, in the order seen: `pageerror: …`, `console.error: …`, `requestfailed: …`, `http <status>: …`. */
  errors: string[];
}

export interface TestBrowser {
  newPage(options?: NewPageOptions): Promise<BrowserPage>;
  /** Closes every page and context, the browser, and removes its profile directory. */
  close(): Promise<void>;
}

/** CHROMIUM_PATH, else /usr/bin/chromium; throws, saying how to install it, when it is not there. */
export function chromiumPath(): string {
  const executablePath = process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM_PATH;
  try {
    accessSync(executablePath, fsConstants.X_OK);
  } catch {
    throw new Error(
      `Browser tests need Debian's chromium, but there is no executable at ${executablePath}` +
        `${process.env.CHROMIUM_PATH ? ' (CHROMIUM_PATH)' : ''}. ` +
        'Install it with `apt-get install -y chromium` (as root; .ci/run does this), or point CHROMIUM_PATH at a chromium binary.',
    );
  }
  return executablePath;
}

/**
 * Launches chromium. Playwright's launch() gives the browser a new temporary user data
 * directory (os.tmpdir()/playwright_chromiumdev_profile-*) and deletes it when the
 * browser closes; the contexts of newPage() start empty on top of it.
 */
export async function openBrowser(): Promise<TestBrowser> {
  const executablePath = chromiumPath();
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true, timeout: 60_000 });
  } catch (error) {
    throw new Error(
      `Could not start chromium at ${executablePath} (is it Debian's chromium? \`apt-get install -y chromium\`): ${(error as Error).message}`,
      { cause: error },
    );
  }
  const contexts = new Set<BrowserContext>();

  return {
    async newPage(options: NewPageOptions = {}): Promise<BrowserPage> {
      const context = await browser.newContext({
        viewport: options.viewport,
        httpCredentials: options.httpCredentials,
        extraHTTPHeaders: options.extraHTTPHeaders,
      });
      contexts.add(context);
      context.on('close', () => contexts.delete(context));
      context.setDefaultTimeout(ACTION_TIMEOUT_MS);
      context.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
      const page = await context.newPage();
      return { page, errors: collectErrors(page) };
    },

    async close(): Promise<void> {
      for (const context of [...contexts]) await context.close().catch(() => undefined);
      await browser.close();
    },
  };
}

function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => {
    errors.push(`pageerror: ${error.message}${error.stack ? `\n${error.stack}` : ''}`);
  });
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const { url, lineNumber } = message.location();
    if (isImplicitFavicon(url)) return;
    errors.push(`console.error: ${message.text()}${url ? ` (${url}:${lineNumber})` : ''}`);
  });
  page.on('requestfailed', (request) => {
    errors.push(`requestfailed: ${request.method()} ${request.url()}: ${request.failure()?.errorText ?? 'unknown error'}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) {
      errors.push(`http ${response.status()}: ${response.request().method()} ${response.url()}`);
    }
  });
  return errors;
}

/**
 * Chromium asks every origin for /favicon.ico by itself, whether the page links one or
 * not; that request is not the page's, and its 404 (reported only as a console error,
 * never as a response of the page) is not the page's fault.
 */
function isImplicitFavicon(url: string): boolean {
  try {
    return new URL(url).pathname === '/favicon.ico';
  } catch {
    return false;
  }
}

/**
 * Saves a full-page PNG of `page` as `<name>.png` in SCREENSHOT_DIR (default
 * os.tmpdir()/zoom-archiver-screenshots) and returns its path.
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = process.env.SCREENSHOT_DIR || path.join(tmpdir(), 'zoom-archiver-screenshots');
  await mkdir(dir, { recursive: true });
  const base = name.replace(/\.png$/i, '').replace(/[^A-Za-z0-9._-]+/g, '_') || 'screenshot';
  const file = path.resolve(dir, `${base}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
