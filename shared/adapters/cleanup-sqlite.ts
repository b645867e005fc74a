/**
 * CleanupSchedule on SQLite (better-sqlite3), for the single-machine runtime
 * (DATA_DIR/cleanup.sqlite; the file and its folder are created when missing). One
 * row per recording. Every change reads the row, applies the shared rule
 * (cleanup-rules.ts) and writes it back with `UPDATE ... WHERE recording_id = ? AND
 * version = ?` — or `INSERT ... ON CONFLICT DO NOTHING` for a new recording — inside
 * an IMMEDIATE transaction, so the read and the write hold the write lock together;
 * a write that still changes no row (another connection won) re-reads and re-applies.
 *
 * WAL (see openSqliteDatabase) lets the CLI and the host share the file. Synchronous
 * FULL by default: `trashRequestedAt` is written right before the DELETE goes to
 * Zoom, and it must survive a power cut to tell our own trash from someone else's;
 * the schedule writes a handful of rows per recording, so the fsync costs nothing.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { ArchiverError } from '../errors';
import type {
  CleanupEntry,
  CleanupSchedule,
  CleanupState,
  DueOptions,
  FinishOutcome,
  ScheduleInput,
} from '../ports/cleanup-schedule';
import {
  CLEANUP_STATES,
  CleanupStoreError,
  DEFAULT_DUE_LIMIT,
  TRANSITION_ROUNDS,
  applyClaim,
  applyFinish,
  applyMarkTrashRequested,
  applyPostpone,
  applySchedule,
  assertFinishOutcome,
  assertLeaseMs,
  assertOwner,
  assertRecordingId,
  assertScheduleInput,
  assertTime,
  checkedLimit,
  checkedStates,
  withoutUndefined,
} from './cleanup-rules';
import { openSqliteDatabase } from './sqlite-database';

export const SQLITE_CLEANUP_TABLE = 'cleanup_schedule';

export interface SqliteCleanupScheduleOptions {
  /** The database file (DATA_DIR/cleanup.sqlite), or ':memory:'. */
  path: string;
  busyTimeoutMs?: number;
  /** FULL (the default, see above) or NORMAL. */
  synchronous?: 'NORMAL' | 'FULL';
}

const T = SQLITE_CLEANUP_TABLE;
const STATE_LIST = CLEANUP_STATES.map((state) => `'${state}'`).join(', ');
/** list()'s order of states, as SQL (CLEANUP_STATES order, the same as compareListed). */
const STATE_RANK = `CASE state ${CLEANUP_STATES.map((state, rank) => `WHEN '${state}' THEN ${rank}`).join(' ')} END`;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ${T} (
  recording_id TEXT PRIMARY KEY,
  course TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN (${STATE_LIST})),
  due_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  lease_owner TEXT,
  lease_expires_at INTEGER,
  trash_requested_at INTEGER,
  reschedule_at INTEGER,
  outcome TEXT CHECK (outcome IN ('trashed', 'already_in_trash')),
  decided_at INTEGER,
  note TEXT,
  version INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ${T}_due ON ${T} (state, due_at);
CREATE INDEX IF NOT EXISTS ${T}_lease ON ${T} (state, lease_expires_at);
`;

const COLUMNS =
  'recording_id, course, state, due_at, attempts, lease_owner, lease_expires_at, trash_requested_at, reschedule_at, ' +
  'outcome, decided_at, note, version, created_at, updated_at';

interface Row {
  recording_id: string;
  course: string;
  state: CleanupState;
  due_at: number;
  attempts: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  trash_requested_at: number | null;
  reschedule_at: number | null;
  outcome: 'trashed' | 'already_in_trash' | null;
  decided_at: number | null;
  note: string | null;
  version: number;
  created_at: number;
  updated_at: number;
}

type Params = Record<keyof Row, unknown>;

export class SqliteCleanupSchedule implements CleanupSchedule {
  private readonly db: Database.Database;
  private readonly statements: ReturnType<typeof prepareStatements>;

  constructor(options: SqliteCleanupScheduleOptions) {
    try {
      if (options.path !== ':memory:' && !options.path.startsWith('file:')) mkdirSync(dirname(options.path), { recursive: true });
      this.db = openSqliteDatabase(options.path, { synchronous: options.synchronous ?? 'FULL', busyTimeoutMs: options.busyTimeoutMs });
    } catch (error) {
      throw toStoreError('open the clean-up schedule', error);
    }
    try {
      this.db.exec(SCHEMA);
      this.statements = prepareStatements(this.db);
    } catch (error) {
      this.db.close();
      throw toStoreError('open the clean-up schedule', error);
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  async schedule(input: ScheduleInput): Promise<CleanupEntry> {
    assertScheduleInput(input);
    const result = this.transition('schedule', input.recordingId, (current) => applySchedule(current, input));
    // applySchedule always creates a missing entry, so one of the two is there.
    return (result.written ?? result.current)!;
  }

  async claim(
    recordingId: string,
    owner: string,
    leaseMs: number,
    now: number,
    options: Pick<DueOptions, 'includeWouldTrash'> = {},
  ): Promise<CleanupEntry | undefined> {
    assertRecordingId(recordingId);
    assertOwner(owner);
    assertLeaseMs(leaseMs);
    assertTime('now', now);
    const includeWouldTrash = options.includeWouldTrash === true;
    return this.transition('claim', recordingId, (current) => applyClaim(current, owner, leaseMs, now, includeWouldTrash)).written;
  }

  async markTrashRequested(recordingId: string, owner: string, now: number): Promise<boolean> {
    assertRecordingId(recordingId);
    assertOwner(owner);
    assertTime('now', now);
    return this.transition('markTrashRequested', recordingId, (current) => applyMarkTrashRequested(current, owner, now)).written !== undefined;
  }

  async finish(recordingId: string, owner: string, outcome: FinishOutcome, now: number): Promise<boolean> {
    assertRecordingId(recordingId);
    assertOwner(owner);
    assertFinishOutcome(outcome);
    assertTime('now', now);
    return this.transition('finish', recordingId, (current) => applyFinish(current, owner, outcome, now)).written !== undefined;
  }

  async postpone(recordingId: string, owner: string, dueAt: number, note: string, now: number): Promise<boolean> {
    assertRecordingId(recordingId);
    assertOwner(owner);
    assertTime('dueAt', dueAt);
    assertTime('now', now);
    return this.transition('postpone', recordingId, (current) => applyPostpone(current, owner, dueAt, note, now)).written !== undefined;
  }

  async get(recordingId: string): Promise<CleanupEntry | undefined> {
    assertRecordingId(recordingId);
    return this.run('get', () => this.read(recordingId));
  }

  async listDue(now: number, options: DueOptions = {}): Promise<CleanupEntry[]> {
    assertTime('now', now);
    const limit = checkedLimit(options.limit, DEFAULT_DUE_LIMIT)!;
    const includeWouldTrash = options.includeWouldTrash === true ? 1 : 0;
    return this.run('listDue', () => (this.statements.listDue.all({ now, includeWouldTrash, limit }) as Row[]).map(toEntry));
  }

  async list(options: { states?: readonly CleanupState[]; limit?: number } = {}): Promise<CleanupEntry[]> {
    const states = checkedStates(options.states);
    const limit = checkedLimit(options.limit) ?? -1;
    return this.run('list', () => (this.statements.list.all({ states: JSON.stringify(states), limit }) as Row[]).map(toEntry));
  }

  /**
   * Read → rule → conditional write, in one IMMEDIATE transaction (the write lock is
   * taken before the read). `written` is the stored result, undefined when the rule
   * allowed no change; `current` is the entry the rule last saw.
   */
  private transition(
    operation: string,
    recordingId: string,
    rule: (current: CleanupEntry | undefined) => CleanupEntry | undefined,
  ): { current: CleanupEntry | undefined; written: CleanupEntry | undefined } {
    return this.run(operation, () => {
      for (let round = 1; round <= TRANSITION_ROUNDS; round++) {
        const outcome = this.db
          .transaction(() => {
            const current = this.read(recordingId);
            const next = rule(current);
            if (!next) return { current, written: undefined, lost: false };
            const params = toParams(next);
            const changes = current
              ? this.statements.update.run({ ...params, seen: current.version }).changes
              : this.statements.insert.run(params).changes;
            return changes === 1 ? { current, written: next, lost: false } : { current, written: undefined, lost: true };
          })
          .immediate();
        if (!outcome.lost) return { current: outcome.current, written: outcome.written };
      }
      throw new CleanupStoreError(`clean-up entry of recording ${recordingId} kept changing under ${operation}`, true);
    });
  }

  private read(recordingId: string): CleanupEntry | undefined {
    const row = this.statements.get.get(recordingId) as Row | undefined;
    return row ? toEntry(row) : undefined;
  }

  private run<T>(operation: string, body: () => T): T {
    try {
      return body();
    } catch (error) {
      throw toStoreError(operation, error);
    }
  }
}

function prepareStatements(db: Database.Database) {
  const assignments = COLUMNS.split(', ')
    .filter((column) => column !== 'recording_id')
    .map((column) => `${column} = @${column}`)
    .join(', ');
  return {
    get: db.prepare(`SELECT ${COLUMNS} FROM ${T} WHERE recording_id = ?`),
    insert: db.prepare(
      `INSERT INTO ${T} (${COLUMNS}) VALUES (${COLUMNS.split(', ').map((column) => `@${column}`).join(', ')})
       ON CONFLICT (recording_id) DO NOTHING`,
    ),
    update: db.prepare(`UPDATE ${T} SET ${assignments} WHERE recording_id = @recording_id AND version = @seen`),
    // Three indexed ranges ((state, due_at) twice, (state, lease_expires_at) once), merged by the due time.
    listDue: db.prepare(
      `SELECT ${COLUMNS} FROM (
         SELECT * FROM ${T} WHERE state = 'scheduled' AND due_at <= @now
         UNION ALL
         SELECT * FROM ${T} WHERE state = 'would_trash' AND due_at <= @now AND @includeWouldTrash = 1
         UNION ALL
         SELECT * FROM ${T} WHERE state = 'running' AND lease_expires_at <= @now
       )
       ORDER BY CASE WHEN state = 'running' THEN lease_expires_at ELSE due_at END, recording_id
       LIMIT @limit`,
    ),
    list: db.prepare(
      `SELECT ${COLUMNS} FROM ${T} WHERE state IN (SELECT value FROM json_each(@states))
       ORDER BY ${STATE_RANK}, due_at, recording_id
       LIMIT @limit`,
    ),
  };
}

function toParams(entry: CleanupEntry): Params {
  return {
    recording_id: entry.recordingId,
    course: entry.course,
    state: entry.state,
    due_at: entry.dueAt,
    attempts: entry.attempts,
    lease_owner: entry.leaseOwner ?? null,
    lease_expires_at: entry.leaseExpiresAt ?? null,
    trash_requested_at: entry.trashRequestedAt ?? null,
    reschedule_at: entry.rescheduleAt ?? null,
    outcome: entry.outcome ?? null,
    decided_at: entry.decidedAt ?? null,
    note: entry.note ?? null,
    version: entry.version,
    created_at: entry.createdAt,
    updated_at: entry.updatedAt,
  };
}

function toEntry(row: Row): CleanupEntry {
  return withoutUndefined<CleanupEntry>({
    recordingId: row.recording_id,
    course: row.course,
    state: row.state,
    dueAt: row.due_at,
    attempts: row.attempts,
    leaseOwner: row.lease_owner ?? undefined,
    leaseExpiresAt: row.lease_expires_at ?? undefined,
    trashRequestedAt: row.trash_requested_at ?? undefined,
    rescheduleAt: row.reschedule_at ?? undefined,
    outcome: row.outcome ?? undefined,
    decidedAt: row.decided_at ?? undefined,
    note: row.note ?? undefined,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });
}

/** Our own errors pass; SQLite's busy / locked are retryable, the rest (a full disk, a broken file, a closed database) not. */
function toStoreError(operation: string, error: unknown): ArchiverError {
  if (error instanceof ArchiverError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const codeText = typeof code === 'string' ? code : 'unknown';
  const retryable = /^SQLITE_(BUSY|LOCKED)/.test(codeText);
  const detail = error instanceof Error ? error.message : String(error);
  return new CleanupStoreError(`SQLite clean-up schedule could not ${operation} (${codeText}): ${detail}`, retryable, { cause: error });
}
