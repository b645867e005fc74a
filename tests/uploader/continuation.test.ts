/**
 * A transfer longer than one Lambda invocation: each invocation stops before its
 * deadline, hands the file on (plain release + the request published again, with
 * `continuedFrom`), and the next one resumes from the checkpoint — through the
 * handler's own entry point, against real HTTP downloads from the Zoom simulator and
 * a real archive (a folder, and s3rver with our multipart driver). The file ends
 * byte-identical, downloaded about once, in as many invocations as it needs.
 */
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { handleUpload } from '../../services/uploader/handler';
import { FolderArchiveStore } from '../../shared/adapters/archive-folder';
import { DetailType, type FileUploadRequested } from '../../shared/events';
import type { ArchiveStore } from '../../shared/ports/archive-store';
import { busEvent } from '../support/pipeline';
import { mp4, startHarness, type Harness } from './harness';

const MiB = 1024 * 1024;
/** What Lambda says is left of each invocation, and the margin the handler keeps: about 2.5 s of transfer each. */
const REMAINING_MS = 3_500;
const MARGIN_MS = 1_000;
const context = { getRemainingTimeInMillis: () => REMAINING_MS };
/**
 * Downloaded / file size at most: the folder store keeps everything up to its last
 * 2 MiB checkpoint; S3 keeps whole parts (5 MiB here), and the parts still in flight
 * when an invocation stops (up to queue + 1) are downloaded again by the next.
 */
const MAX_SERVED_OVER_SIZE = { folder: 1.3, s3: 1.5 } as const;

describe.each(['folder', 's3'] as const)('%s archive: a transfer longer than one invocation continues in the next', (kind) => {
  let h: Harness;
  let dir: string;
  let store: ArchiveStore;
  beforeAll(async () => {
    h = await startHarness(kind);
    dir = mkdtempSync(join(tmpdir(), 'continuation-'));
    // The folder store checkpoints every 2 MiB here; the S3 driver at every part (5 MiB in the harness).
    store = kind === 'folder' ? new FolderArchiveStore({ root: join(dir, 'archive'), checkpointBytes: 2 * MiB }) : h.store;
  });
  afterAll(async () => {
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finishes in several invocations, each resuming where the last stopped, byte-identical, downloaded about once', async () => {
    const size = 40 * MiB + 12_345;
    const [request] = await h.requestsFor({ files: [mp4(size)] });
    const fileId = request!.detail.file.fileId;
    // About 5 s of transfer in all: three or more invocations of 2.5 s.
    h.simulator.setFault(fileId, { bytesPerSecond: 8 * MiB });
    h.publisher.published.splice(0);

    const deps = { ...h.deps, store };
    let detail: FileUploadRequested = request!.detail;
    const outcomes: string[] = [];
    const continuedFrom: number[] = [];
    for (let invocation = 0; invocation < 20; invocation++) {
      const outcome = await handleUpload(busEvent(DetailType.FileUploadRequested, detail), context, deps, MARGIN_MS);
      outcomes.push(outcome.outcome);
      if (outcome.outcome !== 'continued') break;
      // The run handed the file on: released (not an interrupted run for the sweep to count) and published again.
      const entry = await h.ledger.get(fileId);
      expect(entry).toMatchObject({ state: 'requested', redrives: 0 });
      expect(entry?.leaseOwner).toBeUndefined();
      expect(entry?.interruptedAt).toBeUndefined();
      expect(entry?.checkpoint?.bytesCommitted).toBe(outcome.bytesCommitted);
      const next = h.publisher.ofType(DetailType.FileUploadRequested).at(-1)!;
      expect(next.file.fileId).toBe(fileId);
      expect(next.continuedFrom).toBe(outcome.bytesCommitted);
      continuedFrom.push(next.continuedFrom!);
      detail = next;
    }

    expect(outcomes.at(-1)).toBe('uploaded');
    expect(outcomes.length).toBeGreaterThanOrEqual(3);
    // Each invocation moved the transfer forward.
    for (let i = 1; i < continuedFrom.length; i++) expect(continuedFrom[i]!).toBeGreaterThan(continuedFrom[i - 1]!);
    const [uploaded] = h.publisher.ofType(DetailType.FileUploaded);
    expect(uploaded).toMatchObject({ fileId, size, resumedFrom: continuedFrom.at(-1) });
    expect(uploaded!.checksum.value).toBe(await h.simulator.expectedSha256(fileId));
    const archived = await (async () => {
      const { createHash } = await import('node:crypto');
      const hash = createHash('sha256');
      for await (const chunk of await store.get(detail.archiveKey)) hash.update(chunk as Buffer);
      return hash.digest('hex');
    })();
    expect(archived).toBe(await h.simulator.expectedSha256(fileId));
    // Only the rest was downloaded by each invocation.
    const stats = h.simulator.stats(fileId);
    expect(stats.bytesServed / size).toBeLessThanOrEqual(MAX_SERVED_OVER_SIZE[kind]);
    expect(stats.rangeRequests).toBe(outcomes.length - 1);
    expect(await h.ledger.get(fileId)).toMatchObject({ state: 'uploaded' });
    expect(h.publisher.ofType(DetailType.FileUploadFailed)).toEqual([]);
  }, 60_000);
});

describe('S3 archive: files under ARCHIVE_S3_RESUMABLE_MIN_MB take the plain put', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('s3');
  });
  afterAll(() => h.stop());

  it('a reset mid-way starts over from byte 0 (no Range request, no checkpoint), byte-identical', async () => {
    const size = 12 * MiB + 3;
    const [request] = await h.requestsFor({ files: [mp4(size)] });
    const fileId = request!.detail.file.fileId;
    const cutAt = Math.floor(size * 0.6);
    h.simulator.setFault(fileId, { resetAfterBytes: cutAt, bytesPerSecond: 16 * MiB, times: 1 });
    const checkpoints: unknown[] = [];
    const ledger = new Proxy(h.ledger, {
      get(target, name, receiver) {
        if (name === 'checkpoint') return (...args: unknown[]) => (checkpoints.push(args[2]), target.checkpoint(...(args as Parameters<typeof target.checkpoint>)));
        const value = Reflect.get(target, name, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const outcome = await h.upload(request!, { resumableMinBytes: size + 1, ledger });
    expect(outcome).toMatchObject({ outcome: 'uploaded', attempts: 2 });
    const stats = h.simulator.stats(fileId);
    expect(stats.rangeRequests).toBe(0);
    expect(stats.bytesServed).toBe(cutAt + size);
    expect(checkpoints).toEqual([]);
    expect(await h.archivedSha256(request!.detail.archiveKey)).toBe(await h.simulator.expectedSha256(fileId));
    // The same file at the threshold resumes: the setting is what decides.
    const [again] = await h.requestsFor({ files: [mp4(size)] });
    const againId = again!.detail.file.fileId;
    h.simulator.setFault(againId, { resetAfterBytes: cutAt, bytesPerSecond: 16 * MiB, times: 1 });
    expect(await h.upload(again!, { resumableMinBytes: size })).toMatchObject({ outcome: 'uploaded' });
    expect(h.simulator.stats(againId).rangeRequests).toBe(1);
    expect(await h.archivedSha256(again!.detail.archiveKey)).toBe(await h.simulator.expectedSha256(againId));
  }, 60_000);
});
