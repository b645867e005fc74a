/**
 * Re-drives files through the uploader by publishing their FileUploadRequested again
 * (from the request the ledger kept; the ledger then decides, so an uploaded file is
 * never sent twice). Three callers: the recovery sweep (leases that expired with no
 * one finishing — a crashed process or Lambda — and requests never claimed), and the
 * `retry` command for failed files. The sealed webhook token is not kept, so re-driven
 * transfers use OAuth.
 */
import { DetailType, type DomainEvent } from '../../shared/events';
import type { AppLogger } from '../../shared/logger';
import type { EventPublisher } from '../../shared/ports/event-publisher';
import type { LedgerEntry, UploadLedger } from '../../shared/ports/upload-ledger';

export interface RedriveDeps {
  ledger: UploadLedger;
  publisher: EventPublisher;
  logger: AppLogger;
  now: () => number;
}

export interface RedriveResult {
  redriven: string[];
  /** Entries that cannot be re-driven (no stored request, or already uploaded). */
  skipped: { fileId: string; why: string }[];
}

export async function redrive(entries: readonly LedgerEntry[], deps: RedriveDeps, why: string): Promise<RedriveResult> {
  const result: RedriveResult = { redriven: [], skipped: [] };
  const events: DomainEvent[] = [];
  for (const entry of entries) {
    if (entry.state === 'uploaded') result.skipped.push({ fileId: entry.fileId, why: 'already uploaded' });
    else if (!entry.request) result.skipped.push({ fileId: entry.fileId, why: 'the ledger holds no request to re-drive' });
    else {
      events.push({ detailType: DetailType.FileUploadRequested, detail: entry.request });
      result.redriven.push(entry.fileId);
    }
  }
  if (events.length > 0) await deps.publisher.publish(events);
  if (result.redriven.length > 0) deps.logger.info(`re-driven ${result.redriven.length} file(s): ${why}`, { fileIds: result.redriven });
  return result;
}

/**
 * The recovery sweep: uploads whose lease expired (their run died) and requests
 * registered but not claimed for `staleAfterMs` (a run died between the two).
 */
export async function recoverStalledUploads(deps: RedriveDeps & { staleAfterMs: number }): Promise<RedriveResult> {
  const now = deps.now();
  const expired = await deps.ledger.listExpiredLeases(now);
  const requested = (await deps.ledger.listByState('requested')).filter((entry) => entry.updatedAt <= now - deps.staleAfterMs);
  return redrive([...expired, ...requested], deps, 'recovery of interrupted uploads');
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
