/**
 * Opens a SQLite database the way every single-machine store here wants it: WAL, so
 * readers never block the writer and other processes (the CLI, a second worker) may
 * open the same file; synchronous NORMAL by default, which is atomic and crash-safe
 * for the process without an fsync per commit (FULL adds that fsync, for power loss);
 * and a busy timeout instead of an immediate SQLITE_BUSY when another connection
 * writes.
 */
import Database from 'better-sqlite3';

export interface SqliteOpenOptions {
  synchronous?: 'NORMAL' | 'FULL';
  busyTimeoutMs?: number;
}

export function openSqliteDatabase(path: string, options: SqliteOpenOptions = {}): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
  return db;
}
