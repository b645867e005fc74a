/**
 * One measured transfer in a fresh process (bundled into bench/tmp and run with plain
 * node, so neither tsx nor the parent's state weighs on its memory): ours (the real
 * uploader use case), the bare pipe (node:http straight into the sink, none of our
 * logic) or the original approach (the response as the Body of one PutObject). Prints
 * one JSON line (WorkerResult); the parent checks the stored bytes itself. Probes
 * (probes.ts) measure pieces of a transfer alone.
 *
 *   node bench/tmp/transfer-worker.js '<WorkerJob as JSON>'
 */
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { FolderArchiveStore } from '../../shared/adapters/archive-folder';
import { S3ArchiveStore } from '../../shared/adapters/archive-s3';
import { ZoomHttpDownloader } from '../../shared/adapters/zoom-download';
import { SqliteUploadLedger } from '../../shared/adapters/ledger-sqlite';
import { DetailType, EVENT_SOURCE, parseEvent } from '../../shared/events';
import { silentLogger } from '../../shared/logger';
import type { ArchiveStore } from '../../shared/ports/archive-store';
import { loadUploaderSettings } from '../../services/uploader/config';
import { uploadFile } from '../../services/uploader/use-case';
import { createUploaderDeps } from '../../services/uploader/wiring';
import { MemoryPublisher } from '../../tests/support/memory-publisher';
import { createS3rverClient } from '../../tests/support/s3rver';
import { download, prepareProbe, runProbe } from './probes';
import type { MemoryPeaks, WorkerJob, WorkerResult } from './protocol';

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as WorkerJob;
  // Diagnostic (tuning section): collect garbage every N ms, so the peaks show what is live.
  const gcEveryMs = Number(process.env.BENCH_FORCE_GC_MS);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gcEveryMs > 0 && gc) setInterval(gc, gcEveryMs).unref();
  const sampler = startSampler(job.sampleEveryMs);
  const rssBeforeMB = process.memoryUsage().rss / 2 ** 20;
  const prepared = job.variant === 'probe' ? await prepareProbe(job.probe!, job) : undefined;
  const profiler = job.cpuProfilePath ? await startProfiler() : undefined;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  let sha256: string | undefined;
  let bytes: number;
  if (job.variant === 'ours') ({ bytes, sha256 } = await ours(job));
  else if (job.variant === 'bare') bytes = await bare(job);
  else if (job.variant === 'original') bytes = await original(job);
  else ({ bytes, sha256 } = await runProbe(job.probe!, job, prepared));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  if (profiler) writeFileSync(job.cpuProfilePath!, JSON.stringify(await profiler.stop()));
  const peaks = sampler.stop();
  const result: WorkerResult = {
    seconds,
    bytes,
    sha256,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    rssBeforeMB,
    peaks,
    cpuUserSeconds: cpu.user / 1e6,
    cpuSystemSeconds: cpu.system / 1e6,
  };
  console.log(JSON.stringify(result));
}

/** The real uploader: ledger claim, token, allowlisted download, verifier, store, events. */
async function ours(job: WorkerJob): Promise<{ bytes: number; sha256: string }> {
  const settings = loadUploaderSettings({
    ...process.env,
    ZOOM_OAUTH_TOKEN_URL: job.oauthTokenUrl,
    ZOOM_DOWNLOAD_HOSTS: '127.0.0.1',
    ARCHIVE_PART_SIZE_MB: String(job.partSizeMiB),
    ARCHIVE_QUEUE_SIZE: String(job.queueSize),
  });
  let store: ArchiveStore;
  if (job.sink === 's3') {
    store = new S3ArchiveStore({ client: createS3rverClient(job.s3Endpoint!), bucket: job.s3Bucket!, partSizeBytes: settings.partSizeBytes, queueSize: settings.queueSize });
  } else {
    store = new FolderArchiveStore({ root: job.folderRoot! });
  }
  const ledger = new SqliteUploadLedger({ path: join(job.scratchDir, 'ledger.sqlite') });
  const publisher = new MemoryPublisher();
  const deps = createUploaderDeps({
    settings,
    secrets: { ZOOM_WEBHOOK_SECRET_TOKEN: job.webhookSecret, ...job.oauth },
    store,
    ledger,
    publisher,
    logger: silentLogger,
  });
  // Tuning: another download buffer, or no reused memory (every chunk in new memory, as before the pool).
  const downloadHwmKiB = Number(process.env.BENCH_DOWNLOAD_HWM_KIB);
  const noPool = process.env.BENCH_NO_CHUNK_POOL === '1';
  if (downloadHwmKiB > 0 || noPool) {
    deps.downloader = new ZoomHttpDownloader({
      allowlist: settings.downloadHosts,
      idleTimeoutMs: settings.idleTimeoutMs,
      ...(downloadHwmKiB > 0 ? { highWaterMark: downloadHwmKiB * 1024 } : {}),
      ...(noPool ? { chunkPool: null } : {}),
    });
  }
  const event = parseEvent({ id: 'bench-1', time: new Date().toISOString(), source: EVENT_SOURCE, 'detail-type': DetailType.FileUploadRequested, detail: job.request }, DetailType.FileUploadRequested);
  const outcome = await uploadFile(event, deps);
  ledger.close();
  if (outcome.outcome !== 'uploaded') throw new Error(`upload ended ${JSON.stringify(outcome)}`);
  return { bytes: outcome.result.size, sha256: outcome.result.sha256 };
}

async function bare(job: WorkerJob): Promise<number> {
  const response = await download(job);
  if (job.sink === 'folder') {
    mkdirSync(dirname(job.folderTarget!), { recursive: true });
    await pipeline(response, createWriteStream(job.folderTarget!));
  } else {
    const client = createS3rverClient(job.s3Endpoint!);
    await new Upload({ client, params: { Bucket: job.s3Bucket!, Key: job.s3Key!, Body: response }, partSize: job.partSizeMiB * 2 ** 20, queueSize: job.queueSize }).done();
  }
  return Number(response.headers['content-length']);
}

async function original(job: WorkerJob): Promise<number> {
  if (job.sink !== 's3') throw new Error('the original approach wrote to S3 only');
  const response = await download(job);
  const length = Number(response.headers['content-length']);
  const client = createS3rverClient(job.s3Endpoint!);
  await client.send(new PutObjectCommand({ Bucket: job.s3Bucket!, Key: job.s3Key!, Body: response, ContentLength: length }));
  return length;
}

/** A V8 CPU profile of the transfer alone (node --cpu-prof would include loading the modules). */
async function startProfiler(): Promise<{ stop(): Promise<unknown> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      return profile;
    },
  };
}

/** Peaks of process.memoryUsage() while the transfer runs: which kind of memory the RSS is. */
function startSampler(everyMs: number): { stop(): MemoryPeaks } {
  const peaks: MemoryPeaks = { rssMB: 0, heapTotalMB: 0, heapUsedMB: 0, externalMB: 0, arrayBuffersMB: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    peaks.rssMB = Math.max(peaks.rssMB, m.rss / 2 ** 20);
    peaks.heapTotalMB = Math.max(peaks.heapTotalMB, m.heapTotal / 2 ** 20);
    peaks.heapUsedMB = Math.max(peaks.heapUsedMB, m.heapUsed / 2 ** 20);
    peaks.externalMB = Math.max(peaks.externalMB, m.external / 2 ** 20);
    peaks.arrayBuffersMB = Math.max(peaks.arrayBuffersMB, m.arrayBuffers / 2 ** 20);
  };
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peaks;
    },
  };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
