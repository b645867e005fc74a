/**
 * The uploader use case: one FileUploadRequested → the file in the archive exactly
 * once, verified, announced. The ledger decides who transfers (a lease-holding
 * claim); duplicates are acknowledged and counted; a crashed attempt's lease expires
 * and the recovery sweep re-drives it. Publishing FileUploaded comes before marking
 * the ledger entry uploaded, so a crash between the two repeats the (idempotent)
 * announcement rather than losing it.
 *
 * Time: each attempt is bounded by `transferTimeoutMs`; a Lambda invocation also has
 * one `deadlineAt` for all its attempts and back-off waits together. Before it, the run
 * stops, hands the file back with a note (the recovery sweep re-drives it and counts
 * that), and returns `deadline` — rather than being killed with no outcome recorded.
 *
 * Resume (with a store that can continue a put: the folder store): the transfer
 * records checkpoints in the ledger as it goes; the next attempt — of this run, or of
 * a run after a crash, a restart or a re-drive (the claimed entry's checkpoint) —
 * downloads only the rest. An attempt that moved the checkpoint forward before it was
 * cut (its time limit, a broken connection) continues at once and does not count
 * toward UPLOAD_MAX_ATTEMPTS; only attempts that made no progress do. `attempts` in
 * events counts every attempt.
 *
 * A final failure that is retryable (decide's `retryable`) is scheduled for an
 * automatic re-drive while the file has some left (`autoRetry`, the ledger's
 * `autoRetries`): the ledger's `nextAttemptAt` and FileUploadFailed's say when the
 * recovery sweep publishes the request again. Permanent failures never get one.
 */
import { randomUUID } from 'node:crypto';
import type { TokenSealer } from '../../shared/crypto/token-seal';
import {
  DetailType,
  deriveMetadata,
  SCHEMA_VERSIONS,
  type DomainEvent,
  type FailureCode,
  type FileUploadRequested,
  type ParsedEvent,
} from '../../shared/events';
import type { AppLogger } from '../../shared/logger';
import { ArchiveResumeLostError, type ArchiveStore } from '../../shared/ports/archive-store';
import type { EventPublisher } from '../../shared/ports/event-publisher';
import { LedgerRefusedError, type LedgerEntry, type TransferCheckpoint, type UploadLedger } from '../../shared/ports/upload-ledger';
import { ledgerGroupKey } from '../../shared/ledger-group';
import { DownloadNetworkError, type DownloadTokenSource, type ZoomDownloader } from '../../shared/ports/zoom-client';
import { sleep } from '../../shared/retry';
import { codeOf, decide, describeError, nextAutoRetryAt, rootCause, type AttemptHistory, type AutoRetryPolicy, type PolicyOptions } from './failure-policy';
import { transferOnce, type TransferProgress, type TransferResult } from './transfer';

export interface UploaderDeps {
  ledger: UploadLedger;
  store: ArchiveStore;
  tokens: DownloadTokenSource;
  downloader: ZoomDownloader;
  publisher: EventPublisher;
  /** Opens the webhook's sealed download token; absent when no sealing secret is configured. */
  sealer?: TokenSealer;
  logger: AppLogger;
  now: () => number;
  /** Identifies this process or Lambda container in lease owners. */
  instanceId: string;
  leaseMs: number;
  policy: PolicyOptions;
  /** Automatic re-drive of retryable failures (AUTO_RETRY_*); absent: none, failed files wait for `retry`. */
  autoRetry?: AutoRetryPolicy;
  /** Give up an attempt that takes longer than this (a slow drip). */
  transferTimeoutMs: number;
  /** With a store that resumes through a saved hash state (S3): only files at least this large take the resumable path. Default 0: all. */
  resumableMinBytes?: number;
  /**
   * Absolute end (epoch ms, on `now`'s clock) of this run: every attempt and back-off
   * wait together. The Lambda handler sets it from the invocation's remaining time
   * minus a margin to record the outcome. Absent on one machine: a run has no end
   * there, only each attempt's `transferTimeoutMs`.
   */
  deadlineAt?: number;
  /** Aborted on shutdown: the transfer stops and the lease is released for another run. */
  shutdown?: AbortSignal;
}

export type UploadOutcome =
  | { outcome: 'uploaded'; result: TransferResult; attempts: number }
  | { outcome: 'duplicate'; entry: LedgerEntry }
  | { outcome: 'in_progress_elsewhere'; entry: LedgerEntry }
  /** `nextAttemptAt` (epoch ms): when the recovery sweep re-drives it by itself; absent, it waits for `retry`. */
  | { outcome: 'failed'; code: FailureCode; retryable: boolean; attempts: number; nextAttemptAt?: number }
  | { outcome: 'released' }
  /** Stopped before the run's deadline; the file was handed back with a note for the recovery sweep. */
  | { outcome: 'deadline'; attempts: number }
  /** Stopped before the run's deadline after moving the checkpoint forward: handed to the next run (the request published again) to resume there. */
  | { outcome: 'continued'; attempts: number; bytesCommitted: number }
  | { outcome: 'lease_lost' };

export async function uploadFile(event: ParsedEvent<typeof DetailType.FileUploadRequested>, deps: UploaderDeps): Promise<UploadOutcome> {
  const request = event.detail;
  const log = { correlationId: request.metadata.correlationId, recordingId: request.recordingId, fileId: request.file.fileId, key: request.archiveKey };
  const groupKey = announcementGroup(request);
  try {
    await deps.ledger.register({
      fileId: request.file.fileId,
      recordingId: request.recordingId,
      groupKey,
      groupSize: request.acceptedFileCount,
      course: request.course,
      archiveKey: request.archiveKey,
      expectedSize: request.file.fileSize,
      request,
      now: deps.now(),
    });
  } catch (error) {
    // Retrying the delivery would be refused the same way, and end in a dead-letter
    // queue where no one looks: report the file as failed, visibly, instead.
    if (!(error instanceof LedgerRefusedError)) throw error;
    const decision = { code: 'ledger_refused' as const, reason: error.message, retryable: false };
    await deps.publisher.publish([fileUploadFailed(event, decision, 0)]);
    deps.logger.error('the ledger refused to record the file; reported as failed', { ...log, reason: error.message });
    return { outcome: 'failed', code: decision.code, retryable: false, attempts: 0 };
  }

  const owner = `${deps.instanceId}:${randomUUID()}`;
  const claim = await deps.ledger.claim(request.file.fileId, owner, deps.leaseMs, deps.now());
  if (claim.outcome === 'already_uploaded') {
    deps.logger.info('duplicate request: file already archived', { ...log, duplicates: claim.entry.duplicates });
    return { outcome: 'duplicate', entry: claim.entry };
  }
  if (claim.outcome === 'leased') {
    deps.logger.info('file is being transferred by another run; its lease decides', { ...log, leaseExpiresAt: claim.entry.leaseExpiresAt });
    return { outcome: 'in_progress_elsewhere', entry: claim.entry };
  }

  const lease = keepLease(deps, request.file.fileId, owner);
  try {
    return await transferWithRetries(event, deps, owner, groupKey, lease.signal, log, claim.entry.autoRetries, claim.entry.checkpoint);
  } finally {
    lease.stop();
  }
}

async function transferWithRetries(
  event: ParsedEvent<typeof DetailType.FileUploadRequested>,
  deps: UploaderDeps,
  owner: string,
  groupKey: string,
  leaseSignal: AbortSignal,
  log: Record<string, unknown>,
  /** Automatic re-drives the file has had so far (the claimed entry's). */
  autoRetries: number,
  /** Where an earlier run got to (the claimed entry's checkpoint): the first attempt resumes there. */
  resumeFrom: TransferCheckpoint | undefined,
): Promise<UploadOutcome> {
  const request = event.detail;
  const fileId = request.file.fileId;
  const webhookToken = openWebhookToken(request, deps.sealer);
  const history: AttemptHistory = { attempts: 0, byCode: {} };
  let freshOAuth = false;
  const started = deps.now();

  let lastCode: FailureCode | undefined;
  // The latest checkpoint this run recorded (or was given): each attempt resumes from it.
  let checkpoint = resumeFrom;
  let tries = 0;
  const progress: TransferProgress = {
    get checkpoint() {
      return checkpoint;
    },
    onCheckpoint: async (next) => {
      const kept = await deps.ledger.checkpoint(fileId, owner, next, deps.now());
      if (kept) checkpoint = next;
      return kept;
    },
  };
  const stopAtDeadline = async (): Promise<UploadOutcome> => {
    if ((checkpoint?.bytesCommitted ?? 0) > (resumeFrom?.bytesCommitted ?? 0)) {
      // This run moved the transfer forward: hand it to the next invocation at once, to
      // resume from the checkpoint — a plain release (the sweep does not count it as an
      // interrupted run), then the same request again. Released first, so that the next
      // run's claim never meets this run's lease. A file of any size finishes in as many
      // runs as it needs, each making progress.
      if (!(await deps.ledger.release(fileId, owner, deps.now()))) {
        deps.logger.warn('deadline reached, and the lease was lost before it: another run owns the file now', log);
        return { outcome: 'lease_lost' };
      }
      try {
        await deps.publisher.publish([{ detailType: DetailType.FileUploadRequested, detail: { ...request, continuedFrom: checkpoint!.bytesCommitted } }]);
      } catch (error) {
        // The entry is requested and unclaimed: the recovery sweep re-drives it.
        deps.logger.warn('deadline reached: could not publish the continuation; the recovery sweep re-drives the file', { ...log, error: describeError(error) });
      }
      deps.logger.info('deadline reached: the transfer continues in the next run from its checkpoint', { ...log, attempts: tries, committed: checkpoint?.bytesCommitted });
      return { outcome: 'continued', attempts: tries, bytesCommitted: checkpoint!.bytesCommitted };
    }
    const note = {
      code: 'deadline' as const,
      message: `stopped before the run's deadline after ${tries} attempt(s)${lastCode ? ` (last: ${lastCode})` : ''}; the recovery sweep re-drives it`,
      retryable: true,
    };
    if (!(await deps.ledger.release(fileId, owner, deps.now(), note))) {
      deps.logger.warn('deadline reached, and the lease was lost before it: another run owns the file now', log);
      return { outcome: 'lease_lost' };
    }
    deps.logger.warn('deadline reached: transfer stopped, lease released with a note for the recovery sweep', { ...log, attempts: tries, lastCode });
    return { outcome: 'deadline', attempts: tries };
  };

  for (;;) {
    const left = timeLeft(deps);
    if (left <= 0) return stopAtDeadline();
    history.attempts++;
    tries++;
    const committedBefore = checkpoint?.bytesCommitted ?? 0;
    const attemptTimeout = AbortSignal.timeout(deps.transferTimeoutMs);
    // The run's deadline, when it comes before the attempt's own limit, cuts the attempt too.
    const runDeadline = left < deps.transferTimeoutMs ? AbortSignal.timeout(left) : undefined;
    const signal = AbortSignal.any([leaseSignal, attemptTimeout, ...(runDeadline ? [runDeadline] : []), ...(deps.shutdown ? [deps.shutdown] : [])]);
    let usedToken: { token: string; source: 'webhook' | 'oauth' } | undefined;
    let result: TransferResult;
    try {
      usedToken = await deps.tokens.tokenFor(freshOAuth ? undefined : webhookToken);
      result = await transferOnce(request, usedToken.token, deps, signal, progress);
    } catch (thrown) {
      if (deps.shutdown?.aborted) {
        await deps.ledger.release(fileId, owner, deps.now());
        deps.logger.info('shutting down: transfer stopped, lease released for the next run', log);
        return { outcome: 'released' };
      }
      if (leaseSignal.aborted) {
        deps.logger.warn('lease lost during the transfer; another run owns the file now', log);
        return { outcome: 'lease_lost' };
      }
      // The attempt the deadline cut has no failure of its own: the note keeps the previous one's.
      if (runDeadline?.aborted) return stopAtDeadline();
      // Whatever the stream reported when the timeout cut it, the reason is the timeout.
      const error = attemptTimeout.aborted
        ? new DownloadNetworkError(`transfer took longer than ${deps.transferTimeoutMs} ms`, { cause: thrown, timeout: true })
        : rootCause(thrown);
      const code = codeOf(error);
      lastCode = code;
      // An attempt that moved the checkpoint forward (cut by its time limit, or a broken
      // connection, while bytes were arriving) is not a failed try: the next one resumes
      // there, and only attempts that made no progress count toward UPLOAD_MAX_ATTEMPTS.
      const progressed = (checkpoint?.bytesCommitted ?? 0) > committedBefore;
      if (progressed) history.attempts--;
      if (resumeLost(thrown)) {
        // What the checkpoint names is gone from the store (an aborted or expired multipart upload): from byte 0.
        deps.logger.warn('the checkpoint cannot be resumed any more: the next attempt starts from byte 0', { ...log, reason: describeError(error) });
        checkpoint = undefined;
        await deps.ledger.checkpoint(fileId, owner, null, deps.now());
      }
      history.byCode[code] = (history.byCode[code] ?? 0) + 1;
      if (code === 'unauthorized' && usedToken?.source === 'oauth') deps.tokens.invalidateOAuth(usedToken.token);
      const decided = decide(error, history, deps.policy);
      // Bytes were arriving: continue at once from the checkpoint rather than backing off.
      const decision = progressed && decided.action === 'retry' ? { ...decided, delayMs: 0 } : decided;
      deps.logger.warn('transfer attempt failed', { ...log, attempt: tries, counted: history.attempts, code, reason: describeError(error), decision: decision.action, committed: checkpoint?.bytesCommitted ?? 0, progressed });
      if (decision.action === 'fail') {
        const failedAt = deps.now();
        const nextAttemptAt = nextAutoRetryAt(deps.autoRetry, { retryable: decision.retryable, autoRetries }, failedAt);
        await publishOrRelease(deps, fileId, owner, fileUploadFailed(event, decision, tries, nextAttemptAt));
        await deps.ledger.fail(fileId, owner, { code: decision.code, message: decision.reason, retryable: decision.retryable }, failedAt, { nextAttemptAt });
        if (nextAttemptAt !== undefined) {
          deps.logger.info('retryable failure: the recovery sweep re-drives it by itself', { ...log, code: decision.code, autoRetries, nextAttemptAt: new Date(nextAttemptAt).toISOString() });
        }
        return { outcome: 'failed', code: decision.code, retryable: decision.retryable, attempts: tries, ...(nextAttemptAt !== undefined ? { nextAttemptAt } : {}) };
      }
      freshOAuth ||= decision.freshOAuthToken;
      // A wait that would end past the deadline leaves no time for another attempt: stop now.
      if (decision.delayMs >= timeLeft(deps)) return stopAtDeadline();
      await sleep(decision.delayMs);
      continue;
    }
    if (result.rangeRefused) deps.logger.warn('Zoom answered the ranged request with the whole file: the transfer started over from byte 0', { ...log, checkpoint: committedBefore });
    if (result.resumeRefused) deps.logger.warn('the checkpoint could not be resumed: started over from byte 0', { ...log, reason: result.resumeRefused });
    return finishUpload(event, deps, owner, groupKey, result, { transferMs: deps.now() - started, attempts: tries, tokenSource: usedToken.source }, log);
  }
}

/**
 * The object is committed: announce it, then mark the ledger. A publish that fails
 * after the bus's own retries releases the lease and throws, so the run is retried
 * (the retry finds the same bytes under the key and counts them as archived; the event is idempotent).
 */
async function finishUpload(
  event: ParsedEvent<typeof DetailType.FileUploadRequested>,
  deps: UploaderDeps,
  owner: string,
  groupKey: string,
  result: TransferResult,
  stats: { transferMs: number; attempts: number; tokenSource: string },
  log: Record<string, unknown>,
): Promise<UploadOutcome> {
  const fileId = event.detail.file.fileId;
  await publishOrRelease(deps, fileId, owner, fileUploaded(event, result, stats.transferMs, stats.attempts));
  const checksum = { algorithm: 'sha256' as const, value: result.sha256 };
  if (!(await deps.ledger.complete(fileId, owner, { size: result.size, checksum, location: result.location }, deps.now()))) {
    deps.logger.warn('uploaded and announced, but the lease was lost first: the run that owns the file now will finish it', log);
    return { outcome: 'lease_lost' };
  }
  deps.logger.info('file archived', { ...log, bytes: result.size, sha256: result.sha256, ...stats });
  await announceIfGroupComplete(event, deps, groupKey);
  return { outcome: 'uploaded', result, attempts: stats.attempts };
}

/** Whether the store said the checkpoint can no longer be resumed (ArchiveResumeLostError, anywhere in the cause chain). */
function resumeLost(error: unknown): boolean {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 8; current = (current as { cause?: unknown }).cause, depth++) {
    if (current instanceof ArchiveResumeLostError) return true;
  }
  return false;
}

/** Milliseconds until the run's deadline; Infinity without one (one machine). */
function timeLeft(deps: UploaderDeps): number {
  return deps.deadlineAt === undefined ? Infinity : deps.deadlineAt - deps.now();
}

/**
 * The files announced together by RecordingArchived: those of one RecordingAvailable
 * (trigger + part). A webhook delivered twice is one group; each reconciliation run
 * that asks for files is a group of its own (`sweep:<runId>`), so that the files a
 * later run finds are announced too.
 */
export function announcementGroup(request: FileUploadRequested): string {
  const trigger = request.reconciliationRunId ? `${request.trigger}:${request.reconciliationRunId}` : request.trigger;
  return ledgerGroupKey(request.recordingId, `${trigger}#${request.part.index}`);
}

/** Publishes, or gives the file back (lease released) and throws, so that the run is retried. */
async function publishOrRelease(deps: UploaderDeps, fileId: string, owner: string, event: DomainEvent): Promise<void> {
  try {
    await deps.publisher.publish([event]);
  } catch (error) {
    await deps.ledger.release(fileId, owner, deps.now());
    throw error;
  }
}

/** Renews the lease while the transfer runs; aborts the signal if it is lost. */
function keepLease(deps: UploaderDeps, fileId: string, owner: string): { signal: AbortSignal; stop(): void } {
  const controller = new AbortController();
  const timer = setInterval(() => {
    deps.ledger.renew(fileId, owner, deps.leaseMs, deps.now()).then(
      (kept) => {
        if (!kept) controller.abort(new Error('lease lost'));
      },
      (error: unknown) => deps.logger.warn('lease renewal failed; will try again', { fileId, error: describeError(error) }),
    );
  }, Math.max(100, Math.floor(deps.leaseMs / 3)));
  timer.unref();
  return { signal: controller.signal, stop: () => clearInterval(timer) };
}

function openWebhookToken(request: FileUploadRequested, sealer: TokenSealer | undefined) {
  const sealed = request.downloadAccess?.sealedToken;
  const token = sealed && sealer ? sealer.open(sealed) : undefined;
  return token ? { token, expiresAt: request.downloadAccess?.expiresAt } : undefined;
}

async function announceIfGroupComplete(event: ParsedEvent<typeof DetailType.FileUploadRequested>, deps: UploaderDeps, groupKey: string): Promise<void> {
  const request = event.detail;
  const entries = await deps.ledger.listGroup(groupKey);
  const uploaded = entries.filter((entry) => entry.state === 'uploaded' && entry.result);
  if (uploaded.length < request.acceptedFileCount) return;
  if (!(await deps.ledger.claimGroupAnnouncement(groupKey, deps.now()))) return;
  await deps.publisher.publish([
    {
      detailType: DetailType.RecordingArchived,
      detail: {
        metadata: deriveMetadata({ metadata: request.metadata, eventId: event.id }, { schemaVersion: SCHEMA_VERSIONS[DetailType.RecordingArchived], idempotencyKey: `RecordingArchived:${groupKey}` }),
        recordingId: request.recordingId,
        course: request.course,
        part: request.part,
        files: uploaded.map((entry) => ({ fileId: entry.fileId, location: entry.result!.location, size: entry.result!.size, checksum: entry.result!.checksum })),
      },
    },
  ]);
  deps.logger.info('recording archived: every accepted file uploaded', { correlationId: request.metadata.correlationId, recordingId: request.recordingId, files: uploaded.length });
}

function fileUploaded(event: ParsedEvent<typeof DetailType.FileUploadRequested>, result: TransferResult, transferMs: number, attempts: number): DomainEvent {
  const request = event.detail;
  return {
    detailType: DetailType.FileUploaded,
    detail: {
      metadata: deriveMetadata({ metadata: request.metadata, eventId: event.id }, { schemaVersion: SCHEMA_VERSIONS[DetailType.FileUploaded], idempotencyKey: `FileUploaded:${request.file.fileId}` }),
      recordingId: request.recordingId,
      fileId: request.file.fileId,
      course: request.course,
      fileType: request.file.fileType,
      recordingType: request.file.recordingType,
      recordingStart: request.file.recordingStart,
      location: result.location,
      size: result.size,
      checksum: { algorithm: 'sha256', value: result.sha256 },
      transferMs,
      attempts,
      ...(result.resumedFrom > 0 ? { resumedFrom: result.resumedFrom } : {}),
      ...(result.rangeRefused ? { rangeRefused: true } : {}),
    },
  };
}

function fileUploadFailed(
  event: ParsedEvent<typeof DetailType.FileUploadRequested>,
  decision: { code: FailureCode; reason: string; retryable: boolean },
  attempts: number,
  nextAttemptAt?: number,
): DomainEvent {
  const request = event.detail;
  return {
    detailType: DetailType.FileUploadFailed,
    detail: {
      metadata: deriveMetadata({ metadata: request.metadata, eventId: event.id }, { schemaVersion: SCHEMA_VERSIONS[DetailType.FileUploadFailed], idempotencyKey: `FileUploadFailed:${request.file.fileId}:${event.id}` }),
      recordingId: request.recordingId,
      fileId: request.file.fileId,
      course: request.course,
      archiveKey: request.archiveKey,
      code: decision.code,
      reason: decision.reason,
      retryable: decision.retryable,
      attempts,
      ...(nextAttemptAt !== undefined ? { nextAttemptAt: new Date(nextAttemptAt).toISOString() } : {}),
    },
  };
}
