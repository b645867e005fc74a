/**
 * The reconciler use case: list the recordings Zoom has in a date range and hand each
 * one that still has work to the same pipeline the webhook feeds, as a
 * RecordingAvailable with trigger `sweep` or `backfill`. It decides nothing itself:
 * course validation and the ledger make a swept recording and a webhooked one the same
 * thing, so an archived file is never downloaded again and a late webhook after a
 * sweep downloads nothing.
 *
 * What it reads to avoid useless work:
 * - the course rules (decideRecording, the very function course validation runs) to
 *   know which files would be accepted — for the dry run's report, and to ask only
 *   for the accepted files the ledger does not know (`reconciliation.requestOnly`);
 * - the ledger: a file it knows is archived, in flight (its run finishes it) or failed
 *   (a person, or `retry`, re-drives it) — none is asked for again;
 * - its own memory (ReconcilerState) of the recordings it handed over that are
 *   rejected (not a course's, no eligible file), with a fingerprint of what Zoom
 *   listed: unchanged, they are not handed over again every hour.
 * A recording whose eligible files are still processing is left alone and examined
 * again by the next run (the sweep's look-back exceeds Zoom's processing time).
 *
 * Each run ends with a ReconciliationCompleted event (the audit trail records it):
 * window, pages, calls, and what it found. A window Zoom would not list is recorded
 * as an error and the run goes on with the next one; nothing is skipped silently.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  DetailType,
  SCHEMA_VERSIONS,
  startMetadata,
  type DomainEvent,
  type ReconciliationCompleted,
  type RecordingAvailable,
} from '../../shared/events';
import type { AppLogger } from '../../shared/logger';
import type { EventPublisher } from '../../shared/ports/event-publisher';
import type { ReconcilerState } from '../../shared/ports/reconciler-state';
import type { UploadLedger } from '../../shared/ports/upload-ledger';
import { ZoomApiError, type DateRange, type ZoomRecordingsApi } from '../../shared/ports/zoom-api';
import { addUtcDays } from '../../shared/utc-day';
import { normalizeListedRecording } from '../../shared/zoom/normalize';
import type { ZoomRecordingObject } from '../../shared/zoom/recording';
import type { ArchiverConfig } from '../course-validation/config';
import { decideRecording } from '../course-validation/decision';
import { REJECTION_MEMORY_MS } from './config';

export interface ReconcileDeps {
  api: ZoomRecordingsApi;
  ledger: Pick<UploadLedger, 'get'>;
  state: ReconcilerState;
  rules: ArchiverConfig;
  publisher: EventPublisher;
  logger: AppLogger;
  now: () => Date;
  /** How long a rejection is remembered; default REJECTION_MEMORY_MS. */
  rejectionMemoryMs?: number;
}

export type ReconcileTrigger = 'sweep' | 'backfill';

export interface ReconcileRequest {
  trigger: ReconcileTrigger;
  range: DateRange;
  /** List and report only: nothing is published or remembered. */
  dryRun?: boolean;
  runId?: string;
  /** Epoch ms (deps.now's clock): no new page is listed after it; the rest of the range is reported as `remaining`. */
  deadlineAt?: number;
  signal?: AbortSignal;
  onProgress?: (progress: ReconcileProgress) => void;
  /** Every recording examined, as soon as its outcome is known. */
  onRecording?: (recording: RecordingReport) => void;
}

export interface ReconcileProgress {
  window: DateRange;
  pages: number;
  recordingsFound: number;
  filesRequested: number;
}

/**
 * What became of one listed recording in this run:
 * - `requested`: handed over, some files asked for (in a dry run: would be);
 * - `archived`: every accepted file is in the archive already;
 * - `in_progress`: its files are being transferred by another run;
 * - `failed`: files failed before and wait for `retry`;
 * - `rejected`: not a course's, or no eligible file — handed over once for the audit trail;
 * - `rejected_before`: the same, remembered from an earlier run and unchanged, so not handed over;
 * - `still_processing`: Zoom has not finished its eligible files; the next run looks again.
 */
export type RecordingOutcome = 'requested' | 'archived' | 'in_progress' | 'failed' | 'rejected' | 'rejected_before' | 'still_processing';

export type FileState = 'to_request' | 'archived' | 'in_progress' | 'failed' | 'processing';

export interface FileReport {
  fileId: string;
  fileType: string;
  recordingType?: string;
  /** Where it goes (or went) in the archive, for accepted files. */
  archiveKey?: string;
  state: FileState;
}

export interface RecordingReport {
  recordingId: string;
  meetingId: string;
  topic: string;
  startTime: string;
  hostEmail?: string;
  course?: string;
  outcome: RecordingOutcome;
  /** Why a rejected recording is rejected (course validation's words). */
  reason?: string;
  /** The accepted and still-processing files; files the rules skip are not listed. */
  files: FileReport[];
}

export interface ReconcileReport {
  runId: string;
  trigger: ReconcileTrigger;
  dryRun: boolean;
  /** The run record (also published as ReconciliationCompleted unless dry). */
  summary: Omit<ReconciliationCompleted, 'metadata' | 'schemaVersion'>;
  /** Files asked for, by recording: what a caller follows to the end. */
  requested: { recordingId: string; fileIds: string[] }[];
  /** The part of the range not listed because the deadline came first. */
  remaining?: DateRange;
}

const MAX_RECORDED_ERRORS = 50;

export async function reconcile(request: ReconcileRequest, deps: ReconcileDeps): Promise<ReconcileReport> {
  const runId = request.runId ?? randomUUID();
  const startedAt = deps.now();
  const dryRun = request.dryRun ?? false;
  const log = { runId, trigger: request.trigger, from: request.range.from, to: request.range.to, dryRun };
  const statsBefore = deps.api.stats();
  const counts = {
    windows: new Set<string>(),
    pages: 0,
    recordingsFound: 0,
    recordingsHandedOver: 0,
    filesRequested: 0,
    filesAlreadyArchived: 0,
    filesInProgress: 0,
    filesFailed: 0,
    recordingsRejected: 0,
    recordingsStillProcessing: 0,
  };
  let listing: 'account' | 'users' = 'account';
  const errors: { window: string; message: string }[] = [];
  const requested: ReconcileReport['requested'] = [];
  const seen = new Set<string>();
  let remaining: DateRange | undefined;
  deps.logger.info('reconciliation started', log);

  let next: DateRange | undefined = request.range;
  while (next) {
    const range: DateRange = next;
    next = undefined;
    try {
      for await (const page of deps.api.listRecordings(range, { signal: request.signal })) {
        listing = page.listing;
        counts.windows.add(`${page.window.from}..${page.window.to}`);
        counts.pages++;
        const events: DomainEvent[] = [];
        const reports: RecordingReport[] = [];
        const rejections: { report: RecordingReport; fingerprint: string }[] = [];
        for (const object of page.recordings) {
          if (seen.has(object.uuid)) continue; // listed twice (pages shifted, or a co-host's list)
          seen.add(object.uuid);
          counts.recordingsFound++;
          const examined = await examine(object, { runId, trigger: request.trigger, dryRun }, deps);
          reports.push(examined.report);
          events.push(...examined.events);
          if (examined.rejectedFingerprint) rejections.push({ report: examined.report, fingerprint: examined.rejectedFingerprint });
          tally(counts, examined.report);
          const toRequest = examined.report.files.filter((file) => file.state === 'to_request').map((file) => file.fileId);
          if (toRequest.length > 0) requested.push({ recordingId: object.uuid, fileIds: toRequest });
        }
        if (!dryRun && events.length > 0) {
          await deps.publisher.publish(events);
          // Remembered once handed over, so that an unchanged rejected recording is not handed over again.
          for (const { report, fingerprint } of rejections) {
            await deps.state.rememberRejection(
              { recordingId: report.recordingId, fingerprint, reason: report.reason ?? 'rejected', rememberedAt: deps.now().getTime() },
              deps.rejectionMemoryMs ?? REJECTION_MEMORY_MS,
            );
          }
        }
        counts.recordingsHandedOver += new Set(events.map((event) => (event.detail as RecordingAvailable).recordingId)).size;
        for (const report of reports) request.onRecording?.(report);
        request.onProgress?.({ window: page.window, pages: counts.pages, recordingsFound: counts.recordingsFound, filesRequested: counts.filesRequested });
        if (request.deadlineAt !== undefined && deps.now().getTime() >= request.deadlineAt) {
          remaining = { from: addUtcDays(page.window.to, 1), to: request.range.to };
          if (remaining.from > remaining.to) remaining = undefined;
          break;
        }
      }
    } catch (error) {
      if (!(error instanceof ZoomApiError) || !error.details.window || request.signal?.aborted) throw error;
      // One window Zoom would not list: record it, go on with the next.
      const window = error.details.window;
      if (errors.length < MAX_RECORDED_ERRORS) errors.push({ window: `${window.from}..${window.to}`, message: error.message.slice(0, 1000) });
      deps.logger.error('a window could not be listed; the run goes on with the next', { ...log, window, error: error.message });
      const after = addUtcDays(window.to, 1);
      if (after <= range.to) next = { from: after, to: range.to };
    }
  }
  if (remaining) {
    errors.push({ window: `${remaining.from}..${remaining.to}`, message: 'not listed: the run reached its deadline; run again for this range' });
  }

  const statsAfter = deps.api.stats();
  const summary: ReconcileReport['summary'] = {
    runId,
    trigger: request.trigger,
    from: request.range.from,
    to: request.range.to,
    listing,
    windows: counts.windows.size,
    pages: counts.pages,
    apiCalls: statsAfter.calls - statsBefore.calls,
    rateLimited: statsAfter.rateLimited - statsBefore.rateLimited,
    recordingsFound: counts.recordingsFound,
    recordingsHandedOver: dryRun ? 0 : counts.recordingsHandedOver,
    filesRequested: counts.filesRequested,
    filesAlreadyArchived: counts.filesAlreadyArchived,
    filesInProgress: counts.filesInProgress,
    filesFailed: counts.filesFailed,
    recordingsRejected: counts.recordingsRejected,
    recordingsStillProcessing: counts.recordingsStillProcessing,
    errors: errors.slice(0, MAX_RECORDED_ERRORS),
    startedAt: startedAt.toISOString(),
    finishedAt: deps.now().toISOString(),
  };
  if (!dryRun) {
    await deps.publisher.publish([
      {
        detailType: DetailType.ReconciliationCompleted,
        detail: {
          metadata: startMetadata({
            schemaVersion: SCHEMA_VERSIONS[DetailType.ReconciliationCompleted],
            idempotencyKey: `${DetailType.ReconciliationCompleted}:${runId}`,
            causationId: `reconcile:${runId}`,
            correlationId: runId,
          }),
          ...summary,
        },
      },
    ]);
  }
  deps.logger.info('reconciliation finished', { ...log, ...summary, errors: errors.length });
  return { runId, trigger: request.trigger, dryRun, summary, requested, remaining };
}

interface RunContext {
  runId: string;
  trigger: ReconcileTrigger;
  dryRun: boolean;
}

/** One recording: what the rules and the ledger say, and the events that hand it over (if any). */
/** `rejectedFingerprint`: set when the recording is handed over to be rejected, for the memory. */
async function examine(
  object: ZoomRecordingObject,
  run: RunContext,
  deps: ReconcileDeps,
): Promise<{ report: RecordingReport; events: DomainEvent[]; rejectedFingerprint?: string }> {
  const parts = normalizeListedRecording(object, { trigger: run.trigger, causationId: `reconcile:${run.runId}`, receivedAt: deps.now() });
  const base = { recordingId: object.uuid, meetingId: String(object.id), topic: object.topic, startTime: object.start_time, hostEmail: object.host_email };
  const decisions = parts.map((part) => decideRecording(part, deps.rules));
  const accepted = decisions.flatMap((decision) => (decision.outcome === 'accepted' ? [decision] : []));

  if (accepted.length === 0) {
    const rejection = decisions.find((decision) => decision.outcome === 'rejected' && decision.reason !== 'still_processing');
    const course = decisions.find((decision) => decision.match)?.match?.course;
    if (!rejection || rejection.outcome !== 'rejected') {
      const pending = decisions.flatMap((decision) => decision.selection?.pending ?? []);
      return { report: { ...base, course, outcome: 'still_processing', files: pending.map((file) => ({ fileId: file.fileId, fileType: file.fileType, recordingType: file.recordingType, state: 'processing' })) }, events: [] };
    }
    const fingerprint = fingerprintOf(object);
    const remembered = await deps.state.rejection(object.uuid, deps.now().getTime());
    if (remembered?.fingerprint === fingerprint) {
      return { report: { ...base, course, outcome: 'rejected_before', reason: rejection.explanation, files: [] }, events: [] };
    }
    // Handed over once, so that course validation rejects it in the audit trail for people to see.
    return {
      report: { ...base, course, outcome: 'rejected', reason: rejection.explanation, files: [] },
      events: parts.map((part) => handOver(part, run, part.files.map((file) => file.fileId))),
      rejectedFingerprint: fingerprint,
    };
  }

  const files: FileReport[] = [];
  const events: DomainEvent[] = [];
  for (const [index, decision] of decisions.entries()) {
    if (decision.outcome !== 'accepted') continue;
    const toRequest: string[] = [];
    for (const { file, archiveKey } of decision.files) {
      const entry = await deps.ledger.get(file.fileId);
      const state: FileState = !entry ? 'to_request' : entry.state === 'uploaded' ? 'archived' : entry.state === 'failed' ? 'failed' : 'in_progress';
      if (state === 'to_request') toRequest.push(file.fileId);
      files.push({ fileId: file.fileId, fileType: file.fileType, recordingType: file.recordingType, archiveKey, state });
    }
    for (const file of decision.selection.pending) files.push({ fileId: file.fileId, fileType: file.fileType, recordingType: file.recordingType, state: 'processing' });
    if (toRequest.length > 0) events.push(handOver(parts[index]!, run, toRequest));
  }
  // A recording accepted now may have been remembered as rejected under older rules.
  if (!run.dryRun) await deps.state.forgetRejection(object.uuid);
  const course = accepted[0]!.match.course;
  return { report: { ...base, course, outcome: outcomeOf(files), files }, events };
}

function outcomeOf(files: readonly FileReport[]): RecordingOutcome {
  const has = (state: FileState) => files.some((file) => file.state === state);
  if (has('to_request')) return 'requested';
  if (has('processing')) return 'still_processing';
  if (has('in_progress')) return 'in_progress';
  if (has('failed')) return 'failed';
  return 'archived';
}

function handOver(part: RecordingAvailable, run: RunContext, requestOnly: string[]): DomainEvent {
  const detail: RecordingAvailable = {
    ...part,
    // Unique per run: a later run that finds more files is a new fact, not a duplicate.
    metadata: { ...part.metadata, idempotencyKey: `${run.trigger}:${run.runId}:${part.recordingId}:${part.part.index}/${part.part.count}` },
    reconciliation: { runId: run.runId, requestOnly },
  };
  return { detailType: DetailType.RecordingAvailable, detail };
}

function tally(counts: { filesRequested: number; filesAlreadyArchived: number; filesInProgress: number; filesFailed: number; recordingsRejected: number; recordingsStillProcessing: number }, report: RecordingReport): void {
  for (const file of report.files) {
    if (file.state === 'to_request') counts.filesRequested++;
    else if (file.state === 'archived') counts.filesAlreadyArchived++;
    else if (file.state === 'in_progress') counts.filesInProgress++;
    else if (file.state === 'failed') counts.filesFailed++;
  }
  if (report.outcome === 'rejected' || report.outcome === 'rejected_before') counts.recordingsRejected++;
  if (report.files.some((file) => file.state === 'processing')) counts.recordingsStillProcessing++;
}

/**
 * What makes a listed recording "the same" for the rejection memory: the fields the
 * course rules read (topic, meeting id, start, duration, time zone) and every file's
 * identity and readiness. A transcript that arrives or a file that finishes
 * processing changes it.
 */
export function fingerprintOf(object: ZoomRecordingObject): string {
  const files = object.recording_files
    .map((file) => [file.id ?? '', file.file_type, file.recording_type ?? '', file.status ?? '', file.file_size ?? '', file.recording_start ?? '', file.recording_end ?? ''].join('|'))
    .sort();
  return createHash('sha256')
    .update(JSON.stringify([object.topic, String(object.id), object.start_time, object.duration ?? '', object.timezone ?? '', files]))
    .digest('hex');
}
