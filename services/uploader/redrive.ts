/**
 * Re-drives files through the uploader by publishing their FileUploadRequested again
 * (from the request the ledger kept; the ledger then decides, so an uploaded file is
 * never sent twice). Two callers: the recovery sweep (leases that expired with no
 * one finishing — a crashed process or Lambda —, runs stopped at their deadline, and
 * requests never claimed), and the `retry` command for failed files. The sealed
 * webhook token is not kept, so re-driven transfers use OAuth.
 *
 * The sweep counts, per file, the re-drives of runs that ended without an outcome.
 * Without a cap a file too slow for any run would be re-driven from byte 0 forever;
 * past `maxRedrives` it is failed as `deadline` (retryable: `retry` may still help,
 * e.g. once Zoom serves faster) and not re-driven as interrupted again.
 *
 * Automatic re-drive: the sweep also re-publishes failed files that are due
 * (`nextAttemptAt <= now`, set by the uploader for retryable failures, and by the sweep
 * itself for `deadline`), marked first with noteAutoRetry, carrying `autoRetry:
 * {attempt, maxAttempts}`. Each counts in the entry's `autoRetries`, and a failure is
 * scheduled only while `autoRetries < maxAttempts`: so even a file that keeps hitting
 * the re-drive cap (`deadline` → automatic re-drive → killed → `deadline` …) gets at
 * most `maxAttempts` more runs, then waits for `retry`.
 */
import { DetailType, deriveMetadata, SCHEMA_VERSIONS, type DomainEvent, type FileUploadRequested } from '../../shared/events';
import type { AppLogger } from '../../shared/logger';
import type { EventPublisher } from '../../shared/ports/event-publisher';
import type { LedgerEntry, LedgerError, LedgerRequest, UploadLedger } from '../../shared/ports/upload-ledger';
import { describeError, nextAutoRetryAt, type AutoRetryPolicy } from './failure-policy';

export interface RedriveDeps {
  ledger: UploadLedger;
  publisher: EventPublisher;
  logger: AppLogger;
  now: () => number;
}

export interface RecoveryDeps extends RedriveDeps {
  /** A requested entry untouched this long is considered lost (its run died before claiming, or its re-drive was lost). */
  staleAfterMs: number;
  /** Re-drives of runs that ended without an outcome, per file, before the file is failed as `deadline`. */
  maxRedrives: number;
  /** Automatic re-drive of retryable failures (AUTO_RETRY_*); `maxAttempts` 0: none. */
  autoRetry: AutoRetryPolicy;
}

export interface RedriveResult {
  redriven: string[];
  /** Entries that cannot be re-driven (no stored request, already uploaded, changed while the sweep looked). */
  skipped: { fileId: string; why: string }[];
}

export interface RecoveryResult extends RedriveResult {
  /** Files given up: re-driven `maxRedrives` times already, published as FileUploadFailed `deadline`. */
  failed: string[];
  /** Failed files whose automatic re-drive was due, published again (FileUploadRequested with `autoRetry`). */
  autoRetried: string[];
}

export async function redrive(entries: readonly LedgerEntry[], deps: RedriveDeps, why: string): Promise<RedriveResult> {
  const result: RedriveResult = { redriven: [], skipped: [] };
  const events: DomainEvent[] = [];
  for (const entry of entries) {
    if (entry.state === 'uploaded') result.skipped.push({ fileId: entry.fileId, why: 'already uploaded' });
    else if (!entry.request) result.skipped.push({ fileId: entry.fileId, why: 'the ledger holds no request to re-drive' });
    else {
      events.push(requestEvent(entry.request));
      result.redriven.push(entry.fileId);
    }
  }
  if (events.length > 0) await deps.publisher.publish(events);
  if (result.redriven.length > 0) deps.logger.info(`re-driven ${result.redriven.length} file(s): ${why}`, { fileIds: result.redriven });
  return result;
}

/**
 * Whether an abandoned entry is a run that ended without an outcome, which counts
 * towards the cap: a lease that expired (the run was killed or crashed), or a run that
 * stopped at its deadline. A request never claimed, or handed back at a graceful
 * shutdown, or re-driven and still waiting in the bus, cost no transfer: not counted.
 */
export function endedWithoutOutcome(entry: LedgerEntry): boolean {
  return entry.state === 'uploading' || entry.interruptedAt !== undefined;
}

/**
 * The recovery sweep: uploads whose lease expired (their run died), runs that stopped
 * at their deadline, and requests not claimed for `staleAfterMs` (a run died between
 * register and claim, or a re-drive was lost). Each is first marked in the ledger — one conditional write, so a delivery
 * that claimed it meanwhile or a second sweep wins and this one skips it — then
 * re-published; one re-driven too often is failed instead (with a `nextAttemptAt`
 * while automatic re-drives are left). Then the failed entries whose automatic
 * re-drive is due: marked with noteAutoRetry, re-published with `autoRetry`.
 */
export async function recoverStalledUploads(deps: RecoveryDeps): Promise<RecoveryResult> {
  const now = deps.now();
  const expired = await deps.ledger.listExpiredLeases(now);
  // A run that stopped at its deadline is known to be over: no need to wait for it to look stale.
  const requested = (await deps.ledger.listByState('requested')).filter(
    (entry) => entry.interruptedAt !== undefined || entry.updatedAt <= now - deps.staleAfterMs,
  );
  // Due failures, unless automatic re-drive was turned off, or lowered below what the entry had, since it was scheduled.
  const due =
    deps.autoRetry.maxAttempts > 0
      ? (await deps.ledger.listDueRetries(now)).filter((entry) => entry.autoRetries < deps.autoRetry.maxAttempts)
      : [];
  const result: RecoveryResult = { redriven: [], skipped: [], failed: [], autoRetried: [] };
  const events: DomainEvent[] = [];
  for (const entry of [...expired, ...requested]) {
    if (!entry.request) {
      result.skipped.push({ fileId: entry.fileId, why: 'the ledger holds no request to re-drive' });
      continue;
    }
    const counted = endedWithoutOutcome(entry);
    if (counted && entry.redrives >= deps.maxRedrives) {
      try {
        if (await giveUp(entry, entry.request, deps, now)) result.failed.push(entry.fileId);
        else result.skipped.push({ fileId: entry.fileId, why: 'changed while the sweep looked' });
      } catch (error) {
        // The entry is still abandoned, so the next sweep tries again; the others go on.
        deps.logger.warn('could not give up a file re-driven too often; the next sweep tries again', { fileId: entry.fileId, error: describeError(error) });
        result.skipped.push({ fileId: entry.fileId, why: 'giving it up failed; the next sweep tries again' });
      }
      continue;
    }
    if (!(await deps.ledger.noteRedrive(entry, counted, now))) {
      result.skipped.push({ fileId: entry.fileId, why: 'changed while the sweep looked' });
      continue;
    }
    events.push(requestEvent(entry.request));
    result.redriven.push(entry.fileId);
  }
  const autoRetries: { fileId: string; attempt: number; lastError?: string }[] = [];
  for (const entry of due) {
    if (!entry.request) {
      result.skipped.push({ fileId: entry.fileId, why: 'the ledger holds no request to re-drive' });
      continue;
    }
    if (!(await deps.ledger.noteAutoRetry(entry, now))) {
      result.skipped.push({ fileId: entry.fileId, why: 'changed while the sweep looked' });
      continue;
    }
    const attempt = entry.autoRetries + 1;
    events.push({ detailType: DetailType.FileUploadRequested, detail: autoRetryRequest(entry.request, attempt, deps.autoRetry.maxAttempts) });
    result.autoRetried.push(entry.fileId);
    autoRetries.push({ fileId: entry.fileId, attempt, lastError: entry.lastError?.code });
  }
  // Marked before published: a publish that fails leaves them requested, and the next
  // sweep past `staleAfterMs` re-drives them (not counted again, as no run was lost).
  if (events.length > 0) await deps.publisher.publish(events);
  if (result.redriven.length > 0) deps.logger.info(`re-driven ${result.redriven.length} file(s): recovery of interrupted uploads`, { fileIds: result.redriven });
  for (const retry of autoRetries) {
    deps.logger.info(`automatic retry ${retry.attempt}/${deps.autoRetry.maxAttempts} of a retryable failure: request published again`, retry);
  }
  return result;
}

/** The stored request, re-published as the n-th automatic re-drive: its own idempotency key, caused by the original request. */
function autoRetryRequest(request: LedgerRequest, attempt: number, maxAttempts: number): FileUploadRequested {
  return {
    ...request,
    metadata: deriveMetadata(
      { metadata: request.metadata },
      { schemaVersion: SCHEMA_VERSIONS[DetailType.FileUploadRequested], idempotencyKey: `FileUploadRequested:${request.file.fileId}:auto-retry:${attempt}` },
    ),
    autoRetry: { attempt, maxAttempts },
  };
}

/**
 * Publishes FileUploadFailed `deadline`, then marks the entry failed if it is still as
 * the sweep read it. Published first: a lost failure would leave the file out of
 * `status --failed`, while a repeat (the mark failed, the next sweep publishes again)
 * carries the same idempotency key.
 */
async function giveUp(entry: LedgerEntry, request: LedgerRequest, deps: RecoveryDeps, now: number): Promise<boolean> {
  const error: LedgerError = {
    code: 'deadline',
    message: `re-driven ${entry.redrives} time(s) after runs that ended without an outcome (killed, or out of time); the recovery sweep stopped re-driving it`,
    retryable: true,
  };
  // Retryable like any other: one more run later, while automatic re-drives are left (autoRetries bounds the loop).
  const nextAttemptAt = nextAutoRetryAt(deps.autoRetry, { retryable: error.retryable, autoRetries: entry.autoRetries }, now);
  await deps.publisher.publish([
    {
      detailType: DetailType.FileUploadFailed,
      detail: {
        metadata: deriveMetadata({ metadata: request.metadata }, { schemaVersion: SCHEMA_VERSIONS[DetailType.FileUploadFailed], idempotencyKey: `FileUploadFailed:${entry.fileId}:redrives:${entry.attempts}` }),
        recordingId: request.recordingId,
        fileId: entry.fileId,
        course: request.course,
        archiveKey: request.archiveKey,
        code: 'deadline',
        reason: error.message,
        retryable: error.retryable,
        attempts: entry.attempts,
        ...(nextAttemptAt !== undefined ? { nextAttemptAt: new Date(nextAttemptAt).toISOString() } : {}),
      },
    },
  ]);
  if (await deps.ledger.failAbandoned(entry, error, now, { nextAttemptAt })) {
    deps.logger.warn('re-driven too often: file failed as deadline', {
      fileId: entry.fileId,
      redrives: entry.redrives,
      attempts: entry.attempts,
      autoRetries: entry.autoRetries,
      nextAttemptAt: nextAttemptAt === undefined ? undefined : new Date(nextAttemptAt).toISOString(),
    });
    return true;
  }
  deps.logger.warn('file changed while the sweep gave it up: its FileUploadFailed stands, the new run decides its end', { fileId: entry.fileId });
  return false;
}

function requestEvent(request: LedgerRequest): DomainEvent {
  return { detailType: DetailType.FileUploadRequested, detail: request };
}

/** `zoom-archiver retry`: one file by id, or every failed file updated since a time. */
export async function retryFailed(deps: RedriveDeps, target: { fileId: string } | { since?: number }): Promise<RedriveResult> {
  if ('fileId' in target) {
    const entry = await deps.ledger.get(target.fileId);
    if (!entry) return { redriven: [], skipped: [{ fileId: target.fileId, why: 'no such file in the ledger' }] };
    return redrive([entry], deps, 'retry requested');
  }
  return redrive(await deps.ledger.listByState('failed', { updatedSince: target.since }), deps, 'retry of failed files');
}
