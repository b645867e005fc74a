/**
 * The operator dashboard in a real browser (Debian's chromium via playwright-core)
 * over the real single-machine runtime: the Zoom simulator delivers webhooks, both
 * threads archive into a folder, and the dashboard's own listener serves the pages.
 * Nothing is mocked.
 *
 * The first runtime has no DASHBOARD_TOKEN (loopback only) and holds, once seeded:
 * an archived recording, a file failed for good (404), a file failed as retryable
 * with no automatic re-drive left (AUTO_RETRY_MAX_ATTEMPTS=0), and a rejected meeting.
 * The second runtime sets DASHBOARD_TOKEN and checks who may open the pages.
 *
 * Screenshots go to SCREENSHOT_DIR (tests/support/browser.ts): dashboard-overview,
 * dashboard-recording-failed, dashboard-retried, dashboard-phone.
 */
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { DetailType } from '../../shared/events';
import type { SimulatedRecording, SimulatedRecordingSpec, ZoomFault } from '../../tools/zoom-simulator/simulator';
import { openBrowser, screenshot, type TestBrowser } from '../support/browser';
import { startSimulatedRuntime, type SimulatedRuntime } from '../support/runtime';
import { waitFor } from '../support/wait-for';

const SLOW_MS = 120_000;
const KiB = 1024;
const DESKTOP = { width: 1366, height: 900 };
const PHONE = { width: 390, height: 844 };

const mp4 = (size: number) => ({ fileType: 'MP4', size, recordingType: 'shared_screen_with_speaker_view' });
const gallery = (size: number) => ({ fileType: 'MP4', size, recordingType: 'gallery_view' });
/** Meetings of this morning (UTC), so that the pages look like a working day. */
const startedHoursAgo = (hours: number) => new Date(Math.floor((Date.now() - hours * 3_600_000) / 60_000) * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

let browser: TestBrowser;

beforeAll(async () => {
  browser = await openBrowser();
}, SLOW_MS);

afterAll(async () => {
  await browser?.close();
}, SLOW_MS);

/** A CSS attribute value in double quotes (meeting UUIDs may hold `/`, `+`, `=`). */
const q = (value: string) => `"${value.replace(/["\\]/g, '\\$&')}"`;
const recordingRow = (uuid: string) => `tr[data-recording-id=${q(uuid)}]`;

/** The page is no wider than its viewport; when it is, which elements stick out. */
async function expectNoHorizontalScroll(page: Page): Promise<void> {
  const layout = await page.evaluate<{ scrollWidth: number; clientWidth: number; overflowing: string[] }>(`(() => {
    const root = document.documentElement;
    const overflowing = [];
    if (root.scrollWidth > root.clientWidth) {
      for (const el of document.querySelectorAll('body *')) {
        const box = el.getBoundingClientRect();
        if (box.right > root.clientWidth + 0.5) overflowing.push(el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().replace(/\\s+/g, '.') : '') + ' right=' + Math.round(box.right));
        if (overflowing.length >= 10) break;
      }
    }
    return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, overflowing };
  })()`);
  expect(layout.overflowing).toEqual([]);
  expect(layout.scrollWidth).toBeLessThanOrEqual(layout.clientWidth);
  expect(layout.clientWidth).toBeGreaterThan(0);
}

/** Live updates connected: the page's script ran and GET /live answered. */
const liveOn = (page: Page) => page.locator('#live[data-state="on"]').waitFor({ timeout: 15_000 });

async function deliver(env: SimulatedRuntime, spec: SimulatedRecordingSpec, fault?: ZoomFault): Promise<SimulatedRecording> {
  const recording = await env.simulator.addRecording(spec);
  if (fault) env.simulator.setFault(recording.files[0]!.fileId, fault);
  expect((await env.simulator.deliverWebhook(env.webhookUrl, recording.payload)).status).toBe(200);
  return recording;
}

async function ledgerState(env: SimulatedRuntime, fileId: string, state: string, timeoutMs = 30_000) {
  return waitFor(
    `ledger entry ${fileId} ${state}`,
    async () => {
      const entry = await env.runtime.ledger.get(fileId);
      return entry?.state === state ? entry : undefined;
    },
    timeoutMs,
  );
}

async function inHistory(env: SimulatedRuntime, uuid: string, detailType: string, timeoutMs = 30_000) {
  return waitFor(`${detailType} of ${uuid} in the audit trail`, async () => (await env.runtime.auditLog.recordingHistory(uuid)).find((r) => r.detailType === detailType), timeoutMs);
}

/** A POST the way Node sends it, with whatever Host header the test wants. */
function rawRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('dashboard on loopback (no DASHBOARD_TOKEN)', () => {
  let env: SimulatedRuntime;
  let base: string;
  let archived: SimulatedRecording;
  let gone: SimulatedRecording; // 404: failed for good, not retryable
  let outage: SimulatedRecording; // 503: retryable, but no automatic re-drive left
  let rejected: SimulatedRecording;
  const MEETING_ID = 81234567890;

  beforeAll(async () => {
    env = await startSimulatedRuntime({
      secret: 'dashboard-browser-secret',
      dirPrefix: 'dashboard-browser-',
      env: { UPLOAD_MAX_ATTEMPTS: '2', AUTO_RETRY_MAX_ATTEMPTS: '0', SWEEP_INTERVAL_SECONDS: '0' },
    });
    expect(env.runtime.dashboardUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    base = env.runtime.dashboardUrl!;

    archived = await deliver(env, { topic: '[MAQ101] Lesson 1: Linear maps', meetingId: MEETING_ID, startTime: startedHoursAgo(5), files: [mp4(300 * KiB + 17), gallery(120 * KiB + 5)] });
    gone = await deliver(env, { topic: '[MAQ101] Lesson 2: Eigenvalues', startTime: startedHoursAgo(3), files: [mp4(200 * KiB)] }, { status: 404 });
    outage = await deliver(env, { topic: '[PHY210] Lab 3: Pendulums', startTime: startedHoursAgo(2), files: [mp4(768 * KiB)] }, { status: 503 });
    rejected = await deliver(env, { topic: 'Staff coffee chat', startTime: startedHoursAgo(1), files: [mp4(50 * KiB)] });

    await inHistory(env, archived.uuid, DetailType.RecordingArchived);
    await ledgerState(env, gone.files[0]!.fileId, 'failed');
    await ledgerState(env, outage.files[0]!.fileId, 'failed');
    await inHistory(env, rejected.uuid, DetailType.RecordingRejected);
    await env.runtime.bus.idle();
  }, SLOW_MS);

  afterAll(async () => {
    await env?.stop();
  }, SLOW_MS);

  it('overview at 1366×900: archived, failed and rejected recordings, counts, health and chart, no errors, no horizontal scroll', async () => {
    const { page, errors } = await browser.newPage({ viewport: DESKTOP });
    const response = await page.goto(base);
    expect(response?.status()).toBe(200);
    await liveOn(page);

    // Recent recordings, each in its state.
    expect(await page.locator(recordingRow(archived.uuid)).getAttribute('data-state')).toBe('archived');
    expect(await page.locator(recordingRow(gone.uuid)).getAttribute('data-state')).toBe('failed');
    expect(await page.locator(recordingRow(outage.uuid)).getAttribute('data-state')).toBe('failed');
    expect(await page.locator(`table.recordings ${recordingRow(rejected.uuid)}`).getAttribute('data-state')).toBe('rejected');
    expect(await page.locator('table.recordings tbody tr').count()).toBe(4);
    await expect(page.locator(recordingRow(archived.uuid)).textContent()).resolves.toContain('2/2');

    // Failures: both failed files, why, attempts, and that neither is retried by itself.
    expect(await page.locator('table.failures tbody tr').count()).toBe(2);
    const goneRow = page.locator(`table.failures tr[data-file-id=${q(gone.files[0]!.fileId)}]`);
    const goneText = (await goneRow.textContent()) ?? '';
    expect(goneText).toContain('not_found');
    expect(goneText).not.toContain('(retryable)');
    expect(goneText).toContain('Lesson 2: Eigenvalues');
    expect((await goneRow.locator('td[data-label="Runs"]').textContent())?.trim()).toBe('1');
    const outageRow = page.locator(`table.failures tr[data-file-id=${q(outage.files[0]!.fileId)}]`);
    const outageText = (await outageRow.textContent()) ?? '';
    expect(outageText).toContain('download_failed (retryable)');
    // Attempts are the ledger's runs (claims) of the file; the one run tried the download twice (UPLOAD_MAX_ATTEMPTS=2).
    const outageEntry = await env.runtime.ledger.get(outage.files[0]!.fileId);
    expect(outageEntry).toMatchObject({ attempts: 1, lastError: { code: 'download_failed', retryable: true } });
    expect(outageEntry?.nextAttemptAt).toBeUndefined();
    expect((await outageRow.locator('td[data-label="Runs"]').textContent())?.trim()).toBe(String(outageEntry!.attempts));
    expect(outageText).toContain(outageEntry!.lastError!.message);
    expect(await outageRow.locator('td[data-label="Next automatic attempt"]').textContent()).toContain('waits for Retry');
    expect(await outageRow.locator('form.retry button').isEnabled()).toBe(true);

    // Rejected meetings: why.
    const rejection = page.locator(`table.rejections tr[data-recording-id=${q(rejected.uuid)}]`);
    expect(await rejection.textContent()).toContain('not_course_meeting');
    expect(await rejection.textContent()).toContain('Staff coffee chat');

    // The last 24 hours.
    const count = async (name: string) => (await page.locator(`dd[data-count="${name}"]`).textContent())?.trim();
    expect(await count('received')).toBe('4');
    expect(await count('archived')).toBe('1');
    expect(await count('uploaded')).toBe('2');
    expect(await count('failed')).toBe('2');
    expect(await count('rejected')).toBe('1');

    // Pipeline health: everything delivered, no subscriber, sweeps off, nothing scheduled.
    const health = async (name: string) => (await page.locator(`dd[data-health="${name}"]`).textContent())?.replace(/\s+/g, ' ').trim();
    expect(await health('bus-pending')).toBe('0 deliveries');
    expect(await health('bus-dead')).toBe('0');
    expect(await health('subscribers')).toBe('no subscriber configured');
    expect(await health('last-sweep')).toBe('none in the last 30 days');
    expect(await health('next-sweep')).toMatch(/^off/);
    expect(await health('auto-retries')).toBe('0 due now, 0 scheduled');

    // The chart: 14 days, today's bar as tall as the chart (2 files, the maximum).
    const bars = page.locator('svg.chart.files rect');
    expect(await bars.count()).toBe(14);
    const heights = await bars.evaluateAll((rects) => rects.map((r) => Number((r as unknown as { getAttribute(n: string): string }).getAttribute('height'))));
    expect(heights[13]).toBeGreaterThan(0);
    expect(heights.filter((h) => h > 0)).toHaveLength(1);
    expect((await bars.nth(13).boundingBox())!.height).toBeGreaterThan(10);

    // The stylesheet applied (the header is dark), and nothing went wrong loading any of it.
    expect(await page.locator('header.top').evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el).backgroundColor)).toBe('rgb(25, 32, 42)');
    await expectNoHorizontalScroll(page);
    await screenshot(page, 'dashboard-overview');
    expect(errors).toEqual([]);
  }, SLOW_MS);

  it('recording page of the failed recording: the file failed with its reason and attempts, and the history', async () => {
    const fileId = gone.files[0]!.fileId;
    const entry = await env.runtime.ledger.get(fileId);
    expect(entry?.lastError?.code).toBe('not_found');
    const { page, errors } = await browser.newPage({ viewport: DESKTOP });
    expect((await page.goto(`${base}recording?id=${encodeURIComponent(gone.uuid)}`))?.status()).toBe(200);
    await liveOn(page);

    expect(await page.locator('h1').textContent()).toContain('[MAQ101] Lesson 2: Eigenvalues');
    expect(await page.locator('h1 .badge').textContent()).toBe('failed');
    const rows = page.locator('table.files tbody tr');
    expect(await rows.count()).toBe(1);
    const row = page.locator(`table.files tr[data-file-id=${q(fileId)}]`);
    expect(await row.getAttribute('data-state')).toBe('failed');
    const error = (await row.locator('td[data-label="Last error"]').textContent()) ?? '';
    expect(error).toContain('not_found');
    expect(error).toContain(entry!.lastError!.message);
    expect(error).not.toContain('(retryable)');
    expect((await row.locator('td[data-label="Runs"]').textContent())?.trim()).toBe('1');
    expect(await row.locator('td[data-label="Key"]').textContent()).toBe(entry!.archiveKey);
    expect(await row.locator('form.retry button').count()).toBe(1);

    // The history: every event of the recording, oldest first, the failure marked as a problem.
    const history = await env.runtime.auditLog.recordingHistory(gone.uuid);
    const events = await page.locator('table.history tbody tr td[data-label="Event"]').allTextContents();
    expect(events).toEqual(history.map((r) => r.detailType));
    expect(events).toEqual(expect.arrayContaining([DetailType.RecordingAvailable, DetailType.FileUploadRequested, DetailType.FileUploadFailed]));
    expect(await page.locator('table.history tr.problem td[data-label="Event"]').allTextContents()).toContain(DetailType.FileUploadFailed);

    await expectNoHorizontalScroll(page);
    await screenshot(page, 'dashboard-recording-failed');
    expect(errors).toEqual([]);
  }, SLOW_MS);

  it('Retry in the browser: the notice after the redirect, then the live update shows the recording archived, with the right bytes', async () => {
    const fileId = outage.files[0]!.fileId;
    expect((await env.runtime.ledger.get(fileId))?.state).toBe('failed');
    // Zoom is healthy again, but slow: the upload outlasts a live-update interval, so the page must change by itself.
    env.simulator.setFault(fileId, undefined);
    env.simulator.setFault(fileId, { bytesPerSecond: 256 * KiB });

    const { page } = await browser.newPage({ viewport: DESKTOP });
    // Per document: an id (a reload would change it), the notice as first rendered, and the live updates seen.
    await page.addInitScript(`
      window.__loadId = Math.random();
      window.__updates = 0;
      document.addEventListener('dashboard:updated', () => { window.__updates += 1; });
      document.addEventListener('DOMContentLoaded', () => {
        const notice = document.querySelector('p.notice[role="status"]');
        window.__notice = notice ? notice.className + ': ' + notice.textContent : null;
      });
    `);
    await page.goto(base);
    await liveOn(page);
    const before = await page.evaluate<number>('window.__loadId');

    const button = page.locator(`table.failures tr[data-file-id=${q(fileId)}] form.retry button`);
    const [redirect] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${base}retry` && r.request().method() === 'POST'),
      page.waitForURL(/[?&]notice=/),
      button.click(),
    ]);
    expect(redirect.status()).toBe(303);
    expect(new URL(page.url()).pathname).toBe('/');
    expect(await page.evaluate<string | null>('window.__notice')).toBe(`notice ok: Re-driven ${fileId}: the uploader takes it up within seconds; this page updates by itself.`);
    const loaded = await page.evaluate<number>('window.__loadId');
    expect(loaded).not.toBe(before);
    await liveOn(page);

    // No reload from here: the live update swaps the content in.
    await page.locator(`table.recordings ${recordingRow(outage.uuid)}[data-state="archived"]`).waitFor({ timeout: 60_000 });
    expect(await page.evaluate<number>('window.__loadId')).toBe(loaded);
    expect(await page.evaluate<number>('window.__updates')).toBeGreaterThan(0);
    expect(await page.locator(`table.failures tr[data-file-id=${q(fileId)}]`).count()).toBe(0);
    // A live update does not repeat the notice.
    expect(await page.locator('p.notice[role="status"]').count()).toBe(0);

    const entry = await ledgerState(env, fileId, 'uploaded');
    expect(entry.result?.location.key).toBe(entry.archiveKey);
    expect(await env.archivedSha(entry.archiveKey)).toBe(await env.simulator.expectedSha256(fileId));
    expect(entry.result?.checksum.value).toBe(await env.simulator.expectedSha256(fileId));
    await screenshot(page, 'dashboard-retried');
  }, SLOW_MS);

  describe('cross-site requests', () => {
    let attacker: Server;
    let attackerUrl: string;
    let forged: { csrf: string };

    beforeAll(async () => {
      forged = { csrf: 'guessed-csrf-token' };
      attacker = createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://attacker.invalid');
        const csrf = url.searchParams.get('csrf') ?? forged.csrf;
        const fileId = url.searchParams.get('fileId') ?? '';
        const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><html><body>
<form id="f" method="post" action="${esc(base)}retry">
<input type="hidden" name="fileId" value="${esc(fileId)}"><input type="hidden" name="csrf" value="${esc(csrf)}"><input type="hidden" name="back" value="/">
</form><script>document.getElementById('f').submit();</script></body></html>`);
      });
      await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
      attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`;
      expect(new URL(attackerUrl).origin).not.toBe(new URL(base).origin);
    }, SLOW_MS);

    afterAll(async () => {
      await new Promise((resolve) => attacker?.close(resolve));
    }, SLOW_MS);

    /** The file's ledger entry and the simulator's download count stay as they were: nothing was re-driven. */
    async function expectNotRedriven(fileId: string, before: { updatedAt: number; downloads: number; requests: number }) {
      await env.runtime.bus.idle();
      const entry = await env.runtime.ledger.get(fileId);
      expect(entry?.state).toBe('failed');
      expect(entry?.updatedAt).toBe(before.updatedAt);
      expect(env.simulator.stats(fileId).downloadRequests).toBe(before.downloads);
      const requests = (await env.runtime.auditLog.recordingHistory(gone.uuid)).filter((r) => r.detailType === DetailType.FileUploadRequested);
      expect(requests).toHaveLength(before.requests);
    }
    const snapshot = async (fileId: string) => ({
      updatedAt: (await env.runtime.ledger.get(fileId))!.updatedAt,
      downloads: env.simulator.stats(fileId).downloadRequests,
      requests: (await env.runtime.auditLog.recordingHistory(gone.uuid)).filter((r) => r.detailType === DetailType.FileUploadRequested).length,
    });

    it('a form on another origin that posts to /retry is refused with 403, with a guessed token and even with the real one', async () => {
      const fileId = gone.files[0]!.fileId;
      const before = await snapshot(fileId);
      expect(before.requests).toBe(1);

      // The real form token, as a page of the dashboard holds it: the Origin check alone must refuse.
      const { page: own } = await browser.newPage({ viewport: DESKTOP });
      await own.goto(base);
      const realCsrf = await own.locator(`table.failures tr[data-file-id=${q(fileId)}] form.retry input[name="csrf"]`).getAttribute('value');
      expect(realCsrf).toBeTruthy();
      expect(realCsrf).not.toBe(forged.csrf);

      for (const csrf of [forged.csrf, realCsrf!]) {
        const { page } = await browser.newPage({ viewport: DESKTOP });
        const [response] = await Promise.all([
          page.waitForResponse((r) => r.url() === `${base}retry` && r.request().method() === 'POST'),
          page.goto(`${attackerUrl}?fileId=${encodeURIComponent(fileId)}&csrf=${encodeURIComponent(csrf)}`),
        ]);
        expect(await response.request().headerValue('origin')).toBe(new URL(attackerUrl).origin);
        expect(response.status()).toBe(403);
        expect(response.headers()['location']).toBeUndefined();
        await page.close();
      }
      await expectNotRedriven(fileId, before);
    }, SLOW_MS);

    it('a same-origin POST without the form token is refused with 403 (and with it, accepted)', async () => {
      const fileId = gone.files[0]!.fileId;
      const before = await snapshot(fileId);
      const { page } = await browser.newPage({ viewport: DESKTOP });
      await page.goto(base);
      // Runs in the page: the browser's fetch, same origin, its own Origin and Sec-Fetch-Site.
      const post = (fields: Record<string, string>) =>
        page.evaluate(async (form) => {
          const r = await fetch('/retry', { method: 'POST', body: new URLSearchParams(form) });
          return { status: r.status, redirected: r.redirected, url: r.url, text: await r.text() };
        }, fields);
      const without = await post({ fileId, back: '/' });
      expect(without.status).toBe(403);
      expect(without.redirected).toBe(false);
      const wrong = await post({ fileId, back: '/', csrf: 'x'.repeat(43) });
      expect(wrong.status).toBe(403);
      await expectNotRedriven(fileId, before);

      // The control: the same request with the page's token passes both checks (on a file the ledger does not know).
      const csrf = (await page.locator('form.retry input[name="csrf"]').first().getAttribute('value'))!;
      const accepted = await post({ fileId: 'no-such-file', back: '/', csrf });
      expect(accepted.redirected).toBe(true);
      expect(accepted.status).toBe(200);
      expect(new URL(accepted.url).searchParams.get('notice')).toBe('Not re-driven no-such-file: no such file in the ledger.');
    }, SLOW_MS);

    it('without a token, a Host header that is not a loopback name is refused (DNS rebinding)', async () => {
      const rebound = await rawRequest(base, { headers: { host: `attacker.example:${new URL(base).port}` } });
      expect(rebound.status).toBe(403);
      expect(rebound.body).not.toContain('data-count');
      const local = await rawRequest(base, { headers: { host: `localhost:${new URL(base).port}` } });
      expect(local.status).toBe(200);
      expect(local.body).toContain('data-count="received"');
    }, SLOW_MS);
  });

  it('search by part of a topic (any case) and by meeting id; the course page lists the course', async () => {
    const { page } = await browser.newPage({ viewport: DESKTOP });
    await page.goto(base);
    await page.locator('form.search input[name="q"]').fill('lesson 2: EIGEN');
    await Promise.all([page.waitForURL(/\/search\?q=/), page.locator('form.search input[name="q"]').press('Enter')]);
    expect(new URL(page.url()).searchParams.get('q')).toBe('lesson 2: EIGEN');
    expect(await page.locator('table.recordings tbody tr').evaluateAll((rows) => rows.map((r) => (r as unknown as { getAttribute(n: string): string }).getAttribute('data-recording-id')))).toEqual([gone.uuid]);
    expect(await page.locator('form.search input[name="q"]').inputValue()).toBe('lesson 2: EIGEN');

    // A meeting id as Zoom shows it, with spaces.
    const spaced = String(MEETING_ID).replace(/^(\d{3})(\d{4})(\d+)$/, '$1 $2 $3');
    await page.locator('form.search input[name="q"]').fill(spaced);
    await Promise.all([page.waitForURL((url) => url.searchParams.get('q') === spaced), page.locator('form.search button[type="submit"]').click()]);
    expect(await page.locator('table.recordings tbody tr').evaluateAll((rows) => rows.map((r) => (r as unknown as { getAttribute(n: string): string }).getAttribute('data-recording-id')))).toEqual([archived.uuid]);

    await page.goto(`${base}search?q=${encodeURIComponent('no such topic anywhere')}`);
    expect(await page.locator('table.recordings tbody tr').count()).toBe(0);
    expect(await page.locator('main p.empty').textContent()).toBe('No recording matches.');

    // The course page: both MAQ101 recordings, nothing of PHY210 or the rejected meeting.
    const courseLink = page.locator(`${recordingRow(archived.uuid)} td[data-label="Course"] a`);
    await page.goto(`${base}search?q=${MEETING_ID}`);
    expect(await courseLink.textContent()).toBe('MAQ101');
    await Promise.all([page.waitForURL(/\/course\?code=MAQ101$/), courseLink.click()]);
    expect(await page.locator('h1').textContent()).toBe('Course MAQ101');
    const ids = await page.locator('table.recordings tbody tr').evaluateAll((rows) => rows.map((r) => (r as unknown as { getAttribute(n: string): string }).getAttribute('data-recording-id')));
    expect([...ids].sort()).toEqual([archived.uuid, gone.uuid].sort());
  }, SLOW_MS);

  it('a phone (390×844): overview and recording pages without horizontal overflow or errors', async () => {
    const pages = [
      { path: '', shot: 'dashboard-phone' },
      { path: `recording?id=${encodeURIComponent(gone.uuid)}` },
      { path: `recording?id=${encodeURIComponent(archived.uuid)}` },
    ];
    for (const { path, shot } of pages) {
      const { page, errors } = await browser.newPage({ viewport: PHONE });
      expect((await page.goto(`${base}${path}`))?.status()).toBe(200);
      await liveOn(page);
      expect(await page.locator('main h1').isVisible()).toBe(true);
      if (path === '') {
        expect(await page.locator(recordingRow(archived.uuid)).isVisible()).toBe(true);
        expect(await page.locator(`table.failures tr[data-file-id=${q(gone.files[0]!.fileId)}] form.retry button`).isVisible()).toBe(true);
      } else {
        expect(await page.locator('table.files tbody tr').first().isVisible()).toBe(true);
      }
      await expectNoHorizontalScroll(page);
      if (shot) await screenshot(page, shot);
      expect(errors).toEqual([]);
      await page.close();
    }
  }, SLOW_MS);
});

describe('dashboard with DASHBOARD_TOKEN', () => {
  const TOKEN = `ops-${randomBytes(12).toString('hex')}`;
  let env: SimulatedRuntime;
  let base: string;
  let recording: SimulatedRecording;

  beforeAll(async () => {
    env = await startSimulatedRuntime({ secret: 'dashboard-token-secret', dirPrefix: 'dashboard-token-', env: { DASHBOARD_TOKEN: TOKEN, SWEEP_INTERVAL_SECONDS: '0' } });
    base = env.runtime.dashboardUrl!;
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    recording = await deliver(env, { topic: '[SEC300] Token lesson', files: [mp4(100 * KiB)] });
    await inHistory(env, recording.uuid, DetailType.RecordingArchived);
    await env.runtime.bus.idle();
  }, SLOW_MS);

  afterAll(async () => {
    await env?.stop();
  }, SLOW_MS);

  it('without credentials 401 (asking for Basic), with the token as the password 200 and live updates, a wrong password 401', async () => {
    // Without credentials chromium gives up on the challenge (the navigation fails with ERR_INVALID_AUTH_CREDENTIALS): the 401 is the response it got.
    const { page: anonymous } = await browser.newPage({ viewport: DESKTOP });
    const [refused, navigation] = await Promise.all([
      anonymous.waitForResponse((r) => r.url() === base),
      anonymous.goto(base).then((r) => r?.status(), (e: Error) => e.message),
    ]);
    expect(refused.status()).toBe(401);
    expect(navigation === 401 || /ERR_INVALID_AUTH_CREDENTIALS/.test(String(navigation))).toBe(true);
    expect(await refused.text()).not.toContain(TOKEN);
    expect(refused.headers()['www-authenticate']).toBe('Basic realm="zoom-archiver dashboard", charset="UTF-8"');
    expect(await anonymous.locator('dd[data-count]').count()).toBe(0);
    expect(await anonymous.content()).not.toContain(TOKEN);

    const { page: wrong } = await browser.newPage({ viewport: DESKTOP, httpCredentials: { username: 'ops', password: `${TOKEN}x` } });
    expect((await wrong.goto(base))?.status()).toBe(401);
    expect(await wrong.locator('dd[data-count]').count()).toBe(0);

    const credentials = { username: 'ops', password: TOKEN };
    const { page, errors } = await browser.newPage({ viewport: DESKTOP, httpCredentials: credentials });
    expect((await page.goto(base))?.status()).toBe(200);
    expect(await page.locator(recordingRow(recording.uuid)).getAttribute('data-state')).toBe('archived');
    expect((await page.locator('dd[data-count="archived"]').textContent())?.trim()).toBe('1');
    await liveOn(page);
    expect(await page.content()).not.toContain(TOKEN);
    expect(errors).toEqual([]);

    // No page of it shows the token (a fresh page each: a navigation would cut the previous page's /live stream).
    for (const path of [`recording?id=${encodeURIComponent(recording.uuid)}`, 'search?q=token', 'course?code=SEC300', 'no-such-page']) {
      const { page: other, errors: otherErrors } = await browser.newPage({ viewport: DESKTOP, httpCredentials: credentials });
      const response = await other.goto(`${base}${path}`);
      const missing = path === 'no-such-page';
      expect(response?.status()).toBe(missing ? 404 : 200);
      if (missing) expect(await other.locator('main h1').textContent()).toBe('Not found');
      else expect(await other.content()).toContain(recording.uuid);
      expect(await other.content()).not.toContain(TOKEN);
      await liveOn(other);
      expect(otherErrors.filter((e) => !(missing && e.includes(`${base}no-such-page`)))).toEqual([]);
      await other.close();
    }
  }, SLOW_MS);

  it('scripts: Authorization: Bearer with the token 200, a wrong one or none 401', async () => {
    const ok = await fetch(base, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    const body = await ok.text();
    expect(body).toContain(recording.uuid);
    expect(body).not.toContain(TOKEN);
    const api = await fetch(`${base}api/overview`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(api.status).toBe(200);
    expect(((await api.json()) as { last24h: { recordingsArchived: number } }).last24h.recordingsArchived).toBe(1);

    for (const authorization of [`Bearer ${TOKEN.slice(0, -1)}`, `Bearer ${TOKEN}${TOKEN}`, 'Bearer ', `Basic ${Buffer.from(`ops:${TOKEN.toUpperCase()}`).toString('base64')}`, undefined]) {
      const refused = await fetch(base, { headers: authorization === undefined ? {} : { authorization } });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
      const text = await refused.text();
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain('data-count');
    }
    const basic = await fetch(base, { headers: { authorization: `Basic ${Buffer.from(`anyone:${TOKEN}`).toString('base64')}` } });
    expect(basic.status).toBe(200);
  }, SLOW_MS);
});
