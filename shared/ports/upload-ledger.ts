/**
 * Port: the upload ledger, the record that makes "exactly once per file" true. One
 * entry per recording file (key: the file id) moves requested → uploading → uploaded
 * | failed. Every state change is a single-item conditional write, so the ledger runs
 * on DynamoDB without transactions and on SQLite alike.
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
 */
import { ArchiverError } from '../errors';
import type { ArchiveLocation, Checksum, FileUploadRequested } from '../events';

export const LEDGER_STATES = ['requested', 'uploading', 'uploaded', 'failed'] as const;
export type LedgerState = (typeof LEDGER_STATES)[number];

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
  /** The files that announce together (one RecordingAvailable): see ledgerGroupKey. */
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
   * expired (`leaseExpiresAt <= now`). Throws LedgerEntryNotFoundError if never registered.
   */
  claim(fileId: string, owner: string, leaseMs: number, now: number): Promise<ClaimResult>;
  /** Extends the caller's lease to `now + leaseMs`; false if the lease was lost. */
  renew(fileId: string, owner: string, leaseMs: number, now: number): Promise<boolean>;
  /** Records transfer progress (null clears it, e.g. when the archive dropped the upload id); false if the lease was lost. */
  checkpoint(fileId: string, owner: string, checkpoint: TransferCheckpoint | null, now: number): Promise<boolean>;
  /** uploading(owner) → uploaded; clears lease and checkpoint. False if the lease was lost: then nothing was recorded. */
  complete(fileId: string, owner: string, result: LedgerResult, now: number): Promise<boolean>;
  /** uploading(owner) → failed with `error`; clears the lease, keeps the checkpoint for a re-drive. */
  fail(fileId: string, owner: string, error: LedgerError, now: number): Promise<boolean>;
  /** uploading(owner) → requested (graceful shutdown); keeps the checkpoint. */
  release(fileId: string, owner: string, now: number): Promise<boolean>;
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
}

/** Group key of the files announced together: one RecordingAvailable (`part` = its trigger and part index). */
export function ledgerGroupKey(recordingId: string, part: string | number): string {
  return `${recordingId}#${part}`;
}

/** A stored request over this size is refused: it would crowd the checkpoint out of a DynamoDB item. */
export const MAX_LEDGER_REQUEST_BYTES = 16 * 1024;

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

/** The request to store, without the (sealed) download token, size-checked. Shared by the adapters. */
export function storableRequest(request: RegisterInput['request'], fileId: string): LedgerRequest | undefined {
  if (request === undefined) return undefined;
  const { downloadAccess: _dropped, ...rest } = request as FileUploadRequested;
  const size = Buffer.byteLength(JSON.stringify(rest), 'utf8');
  if (size > MAX_LEDGER_REQUEST_BYTES) {
    throw new LedgerInputError(`request of file ${fileId} is ${size} bytes, over the ledger's ${MAX_LEDGER_REQUEST_BYTES}`);
  }
  return rest;
}

/** Lease durations must be positive whole milliseconds; anything else is a caller bug. */
export function assertLeaseMs(leaseMs: number): void {
  if (!Number.isInteger(leaseMs) || leaseMs <= 0) {
    throw new LedgerInputError(`lease must be a positive whole number of milliseconds, got ${leaseMs}`);
  }
}
