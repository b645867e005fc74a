/**
 * The UploadLedger contract: every adapter (SQLite, DynamoDB) runs these same
 * behaviours. Time is passed in explicitly, so lease expiry is exact, not slept.
 */
import { createHash } from 'node:crypto';
import { FileUploadRequestedSchema, type FileUploadRequested } from '../../shared/events';
import {
  LedgerEntryNotFoundError,
  LedgerInputError,
  LedgerRefusedError,
  type LedgerEntry,
  type LedgerResult,
  type RegisterInput,
  type TransferCheckpoint,
  type UploadLedger,
} from '../../shared/ports/upload-ledger';
import { MAX_LEDGER_REQUEST_BYTES } from '../../shared/adapters/ledger-rules';
import { ledgerGroupKey } from '../../shared/ledger-group';

export interface LedgerUnderTest {
  ledger: UploadLedger;
  dispose(): Promise<void>;
}

const T0 = Date.UTC(2026, 2, 2, 9, 0, 0);
const LEASE = 60_000;
const RECORDING = 'a1B2c3D4e5F6g7H8i9J0kA==';
const GROUP = ledgerGroupKey(RECORDING, 0);

function registration(fileId: string, overrides: Partial<RegisterInput> = {}): RegisterInput {
  return {
    fileId,
    recordingId: RECORDING,
    groupKey: GROUP,
    groupSize: 2,
    course: 'MAQ101',
    archiveKey: `courses/MAQ101/2026-03-02/090000_${fileId}.mp4`,
    expectedSize: 734_003_200,
    now: T0,
    ...overrides,
  };
}

function resultFor(fileId: string): LedgerResult {
  return {
    size: 734_003_200,
    checksum: { algorithm: 'sha256', value: createHash('sha256').update(fileId).digest('hex') },
    location: {
      kind: 's3',
      container: 'course-archive',
      key: `courses/MAQ101/${fileId}.mp4`,
      uri: `s3://course-archive/courses/MAQ101/${fileId}.mp4`,
    },
  };
}

/** A real-shaped FileUploadRequested, validated by its schema so the fixture cannot drift. */
export function uploadRequest(fileId: string): FileUploadRequested {
  return FileUploadRequestedSchema.parse({
    metadata: { schemaVersion: 1, correlationId: 'corr-1', causationId: 'evt-1', idempotencyKey: `${RECORDING}:${fileId}` },
    trigger: 'recording.completed',
    recordingId: RECORDING,
    meetingId: '85012345678',
    course: 'MAQ101',
    topic: '[MAQ101] Maqam Bayati — lesson 3',
    startTime: '2026-03-02T09:00:00Z',
    file: {
      fileId,
      idSource: 'zoom',
      fileType: 'MP4',
      fileExtension: 'MP4',
      recordingType: 'shared_screen_with_speaker_view',
      fileSize: 734_003_200,
      downloadUrl: `https://ssrweb.zoom.us/rec/download/${fileId}`,
      status: 'completed',
    },
    archiveKey: `courses/MAQ101/2026-03-02/090000_${fileId}.mp4`,
    acceptedFileCount: 2,
    part: { index: 0, count: 1 },
    downloadAccess: { sealedToken: 'c2VhbGVkLXRva2VuLWJ5dGVz' },
  });
}

/** A valid request whose stored form (without the sealed token) is exactly `bytes` long, padded in the topic. */
export function requestOfBytes(fileId: string, bytes: number): FileUploadRequested {
  const base = uploadRequest(fileId);
  const { downloadAccess: _token, ...stored } = base;
  const missing = bytes - Buffer.byteLength(JSON.stringify(stored), 'utf8');
  return { ...base, topic: base.topic + 'x'.repeat(missing) };
}

function md5Etag(seed: string): string {
  return `"${createHash('md5').update(seed).digest('hex')}"`;
}

function checkpointWith(partCount: number, partSize = 8 * 1024 * 1024): TransferCheckpoint {
  const parts = Array.from({ length: partCount }, (_, i) => ({ partNumber: i + 1, etag: md5Etag(`part-${i}`), size: partSize }));
  return {
    uploadId: 'VXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA',
    bytesCommitted: partCount * partSize,
    parts,
    hashState: 'sha256-parts:' + parts.map((p) => p.etag.slice(1, 9)).join(''),
  };
}

export function describeLedgerContract(name: string, factory: () => Promise<LedgerUnderTest>): void {
  describe(`UploadLedger contract: ${name}`, () => {
    let subject: LedgerUnderTest;
    let ledger: UploadLedger;

    beforeEach(async () => {
      subject = await factory();
      ledger = subject.ledger;
    });
    afterEach(async () => {
      await subject.dispose();
    });

    describe('register', () => {
      it('creates a requested entry with no attempts, lease or result', async () => {
        const entry = await ledger.register(registration('f1'));

        expect(entry).toEqual({
          fileId: 'f1',
          recordingId: RECORDING,
          groupKey: GROUP,
          groupSize: 2,
          course: 'MAQ101',
          archiveKey: 'courses/MAQ101/2026-03-02/090000_f1.mp4',
          expectedSize: 734_003_200,
          state: 'requested',
          attempts: 0,
          duplicates: 0,
          redrives: 0,
          autoRetries: 0,
          createdAt: T0,
          updatedAt: T0,
        });
        expect(await ledger.get('f1')).toEqual(entry);
      });

      it('is idempotent: a second registration returns the stored entry unchanged', async () => {
        const first = await ledger.register(registration('f1'));
        await ledger.claim('f1', 'owner-a', LEASE, T0 + 1);

        const again = await ledger.register(registration('f1', { archiveKey: 'other/key.mp4', now: T0 + 5 }));

        expect(again.archiveKey).toBe(first.archiveKey);
        expect(again.createdAt).toBe(T0);
        expect(again.state).toBe('uploading');
        expect(again.attempts).toBe(1);
      });

      it('keeps the upload request for re-drives, without the sealed download token', async () => {
        const request = uploadRequest('f1');

        await ledger.register(registration('f1', { request }));

        const stored = await ledger.get('f1');
        const { downloadAccess: _token, ...withoutToken } = request;
        expect(stored?.request).toEqual(withoutToken);
        expect(JSON.stringify(stored)).not.toContain('c2VhbGVkLXRva2VuLWJ5dGVz');
      });

      it('refuses an oversized request with LedgerRefusedError, naming the limit but not the contents', async () => {
        const topic = `[MAQ101] ${'very long topic '.repeat(1_300)}`;
        const request = { ...uploadRequest('f1'), topic };

        const error = await ledger.register(registration('f1', { request })).catch((e: unknown) => e);

        expect(error).toBeInstanceOf(LedgerRefusedError);
        expect(error).toBeInstanceOf(LedgerInputError);
        expect(error).toMatchObject({ fileId: 'f1', retryable: false });
        expect((error as Error).message).toContain(String(MAX_LEDGER_REQUEST_BYTES));
        expect((error as Error).message).not.toContain('very long topic');
        expect((error as Error).message).not.toContain('c2VhbGVkLXRva2VuLWJ5dGVz');
        expect(await ledger.get('f1')).toBeUndefined();
      });

      it('stores a request of exactly the limit, with the largest checkpoint S3 can need', async () => {
        const request = requestOfBytes('f1', MAX_LEDGER_REQUEST_BYTES);
        await ledger.register(registration('f1', { request }));
        await ledger.claim('f1', 'owner-a', LEASE, T0);

        expect(await ledger.checkpoint('f1', 'owner-a', checkpointWith(10_000), T0 + 1)).toBe(true);
        expect(await ledger.fail('f1', 'owner-a', { code: 'timeout', message: 'm'.repeat(1_000), retryable: true }, T0 + 2)).toBe(true);

        const stored = await ledger.get('f1');
        expect(stored?.request?.topic).toBe(request.topic);
        expect(stored?.checkpoint?.parts).toHaveLength(10_000);
      });

      it('answers undefined for a file never registered', async () => {
        expect(await ledger.get('nope')).toBeUndefined();
      });
    });

    describe('claim', () => {
      it('moves a requested file to uploading, leased to the owner, and counts the attempt', async () => {
        await ledger.register(registration('f1'));

        const claim = await ledger.claim('f1', 'owner-a', LEASE, T0 + 100);

        expect(claim.outcome).toBe('claimed');
        expect(claim.entry).toMatchObject({
          state: 'uploading',
          leaseOwner: 'owner-a',
          leaseExpiresAt: T0 + 100 + LEASE,
          attempts: 1,
          updatedAt: T0 + 100,
        });
        expect(await ledger.get('f1')).toEqual(claim.entry);
      });

      it('answers leased while another owner holds a live lease, and changes nothing', async () => {
        await ledger.register(registration('f1'));
        const first = await ledger.claim('f1', 'owner-a', LEASE, T0);

        const second = await ledger.claim('f1', 'owner-b', LEASE, T0 + LEASE - 1);
        const sameOwner = await ledger.claim('f1', 'owner-a', LEASE, T0 + 10);

        expect(second.outcome).toBe('leased');
        expect(second.entry.leaseOwner).toBe('owner-a');
        expect(second.entry.leaseExpiresAt).toBe(T0 + LEASE);
        expect(sameOwner.outcome).toBe('leased');
        expect(await ledger.get('f1')).toEqual(first.entry);
      });

      it('lets a later attempt take over an expired lease; the old owner can no longer act', async () => {
        await ledger.register(registration('f1'));
        await ledger.claim('f1', 'owner-a', LEASE, T0);

        const takeover = await ledger.claim('f1', 'owner-b', LEASE, T0 + LEASE);

        expect(takeover.outcome).toBe('claimed');
        expect(takeover.entry).toMatchObject({ leaseOwner: 'owner-b', leaseExpiresAt: T0 + 2 * LEASE, attempts: 2 });
        const late = T0 + LEASE + 1;
        expect(await ledger.renew('f1', 'owner-a', LEASE, late)).toBe(false);
        expect(await ledger.checkpoint('f1', 'owner-a', checkpointWith(1), late)).toBe(false);
        expect(await ledger.complete('f1', 'owner-a', resultFor('f1'), late)).toBe(false);
        expect(await ledger.fail('f1', 'owner-a', { code: 'timeout', message: 'late', retryable: true }, late)).toBe(false);
        expect(await ledger.release('f1', 'owner-a', late)).toBe(false);
        expect(await ledger.get('f1')).toEqual(takeover.entry);
      });

      it('lets an owner whose lease ran out finish while nobody has taken over', async () => {
        await ledger.register(registration('f1'));
        await ledger.claim('f1', 'owner-a', LEASE, T0);

        expect(await ledger.complete('f1', 'owner-a', resultFor('f1'), T0 + 2 * LEASE)).toBe(true);

        expect((await ledger.get('f1'))?.state).toBe('uploaded');
      });

      it('throws LedgerEntryNotFoundError for a file never registered', async () => {
        await expect(ledger.claim('ghost', 'owner-a', LEASE, T0)).rejects.toBeInstanceOf(LedgerEntryNotFoundError);
      });

      it('refuses a lease that is not a positive whole number of milliseconds', async () => {
        await ledger.register(registration('f1'));

        await expect(ledger.claim('f1', 'owner-a', 0, T0)).rejects.toBeInstanceOf(LedgerInputError);
        await expect(ledger.claim('f1', 'owner-a', 1.5, T0)).rejects.toBeInstanceOf(LedgerInputError);
        expect((await ledger.get('f1'))?.state).toBe('requested');
      });

      it('gives the file to exactly one of ten concurrent claimants', async () => {
        await ledger.register(registration('f1'));
        const owners = Array.from({ length: 10 }, (_, i) => `owner-${i}`);

        const claims = await Promise.all(owners.map((owner) => ledger.claim('f1', owner, LEASE, T0)));

        const winners = claims.filter((c) => c.outcome === 'claimed');
        expect(winners).toHaveLength(1);
        expect(claims.filter((c) => c.outcome === 'leased')).toHaveLength(9);
        const stored = await ledger.get('f1');
        expect(stored?.leaseOwner).toBe(winners[0]!.entry.leaseOwner);
        expect(stored?.attempts).toBe(1);
      });

      it('gives an expired lease to exactly one of ten concurrent claimants', async () => {
        await ledger.register(registration('f1'));
        await ledger.claim('f1', 'crashed', LEASE, T0);

        const claims = await Promise.all(
          Array.from({ length: 10 }, (_, i) => ledger.claim('f1', `owner-${i}`, LEASE, T0 + LEASE + 5)),
        );

        expect(claims.filter((c) => c.outcome === 'claimed')).toHaveLength(1);
        expect((await ledger.get('f1'))?.attempts).toBe(2);
      });
    });

    describe('complete', () => {
      it('marks the file uploaded with its result and clears lease and checkpoint', async () => {
        await ledger.register(registration('f1'));
        await ledger.claim('f1', 'owner-a', LEASE, T0);
        await ledger.checkpoint('f1', 'owner-a', checkpointWith(3), T0 + 10);

        expect(await ledger.complete('f1', 'owner-a', resultFor('f1'), T0 + 20)).toBe(true);

        const entry = await ledger.get('f1');
        expect(entry).toMatchObject({ state: 'uploaded', result: resultFor('f1'), attempts: 1, updatedAt: T0 + 20 });
        expect(entry?.leaseOwner).toBeUndefined();
        expect(entry?.leaseExpiresAt).toBeUndefined();
        expect(entry?.checkpoint).toBeUndefined();
      });

      it('never hands an uploaded file out again: later claims are duplicates, counted', async () => {
        await ledger.register(registration('f1'));
        await ledger.claim('f1', 'owner-a', LEASE, T0);
        await ledger.complete('f1', 'owner-a', resultFor('f1'), T0 + 20);

        const first = await ledger.claim('f1', 'owner-b', LEASE, T0 + 30);
        const second = await ledger.claim('f1', 'owner-c', LEASE, T0 + 10 * LEASE);

        expect(first.outcome).toBe('already_uploaded');
        expect(first.entry.duplicates).toBe(1);
        expect(second.outcome).toBe('already_uploaded');
        expect(second.entry).toMatchObject({ state: 'uploaded', duplicates: 2, attempts: 1, result: resultFor('f1') });
        expect((await ledger.get('f1'))?.updatedAt).toBe(T0 + 20);
      });

      it('counts every one of ten concurrent duplicate deliveries', async () => {
        await ledger.register(registration('f1'));
        await ledger.claim('f1', 'owner-a', LEASE, T0);
        await ledger.complete('f1', 'owner-a', resultFor('f1'), T0 + 20);

        const claims = await Promise.all(
          Array.from({ length: 10 }, (_, i) => ledger.claim('f1', `dup-${i}`, LEASE, T0 + 30)),
        );

        expect(claims.every((c) => c.outcome === 'already_uploaded')).toBe(true);
        expect((await ledger.get('f1'))?.duplicates).toBe(10);
      });

      it('refuses to complete a file that is not claimed', async () => {
        await ledger.register(registration('f1'));

        expect(await ledger.complete('f1', 'owner-a', resultFor('f1'), T0)).toBe(false);
        expect(await ledger.complete('ghost', 'owner-a', resultFor('ghost'), T0)).toBe(false);
        expect((await ledger.get('f1'))?.state).toBe('requested');
        expect(await ledger.get('ghost')).toBeUndefined();
      });
    });

    describe('fail and re-drive', () => {
      it('records the failure, frees the file, and lets a re-drive claim it again', async () => {
        await ledger.register(registration('f1'));
        await ledger.claim('f1', 'owner-a', LEASE, T0);
        const error = { code: 'not_found', message: 'Zoom answered 404 for the download', retryable: false };

        expect(await ledger.fail('f1', 'owner-a', error, T0 + 50)).toBe(true);

        const failed = await ledger.get('f1');
        expect(failed).toMatchObject({ state: 'failed', lastError: error, attempts: 1, updatedAt: T0 + 50 });
        expect(failed?.leaseOwner).toBeUndefined();
        expect(await ledger.complete('f1', 'owner-a', resultFor('f1'), T0 + 60)).toBe(false);

        const redrive = await ledger.claim('f1', 'cli-retry', LEASE, T0 + 100);
        expect(redrive.outcome).toBe('claimed');
        expect(redrive.entry).toMatchObject({ state: 'uploading', leaseOwner: 'cli-retry', attempts: 2, lastError: error });
        expect(await ledger.complete('f1', 'cli-retry', resultFor('f1'), T0 + 200)).toBe(true);
        expect((await ledger.get('f1'))?.state).toBe('uploaded');
      });
    });

    describe('release', () => {
      it('hands the file back as requested, keeping the checkpoint, so the next claim resumes', async () => {
        await ledger.register(registration('f1'));
        await ledger.claim('f1', 'owner-a', LEASE, T0);
        await ledger.checkpoint('f1', 'owner-a', checkpointWith(2), T0 + 5);

        expect(await ledger.release('f1', 'owner-a', T0 + 10)).toBe(true);

        const released = await ledger.get('f1');
        expect(released).toMatchObject({ state: 'requested', attempts: 1, checkpoint: checkpointWith(2) });
        expect(released?.leaseOwner).toBeUndefined();
        expect(released?.leaseExpiresAt).toBeUndefined();
        expect(await ledger.release('f1', 'owner-a', T0 + 11)).toBe(false);
        const next = await ledger.claim('f1', 'owner-b', LEASE, T0 + 20);
        expect(next.outcome).toBe('claimed');
        expect(next.entry.checkpoint).toEqual(checkpointWith(2));
      });
    });

    describe('renew', () => {
      it('extends the lease, so a claim after the original expiry is refused', async () => {
        await ledger.register(registration('f1'));
        await ledger.claim('f1', 'owner-a', LEASE, T0);

        expect(await ledger.renew('f1', 'owner-a', LEASE, T0 + LEASE - 1)).toBe(true);

        expect((await ledger.get('f1'))?.leaseExpiresAt).toBe(T0 + 2 * LEASE - 1);
        expect((await ledger.claim('f1', 'owner-b', LEASE, T0 + LEASE)).outcome).toBe('leased');
        expect(await ledger.renew('f1', 'owner-b', LEASE, T0 + LEASE)).toBe(false);
      });
    });

    describe('checkpoint', () => {
      it('round-trips and survives a takeover: the new owner resumes from it', async () => {
        await ledger.register(registration('f1'));
        await ledger.claim('f1', 'owner-a', LEASE, T0);
        const progress = checkpointWith(5);

        expect(await ledger.checkpoint('f1', 'owner-a', progress, T0 + 10)).toBe(true);
        expect((await ledger.get('f1'))?.checkpoint).toEqual(progress);

        const takeover = await ledger.claim('f1', 'owner-b', LEASE, T0 + LEASE + 1);
        expect(takeover.outcome).toBe('claimed');
        expect(takeover.entry.checkpoint).toEqual(progress);
        expect(await ledger.checkpoint('f1', 'owner-a', checkpointWith(6), T0 + LEASE + 2)).toBe(false);
        expect((await ledger.get('f1'))?.checkpoint).toEqual(progress);
      });

      it('keeps a checkpoint without upload id or hash state, and clears it on null', async () => {
        await ledger.register(registration('f1'));
        await ledger.claim('f1', 'owner-a', LEASE, T0);
        const folderProgress: TransferCheckpoint = { bytesCommitted: 1_048_576, parts: [] };

        await ledger.checkpoint('f1', 'owner-a', folderProgress, T0 + 1);
        expect((await ledger.get('f1'))?.checkpoint).toEqual(folderProgress);

        expect(await ledger.checkpoint('f1', 'owner-a', null, T0 + 2)).toBe(true);
        expect((await ledger.get('f1'))?.checkpoint).toBeUndefined();
      });

      it('stores the largest multipart upload S3 allows (10,000 parts)', async () => {
        await ledger.register(registration('f1', { request: uploadRequest('f1') }));
        await ledger.claim('f1', 'owner-a', LEASE, T0);
        const huge = checkpointWith(10_000);

        expect(await ledger.checkpoint('f1', 'owner-a', huge, T0 + 1)).toBe(true);

        const stored = (await ledger.get('f1'))?.checkpoint;
        expect(stored?.parts).toHaveLength(10_000);
        expect(stored).toEqual(huge);
      });
    });

    describe('release at a deadline', () => {
      const note = { code: 'deadline', message: 'stopped before the run deadline after 3 attempt(s)', retryable: true };

      it('hands the file back with the note and the time, keeping the checkpoint', async () => {
        await ledger.register(registration('f1'));
        await ledger.claim('f1', 'owner-a', LEASE, T0);
        await ledger.checkpoint('f1', 'owner-a', checkpointWith(2), T0 + 5);

        expect(await ledger.release('f1', 'owner-a', T0 + 10, note)).toBe(true);

        const released = await ledger.get('f1');
        expect(released).toMatchObject({ state: 'requested', lastError: note, interruptedAt: T0 + 10, updatedAt: T0 + 10, checkpoint: checkpointWith(2) });
        expect(released?.leaseOwner).toBeUndefined();
        expect(await ledger.release('f1', 'owner-a', T0 + 11, note)).toBe(false);
      });

      it('is cleared by the next claim, and a plain release sets no interruption', async () => {
        await ledger.register(registration('f1'));
        await ledger.claim('f1', 'owner-a', LEASE, T0);
        await ledger.release('f1', 'owner-a', T0 + 10, note);

        const next = await ledger.claim('f1', 'owner-b', LEASE, T0 + 20);
        expect(next.entry.interruptedAt).toBeUndefined();
        expect((await ledger.get('f1'))?.interruptedAt).toBeUndefined();
        await ledger.release('f1', 'owner-b', T0 + 30);
        expect((await ledger.get('f1'))?.interruptedAt).toBeUndefined();
      });
    });

    describe('recovery: noteRedrive and failAbandoned', () => {
      /** A run that claimed the file and died: its lease expires at T0 + LEASE. */
      async function deadRun(fileId = 'f1'): Promise<LedgerEntry> {
        await ledger.register(registration(fileId));
        await ledger.claim(fileId, 'dead-run', LEASE, T0);
        await ledger.checkpoint(fileId, 'dead-run', checkpointWith(2), T0 + 1);
        return (await ledger.get(fileId))!;
      }
      const AFTER = T0 + LEASE + 1;

      it('counts a re-drive of an expired lease and hands the file back as requested', async () => {
        const seen = await deadRun();

        expect(await ledger.noteRedrive(seen, true, AFTER)).toBe(true);

        const entry = await ledger.get('f1');
        expect(entry).toMatchObject({ state: 'requested', redrives: 1, attempts: 1, updatedAt: AFTER, checkpoint: checkpointWith(2) });
        expect(entry?.leaseOwner).toBeUndefined();
        expect(entry?.leaseExpiresAt).toBeUndefined();
        expect(await ledger.listExpiredLeases(AFTER)).toEqual([]);
        expect(await ledger.complete('f1', 'dead-run', resultFor('f1'), AFTER + 1)).toBe(false);
        expect((await ledger.listByState('requested')).map((e) => e.fileId)).toEqual(['f1']);
      });

      it('touches but does not count an uncounted re-drive', async () => {
        const seen = await ledger.register(registration('f1'));

        expect(await ledger.noteRedrive(seen, false, T0 + 500)).toBe(true);

        expect(await ledger.get('f1')).toMatchObject({ state: 'requested', redrives: 0, updatedAt: T0 + 500 });
      });

      it('clears the deadline note of an interrupted run it re-drives', async () => {
        await ledger.register(registration('f1'));
        await ledger.claim('f1', 'a', LEASE, T0);
        await ledger.release('f1', 'a', T0 + 10, { code: 'deadline', message: 'out of time', retryable: true });
        const seen = (await ledger.get('f1'))!;

        expect(await ledger.noteRedrive(seen, true, T0 + 20)).toBe(true);

        const entry = await ledger.get('f1');
        expect(entry).toMatchObject({ state: 'requested', redrives: 1, lastError: { code: 'deadline' } });
        expect(entry?.interruptedAt).toBeUndefined();
      });

      it('refuses a live lease, and an entry that changed since the sweep read it', async () => {
        const seen = await deadRun();
        expect(await ledger.noteRedrive(seen, true, T0 + LEASE - 1)).toBe(false);

        // A delivery took the expired lease over between the sweep's read and its write.
        await ledger.claim('f1', 'delivery', LEASE, AFTER);
        expect(await ledger.noteRedrive(seen, true, AFTER + 1)).toBe(false);
        expect(await ledger.failAbandoned(seen, { code: 'deadline', message: 'x', retryable: true }, AFTER + 1)).toBe(false);

        expect(await ledger.get('f1')).toMatchObject({ state: 'uploading', leaseOwner: 'delivery', redrives: 0, attempts: 2 });
      });

      it('counts a run once when ten sweeps mark it together', async () => {
        const seen = await deadRun();

        const answers = await Promise.all(Array.from({ length: 10 }, () => ledger.noteRedrive(seen, true, AFTER)));

        expect(answers.filter(Boolean)).toHaveLength(1);
        expect((await ledger.get('f1'))?.redrives).toBe(1);
      });

      it('keeps counting across runs: claim, die, re-drive', async () => {
        await ledger.register(registration('f1'));
        let now = T0;
        for (let run = 1; run <= 3; run++) {
          await ledger.claim('f1', `run-${run}`, LEASE, now);
          now += LEASE;
          expect(await ledger.noteRedrive((await ledger.listExpiredLeases(now))[0]!, true, now)).toBe(true);
        }

        expect(await ledger.get('f1')).toMatchObject({ state: 'requested', attempts: 3, redrives: 3 });
      });

      it('fails an abandoned entry with the error, once', async () => {
        const seen = await deadRun();
        const error = { code: 'deadline', message: 're-driven 3 time(s)', retryable: true };

        expect(await ledger.failAbandoned(seen, error, AFTER)).toBe(true);
        expect(await ledger.failAbandoned(seen, error, AFTER + 1)).toBe(false);

        const failed = await ledger.get('f1');
        expect(failed).toMatchObject({ state: 'failed', lastError: error, updatedAt: AFTER, checkpoint: checkpointWith(2) });
        expect(failed?.leaseOwner).toBeUndefined();
        expect((await ledger.listByState('failed')).map((e) => e.fileId)).toEqual(['f1']);
        // `retry` can still claim it.
        expect((await ledger.claim('f1', 'cli-retry', LEASE, AFTER + 2)).outcome).toBe('claimed');
      });

      it('never touches an uploaded file', async () => {
        await ledger.register(registration('f1'));
        await ledger.claim('f1', 'a', LEASE, T0);
        await ledger.complete('f1', 'a', resultFor('f1'), T0 + 1);
        const seen = (await ledger.get('f1'))!;

        expect(await ledger.noteRedrive(seen, true, AFTER)).toBe(false);
        expect(await ledger.failAbandoned(seen, { code: 'deadline', message: 'x', retryable: true }, AFTER)).toBe(false);
        expect((await ledger.get('f1'))?.state).toBe('uploaded');
      });
    });

    describe('automatic re-drive: nextAttemptAt, listDueRetries, noteAutoRetry', () => {
      const transient = { code: 'download_failed', message: 'Zoom answered 503', retryable: true };
      /** Claimed at T0 and failed at T0 + 10, due at `nextAttemptAt` (none when undefined). */
      async function failedRun(fileId: string, nextAttemptAt: number | undefined, error = transient): Promise<LedgerEntry> {
        if (!(await ledger.get(fileId))) await ledger.register(registration(fileId));
        await ledger.claim(fileId, `run-${fileId}`, LEASE, T0);
        expect(await ledger.fail(fileId, `run-${fileId}`, error, T0 + 10, { nextAttemptAt })).toBe(true);
        return (await ledger.get(fileId))!;
      }

      it('records nextAttemptAt with a failure, and a failure without one records none', async () => {
        const due = await failedRun('f1', T0 + 5_000);
        const waiting = await failedRun('f2', undefined);

        expect(due).toMatchObject({ state: 'failed', lastError: transient, nextAttemptAt: T0 + 5_000, autoRetries: 0, updatedAt: T0 + 10 });
        expect(waiting.state).toBe('failed');
        expect(waiting.nextAttemptAt).toBeUndefined();
        expect((await ledger.listByState('failed')).find((e) => e.fileId === 'f1')?.nextAttemptAt).toBe(T0 + 5_000);
      });

      it('lists failed entries whose nextAttemptAt has come, earliest first, and nothing else', async () => {
        await failedRun('late', T0 + 9_000);
        await failedRun('early', T0 + 2_000);
        await failedRun('exact', T0 + 5_000);
        await failedRun('permanent', undefined, { code: 'not_found', message: '404', retryable: false });
        await ledger.register(registration('waiting'));
        await ledger.register(registration('done'));
        await ledger.claim('done', 'd', LEASE, T0);
        await ledger.complete('done', 'd', resultFor('done'), T0 + 1);

        expect(await ledger.listDueRetries(T0 + 1_999)).toEqual([]);
        expect((await ledger.listDueRetries(T0 + 5_000)).map((e) => e.fileId)).toEqual(['early', 'exact']);
        const all = await ledger.listDueRetries(T0 + 60_000);
        expect(all.map((e) => e.fileId)).toEqual(['early', 'exact', 'late']);
        expect(all[0]).toEqual(await ledger.get('early'));
        expect(await ledger.listDueRetries(T0 + 60_000, 2)).toHaveLength(2);
      });

      it('noteAutoRetry hands a due entry back as requested, counts it, clears nextAttemptAt, keeps checkpoint and error', async () => {
        await ledger.register(registration('f1'));
        await ledger.claim('f1', 'a', LEASE, T0);
        await ledger.checkpoint('f1', 'a', checkpointWith(2), T0 + 5);
        await ledger.fail('f1', 'a', transient, T0 + 10, { nextAttemptAt: T0 + 1_000 });
        const [seen] = await ledger.listDueRetries(T0 + 1_000);

        expect(await ledger.noteAutoRetry(seen!, T0 + 1_000)).toBe(true);

        const entry = await ledger.get('f1');
        expect(entry).toMatchObject({ state: 'requested', autoRetries: 1, attempts: 1, redrives: 0, updatedAt: T0 + 1_000, lastError: transient, checkpoint: checkpointWith(2) });
        expect(entry?.nextAttemptAt).toBeUndefined();
        expect(await ledger.listDueRetries(T0 + 60_000)).toEqual([]);
        expect((await ledger.listByState('requested')).map((e) => e.fileId)).toEqual(['f1']);
        // The re-published request claims it like any requested entry, and sees the count.
        const claim = await ledger.claim('f1', 'b', LEASE, T0 + 1_001);
        expect(claim).toMatchObject({ outcome: 'claimed', entry: { autoRetries: 1, attempts: 2, checkpoint: checkpointWith(2) } });
      });

      it('noteAutoRetry refuses an entry not yet due, changed since it was read, or never scheduled', async () => {
        const seen = await failedRun('f1', T0 + 1_000);
        const permanent = await failedRun('f2', undefined);

        expect(await ledger.noteAutoRetry(seen, T0 + 999)).toBe(false);
        expect(await ledger.noteAutoRetry(permanent, T0 + 60_000)).toBe(false);
        // A person's `retry` claimed and failed it again in between: what the sweep read is stale.
        await ledger.claim('f1', 'manual', LEASE, T0 + 500);
        await ledger.fail('f1', 'manual', transient, T0 + 600, { nextAttemptAt: T0 + 700 });
        expect(await ledger.noteAutoRetry(seen, T0 + 1_000)).toBe(false);

        expect(await ledger.get('f1')).toMatchObject({ state: 'failed', autoRetries: 0, attempts: 2, nextAttemptAt: T0 + 700 });
        expect(await ledger.get('f2')).toMatchObject({ state: 'failed', autoRetries: 0 });
      });

      it('noteAutoRetry applies once when ten sweeps mark the same entry together', async () => {
        const seen = await failedRun('f1', T0 + 1_000);

        const answers = await Promise.all(Array.from({ length: 10 }, () => ledger.noteAutoRetry(seen, T0 + 1_000)));

        expect(answers.filter(Boolean)).toHaveLength(1);
        expect((await ledger.get('f1'))?.autoRetries).toBe(1);
      });

      it('counts autoRetries across fail, re-drive and claim rounds, and keeps the count after a success', async () => {
        await ledger.register(registration('f1'));
        let now = T0;
        for (let round = 1; round <= 3; round++) {
          await ledger.claim('f1', `run-${round}`, LEASE, now);
          expect(await ledger.fail('f1', `run-${round}`, transient, now + 10, { nextAttemptAt: now + 100 })).toBe(true);
          now += 100;
          const [due] = await ledger.listDueRetries(now);
          expect(due).toMatchObject({ fileId: 'f1', autoRetries: round - 1 });
          expect(await ledger.noteAutoRetry(due!, now)).toBe(true);
          now += 1;
        }
        await ledger.claim('f1', 'last', LEASE, now);
        expect(await ledger.complete('f1', 'last', resultFor('f1'), now + 1)).toBe(true);

        const entry = await ledger.get('f1');
        expect(entry).toMatchObject({ state: 'uploaded', autoRetries: 3, attempts: 4 });
        expect(entry?.nextAttemptAt).toBeUndefined();
      });

      it('is cleared by a claim (a manual retry) and by a later failure without one', async () => {
        await failedRun('f1', T0 + 1_000);

        const claim = await ledger.claim('f1', 'manual', LEASE, T0 + 20);
        expect(claim.outcome).toBe('claimed');
        expect(claim.entry.nextAttemptAt).toBeUndefined();
        expect(await ledger.listDueRetries(T0 + 60_000)).toEqual([]);

        await ledger.fail('f1', 'manual', { code: 'not_found', message: '404', retryable: false }, T0 + 30);
        expect((await ledger.get('f1'))?.nextAttemptAt).toBeUndefined();
        expect(await ledger.listDueRetries(T0 + 60_000)).toEqual([]);
      });

      it('failAbandoned records nextAttemptAt too, and the sweep can then re-drive it', async () => {
        await ledger.register(registration('f1'));
        await ledger.claim('f1', 'dead-run', LEASE, T0);
        const seen = (await ledger.get('f1'))!;
        const error = { code: 'deadline', message: 're-driven 3 time(s)', retryable: true };

        expect(await ledger.failAbandoned(seen, error, T0 + LEASE, { nextAttemptAt: T0 + LEASE + 300 })).toBe(true);

        expect(await ledger.get('f1')).toMatchObject({ state: 'failed', nextAttemptAt: T0 + LEASE + 300, lastError: error });
        const [due] = await ledger.listDueRetries(T0 + LEASE + 300);
        expect(await ledger.noteAutoRetry(due!, T0 + LEASE + 300)).toBe(true);
        expect(await ledger.get('f1')).toMatchObject({ state: 'requested', autoRetries: 1 });
      });
    });

    describe('group announcement', () => {
      it('is granted exactly once among concurrent callers, and once per group', async () => {
        const answers = await Promise.all(Array.from({ length: 10 }, () => ledger.claimGroupAnnouncement(GROUP, T0)));

        expect(answers.filter(Boolean)).toHaveLength(1);
        expect(await ledger.claimGroupAnnouncement(GROUP, T0 + 1)).toBe(false);
        expect(await ledger.claimGroupAnnouncement(ledgerGroupKey(RECORDING, 1), T0)).toBe(true);
      });

      it('does not show up as a ledger entry', async () => {
        await ledger.claimGroupAnnouncement(GROUP, T0);

        expect(await ledger.listGroup(GROUP)).toEqual([]);
        expect(await ledger.listByState('requested')).toEqual([]);
      });
    });

    describe('listGroup', () => {
      it('returns every file of the group, in file id order, with current states', async () => {
        const other = ledgerGroupKey(RECORDING, 1);
        await ledger.register(registration('f3'));
        await ledger.register(registration('f1'));
        await ledger.register(registration('f2'));
        await ledger.register(registration('g1', { groupKey: other }));
        await ledger.claim('f1', 'owner-a', LEASE, T0 + 1);
        await ledger.complete('f1', 'owner-a', resultFor('f1'), T0 + 2);

        const group = await ledger.listGroup(GROUP);

        expect(group.map((e) => e.fileId)).toEqual(['f1', 'f2', 'f3']);
        expect(group.map((e) => e.state)).toEqual(['uploaded', 'requested', 'requested']);
        expect(group[0]?.result).toEqual(resultFor('f1'));
        expect((await ledger.listGroup(other)).map((e) => e.fileId)).toEqual(['g1']);
        expect(await ledger.listGroup('unknown#0')).toEqual([]);
      });

      it('sees the other file uploaded right after completing the last one (announcement check)', async () => {
        await ledger.register(registration('f1'));
        await ledger.register(registration('f2'));
        await ledger.claim('f1', 'a', LEASE, T0);
        await ledger.claim('f2', 'b', LEASE, T0);

        await Promise.all([
          ledger.complete('f1', 'a', resultFor('f1'), T0 + 1),
          ledger.complete('f2', 'b', resultFor('f2'), T0 + 1),
        ]);
        const group = await ledger.listGroup(GROUP);

        expect(group.every((e: LedgerEntry) => e.state === 'uploaded')).toBe(true);
        expect(group).toHaveLength(group[0]?.groupSize ?? -1);
      });
    });

    describe('listByState', () => {
      async function scenario(): Promise<void> {
        await ledger.register(registration('old-failed', { now: T0 }));
        await ledger.register(registration('new-failed', { now: T0 }));
        await ledger.register(registration('waiting', { now: T0 + 30 }));
        await ledger.register(registration('done', { now: T0 }));
        await ledger.claim('old-failed', 'a', LEASE, T0 + 1);
        await ledger.fail('old-failed', 'a', { code: 'download_failed', message: 'reset', retryable: true }, T0 + 10);
        await ledger.claim('new-failed', 'b', LEASE, T0 + 1);
        await ledger.fail('new-failed', 'b', { code: 'not_found', message: '404', retryable: false }, T0 + 20);
        await ledger.claim('done', 'c', LEASE, T0 + 1);
        await ledger.complete('done', 'c', resultFor('done'), T0 + 5);
      }

      it('lists the entries in a state, oldest update first', async () => {
        await scenario();

        expect((await ledger.listByState('failed')).map((e) => e.fileId)).toEqual(['old-failed', 'new-failed']);
        expect((await ledger.listByState('requested')).map((e) => e.fileId)).toEqual(['waiting']);
        expect((await ledger.listByState('uploaded')).map((e) => e.fileId)).toEqual(['done']);
        expect(await ledger.listByState('uploading')).toEqual([]);
        const [failed] = await ledger.listByState('failed');
        expect(failed).toEqual(await ledger.get('old-failed'));
      });

      it('filters by updatedSince (inclusive) and honours limit', async () => {
        await scenario();

        expect((await ledger.listByState('failed', { updatedSince: T0 + 11 })).map((e) => e.fileId)).toEqual(['new-failed']);
        expect((await ledger.listByState('failed', { updatedSince: T0 + 20 })).map((e) => e.fileId)).toEqual(['new-failed']);
        expect(await ledger.listByState('failed', { updatedSince: T0 + 21 })).toEqual([]);
        expect((await ledger.listByState('failed', { limit: 1 })).map((e) => e.fileId)).toEqual(['old-failed']);
      });

      it('pages through more entries than one query returns', async () => {
        const ids = Array.from({ length: 60 }, (_, i) => `bulk-${String(i).padStart(3, '0')}`);
        for (const [i, fileId] of ids.entries()) {
          await ledger.register(registration(fileId, { now: T0 + i }));
        }

        const all = await ledger.listByState('requested');
        const some = await ledger.listByState('requested', { limit: 45 });

        expect(all.map((e) => e.fileId)).toEqual(ids);
        expect(some.map((e) => e.fileId)).toEqual(ids.slice(0, 45));
      });
    });

    describe('listExpiredLeases', () => {
      it('lists uploading entries whose lease expired, and nothing else', async () => {
        for (const id of ['short', 'long', 'finished', 'idle']) await ledger.register(registration(id));
        await ledger.claim('short', 'a', 1_000, T0);
        await ledger.claim('long', 'b', 10 * LEASE, T0);
        await ledger.claim('finished', 'c', 1_000, T0);
        await ledger.complete('finished', 'c', resultFor('finished'), T0 + 10);

        expect(await ledger.listExpiredLeases(T0 + 999)).toEqual([]);
        const expired = await ledger.listExpiredLeases(T0 + 1_000);
        expect(expired.map((e) => e.fileId)).toEqual(['short']);
        expect(expired[0]).toMatchObject({ state: 'uploading', leaseOwner: 'a', leaseExpiresAt: T0 + 1_000 });
        expect((await ledger.listExpiredLeases(T0 + 10 * LEASE)).map((e) => e.fileId).sort()).toEqual(['long', 'short']);
        expect(await ledger.listExpiredLeases(T0 + 10 * LEASE, 1)).toHaveLength(1);
      });
    });
  });
}
