/**
 * What to do after a failed transfer attempt: retry (when, and with which kind of
 * token) or give up (with which failure code, and whether a later re-drive can help).
 * Pure: the retry loop feeds it the error and what happened so far.
 *
 * Rules (README "Uploading, exactly once"): network errors, 5xx, 429 and archive
 * errors retry with backoff, honouring Retry-After; a refused token (401/403) or an
 * HTML page instead of the file retries once with a fresh OAuth token; a size
 * mismatch retries once; 404, a foreign host, an invalid key and an archive key that
 * already holds other bytes fail at once.
 *
 * A failure that is final for the run but retryable is also scheduled for an
 * automatic re-drive by the recovery sweep (nextAutoRetryAt), a bounded number of times.
 */
import { ArchiverError } from '../../shared/errors';
import type { FailureCode } from '../../shared/events';
import { ArchiveInputError, ArchiveKeyConflictError, ArchiveWriteError } from '../../shared/ports/archive-store';
import { OAuthError, ZoomTransferError } from '../../shared/ports/zoom-client';
import { backoffDelay, type BackoffOptions } from '../../shared/retry';

export interface AttemptHistory {
  /** Attempts made so far, including the one that just failed. */
  attempts: number;
  /** Failures so far by code, including this one. */
  byCode: Partial<Record<FailureCode, number>>;
}

export type Decision =
  | { action: 'retry'; delayMs: number; freshOAuthToken: boolean }
  | { action: 'fail'; code: FailureCode; reason: string; retryable: boolean };

export interface PolicyOptions {
  maxAttempts: number;
  backoff: BackoffOptions;
  /** Longest Retry-After we wait inside one run; beyond it the file fails as retryable. */
  maxRetryAfterMs: number;
}

/** The error that explains the failure: the body's own error when the store failed because of it. */
export function rootCause(error: unknown): unknown {
  if (error instanceof ArchiveWriteError && error.origin !== 'store') return error.cause ?? error;
  return error;
}

export function codeOf(error: unknown): FailureCode {
  if (error instanceof Error && error.name === 'TimeoutError') return 'timeout';
  if (error instanceof ZoomTransferError) return error.code;
  if (error instanceof ArchiveInputError) return 'invalid_request';
  // Before ArchiveWriteError, of which it is a kind.
  if (error instanceof ArchiveKeyConflictError) return 'key_conflict';
  if (error instanceof ArchiveWriteError) return 'archive_failed';
  return 'download_failed';
}

export function decide(error: unknown, history: AttemptHistory, options: PolicyOptions): Decision {
  const code = codeOf(error);
  const reason = describeError(error);
  const seen = history.byCode[code] ?? 0;
  const fail = (retryable: boolean): Decision => ({ action: 'fail', code, reason, retryable });

  // The same request names the same key and the archived object is never replaced: only a change of naming rules helps.
  if (code === 'not_found' || code === 'foreign_host' || code === 'invalid_request' || code === 'key_conflict') return fail(false);
  if (error instanceof OAuthError && !error.retryable) return fail(true); // fixable by configuring OAuth, then `retry`
  // Once with a fresh OAuth token; the second refusal is final (a re-drive may still help later).
  if (code === 'unauthorized' || code === 'not_media') return seen >= 2 || history.attempts >= options.maxAttempts ? fail(code === 'unauthorized') : retryNow(true);
  if (code === 'size_mismatch' && seen >= 2) return fail(false);
  if (history.attempts >= options.maxAttempts) return fail(isRetryable(error));

  const retryAfterMs = error instanceof ZoomTransferError ? error.retryAfterMs : undefined;
  if (retryAfterMs !== undefined && retryAfterMs > options.maxRetryAfterMs) return fail(true);
  return { action: 'retry', delayMs: retryAfterMs ?? backoffDelay(history.attempts, options.backoff), freshOAuthToken: false };
}

const retryNow = (freshOAuthToken: boolean): Decision => ({ action: 'retry', delayMs: 0, freshOAuthToken });

function isRetryable(error: unknown): boolean {
  return error instanceof ArchiverError ? error.retryable : true;
}

/** A person-readable reason; our errors' messages carry no token or query string. */
export function describeError(error: unknown): string {
  if (error instanceof ArchiverError) return error.message;
  if (error instanceof Error) return `${error.name}: ${error.message.replace(/\?\S*/g, '?…')}`;
  return 'unknown error';
}

/** Automatic re-drive of retryable failures (AUTO_RETRY_BASE_SECONDS, AUTO_RETRY_MAX_ATTEMPTS). */
export interface AutoRetryPolicy {
  /** Wait before the first automatic re-drive; the n-th waits `baseMs × 2^(n-1)`. */
  baseMs: number;
  /** Automatic re-drives per file; 0 = off. */
  maxAttempts: number;
}

/** Wait before the n-th automatic re-drive (n = 1..maxAttempts), counted from the failure. */
export function autoRetryDelayMs(policy: Pick<AutoRetryPolicy, 'baseMs'>, n: number): number {
  return policy.baseMs * 2 ** (n - 1);
}

/**
 * When a failure is re-driven by itself: `now + baseMs × 2^autoRetries` for a retryable
 * failure of a file re-driven automatically `autoRetries` times so far, while that is
 * under `maxAttempts`; undefined otherwise (permanent failure, automatic re-drive off or
 * used up, no policy): the file then waits for a person (`retry`).
 */
export function nextAutoRetryAt(
  policy: AutoRetryPolicy | undefined,
  failure: { retryable: boolean; autoRetries: number },
  now: number,
): number | undefined {
  if (!policy || !failure.retryable || failure.autoRetries >= policy.maxAttempts) return undefined;
  return now + autoRetryDelayMs(policy, failure.autoRetries + 1);
}
