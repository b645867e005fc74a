/**
 * Report section: how fast `zoom-archiver serve` starts, and what it weighs idle, when
 * bin/zoom-archiver.js runs the bundle built at install (dist/, tools/build/bundle-serve.js)
 * and when it runs the TypeScript through tsx (ZOOM_ARCHIVER_TSX=1), in the same run,
 * interleaved round by round (the order flipped every other round).
 *
 * Each start is a fresh `node bin/zoom-archiver.js serve` (its own data folder, a
 * webhook secret so no sandbox runs, the sweep off): the time from spawn to the first
 * 200 of GET /healthz (polled back to back from "listening on"), then VmRSS of the
 * process (its worker threads included) after 3 s idle. Ratios are bundle ÷ tsx, paired
 * within a round. The bundle is rebuilt before a round if a source changed, so every
 * bundle start measures a fresh bundle, not a rebuild; a start that rebuilt anyway (a
 * source edited meanwhile) is not counted. Also: what a build takes, and the freshness
 * check bin/zoom-archiver.js makes at every start.
 *
 *   BENCH_ONLY=startup npm run bench   (BENCH_STARTUP_RUNS=5)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext } from '../section';
import { median, medianAndRange, table } from '../stats';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'zoom-archiver.js');
const IDLE_MS = 3000;

interface BundleTool {
  freshBundle(): string | undefined;
  buildServeBundle(): { main: string; inputs: number; ms: number };
}
// Plain CommonJS (bin/zoom-archiver.js loads it before anything else), without types.
const bundleTool = require('../../tools/build/bundle-serve.js') as BundleTool;

type Mode = 'bundle' | 'tsx';

interface Start {
  healthzMs: number;
  rssMiB: number;
  rebuilt: boolean;
}

async function startOnce(mode: Mode): Promise<Start> {
  const dataDir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'bench-startup-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    PORT: '0',
    LOG_LEVEL: 'ERROR',
    DATA_DIR: dataDir,
    ZOOM_WEBHOOK_SECRET_TOKEN: 'x'.repeat(20),
    SWEEP_INTERVAL_SECONDS: '0',
  };
  if (mode === 'tsx') env.ZOOM_ARCHIVER_TSX = '1';
  else delete env.ZOOM_ARCHIVER_TSX;
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve (${mode}) did not listen within 30 s:\n${stdout}${stderr}`)), 30_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        const match = /listening on (http:\/\/\S+)/.exec(stdout);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      void exited.then(() => reject(new Error(`serve (${mode}) exited before listening:\n${stdout}${stderr}`)));
    });
    for (;;) {
      try {
        if ((await fetch(`${url}/healthz`)).ok) break;
      } catch {
        // not answering yet
      }
    }
    const healthzMs = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]);
    return { healthzMs, rssMiB: rssKiB / 1024, rebuilt: /rebuilt dist\//.test(stderr) };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function run(ctx: BenchContext): Promise<string> {
  const [runs = 5] = ctx.numbers('BENCH_STARTUP_RUNS', [5]);
  const build = bundleTool.buildServeBundle();
  ctx.log(`startup: bundle built from ${build.inputs} inputs in ${build.ms} ms`);
  const checkMs: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    if (!bundleTool.freshBundle()) throw new Error('the bundle is stale right after building it');
    checkMs.push(performance.now() - t0);
  }

  // Warm-up: one of each, not counted (the first start after a build reads cold files).
  for (const mode of ['bundle', 'tsx'] as const) await startOnce(mode);

  const results: Record<Mode, Start[]> = { bundle: [], tsx: [] };
  const ratios = { healthz: [] as number[], rss: [] as number[] };
  let discarded = 0;
  for (let round = 0; round < runs; round++) {
    if (!bundleTool.freshBundle()) bundleTool.buildServeBundle();
    const order: Mode[] = round % 2 === 0 ? ['bundle', 'tsx'] : ['tsx', 'bundle'];
    const got: Partial<Record<Mode, Start>> = {};
    for (const mode of order) {
      got[mode] = await startOnce(mode);
      ctx.log(`startup round ${round + 1}/${runs} ${mode}: first /healthz ${got[mode]!.healthzMs.toFixed(0)} ms, idle RSS ${got[mode]!.rssMiB.toFixed(0)} MiB${got[mode]!.rebuilt ? ' (rebuilt: not counted)' : ''}`);
    }
    if (got.bundle!.rebuilt) {
      discarded++;
      continue;
    }
    results.bundle.push(got.bundle!);
    results.tsx.push(got.tsx!);
    ratios.healthz.push(got.bundle!.healthzMs / got.tsx!.healthzMs);
    ratios.rss.push(got.bundle!.rssMiB / got.tsx!.rssMiB);
  }

  const rows = (['bundle', 'tsx'] as const).map((mode) => [
    mode === 'bundle' ? '`dist/` bundle' : 'tsx (`ZOOM_ARCHIVER_TSX=1`)',
    medianAndRange(results[mode].map((r) => r.healthzMs)),
    medianAndRange(results[mode].map((r) => r.rssMiB)),
  ]);
  rows.push(['bundle ÷ tsx (paired)', medianAndRange(ratios.healthz, 2), medianAndRange(ratios.rss, 2)]);
  return [
    '## Start-up of `serve`: bundle vs tsx',
    '',
    `${results.bundle.length} round(s), interleaved${discarded ? ` (${discarded} more not counted: a source changed and the bundle start rebuilt)` : ''}; median (min–max). ` +
      `Spawn of \`node bin/zoom-archiver.js serve\` to its first 200 of \`GET /healthz\`; VmRSS after ${IDLE_MS / 1000} s idle (worker threads included).`,
    '',
    table(['runs from', 'first /healthz (ms)', 'idle RSS (MiB)'], rows),
    '',
    `Build (tools/build/bundle-serve.js, as \`npm install\` runs it): ${build.ms} ms, ${build.inputs} inputs. ` +
      `Freshness check at every start (a stat per input): median ${median(checkMs).toFixed(1)} ms.`,
    '',
  ].join('\n');
}
