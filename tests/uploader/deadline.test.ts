/**
 * One deadline per Lambda invocation, through the handler's own entry point: the
 * invocation's remaining time (a fake Context) bounds every attempt and back-off wait
 * together, against real HTTP downloads from the Zoom simulator. Before the deadline
 * the run stops, hands the file back with a note, and the recovery sweep re-drives it.
 *
 * Timing assertions are one-sided with wide slack: the budget is 5 s and the deadline
 * 2 s before it, so "returned within the budget" holds on a loaded machine too.
 */
import { handleUpload } from '../../services/uploader/handler';
import { recoverStalledUploads } from '../../services/uploader/redrive';
import { DetailType } from '../../shared/events';
import { silentLogger } from '../../shared/logger';
import { busEvent } from '../support/pipeline';
import { mp4, startHarness, type Harness } from './harness';

const MiB = 1024 * 1024;
/** What Lambda says is left of the invocation. */
const REMAINING_MS = 5_000;
/** Kept for stopping and recording: the run's deadline is REMAINING_MS - MARGIN_MS from the start. */
const MARGIN_MS = 2_000;
const context = { getRemainingTimeInMillis: () => REMAINING_MS };

describe('the Lambda handler: one deadline for the whole invocation', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('folder');
  });
  afterAll(() => h.stop());
  beforeEach(() => h.publisher.published.splice(0));

  it('stops a download that keeps failing with 5xx before the deadline, across attempts and waits, and hands the file back', async () => {
    const [request] = await h.requestsFor({ files: [mp4(MiB)] });
    const fileId = request!.detail.file.fileId;
    h.simulator.setFault(fileId, { status: 503 });
    // Enough attempts and long enough waits that, per attempt, they would outlast the invocation.
    const deps = { ...h.deps, policy: { maxAttempts: 20, backoff: { baseMs: 300, maxMs: 600 }, maxRetryAfterMs: 5_000 } };

    const started = Date.now();
    const outcome = await handleUpload(busEvent(DetailType.FileUploadRequested, request!.detail), context, deps, MARGIN_MS);
    const elapsed = Date.now() - started;

    expect(outcome).toMatchObject({ outcome: 'deadline' });
    expect(elapsed).toBeLessThan(REMAINING_MS);
    // Several attempts shared the one budget, and the loop did not run to its 20 attempts.
    const requests = h.simulator.stats(fileId).downloadRequests;
    expect(requests).toBeGreaterThanOrEqual(2);
    expect(requests).toBeLessThan(20);
    expect(outcome.outcome === 'deadline' && outcome.attempts).toBe(requests);

    // The lease is released and the ledger says why.
    const entry = await h.ledger.get(fileId);
    expect(entry).toMatchObject({ state: 'requested', lastError: { code: 'deadline', retryable: true } });
    expect(entry?.leaseOwner).toBeUndefined();
    expect(entry?.interruptedAt).toEqual(expect.any(Number));
    expect(entry?.lastError?.message).toContain('download_failed');
    // Nothing final was announced, nothing stored.
    expect(h.publisher.ofType(DetailType.FileUploadFailed)).toEqual([]);
    expect(await h.store.head(request!.detail.archiveKey)).toBeUndefined();
  });

  it('cuts a slow single attempt at the deadline, not at the per-attempt timeout, and the sweep re-drives it at once, counted', async () => {
    const [request] = await h.requestsFor({ files: [mp4(2 * MiB)] });
    const fileId = request!.detail.file.fileId;
    // 2 MiB at 64 KiB/s is 32 s; the per-attempt timeout alone (20 s in the harness) would let it run far past the budget.
    h.simulator.setFault(fileId, { bytesPerSecond: 64 * 1024 });

    const started = Date.now();
    const outcome = await handleUpload(busEvent(DetailType.FileUploadRequested, request!.detail), context, h.deps, MARGIN_MS);
    const elapsed = Date.now() - started;

    expect(outcome).toEqual({ outcome: 'deadline', attempts: 1 });
    expect(elapsed).toBeLessThan(REMAINING_MS);
    expect(h.simulator.stats(fileId).downloadRequests).toBe(1);
    expect(await h.store.head(request!.detail.archiveKey)).toBeUndefined();
    expect(await h.ledger.get(fileId)).toMatchObject({ state: 'requested', redrives: 0, lastError: { code: 'deadline' } });

    // The stopped run is known to be over: the sweep need not wait for it to look stale.
    const swept = await recoverStalledUploads({
      ledger: h.ledger,
      publisher: h.publisher,
      logger: silentLogger,
      now: Date.now,
      staleAfterMs: 15 * 60_000,
      maxRedrives: 3,
      autoRetry: { baseMs: 300_000, maxAttempts: 8 },
    });

    expect(swept.redriven).toContain(fileId);
    expect(h.publisher.ofType(DetailType.FileUploadRequested).map((r) => r.file.fileId)).toContain(fileId);
    const after = await h.ledger.get(fileId);
    expect(after).toMatchObject({ state: 'requested', redrives: 1 });
    expect(after?.interruptedAt).toBeUndefined();

    // The re-driven delivery, with Zoom fast again, archives the file.
    h.simulator.setFault(fileId, undefined);
    expect((await handleUpload(busEvent(DetailType.FileUploadRequested, request!.detail), context, h.deps, MARGIN_MS)).outcome).toBe('uploaded');
  });

  it('without a deadline (one machine) keeps each attempt to its own timeout, as before', async () => {
    const [request] = await h.requestsFor({ files: [mp4(MiB)] });
    h.simulator.setFault(request!.detail.file.fileId, { bytesPerSecond: 64 * 1024 });

    const outcome = await h.upload(request!, { transferTimeoutMs: 300, policy: { maxAttempts: 2, backoff: { baseMs: 1, maxMs: 2 }, maxRetryAfterMs: 1000 } });

    expect(outcome).toMatchObject({ outcome: 'failed', code: 'timeout', attempts: 2 });
  });
});
