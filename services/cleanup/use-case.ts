/**
 * Clean-up in Zoom, the use case both runtimes share (README, "Clean-up in Zoom"):
 *
 * - scheduleCleanup — the consumer of RecordingArchived: the recording is due
 *   `cleanup.delayHours` after its latest RecordingArchived (each part, each re-driven
 *   file pushes it back). Nothing with trashInZoom "off", nothing for an excepted
 *   course. The due time is kept in the CleanupSchedule (SQLite file, DynamoDB item),
 *   so it survives restarts and deploys.
 * - runDueCleanups — the periodic run (serve's timer, the cloud's schedule, the
 *   `cleanup` command): each due recording is claimed (one runner at a time), checked
 *   again against Zoom and the ledger (verdict.ts), and then, only when every selected
 *   file is verified in the archive and none failed or is pending:
 *   - "dry-run": RecordingWouldBeTrashed is published (audit trail, log); nothing is deleted;
 *   - "on": DELETE /meetings/{uuid}/recordings?action=trash, then RecordingTrashedInZoom.
 *     Zoom answers 204; a 404/3301 after our own DELETE was sent (its answer lost) counts
 *     as done. Zoom unavailable (429/5xx past the client's retries): postponed with
 *     back-off; any other failure (a refusal, the archive, a store) too, and reported
 *     as `failed`. Never `action=delete`.
 *   A recording held back (a file failed or pending, rejected, excepted) is recorded
 *   with its reason and waits for the next RecordingArchived.
 *
 * Idempotent: the schedule's conditional writes make duplicates, retries, restarts and
 * two runners trash once; the events' idempotency keys are per recording.
 */
import { randomUUID } from 'node:crypto';
import { DetailType, SCHEMA_VERSIONS, startMetadata, type DomainEvent, type RecordingArchived } from '../../shared/events';
import type { Metadata } from '../../shared/events/metadata';
import type { AppLogger } from '../../shared/logger';
import type { ArchiveStore } from '../../shared/ports/archive-store';
import type { CleanupEntry, CleanupSchedule } from '../../shared/ports/cleanup-schedule';
import type { EventPublisher } from '../../shared/ports/event-publisher';
import type { UploadLedger } from '../../shared/ports/upload-ledger';
import { ZoomApiError, type ZoomTrashApi } from '../../shared/ports/zoom-api';
import type { ArchiverConfig } from '../course-validation/config';
import { CLEANUP_LEASE_MS, cleanupRetryDelayMs } from './config';
import { judgeRecording, type Verdict } from './verdict';

export interface ScheduleDeps {
  rules: ArchiverConfig;
  schedule: Pick<CleanupSchedule, 'schedule'>;
  logger: AppLogger;
  now: () => Date;
}

export type ScheduleOutcome = 'scheduled' | 'off' | 'excepted' | 'already_trashed';

/** RecordingArchived → the recording is due delayHours from now (or later, if it was already). */
export async function scheduleCleanup(event: RecordingArchived, deps: ScheduleDeps): Promise<ScheduleOutcome> {
  const { cleanup } = deps.rules;
  if (cleanup.trashInZoom === 'off') return 'off';
  if (cleanup.exceptCourses.has(event.course)) {
    deps.logger.debug('clean-up: course excepted, recording stays in Zoom', { recordingId: event.recordingId, course: event.course });
    return 'excepted';
  }
  const now = deps.now().getTime();
  const entry = await deps.schedule.schedule({ recordingId: event.recordingId, course: event.course, dueAt: now + cleanup.delayMs, now });
  if (entry.state === 'trashed') return 'already_trashed';
  deps.logger.info('clean-up scheduled', { recordingId: event.recordingId, course: event.course, mode: cleanup.trashInZoom, dueAt: new Date(entry.rescheduleAt ?? entry.dueAt).toISOString() });
  return 'scheduled';
}

export interface RunDeps {
  rules: ArchiverConfig;
  schedule: CleanupSchedule;
  ledger: Pick<UploadLedger, 'get'>;
  /** Each verified file's object is looked at too (verdict.ts, 4.). */
  archive?: Pick<ArchiveStore, 'head'>;
  zoom: ZoomTrashApi;
  publisher: EventPublisher;
  logger: AppLogger;
  now: () => Date;
  /** Unique per runner (process, invocation). */
  owner?: string;
}

export type CleanupOutcome =
  | 'trashed'
  | 'already_in_trash'
  | 'would_trash'
  | 'held'
  | 'gone'
  /** Zoom was unavailable: tried again after a back-off. */
  | 'postponed'
  /** Something else went wrong (Zoom refused, the archive or a store failed): tried again after a back-off, and reported. */
  | 'failed'
  /** Not due, or another runner took it. */
  | 'skipped';

export interface CleanupResult {
  recordingId: string;
  course: string;
  outcome: CleanupOutcome;
  /** Why held, gone or postponed. */
  note?: string;
  archivedFiles?: number;
  otherFiles?: number;
}

export interface RunOptions {
  limit?: number;
  signal?: AbortSignal;
  /** Stop claiming new recordings after this time (epoch ms): a Lambda's deadline. */
  deadlineAt?: number;
}

/** Every due recording, one at a time (Zoom's rate limit is the account's). */
export async function runDueCleanups(deps: RunDeps, options: RunOptions = {}): Promise<CleanupResult[]> {
  const mode = deps.rules.cleanup.trashInZoom;
  if (mode === 'off') return [];
  const includeWouldTrash = mode === 'on';
  const due = await deps.schedule.listDue(deps.now().getTime(), { includeWouldTrash, limit: options.limit ?? 100 });
  const results: CleanupResult[] = [];
  for (const entry of due) {
    if (options.signal?.aborted) break;
    if (options.deadlineAt !== undefined && deps.now().getTime() >= options.deadlineAt) break;
    try {
      results.push(await cleanUpRecording(entry.recordingId, deps, options.signal));
    } catch (error) {
      // The claim itself failed (the store): the others are still worth trying.
      const note = error instanceof Error ? error.message : String(error);
      deps.logger.error('clean-up failed', { recordingId: entry.recordingId, course: entry.course, error: note });
      results.push({ recordingId: entry.recordingId, course: entry.course, outcome: 'failed', note });
    }
  }
  return results;
}

/** How many recordings ended how, e.g. { trashed: 2, held: 1 }: for logs and answers. */
export function countOutcomes(results: readonly CleanupResult[]): Partial<Record<CleanupOutcome, number>> {
  const counts: Partial<Record<CleanupOutcome, number>> = {};
  for (const { outcome } of results) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
}

/** One recording, if it is due: claim, check, trash (or record why not). */
export async function cleanUpRecording(recordingId: string, deps: RunDeps, signal?: AbortSignal): Promise<CleanupResult> {
  const mode = deps.rules.cleanup.trashInZoom;
  // Off: not even claimed (a claim would hold the entry for a lease with nothing to do).
  if (mode === 'off') return { recordingId, course: '', outcome: 'skipped' };
  const owner = deps.owner ?? `cleanup:${randomUUID()}`;
  const claimed = await deps.schedule.claim(recordingId, owner, CLEANUP_LEASE_MS, deps.now().getTime(), { includeWouldTrash: mode === 'on' });
  if (!claimed) return { recordingId, course: '', outcome: 'skipped' };
  const log = { recordingId, course: claimed.course, mode };
  try {
    const verdict = await judgeRecording(recordingId, deps, signal);
    return await act(claimed, verdict, owner, deps, signal);
  } catch (error) {
    // Zoom busy (429/5xx past the client's retries) is expected now and then: postponed, a warning.
    // Anything else — Zoom refusing (a missing scope), the archive or a store failing — is postponed
    // the same way, so that fixing it heals by itself, but reported as `failed` (an error; in the cloud
    // the run fails, which raises its alarm).
    const busy = error instanceof ZoomApiError && error.retryable;
    const attempt = claimed.attempts + 1;
    const dueAt = deps.now().getTime() + cleanupRetryDelayMs(attempt);
    const message = error instanceof Error ? error.message : String(error);
    const note = `${busy ? 'Zoom unavailable' : 'not trashed'} (${message}); trying again at ${new Date(dueAt).toISOString()}`;
    if (busy) deps.logger.warn('clean-up postponed', { ...log, attempt, dueAt: new Date(dueAt).toISOString(), error: message });
    else deps.logger.error('clean-up failed', { ...log, attempt, dueAt: new Date(dueAt).toISOString(), error: message });
    await deps.schedule.postpone(recordingId, owner, dueAt, note, deps.now().getTime()).catch((postponeError: unknown) =>
      deps.logger.error('clean-up could not record the postponement; the lease expires and the next run takes it', { ...log, error: postponeError instanceof Error ? postponeError.message : String(postponeError) }),
    );
    return { recordingId, course: claimed.course, outcome: busy ? 'postponed' : 'failed', note };
  }
}

async function act(claimed: CleanupEntry, verdict: Verdict, owner: string, deps: RunDeps, signal: AbortSignal | undefined): Promise<CleanupResult> {
  const { recordingId } = claimed;
  const mode = deps.rules.cleanup.trashInZoom;
  const base = { recordingId, course: claimed.course };
  const now = () => deps.now().getTime();

  if (verdict.kind === 'gone') {
    if (claimed.trashRequestedAt !== undefined) {
      // Our DELETE went out before (its answer lost, the runner stopped): Zoom's 404 is that trash.
      return trashed(claimed, undefined, 'already_in_trash', owner, deps);
    }
    const note = 'Zoom has no such recording any more (trashed or deleted in Zoom by someone else)';
    deps.logger.warn('clean-up: recording gone from Zoom', { ...base });
    await deps.schedule.finish(recordingId, owner, { state: 'gone', note }, now());
    return { ...base, outcome: 'gone', note };
  }
  if (verdict.kind === 'hold' || verdict.kind === 'never') {
    deps.logger.info('clean-up held back', { ...base, reason: verdict.reason });
    await deps.schedule.finish(recordingId, owner, { state: 'held', note: verdict.reason }, now());
    return { ...base, outcome: 'held', note: verdict.reason };
  }

  const counts = { archivedFiles: verdict.archivedFiles.length, otherFiles: verdict.otherFiles.length };
  if (mode === 'dry-run') {
    const event: DomainEvent = {
      detailType: DetailType.RecordingWouldBeTrashed,
      detail: {
        metadata: metadataFor(DetailType.RecordingWouldBeTrashed, `RecordingWouldBeTrashed:${recordingId}:${claimed.dueAt}`, recordingId),
        ...details(verdict, claimed),
        checkedAt: new Date(now()).toISOString(),
      },
    };
    await deps.publisher.publish([event]);
    deps.logger.info('clean-up dry run: would move the recording to Zoom\'s trash now; nothing deleted', { ...base, ...counts });
    await deps.schedule.finish(recordingId, owner, { state: 'would_trash' }, now());
    return { ...base, outcome: 'would_trash', ...counts };
  }

  if (!(await deps.schedule.markTrashRequested(recordingId, owner, now()))) {
    return { ...base, outcome: 'skipped', note: 'another runner took it over' };
  }
  const answer = await deps.zoom.trashRecording(recordingId, { signal });
  return trashed(claimed, verdict, answer === 'trashed' ? 'trashed' : 'already_in_trash', owner, deps);
}

/** Publishes RecordingTrashedInZoom (audit trail, subscribers) and records the outcome. */
async function trashed(
  claimed: CleanupEntry,
  verdict: Extract<Verdict, { kind: 'trash' }> | undefined,
  outcome: 'trashed' | 'already_in_trash',
  owner: string,
  deps: RunDeps,
): Promise<CleanupResult> {
  const { recordingId } = claimed;
  const at = deps.now().getTime();
  if (verdict) {
    const event: DomainEvent = {
      detailType: DetailType.RecordingTrashedInZoom,
      detail: {
        metadata: metadataFor(DetailType.RecordingTrashedInZoom, `RecordingTrashedInZoom:${recordingId}`, recordingId),
        ...details(verdict, claimed),
        outcome,
        trashedAt: new Date(at).toISOString(),
      },
    };
    await deps.publisher.publish([event]);
  }
  // Without the verdict (Zoom had it gone when we came back), the files cannot be listed from Zoom any more;
  // the event of the run that sent the DELETE may be lost with it, so the note says what is known.
  const note = verdict ? undefined : 'Zoom answered 404 (3301) after our earlier DELETE: the recording is in the trash';
  deps.logger.info('recording moved to Zoom\'s trash', { recordingId, course: claimed.course, outcome, archivedFiles: verdict?.archivedFiles.length });
  await deps.schedule.finish(recordingId, owner, { state: 'trashed', outcome, note }, at);
  return { recordingId, course: claimed.course, outcome, note, archivedFiles: verdict?.archivedFiles.length, otherFiles: verdict?.otherFiles.length };
}

function details(verdict: Extract<Verdict, { kind: 'trash' }>, claimed: CleanupEntry) {
  const { facts } = verdict;
  return {
    recordingId: facts.recordingId,
    meetingId: facts.meetingId,
    topic: facts.topic,
    course: facts.course,
    startTime: facts.startTime,
    archivedFiles: verdict.archivedFiles,
    otherFiles: verdict.otherFiles,
    dueAt: new Date(claimed.dueAt).toISOString(),
  };
}

function metadataFor<T extends typeof DetailType.RecordingWouldBeTrashed | typeof DetailType.RecordingTrashedInZoom>(
  detailType: T,
  idempotencyKey: string,
  recordingId: string,
): Metadata & { schemaVersion: (typeof SCHEMA_VERSIONS)[T] } {
  return startMetadata({ schemaVersion: SCHEMA_VERSIONS[detailType], idempotencyKey, causationId: `cleanup:${recordingId}` });
}

