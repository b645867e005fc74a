/**
 * Port: the clean-up schedule — one entry per recording (meeting-instance UUID) that
 * is to go to Zoom's trash once its delay is over. It is what makes the delay durable
 * (it survives restarts and deploys) and the trash call happen once: every change is
 * a conditional write on the entry's `version`, so two runners, a duplicate delivery
 * and a restart agree on one outcome.
 *
 *   schedule ──▶ scheduled ──claim (due)──▶ running ──finish──▶ trashed | held | would_trash | gone
 *                    ▲                        │
 *                    └──────── postpone ──────┘   (Zoom unavailable: back-off)
 *
 * - `scheduled`: waits for `dueAt`. A later RecordingArchived of the same recording
 *   (another part, a transcript, a re-driven file) pushes `dueAt` back (never forward).
 * - `running`: a runner holds it until `leaseExpiresAt`; after that anyone may claim it.
 *   `trashRequestedAt` is set right before the DELETE is sent, so a runner that finds
 *   the recording gone afterwards knows the trash was its own (a lost answer), not
 *   someone else's.
 * - `held`: the check at the due time refused (a file failed or is pending, the
 *   recording is rejected or its course excepted); `note` says why. A later
 *   RecordingArchived schedules it again.
 * - `would_trash`: the dry run decided it would trash it. With `trashInZoom: "on"`
 *   these are claimable once due, so switching from dry run to on trashes what the dry
 *   run announced (re-checked first).
 * - `trashed`: in Zoom's trash (`outcome` says whether our DELETE answered 204, or the
 *   404/3301 of a trash already done). Final: schedule() leaves it alone.
 * - `gone`: Zoom had no such recording when it was due, and not because of us
 *   (someone trashed or deleted it). Final.
 *
 * Adapters: SQLite on one machine (DATA_DIR/cleanup.sqlite), DynamoDB in the cloud
 * (items `cleanup#<recordingId>` in the ledger table, listed through its byState
 * index). Both apply the same transitions (shared/adapters/cleanup-rules.ts). Times
 * are epoch milliseconds passed in by the caller.
 */

export type CleanupState = 'scheduled' | 'running' | 'held' | 'would_trash' | 'trashed' | 'gone';

export interface CleanupEntry {
  recordingId: string;
  course: string;
  state: CleanupState;
  /** When it is (or was) due: the last RecordingArchived's time + delayHours, or a back-off after Zoom was unavailable. */
  dueAt: number;
  /** Times Zoom stayed unavailable (429/5xx past the client's own retries) for this recording. */
  attempts: number;
  leaseOwner?: string;
  leaseExpiresAt?: number;
  /** Set (while running) right before the DELETE is sent. */
  trashRequestedAt?: number;
  /** A RecordingArchived that came while running: the new due time, applied if the run ends held or would_trash. */
  rescheduleAt?: number;
  /** With `trashed`: 'trashed' (204) or 'already_in_trash' (404/3301 after our own DELETE). */
  outcome?: 'trashed' | 'already_in_trash';
  /** When the final state (trashed, held, would_trash, gone) was reached. */
  decidedAt?: number;
  /** Why it is held, gone, postponed; one line for people, never a token. */
  note?: string;
  /** Every write increments it; the condition of the next write. */
  version: number;
  createdAt: number;
  updatedAt: number;
}

export interface ScheduleInput {
  recordingId: string;
  course: string;
  dueAt: number;
  now: number;
}

export type FinishOutcome =
  | { state: 'trashed'; outcome: 'trashed' | 'already_in_trash'; note?: string }
  | { state: 'held'; note: string }
  | { state: 'would_trash'; note?: string }
  | { state: 'gone'; note: string };

export interface DueOptions {
  /** Also list (and let claim take) `would_trash` entries that are due: trashInZoom "on". */
  includeWouldTrash?: boolean;
  limit?: number;
}

export interface CleanupSchedule {
  /**
   * Schedules the recording (creates `scheduled`), or pushes an existing entry's due
   * time back to `dueAt` when that is later: `scheduled` stays scheduled; `held`,
   * `would_trash` and `gone` become `scheduled` at `dueAt` (something new was
   * archived, so the decision is stale); `running` keeps running with `rescheduleAt`;
   * `trashed` is left as it is. Returns the entry as stored.
   */
  schedule(input: ScheduleInput): Promise<CleanupEntry>;
  /**
   * Takes a due entry: `scheduled` with `dueAt <= now`, `would_trash` likewise when
   * `options.includeWouldTrash`, or `running` with `leaseExpiresAt <= now` (a runner
   * that died). → running, leased to `owner` until now + leaseMs. Undefined when it is
   * not due, not there, or someone else took it first.
   */
  claim(recordingId: string, owner: string, leaseMs: number, now: number, options?: Pick<DueOptions, 'includeWouldTrash'>): Promise<CleanupEntry | undefined>;
  /** Records that the DELETE is about to be sent (running, owner). False if the lease was lost. */
  markTrashRequested(recordingId: string, owner: string, now: number): Promise<boolean>;
  /** running(owner) → the outcome's state (see FinishOutcome and `rescheduleAt`). False if the lease was lost. */
  finish(recordingId: string, owner: string, outcome: FinishOutcome, now: number): Promise<boolean>;
  /** running(owner) → scheduled at `dueAt`, `attempts` + 1, `note`; keeps `trashRequestedAt`. False if the lease was lost. */
  postpone(recordingId: string, owner: string, dueAt: number, note: string, now: number): Promise<boolean>;
  get(recordingId: string): Promise<CleanupEntry | undefined>;
  /** Claimable entries at `now` (see claim), earliest due first. */
  listDue(now: number, options?: DueOptions): Promise<CleanupEntry[]>;
  /** Every entry, by state then due time (the `cleanup` command and the dashboard). */
  list(options?: { states?: readonly CleanupState[]; limit?: number }): Promise<CleanupEntry[]>;
  close?(): void;
}
