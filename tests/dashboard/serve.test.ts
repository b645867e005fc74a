/**
 * `npm start` (serve as a process, the sandbox) tells where its dashboard is, and the
 * dashboard there — on its own listener, never the webhook's — lists what the sandbox
 * archived and rejected.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe, type ServeProcess } from '../support/serve-process';
import { waitFor } from '../support/wait-for';

const LESSON = '[MAQ101] Maqam Bayati — lesson 3';
const STAFF = 'Staff meeting — budget';

describe('npm start: the dashboard', () => {
  let dir: string;
  let serve: ServeProcess;
  let dashboardUrl: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dashboard-serve-'));
    // No Zoom secret (the sandbox); nothing of the dashboard set, whatever this shell has.
    serve = await startServe({ DATA_DIR: dir, ZOOM_WEBHOOK_SECRET_TOKEN: '', DASHBOARD_HOST: '', DASHBOARD_PORT: '', DASHBOARD_TOKEN: '' }, { timeoutMs: 60_000 });
    dashboardUrl = await waitFor('the dashboard line', () => /^dashboard: (http:\/\/\S+)/m.exec(serve.output())?.[1], 30_000);
  }, 120_000);
  afterAll(async () => {
    await serve?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints `dashboard: http://127.0.0.1:<port>/` (this machine only), a port of its own', () => {
    expect(dashboardUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(serve.output()).toMatch(/^dashboard: http:\/\/127\.0\.0\.1:\d+\/ \(this machine only\)$/m);
    expect(new URL(dashboardUrl).port).not.toBe(new URL(serve.url).port);
  });

  it("answers 200 there with the overview listing the sandbox's recordings", async () => {
    const html = await waitFor(
      'the sandbox lesson archived and the staff meeting rejected on the overview',
      async () => {
        const response = await fetch(dashboardUrl);
        expect(response.status).toBe(200);
        const text = await response.text();
        return /data-state="archived"/.test(rowOf(text, LESSON)) && /data-state="rejected"/.test(rowOf(text, STAFF)) ? text : undefined;
      },
      60_000,
      { intervalMs: 250 },
    );
    expect(html).toContain('<h1>Recordings</h1>');
    expect(rowOf(html, LESSON)).toContain('2/2'); // the two full-length MP4 views
    expect(html.slice(html.indexOf('id="rejected"'))).toMatch(/<strong>not_course_meeting<\/strong>: \S/);
    expect(html).toContain(`this machine (${dir}`);
  });

  it('is not served on the webhook listener', async () => {
    const response = await fetch(new URL('/', serve.url));
    expect(response.status).not.toBe(200);
    expect(await response.text()).not.toContain('<h1>Recordings</h1>');
    expect((await fetch(new URL('/api/overview', serve.url))).status).not.toBe(200);
  });

  it('stops with serve', async () => {
    expect(await serve.kill('SIGTERM')).toBe(0);
    await expect(fetch(dashboardUrl)).rejects.toThrow();
  });
});

/** The recordings-table row whose topic cell holds `topic` (empty when there is none). */
function rowOf(html: string, topic: string): string {
  const rows = html.split('<tr ').filter((row) => row.startsWith('data-recording-id='));
  return rows.find((row) => row.includes(`>${topic}</a>`)) ?? '';
}
