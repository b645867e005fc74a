/**
 * Report section: what resumable transfers cost when nothing goes wrong, and what they
 * save when something does, for the folder store and for the S3 store (s3rver).
 *
 * Folder store. In this one process and run, interleaved round by round (the order
 * flipped every other round), an uninterrupted transfer of one file into the folder
 * store through transferOnce:
 * - plain: without `progress`, the store's plain put (no checkpoints);
 * - resumable: with `progress`, the store's putResumable, each checkpoint (fsync of the
 *   partial file, and of its folder the first time) recorded in a SQLite ledger as the
 *   uploader does.
 *
 * S3 store, against s3rver on 127.0.0.1 (its own process, started as
 * tests/support/s3rver.ts does; its client with requestChecksumCalculation and
 * responseChecksumValidation 'WHEN_REQUIRED', without which s3rver stores the
 * aws-chunked framing as object bytes). The same file through transferOnce into
 * S3ArchiveStore:
 * - plain: without `progress`, the store's put (lib-storage's Upload; the verifier
 *   hashes with node:crypto);
 * - resumable: with `progress`, `store.resumable.putResumable` (our multipart driver,
 *   shared/adapters/archive-s3-multipart.ts; parts unsigned over loopback), the verifier
 *   hashing with hash-wasm on a worker thread (shared/crypto/sha256-worker.ts)
 *   (shared/crypto/resumable-sha256.ts) and saving its state at each part boundary;
 *   one checkpoint per part but the last (the upload id, the parts' ETags and the hash
 *   state) recorded in a SQLite ledger.
 * Each with 5 MiB parts × queue 2 (the single-machine defaults) and 8 MiB × 4 (the
 * Lambda's); every round runs the four, the order reversed every other round. After
 * each transfer the object is read back and hashed, then deleted.
 *
 * Warm-up transfers (two of each variant, per store and part size) are not counted.
 * CPU is this process's user + system time over the transfer (all its threads: the
 * file writes and fsyncs run in libuv's pool); the simulator and s3rver run in their
 * own processes, so their serving is not counted. Then, for each store (and part
 * size), one resumable transfer is interrupted (aborted) once a checkpoint reaches
 * half the file, and the next attempt resumes from the ledger's checkpoint (for S3:
 * the last part S3 acknowledged in order, with the hash state there): the bytes each
 * attempt downloaded.
 *
 *   BENCH_ONLY=resume npm run bench   (BENCH_RESUME_MIB=256, BENCH_RESUME_RUNS=6, BENCH_RESUME_CHECKPOINT_MIB=16,
 *                                      BENCH_RESUME_S3_MIB=<BENCH_RESUME_MIB>, BENCH_RESUME_S3_RUNS=<BENCH_RESUME_RUNS>)
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Transform, pipeline } from 'node:stream';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { DEFAULT_CHECKPOINT_BYTES, FolderArchiveStore } from '../../shared/adapters/archive-folder';
import { S3ArchiveStore } from '../../shared/adapters/archive-s3';
import { SqliteUploadLedger } from '../../shared/adapters/ledger-sqlite';
import { ZoomHttpDownloader } from '../../shared/adapters/zoom-download';
import type { ArchiveStore } from '../../shared/ports/archive-store';
import type { TransferCheckpoint } from '../../shared/ports/upload-ledger';
import type { DownloadOptions, DownloadResponse, ZoomDownloader } from '../../shared/ports/zoom-client';
import { transferOnce, type TransferProgress, type TransferResult } from '../../services/uploader/transfer';
import { uploadRequestsFor } from '../../tests/support/pipeline';
import { startS3rver, type S3rverHandle } from '../../tests/support/s3rver';
import { startRemoteSimulator } from '../remote-simulator';
import type { BenchContext } from '../section';
import { median, medianAndRange, table } from '../stats';
import { sizeLabel } from './transfer';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const SECRET = 'bench-resume-secret';
const BENCH_TMP = join(__dirname, '..', 'tmp');

type Variant = 'plain' | 'resumable';

/** Where a transfer went: the folder store, or the S3 store with one part size × queue size. */
interface Target {
  id: string;
  label: string;
}

/** The S3 store's two configurations. */
const S3_CONFIGS = [
  { id: 's3-5x2', label: '5 MiB × 2 (single machine)', partSizeBytes: 5 * MiB, queueSize: 2 },
  { id: 's3-8x4', label: '8 MiB × 4 (Lambda)', partSizeBytes: 8 * MiB, queueSize: 4 },
] as const;

interface Measured {
  target: string;
  variant: Variant;
  round: number;
  seconds: number;
  cpuSeconds: number;
  checkpoints: number;
  intact: boolean;
}

interface Interruption {
  target: string;
  firstBytes: number;
  checkpointAt: number;
  checkpointParts?: number;
  secondBytes: number;
  resumedFrom: number;
  intact: boolean;
  secondSeconds: number;
}

/** One transfer's store and ledger; `done` removes what it left. */
interface Scratch {
  store: ArchiveStore;
  ledger: SqliteUploadLedger;
  done(): Promise<void>;
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
  const s3SizeMiB = ctx.numbers('BENCH_RESUME_S3_MIB', [sizeMiB])[0]!;
  const s3Rounds = ctx.numbers('BENCH_RESUME_S3_RUNS', [rounds])[0]!;

  mkdirSync(BENCH_TMP, { recursive: true });
  const workDir = mkdtempSync(join(BENCH_TMP, 'resume-'));
  const simulator = await startRemoteSimulator();
  let s3: S3rverHandle | undefined;
  const measured: Measured[] = [];
  const interruptions: Interruption[] = [];
  try {
    const downloader = new ZoomHttpDownloader({ allowlist: '127.0.0.1', idleTimeoutMs: 60_000 });

    /** The simulated recording of `mib` MiB, and the upload request course validation makes of it. */
    const prepare = async (mib: number, topic: string) => {
      ctx.log(`preparing a ${mib} MiB recording (the simulator hashes it once)`);
      const recording = await simulator.addRecording({
        topic,
        files: [{ fileType: 'MP4', size: mib * MiB, recordingType: 'speaker_view', recordingStart: '2026-11-26T09:00:00Z', recordingEnd: '2026-11-26T10:00:00Z' }],
      });
      const [requested] = await uploadRequestsFor(recording.payload, SECRET);
      if (!requested) throw new Error('course validation requested no upload for the bench recording');
      return {
        size: mib * MiB,
        expectedSha: recording.files[0]!.sha256,
        token: (recording.payload as { download_token: string }).download_token,
        request: requested.detail,
      };
    };

    /** Measures one target: warm-ups, interleaved rounds, then the interrupted transfer. */
    const campaign = async (options: {
      file: Awaited<ReturnType<typeof prepare>>;
      targets: readonly Target[];
      rounds: number;
      scratch: (target: Target, label: string) => Scratch;
    }) => {
      const { file, targets, scratch } = options;
      const { size, expectedSha, token, request } = file;

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
      const intact = async (store: ArchiveStore, result: TransferResult) => result.size === size && result.sha256 === expectedSha && (await sha256Of(store, request.archiveKey)) === expectedSha;

      const once = async (target: Target, variant: Variant, round: number) => {
        const s = scratch(target, `${variant}-${round}`);
        try {
          const { progress, state } = variant === 'resumable' ? await claimed(s.ledger) : { progress: undefined, state: { count: 0 } };
          const cpuBefore = process.cpuUsage();
          const started = performance.now();
          const result = await transferOnce(request, token, { downloader, store: s.store }, AbortSignal.timeout(600_000), progress);
          const seconds = (performance.now() - started) / 1000;
          const cpu = process.cpuUsage(cpuBefore);
          const entry: Measured = { target: target.id, variant, round, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, checkpoints: state.count, intact: await intact(s.store, result) };
          measured.push(entry);
          ctx.log(`${target.id} ${variant} round ${round}: ${(size / 1e6 / seconds).toFixed(0)} MB/s, ${entry.cpuSeconds.toFixed(2)} s CPU, ${entry.checkpoints} checkpoint(s)${entry.intact ? '' : ' CORRUPTED'}`);
        } finally {
          await s.done();
        }
      };

      const pairs = targets.flatMap((target) => (['plain', 'resumable'] as Variant[]).map((variant) => ({ target, variant })));
      // Throughput climbs over the first transfers of a process (JIT, allocator, page cache): two of each first, not counted.
      ctx.log(`warm-up (not counted)`);
      for (const { target, variant } of [...pairs, ...[...pairs].reverse()]) {
        await once(target, variant, 0);
        measured.pop();
      }
      for (let round = 1; round <= options.rounds; round++) {
        const order = round % 2 === 1 ? pairs : [...pairs].reverse();
        for (const { target, variant } of order) await once(target, variant, round);
      }

      // Interrupted at 50 %: aborted right after the first checkpoint at or past half the file is recorded.
      for (const target of targets) {
        const s = scratch(target, 'interrupted');
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
          if (s.store.resumable?.resumeHash === 'saved-state' && resumedEntry.checkpoint.hashState === undefined) throw new Error('the ledger checkpoint has no hash state');
          const second = new CountingDownloader(downloader);
          const started = performance.now();
          const result = await transferOnce(request, token, { downloader: second, store: s.store }, AbortSignal.timeout(600_000), progress);
          const entry: Interruption = {
            target: target.id,
            firstBytes: first.received,
            checkpointAt,
            checkpointParts: s.store.resumable?.resumeHash === 'saved-state' ? resumedEntry.checkpoint.parts.length : undefined,
            secondBytes: second.received,
            resumedFrom: result.resumedFrom,
            intact: await intact(s.store, result),
            secondSeconds: (performance.now() - started) / 1000,
          };
          interruptions.push(entry);
          ctx.log(`${target.id}: interrupted at ${checkpointAt} bytes; the resume downloaded ${second.received} bytes from ${result.resumedFrom}${result.resumeRefused ? ` (refused: ${result.resumeRefused})` : ''}`);
        } finally {
          await s.done();
        }
      }
    };

    // Folder store.
    const folderFile = await prepare(sizeMiB, '[BEN201] Resume benchmark');
    /** A fresh archive folder and ledger for each transfer: a put to a taken key would compare, not write. */
    const folderScratch = (_target: Target, label: string): Scratch => {
      const dir = mkdtempSync(join(workDir, `${label}-`));
      const store = new FolderArchiveStore({ root: join(dir, 'archive'), checkpointBytes });
      const ledger = new SqliteUploadLedger({ path: join(dir, 'ledger.sqlite') });
      return {
        store,
        ledger,
        done: async () => {
          ledger.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    };
    await campaign({ file: folderFile, targets: [{ id: 'folder', label: 'folder' }], rounds, scratch: folderScratch });

    // S3 store on s3rver.
    ctx.log('starting s3rver (its own process)');
    const started = await startS3rver({ bucket: 'bench-resume' });
    s3 = started;
    const s3File = s3SizeMiB === sizeMiB ? folderFile : await prepare(s3SizeMiB, '[BEN202] Resume benchmark, S3');
    const stores = new Map<string, S3ArchiveStore>(
      S3_CONFIGS.map((config) => [config.id, new S3ArchiveStore({ client: started.client, bucket: started.bucket, partSizeBytes: config.partSizeBytes, queueSize: config.queueSize })]),
    );
    /** A fresh ledger for each transfer; the object is deleted afterwards (a put to a taken key would compare, not write). */
    const s3Scratch = (target: Target, label: string): Scratch => {
      const dir = mkdtempSync(join(workDir, `${target.id}-${label}-`));
      const ledger = new SqliteUploadLedger({ path: join(dir, 'ledger.sqlite') });
      return {
        store: stores.get(target.id)!,
        ledger,
        done: async () => {
          ledger.close();
          rmSync(dir, { recursive: true, force: true });
          await started.client.send(new DeleteObjectCommand({ Bucket: started.bucket, Key: s3File.request.archiveKey }));
        },
      };
    };
    await campaign({ file: s3File, targets: S3_CONFIGS, rounds: s3Rounds, scratch: s3Scratch });
  } finally {
    await s3?.stop();
    await simulator.stop();
    rmSync(workDir, { recursive: true, force: true });
  }

  const of = (target: string, variant: Variant) => measured.filter((m) => m.target === target && m.variant === variant && m.intact);
  const bytesOf = (target: string) => (target === 'folder' ? sizeMiB : s3SizeMiB) * MiB;
  const mbPerSec = (m: Measured) => bytesOf(m.target) / 1e6 / m.seconds;
  const cpuPerGiB = (m: Measured) => (m.cpuSeconds * GiB) / bytesOf(m.target);
  const paired = (target: string, metric: (m: Measured) => number) =>
    of(target, 'resumable').flatMap((b) => {
      const a = of(target, 'plain').find((m) => m.round === b.round);
      return a ? [metric(b) / metric(a)] : [];
    });
  const ofMedians = (target: string, metric: (m: Measured) => number) => median(of(target, 'resumable').map(metric)) / median(of(target, 'plain').map(metric));
  const corruptedOf = (targets: string[]) => measured.filter((m) => targets.includes(m.target) && !m.intact).length;
  const interruptionRows = (i: Interruption, size: number, prefix: string) => [
    [`${prefix}first attempt downloaded (aborted after the checkpoint at or past half)`, String(i.firstBytes), (i.firstBytes / size).toFixed(3)],
    [`${prefix}its last checkpoint (in the ledger${i.checkpointParts !== undefined ? `: ${i.checkpointParts} parts` : ''})`, String(i.checkpointAt), (i.checkpointAt / size).toFixed(3)],
    [`${prefix}resumed attempt downloaded (from byte ${i.resumedFrom}, ${(size / 1e6 / i.secondSeconds).toFixed(0)} MB/s)`, String(i.secondBytes), (i.secondBytes / size).toFixed(3)],
    [`${prefix}both attempts${i.intact ? ', SHA-256 ok' : ', **CORRUPTED**'}`, String(i.firstBytes + i.secondBytes), ((i.firstBytes + i.secondBytes) / size).toFixed(3)],
  ];

  const out: string[] = [];
  const size = sizeMiB * MiB;
  const corrupted = corruptedOf(['folder']);
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
        String(of('folder', variant).length),
        medianAndRange(of('folder', variant).map(mbPerSec)),
        medianAndRange(of('folder', variant).map(cpuPerGiB), 2),
        medianAndRange(of('folder', variant).map((m) => m.checkpoints)),
      ]),
    ),
  );
  out.push('');
  out.push(
    `Resumable / plain, paired by round: throughput ${medianAndRange(paired('folder', mbPerSec), 3)}, CPU time ${medianAndRange(paired('folder', (m) => m.cpuSeconds), 3)} ` +
      `(ratios of the medians: ${ofMedians('folder', mbPerSec).toFixed(3)} and ${ofMedians('folder', (m) => m.cpuSeconds).toFixed(3)}).`,
  );
  out.push('');
  const folderInterruption = interruptions.find((i) => i.target === 'folder')!;
  out.push(table(['interrupted at 50 %', 'bytes', '× file size'], interruptionRows(folderInterruption, size, '')));

  const s3Size = s3SizeMiB * MiB;
  const s3Ids: string[] = S3_CONFIGS.map((config) => config.id);
  const s3Corrupted = corruptedOf(s3Ids);
  out.push('');
  out.push(`## Resumable transfers on S3: plain put vs our multipart driver, and a resume (${sizeLabel(s3SizeMiB)}, s3rver)`);
  out.push('');
  out.push(
    `transferOnce into S3ArchiveStore on s3rver (127.0.0.1, its own process; client with requestChecksumCalculation / responseChecksumValidation 'WHEN_REQUIRED'), simulator (own process) → this process, ` +
      `${s3Rounds} rounds, each running the four transfers below interleaved (order reversed every other round; two warm-up transfers of each not counted): ` +
      "plain = no `progress`: the store's `put` (lib-storage `Upload`), the verifier hashing with node:crypto; " +
      'resumable = with `progress`: `store.resumable.putResumable` (our multipart driver), parts sent with UNSIGNED-PAYLOAD (loopback), the verifier hashing with hash-wasm on a worker thread and saving its state at each part boundary, ' +
      'a checkpoint per part but the last (upload id, parts, hash state) written to a SQLite ledger. ' +
      'Part size × queue size: 5 MiB × 2 (single-machine defaults) and 8 MiB × 4 (the Lambda\'s). Each stored object was read back and hashed, then deleted. ' +
      'CPU = user + system seconds of this process (all threads) per GiB; s3rver\'s and the simulator\'s are not counted.' +
      (s3Corrupted ? ` **${s3Corrupted} run(s) stored wrong bytes.**` : ' Every stored object matched its SHA-256.'),
  );
  out.push('');
  out.push(
    table(
      ['parts × queue', 'variant', 'n', 'MB/s', 'CPU s/GiB', 'checkpoints'],
      S3_CONFIGS.flatMap((config) =>
        (['plain', 'resumable'] as Variant[]).map((variant) => [
          config.label,
          variant === 'plain' ? 'plain (`put`, lib-storage, node:crypto)' : 'resumable (`putResumable`, hash-wasm on a worker)',
          String(of(config.id, variant).length),
          medianAndRange(of(config.id, variant).map(mbPerSec)),
          medianAndRange(of(config.id, variant).map(cpuPerGiB), 2),
          medianAndRange(of(config.id, variant).map((m) => m.checkpoints)),
        ]),
      ),
    ),
  );
  out.push('');
  out.push(
    table(
      ['parts × queue', 'throughput resumable / plain (paired by round)', 'CPU time resumable / plain (paired by round)', 'ratios of the medians (throughput, CPU)'],
      S3_CONFIGS.map((config) => [
        config.label,
        medianAndRange(paired(config.id, mbPerSec), 3),
        medianAndRange(paired(config.id, (m) => m.cpuSeconds), 3),
        `${ofMedians(config.id, mbPerSec).toFixed(3)}, ${ofMedians(config.id, (m) => m.cpuSeconds).toFixed(3)}`,
      ]),
    ),
  );
  out.push('');
  out.push(
    table(
      ['interrupted at 50 % (resumable), resumed from the last checkpointed part', 'bytes', '× file size'],
      S3_CONFIGS.flatMap((config) => {
        const i = interruptions.find((x) => x.target === config.id);
        return i ? interruptionRows(i, s3Size, `${config.label}: `) : [];
      }),
    ),
  );
  return out.join('\n');
}

async function sha256Of(store: ArchiveStore, key: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await store.get(key)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
