/**
 * Report section: the operator dashboard with a large audit trail, through the real
 * `zoom-archiver serve` process (the dashboard on its own thread and listener).
 *
 * 1. The first view: `serve` starts on a data folder holding BENCH_DASHBOARD_RECORDINGS
 *    recordings (default 10,000; ~6 audit records each) and the overview is fetched
 *    once, cold; then each page 20 times warm. Baseline: the stylesheet from the same
 *    listener (the HTTP stack's floor). Target: the first view under 1 s.
 * 2. Dashboard queries never slow the webhook: webhook answer time at concurrency 50
 *    (distinct signed non-course deliveries) alone, then while 4 clients fetch the
 *    overview back to back — paired in the same run, as a ratio.
 */
import type { BenchContext } from '../section';
import { seedDashboardData } from '../dashboard-seed';
import { startServeProcess } from '../serve-process';
import { median, table } from '../stats';
import { load, SECRET, type Latency } from './serve-load';

async function timeGet(url: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(url);
  const body = await response.text();
  if (response.status !== 200 || body.length < 100) throw new Error(`GET ${url} answered ${response.status}`);
  return performance.now() - started;
}

async function warm(url: string, times: number): Promise<{ median: number; max: number }> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) samples.push(await timeGet(url));
  return { median: median(samples), max: Math.max(...samples) };
}

export async function run(ctx: BenchContext): Promise<string> {
  const [recordings = 10_000] = ctx.numbers('BENCH_DASHBOARD_RECORDINGS', [10_000]);
  let seeded: Awaited<ReturnType<typeof seedDashboardData>> | undefined;
  const seedStarted = performance.now();
  const serve = await startServeProcess(
    { ZOOM_WEBHOOK_SECRET_TOKEN: SECRET, SWEEP_INTERVAL_SECONDS: '0' },
    { prepare: async (dir) => void (seeded = await seedDashboardData(dir, recordings, 60)) },
  );
  ctx.log(`dashboard: seeded ${recordings} recordings in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s (incl. start)`);
  const rows: string[][] = [];
  let firstView = 0;
  let alone: Latency | undefined;
  let during: Latency | undefined;
  let dashboardRequests = 0;
  try {
    const dashboard = await serve.dashboardUrl();
    const { sample } = seeded!;
    firstView = await timeGet(dashboard);
    const floor = await warm(`${dashboard}assets/dashboard.css`, 20);
    rows.push(['stylesheet (the baseline)', floor.median.toFixed(1), floor.max.toFixed(1), '1.0']);
    rows.push(['overview, first view (cold)', firstView.toFixed(0), '—', (firstView / Math.max(0.1, floor.median)).toFixed(0)]);
    for (const [label, path] of [
      ['overview', ''],
      ['recording page', `recording?id=${encodeURIComponent(sample.recordingId)}`],
      ['course page', `course?code=${sample.course}`],
      ['search (topic word)', `search?q=${sample.topicWord}`],
    ] as const) {
      const t = await warm(`${dashboard}${path}`, 20);
      rows.push([label, t.median.toFixed(1), t.max.toFixed(1), (t.median / Math.max(0.1, floor.median)).toFixed(1)]);
    }

    ctx.log('dashboard: webhook at concurrency 50, alone and while the overview is fetched');
    await load(serve.url, 10, 300, true); // warm-up
    alone = await load(serve.url, 50, 2000, true);
    let stop = false;
    const hammer = async () => {
      while (!stop) {
        await timeGet(dashboard);
        dashboardRequests++;
      }
    };
    const clients = Array.from({ length: 4 }, hammer);
    during = await load(serve.url, 50, 2000, true);
    stop = true;
    await Promise.all(clients);
  } finally {
    await serve.stop();
  }
  const ratio = during!.p99 / Math.max(1, alone!.p99);
  return [
    `## Operator dashboard with ${recordings.toLocaleString('en')} recordings`,
    '',
    `\`zoom-archiver serve\` (a child process) on a data folder seeded with ${recordings.toLocaleString('en')} recordings over 60 days (${seeded!.auditRecords.toLocaleString('en')} audit records, ${seeded!.ledgerEntries} ledger entries; \`bench/dashboard-seed.ts\`). Times in ms, wall clock from this process (fetch and read the whole page). Baseline: the stylesheet from the same listener.`,
    '',
    table(['request', 'median (ms)', 'max (ms)', '÷ baseline'], rows),
    '',
    `Target: the first view under 1 s — ${firstView < 1000 ? 'met' : 'missed'} (${firstView.toFixed(0)} ms).`,
    '',
    'Webhook answer time at concurrency 50 (2,000 distinct signed non-course deliveries), alone and while 4 clients fetch the overview back to back (dashboard on its own worker thread):',
    '',
    table(
      ['webhook load', 'p50 / p99 / max (ms)', 'errors', 'dashboard pages served meanwhile'],
      [
        ['alone', `${alone!.p50} / ${alone!.p99} / ${alone!.max}`, String(alone!.non2xx + alone!.errors), '—'],
        ['with dashboard queries', `${during!.p50} / ${during!.p99} / ${during!.max}`, String(during!.non2xx + during!.errors), String(dashboardRequests)],
      ],
    ),
    '',
    `p99 with ÷ without dashboard queries: ${ratio.toFixed(2)}.`,
  ].join('\n');
}
