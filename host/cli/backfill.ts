/**
 * `zoom-archiver backfill [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--dry-run] [--json]`:
 * lists the account's recordings in the range through Zoom's API (the reconciler)
 * and archives what is missing, through the same pipeline as a webhook.
 *
 * - A server (`serve`) running on the same DATA_DIR: the recordings are handed to it
 *   through the durable bus (bus.sqlite, which it polls) and the command follows the
 *   files in the ledger until each is archived or failed.
 * - No server: the command runs the pipeline itself (host/pipeline.ts) until the work
 *   is done, holding the DATA_DIR's instance lock so that a `serve` started meanwhile
 *   waits its turn.
 * - `--dry-run`: lists, and reports per recording what would be archived; nothing is
 *   published, remembered or downloaded.
 * The run ends with a summary of numbers; the exit code is 1 when a file failed or a
 * window could not be listed, 2 for bad arguments or configuration (ConfigError).
 */
import { mkdirSync } from 'node:fs';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { ConfigError } from '../../shared/errors';
import { createLogger, type AppLogger } from '../../shared/logger';
import type { EventPublisher } from '../../shared/ports/event-publisher';
import type { LedgerEntry, UploadLedger } from '../../shared/ports/upload-ledger';
import { SqliteUploadLedger } from '../../shared/adapters/ledger-sqlite';
import { DEFAULT_BACKFILL_DAYS } from '../../services/reconciler/config';
import type { ReconcileReport, RecordingReport } from '../../services/reconciler/use-case';
import { DurableBus } from '../bus/durable-bus';
import { loadRuntimeConfig, type RuntimeConfig } from '../config';
import { acquireInstanceLock, describeHolder, liveHolder, type InstanceLock } from '../instance-lock';
import { openLocalPipeline } from '../pipeline';
import { openLocalReconciler } from '../reconciler';
import { addUtcDays, formatUtcDay, parseUtcDay } from '../../shared/utc-day';
import { printable } from './printable';

export interface BackfillArgs {
  from?: string;
  to?: string;
  dryRun?: boolean;
  json?: boolean;
}

export interface BackfillIo {
  env: Record<string, string | undefined>;
  print: (line: string) => void;
  /** Draw progress bars (a terminal, and not --json). */
  progress: boolean;
  now?: () => Date;
  /** How often the ledger is read while following the files. Default 500 ms. */
  followIntervalMs?: number;
}

export type BackfillMode = 'dry_run' | 'handed_to_server' | 'ran_pipeline';

export interface BackfillSummary {
  runId: string;
  from: string;
  to: string;
  mode: BackfillMode;
  listing: 'account' | 'users';
  windows: number;
  pages: number;
  apiCalls: number;
  rateLimited: number;
  recordingsFound: number;
  /** Files this run asked for (in a dry run: would ask for). */
  filesRequested: number;
  /** Of those, archived by this run. */
  filesArchivedNow: number;
  filesAlreadyArchived: number;
  /** Recordings not archived on purpose: not a course's, no eligible file, or still processing in Zoom. */
  recordingsSkippedOrRejected: number;
  recordingsStillProcessing: number;
  /** Files this run asked for that failed, plus files that had failed before (not retried here). */
  filesFailed: number;
  /** Of filesFailed, those that had failed before: `zoom-archiver retry --failed` re-drives them. */
  filesFailedEarlier: number;
  /** Files another run was transferring when this one looked. */
  filesInProgress: number;
  /** Files asked for that course validation did not request after all (its rules differ from what the listing saw). */
  filesNotRequested: number;
  /** Windows Zoom would not list. */
  listingErrors: { window: string; message: string }[];
  failures: { fileId: string; recordingId: string; code: string; message: string }[];
  /** With --dry-run or --json: every recording examined. */
  recordings?: RecordingReport[];
}

/** The range from the flags: default the last DEFAULT_BACKFILL_DAYS days and today (UTC). */
export function backfillRange(args: Pick<BackfillArgs, 'from' | 'to'>, now: Date): { from: string; to: string } {
  const check = (flag: string, value: string) => {
    if (parseUtcDay(value) === undefined) {
      throw new ConfigError(`${flag} must be a date as YYYY-MM-DD (UTC), e.g. 2026-09-01; got "${printable(value).slice(0, 40)}"`);
    }
    return value;
  };
  const to = args.to === undefined ? formatUtcDay(now.getTime()) : check('--to', args.to);
  const from = args.from === undefined ? addUtcDays(to, -DEFAULT_BACKFILL_DAYS) : check('--from', args.from);
  if (from > to) throw new ConfigError(`--from ${from} is after --to ${to}`);
  return { from, to };
}

export async function backfillCommand(args: BackfillArgs, io: BackfillIo): Promise<{ exitCode: 0 | 1; summary: BackfillSummary }> {
  const now = io.now ?? (() => new Date());
  const range = backfillRange(args, now());
  const config = loadRuntimeConfig(io.env, { webhook: 'optional' });
  const logger = createLogger('backfill', io.env.LOG_LEVEL ?? 'WARN');
  mkdirSync(config.paths.root, { recursive: true });
  const bars = io.progress && !args.json ? new MultiBar({ format: '  {bar} {value}/{total} {name}', hideCursor: true, clearOnComplete: false }, Presets.shades_classic) : undefined;
  try {
    if (args.dryRun) return finish(await dryRun(config, range, logger, io, bars), args, io);
    const server = liveHolder(config.paths.instanceLock);
    if (server?.role === 'backfill') {
      throw new ConfigError(`${describeHolder(server)} is running the pipeline on ${config.paths.root}; wait for it to finish`);
    }
    return finish(server ? await handOver(config, range, logger, io, bars, describeHolder(server)) : await runPipeline(config, range, logger, io, bars), args, io);
  } finally {
    bars?.stop();
  }
}

type Range = { from: string; to: string };

/** Where a run's recordings go and how their files are followed: what tells the three modes apart. */
interface Wiring {
  mode: BackfillMode;
  ledger: Pick<UploadLedger, 'get' | 'listByState'>;
  publisher: EventPublisher;
  /** Pending deliveries on the bus; absent in a dry run, which follows nothing. */
  busPending?: () => number;
}

/** Lists and hands over (the reconciler), then follows what it asked for to the end. */
async function reconcileAndFollow(config: RuntimeConfig, range: Range, logger: AppLogger, io: BackfillIo, bars: MultiBar | undefined, wiring: Wiring): Promise<BackfillSummary> {
  const reconciler = openLocalReconciler(config, { ledger: wiring.ledger, publisher: wiring.publisher, logger, now: io.now });
  const startedAt = Date.now();
  try {
    const recordings: RecordingReport[] = [];
    const report = await reconciler.run({ trigger: 'backfill', range, dryRun: wiring.mode === 'dry_run', onRecording: (r) => recordings.push(r), onProgress: listingBar(bars) });
    const outcomes = wiring.busPending
      ? await follow(report, wiring.ledger, { busPending: wiring.busPending, intervalMs: io.followIntervalMs ?? 500, bars, startedAt })
      : new Map<string, FileOutcome>();
    return { ...summarize(report, wiring.mode, outcomes), recordings };
  } finally {
    reconciler.close();
  }
}

async function dryRun(config: RuntimeConfig, range: Range, logger: AppLogger, io: BackfillIo, bars?: MultiBar): Promise<BackfillSummary> {
  const ledger = new SqliteUploadLedger({ path: config.paths.ledger });
  const refuse: EventPublisher = { publish: () => Promise.reject(new Error('a dry run publishes nothing')) };
  try {
    return await reconcileAndFollow(config, range, logger, io, bars, { mode: 'dry_run', ledger, publisher: refuse });
  } finally {
    ledger.close();
  }
}

async function handOver(config: RuntimeConfig, range: Range, logger: AppLogger, io: BackfillIo, bars: MultiBar | undefined, server: string): Promise<BackfillSummary> {
  if (!bars) io.print(`handing the recordings to ${server}`);
  const ledger = new SqliteUploadLedger({ path: config.paths.ledger });
  // Publishes into bus.sqlite only; the server's consumers deliver (they poll for other writers).
  const bus = new DurableBus({ path: config.paths.bus, logger });
  try {
    return await reconcileAndFollow(config, range, logger, io, bars, { mode: 'handed_to_server', ledger, publisher: bus, busPending: () => bus.stats().pending });
  } finally {
    bus.close();
    ledger.close();
  }
}

async function runPipeline(config: RuntimeConfig, range: Range, logger: AppLogger, io: BackfillIo, bars?: MultiBar): Promise<BackfillSummary> {
  const taken = acquireInstanceLock(config.paths.instanceLock, 'backfill');
  if (!taken.acquired) throw new ConfigError(`${describeHolder(taken.heldBy)} runs on ${config.paths.root}; try again when it has stopped`);
  const lock: InstanceLock = taken.lock;
  const pipeline = openLocalPipeline(config, logger);
  pipeline.start();
  try {
    return await reconcileAndFollow(config, range, logger, io, bars, {
      mode: 'ran_pipeline',
      ledger: pipeline.ledger,
      publisher: pipeline.bus,
      busPending: () => pipeline.bus.stats().pending,
    });
  } finally {
    await pipeline.stop();
    lock.release();
  }
}

function listingBar(bars: MultiBar | undefined): (progress: { pages: number; recordingsFound: number; window: { from: string; to: string } }) => void {
  let bar: SingleBar | undefined;
  return (progress) => {
    if (!bars) return;
    bar ??= bars.create(0, 0, { name: 'pages listed' });
    bar.setTotal(progress.pages);
    bar.update(progress.pages, { name: `pages listed (${progress.recordingsFound} recordings, window ${progress.window.from}..${progress.window.to})` });
  };
}

type FileOutcome = Pick<LedgerEntry, 'state' | 'lastError' | 'recordingId'> | undefined;

/** Entries written this long before the newest one seen are read again: writers' clocks and commits interleave. */
const FOLLOW_OVERLAP_MS = 5_000;

/**
 * Follows the requested files in the ledger until each is uploaded or failed. Each
 * look reads only the entries that reached those states since the last look (one
 * indexed query per state, not one read per file), so following a thousand files
 * costs the running server next to nothing. A file course validation did not request
 * after all never gets an entry: once the bus has nothing pending, it is counted as
 * not requested rather than waited for.
 */
async function follow(
  report: ReconcileReport,
  ledger: Pick<UploadLedger, 'get' | 'listByState'>,
  options: { busPending: () => number; intervalMs: number; bars?: MultiBar; startedAt: number },
): Promise<Map<string, FileOutcome>> {
  const wanted = new Set(report.requested.flatMap(({ fileIds }) => fileIds));
  const outcomes = new Map<string, FileOutcome>();
  const bar = options.bars && wanted.size > 0 ? options.bars.create(wanted.size, 0, { name: 'files archived or failed' }) : undefined;
  let since = options.startedAt - FOLLOW_OVERLAP_MS;
  while (outcomes.size < wanted.size) {
    let newest = since;
    const before = outcomes.size;
    for (const state of ['uploaded', 'failed'] as const) {
      for (const entry of await ledger.listByState(state, { updatedSince: since })) {
        newest = Math.max(newest, entry.updatedAt);
        if (wanted.has(entry.fileId)) outcomes.set(entry.fileId, { state: entry.state, lastError: entry.lastError, recordingId: entry.recordingId });
      }
    }
    since = Math.max(since, newest - FOLLOW_OVERLAP_MS);
    bar?.update(outcomes.size);
    if (outcomes.size === wanted.size) break;
    // Only when a look found nothing new: counting the bus's pending deliveries reads its whole table.
    if (outcomes.size === before && options.busPending() === 0) {
      // Nothing on its way: look at the rest one by one; those without an entry were not requested by course validation.
      let open = 0;
      for (const fileId of wanted) {
        if (outcomes.has(fileId)) continue;
        const entry = await ledger.get(fileId);
        if (entry && (entry.state === 'uploaded' || entry.state === 'failed')) outcomes.set(fileId, { state: entry.state, lastError: entry.lastError, recordingId: entry.recordingId });
        else if (entry) open++;
      }
      if (open === 0) {
        for (const fileId of wanted) if (!outcomes.has(fileId)) outcomes.set(fileId, undefined);
        break;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
  bar?.update(outcomes.size);
  return outcomes;
}

function summarize(report: ReconcileReport, mode: BackfillMode, outcomes: Map<string, FileOutcome>): BackfillSummary {
  const s = report.summary;
  const failures: BackfillSummary['failures'] = [];
  let archivedNow = 0;
  let notRequested = 0;
  for (const { recordingId, fileIds } of report.requested) {
    for (const fileId of fileIds) {
      const outcome = outcomes.get(fileId);
      if (mode === 'dry_run') continue;
      if (outcome === undefined) notRequested++;
      else if (outcome.state === 'uploaded') archivedNow++;
      else failures.push({ fileId, recordingId, code: outcome.lastError?.code ?? 'failed', message: outcome.lastError?.message ?? 'failed' });
    }
  }
  return {
    runId: report.runId,
    from: s.from,
    to: s.to,
    mode,
    listing: s.listing,
    windows: s.windows,
    pages: s.pages,
    apiCalls: s.apiCalls,
    rateLimited: s.rateLimited,
    recordingsFound: s.recordingsFound,
    filesRequested: s.filesRequested,
    filesArchivedNow: archivedNow,
    filesAlreadyArchived: s.filesAlreadyArchived,
    recordingsSkippedOrRejected: s.recordingsRejected + s.recordingsStillProcessing,
    recordingsStillProcessing: s.recordingsStillProcessing,
    filesFailed: failures.length + s.filesFailed,
    filesFailedEarlier: s.filesFailed,
    filesInProgress: s.filesInProgress,
    filesNotRequested: notRequested,
    listingErrors: s.errors,
    failures,
  };
}

function finish(summary: BackfillSummary, args: BackfillArgs, io: BackfillIo): { exitCode: 0 | 1; summary: BackfillSummary } {
  const exitCode = summary.filesFailed > 0 || summary.listingErrors.length > 0 ? 1 : 0;
  if (args.json) {
    io.print(JSON.stringify(args.dryRun ? summary : { ...summary, recordings: undefined }, null, 2));
    return { exitCode, summary };
  }
  if (args.dryRun) for (const line of dryRunLines(summary.recordings ?? [])) io.print(line);
  for (const line of summaryLines(summary)) io.print(line);
  return { exitCode, summary };
}

const OUTCOME_LABELS: Record<RecordingReport['outcome'], string> = {
  requested: 'would archive',
  archived: 'archived already',
  in_progress: 'being archived by another run',
  failed: 'failed before (zoom-archiver retry --failed)',
  rejected: 'rejected',
  rejected_before: 'rejected (unchanged since an earlier run)',
  still_processing: 'still processing in Zoom',
};

export function dryRunLines(recordings: readonly RecordingReport[]): string[] {
  const lines: string[] = [];
  for (const r of [...recordings].sort((a, b) => a.startTime.localeCompare(b.startTime))) {
    lines.push(`${r.startTime.slice(0, 10)}  ${printable(r.topic)}  [${r.course ? printable(r.course) : 'no course'}]  ${OUTCOME_LABELS[r.outcome]}${r.reason ? `: ${printable(r.reason)}` : ''}`);
    for (const file of r.files) {
      if (file.state === 'to_request') lines.push(`    + ${file.fileType}${file.recordingType ? ` ${file.recordingType}` : ''} → ${printable(file.archiveKey ?? '')}`);
    }
  }
  return lines;
}

export function summaryLines(s: BackfillSummary): string[] {
  const how = s.mode === 'dry_run' ? 'dry run, nothing archived' : s.mode === 'handed_to_server' ? 'handed to the running server' : 'pipeline run by this command';
  const lines = [
    `backfill ${s.from}..${s.to} (${how}; ${s.listing} listing: ${s.windows} window(s), ${s.pages} page(s), ${s.apiCalls} API call(s), ${s.rateLimited} rate-limited)`,
    `  recordings found:        ${s.recordingsFound}`,
    s.mode === 'dry_run' ? `  files to archive:        ${s.filesRequested}` : `  files archived now:      ${s.filesArchivedNow} of ${s.filesRequested} requested`,
    `  already archived:        ${s.filesAlreadyArchived} file(s)`,
    `  skipped or rejected:     ${s.recordingsSkippedOrRejected} recording(s)${s.recordingsStillProcessing > 0 ? ` (${s.recordingsStillProcessing} still processing in Zoom: a later run archives them)` : ''}`,
    `  failed:                  ${s.filesFailed} file(s)${s.filesFailedEarlier > 0 ? ` (${s.filesFailedEarlier} had failed before: zoom-archiver retry --failed)` : ''}`,
  ];
  if (s.filesInProgress > 0) lines.push(`  in progress elsewhere:   ${s.filesInProgress} file(s)`);
  if (s.filesNotRequested > 0) lines.push(`  not requested:           ${s.filesNotRequested} file(s) (course validation decided otherwise; see zoom-archiver status --failed)`);
  for (const failure of s.failures.slice(0, 20)) lines.push(`  ✗ ${printable(failure.fileId)} (${printable(failure.recordingId)}): ${failure.code}: ${printable(failure.message)}`);
  for (const error of s.listingErrors) lines.push(`  ✗ window ${error.window} not listed: ${printable(error.message)}`);
  return lines;
}
