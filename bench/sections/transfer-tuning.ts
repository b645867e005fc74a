/**
 * Report section: what the buffering settings do to ours — S3 part size and parts in
 * flight (lib-storage holds about (queue + 1) parts plus the one being assembled), the
 * downloader's buffer — measured on the same file, interleaved, each run a fresh process.
 */
import type { BenchContext } from '../section';
import { median, medianAndRange, table } from '../stats';
import { campaign, good, integrity, select, type Entry } from '../transfer/campaign';
import { runOnce, startFixture } from '../transfer/harness';
import { sizeLabel } from './transfer';

const SETTINGS: (Entry & { label: string; what: string })[] = [
  { label: 's3-8x4', contender: 'ours', sink: 's3', options: { partSizeMiB: 8, queueSize: 4 }, what: 'part 8 MiB, queue 4 (the Lambda setting)' },
  { label: 's3-8x2', contender: 'ours', sink: 's3', options: { partSizeMiB: 8, queueSize: 2 }, what: 'part 8 MiB, queue 2' },
  { label: 's3-5x4', contender: 'ours', sink: 's3', options: { partSizeMiB: 5, queueSize: 4 }, what: 'part 5 MiB, queue 4' },
  { label: 's3-5x3', contender: 'ours', sink: 's3', options: { partSizeMiB: 5, queueSize: 3 }, what: 'part 5 MiB, queue 3' },
  { label: 's3-5x2', contender: 'ours', sink: 's3', options: { partSizeMiB: 5, queueSize: 2 }, what: 'part 5 MiB, queue 2 (single-machine default)' },
  { label: 's3-8x4-hwm64', contender: 'ours', sink: 's3', options: { partSizeMiB: 8, queueSize: 4, env: { BENCH_DOWNLOAD_HWM_KIB: '64' } }, what: 'part 8 MiB, queue 4, download buffer 64 KiB' },
  {
    label: 's3-8x4-mmap',
    contender: 'ours',
    sink: 's3',
    options: { partSizeMiB: 8, queueSize: 4, env: { MALLOC_MMAP_THRESHOLD_: '131072' } },
    what: 'part 8 MiB, queue 4, glibc MALLOC_MMAP_THRESHOLD_=131072 (big buffers always mmapped, returned at free)',
  },
  {
    label: 's3-5x2-mmap',
    contender: 'ours',
    sink: 's3',
    options: { partSizeMiB: 5, queueSize: 2, env: { MALLOC_MMAP_THRESHOLD_: '131072' } },
    what: 'part 5 MiB, queue 2, MALLOC_MMAP_THRESHOLD_=131072',
  },
  {
    label: 's3-8x4-gc',
    contender: 'ours',
    sink: 's3',
    options: { partSizeMiB: 8, queueSize: 4, nodeFlags: ['--expose-gc'], env: { BENCH_FORCE_GC_MS: '50' } },
    what: 'diagnostic: part 8 MiB, queue 4, gc() every 50 ms (what is live)',
  },
  {
    label: 's3-5x2-gc',
    contender: 'ours',
    sink: 's3',
    options: { partSizeMiB: 5, queueSize: 2, nodeFlags: ['--expose-gc'], env: { BENCH_FORCE_GC_MS: '50' } },
    what: 'diagnostic: part 5 MiB, queue 2, gc() every 50 ms',
  },
  { label: 'folder', contender: 'ours', sink: 'folder', what: 'folder, download buffer 1 MiB (default; chunks in reused memory, shared/adapters/chunk-pool.ts)' },
  { label: 'folder-nopool', contender: 'ours', sink: 'folder', options: { env: { BENCH_NO_CHUNK_POOL: '1' } }, what: 'folder, every chunk in new memory (no chunk pool)' },
  { label: 'folder-hwm64', contender: 'ours', sink: 'folder', options: { env: { BENCH_DOWNLOAD_HWM_KIB: '64' } }, what: 'folder, download buffer 64 KiB' },
];

export async function run(ctx: BenchContext): Promise<string> {
  const sizeMiB = ctx.numbers('BENCH_TUNING_MIB', [256])[0]!;
  const rounds = ctx.numbers('BENCH_TUNING_RUNS', ctx.numbers('BENCH_RUNS', [2]))[0]!;
  const fixture = await startFixture([sizeMiB], ctx.log);
  let outcomes;
  let gcTrace = '';
  try {
    outcomes = await campaign(fixture, SETTINGS, [{ sizeMiB, rounds }], ctx.log);
    await runOnce(fixture, 'ours', 's3', sizeMiB, { nodeFlags: ['--trace-gc'], onOutput: (stdout) => (gcTrace = stdout) });
  } finally {
    await fixture.stop();
  }
  const out: string[] = [];
  out.push(`## Transfer settings: memory and throughput of ours (${sizeLabel(sizeMiB)})`);
  out.push('');
  out.push(
    'Each setting ran n times, interleaved, each in a fresh process. "live parts" = what lib-storage holds by design: (queue + 1) parts in flight or being filled, plus the copy Buffer.concat makes of each part. ' +
      'arrayBuffers peak above that is garbage waiting for a GC: V8 collects ArrayBuffers when their external memory has grown by about 64 MB since the last full GC.',
  );
  out.push('');
  const rows = SETTINGS.map((setting) => {
    const runs = select(outcomes, setting.label, setting.sink, sizeMiB);
    const ok = good(runs);
    const part = setting.options?.partSizeMiB ?? 8;
    const queue = setting.options?.queueSize ?? 4;
    const live = setting.sink === 's3' ? `${((queue + 2) * part * 1.048576).toFixed(0)}` : '—';
    return [
      setting.what,
      String(ok.length),
      medianAndRange(ok.map((r) => r.mbPerSec)),
      medianAndRange(ok.map((r) => r.maxRssMB)),
      live,
      medianAndRange(ok.flatMap((r) => (r.worker ? [r.worker.peaks.arrayBuffersMB] : []))),
      medianAndRange(ok.flatMap((r) => (r.worker ? [r.worker.peaks.heapTotalMB] : []))),
      medianAndRange(ok.map((r) => (r.cpuSeconds * 1024) / sizeMiB), 2),
      integrity(runs),
    ];
  });
  out.push(table(['setting', 'n', 'MB/s', 'peak RSS MB', 'live parts MB', 'arrayBuffers peak MB', 'heapTotal peak MB', 'CPU s/GiB', 'stored bytes'], rows));
  out.push('');
  out.push(`GC during one default transfer to s3rver (\`node --trace-gc\`): ${summarizeGcTrace(gcTrace)}.`);
  const best = SETTINGS.filter((s) => s.sink === 's3' && !s.label.endsWith('-gc'))
    .map((s) => ({ s, rss: median(good(select(outcomes, s.label, 's3', sizeMiB)).map((r) => r.maxRssMB)) }))
    .filter((x) => Number.isFinite(x.rss))
    .sort((a, b) => a.rss - b.rss)[0];
  if (best) {
    out.push('');
    out.push(`Lowest peak RSS to s3rver: ${best.s.what} (${best.rss.toFixed(0)} MB).`);
  }
  return out.join('\n');
}

/** Counts --trace-gc lines by kind and reason, e.g. "Mark-Compact × 30 (external memory pressure × 12, …)". */
function summarizeGcTrace(trace: string): string {
  const counts = new Map<string, number>();
  for (const line of trace.split('\n')) {
    const kind = /ms: (Scavenge|Mark-Compact|Minor Mark-Sweep|Mark-Sweep)/.exec(line)?.[1];
    if (!kind) continue;
    const reason = line.slice(line.lastIndexOf(')') + 1).replace(/;/g, ',').trim().replace(/,$/, '') || 'allocation';
    const key = `${kind}: ${reason}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  if (counts.size === 0) return 'no GC lines captured';
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => `${n} × ${key}`)
    .join(', ');
}
