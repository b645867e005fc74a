/**
 * The default rules (no ARCHIVER_CONFIG) on every documented sample payload:
 * the original deployment's behaviour — bracketed course code, completed MP4s of
 * at least 2 minutes — with the default naming.
 */
import { MemoryPublisher } from '../support/memory-publisher';
import { parseArchiverConfig } from '../../services/course-validation/config';
import { shortDigest } from '../../services/course-validation/key-template';
import { validateRecording } from '../../services/course-validation/use-case';
import { PublishError } from '../../shared/errors';
import { DetailType, FileUploadRequestedSchema, RecordingRejectedSchema } from '../../shared/events';
import { silentLogger } from '../../shared/logger';
import { loadZoomFixture } from '../support/fixtures';
import {
  parsedEvent,
  recordingAvailableFrom,
  recordingFromFixture,
  type RecordingFixtureName,
} from './support';

const defaults = parseArchiverConfig({});

async function run(name: RecordingFixtureName, config = defaults) {
  const publisher = new MemoryPublisher();
  const recording = recordingFromFixture(name);
  const returned = await validateRecording(parsedEvent(recording), { config, publisher, logger: silentLogger });
  return { recording, publisher, returned };
}

describe('default rules on the sample payloads', () => {
  it('recording-completed: requests both MP4 views of [MAQ101], nothing else', async () => {
    const { recording, publisher, returned } = await run('recording-completed');

    expect(returned).toEqual(publisher.published);
    expect(publisher.ofType(DetailType.RecordingRejected)).toEqual([]);
    const uploads = publisher.ofType(DetailType.FileUploadRequested);
    const instance = shortDigest('4444AAAiAAAAAiAiAiiAii==');
    expect(uploads.map((u) => [u.file.fileId, u.archiveKey])).toEqual([
      [
        '388ffb46-1541-460d-8447-4624451a1db7',
        `courses/MAQ101/2021-07-13/2021-07-13_1444_Maqam Bayati — lesson 3_shared_screen_with_speaker_view_${instance}.mp4`,
      ],
      ['9a1b3c5d-0000-4d2e-9f00-111122223333', `courses/MAQ101/2021-07-13/2021-07-13_1444_Maqam Bayati — lesson 3_gallery_view_${instance}.mp4`],
    ]);
    for (const upload of uploads) {
      expect(FileUploadRequestedSchema.safeParse(upload).success).toBe(true);
      expect(upload.course).toBe('MAQ101');
      expect(upload.recordingId).toBe(recording.recordingId);
      expect(upload.meetingId).toBe('1234567890');
      expect(upload.topic).toBe('[MAQ101] Maqam Bayati — lesson 3');
      expect(upload.hostEmail).toBe('teacher@example.com');
      expect(upload.startTime).toBe('2021-07-13T21:44:51Z');
      expect(upload.acceptedFileCount).toBe(2);
      expect(upload.part).toEqual({ index: 0, count: 1 });
      expect(upload.downloadAccess).toEqual(recording.downloadAccess);
      expect(upload.downloadAccess?.sealedToken).toBeTruthy();
      expect(upload.file).toEqual(recording.files.find((f) => f.fileId === upload.file.fileId));
      expect(upload.metadata).toMatchObject({ schemaVersion: 1, correlationId: 'corr-test-1', causationId: 'bus-event-1' });
    }
  });

  it('the same event always yields the same events; idempotency keys name the file and its key', async () => {
    const recording = recordingFromFixture('recording-completed');
    const deliver = async () => {
      const publisher = new MemoryPublisher();
      await validateRecording(parsedEvent(recording), { config: defaults, publisher, logger: silentLogger });
      return publisher.ofType(DetailType.FileUploadRequested);
    };
    const first = await deliver();
    expect(await deliver()).toEqual(first);
    for (const upload of first) {
      expect(upload.metadata.idempotencyKey).toMatch(new RegExp(`^FileUploadRequested:${upload.file.fileId}:[0-9a-f]{16}$`));
    }
    expect(new Set(first.map((u) => u.metadata.idempotencyKey)).size).toBe(first.length);
  });

  it('a duplicate delivery (new correlation id, new token) yields the same keys and idempotency keys', async () => {
    const fixture = loadZoomFixture('recording-completed');
    const [original] = recordingAvailableFrom(fixture, 'corr-a');
    const [duplicate] = recordingAvailableFrom({ ...fixture, download_token: 'another.token.value' }, 'corr-b');
    const a = new MemoryPublisher();
    const b = new MemoryPublisher();
    await validateRecording(parsedEvent(original!, 'evt-a'), { config: defaults, publisher: a, logger: silentLogger });
    await validateRecording(parsedEvent(duplicate!, 'evt-b'), { config: defaults, publisher: b, logger: silentLogger });
    const view = (p: MemoryPublisher) => p.ofType(DetailType.FileUploadRequested).map((u) => [u.archiveKey, u.metadata.idempotencyKey]);
    expect(view(b)).toEqual(view(a));
    expect(b.ofType(DetailType.FileUploadRequested)[0]!.metadata.correlationId).toBe('corr-b');
  });

  it('recording-completed-multipart: two parts get two keys, the 50-second file is skipped', async () => {
    const { publisher } = await run('recording-completed-multipart');
    const uploads = publisher.ofType(DetailType.FileUploadRequested);
    const instance = shortDigest('mUlTiPaRt/Uuid+With//Slashes==');
    expect(uploads.map((u) => [u.file.fileId, u.archiveKey])).toEqual([
      [
        'aaaa0001-0000-4000-8000-000000000001',
        `courses/PHY-201/2024-03-05/2024-03-05_1000_Mechanics - Newton's laws_shared_screen_with_speaker_view_part1_${instance}.mp4`,
      ],
      [
        'aaaa0002-0000-4000-8000-000000000002',
        `courses/PHY-201/2024-03-05/2024-03-05_1000_Mechanics - Newton's laws_shared_screen_with_speaker_view_part2_${instance}.mp4`,
      ],
    ]);
    expect(uploads.map((u) => u.file.fileId)).not.toContain('aaaa0003-0000-4000-8000-000000000003');
    expect(uploads.every((u) => u.acceptedFileCount === 2)).toBe(true);
  });

  it('recording-completed-unicode: reserved characters replaced, Arabic and French readable in NFC, Tokyo date', async () => {
    const { publisher } = await run('recording-completed-unicode');
    const [upload, ...rest] = publisher.ofType(DetailType.FileUploadRequested);
    expect(rest).toEqual([]);
    expect(upload!.course).toBe('ARB-110');
    expect(upload!.archiveKey).toBe(
      `courses/ARB-110/2025-06-02/2025-06-02_0830_العربية - الدرس ٣ - Cours d'été - spécial - Q&A_speaker_view_${shortDigest('UnIcOdE+uuid==')}.mp4`,
    );
    expect(upload!.archiveKey.normalize('NFC')).toBe(upload!.archiveKey);
    expect(upload!.archiveKey.split('/')).toHaveLength(4);
    expect(upload!.archiveKey).not.toMatch(/[<>:"?*|\\]/);
  });

  it('recording-completed-not-course: rejected as not a course meeting', async () => {
    const { publisher } = await run('recording-completed-not-course');
    expect(publisher.ofType(DetailType.FileUploadRequested)).toEqual([]);
    const [rejection, ...rest] = publisher.ofType(DetailType.RecordingRejected);
    expect(rest).toEqual([]);
    expect(RecordingRejectedSchema.safeParse(rejection).success).toBe(true);
    expect(rejection).toMatchObject({
      recordingId: 'NoTcOuRsE==',
      meetingId: '5550001111',
      topic: 'Staff meeting — budget',
      reason: 'not_course_meeting',
      metadata: {
        schemaVersion: 1,
        correlationId: 'corr-test-1',
        causationId: 'bus-event-1',
        idempotencyKey: 'RecordingRejected:recording.completed:NoTcOuRsE==:0/1:not_course_meeting',
      },
    });
    expect(rejection!.course).toBeUndefined();
    expect(rejection!.explanation).toMatch(/matches none of 1 course pattern/);
  });

  it('recording-transcript-completed: only a transcript, so no eligible file under the MP4-only default', async () => {
    const { publisher } = await run('recording-transcript-completed');
    expect(publisher.ofType(DetailType.FileUploadRequested)).toEqual([]);
    expect(publisher.ofType(DetailType.RecordingRejected)).toEqual([
      expect.objectContaining({
        reason: 'no_eligible_file',
        course: 'MAQ101',
        explanation: 'no eligible file among 1: 1 of a file type not selected (TRANSCRIPT audio_transcript)',
      }),
    ]);
    expect(publisher.ofType(DetailType.RecordingRejected)[0]!.metadata.idempotencyKey).toBe(
      'RecordingRejected:recording.transcript_completed:4444AAAiAAAAAiAiAiiAii==:0/1:no_eligible_file',
    );
  });
});

describe('when TRANSCRIPT (and every other type) is selected', () => {
  const allTypes = parseArchiverConfig({ files: { fileTypes: ['MP4', 'M4A', 'TRANSCRIPT', 'CHAT', 'CC', 'TIMELINE'] } });

  it('the later transcript event gets the same key as in the completed event, distinct from every MP4 key', async () => {
    const completed = (await run('recording-completed', allTypes)).publisher.ofType(DetailType.FileUploadRequested);
    const transcript = (await run('recording-transcript-completed', allTypes)).publisher.ofType(DetailType.FileUploadRequested);
    expect(transcript).toHaveLength(1);
    const transcriptKey = transcript[0]!.archiveKey;
    expect(transcriptKey.endsWith('_audio_transcript_' + shortDigest('4444AAAiAAAAAiAiAiiAii==') + '.vtt')).toBe(true);
    expect(completed.find((u) => u.file.fileId === transcript[0]!.file.fileId)?.archiveKey).toBe(transcriptKey);
    const mp4Keys = completed.filter((u) => u.file.fileType === 'MP4').map((u) => u.archiveKey);
    expect(mp4Keys).toHaveLength(2);
    expect(mp4Keys).not.toContain(transcriptKey);
  });

  it('CC and TIMELINE files without Zoom ids get derived ids and keys of their own', async () => {
    const uploads = (await run('recording-completed', allTypes)).publisher.ofType(DetailType.FileUploadRequested);
    expect(uploads).toHaveLength(7);
    const idLess = uploads.filter((u) => u.file.idSource === 'derived');
    expect(idLess.map((u) => u.file.fileType).sort()).toEqual(['CC', 'TIMELINE']);
    expect(idLess.map((u) => u.archiveKey.split('_').slice(-2).join('_'))).toEqual([
      expect.stringMatching(/^cc_[0-9a-f]{8}\.vtt$/),
      expect.stringMatching(/^timeline_[0-9a-f]{8}\.json$/),
    ]);
    expect(new Set(uploads.map((u) => u.archiveKey)).size).toBe(7);
    expect(uploads.every((u) => u.acceptedFileCount === 7)).toBe(true);
  });

  it('the two CC files of the multipart meeting are numbered like their videos', async () => {
    const uploads = (await run('recording-completed-multipart', allTypes)).publisher.ofType(DetailType.FileUploadRequested);
    const cc = uploads.filter((u) => u.file.fileType === 'CC').map((u) => u.archiveKey);
    expect(cc).toHaveLength(2);
    expect(cc[0]).toMatch(/_cc_part1_[0-9a-f]{8}\.vtt$/);
    expect(cc[1]).toMatch(/_cc_part2_[0-9a-f]{8}\.vtt$/);
  });
});

describe('publishing', () => {
  it('propagates a publish failure so the bus retries the input', async () => {
    const publisher = new MemoryPublisher();
    publisher.failNext = 1;
    await expect(
      validateRecording(parsedEvent(recordingFromFixture('recording-completed')), { config: defaults, publisher, logger: silentLogger }),
    ).rejects.toBeInstanceOf(PublishError);
    expect(publisher.published).toEqual([]);
  });
});
