/**
 * Port: what the reconciler needs from Zoom's REST API — every cloud recording of the
 * account in a date range, and one recording by its meeting UUID. The adapter
 * (shared/adapters/zoom-api.ts) hides Zoom's rules: windows of at most one month,
 * `next_page_token` to the end, the per-user fallback when the account-level listing
 * is refused, the shared per-account rate limit, and 429s with or without Retry-After.
 *
 * Messages never contain a token; every response is validated, and a page that is not
 * what Zoom documents is a ZoomApiError naming its window, never a silent skip.
 */
import { ArchiverError } from '../errors';
import type { ZoomRecordingObject } from '../zoom/recording';

/** UTC dates `YYYY-MM-DD`, both included — Zoom's `from`/`to`. */
export interface DateRange {
  from: string;
  to: string;
}

/** One page of a listing, as the reconciler consumes it. */
export interface RecordingPage {
  /** The ≤ 1-month window this page belongs to. */
  window: DateRange;
  /** `account`: GET /accounts/me/recordings; `users`: GET /users/{userId}/recordings. */
  listing: 'account' | 'users';
  /** With `users`: whose recordings these are. */
  userId?: string;
  /** 1-based within its window (and user). */
  pageNumber: number;
  recordings: ZoomRecordingObject[];
}

/** Counters of the client's work since it was made (for run records and benchmarks). */
export interface ZoomApiStats {
  /** HTTP requests to the API (retries included; OAuth token requests not). */
  calls: number;
  /** Answers of 429 (each waited out before the retry). */
  rateLimited: number;
  /** Requests repeated after a 429, a 5xx or a network failure. */
  retries: number;
  /** Time spent waiting for the local rate limiter, in ms. */
  pacedMs: number;
}

export interface ListOptions {
  signal?: AbortSignal;
}

export interface ZoomRecordingsApi {
  /**
   * Every recording whose meeting started in `range`, page by page: the range is cut
   * into windows of at most one month (Zoom silently caps longer ones), each listed
   * with `page_size=300` following `next_page_token` to the end. Account-wide; when
   * Zoom refuses that (a token without the scope: code 4711 or 124), user by user
   * (active and inactive users; pending ones have no recordings) for the rest of the
   * client's life. A window that cannot be listed rejects the iteration with
   * ZoomApiError (its `window` set); pages already yielded stay valid.
   */
  listRecordings(range: DateRange, options?: ListOptions): AsyncGenerator<RecordingPage>;
  /** One meeting instance's recording (GET /meetings/{uuid}/recordings); undefined when Zoom has none (404, 3301). */
  getRecording(uuid: string, options?: ListOptions): Promise<ZoomRecordingObject | undefined>;
  stats(): ZoomApiStats;
}

/**
 * What clean-up needs from Zoom: read one recording again at the due time, then move
 * it — the whole meeting instance, every file — to Zoom's trash.
 */
export interface ZoomTrashApi extends Pick<ZoomRecordingsApi, 'getRecording'> {
  /**
   * DELETE /meetings/{uuid}/recordings?action=trash (never `action=delete`, which is
   * permanent), the UUID double-encoded when it starts with `/` or contains `//`.
   * 'trashed' when Zoom answers 204; 'not_found' for 404 or code 3301 (nothing there,
   * e.g. a trash that already happened). 429, 408, 5xx and network failures are
   * retried like every call (then ZoomApiError 'unavailable'); other refusals are
   * ZoomApiError ('unauthorized' for a missing scope, else 'rejected').
   */
  trashRecording(uuid: string, options?: ListOptions): Promise<'trashed' | 'not_found'>;
}

export type ZoomApiFailure =
  /** Zoom refused the credential or a scope is missing (401/403, or 400 with 4711/124 outside the fallback). */
  | 'unauthorized'
  /** Rate-limited longer than the client waits, or 5xx/network failures past the retries. */
  | 'unavailable'
  /** The answer was not what Zoom documents (not JSON, failed validation). */
  | 'invalid_response'
  /** Any other refusal (e.g. 400 for a bad request). */
  | 'rejected';

export class ZoomApiError extends ArchiverError {
  readonly retryable: boolean;

  constructor(
    message: string,
    readonly failure: ZoomApiFailure,
    readonly details: { status?: number; zoomCode?: number; window?: DateRange; path?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.retryable = failure === 'unavailable';
  }
}
