/**
 * ReconcilerState on SQLite, for the single-machine runtime (DATA_DIR/reconciler.sqlite):
 * one row per remembered rejection, kept until `keep_until` (rememberedAt + keepMs).
 * A read ignores an expired row; expired rows are deleted in small batches as new
 * ones are written. WAL (see openSqliteDatabase) lets the CLI and the host share the file.
 */
import type Database from 'better-sqlite3';
import { openSqliteDatabase } from './sqlite-database';
import type { ReconcilerState, RememberedRejection } from '../ports/reconciler-state';

export const SQLITE_RECONCILER_TABLE = 'reconciler_rejections';

const T = SQLITE_RECONCILER_TABLE;
const SCHEMA = `
CREATE TABLE IF NOT EXISTS ${T} (
  recording_id TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  reason TEXT NOT NULL,
  remembered_at INTEGER NOT NULL,
  keep_until INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ${T}_expiry ON ${T} (keep_until);
`;

/** Expired rows deleted per write: bounded, so a write never turns into a long clean-up. */
const SWEEP_BATCH = 100;

interface Row {
  recording_id: string;
  fingerprint: string;
  reason: string;
  remembered_at: number;
}

interface Written {
  recordingId: string;
  fingerprint: string;
  reason: string;
  rememberedAt: number;
  keepUntil: number;
}

export class SqliteReconcilerState implements ReconcilerState {
  private readonly db: Database.Database;
  private readonly readRow: Database.Statement<[{ recordingId: string; now: number }], Row>;
  private readonly writeRow: Database.Statement<[Written]>;
  private readonly deleteRow: Database.Statement<[string]>;
  private readonly sweepRows: Database.Statement<[number]>;
  private readonly writeAndSweep: (entry: Written, now: number) => void;

  constructor(path: string) {
    // NORMAL: a rejection lost to a power cut is handed over once more, which is harmless.
    this.db = openSqliteDatabase(path);
    this.db.exec(SCHEMA);
    this.readRow = this.db.prepare(
      `SELECT recording_id, fingerprint, reason, remembered_at FROM ${T}
       WHERE recording_id = @recordingId AND keep_until >= @now`,
    );
    this.writeRow = this.db.prepare(
      `INSERT INTO ${T} (recording_id, fingerprint, reason, remembered_at, keep_until)
       VALUES (@recordingId, @fingerprint, @reason, @rememberedAt, @keepUntil)
       ON CONFLICT (recording_id) DO UPDATE SET fingerprint = excluded.fingerprint, reason = excluded.reason,
         remembered_at = excluded.remembered_at, keep_until = excluded.keep_until`,
    );
    this.deleteRow = this.db.prepare(`DELETE FROM ${T} WHERE recording_id = ?`);
    this.sweepRows = this.db.prepare(
      `DELETE FROM ${T} WHERE recording_id IN (SELECT recording_id FROM ${T} WHERE keep_until < ? LIMIT ${SWEEP_BATCH})`,
    );
    this.writeAndSweep = this.db.transaction((entry: Written, now: number) => {
      this.writeRow.run(entry);
      this.sweepRows.run(now);
    });
  }

  async rejection(recordingId: string, now: number = Date.now()): Promise<RememberedRejection | undefined> {
    const row = this.readRow.get({ recordingId, now });
    if (!row) return undefined;
    return { recordingId: row.recording_id, fingerprint: row.fingerprint, reason: row.reason, rememberedAt: row.remembered_at };
  }

  async rememberRejection(entry: RememberedRejection, keepMs: number): Promise<void> {
    assertTimes(entry.rememberedAt, keepMs);
    const written: Written = {
      recordingId: entry.recordingId,
      fingerprint: entry.fingerprint,
      reason: entry.reason,
      rememberedAt: entry.rememberedAt,
      keepUntil: entry.rememberedAt + keepMs,
    };
    // The caller's clock is the write's: rows that ran out before this entry was remembered go.
    this.writeAndSweep(written, entry.rememberedAt);
  }

  async forgetRejection(recordingId: string): Promise<void> {
    this.deleteRow.run(recordingId);
  }

  close(): void {
    this.db.close();
  }
}

/** Times and durations are whole milliseconds (the columns are STRICT INTEGERs); keepMs is not negative. */
function assertTimes(rememberedAt: number, keepMs: number): void {
  if (!Number.isSafeInteger(rememberedAt)) throw new RangeError(`rememberedAt must be epoch milliseconds, not ${rememberedAt}`);
  if (!Number.isSafeInteger(keepMs) || keepMs < 0) throw new RangeError(`keepMs must be a non-negative whole number of milliseconds, not ${keepMs}`);
}
