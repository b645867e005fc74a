/**
 * Report section: transfer throughput simulator → archive and the uploader's peak
 * memory (figures 1 and 2 of issue 8). For each file size and sink, in the same run
 * and interleaved: ours (the real uploader), the limit (curl to the same disk; a bare
 * Node pipe with none of our logic) and the original approach (the response stream as
 * the Body of one PutObject with ContentLength). Every stored object is hashed.
 */
import type { BenchContext } from '../section';
import { campaign, good, integrity, pairedRatios, select, type Entry, type Outcome } from '../transfer/campaign';
import { startFixture } from '../transfer/harness';
import type { Sink } from '../transfer/protocol';
import { median, medianAndRange, table } from '../stats';

const ENTRIES: Entry[] = [
  { contender: 'ours', sink: 'folder' },
  { contender: 'curl', sink: 'folder' },
  { contender: 'curl-fsync', sink: 'folder' },
  { contender: 'bare', sink: 'folder' },
  { contender: 'probe:store-from-memory', sink: 'folder' },
  { contender: 'ours', sink: 's3' },
  { contender: 'bare', sink: 's3' },
  { contender: 'original', sink: 's3' },
];

const NAMES: Record<string, string> = {
  ours: 'ours (uploader use case)',
  curl: 'curl -L -o FILE',
  'curl-fsync': 'curl -L -o FILE, then fsync',
  bare: 'bare Node pipe',
  original: 'original: one PutObject',
  'probe:store-from-memory': 'the folder store fed from memory (the disk\'s part alone)',
};

export const RSS_TARGET_MB = 150;

export function plan(ctx: BenchContext, defaultSizes: readonly number[]): { sizeMiB: number; rounds: number }[] {
  const sizes = ctx.numbers('BENCH_SIZES_MIB', defaultSizes);
  const runs = ctx.numbers('BENCH_RUNS', []);
  return sizes.map((sizeMiB, i) => ({ sizeMiB, rounds: runs[Math.min(i, runs.length - 1)] ?? (sizeMiB <= 512 ? 5 : 3) }));
}

export const sizeLabel = (mib: number) => (mib >= 1024 && mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`);

export async function run(ctx: BenchContext): Promise<string> {
  const runs = plan(ctx, [256, 2048]);
  const fixture = await startFixture(runs.map((p) => p.sizeMiB), ctx.log);
  let outcomes: Outcome[];
  try {
    outcomes = await campaign(fixture, ENTRIES, runs, ctx.log);
  } finally {
    await fixture.stop();
  }
  return render(outcomes, runs.map((p) => p.sizeMiB));
}

function render(outcomes: Outcome[], sizes: number[]): string {
  const out: string[] = [];
  out.push('## Transfer throughput, simulator → archive');
  out.push('');
  out.push(
    'One file from the Zoom simulator (its own process; Bearer token, 302 to a second origin) to the folder store and to s3rver (its own process), ' +
      'on the same disk. Every run is a fresh process; variants ran interleaved. The stored bytes of every run were hashed and compared with the simulated file. ' +
      'ours = `uploadFile` (ledger claim in SQLite, token unsealed, allowlisted download, verifier, store, events) with the single-machine defaults (5 MiB parts, queue 2); ' +
      'bare Node pipe = `http.get` + the 302 by hand, piped into `fs.createWriteStream` / lib-storage `Upload` (same part size and queue), nothing else; ' +
      'original = the response stream as Body of one `PutObjectCommand` with ContentLength (S3 only); curl = `curl -sS -L -H "Authorization: Bearer …" -o FILE URL` (its own `time_total`); ' +
      '"then fsync" adds the time of one fsync of the file curl wrote (its CPU is not counted). ' +
      '"the folder store fed from memory" is the store\'s own resumable put (16 MiB checkpoints fsynced beside the writes, final fsync, link, directory fsyncs) given the file as our GET\'s chunks, downloaded into memory before its clock starts: ' +
      'no network, no hash, no ledger — the fastest this disk takes bytes as durably as ours (its peak RSS includes the file). ' +
      'ours fsyncs the file before its atomic rename (the archive says "archived" only of bytes on the disk); curl and the bare pipe do not, so their bytes may still be in the page cache when they stop. ' +
      'CPU = user + system seconds of the transferring process (all threads) per GiB.',
  );
  out.push('');
  const rows: string[][] = [];
  for (const sizeMiB of sizes) {
    for (const entry of ENTRIES) {
      const runs = select(outcomes, entry.contender, entry.sink, sizeMiB);
      const ok = good(runs);
      rows.push([
        entry.sink === 's3' ? 's3rver' : 'folder',
        sizeLabel(sizeMiB),
        NAMES[entry.contender] ?? entry.contender,
        String(ok.length),
        medianAndRange(ok.map((r) => r.mbPerSec)),
        medianAndRange(ok.map((r) => r.maxRssMB)),
        medianAndRange(ok.map((r) => (r.cpuSeconds * 2 ** 30) / (r.sizeMiB * 2 ** 20)), 2),
        integrity(runs),
      ]);
    }
  }
  out.push(table(['sink', 'size', 'variant', 'n', 'MB/s', 'peak RSS MB', 'CPU s/GiB', 'stored bytes'], rows));
  out.push('');

  out.push('### Ratios (ours ÷ other, paired within each round: median (min–max))');
  out.push('');
  const ratioRows: string[][] = [];
  const verdicts: string[] = [];
  for (const sizeMiB of sizes) {
    for (const sink of ['folder', 's3'] as Sink[]) {
      const ratio = (other: string) => pairedRatios(outcomes, 'ours', other, sink, sizeMiB, (r) => r.mbPerSec);
      const curl = sink === 'folder' ? ratio('curl') : [];
      const durable = sink === 'folder' ? ratio('curl-fsync') : [];
      const disk = sink === 'folder' ? ratio('probe:store-from-memory') : [];
      const diskOverCurl = sink === 'folder' ? pairedRatios(outcomes, 'probe:store-from-memory', 'curl', sink, sizeMiB, (r) => r.mbPerSec) : [];
      const bare = ratio('bare');
      const original = sink === 's3' ? ratio('original') : [];
      const targetRatios = sink === 'folder' ? curl : bare;
      const verdict = (bound: number) => (targetRatios.length ? (median(targetRatios) >= bound ? 'met' : 'missed') : 'not measured');
      // The folder: at least 0.6 × curl, 0.9 the target (issue 19); S3: 0.9 × the bare pipe.
      const ceiling = diskOverCurl.length ? ` (the disk's part alone: ${median(diskOverCurl).toFixed(2)} × curl)` : '';
      const target = sink === 'folder' ? `ours ≥ 0.6 × curl: **${verdict(0.6)}**; ≥ 0.9: **${verdict(0.9)}**${ceiling}` : `ours ≥ 0.9 × bare pipe: **${verdict(0.9)}**`;
      ratioRows.push([
        sink === 's3' ? 's3rver' : 'folder',
        sizeLabel(sizeMiB),
        medianAndRange(curl, 2),
        medianAndRange(durable, 2),
        medianAndRange(disk, 2),
        medianAndRange(diskOverCurl, 2),
        medianAndRange(bare, 2),
        medianAndRange(original, 2),
        target,
      ]);
      verdicts.push(`${sink === 's3' ? 's3rver' : 'folder'} ${sizeLabel(sizeMiB)}: ${target.replace(/\*\*/g, '')}`);
    }
  }
  out.push(table(['sink', 'size', 'ours/curl', 'ours/(curl, then fsync)', 'ours/(store from memory)', '(store from memory)/curl', 'ours/bare pipe', 'ours/original', 'target'], ratioRows));
  out.push('');

  out.push('## Memory of the uploader process (ours)');
  out.push('');
  out.push(
    'Peak RSS = `process.resourceUsage().maxRSS` of the fresh process that ran one transfer (module loading included). ' +
      'RSS after load = before the transfer started. The peaks of `process.memoryUsage()` (sampled every 100 ms during the transfer) say what the growth is: ' +
      'V8 heap (heapTotal) or buffers outside it (arrayBuffers: socket chunks, parts, and those not yet collected).',
  );
  out.push('');
  const memRows: string[][] = [];
  const memVerdicts: string[] = [];
  for (const sink of ['folder', 's3'] as Sink[]) {
    const peakBySize = new Map<number, number>();
    for (const sizeMiB of sizes) {
      const ok = good(select(outcomes, 'ours', sink, sizeMiB));
      const peak = median(ok.map((r) => r.maxRssMB));
      peakBySize.set(sizeMiB, peak);
      const w = ok.flatMap((r) => (r.worker ? [r.worker] : []));
      memRows.push([
        sink === 's3' ? 's3rver' : 'folder',
        sizeLabel(sizeMiB),
        String(ok.length),
        medianAndRange(ok.map((r) => r.maxRssMB)),
        medianAndRange(w.map((x) => x.rssBeforeMB)),
        medianAndRange(w.map((x) => x.peaks.heapTotalMB)),
        medianAndRange(w.map((x) => x.peaks.arrayBuffersMB)),
        Number.isFinite(peak) ? (peak < RSS_TARGET_MB ? 'met' : '**missed**') : '—',
      ]);
    }
    const small = peakBySize.get(Math.min(...sizes));
    const large = peakBySize.get(Math.max(...sizes));
    const under = [...peakBySize.values()].every((v) => v < RSS_TARGET_MB);
    memVerdicts.push(`${sink === 's3' ? 's3rver' : 'folder'}: peak RSS < ${RSS_TARGET_MB} MB — ${under ? 'met' : 'missed'}`);
    if (sizes.length > 1 && small && large) {
      const growth = large / small - 1;
      memVerdicts.push(
        `${sink === 's3' ? 's3rver' : 'folder'}: flat (${sizeLabel(Math.max(...sizes))} within 10 % of ${sizeLabel(Math.min(...sizes))}) — ${growth <= 0.1 ? 'met' : 'missed'} (${(growth * 100).toFixed(1)} %)`,
      );
    }
  }
  out.push(table(['sink', 'size', 'n', 'peak RSS MB', 'RSS after load MB', 'heapTotal peak MB', 'arrayBuffers peak MB', `< ${RSS_TARGET_MB} MB`], memRows));
  out.push('');
  out.push('Targets:');
  out.push('');
  for (const verdict of [...verdicts, ...memVerdicts]) out.push(`- ${verdict}`);
  return out.join('\n');
}
