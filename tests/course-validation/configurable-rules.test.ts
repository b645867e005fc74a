/**
 * Each rule an operator can change in ARCHIVER_CONFIG, exercised through the use
 * case on the Zoom fixtures (edited per test where a case needs it).
 */
import { DetailType } from '../../shared/events';
import { MemoryPublisher } from '../support/memory-publisher';
import { parseArchiverConfig, type ArchiverConfigFile } from '../../services/course-validation/config';
import { decideRecording } from '../../services/course-validation/decision';
import { validateRecording } from '../../services/course-validation/use-case';
import type { RecordingAvailable } from '../../shared/events';
import type { ZoomRecordingFixture } from '../support/fixtures';
import { parsedEvent, recordingFromFixture, recordingLogger, type RecordingFixtureName } from './support';

const config = (file: ArchiverConfigFile) => parseArchiverConfig(file, 'test config');

async function run(recording: RecordingAvailable, file: ArchiverConfigFile, logger = recordingLogger()) {
  const publisher = new MemoryPublisher();
  await validateRecording(parsedEvent(recording), { config: config(file), publisher, logger });
  return { publisher, logger, uploads: publisher.ofType(DetailType.FileUploadRequested), rejections: publisher.ofType(DetailType.RecordingRejected) };
}

const fixture = (name: RecordingFixtureName, edit?: (f: ZoomRecordingFixture) => void) => recordingFromFixture(name, edit);
const files = (f: ZoomRecordingFixture) => f.payload.object.recording_files;

describe('which meetings are courses', () => {
  it('a custom topic pattern with a named capture decides the course code', async () => {
    const recording = fixture('recording-completed-not-course', (f) => {
      f.payload.object.topic = 'maq101 Maqam Bayati, make-up lesson';
    });
    const { uploads } = await run(recording, { courses: { topicPatterns: [{ pattern: '^(?<course>[a-z]{3}\\d{3})\\b', flags: 'i' }] } });
    expect(uploads).toHaveLength(1);
    expect(uploads[0]!.course).toBe('maq101');
    expect(uploads[0]!.archiveKey).toMatch(/^courses\/maq101\/2025-01-10\/2025-01-10_1500_Maqam Bayati, make-up lesson_speaker_view_/);
  });

  it('patterns are tried in order; replacing them drops the default', async () => {
    const recording = fixture('recording-completed');
    const onlyCustom = config({ courses: { topicPatterns: [{ pattern: 'lesson (?<course>\\d+)' }] } });
    expect(decideRecording(recording, onlyCustom)).toMatchObject({ outcome: 'accepted', match: { course: '3', matchedBy: 'topic' } });
    const noPatterns = config({ courses: { topicPatterns: [] } });
    expect(decideRecording(recording, noPatterns)).toMatchObject({ outcome: 'rejected', reason: 'not_course_meeting' });
  });

  it('a meeting id map makes a meeting a course, and wins over the topic', async () => {
    const staff = await run(fixture('recording-completed-not-course'), { courses: { meetings: { '555 000 1111': 'STAFF-ARCHIVE' } } });
    expect(staff.uploads.map((u) => u.course)).toEqual(['STAFF-ARCHIVE']);
    expect(staff.uploads[0]!.archiveKey).toMatch(/^courses\/STAFF-ARCHIVE\/2025-01-10\/2025-01-10_1500_Staff meeting — budget_speaker_view_/);

    const tagged = await run(fixture('recording-completed'), { courses: { meetings: { '1234567890': 'MAQ-ALL' } } });
    expect(new Set(tagged.uploads.map((u) => u.course))).toEqual(new Set(['MAQ-ALL']));
    // The course tag is still removed from {topic}.
    expect(tagged.uploads[0]!.archiveKey).toContain('_Maqam Bayati — lesson 3_');
  });

  it('a host email map (any case) is the fallback after topic patterns', async () => {
    const hosts = { courses: { hosts: { 'TEACHER@example.com': 'MAQ-GENERAL' } } };
    const untagged = await run(fixture('recording-completed-not-course'), hosts);
    expect(untagged.uploads.map((u) => u.course)).toEqual(['MAQ-GENERAL']);
    const tagged = await run(fixture('recording-completed'), hosts);
    expect(new Set(tagged.uploads.map((u) => u.course))).toEqual(new Set(['MAQ101']));
    const otherHost = await run(
      fixture('recording-completed-not-course', (f) => {
        f.payload.object.host_email = 'someone@example.com';
      }),
      hosts,
    );
    expect(otherHost.rejections.map((r) => r.reason)).toEqual(['not_course_meeting']);
  });

  it('the default pattern refuses bracketed words that are not course codes', async () => {
    for (const topic of ['[Draft] Staff meeting', '[URGENT] budget', '[maq101] lowercase', 'MAQ101 without brackets']) {
      const recording = fixture('recording-completed', (f) => {
        f.payload.object.topic = topic;
      });
      expect(decideRecording(recording, config({}))).toMatchObject({ outcome: 'rejected', reason: 'not_course_meeting' });
    }
  });
});

describe('which files are kept', () => {
  it('file types: only the configured ones', async () => {
    const { uploads } = await run(fixture('recording-completed'), { files: { fileTypes: ['m4a', 'CHAT'] } });
    expect(uploads.map((u) => [u.file.fileType, u.archiveKey.split('_').slice(-2).join('_')])).toEqual([
      ['M4A', expect.stringMatching(/^only_[0-9a-f]{8}\.m4a$/)],
      ['CHAT', expect.stringMatching(/^file_[0-9a-f]{8}\.txt$/)],
    ]);
  });

  it('recording types: an allowlist; files without a recording type are judged by file type alone', async () => {
    const { uploads } = await run(fixture('recording-completed'), {
      files: { fileTypes: ['MP4', 'CC'], recordingTypes: ['gallery_view'] },
    });
    expect(uploads.map((u) => `${u.file.fileType}:${u.file.recordingType ?? '-'}`)).toEqual(['MP4:gallery_view', 'CC:-']);
  });

  describe('best view only', () => {
    it('keeps the best-ranked view present, per file type', async () => {
      const preferScreen = await run(fixture('recording-completed'), {
        files: { fileTypes: ['MP4', 'M4A'], bestViewOnly: ['shared_screen_with_speaker_view', 'gallery_view'] },
      });
      expect(preferScreen.uploads.map((u) => u.file.recordingType)).toEqual(['shared_screen_with_speaker_view', 'audio_only']);
      const preferGallery = await run(fixture('recording-completed'), {
        files: { bestViewOnly: ['gallery_view', 'shared_screen_with_speaker_view'] },
      });
      expect(preferGallery.uploads.map((u) => u.file.recordingType)).toEqual(['gallery_view']);
      expect(preferGallery.uploads[0]!.acceptedFileCount).toBe(1);
    });

    it('keeps every part of the best view, and falls back to a lesser view when the best is absent', async () => {
      const multipart = await run(fixture('recording-completed-multipart'), {
        files: { minDurationSeconds: 0, bestViewOnly: ['shared_screen_with_speaker_view', 'speaker_view'] },
      });
      expect(multipart.uploads.map((u) => u.file.fileId)).toEqual([
        'aaaa0001-0000-4000-8000-000000000001',
        'aaaa0002-0000-4000-8000-000000000002',
      ]);
      const onlySpeaker = await run(
        fixture('recording-completed-multipart', (f) => {
          f.payload.object.recording_files = files(f).filter((file) => file.recording_type !== 'shared_screen_with_speaker_view');
        }),
        { files: { minDurationSeconds: 0, bestViewOnly: ['shared_screen_with_speaker_view', 'speaker_view'] } },
      );
      expect(onlySpeaker.uploads.map((u) => u.file.recordingType)).toEqual(['speaker_view']);
    });

    it('does not upload a lesser view while the best one is still processing', async () => {
      const recording = fixture('recording-completed', (f) => {
        files(f)[0]!.status = 'processing';
      });
      const { uploads, rejections } = await run(recording, { files: { bestViewOnly: ['shared_screen_with_speaker_view', 'gallery_view'] } });
      expect(uploads).toEqual([]);
      expect(rejections).toEqual([expect.objectContaining({ reason: 'still_processing', course: 'MAQ101' })]);
      expect(rejections[0]!.explanation).toMatch(/MP4 shared_screen_with_speaker_view \[processing\]/);
    });
  });

  describe('minimum duration', () => {
    it('counts each file from its own start and end', async () => {
      const keepShort = await run(fixture('recording-completed-multipart'), { files: { minDurationSeconds: 50 } });
      expect(keepShort.uploads.map((u) => u.file.fileId)).toContain('aaaa0003-0000-4000-8000-000000000003');
      const skipShort = await run(fixture('recording-completed-multipart'), { files: { minDurationSeconds: 51 } });
      expect(skipShort.uploads.map((u) => u.file.fileId)).not.toContain('aaaa0003-0000-4000-8000-000000000003');
    });

    it('rejects with an explanation when every file is too short', async () => {
      const { rejections } = await run(fixture('recording-completed'), { files: { minDurationSeconds: 3700 } });
      expect(rejections).toEqual([
        expect.objectContaining({
          reason: 'no_eligible_file',
          explanation: expect.stringContaining('2 too short (MP4 shared_screen_with_speaker_view 3644 s < 3700 s, MP4 gallery_view 3644 s < 3700 s)'),
        }),
      ]);
    });

    it('falls back to the meeting duration only for a file without times, and treats 0 as unknown', async () => {
      const noTimes = (duration: number) =>
        fixture('recording-completed', (f) => {
          f.payload.object.duration = duration;
          for (const file of files(f)) {
            delete file.recording_start;
            delete file.recording_end;
          }
        });
      expect((await run(noTimes(1), {})).rejections.map((r) => r.reason)).toEqual(['no_eligible_file']);
      expect((await run(noTimes(2), {})).uploads).toHaveLength(2);
      // Zoom's known duration-0 bug must not drop a lesson.
      expect((await run(noTimes(0), {})).uploads).toHaveLength(2);
    });
  });

  describe('files not completed yet', () => {
    it('uploads the ready files and logs the others', async () => {
      const recording = fixture('recording-completed', (f) => {
        files(f)[1]!.status = 'processing';
      });
      const { uploads, logger } = await run(recording, {});
      expect(uploads.map((u) => u.file.recordingType)).toEqual(['shared_screen_with_speaker_view']);
      expect(uploads[0]!.acceptedFileCount).toBe(1);
      const warning = logger.lines.find((line) => line.level === 'warn' && String(line.message).includes('still processing'));
      expect(warning?.fields.pending).toEqual([{ fileId: '9a1b3c5d-0000-4d2e-9f00-111122223333', fileType: 'MP4', status: 'processing' }]);
    });

    it('rejects as still_processing when nothing eligible is ready', async () => {
      const recording = fixture('recording-completed', (f) => {
        for (const file of files(f)) file.status = 'processing';
      });
      const { rejections } = await run(recording, {});
      expect(rejections.map((r) => r.reason)).toEqual(['still_processing']);
    });

    it('says no_eligible_file, not still_processing, when the processing files would not be eligible anyway', async () => {
      const recording = fixture('recording-completed', (f) => {
        files(f)[0]!.status = 'processing';
        files(f)[1]!.status = 'processing';
        files(f)[0]!.recording_end = '2021-07-13T21:45:00Z';
        files(f)[1]!.recording_end = '2021-07-13T21:45:00Z';
      });
      expect((await run(recording, {})).rejections.map((r) => r.reason)).toEqual(['no_eligible_file']);
    });
  });
});

describe('time zone used in names', () => {
  const template = 'c/{course}/{start:yyyy-MM-dd_HHmm}_{recordingType}{part}.{ext}';
  const keyOf = async (recording: RecordingAvailable, timeZone: string) =>
    (await run(recording, { naming: { template, timeZone } })).uploads[0]!.archiveKey;

  it('UTC, the meeting zone, or a fixed IANA zone', async () => {
    const recording = fixture('recording-completed');
    expect(await keyOf(recording, 'UTC')).toBe('c/MAQ101/2021-07-13_2144_shared_screen_with_speaker_view.mp4');
    expect(await keyOf(recording, 'meeting')).toBe('c/MAQ101/2021-07-13_1444_shared_screen_with_speaker_view.mp4');
    expect(await keyOf(recording, 'Europe/Berlin')).toBe('c/MAQ101/2021-07-13_2344_shared_screen_with_speaker_view.mp4');
  });

  it('a fixed zone follows daylight saving time (Europe/Berlin, night of 2024-03-31)', async () => {
    const at = (start: string) =>
      fixture('recording-completed-multipart', (f) => {
        f.payload.object.start_time = start;
      });
    expect(await keyOf(at('2024-03-31T00:30:00Z'), 'Europe/Berlin')).toBe('c/PHY-201/2024-03-31_0130_shared_screen_with_speaker_view1.mp4');
    expect(await keyOf(at('2024-03-31T01:30:00Z'), 'Europe/Berlin')).toBe('c/PHY-201/2024-03-31_0330_shared_screen_with_speaker_view1.mp4');
  });

  it('"meeting" falls back to UTC, with a warning, when the zone is missing or invalid', async () => {
    for (const timezone of [undefined, 'Not/AZone']) {
      const recording = fixture('recording-completed', (f) => {
        f.payload.object.timezone = timezone;
      });
      const logger = recordingLogger();
      const { uploads } = await run(recording, { naming: { template, timeZone: 'meeting' } }, logger);
      expect(uploads[0]!.archiveKey).toBe('c/MAQ101/2021-07-13_2144_shared_screen_with_speaker_view.mp4');
      expect(logger.lines.some((line) => line.level === 'warn' && String(line.message).includes('no valid time zone'))).toBe(true);
    }
  });
});

describe('keys are unique and stable', () => {
  const allTypes: ArchiverConfigFile['files'] = { fileTypes: ['MP4', 'M4A', 'TRANSCRIPT', 'CHAT', 'CC', 'TIMELINE'], minDurationSeconds: 0 };

  it('a custom template without {part} still gives two parts two keys, the same on every run', async () => {
    const naming = { template: 'c/{course}/{start:yyyy-MM-dd}_{recordingType}.{ext}' };
    const first = await run(fixture('recording-completed-multipart'), { files: allTypes, naming });
    const keys = first.uploads.map((u) => u.archiveKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toContain('c/PHY-201/2024-03-05_speaker_view.mp4');
    expect(keys.filter((k) => /shared_screen_with_speaker_view_[0-9a-f]{8}\.mp4$/.test(k))).toHaveLength(2);
    expect(first.logger.lines.some((line) => line.level === 'warn' && String(line.message).includes('collided'))).toBe(true);
    const again = await run(fixture('recording-completed-multipart'), { files: allTypes, naming });
    expect(again.uploads.map((u) => u.archiveKey)).toEqual(keys);
  });

  it('two files of the same recording type with the same start time are still told apart', async () => {
    const recording = fixture('recording-completed', (f) => {
      files(f)[1]!.recording_type = 'shared_screen_with_speaker_view';
    });
    const { uploads } = await run(recording, {});
    expect(uploads.map((u) => u.archiveKey.match(/_(part\d)_/)?.[1])).toEqual(['part1', 'part2']);
    // Ties on start time are broken by file id, so the order does not depend on the payload's order.
    expect(uploads.find((u) => u.archiveKey.includes('_part1_'))!.file.fileId).toBe('388ffb46-1541-460d-8447-4624451a1db7');
  });

  it('a recording split over several bus events numbers parts by file id digest, identically in every part', async () => {
    const whole = fixture('recording-completed-multipart');
    const partOf = (index: number, fileIds: string[]): RecordingAvailable => ({
      ...whole,
      part: { index, count: 2 },
      files: whole.files.filter((f) => fileIds.includes(f.fileId)),
    });
    const first = await run(partOf(0, ['aaaa0001-0000-4000-8000-000000000001']), {});
    const second = await run(partOf(1, ['aaaa0002-0000-4000-8000-000000000002']), {});
    const [a, b] = [first.uploads[0]!, second.uploads[0]!];
    expect(a.archiveKey).not.toBe(b.archiveKey);
    expect(a.archiveKey).toMatch(/_shared_screen_with_speaker_view_part[0-9a-f]{8}_[0-9a-f]{8}\.mp4$/);
    expect(a.part).toEqual({ index: 0, count: 2 });
    expect(a.acceptedFileCount).toBe(1);
    expect(second.uploads[0]!.metadata.idempotencyKey).not.toBe(a.metadata.idempotencyKey);
  });

  it('every file of every fixture under every rule set gets its own key', async () => {
    const names: RecordingFixtureName[] = ['recording-completed', 'recording-completed-multipart', 'recording-completed-unicode'];
    const templates = [
      undefined,
      'c/{course}/{recordingType}.{ext}',
      'c/{fileType}',
      'c/{course}/{start:yyyy}/{fileId}',
    ];
    for (const name of names) {
      for (const template of templates) {
        const { uploads } = await run(fixture(name), { files: allTypes, naming: template ? { template } : {} });
        const keys = uploads.map((u) => u.archiveKey);
        expect(keys.length).toBeGreaterThan(0);
        expect(new Set(keys).size).toBe(keys.length);
      }
    }
  });
});

describe('duplicate files in one event', () => {
  it('requests a file listed twice only once', async () => {
    const recording = fixture('recording-completed');
    const doubled = { ...recording, files: [...recording.files, recording.files[0]!] };
    const { uploads } = await run(doubled, {});
    expect(uploads.map((u) => u.file.fileId)).toEqual(['388ffb46-1541-460d-8447-4624451a1db7', '9a1b3c5d-0000-4d2e-9f00-111122223333']);
  });
});
