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
  /**
   * false: this connection never checkpoints the WAL into the database file as it
   * commits (SQLite's default does every 1000 pages, inside a commit, with an fsync).
   * For a writer that must answer fast (the webhook's thread): another thread then
   * checkpoints with WalCheckpointer.
   */
  autoCheckpoint?: boolean;
}

export function openSqliteDatabase(path: string, options: SqliteOpenOptions = {}): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
  if (options.autoCheckpoint === false) db.pragma('wal_autocheckpoint = 0');
  return db;
}

/**
 * Checkpoints the WAL of databases whose writer does not (autoCheckpoint: false),
 * from another thread: PASSIVE, so it never waits for nor blocks their writer; the
 * copy and its fsync happen here. One connection per file, kept open.
 */
export class WalCheckpointer {
  private readonly connections: Database.Database[];

  constructor(paths: readonly string[]) {
    this.connections = paths.map((path) => openSqliteDatabase(path));
  }

  /** Frames copied into the database files this time. */
  checkpoint(): number {
    let copied = 0;
    for (const db of this.connections) {
      const [result] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
      copied += result?.checkpointed ?? 0;
    }
    return copied;
  }

  close(): void {
    for (const db of this.connections) db.close();
  }
}
