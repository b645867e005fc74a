/**
 * UploadLedger on SQLite (better-sqlite3), for the single-machine runtime. The same
 * conditional semantics as the DynamoDB adapter: every change is one
 * `UPDATE ... WHERE <condition>` whose `changes` (or RETURNING row) says whether the
 * condition held. WAL mode and a busy timeout let several processes share the file.
 */
import Database from 'better-sqlite3';
import { ArchiverError } from '../errors';
import {
  LedgerEntryNotFoundError,
  LedgerRefusedError,
  LedgerStoreError,
  type ClaimResult,
  type FailOptions,
  type LedgerEntry,
  type LedgerError,
  type LedgerResult,
  type LedgerState,
  type ListOptions,
  type RecoverySnapshot,
  type RegisterInput,
  type TransferCheckpoint,
  type UploadLedger,
} from '../ports/upload-ledger';
import { assertLeaseMs, storableRequest } from './ledger-rules';

export const SQLITE_LEDGER_TABLE = 'upload_ledger';
export const SQLITE_ANNOUNCEMENT_TABLE = 'upload_ledger_announcements';

export type SqliteUploadLedgerOptions =
  /** Opens (and owns) a database file, or ':memory:'. */
  | { path: string; busyTimeoutMs?: number }
  /** Uses a connection the caller owns (e.g. shared with the audit log); `close()` leaves it open. */
  | { database: Database.Database };

interface Row {
  file_id: string;
  recording_id: string;
  group_key: string;
  group_size: number | null;
  course: string | null;
  archive_key: string;
  expected_size: number | null;
  request: string | null;
  state: LedgerState;
  attempts: number;
  duplicates: number;
  redrives: number;
  interrupted_at: number | null;
  auto_retries: number;
  next_attempt_at: number | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  last_error: string | null;
  checkpoint: string | null;
  result: string | null;
  created_at: number;
  updated_at: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ${SQLITE_LEDGER_TABLE} (
  file_id TEXT PRIMARY KEY,
  recording_id TEXT NOT NULL,
  group_key TEXT NOT NULL,
  group_size INTEGER,
  course TEXT,
  archive_key TEXT NOT NULL,
  expected_size INTEGER,
  request TEXT,
  state TEXT NOT NULL CHECK (state IN ('requested', 'uploading', 'uploaded', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  duplicates INTEGER NOT NULL DEFAULT 0,
  redrives INTEGER NOT NULL DEFAULT 0,
  interrupted_at INTEGER,
  auto_retries INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  lease_owner TEXT,
  lease_expires_at INTEGER,
  last_error TEXT,
  checkpoint TEXT,
  result TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS ${SQLITE_LEDGER_TABLE}_group ON ${SQLITE_LEDGER_TABLE} (group_key, file_id);
CREATE INDEX IF NOT EXISTS ${SQLITE_LEDGER_TABLE}_state ON ${SQLITE_LEDGER_TABLE} (state, updated_at);
CREATE INDEX IF NOT EXISTS ${SQLITE_LEDGER_TABLE}_lease ON ${SQLITE_LEDGER_TABLE} (lease_expires_at)
  WHERE state = 'uploading';
CREATE TABLE IF NOT EXISTS ${SQLITE_ANNOUNCEMENT_TABLE} (
  group_key TEXT PRIMARY KEY,
  announced_at INTEGER NOT NULL
) STRICT;
`;

/**
 * Columns added after the first release: a ledger file written by an earlier version
 * gets them when it is opened (CREATE TABLE IF NOT EXISTS leaves an existing table as it is).
 */
const ADDED_COLUMNS: Record<string, string> = {
  redrives: 'INTEGER NOT NULL DEFAULT 0',
  interrupted_at: 'INTEGER',
  auto_retries: 'INTEGER NOT NULL DEFAULT 0',
  next_attempt_at: 'INTEGER',
};

/** Indexes on added columns: created once the columns exist (after addMissingColumns). */
const ADDED_INDEXES = `
CREATE INDEX IF NOT EXISTS ${SQLITE_LEDGER_TABLE}_due ON ${SQLITE_LEDGER_TABLE} (next_attempt_at)
  WHERE state = 'failed' AND next_attempt_at IS NOT NULL;
`;

const T = SQLITE_LEDGER_TABLE;
const HELD_BY_OWNER = `file_id = @fileId AND state = 'uploading' AND lease_owner = @owner`;
/** The recovery sweep's condition: unchanged since it read the entry, and still abandoned. */
const AS_SEEN_AND_ABANDONED = `file_id = @fileId AND state = @state AND attempts = @attempts AND redrives = @redrives
        AND updated_at = @updatedAt AND (state = 'requested' OR (state = 'uploading' AND lease_expires_at <= @now))`;
/** noteAutoRetry's condition: unchanged since the sweep read it, failed, and due. */
const AS_SEEN_AND_DUE = `file_id = @fileId AND state = 'failed' AND state = @state AND attempts = @attempts AND redrives = @redrives
        AND auto_retries = @autoRetries AND updated_at = @updatedAt AND next_attempt_at <= @now`;

export class SqliteUploadLedger implements UploadLedger {
  private readonly db: Database.Database;
  private readonly ownsDatabase: boolean;
  private readonly statements: ReturnType<typeof prepareStatements>;

  constructor(options: SqliteUploadLedgerOptions) {
    try {
      if ('database' in options) {
        this.db = options.database;
        this.ownsDatabase = false;
      } else {
        this.db = new Database(options.path);
        this.ownsDatabase = true;
        // WAL: readers do not block the writer, and other processes may open the file too.
        this.db.pragma('journal_mode = WAL');
        // WAL + NORMAL: atomic and crash-safe for the process without an fsync per state change; a
        // power loss can at worst forget the last marks, and a re-upload finds its own bytes under the key.
        this.db.pragma('synchronous = NORMAL');
        this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
      }
      this.db.exec(SCHEMA);
      addMissingColumns(this.db);
      this.db.exec(ADDED_INDEXES);
      this.statements = prepareStatements(this.db);
    } catch (error) {
      throw toStoreError('open the ledger database', error);
    }
  }

  close(): void {
    if (this.ownsDatabase && this.db.open) this.db.close();
  }

  async register(input: RegisterInput): Promise<LedgerEntry> {
    const request = storableRequest(input.request, input.fileId);
    const params = {
      fileId: input.fileId,
      recordingId: input.recordingId,
      groupKey: input.groupKey,
      groupSize: input.groupSize ?? null,
      course: input.course ?? null,
      archiveKey: input.archiveKey,
      expectedSize: input.expectedSize ?? null,
      request: request === undefined ? null : JSON.stringify(request),
      now: input.now,
    };
    return this.run('register', () => {
      try {
        this.statements.insert.run(params);
      } catch (error) {
        if (isRefusal(error)) throw refused(input.fileId, error);
        throw error;
      }
      return this.read(input.fileId)!;
    });
  }

  async claim(fileId: string, owner: string, leaseMs: number, now: number): Promise<ClaimResult> {
    assertLeaseMs(leaseMs);
    return this.run('claim', () =>
      // IMMEDIATE takes the write lock first, so the read that explains a refusal sees the state that refused it.
      this.db
        .transaction((): ClaimResult => {
          const claimed = this.statements.claim.get({ fileId, owner, expires: now + leaseMs, now }) as Row | undefined;
          if (claimed) return { outcome: 'claimed', entry: toEntry(claimed) };
          const duplicate = this.statements.countDuplicate.get({ fileId }) as Row | undefined;
          if (duplicate) return { outcome: 'already_uploaded', entry: toEntry(duplicate) };
          const current = this.read(fileId);
          if (!current) throw new LedgerEntryNotFoundError(fileId);
          return { outcome: 'leased', entry: current };
        })
        .immediate(),
    );
  }

  async renew(fileId: string, owner: string, leaseMs: number, now: number): Promise<boolean> {
    assertLeaseMs(leaseMs);
    return this.changed('renew', this.statements.renew, { fileId, owner, expires: now + leaseMs, now });
  }

  async checkpoint(fileId: string, owner: string, checkpoint: TransferCheckpoint | null, now: number): Promise<boolean> {
    const json = checkpoint === null ? null : JSON.stringify(checkpoint);
    return this.changed('checkpoint', this.statements.checkpoint, { fileId, owner, checkpoint: json, now });
  }

  async complete(fileId: string, owner: string, result: LedgerResult, now: number): Promise<boolean> {
    return this.changed('complete', this.statements.complete, { fileId, owner, result: JSON.stringify(result), now });
  }

  async fail(fileId: string, owner: string, error: LedgerError, now: number, options: FailOptions = {}): Promise<boolean> {
    return this.changed('fail', this.statements.fail, { fileId, owner, error: JSON.stringify(error), now, next: options.nextAttemptAt ?? null });
  }

  async release(fileId: string, owner: string, now: number, interruption?: LedgerError): Promise<boolean> {
    if (!interruption) return this.changed('release', this.statements.release, { fileId, owner, now });
    return this.changed('release', this.statements.interrupt, { fileId, owner, now, error: JSON.stringify(interruption) });
  }

  async noteRedrive(seen: RecoverySnapshot, counted: boolean, now: number): Promise<boolean> {
    return this.changed('noteRedrive', this.statements.noteRedrive, { ...snapshotParams(seen), now, add: counted ? 1 : 0 });
  }

  async failAbandoned(seen: RecoverySnapshot, error: LedgerError, now: number, options: FailOptions = {}): Promise<boolean> {
    return this.changed('failAbandoned', this.statements.failAbandoned, {
      ...snapshotParams(seen),
      now,
      error: JSON.stringify(error),
      next: options.nextAttemptAt ?? null,
    });
  }

  async noteAutoRetry(seen: RecoverySnapshot, now: number): Promise<boolean> {
    return this.changed('noteAutoRetry', this.statements.noteAutoRetry, { ...snapshotParams(seen), autoRetries: seen.autoRetries, now });
  }

  async get(fileId: string): Promise<LedgerEntry | undefined> {
    return this.run('get', () => this.read(fileId));
  }

  async listGroup(groupKey: string): Promise<LedgerEntry[]> {
    return this.run('listGroup', () => (this.statements.listGroup.all({ groupKey }) as Row[]).map(toEntry));
  }

  async claimGroupAnnouncement(groupKey: string, now: number): Promise<boolean> {
    return this.run('claimGroupAnnouncement', () => this.statements.announce.run({ groupKey, now }).changes === 1);
  }

  async listByState(state: LedgerState, options: ListOptions = {}): Promise<LedgerEntry[]> {
    return this.run('listByState', () =>
      (
        this.statements.listByState.all({
          state,
          since: options.updatedSince ?? Number.MIN_SAFE_INTEGER,
          limit: limitOf(options.limit),
        }) as Row[]
      ).map(toEntry),
    );
  }

  async listExpiredLeases(now: number, limit?: number): Promise<LedgerEntry[]> {
    return this.run('listExpiredLeases', () =>
      (this.statements.listExpired.all({ now, limit: limitOf(limit) }) as Row[]).map(toEntry),
    );
  }

  async listDueRetries(now: number, limit?: number): Promise<LedgerEntry[]> {
    return this.run('listDueRetries', () => (this.statements.listDue.all({ now, limit: limitOf(limit) }) as Row[]).map(toEntry));
  }

  private read(fileId: string): LedgerEntry | undefined {
    const row = this.statements.get.get({ fileId }) as Row | undefined;
    return row ? toEntry(row) : undefined;
  }

  private changed(operation: string, statement: Database.Statement, params: Record<string, unknown>): Promise<boolean> {
    return this.run(operation, () => statement.run(params).changes === 1);
  }

  private async run<T>(operation: string, body: () => T): Promise<T> {
    try {
      return body();
    } catch (error) {
      if (error instanceof ArchiverError) throw error;
      throw toStoreError(operation, error);
    }
  }
}

function prepareStatements(db: Database.Database) {
  return {
    insert: db.prepare(`
      INSERT INTO ${T} (file_id, recording_id, group_key, group_size, course, archive_key, expected_size, request,
                        state, created_at, updated_at)
      VALUES (@fileId, @recordingId, @groupKey, @groupSize, @course, @archiveKey, @expectedSize, @request,
              'requested', @now, @now)
      ON CONFLICT (file_id) DO NOTHING`),
    get: db.prepare(`SELECT * FROM ${T} WHERE file_id = @fileId`),
    claim: db.prepare(`
      UPDATE ${T} SET state = 'uploading', lease_owner = @owner, lease_expires_at = @expires,
                      attempts = attempts + 1, interrupted_at = NULL, next_attempt_at = NULL, updated_at = @now
      WHERE file_id = @fileId
        AND (state IN ('requested', 'failed') OR (state = 'uploading' AND lease_expires_at <= @now))
      RETURNING *`),
    countDuplicate: db.prepare(`
      UPDATE ${T} SET duplicates = duplicates + 1 WHERE file_id = @fileId AND state = 'uploaded' RETURNING *`),
    renew: db.prepare(`UPDATE ${T} SET lease_expires_at = @expires, updated_at = @now WHERE ${HELD_BY_OWNER}`),
    checkpoint: db.prepare(`UPDATE ${T} SET checkpoint = @checkpoint, updated_at = @now WHERE ${HELD_BY_OWNER}`),
    complete: db.prepare(`
      UPDATE ${T} SET state = 'uploaded', result = @result, lease_owner = NULL, lease_expires_at = NULL,
                      checkpoint = NULL, next_attempt_at = NULL, updated_at = @now
      WHERE ${HELD_BY_OWNER}`),
    fail: db.prepare(`
      UPDATE ${T} SET state = 'failed', last_error = @error, lease_owner = NULL, lease_expires_at = NULL,
                      next_attempt_at = @next, updated_at = @now
      WHERE ${HELD_BY_OWNER}`),
    release: db.prepare(`
      UPDATE ${T} SET state = 'requested', lease_owner = NULL, lease_expires_at = NULL, updated_at = @now
      WHERE ${HELD_BY_OWNER}`),
    interrupt: db.prepare(`
      UPDATE ${T} SET state = 'requested', lease_owner = NULL, lease_expires_at = NULL, last_error = @error,
                      interrupted_at = @now, updated_at = @now
      WHERE ${HELD_BY_OWNER}`),
    noteRedrive: db.prepare(`
      UPDATE ${T} SET state = 'requested', lease_owner = NULL, lease_expires_at = NULL, interrupted_at = NULL,
                      redrives = redrives + @add, updated_at = @now
      WHERE ${AS_SEEN_AND_ABANDONED}`),
    failAbandoned: db.prepare(`
      UPDATE ${T} SET state = 'failed', last_error = @error, lease_owner = NULL, lease_expires_at = NULL,
                      interrupted_at = NULL, next_attempt_at = @next, updated_at = @now
      WHERE ${AS_SEEN_AND_ABANDONED}`),
    noteAutoRetry: db.prepare(`
      UPDATE ${T} SET state = 'requested', auto_retries = auto_retries + 1, next_attempt_at = NULL, lease_owner = NULL,
                      lease_expires_at = NULL, interrupted_at = NULL, updated_at = @now
      WHERE ${AS_SEEN_AND_DUE}`),
    listGroup: db.prepare(`SELECT * FROM ${T} WHERE group_key = @groupKey ORDER BY file_id`),
    announce: db.prepare(`
      INSERT INTO ${SQLITE_ANNOUNCEMENT_TABLE} (group_key, announced_at) VALUES (@groupKey, @now)
      ON CONFLICT (group_key) DO NOTHING`),
    listByState: db.prepare(`
      SELECT * FROM ${T} WHERE state = @state AND updated_at >= @since
      ORDER BY updated_at, file_id LIMIT @limit`),
    listExpired: db.prepare(`
      SELECT * FROM ${T} WHERE state = 'uploading' AND lease_expires_at <= @now
      ORDER BY lease_expires_at, file_id LIMIT @limit`),
    listDue: db.prepare(`
      SELECT * FROM ${T} WHERE state = 'failed' AND next_attempt_at <= @now
      ORDER BY next_attempt_at, file_id LIMIT @limit`),
  };
}

/** SQLite's LIMIT -1 means no limit. */
function limitOf(limit: number | undefined): number {
  return limit === undefined ? -1 : Math.max(0, Math.floor(limit));
}

function toEntry(row: Row): LedgerEntry {
  const entry: LedgerEntry = {
    fileId: row.file_id,
    recordingId: row.recording_id,
    groupKey: row.group_key,
    archiveKey: row.archive_key,
    state: row.state,
    attempts: row.attempts,
    duplicates: row.duplicates,
    redrives: row.redrives,
    autoRetries: row.auto_retries,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  if (row.group_size !== null) entry.groupSize = row.group_size;
  if (row.course !== null) entry.course = row.course;
  if (row.expected_size !== null) entry.expectedSize = row.expected_size;
  if (row.request !== null) entry.request = JSON.parse(row.request) as LedgerEntry['request'];
  if (row.interrupted_at !== null) entry.interruptedAt = row.interrupted_at;
  if (row.next_attempt_at !== null) entry.nextAttemptAt = row.next_attempt_at;
  if (row.lease_owner !== null) entry.leaseOwner = row.lease_owner;
  if (row.lease_expires_at !== null) entry.leaseExpiresAt = row.lease_expires_at;
  if (row.last_error !== null) entry.lastError = JSON.parse(row.last_error) as LedgerError;
  if (row.checkpoint !== null) entry.checkpoint = JSON.parse(row.checkpoint) as TransferCheckpoint;
  if (row.result !== null) entry.result = JSON.parse(row.result) as LedgerResult;
  return entry;
}

function snapshotParams(seen: RecoverySnapshot) {
  return { fileId: seen.fileId, state: seen.state, attempts: seen.attempts, redrives: seen.redrives, updatedAt: seen.updatedAt };
}

/** Adds the columns an older ledger file lacks, under the write lock so that two processes opening it do not race. */
function addMissingColumns(db: Database.Database): void {
  const present = () => new Set((db.pragma(`table_info(${T})`) as { name: string }[]).map((column) => column.name));
  if (Object.keys(ADDED_COLUMNS).every((name) => present().has(name))) return;
  db.transaction(() => {
    const columns = present();
    for (const [name, definition] of Object.entries(ADDED_COLUMNS)) {
      if (!columns.has(name)) db.exec(`ALTER TABLE ${T} ADD COLUMN ${name} ${definition}`);
    }
  }).immediate();
}

/**
 * What SQLite answers for a value it will not store: too big (SQLITE_TOOBIG, over
 * SQLITE_MAX_LENGTH), or against the table's rules (a STRICT column type, NOT NULL,
 * CHECK). The same insert fails the same way every time.
 */
function isRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(TOOBIG|CONSTRAINT|MISMATCH)/.test(code);
}

/** The driver's message names the column or limit, not the value; kept with the code. */
function refused(fileId: string, error: unknown): LedgerRefusedError {
  const code = String((error as { code?: unknown }).code);
  const detail = error instanceof Error ? error.message : String(error);
  return new LedgerRefusedError(fileId, `the ledger refused file ${fileId}: SQLite answered ${code}: ${detail}`, { cause: error });
}

/** SQLITE_BUSY / SQLITE_LOCKED (another process holds the lock past the busy timeout) pass with time; the rest do not. */
function toStoreError(operation: string, error: unknown): LedgerStoreError {
  const code = (error as { code?: unknown } | null)?.code;
  const codeText = typeof code === 'string' ? code : 'unknown';
  const retryable = /^SQLITE_(BUSY|LOCKED)/.test(codeText);
  const detail = error instanceof Error ? error.message : String(error);
  return new LedgerStoreError(`SQLite ledger could not ${operation} (${codeText}): ${detail}`, retryable, { cause: error });
}
