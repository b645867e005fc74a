/**
 * What the audit trail says about automatic re-drives: a FileUploadRequested the
 * recovery sweep published by itself reads "automatic retry n/max: requested …", and a
 * FileUploadFailed says when the next automatic attempt is, or that the file waits for
 * `zoom-archiver retry` — with the fields kept in the record's data.
 */
import { DetailType, type DetailOf } from '../../shared/events';
import { toAuditRecord } from '../../services/audit/summarize';
import { seedEvents } from './seed';

const requested = () => seedEvents().find((e) => e.detailType === DetailType.FileUploadRequested)!;
const failedEvent = (detail: Partial<DetailOf<typeof DetailType.FileUploadFailed>>) => {
  const base = seedEvents().find((e) => e.detailType === DetailType.FileUploadFailed)!;
  return { ...base, detail: { ...(base.detail as DetailOf<typeof DetailType.FileUploadFailed>), ...detail } };
};

describe('audit summaries of automatic re-drives', () => {
  it('marks a request the sweep published by itself as an automatic retry, n of max', () => {
    const event = requested();
    const detail = { ...(event.detail as DetailOf<typeof DetailType.FileUploadRequested>), autoRetry: { attempt: 2, maxAttempts: 8 } };

    const record = toAuditRecord({ ...event, detail });

    expect(record.summary).toBe('automatic retry 2/8: requested MP4 → courses/MAQ101/2026-11-20/lesson.mp4');
    expect(record.data).toMatchObject({ key: 'courses/MAQ101/2026-11-20/lesson.mp4', autoRetryAttempt: 2, autoRetryMaxAttempts: 8 });
    expect(record.problem).toBe(false);
  });

  it('leaves an ordinary request as it was', () => {
    const record = toAuditRecord(requested());

    expect(record.summary).toBe('requested MP4 → courses/MAQ101/2026-11-20/lesson.mp4');
    expect(record.data).not.toHaveProperty('autoRetryAttempt');
  });

  it('says when a retryable failure is attempted again, or that it waits for `zoom-archiver retry`', () => {
    const scheduled = toAuditRecord(failedEvent({ code: 'download_failed', reason: 'Zoom answered 503', retryable: true, attempts: 5, nextAttemptAt: '2026-11-22T10:05:01.000Z' }));
    const waiting = toAuditRecord(failedEvent({ code: 'download_failed', reason: 'Zoom answered 503', retryable: true, attempts: 5 }));

    expect(scheduled.summary).toBe('failed (download_failed, retryable) after 5 attempt(s): Zoom answered 503; next automatic attempt at 2026-11-22T10:05:01.000Z');
    expect(scheduled.data).toMatchObject({ retryable: true, nextAttemptAt: '2026-11-22T10:05:01.000Z' });
    expect(waiting.summary).toBe('failed (download_failed, retryable) after 5 attempt(s): Zoom answered 503; waits for `zoom-archiver retry`');
    expect(waiting.data).not.toHaveProperty('nextAttemptAt');
    expect(scheduled.problem).toBe(true);
  });

  it('adds nothing to a permanent failure', () => {
    const record = toAuditRecord(failedEvent({}));

    expect(record.summary).toBe('failed (not_media) after 1 attempt(s): Zoom answered an HTML page (200)');
    expect(record.data).not.toHaveProperty('nextAttemptAt');
  });
});
