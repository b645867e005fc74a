/**
 * Report section: a backfill of a year through a running `zoom-archiver serve`, and
 * the webhook's answer times while it runs. The Zoom simulator (its own process)
 * holds 1,000 course recordings spread evenly over 2025, one small MP4 each, with a
 * Medium-category limit of 20 requests a second (a Pro account); `serve` runs in its
 * own process with the default ZOOM_API_REQUESTS_PER_SECOND (10). Steps:
 * 1. the webhook's answer times under a steady, modest load of distinct signed
 *    deliveries of non-course meetings (rejected downstream: no transfers) — baseline;
 * 2. `zoom-archiver backfill --dry-run` (lists the whole range, hands nothing over):
 *    the listing's time and calls;
 * 3. `zoom-archiver backfill` (hands the recordings to the server through the durable
 *    bus and follows them until every file is archived) while the same webhook load
 *    runs again: its wall time, its summary's counts, the simulator's calls by route,
 *    and the webhook's answer times during it next to the baseline;
 * 4. the same webhook load once more, the backfill over: what the machine's own drift
 *    (other work on shared cores) does to the baseline.
 * The counts are checked (every recording found and archived, one list call per month
 * at least); the times are reported, never asserted.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import http from 'node:http';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { BackfillSummary } from '../../host/cli/backfill';
import { signatureFor } from '../../services/webhook/signature';
import { loadZoomFixture } from '../../tests/support/fixtures';
import { ROOT } from '../../tests/support/serve-process';
import { zoomEnvFor, type ApiRoute, type ApiStats, type SimulatedRecordingSpec } from '../../tools/zoom-simulator/simulator';
import type { BenchContext } from '../section';
import { startRemoteSimulator } from '../remote-simulator';
import { startServeProcess } from '../serve-process';
import { summarize, table, type Summary } from '../stats';

const SECRET = 'bench-backfill-secret';
const BIN = join(ROOT, 'bin', 'zoom-archiver.js');
const FROM = '2025-01-01';
const TO = '2025-12-31';
const FILE_BYTES = 16 * 1024;
/** Zoom's Medium category on a Pro account. */
const MEDIUM_PER_SECOND = 20;
/** Webhook deliveries a second: steady and modest (latency, not throughput). */
const DELIVERIES_PER_SECOND = 30;
const BASELINE_SECONDS = 10;
const WARM_UP_SECONDS = 3;
const MONTHS = 12;

interface LoadResult {
  latency: Summary;
  sent: number;
  errors: number;
  seconds: number;
}

interface CommandRun {
  code: number | null;
  seconds: number;
  stdout: string;
  stderr: string;
}

/** `zoom-archiver ARGS` to its end, stdout and stderr apart (the summary is on stdout). */
export function runZoomArchiver(args: readonly string[], env: Record<string, string>): Promise<CommandRun> {
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) =>
      resolve({ code, seconds: (performance.now() - started) / 1000, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
  });
}

/** The last JSON object printed (pretty-printed: it starts on a line of its own, `{`). */
export function lastJson<T>(stdout: string): T {
  const lines = stdout.split('\n');
  const start = lines.lastIndexOf('{');
  if (start < 0) throw new Error(`no JSON summary in the output:\n${stdout.slice(-2000)}`);
  return JSON.parse(lines.slice(start).join('\n')) as T;
}

/**
 * Open-loop webhook load: a distinct, correctly signed recording.completed of a
 * non-course meeting every 1/perSecond s, whatever the answers (a slow answer does
 * not hold the next delivery back); each answer's time from send to its last byte.
 */
function startWebhookLoad(url: string, perSecond: number): { stop(): Promise<LoadResult> } {
  const target = new URL('/webhooks/zoom', url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const fixture = loadZoomFixture('recording-completed-not-course');
  const samples: number[] = [];
  const inFlight = new Set<Promise<void>>();
  let errors = 0;
  let sent = 0;
  let stopped = false;
  const started = performance.now();

  const send = () => {
    fixture.payload.object.uuid = `${randomUUID()}==`;
    const body = JSON.stringify(fixture);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'x-zm-request-timestamp': timestamp, 'x-zm-signature': signatureFor(SECRET, timestamp, body) };
    sent++;
    const at = performance.now();
    const done = new Promise<void>((resolve) => {
      const request = http.request(target, { method: 'POST', headers, agent, timeout: 30_000 }, (response) => {
        response.resume();
        response.once('end', () => {
          samples.push(performance.now() - at);
          if (response.statusCode !== 200) errors++;
          resolve();
        });
        response.once('error', () => {
          errors++;
          resolve();
        });
      });
      request.once('timeout', () => request.destroy(new Error('timeout')));
      request.once('error', () => {
        errors++;
        resolve();
      });
      request.end(body);
    });
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
  };

  const interval = 1000 / perSecond;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    if (stopped) return;
    // Catch up on the schedule (start + n × interval) rather than drift with the timer.
    while (sent < Math.floor((performance.now() - started) / interval) + 1) send();
    timer = setTimeout(tick, Math.max(0, started + sent * interval - performance.now()));
  };
  tick();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      await Promise.all([...inFlight]);
      agent.destroy();
      if (samples.length === 0) throw new Error('the webhook load got no answer at all');
      return { latency: summarize(samples), sent, errors, seconds };
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function loadFor(url: string, seconds: number): Promise<LoadResult> {
  const load = startWebhookLoad(url, DELIVERIES_PER_SECOND);
  await sleep(seconds * 1000);
  return load.stop();
}

/** `count` course recordings spread evenly over the range, the first at noon on `from`, the last at noon on `to`. */
export function lessonsBetween(count: number, from = FROM, to = TO, fileBytes = FILE_BYTES): SimulatedRecordingSpec[] {
  const first = Date.parse(`${from}T12:00:00Z`);
  const last = Date.parse(`${to}T12:00:00Z`);
  const step = count > 1 ? (last - first) / (count - 1) : 0;
  return Array.from({ length: count }, (_, i) => {
    const start = new Date(Math.round(first + i * step));
    const startTime = start.toISOString().replace(/\.\d{3}Z$/, 'Z');
    return {
      topic: `[HIS101] Lesson ${i + 1}`,
      meetingId: 8_100_000_000 + i,
      startTime,
      durationMinutes: 50,
      files: [{ fileType: 'MP4', size: fileBytes }],
    };
  });
}

function statsDiff(after: ApiStats, before: ApiStats): ApiStats {
  const byRoute = { ...after.byRoute };
  for (const route of Object.keys(byRoute) as ApiRoute[]) byRoute[route] -= before.byRoute[route];
  return { calls: after.calls - before.calls, byRoute, rateLimited: after.rateLimited - before.rateLimited, failedInjected: after.failedInjected - before.failedInjected };
}

const routes = (stats: ApiStats) =>
  (Object.entries(stats.byRoute) as [ApiRoute, number][])
    .filter(([, n]) => n > 0)
    .map(([route, n]) => `${route} ${n}`)
    .join(', ') || 'none';

export function countArchived(dataDir: string): number {
  try {
    return readdirSync(join(dataDir, 'archive'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.toLowerCase().endsWith('.mp4')).length;
  } catch {
    return 0;
  }
}

export async function run(ctx: BenchContext): Promise<string> {
  const [recordingCount] = ctx.numbers('BENCH_BACKFILL_RECORDINGS', [1000]);
  const count = recordingCount!;
  const simulator = await startRemoteSimulator();
  let serve: Awaited<ReturnType<typeof startServeProcess>> | undefined;
  try {
    const addStarted = performance.now();
    await simulator.addRecordings(lessonsBetween(count));
    ctx.log(`backfill: ${count} recordings added to the simulator in ${((performance.now() - addStarted) / 1000).toFixed(1)} s`);
    await simulator.setRateLimit('medium', MEDIUM_PER_SECOND);

    const zoomEnv = { ZOOM_WEBHOOK_SECRET_TOKEN: SECRET, ...zoomEnvFor(simulator) };
    serve = await startServeProcess(zoomEnv);
    const commandEnv = { ...zoomEnv, LOG_LEVEL: 'ERROR' };
    const dataDir = serve.dataDir;
    const args = ['backfill', '--from', FROM, '--to', TO, '--json', '--data-dir', dataDir];

    const startup = await runZoomArchiver(['--help'], commandEnv);
    if (startup.code !== 0) throw new Error(`zoom-archiver --help exited ${startup.code}:\n${startup.stderr}`);

    ctx.log(`backfill: warm-up, then ${BASELINE_SECONDS} s of webhook load at ${DELIVERIES_PER_SECOND}/s (baseline)`);
    await loadFor(serve.url, WARM_UP_SECONDS);
    const baseline = await loadFor(serve.url, BASELINE_SECONDS);

    ctx.log('backfill: --dry-run (listing only)');
    const beforeDry = await simulator.apiStats();
    const dry = await runZoomArchiver([...args, '--dry-run'], commandEnv);
    const dryApi = statsDiff(await simulator.apiStats(), beforeDry);
    if (dry.code !== 0) throw new Error(`backfill --dry-run exited ${dry.code}:\n${dry.stderr}${dry.stdout.slice(-2000)}`);
    const drySummary = lastJson<BackfillSummary>(dry.stdout);

    ctx.log(`backfill: the real run, webhook load at ${DELIVERIES_PER_SECOND}/s meanwhile`);
    const beforeReal = await simulator.apiStats();
    const load = startWebhookLoad(serve.url, DELIVERIES_PER_SECOND);
    const real = await runZoomArchiver(args, commandEnv);
    const during = await load.stop();
    const realApi = statsDiff(await simulator.apiStats(), beforeReal);
    if (real.code !== 0) throw new Error(`backfill exited ${real.code}:\n${real.stderr}${real.stdout.slice(-3000)}`);
    const summary = lastJson<BackfillSummary>(real.stdout);
    const objects = countArchived(dataDir);
    ctx.log(`backfill: ${summary.filesArchivedNow}/${summary.filesRequested} files archived in ${real.seconds.toFixed(1)} s (${summary.apiCalls} API calls)`);
    ctx.log(`backfill: ${BASELINE_SECONDS} s of webhook load again, the backfill over (baseline after: the machine's drift shows here)`);
    const after = await loadFor(serve.url, BASELINE_SECONDS);

    // Honest numbers: the run did the whole job, listing every month.
    const listCalls = realApi.byRoute.account_recordings + realApi.byRoute.user_recordings;
    const problems: string[] = [];
    if (summary.mode !== 'handed_to_server') problems.push(`mode ${summary.mode}, expected handed_to_server`);
    if (summary.recordingsFound !== count) problems.push(`recordingsFound ${summary.recordingsFound}, expected ${count}`);
    if (summary.filesRequested !== count) problems.push(`filesRequested ${summary.filesRequested}, expected ${count}`);
    if (summary.filesArchivedNow !== count) problems.push(`filesArchivedNow ${summary.filesArchivedNow}, expected ${count}`);
    if (objects !== count) problems.push(`${objects} MP4s in the archive folder, expected ${count}`);
    if (listCalls < MONTHS) problems.push(`${listCalls} list calls, expected at least ${MONTHS} (one per month)`);
    if (drySummary.recordingsFound !== count) problems.push(`dry run found ${drySummary.recordingsFound} recordings, expected ${count}`);
    if (baseline.errors + during.errors + after.errors > 0) problems.push(`webhook errors: ${baseline.errors} in the baseline, ${during.errors} during the backfill, ${after.errors} after it`);
    if (problems.length) throw new Error(`backfill figures not trustworthy: ${problems.join('; ')}`);

    const b = baseline.latency;
    const d = during.latency;
    const a = after.latency;
    const ratio = (x: number, y: number) => (x / Math.max(y, 0.001)).toFixed(2);
    const ms = (x: number) => x.toFixed(1);
    const archiveSeconds = real.seconds - dry.seconds;
    return [
      '## Backfill of a year through `zoom-archiver serve`, and the webhook meanwhile',
      '',
      `${count} course recordings spread evenly over ${FROM}..${TO} in the Zoom simulator (its own process), one MP4 of ${FILE_BYTES / 1024} KiB each; the simulator's Medium category limited to ${MEDIUM_PER_SECOND} requests/s (a Pro account). \`zoom-archiver serve\` in its own process on a fresh DATA_DIR, default ZOOM_API_REQUESTS_PER_SECOND (10), folder archive. The command, run as a child process while serve runs on the same DATA_DIR (it hands the recordings over through the durable bus and follows them until every file is archived):`,
      '',
      '```sh',
      `zoom-archiver backfill --from ${FROM} --to ${TO} --json --data-dir DIR     # timed to its end`,
      `zoom-archiver backfill --from ${FROM} --to ${TO} --json --data-dir DIR --dry-run   # first, alone: listing only`,
      '```',
      '',
      table(
        ['', 'dry run (listing only)', 'backfill'],
        [
          ['wall time, s (process start to end)', dry.seconds.toFixed(1), real.seconds.toFixed(1)],
          ['API calls (summary) / rate-limited answers', `${drySummary.apiCalls} / ${drySummary.rateLimited}`, `${summary.apiCalls} / ${summary.rateLimited}`],
          ['windows / pages', `${drySummary.windows} / ${drySummary.pages}`, `${summary.windows} / ${summary.pages}`],
          ['simulator: calls by route (429s)', `${routes(dryApi)} (${dryApi.rateLimited})`, `${routes(realApi)} (${realApi.rateLimited})`],
          ['recordings found', String(drySummary.recordingsFound), String(summary.recordingsFound)],
          ['files requested / archived now', `${drySummary.filesRequested} / —`, `${summary.filesRequested} / ${summary.filesArchivedNow}`],
          ['MP4s in the archive folder afterwards', '—', String(objects)],
        ],
      ),
      '',
      `Time to archive after the listing ≈ ${archiveSeconds.toFixed(1)} s (backfill − dry run), ${(count / Math.max(archiveSeconds, 0.001)).toFixed(0)} files/s; starting the command alone (\`zoom-archiver --help\`, tsx) takes ${startup.seconds.toFixed(1)} s of each.`,
      '',
      `Webhook answer times (ms, send to last byte), open-loop at ${DELIVERIES_PER_SECOND} distinct signed deliveries/s of a non-course meeting (validated and rejected downstream: no transfers), over keep-alive connections; baseline for ${BASELINE_SECONDS} s before the backfill (after ${WARM_UP_SECONDS} s of warm-up), then throughout the backfill (its process start to its end), then ${BASELINE_SECONDS} s more once it is over:`,
      '',
      table(
        ['', 'answers', 'errors', 'p50', 'p99', 'max'],
        [
          ['baseline: before the backfill (serve otherwise idle)', String(b.n), String(baseline.errors), ms(b.median), ms(b.p99), ms(b.max)],
          ['during the backfill', String(d.n), String(during.errors), ms(d.median), ms(d.p99), ms(d.max)],
          ['after the backfill (serve idle again)', String(a.n), String(after.errors), ms(a.median), ms(a.p99), ms(a.max)],
          ['**during / baseline**', '', '', ratio(d.median, b.median), ratio(d.p99, b.p99), ratio(d.max, b.max)],
          ['after / baseline (drift of the machine)', '', '', ratio(a.median, b.median), ratio(a.p99, b.p99), ratio(a.max, b.max)],
        ],
      ),
      '',
      `Checked (the section fails otherwise): every recording found and every file archived (the summary and the archive folder), at least one list call per month, no webhook error. Times are measured, not asserted: the machine has ${cpus().length} shared cores, on which serve, the backfill command, the simulator and the load generator all run, so the ratios show what a busy single machine does rather than a dedicated server.`,
    ].join('\n');
  } finally {
    await serve?.stop();
    await simulator.stop();
  }
}
