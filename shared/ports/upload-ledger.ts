/**
 * Port: the upload ledger, the record that makes "exactly once per file" true. One
 * entry per recording file (key: the file id) moves requested → uploading → uploaded
 * | failed. Every state change is a single-item conditional write, so the ledger runs
 * on DynamoDB without transactions and on SQLite alike.
 *
 * Automatic re-drive: a retryable failure may carry `nextAttemptAt`; the recovery
 * sweep lists the failed entries that are due (listDueRetries), marks each with
 * noteAutoRetry (→ requested, `autoRetries` + 1) and publishes its request again. The
 * uploader sets `nextAttemptAt` only while `autoRetries` is under the limit
 * (AUTO_RETRY_MAX_ATTEMPTS), so the number of automatic re-drives is bounded.
 *
 * Leases: `claim` hands the file to one owner until `leaseExpiresAt`. An owner keeps
 * the file until it finishes, gives it back, or someone else claims it after the
 * lease expired; from then on its renew/checkpoint/complete/fail/release answer
 * `false`, so an uploader that lost its lease can never mark the file uploaded. Use
 * an owner id that is unique per attempt (e.g. `${instance}:${randomUUID()}`): a
 * re-used id would let a stale attempt act for the new one.
 *
 * Times are epoch milliseconds passed in by the caller (from its Clock), never read
 * inside an adapter, so tests and recovery sweeps control time.
 *
 * Size limits. An entry holds the whole FileUploadRequested (minus the sealed token),
 * so a large request — a topic of thousands of characters — makes a large entry.
 * - DynamoDB refuses an item over 400 KB (attribute names and values, UTF-8), and the
 *   byState index projects every attribute, so the same limit holds there. The
 *   largest entry is a request of MAX_LEDGER_REQUEST_BYTES (16 KB; the adapters
 *   check it with storableRequest, shared/adapters/ledger-rules.ts) + a checkpoint of
 *   at most MAX_CHECKPOINT_BYTES (300 KB: S3's 10,000 parts, compressed) + the other
 *   fields (ids, an archive key of ≤ 1 KB twice, the result, the last error: a few KB;
 *   counters and times such as `autoRetries` and `nextAttemptAt` are numbers of a few
 *   bytes each), about 325 KB, which leaves room under 400 KB. The request limit is what keeps
 *   the checkpoint, which grows during the transfer, from being refused mid-upload.
 * - SQLite stores the request and the checkpoint as TEXT, up to SQLITE_MAX_LENGTH
 *   (1,000,000,000 bytes in better-sqlite3's build) per value and per row: no real
 *   limit. It applies the same 16 KB request limit anyway, so that a file accepted on
 *   one machine is accepted in the cloud too.
 * An entry the store refuses fails `register` with LedgerRefusedError: retrying the
 * same request cannot help, so the uploader reports the file as failed instead.
 */
import { ArchiverError } from '../errors';
import type { ArchiveLocation, Checksum, FileUploadRequested } from '../events';

export type LedgerState = 'requested' | 'uploading' | 'uploaded' | 'failed';

/** Why the last attempt failed, as recorded (no tokens or secrets in `message`). */
export interface LedgerError {
  code: string;
  message: string;
  retryable: boolean;
}

/** One committed part of a multipart transfer. */
export interface CheckpointPart {
  partNumber: number;
  etag: string;
  size: number;
}

/**
 * Progress of a transfer that a later attempt (another Lambda run, a restarted
 * process) resumes with an HTTP Range request from `bytesCommitted`. Kept on a
 * takeover; kept on fail/release so a re-drive resumes; dropped on complete.
 */
export interface TransferCheckpoint {
  /** The archive's multipart upload id, when the store has one. */
  uploadId?: string;
  /** Bytes of the source already durable in the archive (sum of `parts` sizes for S3). */
  bytesCommitted: number;
  parts: CheckpointPart[];
  /** Serialized state of a running checksum, so the checksum need not re-read committed bytes. */
  hashState?: string;
}

/** What a finished upload produced: the fields FileUploaded and RecordingArchived carry. */
export interface LedgerResult {
  size: number;
  checksum: Checksum;
  location: ArchiveLocation;
}

/** The request that created the entry, kept so that recovery and `retry` can re-drive it. Never holds the download token. */
export type LedgerRequest = Omit<FileUploadRequested, 'downloadAccess'>;

export interface LedgerEntry {
  fileId: string;
  recordingId: string;
  /** The files that announce together (one RecordingAvailable): see ledgerGroupKey in shared/ledger-group.ts. */
  groupKey: string;
  /** How many files of the group were accepted (FileUploadRequested.acceptedFileCount). */
  groupSize?: number;
  course?: string;
  archiveKey: string;
  expectedSize?: number;
  request?: LedgerRequest;
  state: LedgerState;
  /** Successful claims so far (the first attempt is 1). */
  attempts: number;
  /** Claims refused because the file was already uploaded (duplicate deliveries). */
  duplicates: number;
  /**
   * Re-drives by the recovery sweep of runs that ended without an outcome (killed
   * holding the lease, or stopped at their invocation deadline); see noteRedrive.
   * Past the sweep's cap the file fails with code `deadline` instead of looping.
   */
  redrives: number;
  /**
   * When a run last stopped at its invocation deadline (release with a note), until
   * the next claim or re-drive takes the file: tells the sweep that this requested
   * entry is an interrupted run (counted), not a hand-back at shutdown (not counted).
   */
  interruptedAt?: number;
  /**
   * Automatic re-drives of retryable failures so far (noteAutoRetry); bounded by
   * AUTO_RETRY_MAX_ATTEMPTS. Never reset: a manual `retry` or a success leaves it as history.
   */
  autoRetries: number;
  /**
   * Only on a failed entry: when the recovery sweep re-drives it by itself (epoch ms).
   * Set by `fail` / `failAbandoned` for a retryable failure while automatic re-drives
   * are left; absent, the file waits for a person (`retry`). Cleared by claim, complete,
   * noteAutoRetry, and by a later `fail` without one.
   */
  nextAttemptAt?: number;
  leaseOwner?: string;
  leaseExpiresAt?: number;
  /** The most recent failure; kept after a later success as history. */
  lastError?: LedgerError;
  checkpoint?: TransferCheckpoint;
  result?: LedgerResult;
  createdAt: number;
  /** Last write (claim, renew, checkpoint, complete, fail, release); duplicate counting does not move it. */
  updatedAt: number;
}

/** What a new entry is created from: its identity fields, as they are stored. */
export type RegisterInput = Pick<LedgerEntry, 'fileId' | 'recordingId' | 'groupKey' | 'groupSize' | 'course' | 'archiveKey' | 'expectedSize'> & {
  /** Adapters drop `downloadAccess` if a full FileUploadRequested is passed. */
  request?: LedgerRequest | FileUploadRequested;
  now: number;
};

export type ClaimResult =
  /** Now uploading, leased to the caller, attempts + 1. `entry.checkpoint` is where to resume. */
  | { outcome: 'claimed'; entry: LedgerEntry }
  /** Finished before: do not transfer again; the duplicate was counted. */
  | { outcome: 'already_uploaded'; entry: LedgerEntry }
  /** Another owner (or an earlier attempt) holds a live lease until `entry.leaseExpiresAt`. */
  | { outcome: 'leased'; entry: LedgerEntry };

/**
 * What the recovery sweep read of an entry; its writes apply only if the entry is
 * still exactly so (nobody claimed, released, renewed or re-drove it in between).
 */
export type RecoverySnapshot = Pick<LedgerEntry, 'fileId' | 'state' | 'attempts' | 'redrives' | 'autoRetries' | 'updatedAt'>;

/** How a failure is recorded, besides its error. */
export interface FailOptions {
  /** When the recovery sweep re-drives the file by itself (epoch ms); absent: it waits for `retry`. */
  nextAttemptAt?: number;
}

export interface ListOptions {
  /** Only entries with `updatedAt >= updatedSince`. */
  updatedSince?: number;
  limit?: number;
}

export interface UploadLedger {
  /** Creates the entry in state requested if absent (idempotent: an existing entry is returned unchanged). */
  register(input: RegisterInput): Promise<LedgerEntry>;
  /**
   * Claims the file when it is requested or failed, or uploading with a lease that
   * expired (`leaseExpiresAt <= now`); clears `nextAttemptAt` (a failed file claimed by
   * a manual `retry` is no longer due). `entry.autoRetries` tells the uploader how many
   * automatic re-drives the file has had. Throws LedgerEntryNotFoundError if never registered.
   */
  claim(fileId: string, owner: string, leaseMs: number, now: number): Promise<ClaimResult>;
  /** Extends the caller's lease to `now + leaseMs`; false if the lease was lost. */
  renew(fileId: string, owner: string, leaseMs: number, now: number): Promise<boolean>;
  /** Records transfer progress (null clears it, e.g. when the archive dropped the upload id); false if the lease was lost. */
  checkpoint(fileId: string, owner: string, checkpoint: TransferCheckpoint | null, now: number): Promise<boolean>;
  /** uploading(owner) → uploaded; clears lease, checkpoint and `nextAttemptAt`. False if the lease was lost: then nothing was recorded. */
  complete(fileId: string, owner: string, result: LedgerResult, now: number): Promise<boolean>;
  /**
   * uploading(owner) → failed with `error`; clears the lease, keeps the checkpoint for a
   * re-drive. `options.nextAttemptAt` (a retryable failure with automatic re-drives
   * left) makes it due for the recovery sweep then; without it any earlier one is cleared.
   */
  fail(fileId: string, owner: string, error: LedgerError, now: number, options?: FailOptions): Promise<boolean>;
  /**
   * uploading(owner) → requested; keeps the checkpoint. Without `interruption` a plain
   * hand-back (graceful shutdown). With it, a run stopping at its invocation deadline:
   * the note becomes `lastError` and `interruptedAt` is set to `now`, so the recovery
   * sweep counts its re-drive.
   */
  release(fileId: string, owner: string, now: number, interruption?: LedgerError): Promise<boolean>;
  /**
   * The recovery sweep's mark before it re-drives an abandoned entry (requested, or
   * uploading with `leaseExpiresAt <= now`). If the entry is still as `seen`: → requested
   * (lease cleared, checkpoint kept, `interruptedAt` cleared, `updatedAt` = now, so a
   * request waiting in the bus is not re-driven again before the sweep's stale time),
   * and `redrives` + 1 when `counted` (the run ended without an outcome). False when
   * the entry changed since the sweep read it: someone else acted, do not re-drive.
   * One conditional write, so two sweeps never both count the same run.
   */
  noteRedrive(seen: RecoverySnapshot, counted: boolean, now: number): Promise<boolean>;
  /**
   * The recovery sweep giving up on an abandoned entry (re-driven too often): if it is
   * still as `seen` (and, if uploading, its lease expired), → failed with `error`; the
   * lease and `interruptedAt` are cleared, the checkpoint kept, `nextAttemptAt` set as
   * for `fail`. False when it changed.
   */
  failAbandoned(seen: RecoverySnapshot, error: LedgerError, now: number, options?: FailOptions): Promise<boolean>;
  /**
   * The recovery sweep's mark before it re-drives a due retryable failure (listDueRetries).
   * If the entry is still as `seen` (state failed, same attempts, redrives, autoRetries
   * and updatedAt) and still due (`nextAttemptAt <= now`): → requested, `autoRetries` + 1,
   * `nextAttemptAt` cleared, `updatedAt` = now; the checkpoint and `lastError` kept. The
   * re-published request then claims it like any requested entry. False when the entry
   * changed (a `retry`, another sweep): do not re-drive. One conditional write, so two
   * sweeps never both re-drive it.
   */
  noteAutoRetry(seen: RecoverySnapshot, now: number): Promise<boolean>;
  /** The current entry, read consistently. */
  get(fileId: string): Promise<LedgerEntry | undefined>;
  /**
   * Every entry of a group, each read consistently (so that of two uploaders finishing
   * the last two files together, at least one sees both uploaded). Ordered by fileId.
   * On DynamoDB the member list comes from an index that can lag a registration by a
   * moment: treat the group as complete only when `groupSize` entries are all uploaded.
   */
  listGroup(groupKey: string): Promise<LedgerEntry[]>;
  /** True exactly once per group, whoever calls it: the right to publish RecordingArchived. */
  claimGroupAnnouncement(groupKey: string, now: number): Promise<boolean>;
  /** Entries in a state, oldest update first (restart recovery, `retry --failed [--since]`). */
  listByState(state: LedgerState, options?: ListOptions): Promise<LedgerEntry[]>;
  /** Uploading entries whose lease expired (`leaseExpiresAt <= now`): crashed attempts to take over. */
  listExpiredLeases(now: number, limit?: number): Promise<LedgerEntry[]>;
  /**
   * Failed entries due for an automatic re-drive (`nextAttemptAt <= now`), earliest
   * first. On DynamoDB: the byState index's failed partition, filtered (no Scan; every
   * failed item is read, so with `limit` it keeps the first due ones in update order).
   */
  listDueRetries(now: number, limit?: number): Promise<LedgerEntry[]>;
}

/** The ledger's store failed (driver, network, throttling); `retryable` says whether trying again can help. */
export class LedgerStoreError extends ArchiverError {
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.retryable = retryable;
  }
}

/** A claim for a file that was never registered: a wiring bug, not a transient state. */
export class LedgerEntryNotFoundError extends ArchiverError {
  readonly retryable = false;
  constructor(readonly fileId: string) {
    super(`no ledger entry for file ${fileId}`);
  }
}

/** An input the ledger refuses to store (too large, invalid); retrying the same input cannot help. */
export class LedgerInputError extends ArchiverError {
  readonly retryable = false;
}

/**
 * `register` could not record the file: the entry is over the ledger's limits (see
 * the size limits above) or its store refused it as invalid (DynamoDB's
 * ValidationException, SQLite's TOOBIG / constraint errors). The same request will be
 * refused again, so the caller reports the file as failed rather than retrying. The
 * message names the file and the limit, never the request's contents.
 */
export class LedgerRefusedError extends LedgerInputError {
  constructor(readonly fileId: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
