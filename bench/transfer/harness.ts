/**
 * The transfer benchmarks' fixture: the Zoom simulator and s3rver in their own
 * processes (started once), one simulated recording per file size, and `runOnce`,
 * which runs one variant in a fresh process, checks the SHA-256 of the bytes it
 * stored (a 200 proves nothing: see s3rver's silent-corruption trap) and deletes them.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fsyncSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { build } from 'esbuild';
import { uploadRequestsFor } from '../../tests/support/pipeline';
import { startS3rver, type S3rverHandle } from '../../tests/support/s3rver';
import { startRemoteSimulator, type RemoteSimulator } from '../remote-simulator';
import type { ProbeName } from './probes';
import type { Sink, Variant, WorkerJob, WorkerResult } from './protocol';

const MiB = 2 ** 20;
const SECRET = 'bench-webhook-secret';
export const BENCH_TMP = join(__dirname, '..', 'tmp');
const WORKER_JS = join(BENCH_TMP, 'transfer-worker.js');

/**
 * A variant as the tables name it: curl (to the file, to the file then fsynced — as
 * durable as ours —, or to /dev/null) runs as its own program, the others in the
 * worker; `probe:<name>` is one of probes.ts.
 */
export type Contender = Exclude<Variant, 'probe'> | 'curl' | 'curl-fsync' | 'curl-null' | `probe:${ProbeName}`;

export interface Fixture {
  /** Same file system as s3rver's data (checked: both under the OS temp dir). */
  workDir: string;
  simulator: RemoteSimulator;
  s3: S3rverHandle;
  files: Map<number, SimulatedFile>;
  stop(): Promise<void>;
}

export interface SimulatedFile {
  sizeMiB: number;
  bytes: number;
  sha256: string;
  downloadUrl: string;
  downloadToken: string;
  archiveKey: string;
  request: unknown;
}

export interface RunOptions {
  partSizeMiB?: number;
  queueSize?: number;
  /** Extra environment for the worker (e.g. BENCH_DOWNLOAD_HWM_KIB while tuning). */
  env?: Record<string, string>;
  /** Extra node flags for the worker (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /** Write a CPU profile of the transfer here (worker variants only). */
  cpuProfilePath?: string;
  /** Another worker bundle (an A/B comparison of two builds of the code); default the one bundleWorker() built. */
  workerJs?: string;
  /** Gets the worker's whole output (e.g. --trace-gc lines). */
  onOutput?: (stdout: string, stderr: string) => void;
}

export interface RunResult {
  contender: Contender;
  sink: Sink;
  sizeMiB: number;
  seconds: number;
  mbPerSec: number;
  maxRssMB: number;
  /** False when the stored bytes differ from the simulated file: the run is reported as corrupted. */
  intact: boolean;
  storedBytes: number;
  /** User + system CPU time of the process doing the transfer (all its threads). */
  cpuSeconds: number;
  worker?: WorkerResult;
}

export async function bundleWorker(outfile = WORKER_JS): Promise<void> {
  await build({
    entryPoints: [join(__dirname, 'worker.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // Only what cannot or need not be bundled here: native modules, s3rver, and the SDK (resolved from node_modules;
    // the Lambda bundles include the SDK, see infrastructure/README.md "Bundles").
    external: ['@aws-sdk/*', 'better-sqlite3', 's3rver'],
    logLevel: 'warning',
  });
}

export async function startFixture(sizesMiB: number[], log: (line: string) => void): Promise<Fixture> {
  await bundleWorker();
  const workDir = mkdtempSync(join(tmpdir(), 'zoom-archiver-bench-'));
  const simulator = await startRemoteSimulator();
  const s3 = await startS3rver({ bucket: 'bench-archive' });
  const files = new Map<number, SimulatedFile>();
  for (const sizeMiB of sizesMiB) {
    log(`preparing a ${sizeMiB} MiB recording (the simulator hashes it once)`);
    const recording = await simulator.addRecording({
      topic: '[BEN101] Benchmark',
      files: [{ fileType: 'MP4', size: sizeMiB * MiB, recordingType: 'speaker_view', recordingStart: '2026-11-26T09:00:00Z', recordingEnd: '2026-11-26T10:00:00Z' }],
    });
    const [requested] = await uploadRequestsFor(recording.payload, SECRET);
    if (!requested) throw new Error('course validation requested no upload for the bench recording');
    const detail = requested.detail;
    const payload = recording.payload as { download_token: string };
    files.set(sizeMiB, {
      sizeMiB,
      bytes: sizeMiB * MiB,
      sha256: recording.files[0]!.sha256,
      downloadUrl: detail.file.downloadUrl,
      downloadToken: payload.download_token,
      archiveKey: detail.archiveKey,
      request: detail,
    });
  }
  return {
    workDir,
    simulator,
    s3,
    files,
    async stop() {
      await simulator.stop();
      await s3.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

export async function runOnce(fixture: Fixture, contender: Contender, sink: Sink, sizeMiB: number, options: RunOptions = {}): Promise<RunResult> {
  const file = fixture.files.get(sizeMiB);
  if (!file) throw new Error(`no simulated file of ${sizeMiB} MiB`);
  const scratch = mkdtempSync(join(fixture.workDir, `${contender}-${sink}-`));
  const folderRoot = join(scratch, 'archive');
  const folderTarget = join(folderRoot, ...file.archiveKey.split('/'));
  try {
    let seconds: number;
    let maxRssMB: number;
    let cpuSeconds: number;
    let worker: WorkerResult | undefined;
    if (contender === 'curl' || contender === 'curl-fsync' || contender === 'curl-null') {
      if (sink !== 'folder') throw new Error('curl writes to the folder only');
      ({ seconds, maxRssMB, cpuSeconds } = await runCurl(file, contender === 'curl-null' ? '/dev/null' : folderTarget));
      if (contender === 'curl-fsync') seconds += fsyncSeconds(folderTarget);
    } else {
      const probe = contender.startsWith('probe:') ? (contender.slice('probe:'.length) as ProbeName) : undefined;
      const job: WorkerJob = {
        variant: probe ? 'probe' : (contender as Variant),
        probe,
        sink,
        downloadUrl: file.downloadUrl,
        downloadToken: file.downloadToken,
        request: file.request,
        webhookSecret: SECRET,
        oauthTokenUrl: fixture.simulator.oauthTokenUrl,
        oauth: { ZOOM_ACCOUNT_ID: fixture.simulator.accountId, ZOOM_CLIENT_ID: fixture.simulator.clientId, ZOOM_CLIENT_SECRET: fixture.simulator.clientSecret },
        // The single-machine defaults (services/uploader/config.ts).
        partSizeMiB: options.partSizeMiB ?? 5,
        queueSize: options.queueSize ?? 2,
        scratchDir: scratch,
        folderRoot,
        folderTarget,
        s3Endpoint: fixture.s3.endpoint,
        s3Bucket: fixture.s3.bucket,
        s3Key: file.archiveKey,
        sampleEveryMs: 100,
        cpuProfilePath: options.cpuProfilePath,
      };
      worker = await runWorker(job, options);
      seconds = worker.seconds;
      maxRssMB = worker.maxRssMB;
      cpuSeconds = worker.cpuUserSeconds + worker.cpuSystemSeconds;
    }
    const stores = contender === 'ours' || contender === 'bare' || contender === 'original' || contender === 'curl' || contender === 'curl-fsync' || contender === 'probe:bare-fsync' || contender === 'probe:store-from-memory';
    let stored = { sha256: worker?.sha256 ?? file.sha256, bytes: worker?.bytes ?? file.bytes };
    if (stores) {
      stored = await hashFile(sink === 'folder' ? folderTarget : s3rverObjectPath(fixture.s3, file.archiveKey));
      if (sink === 's3') await fixture.s3.client.send(new DeleteObjectCommand({ Bucket: fixture.s3.bucket, Key: file.archiveKey }));
    }
    // What a variant reports having hashed must match too (ours: the verifier's SHA-256).
    const intact = stored.sha256 === file.sha256 && stored.bytes === file.bytes && (worker?.sha256 === undefined || worker.sha256 === file.sha256);
    return { contender, sink, sizeMiB, seconds, mbPerSec: file.bytes / 1e6 / seconds, maxRssMB, intact, storedBytes: stored.bytes, cpuSeconds, worker };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function runWorker(job: WorkerJob, options: RunOptions): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.nodeFlags ?? []), options.workerJs ?? WORKER_JS, JSON.stringify(job)], {
      cwd: BENCH_TMP,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.once('error', reject);
    child.once('exit', (code) => {
      options.onOutput?.(stdout, stderr);
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as WorkerResult);
      else reject(new Error(`${job.variant}/${job.sink} worker exited ${code}: ${stderr.trim().slice(-2000)}`));
    });
  });
}

/** curl's own transfer time (%{time_total}, both hops), its peak RSS and CPU time from /usr/bin/time. */
function runCurl(file: SimulatedFile, target: string): Promise<{ seconds: number; maxRssMB: number; cpuSeconds: number }> {
  const args = ['-f', 'RSS_KB=%M CPU=%U+%S', 'curl', '-sS', '-L', ...(target === '/dev/null' ? [] : ['--create-dirs']), '-H', `Authorization: Bearer ${file.downloadToken}`, '-o', target, '-w', 'TIME=%{time_total}', file.downloadUrl];
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/time', args, (error, stdout, stderr) => {
      if (error) return reject(new Error(`curl failed: ${stderr}`));
      const seconds = Number(/TIME=([\d.]+)/.exec(stdout)?.[1]);
      const rssKB = Number(/RSS_KB=(\d+)/.exec(stderr)?.[1]);
      const cpu = /CPU=([\d.]+)\+([\d.]+)/.exec(stderr);
      if (!Number.isFinite(seconds) || !Number.isFinite(rssKB) || !cpu) return reject(new Error(`unreadable curl output: ${stdout} ${stderr}`));
      resolve({ seconds, maxRssMB: rssKB / 1024, cpuSeconds: Number(cpu[1]) + Number(cpu[2]) });
    });
  });
}

/** How long an fsync of `path` takes: what curl leaves in the page cache, written to the disk (curl -o never fsyncs). */
function fsyncSeconds(path: string): number {
  const fd = openSync(path, 'r');
  try {
    const start = process.hrtime.bigint();
    fsyncSync(fd);
    return Number(process.hrtime.bigint() - start) / 1e9;
  } finally {
    closeSync(fd);
  }
}

/** Where s3rver 3.7's filesystem store keeps an object's bytes. */
function s3rverObjectPath(s3: S3rverHandle, key: string): string {
  const parts = key.split('/');
  const name = parts.pop()!;
  return join(s3.dataDir, s3.bucket, ...parts, `${name}._S3rver_object`);
}

async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  let bytes: number;
  try {
    bytes = statSync(path).size;
  } catch {
    return { sha256: 'missing', bytes: 0 };
  }
  const hash = createHash('sha256');
  await pipeline(createReadStream(path, { highWaterMark: 4 * MiB }), hash);
  return { sha256: hash.digest('hex'), bytes };
}

