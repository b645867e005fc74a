/**
 * The uploader schedules automatic re-drives: a failure that is final for the run but
 * retryable gets `nextAttemptAt = now + base × 2^autoRetries` in the ledger and in
 * FileUploadFailed, while the file has automatic re-drives left; a permanent failure
 * (whatever `decide` marks `retryable: false`) never gets one, and neither does a file
 * whose automatic re-drives are used up. Real HTTP against the Zoom simulator, a SQLite
 * ledger, a fixed clock so that the times are exact.
 */
import { Readable } from 'node:stream';
import { DetailType } from '../../shared/events';
import type { ZoomFault } from '../../tools/zoom-simulator/simulator';
import { autoRetryDelayMs, nextAutoRetryAt, type AutoRetryPolicy } from '../../services/uploader/failure-policy';
import type { UploaderDeps } from '../../services/uploader/use-case';
import { mp4, startHarness, type Harness } from './harness';

const MiB = 1024 * 1024;
const BASE = 60_000;
const MAX = 3;
const AUTO: AutoRetryPolicy = { baseMs: BASE, maxAttempts: MAX };

describe('nextAutoRetryAt', () => {
  const now = Date.UTC(2026, 10, 26, 9, 0, 0);

  it('doubles the wait with each automatic re-drive: the n-th is due base × 2^(n-1) after the failure', () => {
    expect([1, 2, 3, 4].map((n) => autoRetryDelayMs({ baseMs: 300_000 }, n))).toEqual([300_000, 600_000, 1_200_000, 2_400_000]);
    expect([0, 1, 2].map((autoRetries) => nextAutoRetryAt(AUTO, { retryable: true, autoRetries }, now))).toEqual([now + BASE, now + 2 * BASE, now + 4 * BASE]);
  });

  it('gives none to a permanent failure, past the maximum, with 0 attempts, or without a policy', () => {
    expect(nextAutoRetryAt(AUTO, { retryable: false, autoRetries: 0 }, now)).toBeUndefined();
    expect(nextAutoRetryAt(AUTO, { retryable: true, autoRetries: MAX }, now)).toBeUndefined();
    expect(nextAutoRetryAt(AUTO, { retryable: true, autoRetries: MAX + 5 }, now)).toBeUndefined();
    expect(nextAutoRetryAt({ baseMs: BASE, maxAttempts: 0 }, { retryable: true, autoRetries: 0 }, now)).toBeUndefined();
    expect(nextAutoRetryAt(undefined, { retryable: true, autoRetries: 0 }, now)).toBeUndefined();
  });
});

describe('uploader: automatic re-drive of retryable failures', () => {
  let h: Harness;
  let now: number;
  let deps: Partial<UploaderDeps>;
  beforeAll(async () => {
    h = await startHarness('folder');
  });
  afterAll(() => h.stop());
  beforeEach(() => {
    h.publisher.published.splice(0);
    now = Date.now();
    deps = { now: () => now, autoRetry: AUTO, policy: { maxAttempts: 2, backoff: { baseMs: 1, maxMs: 5 }, maxRetryAfterMs: 1_000 } };
  });

  const failures = () => h.publisher.ofType(DetailType.FileUploadFailed);
  /** What the recovery sweep does to a due entry: mark it (→ requested, autoRetries + 1). */
  const markDue = async (fileId: string) => {
    const [due] = (await h.ledger.listDueRetries(Number.MAX_SAFE_INTEGER)).filter((e) => e.fileId === fileId);
    expect(await h.ledger.noteAutoRetry(due!, due!.nextAttemptAt!)).toBe(true);
  };

  it('schedules a 5xx storm beyond the attempts at now + base, in the ledger and in FileUploadFailed', async () => {
    const [request] = await h.requestsFor({ files: [mp4(MiB)] });
    const fileId = request!.detail.file.fileId;
    h.simulator.setFault(fileId, { status: 503 });

    const outcome = await h.upload(request!, deps);

    expect(outcome).toEqual({ outcome: 'failed', code: 'download_failed', retryable: true, attempts: 2, nextAttemptAt: now + BASE });
    expect(await h.ledger.get(fileId)).toMatchObject({ state: 'failed', autoRetries: 0, nextAttemptAt: now + BASE, lastError: { code: 'download_failed', retryable: true } });
    expect(failures()).toEqual([expect.objectContaining({ fileId, code: 'download_failed', retryable: true, nextAttemptAt: new Date(now + BASE).toISOString() })]);
  });

  it('doubles the wait with each automatic re-drive the file already had (base × 2^autoRetries), and gives none once they are used up', async () => {
    const [request] = await h.requestsFor({ files: [mp4(MiB)] });
    const fileId = request!.detail.file.fileId;
    h.simulator.setFault(fileId, { status: 500 });

    const scheduled: (number | undefined)[] = [];
    for (let k = 0; k <= MAX; k++) {
      if (k > 0) await markDue(fileId);
      const outcome = await h.upload(request!, deps);
      expect(outcome).toMatchObject({ outcome: 'failed', retryable: true });
      const entry = (await h.ledger.get(fileId))!;
      expect(entry.autoRetries).toBe(k);
      scheduled.push(entry.nextAttemptAt === undefined ? undefined : entry.nextAttemptAt - now);
      expect(failures().at(-1)?.nextAttemptAt).toBe(entry.nextAttemptAt === undefined ? undefined : new Date(entry.nextAttemptAt).toISOString());
    }

    expect(scheduled).toEqual([BASE, 2 * BASE, 4 * BASE, undefined]);
    expect(await h.upload(request!, deps)).not.toHaveProperty('nextAttemptAt');
    expect(await h.ledger.listDueRetries(Number.MAX_SAFE_INTEGER)).not.toContainEqual(expect.objectContaining({ fileId }));
  });

  it('gives no schedule without an automatic re-drive policy (AUTO_RETRY_MAX_ATTEMPTS=0 or absent)', async () => {
    const [request] = await h.requestsFor({ files: [mp4(MiB)] });
    const fileId = request!.detail.file.fileId;
    h.simulator.setFault(fileId, { status: 503 });

    expect(await h.upload(request!, { ...deps, autoRetry: { baseMs: BASE, maxAttempts: 0 } })).not.toHaveProperty('nextAttemptAt');
    expect((await h.ledger.get(fileId))?.nextAttemptAt).toBeUndefined();
    expect(failures()[0]).toMatchObject({ retryable: true });
    expect(failures()[0]!.nextAttemptAt).toBeUndefined();
  });

  it.each<[string, ZoomFault, string]>([
    ['404', { status: 404 }, 'not_found'],
    ['a redirect to a foreign host', { redirectTo: 'http://localhost:9/evil' }, 'foreign_host'],
    ['an HTML page, even after a fresh OAuth token', { htmlPage: true }, 'not_media'],
    ['a wrong size, twice', { wrongSize: -1000 }, 'size_mismatch'],
  ])('never schedules a permanent failure: %s', async (_name, fault, code) => {
    const [request] = await h.requestsFor({ files: [mp4(MiB)] });
    const fileId = request!.detail.file.fileId;
    h.simulator.setFault(fileId, fault);

    const outcome = await h.upload(request!, deps);

    expect(outcome).toMatchObject({ outcome: 'failed', code, retryable: false });
    expect(outcome).not.toHaveProperty('nextAttemptAt');
    const entry = await h.ledger.get(fileId);
    expect(entry).toMatchObject({ state: 'failed', autoRetries: 0 });
    expect(entry?.nextAttemptAt).toBeUndefined();
    expect(failures()).toEqual([expect.objectContaining({ fileId, code, retryable: false })]);
    expect(failures()[0]!.nextAttemptAt).toBeUndefined();
  });

  it('never schedules a key conflict', async () => {
    const [request] = await h.requestsFor({ files: [mp4(MiB)] });
    const other = Buffer.alloc(MiB, 7);
    await h.store.put({ key: request!.detail.archiveKey, body: Readable.from([other]), contentLength: other.length, metadata: {} });

    const outcome = await h.upload(request!, deps);

    expect(outcome).toMatchObject({ outcome: 'failed', code: 'key_conflict', retryable: false });
    expect((await h.ledger.get(request!.detail.file.fileId))?.nextAttemptAt).toBeUndefined();
    expect(failures()[0]!.nextAttemptAt).toBeUndefined();
  });

  it('never schedules a request the ledger refuses (ledger_refused)', async () => {
    const [request] = await h.requestsFor({ files: [mp4(MiB)] });
    const oversized = { ...request!, detail: { ...request!.detail, topic: `[UPL101] ${'a very long topic '.repeat(1_200)}` } };

    expect(await h.upload(oversized, deps)).toEqual({ outcome: 'failed', code: 'ledger_refused', retryable: false, attempts: 0 });
    expect(failures()[0]!.nextAttemptAt).toBeUndefined();
  });

  it('archives the file when its automatic re-drive finds Zoom healthy again, keeping the count', async () => {
    const [request] = await h.requestsFor({ files: [mp4(2 * MiB)] });
    const fileId = request!.detail.file.fileId;
    h.simulator.setFault(fileId, { status: 503, times: 2 });
    expect(await h.upload(request!, deps)).toMatchObject({ outcome: 'failed', retryable: true, nextAttemptAt: now + BASE });

    await markDue(fileId);
    now += BASE;
    expect((await h.upload(request!, deps)).outcome).toBe('uploaded');

    expect(await h.ledger.get(fileId)).toMatchObject({ state: 'uploaded', autoRetries: 1 });
    expect((await h.ledger.get(fileId))?.nextAttemptAt).toBeUndefined();
    expect(await h.archivedSha256(request!.detail.archiveKey)).toBe(await h.simulator.expectedSha256(fileId));
  });
});
