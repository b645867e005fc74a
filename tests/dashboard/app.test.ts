/**
 * The operator dashboard's HTTP surface (Hono's app.request), over the local read
 * model of a real data folder: SQLite audit trail and ledger in a temp dir, seeded the
 * way the pipeline writes them (toAuditRecord of real event details; register, claim,
 * fail, complete on the ledger), and Retry publishing to the real bus.sqlite.
 *
 * Who may use it (with and without DASHBOARD_TOKEN), what every response carries
 * (security headers, never the token), the pages' content (states, failures with
 * Retry, rejections, escaping), search, the JSON, Retry's cross-site defences and
 * redirects, signed notices, and the live-update stream.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Hono } from 'hono';
import { loadRuntimeConfig, type RuntimeConfig } from '../../host/config';
import { AUTH_REALM, createDashboardApp } from '../../host/dashboard/app';
import { openLocalDashboardData, type LocalDashboardData } from '../../host/dashboard/local';
import type { Overview } from '../../host/dashboard/read-model';
import { SqliteAuditLog } from '../../shared/adapters/audit-sqlite';
import { SqliteUploadLedger } from '../../shared/adapters/ledger-sqlite';
import { DetailType, parseDetail, type DetailOf, type DetailTypeName, type FileUploadRequested } from '../../shared/events';
import type { AppLogger } from '../../shared/logger';
import type { AuditRecord } from '../../shared/ports/audit-log';
import { toAuditRecord } from '../../services/audit/summarize';

// ---- the seeded data folder -------------------------------------------------------------

const NOW = Date.now();
const ago = (minutes: number) => new Date(NOW - minutes * 60_000).toISOString();
const SEALED = 'SEALED-download-token-3b8f0c2e9d';

const A = { id: 'kV3+q9ZfQ1uM2x/7pL0aBw==', meetingId: '85123456789', topic: '[MAQ101] Maqam Bayati — lesson 3', course: 'MAQ101' };
const B = { id: 'rec-B-optics', meetingId: '86100000002', topic: '[PHY201] Optics lab', course: 'PHY201' };
const C = { id: 'rec-C-staff', meetingId: '86100000003', topic: 'Staff meeting — budget', course: undefined };
const D = { id: 'rec-D-markup', meetingId: '86100000004', topic: '[ART110] <script>alert("pwned")</script> & <b>bold</b>', course: 'ART110' };
const E = { id: 'rec-E-older', meetingId: '85123456789', topic: '[MAQ101] Maqam Bayati — lesson 1', course: 'MAQ101' };
type Rec = typeof A | typeof C;

let seq = 0;
function auditRecord<D extends DetailTypeName>(detailType: D, time: string, detail: DetailOf<D>): AuditRecord {
  seq += 1;
  return toAuditRecord({ id: `evt-${String(seq).padStart(4, '0')}`, time, detailType, detail: parseDetail(detailType, detail) } as never);
}
const meta = (rec: Rec, key: string) => ({ schemaVersion: 1 as const, correlationId: `corr-${rec.id}`, causationId: 'webhook', idempotencyKey: `${rec.id}:${key}` });
const keyOf = (rec: Rec, fileId: string) => `courses/${rec.course}/2026-12-02/090000_${fileId}.mp4`;
const sha = (fileId: string) => createHash('sha256').update(fileId).digest('hex');
const location = (rec: Rec, fileId: string) => ({ kind: 'folder' as const, container: '/srv/archive', key: keyOf(rec, fileId), uri: `file:///srv/archive/${keyOf(rec, fileId)}` });
const zoomFile = (fileId: string) => ({
  fileId,
  idSource: 'zoom' as const,
  fileType: 'MP4',
  fileExtension: 'MP4',
  recordingType: 'shared_screen_with_speaker_view',
  fileSize: 734_003_200,
  downloadUrl: `https://ssrweb.zoom.us/rec/download/${fileId}`,
  status: 'completed',
});
const available = (rec: Rec, time: string, fileIds: string[]) =>
  auditRecord(DetailType.RecordingAvailable, time, {
    metadata: meta(rec, 'available'),
    trigger: 'recording.completed',
    recordingId: rec.id,
    meetingId: rec.meetingId,
    topic: rec.topic,
    startTime: time,
    receivedAt: time,
    part: { index: 0, count: 1 },
    fileCount: fileIds.length,
    files: fileIds.map(zoomFile),
    downloadAccess: { sealedToken: SEALED },
  });
function request(rec: Rec, fileId: string, accepted: number, time: string): FileUploadRequested {
  return parseDetail(DetailType.FileUploadRequested, {
    metadata: meta(rec, `FileUploadRequested:${fileId}`),
    trigger: 'recording.completed',
    recordingId: rec.id,
    meetingId: rec.meetingId,
    course: rec.course!,
    topic: rec.topic,
    startTime: time,
    file: zoomFile(fileId),
    archiveKey: keyOf(rec, fileId),
    acceptedFileCount: accepted,
    part: { index: 0, count: 1 },
    downloadAccess: { sealedToken: SEALED },
  });
}
const requested = (detail: FileUploadRequested, time: string) => auditRecord(DetailType.FileUploadRequested, time, detail);
const uploaded = (rec: Rec, fileId: string, size: number, time: string) =>
  auditRecord(DetailType.FileUploaded, time, {
    metadata: meta(rec, `FileUploaded:${fileId}`),
    recordingId: rec.id,
    fileId,
    course: rec.course!,
    fileType: 'MP4',
    location: location(rec, fileId),
    size,
    checksum: { algorithm: 'sha256', value: sha(fileId) },
    transferMs: 2500,
    attempts: 1,
  });
const archived = (rec: Rec, files: { fileId: string; size: number }[], time: string) =>
  auditRecord(DetailType.RecordingArchived, time, {
    metadata: meta(rec, 'archived'),
    recordingId: rec.id,
    course: rec.course!,
    part: { index: 0, count: 1 },
    files: files.map((f) => ({ fileId: f.fileId, location: location(rec, f.fileId), size: f.size, checksum: { algorithm: 'sha256' as const, value: sha(f.fileId) } })),
  });

const FAILURE = { code: 'download_failed' as const, message: 'Zoom answered 503 three times', retryable: true };
const REJECTION = 'no course code in the topic';

async function seed(config: RuntimeConfig): Promise<void> {
  const audit = new SqliteAuditLog(config.paths.audit);
  const ledger = new SqliteUploadLedger({ path: config.paths.ledger });
  const t = (minutes: number) => NOW - minutes * 60_000;
  const register = (rec: Rec, req: FileUploadRequested, minutes: number) =>
    ledger.register({ fileId: req.file.fileId, recordingId: rec.id, groupKey: `${rec.id}#0`, groupSize: req.acceptedFileCount, course: rec.course, archiveKey: req.archiveKey, expectedSize: req.file.fileSize, request: req, now: t(minutes) });
  const upload = async (rec: Rec, req: FileUploadRequested, size: number, minutes: number) => {
    await register(rec, req, minutes + 1);
    await ledger.claim(req.file.fileId, 'test-uploader:1', 60_000, t(minutes + 1));
    await ledger.complete(req.file.fileId, 'test-uploader:1', { size, checksum: { algorithm: 'sha256', value: sha(req.file.fileId) }, location: location(rec, req.file.fileId) }, t(minutes));
  };

  // E: archived three days ago (outside the last 24 hours), same recurring meeting as A.
  const e1 = request(E, 'fE1', 1, ago(3 * 1440));
  const records = [available(E, ago(3 * 1440 + 2), ['fE1']), requested(e1, ago(3 * 1440 + 1)), uploaded(E, 'fE1', 500, ago(3 * 1440)), archived(E, [{ fileId: 'fE1', size: 500 }], ago(3 * 1440))];
  await upload(E, e1, 500, 3 * 1440);
  // A: two files archived.
  const a1 = request(A, 'fA1', 2, ago(120));
  const a2 = request(A, 'fA2', 2, ago(120));
  records.push(available(A, ago(121), ['fA1', 'fA2']), requested(a1, ago(120)), requested(a2, ago(120)), uploaded(A, 'fA1', 1_000_000, ago(115)), uploaded(A, 'fA2', 250_000, ago(112)));
  records.push(archived(A, [{ fileId: 'fA1', size: 1_000_000 }, { fileId: 'fA2', size: 250_000 }], ago(112)));
  await upload(A, a1, 1_000_000, 115);
  await upload(A, a2, 250_000, 112);
  // B: its one file failed; waits for Retry.
  const b1 = request(B, 'fB1', 1, ago(60));
  records.push(available(B, ago(61), ['fB1']), requested(b1, ago(60)));
  records.push(
    auditRecord(DetailType.FileUploadFailed, ago(50), {
      metadata: meta(B, 'FileUploadFailed:fB1'),
      recordingId: B.id,
      fileId: 'fB1',
      course: B.course,
      archiveKey: b1.archiveKey,
      code: FAILURE.code,
      reason: FAILURE.message,
      retryable: true,
      attempts: 1,
    }),
  );
  await register(B, b1, 60);
  await ledger.claim('fB1', 'test-uploader:2', 60_000, t(58));
  await ledger.fail('fB1', 'test-uploader:2', FAILURE, t(50));
  // C: rejected.
  records.push(
    available(C, ago(41), ['fC1']),
    auditRecord(DetailType.RecordingRejected, ago(40), { metadata: meta(C, 'rejected'), recordingId: C.id, meetingId: C.meetingId, topic: C.topic, reason: 'not_course_meeting', explanation: REJECTION }),
  );
  // D: a topic full of markup, still processing.
  const d1 = request(D, 'fD1', 1, ago(20));
  records.push(available(D, ago(21), ['fD1']), requested(d1, ago(20)));
  await register(D, d1, 20);

  for (const r of records) await audit.record(r);
  audit.close();
  ledger.close();
}

// ---- the apps ---------------------------------------------------------------------------

const HOST = '127.0.0.1:8081';
const ORIGIN = `http://${HOST}`;
const TOKEN = 'dash-token-Zq8v1Lm4Pw7Xk2Rt';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

interface Logged {
  level: string;
  message: unknown;
  fields: unknown;
}
const logs: Logged[] = [];
const keep = (level: string) => (message: unknown, ...fields: unknown[]) => {
  logs.push({ level, message, fields });
};
const logger: AppLogger = { debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') };

let dir: string;
let config: RuntimeConfig;
let data: LocalDashboardData;
let open: Hono; // no token: loopback Host names only
let locked: Hono; // DASHBOARD_TOKEN
let retryCalls: string[];
let published = 0;
const stopLive = new AbortController();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dashboard-app-'));
  config = loadRuntimeConfig({ DATA_DIR: dir }, { webhook: 'optional' });
  await seed(config);
  data = openLocalDashboardData(config, logger, () => published++);
  retryCalls = [];
  const retry = (fileId: string) => {
    retryCalls.push(fileId);
    return data.retry(fileId);
  };
  const common = { readModel: data.readModel, retry, where: data.where, logger, liveIntervalMs: 50, signal: stopLive.signal };
  open = createDashboardApp(common);
  locked = createDashboardApp({ ...common, token: TOKEN });
});
afterAll(() => {
  stopLive.abort();
  data?.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (app: Hono, path: string, headers: Record<string, string> = {}) => app.request(path, { headers: { host: HOST, ...headers } });

/** Every event bus.sqlite holds, as published. */
function busEvents(): { detailType: string; detail: Record<string, unknown> }[] {
  const db = new Database(config.paths.bus, { readonly: true });
  try {
    return (db.prepare('SELECT detail_type, detail FROM events ORDER BY rowid').all() as { detail_type: string; detail: string }[]).map((r) => ({ detailType: r.detail_type, detail: JSON.parse(r.detail) as Record<string, unknown> }));
  } finally {
    db.close();
  }
}

const rowOf = (html: string, attribute: string, value: string): string => {
  const start = html.indexOf(`<tr ${attribute}="${value}"`);
  if (start < 0) throw new Error(`no row ${attribute}="${value}"`);
  return html.slice(start, html.indexOf('</tr>', start));
};
const recordingStates = (html: string) => Object.fromEntries([...html.matchAll(/<tr data-recording-id="([^"]+)" data-state="([^"]+)">/g)].map((m) => [m[1]!.replace(/&#39;|&quot;|&amp;/g, (x) => ({ '&#39;': "'", '&quot;': '"', '&amp;': '&' })[x]!), m[2]]));
const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1];

async function csrfToken(): Promise<string> {
  const token = csrfOf(await (await get(open, '/')).text());
  if (!token) throw new Error('the overview has no Retry form');
  return token;
}

async function postRetry(app: Hono, fields: Record<string, string>, headers: Record<string, string> = { origin: ORIGIN }): Promise<Response> {
  return app.request('/retry', {
    method: 'POST',
    headers: { host: HOST, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

// ---- tests ------------------------------------------------------------------------------

describe('who may open the dashboard', () => {
  describe('without DASHBOARD_TOKEN: loopback Host names only', () => {
    it.each(['127.0.0.1:8081', 'localhost:8081', 'LOCALHOST', '[::1]:8081', '127.0.0.1'])('serves Host %s', async (host) => {
      expect((await get(open, '/', { host })).status).toBe(200);
    });

    it.each(['evil.example', 'evil.example:8081', '127.0.0.1.evil.example', '192.168.1.20:8081', 'localhost.evil.example'])('refuses Host %s (DNS rebinding) with 403', async (host) => {
      const response = await get(open, '/', { host });
      expect(response.status).toBe(403);
      const body = await response.text();
      expect(body).toMatch(/only to loopback names/);
      expect(body).not.toContain(A.topic);
    });

    it('refuses a request without a Host header, and the JSON and Retry too', async () => {
      expect((await open.request('/')).status).toBe(403);
      expect((await get(open, '/api/overview', { host: 'evil.example' })).status).toBe(403);
      expect((await postRetry(open, { fileId: 'fB1', csrf: await csrfToken(), back: '/' }, { host: 'evil.example', origin: 'http://evil.example' })).status).toBe(403);
      expect(retryCalls).toEqual([]);
    });
  });

  describe('with DASHBOARD_TOKEN: every request carries it', () => {
    const seen: Response[] = [];
    const request = async (headers: Record<string, string>, path = '/') => {
      const response = await get(locked, path, headers);
      seen.push(response.clone());
      return response;
    };

    it('asks for it with 401 and WWW-Authenticate Basic when it is missing', async () => {
      const response = await request({});
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe(`Basic realm="${AUTH_REALM}", charset="UTF-8"`);
      const body = await response.text();
      expect(body).toMatch(/DASHBOARD_TOKEN/);
      expect(body).not.toContain(A.topic);
    });

    it('takes it as a Bearer token', async () => {
      expect((await request({ authorization: `Bearer ${TOKEN}` })).status).toBe(200);
      expect((await request({ authorization: `bearer ${TOKEN}` }, '/api/overview')).status).toBe(200);
    });

    it('refuses a wrong Bearer token', async () => {
      for (const wrong of [`${TOKEN}x`, TOKEN.slice(0, -1), TOKEN.toUpperCase(), '']) {
        const response = await request({ authorization: `Bearer ${wrong}` });
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toMatch(/^Basic /);
      }
    });

    it("takes it as HTTP Basic's password, whatever the user name", async () => {
      for (const user of ['operator', 'anyone', '']) expect((await request({ authorization: basic(user, TOKEN) })).status).toBe(200);
    });

    it('refuses a wrong Basic password, or the token given as the user name', async () => {
      expect((await request({ authorization: basic('operator', 'not-the-token-at-all') })).status).toBe(401);
      expect((await request({ authorization: basic(TOKEN, 'x') })).status).toBe(401);
    });

    it('refuses malformed Authorization headers', async () => {
      for (const header of ['Bearer', 'Basic', TOKEN, `Token ${TOKEN}`, `Basic ${Buffer.from(TOKEN).toString('base64')}`, 'Basic !!!not-base64!!!', `Digest username="x", response="${TOKEN}"`]) {
        expect((await request({ authorization: header })).status).toBe(401);
      }
    });

    it('needs no loopback Host then (it may listen beyond loopback)', async () => {
      expect((await request({ host: 'dashboard.school.example', authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    });

    it('refuses Retry without it before anything else', async () => {
      const response = await postRetry(locked, { fileId: 'fB1', csrf: await csrfToken(), back: '/' });
      seen.push(response.clone());
      expect(response.status).toBe(401);
      expect(retryCalls).toEqual([]);
    });

    it('never shows the token in any answer, body or header', async () => {
      const signedIn = { authorization: `Bearer ${TOKEN}` };
      for (const path of ['/', '/api/overview', `/recording?id=${encodeURIComponent(B.id)}`, '/course?code=MAQ101', '/search?q=maqam', '/nothing-here', '/assets/dashboard.js']) await request(signedIn, path);
      expect(seen.length).toBeGreaterThan(20);
      for (const response of seen) {
        const text = `${[...response.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${await response.text()}`;
        expect(text).not.toContain(TOKEN);
        expect(text).not.toContain(Buffer.from(TOKEN).toString('base64'));
      }
      expect(JSON.stringify(logs)).not.toContain(TOKEN);
    });
  });
});

describe('what every answer carries', () => {
  const expectSecurityHeaders = (response: Response) => {
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('cache-control')).toBe('no-store');
  };

  it('security headers on pages, JSON, assets, 404s and refusals', async () => {
    const answers = [
      await get(open, '/'),
      await get(open, '/api/overview'),
      await get(open, '/assets/dashboard.css'),
      await get(open, '/recording?id=unknown'),
      await get(open, '/nothing-here'),
      await get(open, '/', { host: 'evil.example' }),
      await get(locked, '/'),
      await postRetry(open, { fileId: 'no-such-file', csrf: await csrfToken(), back: '/' }),
      await postRetry(open, { fileId: 'no-such-file', csrf: await csrfToken(), back: '/' }, { origin: 'https://evil.example' }),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 404, 404, 403, 401, 303, 403]);
    for (const response of answers) expectSecurityHeaders(response);
  });
});

describe('assets', () => {
  it('serves the stylesheet and the script with their types, from the dashboard folder', async () => {
    const css = await get(open, '/assets/dashboard.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await css.text()).toBe(readFileSync(join(__dirname, '../../host/dashboard/assets/dashboard.css'), 'utf8'));

    const js = await get(open, '/assets/dashboard.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toContain("new EventSource('/live')");
  });

  it.each(['/assets/nope.js', '/assets/dashboard.CSS', '/assets/..%2Fconfig.ts', '/assets/%2E%2E%2Fapp.ts'])('answers 404 for %s', async (path) => {
    const response = await get(open, path);
    expect(response.status).toBe(404);
    expect(await response.text()).not.toMatch(/loadDashboardSettings|createDashboardApp/);
  });
});

describe('the overview', () => {
  let html: string;
  beforeAll(async () => {
    const response = await get(open, '/');
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    html = await response.text();
  });

  it('lists the seeded recordings, latest first, each with its state', () => {
    expect(recordingStates(html)).toEqual({ [D.id]: 'processing', [C.id]: 'rejected', [B.id]: 'failed', [A.id]: 'archived', [E.id]: 'archived' });
    const order = [D, C, B, A, E].map((r) => html.indexOf(`data-recording-id="${r.id}" data-state`));
    expect(order).toEqual([...order].sort((x, y) => x - y));
    const rowA = rowOf(html, 'data-recording-id', A.id);
    expect(rowA).toContain(A.topic);
    expect(rowA).toContain('2/2');
    expect(rowA).toContain('1.2 MiB');
    expect(rowA).toContain(`href="/recording?id=${encodeURIComponent(A.id)}"`);
    expect(rowA).toContain('href="/course?code=MAQ101"');
    expect(rowA).toContain('>archived</span>');
  });

  it('shows the failure with its reason and a working Retry form', () => {
    const row = rowOf(html, 'data-file-id', 'fB1');
    expect(row).toContain(FAILURE.code);
    expect(row).toContain('(retryable)');
    expect(row).toContain(FAILURE.message);
    expect(row).toContain(B.topic);
    expect(row).toContain(keyOf(B, 'fB1'));
    expect(row).toContain('none: waits for Retry');
    expect(row).toMatch(/<form class="retry" method="post" action="\/retry">/);
    expect(row).toContain('<input type="hidden" name="fileId" value="fB1">');
    expect(row).toContain('<input type="hidden" name="back" value="/">');
    expect(csrfOf(row)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(row).not.toMatch(/<button[^>]*disabled/);
    expect(html).toMatch(/1 file\(s\) failed now/);
  });

  it('shows the rejected meeting with its explanation', () => {
    const row = rowOf(html, 'data-recording-id', C.id);
    expect(row).toContain(C.topic);
    const rejections = html.slice(html.indexOf('id="rejected"'));
    const rejection = rowOf(rejections, 'data-recording-id', C.id);
    expect(rejection).toContain('not_course_meeting');
    expect(rejection).toContain(REJECTION);
    expect(rejection).toContain(C.meetingId);
  });

  it('escapes markup from Zoom (the topic) and runs no script but its own', () => {
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<b>bold</b>');
    expect(html).toContain('[ART110] &lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;');
    expect(html.match(/<script/g)).toEqual(['<script']);
    expect(html).toContain('<script src="/assets/dashboard.js" defer></script>');
  });

  it('shows the counts of the last 24 hours and the health', () => {
    const count = (name: string) => new RegExp(`data-count="${name}">(\\d+)<`).exec(html)?.[1];
    expect([count('received'), count('archived'), count('uploaded'), count('failed'), count('rejected')]).toEqual(['4', '1', '2', '1', '1']);
    expect(html).toMatch(/data-health="subscribers"><span class="muted">no subscriber configured/);
    expect(html).toContain(config.paths.root);
  });
});

describe('/api/overview', () => {
  it('answers the same numbers as JSON', async () => {
    const response = await get(open, '/api/overview');
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const o = (await response.json()) as Overview;

    expect(o.last24h).toMatchObject({ recordingsReceived: 4, recordingsArchived: 1, filesUploaded: 2, filesFailed: 1, recordingsRejected: 1 });
    expect(o.recordings.map((r) => [r.recordingId, r.state])).toEqual([
      [D.id, 'processing'],
      [C.id, 'rejected'],
      [B.id, 'failed'],
      [A.id, 'archived'],
      [E.id, 'archived'],
    ]);
    expect(o.recordings.find((r) => r.recordingId === A.id)).toMatchObject({ uploadedFiles: 2, bytesArchived: 1_250_000, course: 'MAQ101', meetingId: A.meetingId });
    expect(o.failures).toHaveLength(1);
    expect(o.failures[0]).toMatchObject({ fileId: 'fB1', recordingId: B.id, course: 'PHY201', topic: B.topic, attempts: 1, autoRetries: 0, error: FAILURE });
    expect(o.failures[0]!.nextAttemptAt).toBeUndefined();
    expect(o.rejections).toEqual([expect.objectContaining({ recordingId: C.id, reason: 'not_course_meeting', explanation: REJECTION, meetingId: C.meetingId })]);
    expect(o.daily.reduce((n, d) => n + d.files, 0)).toBe(3);
    expect(o.daily.reduce((n, d) => n + d.bytes, 0)).toBe(1_250_500);
    expect(o.health).toMatchObject({ bus: { pending: 0, dead: 0 }, subscribers: 'none', autoRetries: { due: 0, scheduled: 0 } });
    expect(o.health.nextSweep).toHaveProperty('off');
    expect(JSON.stringify(o)).not.toContain(SEALED);
  });
});

describe('a recording', () => {
  it('shows its files, their keys and checksums, and its history', async () => {
    const response = await get(open, `/recording?id=${encodeURIComponent(A.id)}`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain(`<title>${A.topic} · zoom-archiver</title>`);
    expect(html).toContain(`<code>${A.id}</code>`);
    for (const fileId of ['fA1', 'fA2']) {
      const row = rowOf(html, 'data-file-id', fileId);
      expect(row).toContain('data-state="uploaded"');
      expect(row).toContain(keyOf(A, fileId));
      expect(row).toContain(sha(fileId).slice(0, 16));
      expect(row).not.toContain('<form');
    }
    expect(html.match(/<td data-label="Event">/g)).toHaveLength(6);
    expect(html).toContain('archived: all 2 file(s) uploaded');
  });

  it('offers Retry for its failed file', async () => {
    const html = await (await get(open, `/recording?id=${encodeURIComponent(B.id)}`)).text();
    const row = rowOf(html, 'data-file-id', 'fB1');
    expect(row).toContain('data-state="failed"');
    expect(row).toContain(FAILURE.message);
    expect(row).toContain(`<input type="hidden" name="back" value="/recording?id=${encodeURIComponent(B.id)}">`);
  });

  it('answers 404 for an id not in the trail, escaping it', async () => {
    const response = await get(open, `/recording?id=${encodeURIComponent('<img src=x onerror=alert(1)>')}`);
    expect(response.status).toBe(404);
    const html = await response.text();
    expect(html).toContain('No recording with meeting UUID');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect((await get(open, '/recording')).status).toBe(404);
  });
});

describe('a course', () => {
  it("lists the course's recordings only", async () => {
    const response = await get(open, '/course?code=MAQ101');
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('<h1>Course MAQ101</h1>');
    expect(Object.keys(recordingStates(html)).sort()).toEqual([A.id, E.id].sort());
    expect(html).toMatch(/2 recording\(s\) with activity in the last 90 days/);
  });

  it('says when it has none, and sends an empty code to the overview', async () => {
    const html = await (await get(open, '/course?code=NOPE999')).text();
    expect(recordingStates(html)).toEqual({});
    expect(html).toContain('No recording of NOPE999 in the last 90 days.');
    const empty = await get(open, '/course?code=');
    expect(empty.status).toBe(303);
    expect(empty.headers.get('location')).toBe('/');
  });
});

describe('search', () => {
  const found = async (q: string) => {
    const response = await get(open, `/search?q=${encodeURIComponent(q)}`);
    expect(response.status).toBe(200);
    return Object.keys(recordingStates(await response.text())).sort();
  };

  it('by part of the topic, ignoring case', async () => {
    expect(await found('maqam BAYATI')).toEqual([A.id, E.id].sort());
    expect(await found('optics')).toEqual([B.id]);
    expect(await found('lesson 3')).toEqual([A.id]);
  });

  it('by meeting id, with or without spaces', async () => {
    expect(await found('851 2345 6789')).toEqual([A.id, E.id].sort());
    expect(await found('86100000003')).toEqual([C.id]);
  });

  it('by meeting UUID, exactly', async () => {
    expect(await found(A.id)).toEqual([A.id]);
    expect(await found(A.id.slice(0, -2))).toEqual([]);
  });

  it('keeps the query in the search box, escaped, and prompts when it is empty', async () => {
    const html = await (await get(open, `/search?q=${encodeURIComponent('"><script>x</script>')}`)).text();
    expect(html).not.toContain('<script>x');
    expect(html).toContain('value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"');
    expect(html).toContain('No recording matches.');
    expect(await (await get(open, '/search?q=')).text()).toContain('Type part of a topic');
  });
});

describe('Retry', () => {
  const FILE = 'fB1';
  beforeEach(() => {
    retryCalls.length = 0;
  });
  const requestsFor = (fileId: string) => busEvents().filter((e) => e.detailType === DetailType.FileUploadRequested && (e.detail.file as { fileId: string }).fileId === fileId);

  it('refuses a POST whose Origin is another site with 403, publishing nothing', async () => {
    const csrf = await csrfToken();
    const before = busEvents().length;
    for (const origin of ['https://evil.example', 'http://127.0.0.1:9999', 'null', `${ORIGIN}.evil.example`]) {
      const response = await postRetry(open, { fileId: FILE, csrf, back: '/' }, { origin });
      expect(response.status).toBe(403);
    }
    expect((await postRetry(open, { fileId: FILE, csrf, back: '/' }, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await postRetry(open, { fileId: FILE, csrf, back: '/' }, {})).status).toBe(403); // neither Origin nor Sec-Fetch-Site
    expect(retryCalls).toEqual([]);
    expect(busEvents()).toHaveLength(before);
    expect(logs.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('refuses a wrong or missing form token with 403', async () => {
    const csrf = await csrfToken();
    const forms: Record<string, string>[] = [{ fileId: FILE, back: '/' }, { fileId: FILE, csrf: `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'B' : 'A'}`, back: '/' }, { fileId: FILE, csrf: csrf.slice(1), back: '/' }, { fileId: FILE, csrf: '', back: '/' }];
    for (const fields of forms) {
      const response = await postRetry(open, fields);
      expect(response.status).toBe(403);
      expect(await response.text()).toMatch(/out of date or not from this dashboard/);
    }
    expect(retryCalls).toEqual([]);
  });

  it('refuses a JSON body (400) and a form without a file id (400)', async () => {
    const json = await open.request('/retry', { method: 'POST', headers: { host: HOST, origin: ORIGIN, 'content-type': 'application/json' }, body: JSON.stringify({ fileId: FILE, csrf: await csrfToken() }) });
    expect(json.status).toBe(400);
    expect((await postRetry(open, { csrf: await csrfToken(), back: '/' })).status).toBe(400);
    expect(retryCalls).toEqual([]);
  });

  it('re-drives the file from the same origin: 303 back with a notice, its FileUploadRequested in bus.sqlite', async () => {
    expect(requestsFor(FILE)).toEqual([]);
    const back = `/recording?id=${encodeURIComponent(B.id)}`;

    const response = await postRetry(open, { fileId: FILE, csrf: await csrfToken(), back });

    expect(response.status).toBe(303);
    const location = response.headers.get('location')!;
    const target = new URL(location, ORIGIN);
    expect(`${target.pathname}?id=${encodeURIComponent(target.searchParams.get('id')!)}`).toBe(back);
    expect(target.searchParams.get('kind')).toBe('ok');
    expect(target.searchParams.get('notice')).toMatch(/^Re-driven fB1: the uploader takes it up/);
    expect(target.searchParams.get('sig')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(retryCalls).toEqual([FILE]);
    expect(published).toBe(1);

    const [event, ...more] = requestsFor(FILE);
    expect(more).toEqual([]);
    expect(event!.detail).toMatchObject({ recordingId: B.id, archiveKey: keyOf(B, FILE), course: 'PHY201', topic: B.topic });
    expect(event!.detail.downloadAccess).toBeUndefined();
    expect(JSON.stringify(busEvents())).not.toContain(SEALED);
    // The bus now has a delivery waiting (no consumer runs here): the health says so.
    const o = (await (await get(open, '/api/overview')).json()) as Overview;
    expect(o.health.bus!.pending).toBeGreaterThan(0);

    const page = await (await get(open, location)).text();
    expect(page).toMatch(/<p class="notice ok" role="status">Re-driven fB1: the uploader takes it up/);
  });

  it('accepts Sec-Fetch-Site: same-origin without an Origin', async () => {
    const response = await postRetry(open, { fileId: 'no-such-file', csrf: await csrfToken(), back: '/' }, { 'sec-fetch-site': 'same-origin' });
    expect(response.status).toBe(303);
  });

  it('says why a file was not re-driven', async () => {
    const unknown = await postRetry(open, { fileId: 'no-such-file', csrf: await csrfToken(), back: '/' });
    const notice = new URL(unknown.headers.get('location')!, ORIGIN).searchParams;
    expect(notice.get('kind')).toBe('problem');
    expect(notice.get('notice')).toBe('Not re-driven no-such-file: no such file in the ledger.');

    const done = await postRetry(open, { fileId: 'fA1', csrf: await csrfToken(), back: '/' });
    expect(new URL(done.headers.get('location')!, ORIGIN).searchParams.get('notice')).toBe('Not re-driven fA1: already uploaded.');
    expect(requestsFor('fA1')).toEqual([]);
  });

  it.each(['//evil.example', 'https://evil.example', '/\\evil.example', '\\\\evil.example', 'javascript:alert(1)', 'evil.example', ' /', ''])('sends a `back` that is not a path of the dashboard (%j) to / instead', async (back) => {
    const response = await postRetry(open, { fileId: 'no-such-file', csrf: await csrfToken(), back });
    expect(response.status).toBe(303);
    const location = response.headers.get('location')!;
    expect(location).toMatch(/^\/\?notice=/);
    expect(new URL(location, ORIGIN).pathname).toBe('/');
  });

  it.each(['/.//evil.example', '/x/..//evil.example', '/%2e//evil.example', '/.\\/evil.example'])('keeps a `back` that resolves to //host (%j) on the dashboard', async (back) => {
    const response = await postRetry(open, { fileId: 'no-such-file', csrf: await csrfToken(), back });
    expect(response.status).toBe(303);
    const location = response.headers.get('location')!;
    expect(location).toMatch(/^\/(?![/\\])/);
    expect(new URL(location, ORIGIN).origin).toBe(ORIGIN);
  });

  it('shows no notice a link made up: only signed ones', async () => {
    const crafted = 'Your archive was deleted: call +1 555 0100';
    for (const query of [`notice=${encodeURIComponent(crafted)}&kind=ok`, `notice=${encodeURIComponent(crafted)}&kind=ok&sig=forged`, `notice=${encodeURIComponent(crafted)}&kind=problem&sig=`]) {
      const html = await (await get(open, `/?${query}`)).text();
      expect(html).not.toContain('Your archive was deleted');
      expect(html).not.toContain('class="notice');
    }
    // A signed notice with its text or kind changed is not shown either.
    const response = await postRetry(open, { fileId: 'no-such-file', csrf: await csrfToken(), back: '/' });
    const signed = new URL(response.headers.get('location')!, ORIGIN);
    expect(await (await get(open, `${signed.pathname}${signed.search}`)).text()).toContain('Not re-driven no-such-file');
    const altered = new URL(signed);
    altered.searchParams.set('notice', crafted);
    expect(await (await get(open, `${altered.pathname}${altered.search}`)).text()).not.toContain('Your archive was deleted');
    const rekinded = new URL(signed);
    rekinded.searchParams.set('kind', 'ok');
    expect(await (await get(open, `${rekinded.pathname}${rekinded.search}`)).text()).not.toContain('class="notice');
  });

  it('works with the token too, and says so when re-driving fails', async () => {
    const failing = createDashboardApp({
      readModel: data.readModel,
      retry: async () => {
        throw new Error('bus.sqlite is locked');
      },
      token: TOKEN,
      where: 'test',
      logger,
    });
    const html = await (await get(failing, '/', { authorization: `Bearer ${TOKEN}` })).text();
    const response = await postRetry(failing, { fileId: FILE, csrf: csrfOf(html)!, back: '/' }, { origin: ORIGIN, authorization: basic('op', TOKEN) });
    expect(response.status).toBe(303);
    const notice = new URL(response.headers.get('location')!, ORIGIN).searchParams;
    expect(notice.get('kind')).toBe('problem');
    expect(notice.get('notice')).toBe('Retry of fB1 failed: bus.sqlite is locked. Nothing was re-driven; try again.');
    // Each dashboard signs its own forms: another's token is refused.
    expect((await postRetry(failing, { fileId: FILE, csrf: await csrfToken(), back: '/' }, { origin: ORIGIN, authorization: basic('op', TOKEN) })).status).toBe(403);
  });
});

describe('live updates (/live)', () => {
  it('sends `event: change` with the version first, and again when the trail changes', async () => {
    const response = await get(open, '/live');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    const next = async () => {
      const { value } = await reader.read();
      return decoder.decode(value);
    };
    try {
      const first = await next();
      expect(first).toMatch(/^event: change\ndata: .+\n\n$/);
      const version = /data: (.+)\n/.exec(first)![1]!;
      expect(version).toBe(await data.readModel.version());

      const audit = new SqliteAuditLog(config.paths.audit);
      await audit.record(uploaded(D, 'fD1', 77, new Date().toISOString()));
      audit.close();

      const second = await next();
      expect(second).toMatch(/^event: change\ndata: .+\n\n$/);
      expect(/data: (.+)\n/.exec(second)![1]).not.toBe(version);
    } finally {
      await reader.cancel();
    }
  });
});
