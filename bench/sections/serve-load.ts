/**
 * Report section: webhook answer time through the real server (`zoom-archiver serve`
 * in its own process, with its durable bus and consumers running), under autocannon
 * at concurrency 1, 50 and 200 — each delivery a distinct, correctly signed
 * recording.completed — next to a baseline in the same run: GET /healthz on the same
 * server under the same load (the HTTP stack's floor). Then concurrency 50 again while
 * other work runs in the same process: a 2 GiB file streaming, a backfill of 300
 * recordings being archived, and (a second server, configured with a subscriber)
 * every rejected meeting delivered to a signed-webhook subscriber on 127.0.0.1.
 * Each row also shows what the server measured on its own side
 * (bench/serve-timing-hook.cjs): the webhook's time from its headers parsed to its
 * answer written, and the main thread's event-loop delay.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority, setPriority, tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { signatureFor } from '../../services/webhook/signature';
import { loadZoomFixture } from '../../tests/support/fixtures';
import type { BenchContext } from '../section';
import { zoomEnvFor } from '../../tools/zoom-simulator/simulator';
import { startRemoteSimulator } from '../remote-simulator';
import { startServeProcess, type ServeProcess, type ServerTiming } from '../serve-process';
import { table } from '../stats';
import { countArchived, lastJson, lessonsBetween, runZoomArchiver } from './backfill';
import type { BackfillSummary } from '../../host/cli/backfill';

/** The webhook secret `load` signs with: a server under load must be started with it. */
export const SECRET = 'bench-serve-secret';
const MiB = 1024 * 1024;

export interface Latency {
  p50: number;
  p99: number;
  max: number;
  requests: number;
  non2xx: number;
  errors: number;
}

/**
 * Distinct staff-meeting recordings (rejected downstream, so the load measures the
 * webhook, not transfers), signed before the run so that the load generator, which
 * shares the 2 cores, spends no CPU on building requests.
 */
function signedDeliveries(count: number): { body: string; headers: Record<string, string> }[] {
  const fixture = loadZoomFixture('recording-completed-not-course');
  const timestamp = String(Math.floor(Date.now() / 1000));
  return Array.from({ length: count }, () => {
    fixture.payload.object.uuid = `${randomUUID()}==`;
    const body = JSON.stringify(fixture);
    return { body, headers: { 'content-type': 'application/json', 'x-zm-request-timestamp': timestamp, 'x-zm-signature': signatureFor(SECRET, timestamp, body) } };
  });
}

/**
 * The load generator's nice value while it runs: it stands for Zoom, which does not
 * share serve's CPU. At the same priority as serve, on 2 cores, its own late reads of
 * answers (serve's worker threads and the simulator take its core) showed as webhook
 * tails of 200-900 ms that the server never saw (its own p99 2-3 ms, event-loop delay
 * under 50 ms). Raised only where allowed (root); otherwise it runs as it is.
 */
export const LOAD_GENERATOR_NICE = -10;

async function withPriority<T>(nice: number, work: () => Promise<T>): Promise<T> {
  const before = getPriority();
  let raised = false;
  try {
    setPriority(nice);
    raised = true;
  } catch {
    // Not permitted (not root): measure at the normal priority.
  }
  try {
    return await work();
  } finally {
    if (raised) setPriority(before);
  }
}

export async function load(url: string, connections: number, amount: number, webhook: boolean): Promise<Latency> {
  const prepared = webhook ? signedDeliveries(amount) : [];
  let next = 0;
  const result = await withPriority(LOAD_GENERATOR_NICE, () => autocannon({
    url,
    connections,
    amount,
    timeout: 10,
    requests: [
      webhook
        ? {
            method: 'POST',
            path: '/webhooks/zoom',
            setupRequest: (request) => ({ ...request, ...prepared[next++ % prepared.length] }),
          }
        : { method: 'GET', path: '/healthz' },
    ],
  }));
  return { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max, requests: result.requests.total, non2xx: result.non2xx, errors: result.errors + result.timeouts };
}


/** The backfill row: this many course recordings (one small MP4 each) archived while the load runs. */
const BACKFILL_RECORDINGS = 300;
const BACKFILL_FROM = '2025-09-01';
const BACKFILL_TO = '2025-12-19';
const BACKFILL_FILE_BYTES = 256 * 1024;

interface Row {
  label: string;
  ours: Latency;
  base: Latency;
  server: ServerTiming;
  note?: string;
}

const q = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);

/** The webhook under `connections`, after a /healthz baseline at the same concurrency, with the server's own timing of the webhook run. */
async function measure(serve: ServeProcess, label: string, connections: number, amount: number, note?: string): Promise<Row> {
  const base = await load(serve.url, connections, amount, false);
  await serve.takeTiming(); // forget the baseline's requests
  const ours = await load(serve.url, connections, amount, true);
  const server = await serve.takeTiming();
  return { label, ours, base, server, note };
}

/** A Standard Webhooks subscriber on 127.0.0.1 that counts what it is sent. */
async function startCountingSubscriber(): Promise<{ url: string; received: () => number; stop(): Promise<void> }> {
  let received = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.once('end', () => {
      if (request.headers['webhook-signature']) received++;
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received: () => received,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  for (const started = Date.now(); Date.now() - started < timeoutMs; ) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return check();
}

export async function run(ctx: BenchContext): Promise<string> {
  const simulator = await startRemoteSimulator();
  const zoomEnv = { ZOOM_WEBHOOK_SECRET_TOKEN: SECRET, ...zoomEnvFor(simulator) };
  const rows: Row[] = [];
  const checks: string[] = [];
  let serve: ServeProcess | undefined;
  let subscribed: ServeProcess | undefined;
  const subscriber = await startCountingSubscriber();
  try {
    serve = await startServeProcess(zoomEnv, { timing: true });
    await load(serve.url, 10, 300, true); // warm-up: JIT, SQLite pages
    for (const [connections, amount] of [[1, 500], [50, 2000], [200, 2000]] as const) {
      ctx.log(`serve load: ${amount} signed deliveries at concurrency ${connections}`);
      rows.push(await measure(serve, `concurrency ${connections}`, connections, amount));
    }

    ctx.log('serve load: concurrency 50 while a 2 GiB file streams');
    const recording = await simulator.addRecording({
      topic: '[BEN201] Large transfer during load',
      files: [{ fileType: 'MP4', size: 2048 * MiB, recordingType: 'speaker_view', recordingStart: '2026-11-26T09:00:00Z', recordingEnd: '2026-11-26T11:00:00Z' }],
    });
    const body = JSON.stringify(recording.payload);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const delivered = await fetch(`${serve.url}/webhooks/zoom`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-zm-request-timestamp': timestamp, 'x-zm-signature': signatureFor(SECRET, timestamp, body) },
      body,
    });
    if (delivered.status !== 200) throw new Error(`large recording delivery answered ${delivered.status}`);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // let the transfer get going
    rows.push(await measure(serve, 'concurrency 50, 2 GiB streaming', 50, 2000));
    const archivedLarge = await until(() => countArchived(serve!.dataDir) >= 1, 120_000);
    if (!archivedLarge) throw new Error('the 2 GiB file was not archived within 2 minutes of the load');

    ctx.log(`serve load: concurrency 50 during a backfill of ${BACKFILL_RECORDINGS} recordings`);
    await simulator.addRecordings(lessonsBetween(BACKFILL_RECORDINGS, BACKFILL_FROM, BACKFILL_TO, BACKFILL_FILE_BYTES));
    const before = countArchived(serve.dataDir);
    const backfill = runZoomArchiver(['backfill', '--from', BACKFILL_FROM, '--to', BACKFILL_TO, '--json', '--data-dir', serve.dataDir], { ...zoomEnv, LOG_LEVEL: 'ERROR' });
    // Start the load once the backfill has handed recordings over and files are being archived.
    await until(() => countArchived(serve!.dataDir) > before, 60_000);
    const atStart = countArchived(serve.dataDir) - before;
    const during = await measure(serve, `concurrency 50, backfill of ${BACKFILL_RECORDINGS} being archived`, 50, 2000);
    const atEnd = countArchived(serve.dataDir) - before;
    const finished = await backfill;
    if (finished.code !== 0) throw new Error(`backfill exited ${finished.code}:\n${finished.stderr}${finished.stdout.slice(-2000)}`);
    const summary = lastJson<BackfillSummary>(finished.stdout);
    if (summary.filesArchivedNow !== BACKFILL_RECORDINGS || countArchived(serve.dataDir) - before !== BACKFILL_RECORDINGS) {
      throw new Error(`backfill archived ${summary.filesArchivedNow} (folder: ${countArchived(serve.dataDir) - before}), expected ${BACKFILL_RECORDINGS}`);
    }
    during.note = `files archived by the backfill: ${atStart} when the load began, ${atEnd} when it ended (of ${BACKFILL_RECORDINGS}; all ${BACKFILL_RECORDINGS} by the command's end, ${finished.seconds.toFixed(1)} s)`;
    rows.push(during);
    await serve.stop();
    serve = undefined;

    ctx.log('serve load: concurrency 50 while every rejection is delivered to a subscriber');
    const configDir = mkdtempSync(join(tmpdir(), 'bench-subscriber-'));
    const config = join(configDir, 'archiver-config.json');
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    writeFileSync(config, JSON.stringify({ subscribers: [{ id: 'bench', url: subscriber.url, secret, events: ['RecordingRejected'], concurrency: 4 }] }));
    try {
      subscribed = await startServeProcess({ ...zoomEnv, ARCHIVER_CONFIG: config }, { timing: true });
      await load(subscribed.url, 10, 300, true); // warm-up, as above (300 deliveries to the subscriber)
      if (!(await until(() => subscriber.received() >= 300, 60_000))) throw new Error(`the subscriber got ${subscriber.received()} of the warm-up's 300 messages`);
      const sentBefore = subscriber.received();
      const row = await measure(subscribed, 'concurrency 50, each rejection delivered to a subscriber', 50, 2000);
      const inWindow = subscriber.received() - sentBefore;
      const drained = await until(() => subscriber.received() - sentBefore >= 2000, 120_000);
      if (!drained) throw new Error(`the subscriber got ${subscriber.received() - sentBefore} of 2000 messages within 2 minutes`);
      row.note = `signed subscriber messages received: ${inWindow} of 2,000 during the load, all 2,000 afterwards`;
      rows.push(row);
    } finally {
      rmSync(configDir, { recursive: true, force: true });
    }
  } finally {
    await serve?.stop();
    await subscribed?.stop();
    await subscriber.stop();
    await simulator.stop();
  }

  const c50 = rows.find((r) => r.label === 'concurrency 50')!;
  const others = rows.filter((r) => r.label.startsWith('concurrency 50,'));
  const errors = rows.reduce((n, r) => n + r.ours.non2xx + r.ours.errors, 0);
  const worst = Math.max(c50.ours.p99, ...others.map((r) => r.ours.p99));
  const serverCell = (t: ServerTiming) => {
    const sorted = [...t.samples].sort((a, b) => a - b);
    return `${q(sorted, 50).toFixed(1)} / ${q(sorted, 99).toFixed(1)} / ${(sorted.at(-1) ?? NaN).toFixed(1)}`;
  };
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.label}: ${r.note}`);
  return [
    '## Webhook answer time through `zoom-archiver serve`',
    '',
    'autocannon against the real server process (durable bus, consumers and audit running in it); each delivery a distinct signed `recording.completed` of a non-course meeting (validated and rejected downstream). Baseline: `GET /healthz` on the same server at the same concurrency, just before. "server" is what the server measured itself (bench/serve-timing-hook.cjs, preloaded): each webhook from its headers parsed to its answer handed to the kernel — including its wait for a turn behind the webhooks read before it (a few per loop iteration, host/turn-taking.ts, so that new connections are accepted in between) — and the main thread\'s event-loop delay; the rest of the client\'s time is waiting to be read, for a CPU and the kernel. The load generator runs in the bench process at nice ' + String(LOAD_GENERATOR_NICE) + ' (where allowed): it stands for Zoom, which does not share serve\'s 2 cores. Latencies in ms.',
    '',
    table(
      ['load', 'requests', 'client p50 / p99 / max', 'server p50 / p99 / max', 'event-loop delay p99 / max', 'errors', 'baseline p50 / p99', 'p99 ours/baseline'],
      rows.map((r) => [
        r.label,
        String(r.ours.requests),
        `${r.ours.p50} / ${r.ours.p99} / ${r.ours.max}`,
        serverCell(r.server),
        `${r.server.loopDelayP99Ms.toFixed(0)} / ${r.server.loopDelayMaxMs.toFixed(0)}`,
        String(r.ours.non2xx + r.ours.errors),
        `${r.base.p50} / ${r.base.p99}`,
        (r.ours.p99 / Math.max(1, r.base.p99)).toFixed(1),
      ]),
    ),
    '',
    ...notes,
    '',
    `Targets: p99 < 20 ms at concurrency 50 — ${c50.ours.p99 < 20 ? 'met' : 'missed'} (${c50.ours.p99} ms); at most 100 ms at concurrency 50 under every load above — ${worst <= 100 ? 'met' : 'missed'} (worst ${worst} ms); zero errors — ${errors === 0 ? 'met' : `missed (${errors})`}. With ratios to the baseline, the other loads cost: ${others.map((r) => `${r.label.replace('concurrency 50, ', '')} ×${(r.ours.p99 / Math.max(1, c50.ours.p99)).toFixed(2)}`).join('; ')} (p99 with ÷ p99 alone).`,
  ].join('\n');
}
