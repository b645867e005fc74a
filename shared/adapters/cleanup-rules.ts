/**
 * The clean-up schedule's state machine, written once for both adapters (SQLite and
 * DynamoDB; see shared/ports/cleanup-schedule.ts). Every transition is a pure
 * function of the stored entry (or its absence) and the caller's input: it returns
 * the next entry — `version + 1`, `updatedAt = now` — or undefined when the
 * transition is not allowed or would change nothing, in which case nothing is
 * written. An adapter reads the entry, applies the rule, and writes the result on
 * the condition that the version it read is still the stored one (or that there is
 * no entry yet); a lost race re-reads and re-applies (TRANSITION_ROUNDS times).
 *
 *   schedule   new → scheduled (attempts 0, version 1). Otherwise only when the new
 *              dueAt is later than the stored one ("pushes the due time back"):
 *              scheduled → dueAt moves back; held | would_trash | gone → scheduled
 *              at the new dueAt (note, decidedAt, lease and outcome cleared;
 *              attempts, createdAt and trashRequestedAt kept); running → stays
 *              running, `rescheduleAt` = the new dueAt (later than both dueAt and
 *              an earlier rescheduleAt); trashed → never changes. A duplicate
 *              delivery (the same, or an earlier, due time) writes nothing. The
 *              course is taken from the input when it differs and the input is not
 *              older than the entry (its dueAt is not earlier).
 *   claim      scheduled with dueAt <= now, would_trash with dueAt <= now when
 *              includeWouldTrash, or running with leaseExpiresAt <= now → running,
 *              leased to owner until now + leaseMs (rescheduleAt, trashRequestedAt
 *              and note kept; decidedAt cleared: it is no longer decided).
 *   markTrashRequested  running(owner) → trashRequestedAt = now.
 *   finish     running(owner) → trashed (outcome, decidedAt, lease and rescheduleAt
 *              cleared) | held / would_trash (note, decidedAt) — or, when a
 *              RecordingArchived came during the run (rescheduleAt), scheduled at
 *              rescheduleAt with the note kept for information | gone.
 *   postpone   running(owner) → scheduled at dueAt (or the later rescheduleAt),
 *              attempts + 1, note; trashRequestedAt kept (a DELETE may have been
 *              sent and its answer lost).
 *
 * Owner operations do not check the lease's expiry: a lease is lost when another
 * runner claims the entry (as in the upload ledger). Inputs are checked first and a
 * bad one is a CleanupInputError (a caller bug; retrying cannot help).
 */
import { ArchiverError } from '../errors';
import type { CleanupEntry, CleanupState, FinishOutcome, ScheduleInput } from '../ports/cleanup-schedule';

/** Every state, in the order `list()` returns them (the life cycle's order). */
export const CLEANUP_STATES = ['scheduled', 'running', 'held', 'would_trash', 'trashed', 'gone'] as const satisfies readonly CleanupState[];
/** States in which a decision was reached (`decidedAt` is set). */
export const DECIDED_STATES: ReadonlySet<CleanupState> = new Set<CleanupState>(['held', 'would_trash', 'trashed', 'gone']);
/** listDue's limit when the caller gives none. */
export const DEFAULT_DUE_LIMIT = 100;
/** A write that loses a race re-reads and re-applies its rule this often before giving up (retryable). */
export const TRANSITION_ROUNDS = 8;
/** Notes are one line for people: control characters become spaces, and a longer note is cut. */
export const MAX_NOTE_LENGTH = 500;
/** Recording ids (Zoom meeting-instance UUIDs, 24 characters) and owners longer than this are caller bugs. */
export const MAX_ID_LENGTH = 1024;

/** A bad argument: an empty id, a time that is not epoch milliseconds, a lease of 0. Not retryable. */
export class CleanupInputError extends ArchiverError {
  readonly retryable = false;
}

/** The store failed (or kept losing races); `retryable` says whether trying again later can help. */
export class CleanupStoreError extends ArchiverError {
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.retryable = retryable;
  }
}

// ---------------------------------------------------------------------------------------------
// Input checks

export function assertRecordingId(recordingId: unknown): asserts recordingId is string {
  assertText('recordingId', recordingId);
}

export function assertOwner(owner: unknown): asserts owner is string {
  assertText('owner', owner);
}

/** Times are whole epoch milliseconds (the SQLite columns are STRICT INTEGERs). */
export function assertTime(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new CleanupInputError(`${name} must be whole epoch milliseconds, not ${describe(value)}`);
  }
}

export function assertLeaseMs(leaseMs: unknown): asserts leaseMs is number {
  if (typeof leaseMs !== 'number' || !Number.isSafeInteger(leaseMs) || leaseMs <= 0) {
    throw new CleanupInputError(`leaseMs must be a positive whole number of milliseconds, not ${describe(leaseMs)}`);
  }
}

/** A listing limit: a whole number, 0 or more; undefined when absent. */
export function checkedLimit(limit: unknown, fallback?: number): number | undefined {
  if (limit === undefined) return fallback;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0) {
    throw new CleanupInputError(`limit must be a whole number, 0 or more, not ${describe(limit)}`);
  }
  return limit;
}

/** The states to list, each known, without repeats, in CLEANUP_STATES order; all when absent. */
export function checkedStates(states: readonly CleanupState[] | undefined): CleanupState[] {
  if (states === undefined) return [...CLEANUP_STATES];
  if (!Array.isArray(states)) throw new CleanupInputError(`states must be a list of clean-up states, not ${describe(states)}`);
  for (const state of states) {
    if (!isCleanupState(state)) throw new CleanupInputError(`unknown clean-up state ${describe(state)}: expected one of ${CLEANUP_STATES.join(', ')}`);
  }
  return CLEANUP_STATES.filter((state) => states.includes(state));
}

export function isCleanupState(value: unknown): value is CleanupState {
  return typeof value === 'string' && (CLEANUP_STATES as readonly string[]).includes(value);
}

export function assertScheduleInput(input: ScheduleInput): void {
  if (typeof input !== 'object' || input === null) throw new CleanupInputError(`schedule needs an input object, not ${describe(input)}`);
  assertRecordingId(input.recordingId);
  assertText('course', input.course);
  assertTime('dueAt', input.dueAt);
  assertTime('now', input.now);
}

export function assertFinishOutcome(outcome: FinishOutcome): void {
  if (typeof outcome !== 'object' || outcome === null) throw new CleanupInputError(`finish needs an outcome, not ${describe(outcome)}`);
  switch (outcome.state) {
    case 'trashed':
      if (outcome.outcome !== 'trashed' && outcome.outcome !== 'already_in_trash') {
        throw new CleanupInputError(`a trashed outcome is 'trashed' or 'already_in_trash', not ${describe(outcome.outcome)}`);
      }
      if (outcome.note !== undefined) assertNote(outcome.note);
      return;
    case 'held':
    case 'gone':
      assertNote(outcome.note);
      if (outcome.note.trim() === '') throw new CleanupInputError(`a ${outcome.state} outcome needs a note saying why`);
      return;
    case 'would_trash':
      if (outcome.note !== undefined) assertNote(outcome.note);
      return;
    default:
      throw new CleanupInputError(
        `finish ends in trashed, held, would_trash or gone, not ${describe((outcome as { state?: unknown }).state)}`,
      );
  }
}

function assertNote(note: unknown): asserts note is string {
  if (typeof note !== 'string') throw new CleanupInputError(`note must be text, not ${describe(note)}`);
}

function assertText(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) throw new CleanupInputError(`${name} must be a non-empty string, not ${describe(value)}`);
  if (value.length > MAX_ID_LENGTH) throw new CleanupInputError(`${name} is ${value.length} characters, over ${MAX_ID_LENGTH}`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return value.length > 40 ? `"${value.slice(0, 40)}…"` : `"${value}"`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  return typeof value;
}

/** One line for people: control characters (newlines included) become single spaces; cut at MAX_NOTE_LENGTH. */
export function oneLineNote(note: string): string {
  const line = note.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
  return line.length <= MAX_NOTE_LENGTH ? line : `${line.slice(0, MAX_NOTE_LENGTH - 1)}…`;
}

// ---------------------------------------------------------------------------------------------
// Transitions

/** Schedules a new recording, or pushes an existing entry's due time back (see the module comment). */
export function applySchedule(existing: CleanupEntry | undefined, input: ScheduleInput): CleanupEntry | undefined {
  assertScheduleInput(input);
  const { recordingId, course, dueAt, now } = input;
  if (!existing) {
    return { recordingId, course, state: 'scheduled', dueAt, attempts: 0, version: 1, createdAt: now, updatedAt: now };
  }
  if (existing.state === 'trashed') return undefined;

  // Running: the time already known to apply after the run is the later of the two.
  const reference = existing.state === 'running' ? Math.max(existing.dueAt, existing.rescheduleAt ?? existing.dueAt) : existing.dueAt;
  const later = dueAt > reference;
  const newCourse = course !== existing.course && dueAt >= reference;
  if (!later && !newCourse) return undefined;
  const base = { ...existing, course: newCourse ? course : existing.course };
  if (!later) return next(base, now);

  switch (existing.state) {
    case 'scheduled':
      return next({ ...base, dueAt }, now);
    case 'running':
      return next({ ...base, rescheduleAt: dueAt }, now);
    case 'held':
    case 'would_trash':
    case 'gone':
      return next(
        {
          ...base,
          state: 'scheduled',
          dueAt,
          note: undefined,
          decidedAt: undefined,
          leaseOwner: undefined,
          leaseExpiresAt: undefined,
          outcome: undefined,
          rescheduleAt: undefined,
        },
        now,
      );
  }
}

/** Whether `claim` may take the entry at `now`. */
export function isClaimable(entry: CleanupEntry | undefined, now: number, includeWouldTrash = false): boolean {
  if (!entry) return false;
  switch (entry.state) {
    case 'scheduled':
      return entry.dueAt <= now;
    case 'would_trash':
      return includeWouldTrash && entry.dueAt <= now;
    case 'running':
      return (entry.leaseExpiresAt ?? Number.NEGATIVE_INFINITY) <= now;
    default:
      return false;
  }
}

/** The time from which the entry is claimable: its lease's expiry when running, else its due time. listDue's order. */
export function claimableAt(entry: CleanupEntry): number {
  return entry.state === 'running' ? (entry.leaseExpiresAt ?? entry.dueAt) : entry.dueAt;
}

export function applyClaim(
  entry: CleanupEntry | undefined,
  owner: string,
  leaseMs: number,
  now: number,
  includeWouldTrash = false,
): CleanupEntry | undefined {
  assertOwner(owner);
  assertLeaseMs(leaseMs);
  assertTime('now', now);
  if (!entry || !isClaimable(entry, now, includeWouldTrash)) return undefined;
  return next({ ...entry, state: 'running', leaseOwner: owner, leaseExpiresAt: now + leaseMs, decidedAt: undefined }, now);
}

export function applyMarkTrashRequested(entry: CleanupEntry | undefined, owner: string, now: number): CleanupEntry | undefined {
  assertOwner(owner);
  assertTime('now', now);
  if (!heldBy(entry, owner)) return undefined;
  return next({ ...entry, trashRequestedAt: now }, now);
}

export function applyFinish(entry: CleanupEntry | undefined, owner: string, outcome: FinishOutcome, now: number): CleanupEntry | undefined {
  assertOwner(owner);
  assertFinishOutcome(outcome);
  assertTime('now', now);
  if (!heldBy(entry, owner)) return undefined;
  const released = { ...entry, leaseOwner: undefined, leaseExpiresAt: undefined, rescheduleAt: undefined };
  const note = outcome.note === undefined ? undefined : oneLineNote(outcome.note);
  switch (outcome.state) {
    case 'trashed':
      return next({ ...released, state: 'trashed', outcome: outcome.outcome, note, decidedAt: now }, now);
    case 'held':
    case 'would_trash':
      // Something was archived during the run: the decision is stale, so check again at the new time.
      if (entry.rescheduleAt !== undefined) {
        return next({ ...released, state: 'scheduled', dueAt: entry.rescheduleAt, note, decidedAt: undefined }, now);
      }
      return next({ ...released, state: outcome.state, note, decidedAt: now }, now);
    case 'gone':
      return next({ ...released, state: 'gone', note, decidedAt: now }, now);
  }
}

export function applyPostpone(entry: CleanupEntry | undefined, owner: string, dueAt: number, note: string, now: number): CleanupEntry | undefined {
  assertOwner(owner);
  assertTime('dueAt', dueAt);
  assertNote(note);
  assertTime('now', now);
  if (!heldBy(entry, owner)) return undefined;
  const due = Math.max(dueAt, entry.rescheduleAt ?? dueAt);
  return next(
    {
      ...entry,
      state: 'scheduled',
      dueAt: due,
      attempts: entry.attempts + 1,
      note: oneLineNote(note),
      leaseOwner: undefined,
      leaseExpiresAt: undefined,
      rescheduleAt: undefined,
      decidedAt: undefined,
    },
    now,
  );
}

function heldBy(entry: CleanupEntry | undefined, owner: string): entry is CleanupEntry {
  return entry !== undefined && entry.state === 'running' && entry.leaseOwner === owner;
}

/** The written entry: version + 1, updatedAt = now, no undefined fields (absent is absent in both stores). */
function next(entry: CleanupEntry, now: number): CleanupEntry {
  return withoutUndefined({ ...entry, version: entry.version + 1, updatedAt: now });
}

/** Entries compare equal across adapters: absent fields are absent, not `undefined`. */
export function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

// ---------------------------------------------------------------------------------------------
// Orders (the same in both adapters)

/** Recording ids in code-point order, which is SQLite's BINARY order of UTF-8 text. */
export function compareIds(a: string, b: string): number {
  return a === b ? 0 : Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** listDue's order: claimable earliest first, then by recording id. */
export function compareDue(a: CleanupEntry, b: CleanupEntry): number {
  return claimableAt(a) - claimableAt(b) || compareIds(a.recordingId, b.recordingId);
}

/** list()'s order: by state (CLEANUP_STATES order), then due time, then recording id. */
export function compareListed(a: CleanupEntry, b: CleanupEntry): number {
  return (
    CLEANUP_STATES.indexOf(a.state as (typeof CLEANUP_STATES)[number]) - CLEANUP_STATES.indexOf(b.state as (typeof CLEANUP_STATES)[number]) ||
    a.dueAt - b.dueAt ||
    compareIds(a.recordingId, b.recordingId)
  );
}
