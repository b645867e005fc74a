/**
 * DeliveryGuard on SQLite, for the single-machine webhook: one row per kept
 * delivery until its timestamp leaves the window. The claim is one INSERT … ON
 * CONFLICT that takes over an expired row, so it is atomic across processes sharing
 * the file; expired rows are deleted in batches as new ones arrive, once every
 * SWEEP_EVERY claims rather than at each (a DELETE per webhook was a measurable part
 * of the webhook thread's time under load).
 */
import type Database from 'better-sqlite3';
import { openSqliteDatabase } from './sqlite-database';
import type { DeliveryGuard } from '../ports/delivery-guard';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS deliveries_seen (
  key TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_seen_expiry ON deliveries_seen (expires_at);
`;

/** Claims between two deletions of expired rows; each deletes up to SWEEP_EVERY × 100 (as many as 100 per claim, as before). */
export const SWEEP_EVERY = 50;

export class SqliteDeliveryGuard implements DeliveryGuard {
  private claims = 0;
  private readonly db: Database.Database;
  private readonly claimRow: Database.Statement<[{ key: string; expires: number; now: number }]>;
  private readonly deleteRow: Database.Statement<[string]>;
  private readonly sweepRows: Database.Statement<[number]>;

  /** `autoCheckpoint: false` where another thread checkpoints (see openSqliteDatabase). */
  constructor(path: string, options: { autoCheckpoint?: boolean } = {}) {
    // NORMAL: a row lost to a power cut lets one replay through; the bus is what must not lose events.
    this.db = openSqliteDatabase(path, { autoCheckpoint: options.autoCheckpoint });
    this.db.exec(SCHEMA);
    this.claimRow = this.db.prepare(
      `INSERT INTO deliveries_seen (key, expires_at) VALUES (@key, @expires)
       ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE deliveries_seen.expires_at <= @now`,
    );
    this.deleteRow = this.db.prepare('DELETE FROM deliveries_seen WHERE key = ?');
    this.sweepRows = this.db.prepare(
      `DELETE FROM deliveries_seen WHERE key IN (SELECT key FROM deliveries_seen WHERE expires_at <= ? LIMIT ${SWEEP_EVERY * 100})`,
    );
  }

  async claim(key: string, expiresAtMs: number, nowMs: number): Promise<boolean> {
    const changed = this.claimRow.run({ key, expires: expiresAtMs, now: nowMs }).changes === 1;
    if (changed && ++this.claims % SWEEP_EVERY === 0) this.sweepRows.run(nowMs);
    return changed;
  }

  async release(key: string): Promise<void> {
    this.deleteRow.run(key);
  }

  close(): void {
    this.db.close();
  }
}
