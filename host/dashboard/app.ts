/**
 * The operator dashboard as a Hono app: server-rendered pages over the read model,
 * one stylesheet and one script served from this folder (nothing from elsewhere: it
 * works offline), live updates over Server-Sent Events, and Retry.
 *
 * Who may use it (see ./config.ts): with a token, every request carries it (Bearer,
 * or HTTP Basic's password) or gets 401. Without one the listener is on loopback, and
 * the Host header must name loopback too, so a web page that rebinds its own DNS name
 * to 127.0.0.1 cannot read the dashboard or use Retry.
 *
 * Retry is a POST of a real form, safe against cross-site requests twice over: the
 * browser's Origin / Sec-Fetch-Site must say this very origin (hono/csrf), and the
 * form carries a token only pages of this dashboard hold (an HMAC under a key made
 * at start). Responses forbid framing and inline scripts (Content-Security-Policy).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../bundle-mode';
import { Hono, type Context } from 'hono';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import { streamSSE } from 'hono/streaming';
import type { AppLogger } from '../../shared/logger';
import type { RedriveResult } from '../../services/uploader/redrive';
import { bindsLoopbackOnly } from './config';
import type { DashboardReadModel } from './read-model';
import { page, type PageContext } from './views/layout';
import { courseView, notFoundView, searchView } from './views/lists';
import { overviewView } from './views/overview';
import type { RetryFormContext } from './views/parts';
import { recordingView } from './views/recording';

export interface DashboardAppOptions {
  readModel: DashboardReadModel;
  /** Re-drives one file through the ledger; absent where nothing can be published (then Retry is disabled, saying why). */
  retry?: (fileId: string) => Promise<RedriveResult>;
  retryUnavailable?: string;
  /** DASHBOARD_TOKEN; without it only loopback Host names are served. */
  token?: string;
  /** Shown in the header: what this dashboard reads. */
  where: string;
  logger: AppLogger;
  /** How often live updates look for changes (default 2 s). */
  liveIntervalMs?: number;
  /** Ends the live-update streams (the server is stopping). */
  signal?: AbortSignal;
}

/** Read from the sources (host/dashboard/assets), from the bundle too: never a stale copy. */
const ASSETS_DIR = join(PROJECT_ROOT, 'host', 'dashboard', 'assets');

const ASSETS: Record<string, { type: string; body: string }> = {
  'dashboard.css': { type: 'text/css; charset=utf-8', body: readFileSync(join(ASSETS_DIR, 'dashboard.css'), 'utf8') },
  'dashboard.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(join(ASSETS_DIR, 'dashboard.js'), 'utf8') },
};

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

export const AUTH_REALM = 'zoom-archiver dashboard';
const MAX_FILE_ID_LENGTH = 512;

/** Whether an Authorization header carries `token` as a Bearer token or as HTTP Basic's password (compared in constant time). */
export function carriesToken(authorization: string | undefined, token: string): boolean {
  if (!authorization) return false;
  const [scheme, value = ''] = authorization.trim().split(/\s+/, 2);
  let offered: string | undefined;
  if (scheme?.toLowerCase() === 'bearer') offered = value;
  else if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    offered = colon >= 0 ? decoded.slice(colon + 1) : undefined;
  }
  if (offered === undefined) return false;
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(offered), digest(token));
}

function hostnameOf(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined;
  try {
    return new URL(`http://${hostHeader}`).hostname;
  } catch {
    return undefined;
  }
}

/** Where Retry may send the browser back to: a path of this dashboard, never another site. */
function safeBack(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])[^\s]*$/.test(value) && value.length <= 2048 ? value : '/';
}


export function createDashboardApp(options: DashboardAppOptions): Hono {
  const app = new Hono({ strict: false });
  const { readModel, logger } = options;
  const formKey = randomBytes(32);
  const csrfToken = createHmac('sha256', formKey).update('zoom-archiver dashboard retry').digest('base64url');
  const liveIntervalMs = options.liveIntervalMs ?? 2000;
  // One change check per interval, whatever the number of open tabs and page renders:
  // each is a few reads (on DynamoDB, queries), so every caller within the interval shares the last answer.
  let versionAt = -Infinity;
  let versionRead: Promise<string> | undefined;
  const currentVersion = (): Promise<string> => {
    if (!versionRead || performance.now() - versionAt >= liveIntervalMs / 2) {
      versionAt = performance.now();
      versionRead = readModel.version().catch((error: unknown) => {
        versionRead = undefined; // a failed read is not remembered
        throw error;
      });
    }
    return versionRead;
  };
  // Open live-update streams, ended together when the server stops (one listener, however many tabs).
  const streams = new Set<{ abort(): void }>();
  options.signal?.addEventListener('abort', () => streams.forEach((stream) => stream.abort()), { once: true });
  // The notice after Retry travels in the redirect's query, signed: a crafted link cannot make the page say anything.
  const noticeSignature = (text: string, kind: string) => createHmac('sha256', formKey).update(`notice\0${kind}\0${text}`).digest('base64url');
  const withNotice = (back: string, notice: string, kind: 'ok' | 'problem'): string => {
    const url = new URL(back, 'http://dashboard.invalid');
    const text = notice.slice(0, 300);
    url.searchParams.set('notice', text);
    url.searchParams.set('kind', kind);
    url.searchParams.set('sig', noticeSignature(text, kind));
    return `${url.pathname.replace(/^\/+/, '/')}${url.search}`; // '/.//evil.example' resolves to '//evil.example': never another site
  };

  app.use('*', async (c, next) => {
    if (options.token) {
      if (!carriesToken(c.req.header('authorization'), options.token)) {
        return c.text('401 Unauthorized: this dashboard needs its DASHBOARD_TOKEN (as the password when the browser asks, or Authorization: Bearer).\n', 401, {
          'WWW-Authenticate': `Basic realm="${AUTH_REALM}", charset="UTF-8"`,
          ...SECURITY_HEADERS,
        });
      }
    } else {
      const host = hostnameOf(c.req.header('host'));
      if (!host || !bindsLoopbackOnly(host)) {
        return c.text('403 Forbidden: without DASHBOARD_TOKEN this dashboard answers only to loopback names (127.0.0.1, localhost).\n', 403, SECURITY_HEADERS);
      }
    }
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value);
  });
  // An Origin of another site (or a cross-site Sec-Fetch-Site) on a form POST is refused with 403.
  app.use('/retry', csrf({ origin: (origin, c) => URL.canParse(origin) && new URL(origin).host === c.req.header('host') }));

  const context = async (c: Context, extra: Partial<PageContext> = {}): Promise<PageContext> => {
    const notice = c.req.query('notice');
    const kind = c.req.query('kind') === 'ok' ? 'ok' : 'problem';
    const signed = notice !== undefined && c.req.query('sig') === noticeSignature(notice, kind);
    return {
      where: options.where,
      version: await currentVersion(),
      notice: signed ? { kind, text: notice } : undefined,
      ...extra,
    };
  };
  const retryContext = (c: Context): RetryFormContext => {
    const url = new URL(c.req.url);
    for (const name of ['notice', 'kind', 'sig']) url.searchParams.delete(name);
    return { csrf: csrfToken, back: `${url.pathname}${url.search}`, unavailable: options.retry ? undefined : options.retryUnavailable ?? 'Retry is not available here' };
  };

  app.get('/assets/:name', (c) => {
    const asset = ASSETS[c.req.param('name')];
    if (!asset) return c.text('not found', 404);
    return c.body(asset.body, 200, { 'Content-Type': asset.type });
  });

  app.get('/', async (c) => c.html(page('Overview', await context(c), overviewView(await readModel.overview(), retryContext(c)))));

  app.get('/recording', async (c) => {
    const id = c.req.query('id') ?? '';
    const detail = id ? await readModel.recording(id) : undefined;
    if (!detail) return c.html(page('Not found', await context(c), notFoundView(`No recording with meeting UUID “${id}” in the audit trail.`)), 404);
    return c.html(page(detail.summary.topic ?? id, await context(c), recordingView(detail, retryContext(c))));
  });

  app.get('/course', async (c) => {
    const code = (c.req.query('code') ?? '').trim();
    if (!code) return c.redirect('/', 303);
    return c.html(page(`Course ${code}`, await context(c), courseView(code, await readModel.course(code), 90)));
  });

  app.get('/search', async (c) => {
    const query = (c.req.query('q') ?? '').trim().slice(0, 200);
    return c.html(page('Search', await context(c, { query }), searchView(query, await readModel.search(query))));
  });

  /** The overview's data for scripts (the same numbers as the page). */
  app.get('/api/overview', async (c) => c.json(await readModel.overview()));

  app.get('/live', (c) =>
    streamSSE(c, async (stream) => {
      let last = '';
      streams.add(stream);
      try {
        while (!stream.aborted && !stream.closed && !options.signal?.aborted) {
          const version = await currentVersion();
          if (version !== last) {
            await stream.writeSSE({ event: 'change', data: version });
            last = version;
          }
          await stream.sleep(liveIntervalMs);
        }
      } finally {
        streams.delete(stream);
      }
    }),
  );

  app.post('/retry', async (c) => {
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/x-www-form-urlencoded|^multipart\/form-data/i.test(type)) return c.text('400: Retry is a form POST\n', 400);
    const form = await c.req.parseBody();
    const back = safeBack(form.back);
    const offered = typeof form.csrf === 'string' ? Buffer.from(form.csrf) : Buffer.alloc(0);
    const expected = Buffer.from(csrfToken);
    if (offered.length !== expected.length || !timingSafeEqual(offered, expected)) {
      return c.text('403: this form is out of date or not from this dashboard; reload the page and try again\n', 403);
    }
    const fileId = typeof form.fileId === 'string' ? form.fileId.trim() : '';
    if (!fileId || fileId.length > MAX_FILE_ID_LENGTH) return c.text('400: Retry needs a file id\n', 400);
    if (!options.retry) return c.redirect(withNotice(back, options.retryUnavailable ?? 'Retry is not available here', 'problem'), 303);
    try {
      const result = await options.retry(fileId);
      const skipped = result.skipped.find((s) => s.fileId === fileId);
      logger.info('dashboard retry', { fileId, redriven: result.redriven.includes(fileId), why: skipped?.why });
      return c.redirect(
        result.redriven.includes(fileId)
          ? withNotice(back, `Re-driven ${fileId}: the uploader takes it up within seconds; this page updates by itself.`, 'ok')
          : withNotice(back, `Not re-driven ${fileId}: ${skipped?.why ?? 'the ledger refused'}.`, 'problem'),
        303,
      );
    } catch (error) {
      logger.error('dashboard retry failed', { fileId, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
      return c.redirect(withNotice(back, `Retry of ${fileId} failed: ${error instanceof Error ? error.message : String(error)}. Nothing was re-driven; try again.`, 'problem'), 303);
    }
  });

  app.notFound(async (c) => c.html(page('Not found', await context(c), notFoundView(`Nothing at ${c.req.path}.`)), 404));
  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse(); // hono/csrf's 403 is a refusal, not a failure to read
    logger.error('dashboard request failed', { path: c.req.path, error: `${error.name}: ${error.message}` });
    return c.text('500: the dashboard could not read its data; see the log\n', 500);
  });
  return app;
}
