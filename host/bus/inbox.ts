/**
 * The webhook's inbox: where the thread that answers Zoom commits each accepted event
 * before its 200. It is that thread's own SQLite file (DATA_DIR/inbox.sqlite), append
 * only, with one writer — so an answer never waits for a lock held by the consumers'
 * writes to bus.sqlite. The bus imports new rows (DurableBus.importInbox) by a cursor
 * kept in bus.sqlite, in the same transaction as the deliveries it creates, so an
 * import interrupted by a crash is simply done again; this side deletes rows the bus
 * has imported, reading the cursor only.
 */
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { openSqliteDatabase } from '../../shared/adapters/sqlite-database';
import { parseDetail, type DomainEvent } from '../../shared/events';
import type { EventPublisher } from '../../shared/ports/event-publisher';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS inbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL,
  time TEXT NOT NULL,
  detail_type TEXT NOT NULL,
  detail TEXT NOT NULL
);
`;

export interface InboxRow {
  seq: number;
  id: string;
  time: string;
  detail_type: string;
  detail: string;
}

export interface BusInboxOptions {
  path: string;
  sync?: 'normal' | 'full';
  now?: () => number;
  /** Called after each commit, e.g. to wake the consumers' thread. */
  onPublished?: () => void;
  /** Reads the bus's import cursor (the highest seq imported), for clean-up. */
  importedUpTo?: () => number;
  /** false: commits never checkpoint the WAL; another thread does (the consumers' worker). */
  autoCheckpoint?: boolean;
}

export class BusInbox implements EventPublisher {
  private readonly db: Database.Database;
  private readonly insertAll: (rows: { id: string; time: string; detailType: string; detail: string }[]) => void;
  private readonly deleteUpTo: Database.Statement<[number]>;
  private readonly now: () => number;
  private publishedSinceCleanUp = 0;

  constructor(private readonly options: BusInboxOptions) {
    this.db = openSqliteDatabase(options.path, { synchronous: options.sync === 'full' ? 'FULL' : 'NORMAL', autoCheckpoint: options.autoCheckpoint });
    this.db.exec(SCHEMA);
    this.now = options.now ?? Date.now;
    const insert = this.db.prepare('INSERT INTO inbox (id, time, detail_type, detail) VALUES (?, ?, ?, ?)');
    this.deleteUpTo = this.db.prepare('DELETE FROM inbox WHERE seq <= ?');
    this.insertAll = this.db.transaction((rows: { id: string; time: string; detailType: string; detail: string }[]) => {
      for (const row of rows) insert.run(row.id, row.time, row.detailType, row.detail);
    });
  }

  /** Validates every event against its contract, then commits them together. */
  async publish(events: readonly DomainEvent[]): Promise<void> {
    const time = new Date(this.now()).toISOString();
    const rows = events.map((event) => {
      parseDetail(event.detailType, event.detail);
      return { id: randomUUID(), time, detailType: event.detailType, detail: JSON.stringify(event.detail) };
    });
    this.insertAll(rows);
    this.options.onPublished?.();
    if (++this.publishedSinceCleanUp >= 500) this.cleanUp();
  }

  /** Deletes the rows the bus has imported (also done every 500 publishes). */
  cleanUp(): void {
    this.publishedSinceCleanUp = 0;
    const upTo = this.options.importedUpTo?.();
    if (upTo !== undefined && upTo > 0) this.deleteUpTo.run(upTo);
  }

  close(): void {
    this.db.close();
  }
}

/** The bus's side: reads rows after its cursor from the inbox file, never writing to it. */
export class InboxReader {
  private readonly db: Database.Database;
  private readonly after: Database.Statement<[number, number]>;
  private readonly pending: Database.Statement<[number]>;

  constructor(path: string) {
    // The inbox's owner creates the table; opened read-write only so that WAL works, it is read here.
    this.db = openSqliteDatabase(path);
    this.db.exec(SCHEMA);
    this.after = this.db.prepare('SELECT seq, id, time, detail_type, detail FROM inbox WHERE seq > ? ORDER BY seq LIMIT ?');
    this.pending = this.db.prepare('SELECT COUNT(*) AS n FROM inbox WHERE seq > ?');
  }

  rowsAfter(seq: number, limit: number): InboxRow[] {
    return this.after.all(seq, limit) as InboxRow[];
  }

  countAfter(seq: number): number {
    return (this.pending.get(seq) as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }
}
