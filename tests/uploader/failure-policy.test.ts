import { ArchiveInputError, ArchiveKeyConflictError, ArchiveWriteError } from '../../shared/ports/archive-store';
import { DownloadHttpError, DownloadNetworkError, ForeignHostError, NotMediaError, OAuthError, SizeMismatchError } from '../../shared/ports/zoom-client';
import { codeOf, decide, rootCause, type AttemptHistory } from '../../services/uploader/failure-policy';

const options = { maxAttempts: 5, backoff: { baseMs: 100, maxMs: 1000, random: () => 0.5 }, maxRetryAfterMs: 10_000 };
const history = (attempts: number, byCode: AttemptHistory['byCode'] = {}): AttemptHistory => ({ attempts, byCode });
const url = 'https://zoom.us/rec/download/x?access_token=secret';

describe('failure policy', () => {
  it.each([
    ['404', new DownloadHttpError(404, url), history(1, { not_found: 1 }), { action: 'fail', code: 'not_found', retryable: false }],
    ['a foreign host', new ForeignHostError('evil.example', 'not allowed'), history(1, { foreign_host: 1 }), { action: 'fail', code: 'foreign_host', retryable: false }],
    ['an invalid key', new ArchiveInputError('bad key'), history(1), { action: 'fail', code: 'invalid_request', retryable: false }],
    ['OAuth not configured', new OAuthError('no credentials', 'not_configured'), history(1), { action: 'fail', code: 'unauthorized', retryable: true }],
    ['a first 401', new DownloadHttpError(401, url), history(1, { unauthorized: 1 }), { action: 'retry', delayMs: 0, freshOAuthToken: true }],
    ['a second 401', new DownloadHttpError(401, url), history(2, { unauthorized: 2 }), { action: 'fail', code: 'unauthorized', retryable: true }],
    ['a first HTML page', new NotMediaError('HTML page'), history(1, { not_media: 1 }), { action: 'retry', freshOAuthToken: true }],
    ['a second HTML page', new NotMediaError('HTML page'), history(2, { not_media: 2 }), { action: 'fail', code: 'not_media', retryable: false }],
    ['a first size mismatch', new SizeMismatchError(10, 9, false), history(1, { size_mismatch: 1 }), { action: 'retry', delayMs: 50 }],
    ['a second size mismatch', new SizeMismatchError(10, 9, false), history(2, { size_mismatch: 2 }), { action: 'fail', code: 'size_mismatch', retryable: false }],
    ['429 with Retry-After', new DownloadHttpError(429, url, { retryAfterMs: 3000 }), history(1), { action: 'retry', delayMs: 3000 }],
    ['429 asking for too long a wait', new DownloadHttpError(429, url, { retryAfterMs: 60_000 }), history(1), { action: 'fail', retryable: true }],
    ['a 503 with backoff', new DownloadHttpError(503, url), history(3), { action: 'retry', delayMs: 200 }],
    ['a reset on the last attempt', new DownloadNetworkError('socket hang up'), history(5), { action: 'fail', code: 'download_failed', retryable: true }],
  ])('%s', (_name, error, seen, expected) => {
    expect(decide(error, seen, options)).toMatchObject(expected);
  });

  it('judges a failed archive write by the body error that caused it', () => {
    const cause = new SizeMismatchError(10, 12, true);
    expect(rootCause(new ArchiveWriteError('put failed', 'k', 'body', { cause }))).toBe(cause);
    const storeError = new ArchiveWriteError('S3 refused', 'k', 'store', { cause: new Error('503') });
    expect(rootCause(storeError)).toBe(storeError);
    expect(decide(storeError, history(1), options)).toMatchObject({ action: 'retry' });
  });

  it('fails a key conflict at once, not retryable, with the key in the reason: the same request names the same key', () => {
    const key = 'courses/MAQ101/speaker_view.mp4';
    const conflict = new ArchiveKeyConflictError(key);

    expect(rootCause(conflict)).toBe(conflict);
    expect(codeOf(conflict)).toBe('key_conflict');
    for (const attempts of [1, 2]) {
      expect(decide(conflict, history(attempts, { key_conflict: attempts }), options)).toEqual({
        action: 'fail',
        code: 'key_conflict',
        reason: `archive key already holds a different object: ${key}`,
        retryable: false,
      });
    }
  });

  it('never puts a query string (a signed URL credential) into a reason', () => {
    const decision = decide(new DownloadHttpError(404, url), history(1), options);
    expect(decision.action === 'fail' && decision.reason).not.toMatch(/secret|access_token/);
  });
});
