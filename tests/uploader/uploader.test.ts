/**
 * The uploader end to end against the Zoom simulator, with the folder store and with
 * s3rver: bytes compared by SHA-256 with what Zoom served, exactly one transfer and
 * one object per file, and every fault ending archived or FileUploadFailed with the
 * right reason — never a partial or wrong object under the final key.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderArchiveStore } from '../../shared/adapters/archive-folder';
import { silentLogger } from '../../shared/logger';
import { DetailType } from '../../shared/events';
import { LedgerStoreError, type UploadLedger } from '../../shared/ports/upload-ledger';
import { MAX_LEDGER_REQUEST_BYTES } from '../../shared/adapters/ledger-rules';
import type { ZoomFault } from '../../tools/zoom-simulator/simulator';
import { SECRET_TRACES } from '../support/secret-traces';
import { mp4, startHarness, type Harness } from './harness';

const MiB = 1024 * 1024;

describe.each(['folder', 's3'] as const)('uploader with the %s store', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(kind);
  });
  afterAll(() => h.stop());
  beforeEach(() => h.publisher.published.splice(0));

  it('archives every eligible file byte-identical, announces each, then the recording once', async () => {
    const requests = await h.requestsFor({ files: [mp4(7 * MiB + 123), mp4(MiB + 1)] });
    expect(requests).toHaveLength(2);

    const outcomes = await Promise.all(requests.map((r) => h.upload(r)));

    expect(outcomes.map((o) => o.outcome)).toEqual(['uploaded', 'uploaded']);
    for (const request of requests) {
      const expected = await h.simulator.expectedSha256(request.detail.file.fileId);
      expect(await h.archivedSha256(request.detail.archiveKey)).toBe(expected);
      expect(h.simulator.stats(request.detail.file.fileId).completedDownloads).toBe(1);
    }
    const uploaded = h.publisher.ofType(DetailType.FileUploaded);
    expect(uploaded.map((u) => u.checksum.value).sort()).toEqual(
      (await Promise.all(requests.map((r) => h.simulator.expectedSha256(r.detail.file.fileId)))).sort(),
    );
    expect(uploaded[0]!.location.kind).toBe(kind);
    const archived = h.publisher.ofType(DetailType.RecordingArchived);
    expect(archived).toHaveLength(1);
    expect(archived[0]!.files.map((f) => f.fileId).sort()).toEqual(requests.map((r) => r.detail.file.fileId).sort());
    expect(archived[0]!.metadata.correlationId).toBe(requests[0]!.detail.metadata.correlationId);
  });

  it('transfers once for ten concurrent deliveries of the same file, and once more for none later', async () => {
    const [request] = await h.requestsFor({ files: [mp4(3 * MiB)] });
    const fileId = request!.detail.file.fileId;

    const outcomes = await Promise.all(Array.from({ length: 10 }, () => h.upload(request!)));

    const counts = outcomes.reduce<Record<string, number>>((n, o) => ({ ...n, [o.outcome]: (n[o.outcome] ?? 0) + 1 }), {});
    expect(counts.uploaded).toBe(1);
    expect((counts.duplicate ?? 0) + (counts.in_progress_elsewhere ?? 0)).toBe(9);
    expect(h.simulator.stats(fileId).completedDownloads).toBe(1);
    expect(await h.archivedSha256(request!.detail.archiveKey)).toBe(await h.simulator.expectedSha256(fileId));

    // A day later, the same delivery again: acknowledged as a duplicate, nothing downloaded.
    expect((await h.upload(request!)).outcome).toBe('duplicate');
    expect(h.simulator.stats(fileId).downloadRequests).toBe(1);
    expect(h.publisher.ofType(DetailType.FileUploaded)).toHaveLength(1);
    expect((await h.ledger.get(fileId))!.duplicates).toBeGreaterThanOrEqual(1);
  });

  it('falls back to Server-to-Server OAuth when the webhook download_token has expired', async () => {
    const [request] = await h.requestsFor({ files: [mp4(MiB)], downloadTokenTtlSeconds: -60 });
    const before = h.simulator.oauthStats.issued;

    expect((await h.upload(request!)).outcome).toBe('uploaded');

    expect(h.simulator.oauthStats.issued).toBeGreaterThan(before);
    expect(await h.archivedSha256(request!.detail.archiveKey)).toBe(await h.simulator.expectedSha256(request!.detail.file.fileId));
  });

  it('survives a connection reset at 50% and leaves no partial object in between', async () => {
    const size = 6 * MiB;
    const [request] = await h.requestsFor({ files: [mp4(size)] });
    h.simulator.setFault(request!.detail.file.fileId, { times: 1, resetAfterBytes: size / 2 });

    expect((await h.upload(request!)).outcome).toBe('uploaded');
    expect(await h.archivedSha256(request!.detail.archiveKey)).toBe(await h.simulator.expectedSha256(request!.detail.file.fileId));
    expect(h.simulator.stats(request!.detail.file.fileId).downloadRequests).toBe(2);
  });

  it('fails an HTML page served with 200 as not_media and archives nothing', async () => {
    const [request] = await h.requestsFor({ files: [mp4(MiB)] });
    h.simulator.setFault(request!.detail.file.fileId, { htmlPage: true });

    const outcome = await h.upload(request!);

    expect(outcome).toMatchObject({ outcome: 'failed', code: 'not_media' });
    expect(await h.store.head(request!.detail.archiveKey)).toBeUndefined();
    const [failed] = h.publisher.ofType(DetailType.FileUploadFailed);
    expect(failed).toMatchObject({ fileId: request!.detail.file.fileId, code: 'not_media', attempts: 2 });
    expect((await h.ledger.get(request!.detail.file.fileId))!.state).toBe('failed');
  });
});

describe('uploader faults (folder store)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('folder');
  });
  afterAll(() => h.stop());
  beforeEach(() => h.publisher.published.splice(0));

  const sha = async (r: { detail: { archiveKey: string; file: { fileId: string } } }) => [
    await h.archivedSha256(r.detail.archiveKey),
    await h.simulator.expectedSha256(r.detail.file.fileId),
  ];

  it.each<[string, ZoomFault]>([
    ['a reset at 10%', { times: 1, resetAfterBytes: Math.floor(0.1 * 2 * MiB) }],
    ['a reset at 99%', { times: 1, resetAfterBytes: Math.floor(0.99 * 2 * MiB) }],
    ['a 5xx burst', { times: 2, status: 503 }],
    ['a 429 storm with Retry-After', { times: 2, status: 429, retryAfterSeconds: 1 }],
    ['a 429 storm without Retry-After', { times: 3, status: 429 }],
  ])('recovers from %s: archived once, byte-identical', async (_name, fault) => {
    const [request] = await h.requestsFor({ files: [mp4(2 * MiB)] });
    h.simulator.setFault(request!.detail.file.fileId, fault);

    expect((await h.upload(request!)).outcome).toBe('uploaded');
    const [archived, served] = await sha(request!);
    expect(archived).toBe(served);
    expect(h.simulator.stats(request!.detail.file.fileId).completedDownloads).toBe(1);
  });

  it.each([
    ['404', { status: 404 }, 'not_found', false, 1],
    ['a redirect to a foreign host', { redirectTo: 'http://localhost:9/evil' }, 'foreign_host', false, 1],
    ['a wrong size, twice', { wrongSize: -1000 }, 'size_mismatch', false, 2],
    ['a 5xx storm beyond the attempts', { status: 500 }, 'download_failed', true, 4],
    ['a refused token, even after a fresh OAuth token', { status: 401 }, 'unauthorized', true, 2],
  ])('fails %s with the right reason and no object', async (_name, fault, code, retryable, attempts) => {
    const [request] = await h.requestsFor({ files: [mp4(MiB)] });
    h.simulator.setFault(request!.detail.file.fileId, fault);

    expect(await h.upload(request!)).toMatchObject({ outcome: 'failed', code, retryable, attempts });
    expect(await h.store.head(request!.detail.archiveKey)).toBeUndefined();
    const [failed] = h.publisher.ofType(DetailType.FileUploadFailed);
    expect(failed).toMatchObject({ code, retryable, attempts });
    expect(JSON.stringify(failed)).not.toMatch(SECRET_TRACES);
  });

  it('gives up a slow drip at the transfer timeout, then a re-drive archives it', async () => {
    const [request] = await h.requestsFor({ files: [mp4(2 * MiB)] });
    const fileId = request!.detail.file.fileId;
    h.simulator.setFault(fileId, { bytesPerSecond: 64 * 1024 });

    const outcome = await h.upload(request!, { transferTimeoutMs: 300, policy: { maxAttempts: 2, backoff: { baseMs: 1, maxMs: 2 }, maxRetryAfterMs: 1000 } });
    expect(outcome).toMatchObject({ outcome: 'failed', code: 'timeout', retryable: true });
    expect(await h.store.head(request!.detail.archiveKey)).toBeUndefined();

    h.simulator.setFault(fileId, undefined);
    expect((await h.upload(request!)).outcome).toBe('uploaded');
    const [archived, served] = await sha(request!);
    expect(archived).toBe(served);
  });

  it('reports a request the ledger refuses (over its size limit) as FileUploadFailed ledger_refused, instead of throwing', async () => {
    const [request] = await h.requestsFor({ files: [mp4(MiB)] });
    const fileId = request!.detail.file.fileId;
    // ~20,000 characters: what the webhook used to accept as a topic; the stored request exceeds 16 KB.
    const oversized = { ...request!, detail: { ...request!.detail, topic: `[UPL101] ${'a very long topic '.repeat(1_200)}` } };

    const outcome = await h.upload(oversized);

    expect(outcome).toEqual({ outcome: 'failed', code: 'ledger_refused', retryable: false, attempts: 0 });
    const failures = h.publisher.ofType(DetailType.FileUploadFailed);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ fileId, code: 'ledger_refused', retryable: false, attempts: 0, archiveKey: request!.detail.archiveKey });
    expect(failures[0]!.reason).toContain(String(MAX_LEDGER_REQUEST_BYTES));
    expect(failures[0]!.reason).not.toContain('a very long topic');
    expect(JSON.stringify(failures[0])).not.toContain(request!.detail.downloadAccess!.sealedToken);
    expect(JSON.stringify(failures[0])).not.toMatch(SECRET_TRACES);
    expect(h.simulator.stats(fileId).downloadRequests).toBe(0);
    expect(await h.ledger.get(fileId)).toBeUndefined();
  });

  it('still throws a ledger failure that trying again can fix, so that the delivery is retried', async () => {
    const [request] = await h.requestsFor({ files: [mp4(MiB)] });
    const throttled: UploadLedger = Object.assign(Object.create(h.ledger) as UploadLedger, {
      register: async () => {
        throw new LedgerStoreError('DynamoDB ledger could not register (ThrottlingException): slow down', true);
      },
    });

    await expect(h.upload(request!, { ledger: throttled })).rejects.toBeInstanceOf(LedgerStoreError);
    expect(h.publisher.ofType(DetailType.FileUploadFailed)).toEqual([]);
  });

  it('lets another run take over when a run dies holding the lease', async () => {
    const [request] = await h.requestsFor({ files: [mp4(MiB)] });
    const fileId = request!.detail.file.fileId;
    await h.ledger.register({ fileId, recordingId: request!.detail.recordingId, groupKey: 'g', archiveKey: request!.detail.archiveKey, now: Date.now() });
    const crashed = await h.ledger.claim(fileId, 'dead-process:1', 50, Date.now());
    expect(crashed.outcome).toBe('claimed');

    expect((await h.upload(request!)).outcome).toBe('in_progress_elsewhere');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect((await h.upload(request!)).outcome).toBe('uploaded');
    expect(h.simulator.stats(fileId).completedDownloads).toBe(1);
  });
});

describe('a first transfer that records checkpoints as it goes', () => {
  it('reports no refused resume: there was no checkpoint to resume from', async () => {
    const h = await startHarness('folder');
    const root = mkdtempSync(join(tmpdir(), 'uploader-checkpoints-'));
    try {
      const warnings: string[] = [];
      const logger = { ...silentLogger, warn: (message: string) => void warnings.push(message) };
      const store = new FolderArchiveStore({ root, checkpointBytes: MiB });
      const checkpoints = jest.spyOn(h.ledger, 'checkpoint');
      const [request] = await h.requestsFor({ files: [mp4(5 * MiB + 7)] });
      const outcome = await h.upload(request!, { logger, store });
      expect(outcome.outcome).toBe('uploaded');
      // The transfer did record checkpoints (the case the warning got wrong), and nothing was resumed.
      expect(checkpoints.mock.calls.filter(([, , checkpoint]) => checkpoint !== null).length).toBeGreaterThan(0);
      expect(warnings).toEqual([]);
      expect(h.publisher.ofType(DetailType.FileUploaded)[0]!.resumedFrom ?? 0).toBe(0);
    } finally {
      await h.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
