/**
 * Report section: what resumable transfers cost when nothing goes wrong, and what they
 * save when something does. In this one process and run, interleaved round by round
 * (the order flipped every other round), an uninterrupted transfer of one file into
 * the folder store through transferOnce:
 * - plain: without `progress`, the store's plain put (no checkpoints);
 * - resumable: with `progress`, the store's putResumable, each checkpoint (fsync of the
 *   partial file, and of its folder the first time) recorded in a SQLite ledger as the
 *   uploader does.
 * CPU is this process's user + system time over the transfer (all its threads: the
 * file writes and fsyncs run in libuv's pool); the simulator runs in its own process,
 * so its serving is not counted. Then one resumable transfer is interrupted (aborted)
 * once a checkpoint reaches half the file, and the next attempt resumes from the
 * ledger's checkpoint: the bytes each attempt downloaded.
 *
 *   BENCH_ONLY=resume npm run bench   (BENCH_RESUME_MIB=256, BENCH_RESUME_RUNS=6, BENCH_RESUME_CHECKPOINT_MIB=16)
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Transform, pipeline } from 'node:stream';
import { DEFAULT_CHECKPOINT_BYTES, FolderArchiveStore } from '../../shared/adapters/archive-folder';
import { SqliteUploadLedger } from '../../shared/adapters/ledger-sqlite';
import { ZoomHttpDownloader } from '../../shared/adapters/zoom-download';
import type { FileUploadRequested } from '../../shared/events';
import type { TransferCheckpoint } from '../../shared/ports/upload-ledger';
import type { DownloadOptions, DownloadResponse, ZoomDownloader } from '../../shared/ports/zoom-client';
import { transferOnce, type TransferProgress, type TransferResult } from '../../services/uploader/transfer';
import { uploadRequestsFor } from '../../tests/support/pipeline';
import { startRemoteSimulator } from '../remote-simulator';
import type { BenchContext } from '../section';
import { median, medianAndRange, table } from '../stats';
import { sizeLabel } from './transfer';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const SECRET = 'bench-resume-secret';
const BENCH_TMP = join(__dirname, '..', 'tmp');

type Variant = 'plain' | 'resumable';

interface Measured {
  variant: Variant;
  round: number;
  seconds: number;
  cpuSeconds: number;
  checkpoints: number;
  intact: boolean;
}

/** A ZoomDownloader that counts the body bytes it hands over (for the interrupted transfer only). */
class CountingDownloader implements ZoomDownloader {
  received = 0;
  constructor(private readonly inner: ZoomDownloader) {}
  async open(url: string, options: DownloadOptions): Promise<DownloadResponse> {
    const response = await this.inner.open(url, options);
    const counter = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        this.received += chunk.length;
        callback(null, chunk);
      },
    });
    pipeline(response.body, counter, () => undefined);
    return { ...response, body: counter };
  }
}

export async function run(ctx: BenchContext): Promise<string> {
  const sizeMiB = ctx.numbers('BENCH_RESUME_MIB', [256])[0]!;
  const rounds = ctx.numbers('BENCH_RESUME_RUNS', ctx.numbers('BENCH_RUNS', [6]))[0]!;
  const checkpointBytes = ctx.numbers('BENCH_RESUME_CHECKPOINT_MIB', [DEFAULT_CHECKPOINT_BYTES / MiB])[0]! * MiB;
  const size = sizeMiB * MiB;

  mkdirSync(BENCH_TMP, { recursive: true });
  const workDir = mkdtempSync(join(BENCH_TMP, 'resume-'));
  const simulator = await startRemoteSimulator();
  const measured: Measured[] = [];
  let interruption: { firstBytes: number; checkpointAt: number; secondBytes: number; resumedFrom: number; intact: boolean; secondSeconds: number };
  try {
    ctx.log(`preparing a ${sizeMiB} MiB recording (the simulator hashes it once)`);
    const recording = await simulator.addRecording({
      topic: '[BEN201] Resume benchmark',
      files: [{ fileType: 'MP4', size, recordingType: 'speaker_view', recordingStart: '2026-11-26T09:00:00Z', recordingEnd: '2026-11-26T10:00:00Z' }],
    });
    const expectedSha = recording.files[0]!.sha256;
    const token = (recording.payload as { download_token: string }).download_token;
    const [requested] = await uploadRequestsFor(recording.payload, SECRET);
    if (!requested) throw new Error('course validation requested no upload for the bench recording');
    const request = requested.detail;
    const downloader = new ZoomHttpDownloader({ allowlist: '127.0.0.1', idleTimeoutMs: 60_000 });

    /** A fresh archive folder and ledger for each transfer: a put to a taken key would compare, not write. */
    const scratch = (label: string) => {
      const dir = mkdtempSync(join(workDir, `${label}-`));
      const store = new FolderArchiveStore({ root: join(dir, 'archive'), checkpointBytes });
      const ledger = new SqliteUploadLedger({ path: join(dir, 'ledger.sqlite') });
      const done = () => {
        ledger.close();
        rmSync(dir, { recursive: true, force: true });
      };
      return { dir, store, ledger, done };
    };
    /** The ledger entry claimed as the uploader claims it; its checkpoints go there. */
    const claimed = async (ledger: SqliteUploadLedger, onCheckpoint?: (checkpoint: TransferCheckpoint) => void) => {
      const owner = 'bench:resume';
      await ledger.register({ fileId: request.file.fileId, recordingId: request.recordingId, groupKey: 'bench', course: request.course, archiveKey: request.archiveKey, expectedSize: request.file.fileSize, request, now: Date.now() });
      const claim = await ledger.claim(request.file.fileId, owner, 3_600_000, Date.now());
      if (claim.outcome !== 'claimed') throw new Error(`ledger claim: ${claim.outcome}`);
      const state: { checkpoint?: TransferCheckpoint; count: number } = { count: 0 };
      const progress: TransferProgress = {
        get checkpoint() {
          return state.checkpoint;
        },
        onCheckpoint: async (checkpoint) => {
          const kept = await ledger.checkpoint(request.file.fileId, owner, checkpoint, Date.now());
          if (kept) {
            state.checkpoint = checkpoint;
            state.count++;
            onCheckpoint?.(checkpoint);
          }
          return kept;
        },
      };
      return { progress, state };
    };
    const intact = async (store: FolderArchiveStore, result: TransferResult) => result.size === size && result.sha256 === expectedSha && (await sha256Of(store, request.archiveKey)) === expectedSha;

    const once = async (variant: Variant, round: number) => {
      const s = scratch(`${variant}-${round}`);
      try {
        const { progress, state } = variant === 'resumable' ? await claimed(s.ledger) : { progress: undefined, state: { count: 0 } };
        const cpuBefore = process.cpuUsage();
        const started = performance.now();
        const result = await transferOnce(request, token, { downloader, store: s.store }, AbortSignal.timeout(600_000), progress);
        const seconds = (performance.now() - started) / 1000;
        const cpu = process.cpuUsage(cpuBefore);
        const entry: Measured = { variant, round, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, checkpoints: state.count, intact: await intact(s.store, result) };
        measured.push(entry);
        ctx.log(`${variant} round ${round}: ${(size / 1e6 / seconds).toFixed(0)} MB/s, ${entry.cpuSeconds.toFixed(2)} s CPU, ${entry.checkpoints} checkpoint(s)${entry.intact ? '' : ' CORRUPTED'}`);
      } finally {
        s.done();
      }
    };

    // Throughput climbs over the first transfers of a process (JIT, allocator, page cache): two of each first, not counted.
    ctx.log(`warm-up (not counted)`);
    for (const variant of ['plain', 'resumable', 'resumable', 'plain'] as Variant[]) {
      await once(variant, 0);
      measured.pop();
    }
    for (let round = 1; round <= rounds; round++) {
      const order: Variant[] = round % 2 === 1 ? ['plain', 'resumable'] : ['resumable', 'plain'];
      for (const variant of order) await once(variant, round);
    }

    // Interrupted at 50 %: aborted right after the first checkpoint at or past half the file is recorded.
    const s = scratch('interrupted');
    try {
      const controller = new AbortController();
      const { progress, state } = await claimed(s.ledger, (checkpoint) => {
        if (checkpoint.bytesCommitted >= size / 2 && !controller.signal.aborted) setImmediate(() => controller.abort(new Error('bench: interrupted at 50 %')));
      });
      const first = new CountingDownloader(downloader);
      const stopped = await transferOnce(request, token, { downloader: first, store: s.store }, controller.signal, progress).then(
        () => undefined,
        (error: unknown) => error,
      );
      if (stopped === undefined) throw new Error('the interrupted transfer was not interrupted');
      const checkpointAt = state.checkpoint?.bytesCommitted ?? 0;
      // The next attempt, as the uploader's: the checkpoint from the ledger.
      const resumedEntry = await s.ledger.get(request.file.fileId);
      if (resumedEntry?.checkpoint?.bytesCommitted !== checkpointAt) throw new Error('the ledger does not hold the last checkpoint');
      const second = new CountingDownloader(downloader);
      const started = performance.now();
      const result = await transferOnce(request, token, { downloader: second, store: s.store }, AbortSignal.timeout(600_000), progress);
      interruption = {
        firstBytes: first.received,
        checkpointAt,
        secondBytes: second.received,
        resumedFrom: result.resumedFrom,
        intact: await intact(s.store, result),
        secondSeconds: (performance.now() - started) / 1000,
      };
      ctx.log(`interrupted at ${checkpointAt} bytes; the resume downloaded ${second.received} bytes from ${result.resumedFrom}`);
    } finally {
      s.done();
    }
  } finally {
    await simulator.stop();
    rmSync(workDir, { recursive: true, force: true });
  }

  const of = (variant: Variant) => measured.filter((m) => m.variant === variant && m.intact);
  const mbPerSec = (m: Measured) => size / 1e6 / m.seconds;
  const cpuPerGiB = (m: Measured) => (m.cpuSeconds * GiB) / size;
  const paired = (metric: (m: Measured) => number) =>
    of('resumable').flatMap((b) => {
      const a = of('plain').find((m) => m.round === b.round);
      return a ? [metric(b) / metric(a)] : [];
    });
  const corrupted = measured.filter((m) => !m.intact).length;

  const out: string[] = [];
  out.push(`## Resumable transfers: the cost of checkpoints, and a resume (${sizeLabel(sizeMiB)}, folder store)`);
  out.push('');
  out.push(
    `transferOnce into the folder store, simulator (own process) → this process, ${rounds} rounds interleaved (order flipped every other round, two warm-up transfers of each not counted): ` +
      `plain = no \`progress\` (the store's put), resumable = with \`progress\` (putResumable, a checkpoint every ${checkpointBytes / MiB} MiB: fsync + a SQLite ledger write). ` +
      'CPU = user + system seconds of this process (all threads) per GiB.' +
      (corrupted ? ` **${corrupted} run(s) stored wrong bytes.**` : ' Every stored file matched its SHA-256.'),
  );
  out.push('');
  out.push(
    table(
      ['variant', 'n', 'MB/s', 'CPU s/GiB', 'checkpoints'],
      (['plain', 'resumable'] as Variant[]).map((variant) => [
        variant,
        String(of(variant).length),
        medianAndRange(of(variant).map(mbPerSec)),
        medianAndRange(of(variant).map(cpuPerGiB), 2),
        medianAndRange(of(variant).map((m) => m.checkpoints)),
      ]),
    ),
  );
  out.push('');
  out.push(
    `Resumable / plain, paired by round: throughput ${medianAndRange(paired(mbPerSec), 3)}, CPU time ${medianAndRange(paired((m) => m.cpuSeconds), 3)} ` +
      `(ratios of the medians: ${(median(of('resumable').map(mbPerSec)) / median(of('plain').map(mbPerSec))).toFixed(3)} and ${(median(of('resumable').map((m) => m.cpuSeconds)) / median(of('plain').map((m) => m.cpuSeconds))).toFixed(3)}).`,
  );
  out.push('');
  const i = interruption!;
  out.push(
    table(
      ['interrupted at 50 %', 'bytes', '× file size'],
      [
        ['first attempt downloaded (aborted after the checkpoint at or past half)', String(i.firstBytes), (i.firstBytes / size).toFixed(3)],
        ['its last checkpoint (in the ledger)', String(i.checkpointAt), (i.checkpointAt / size).toFixed(3)],
        [`resumed attempt downloaded (from byte ${i.resumedFrom}, ${(size / 1e6 / i.secondSeconds).toFixed(0)} MB/s)`, String(i.secondBytes), (i.secondBytes / size).toFixed(3)],
        [`both attempts${i.intact ? ', SHA-256 ok' : ', **CORRUPTED**'}`, String(i.firstBytes + i.secondBytes), ((i.firstBytes + i.secondBytes) / size).toFixed(3)],
      ],
    ),
  );
  return out.join('\n');
}

async function sha256Of(store: FolderArchiveStore, key: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await store.get(key)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
