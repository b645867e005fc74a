/**
 * The message of a bus event, its Standard Webhooks signature checked with the
 * `standardwebhooks` library itself, and the Slack text a person reads.
 */
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { messageBody, outboxMessage, signedHeaders, USER_AGENT } from '../../services/subscribers/message';
import { slackBody, slackEscape, slackText } from '../../services/subscribers/slack';
import { DetailType } from '../../shared/events';
import { fileUploaded, fileUploadFailed, newSecret } from './support';

const event = (type: string, detail: unknown) => ({ id: 'evt-0001-stable', time: '2026-11-26T18:42:07.123Z', 'detail-type': type, detail });

describe('subscriber message', () => {
  it('is the bus event: id, detail-type, time and detail', () => {
    const detail = fileUploaded();
    const message = outboxMessage(event(DetailType.FileUploaded, detail), 'lms');
    expect(message).toEqual({ id: 'evt-0001-stable', subscriberId: 'lms', type: 'FileUploaded', timestamp: '2026-11-26T18:42:07.123Z', data: detail });
    // The parsed form (shared/events parseEvent) gives the same message.
    expect(outboxMessage({ id: 'evt-0001-stable', time: '2026-11-26T18:42:07.123Z', detailType: DetailType.FileUploaded, detail }, 'lms')).toEqual(message);
    expect(JSON.parse(messageBody(message))).toEqual({ type: 'FileUploaded', timestamp: '2026-11-26T18:42:07.123Z', data: detail });
  });

  it('is signed per Standard Webhooks: the library verifies it, and refuses another secret or a changed body', () => {
    const secret = newSecret();
    const message = outboxMessage(event(DetailType.FileUploaded, fileUploaded()), 'lms');
    const body = messageBody(message);
    const at = new Date();
    const headers = signedHeaders(message, body, secret, at);
    expect(headers).toMatchObject({ 'content-type': 'application/json', 'webhook-id': 'evt-0001-stable', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'user-agent': USER_AGENT });
    expect(headers['user-agent']).toMatch(/zoom-archiver/);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(newSecret()).verify(body, headers)).toThrow(WebhookVerificationError);
    expect(() => new Webhook(secret).verify(body.replace('MAQ101', 'MAQ102'), headers)).toThrow(WebhookVerificationError);
    // A retry: same id and body, the attempt's own timestamp, still valid.
    const later = signedHeaders(message, body, secret, new Date(at.getTime() + 30_000));
    expect(later['webhook-id']).toBe(headers['webhook-id']);
    expect(later['webhook-signature']).not.toBe(headers['webhook-signature']);
    expect(() => new Webhook(secret).verify(body, later)).not.toThrow();
  });
});

describe('Slack text', () => {
  it('escapes &, < and >', () => {
    expect(slackEscape('<!channel> & <https://evil|click>')).toBe('&lt;!channel&gt; &amp; &lt;https://evil|click&gt;');
  });

  it('FileUploaded: course, what, size, where, which file', () => {
    const text = slackText(outboxMessage(event(DetailType.FileUploaded, fileUploaded()), 'slack'));
    expect(text).toBe(
      [
        ':white_check_mark: Archived for *MAQ101*: MP4 shared_screen_with_speaker_view, 96.0 MiB, recorded 2026-11-26 18:00 UTC',
        'Where: `s3://archive/courses/MAQ101/2026-11-26/lesson.mp4`',
        'File `F1` of recording `Rec/UUID==`',
      ].join('\n'),
    );
  });

  it('FileUploadFailed: course, file, reason, the automatic attempt, the command to look closer', () => {
    const text = slackText(outboxMessage(event(DetailType.FileUploadFailed, fileUploadFailed({ nextAttemptAt: '2026-11-26T19:15:00Z' })), 'slack'));
    expect(text).toBe(
      [
        ':x: Not archived for *MAQ101*: file `F2` (`2026-11-26_1800_Maqam &lt;Bayati&gt; &amp; co_gallery_view.mp4`) of recording `Rec/UUID==` after 5 attempts',
        'Reason: `download_failed` Zoom answered 503 &lt;Service Unavailable&gt; &amp; gave up',
        'Next: an automatic attempt at 2026-11-26 19:15 UTC.',
        'Look closer: `zoom-archiver status --recording Rec/UUID==`',
      ].join('\n'),
    );
  });

  it('FileUploadFailed without an automatic attempt: waits for `retry`, or says retrying cannot help as it is', () => {
    const waiting = slackText(outboxMessage(event(DetailType.FileUploadFailed, fileUploadFailed()), 'slack'));
    expect(waiting).toContain('Next: waits for `zoom-archiver retry F2`.');
    const hopeless = slackText(outboxMessage(event(DetailType.FileUploadFailed, fileUploadFailed({ code: 'key_conflict', retryable: false, course: undefined, archiveKey: undefined })), 'slack'));
    expect(hopeless.split('\n')[0]).toBe(':x: Not archived: file `F2` of recording `Rec/UUID==` after 5 attempts');
    expect(hopeless).toContain('Next: retrying as it is cannot help; fix the cause, then `zoom-archiver retry F2`.');
  });

  it('RecordingArchived, RecordingRejected and ReconciliationCompleted are short and name the recording or run', () => {
    const meta = (type: string) => ({ schemaVersion: 1, correlationId: 'c', causationId: 'c', idempotencyKey: type });
    const archived = slackText({
      id: 'e1',
      type: DetailType.RecordingArchived,
      data: { metadata: meta('a'), recordingId: 'R1', course: 'MAQ101', part: { index: 0, count: 1 }, files: [{ fileId: 'F1', location: fileUploaded().location, size: 1024 * 1024, checksum: fileUploaded().checksum }] },
    });
    expect(archived).toBe(':package: Recording archived for *MAQ101*: 1 file, 1.0 MiB\nRecording `R1`: `zoom-archiver status --recording R1`');
    const rejected = slackText({
      id: 'e2',
      type: DetailType.RecordingRejected,
      data: { metadata: meta('r'), recordingId: 'R2', meetingId: '1', topic: 'Staff <meeting>', reason: 'not_course_meeting', explanation: 'no course code in the topic' },
    });
    expect(rejected).toBe(':no_entry_sign: Not archived: "Staff &lt;meeting&gt;" — not a course meeting\nno course code in the topic\nRecording `R2`: `zoom-archiver status --recording R2`');
    const run = slackText({
      id: 'e3',
      type: DetailType.ReconciliationCompleted,
      data: {
        metadata: meta('s'), runId: 'run-1', trigger: 'sweep', from: '2026-11-23', to: '2026-11-26', listing: 'account', windows: 1, pages: 2, apiCalls: 3, rateLimited: 0,
        recordingsFound: 12, recordingsHandedOver: 3, filesRequested: 5, filesAlreadyArchived: 7, filesInProgress: 0, filesFailed: 1, recordingsRejected: 2, recordingsStillProcessing: 0,
        errors: [], startedAt: '2026-11-26T10:00:00Z', finishedAt: '2026-11-26T10:00:05Z',
      },
    });
    expect(run).toBe(':mag: Sweep of Zoom 2026-11-23 → 2026-11-26: 12 recording(s) found, 3 handed over, 5 file(s) requested, 7 already archived, 1 failed\nLook closer: `zoom-archiver status --recording reconciliation:run-1`');
  });

  it('is a {"text"} body, and a detail off its contract still gives a line', () => {
    expect(JSON.parse(slackBody(outboxMessage(event(DetailType.FileUploaded, fileUploaded()), 's')))).toEqual({ text: expect.stringContaining('Archived for *MAQ101*') });
    expect(slackText({ id: 'e9', type: DetailType.FileUploaded, data: { nope: true } })).toBe('zoom-archiver: FileUploaded (event `e9`; its details did not match the contract)');
  });
});
