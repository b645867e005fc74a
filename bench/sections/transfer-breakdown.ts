/**
 * Report section: where a transfer's time goes. A ladder of pieces measured alone on
 * the same file, interleaved like the main figures — curl to /dev/null (what the
 * simulator can serve), curl to the file (the limit) and then fsynced (the disk's
 * limit for a durable write), Node's HTTP clients and ours with nothing behind them, plus SHA-256 on and off the main thread, the bare pipe to the
 * file with and without fsync, and ours — then one CPU profile of ours per sink.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { summarizeProfile } from '../cpu-profile';
import type { BenchContext } from '../section';
import { medianAndRange, table } from '../stats';
import { campaign, good, integrity, select, type Entry } from '../transfer/campaign';
import { BENCH_TMP, runOnce, startFixture } from '../transfer/harness';
import type { Sink } from '../transfer/protocol';
import { sizeLabel } from './transfer';

const LADDER: (Entry & { what: string })[] = [
  { contender: 'curl-null', sink: 'folder', what: 'curl → /dev/null (what the simulator serves at most)' },
  { contender: 'curl', sink: 'folder', what: 'curl → file (the limit)' },
  { contender: 'curl-fsync', sink: 'folder', what: 'curl → file, then fsync (as durable as ours: the disk\'s limit)' },
  { contender: 'probe:http-discard', sink: 'folder', what: 'node:http GET → discard' },
  { contender: 'probe:get-discard', sink: 'folder', what: 'our GET (shared/adapters/http-get.ts, the downloader\'s) → discard' },
  { contender: 'probe:fetch-discard', sink: 'folder', what: 'fetch (undici) → discard' },
  { contender: 'probe:http-sha256', sink: 'folder', what: 'node:http GET + SHA-256 on the main thread → discard' },
  { contender: 'probe:http-sha256-thread', sink: 'folder', what: 'node:http GET + SHA-256 in a worker thread (chunks transferred) → discard' },
  { contender: 'probe:http-sha256-thread-copy', sink: 'folder', what: 'node:http GET + SHA-256 in a worker thread (a copy of each chunk sent, as a pass-through verifier would) → discard' },
  { contender: 'bare', sink: 'folder', what: 'bare pipe → fs.createWriteStream' },
  { contender: 'probe:bare-fsync', sink: 'folder', what: 'bare pipe → fs.createWriteStream + fsync (flush: true)' },
  { contender: 'probe:store-from-memory', sink: 'folder', what: 'the folder store fed from memory (its checkpoint fsyncs, final fsync and link; no network, no hash; RSS includes the file)' },
  { contender: 'ours', sink: 'folder', what: 'ours → folder store (verifier, fsync, rename)' },
];

/** A file small enough that its time is the per-transfer cost: requests, ledger, token, events. */
const SMALL_MIB = 1;
const FIXED: Entry[] = [
  { contender: 'ours', sink: 'folder' },
  { contender: 'bare', sink: 'folder' },
  { contender: 'ours', sink: 's3' },
  { contender: 'bare', sink: 's3' },
];

export async function run(ctx: BenchContext): Promise<string> {
  const sizeMiB = ctx.numbers('BENCH_BREAKDOWN_MIB', [256])[0]!;
  const rounds = ctx.numbers('BENCH_BREAKDOWN_RUNS', ctx.numbers('BENCH_RUNS', [3]))[0]!;
  const fixture = await startFixture([sizeMiB, SMALL_MIB], ctx.log);
  const profiles: { sink: Sink; summary: ReturnType<typeof summarizeProfile>; mbPerSec: number }[] = [];
  let outcomes;
  let fixed;
  try {
    outcomes = await campaign(fixture, LADDER, [{ sizeMiB, rounds }], ctx.log);
    fixed = await campaign(fixture, FIXED, [{ sizeMiB: SMALL_MIB, rounds }], ctx.log);
    for (const sink of ['folder', 's3'] as Sink[]) {
      const dir = mkdtempSync(join(BENCH_TMP, 'cpu-profile-'));
      try {
        const path = join(dir, 'transfer.cpuprofile');
        const result = await runOnce(fixture, 'ours', sink, sizeMiB, { cpuProfilePath: path });
        profiles.push({ sink, summary: summarizeProfile(path, 12), mbPerSec: result.mbPerSec });
        ctx.log(`profiled ours/${sink}: ${result.mbPerSec.toFixed(0)} MB/s under the profiler`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await fixture.stop();
  }

  const out: string[] = [];
  out.push(`## Transfer breakdown: where the time goes (${sizeLabel(sizeMiB)}, folder on the same disk)`);
  out.push('');
  out.push('Each row is a fresh process measuring one piece alone; rows ran interleaved, n rounds. CPU = user + system seconds of that process per GiB.');
  out.push('');
  const rows = LADDER.map((entry) => {
    const runs = select(outcomes, entry.contender, entry.sink, sizeMiB);
    const ok = good(runs);
    return [
      entry.what,
      String(ok.length),
      medianAndRange(ok.map((r) => r.mbPerSec)),
      medianAndRange(ok.map((r) => (r.cpuSeconds * 1024) / sizeMiB), 2),
      medianAndRange(ok.map((r) => r.maxRssMB)),
      entry.contender.endsWith('discard') || entry.contender.startsWith('probe:http-sha') || entry.contender === 'curl-null' ? (integrity(runs) === 'SHA-256 ok' ? 'byte count ok' : integrity(runs)) : integrity(runs),
    ];
  });
  out.push(table(['piece', 'n', 'MB/s', 'CPU s/GiB', 'peak RSS MB', 'bytes'], rows));
  out.push('');
  out.push(`Per-transfer cost (a ${SMALL_MIB} MiB file, so the bytes hardly count; ours includes the SQLite ledger claim and completion, unsealing the token, the verifier and the events):`);
  out.push('');
  out.push(
    table(
      ['variant', 'sink', 'n', 'ms per transfer'],
      FIXED.map((entry) => {
        const runs = select(fixed, entry.contender, entry.sink, SMALL_MIB);
        return [entry.contender, entry.sink === 's3' ? 's3rver' : 'folder', String(good(runs).length), medianAndRange(good(runs).map((r) => r.seconds * 1000))];
      }),
    ),
  );
  out.push('');
  for (const { sink, summary, mbPerSec } of profiles) {
    out.push(`### CPU profile of ours → ${sink === 's3' ? 's3rver' : 'folder'} (main thread during the transfer, V8 sampling profiler, ${mbPerSec.toFixed(0)} MB/s under the profiler, ${summary.totalMs.toFixed(0)} ms sampled)`);
    out.push('');
    out.push(
      table(
        ['self time ms', 'share', 'function'],
        summary.entries.map((entry) => [entry.ms.toFixed(0), `${(entry.share * 100).toFixed(1)} %`, `\`${entry.name}\``]),
      ),
    );
    out.push('');
  }
  out.push(
    'Each function is shown with its caller. (idle) is the main thread waiting — for the network, the thread pool (file writes, fsync) or s3rver; ' +
      '`update ← hashChunk` is the verifier\'s SHA-256, `update ← getPayloadHash` the SDK\'s SigV4 payload hash of each part (the SDK signs a Buffer body); ' +
      '`_copyActual ← concat` is lib-storage assembling parts; `writeBuffers`/`writeBuffer` submit file writes to the thread pool; `onRead`/`readBody` are the download\'s HTTP client (shared/adapters/http-get.ts), `execute`/`socketOnData` node:http\'s parser (the SDK\'s requests to s3rver).',
  );
  return out.join('\n');
}
