/**
 * The subscriber outbox of one machine (DATA_DIR/outbox.sqlite): one row per
 * (subscriber, message), committed by the subscribers consumer before the bus counts
 * the event as handled — so a message survives a kill -9 from the moment the event's
 * delivery is done — and worked off by the dispatcher (services/subscribers/use-case.ts).
 *
 * - enqueue is idempotent: a message already there (same subscriber and id: a bus
 *   redelivery) is kept as it is, attempts and all;
 * - claim leases due rows to one dispatch loop (an IMMEDIATE transaction: two loops,
 *   in one process or two, never hold one row at once); a lease ends with the row's
 *   outcome (markDelivered / markRetry / markFailed, each only by the lease's owner), a
 *   release (shutting down: not an attempt), or its expiry (the loop died);
 * - a subscriber that answered 410 Gone is disabled: its pending rows become
 *   `disabled`, and later messages for it are not stored (a warning is logged once).
 *   It stays disabled across restarts while its URL is the same (the fingerprint);
 * - `status --deliveries` lists it (summary), `retry --deliveries` makes failed rows
 *   pending again with a fresh 24-hour window (requeueFailed);
 * - delivered rows older than the retention are deleted (prune).
 *
 * Rows hold the message (the event's detail, which never carries a token) and the
 * subscriber's id; never its URL or secret (the subscribers table keeps the origin only).
 */
import type Database from 'better-sqlite3';
import type { AppLogger } from '../logger';
import type { OutboxMessage, SubscriberOutbox } from '../ports/subscriber-outbox';
import { openSqliteDatabase } from './sqlite-database';

export type OutboxState = 'pending' | 'delivered' | 'failed' | 'disabled';

export interface OutboxRow {
  subscriberId: string;
  messageId: string;
  type: string;
  message: OutboxMessage;
  state: OutboxState;
  attempts: number;
  /** Epoch ms. */
  nextAttemptAt: number;
  firstAttemptAt: number | null;
  lastAttemptAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface OutboxKey {
  subscriberId: string;
  messageId: string;
}

/** What the outbox knows of a subscriber: enough for `status`, nothing secret. */
export interface OutboxSubscriber {
  id: string;
  origin: string;
  format: string;
  disabledAt: number | null;
  disabledReason: string | null;
  counts: Record<OutboxState, number>;
}

export interface OutboxSummary {
  subscribers: OutboxSubscriber[];
  /** Failed and pending rows (disabled and delivered ones are only counted), failed first. */
  open: Omit<OutboxRow, 'message'>[];
}

export interface SqliteOutboxOptions {
  path: string;
  logger: AppLogger;
  /** 'full' adds an fsync per commit (BUS_SYNC=full). */
  sync?: 'normal' | 'full';
  now?: () => number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox (
  subscriber_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  type TEXT NOT NULL,
  message TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'disabled')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  first_attempt_at INTEGER,
  last_attempt_at INTEGER,
  last_status INTEGER,
  last_error TEXT,
  lease_owner TEXT,
  lease_until INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (subscriber_id, message_id)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (subscriber_id, state, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_age ON outbox (state, updated_at);
CREATE TABLE IF NOT EXISTS subscribers (
  subscriber_id TEXT PRIMARY KEY,
  origin TEXT NOT NULL,
  format TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  disabled_at INTEGER,
  disabled_reason TEXT,
  updated_at INTEGER NOT NULL
);
`;

interface RawRow {
  subscriber_id: string;
  message_id: string;
  type: string;
  message: string;
  state: OutboxState;
  attempts: number;
  next_attempt_at: number;
  first_attempt_at: number | null;
  last_attempt_at: number | null;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

const toRow = (raw: RawRow): OutboxRow => ({
  subscriberId: raw.subscriber_id,
  messageId: raw.message_id,
  type: raw.type,
  message: JSON.parse(raw.message) as OutboxMessage,
  state: raw.state,
  attempts: raw.attempts,
  nextAttemptAt: raw.next_attempt_at,
  firstAttemptAt: raw.first_attempt_at,
  lastAttemptAt: raw.last_attempt_at,
  lastStatus: raw.last_status,
  lastError: raw.last_error,
  createdAt: raw.created_at,
  updatedAt: raw.updated_at,
});

/** The outcome of one attempt, as the dispatcher records it. */
export interface AttemptRecord {
  /** When the attempt started. */
  attemptedAt: number;
  status?: number;
}

export class SqliteSubscriberOutbox implements SubscriberOutbox {
  private readonly db: Database.Database;
  private readonly logger: AppLogger;
  private readonly now: () => number;
  private readonly listeners: (() => void)[] = [];
  private readonly warnedDisabled = new Set<string>();
  private readonly sql: ReturnType<SqliteSubscriberOutbox['prepare']>;

  constructor(options: SqliteOutboxOptions) {
    this.db = openSqliteDatabase(options.path, { synchronous: options.sync === 'full' ? 'FULL' : 'NORMAL' });
    this.db.exec(SCHEMA);
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.sql = this.prepare();
  }

  private prepare() {
    const db = this.db;
    const insert = db.prepare(
      `INSERT OR IGNORE INTO outbox (subscriber_id, message_id, type, message, state, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)`,
    );
    const due = db.prepare(
      `SELECT * FROM outbox WHERE subscriber_id = ? AND state = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
       ORDER BY next_attempt_at, rowid LIMIT ?`,
    );
    const dueAll = db.prepare(
      `SELECT * FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?) ORDER BY next_attempt_at, rowid LIMIT ?`,
    );
    const lease = db.prepare(`UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE subscriber_id = ? AND message_id = ?`);
    const disabledIds = db.prepare(`SELECT subscriber_id FROM subscribers WHERE disabled_at IS NOT NULL`);
    return {
      enqueue: db.transaction((messages: readonly OutboxMessage[], now: number) => {
        const disabled = new Set((disabledIds.all() as { subscriber_id: string }[]).map((r) => r.subscriber_id));
        const skipped = new Set<string>();
        let stored = 0;
        for (const m of messages) {
          if (disabled.has(m.subscriberId)) {
            skipped.add(m.subscriberId);
            continue;
          }
          stored += insert.run(m.subscriberId, m.id, m.type, JSON.stringify(m), now, now, now).changes;
        }
        return { stored, skipped };
      }),
      due,
      dueAll,
      claim: db.transaction((subscriberId: string, owner: string, now: number, limit: number, leaseMs: number) => {
        const rows = due.all(subscriberId, now, now, limit) as RawRow[];
        for (const row of rows) lease.run(owner, now + leaseMs, row.subscriber_id, row.message_id);
        return rows;
      }),
      delivered: db.prepare(
        `UPDATE outbox SET state = 'delivered', attempts = attempts + 1, first_attempt_at = COALESCE(first_attempt_at, @attemptedAt), last_attempt_at = @attemptedAt,
           last_status = @status, last_error = NULL, lease_owner = NULL, lease_until = NULL, updated_at = @now
         WHERE subscriber_id = @subscriberId AND message_id = @messageId AND lease_owner = @owner AND state IN ('pending', 'disabled')`,
      ),
      retry: db.prepare(
        `UPDATE outbox SET attempts = attempts + 1, first_attempt_at = COALESCE(first_attempt_at, @attemptedAt), last_attempt_at = @attemptedAt,
           next_attempt_at = @nextAttemptAt, last_status = @status, last_error = @reason, lease_owner = NULL, lease_until = NULL, updated_at = @now
         WHERE subscriber_id = @subscriberId AND message_id = @messageId AND lease_owner = @owner AND state = 'pending'`,
      ),
      failed: db.prepare(
        `UPDATE outbox SET state = 'failed', attempts = attempts + 1, first_attempt_at = COALESCE(first_attempt_at, @attemptedAt), last_attempt_at = @attemptedAt,
           last_status = @status, last_error = @reason, lease_owner = NULL, lease_until = NULL, updated_at = @now
         WHERE subscriber_id = @subscriberId AND message_id = @messageId AND lease_owner = @owner AND state = 'pending'`,
      ),
      release: db.prepare(`UPDATE outbox SET lease_owner = NULL, lease_until = NULL WHERE subscriber_id = ? AND message_id = ? AND lease_owner = ?`),
      releaseAll: db.prepare(`UPDATE outbox SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL AND state = 'pending'`),
      disable: db.transaction((subscriberId: string, fingerprint: string | undefined, reason: string, status: number | null, now: number) => {
        db.prepare(
          `INSERT INTO subscribers (subscriber_id, origin, format, fingerprint, disabled_at, disabled_reason, updated_at) VALUES (?, '', '', ?, ?, ?, ?)
           ON CONFLICT (subscriber_id) DO UPDATE SET disabled_at = excluded.disabled_at, disabled_reason = excluded.disabled_reason,
             fingerprint = COALESCE(NULLIF(excluded.fingerprint, ''), subscribers.fingerprint), updated_at = excluded.updated_at`,
        ).run(subscriberId, fingerprint ?? '', now, reason, now);
        return db
          .prepare(`UPDATE outbox SET state = 'disabled', last_status = COALESCE(?, last_status), last_error = ?, lease_until = NULL, updated_at = ? WHERE subscriber_id = ? AND state = 'pending'`)
          .run(status, reason, now, subscriberId).changes;
      }),
      register: db.transaction((subscribers: readonly { id: string; origin: string; format: string; fingerprint: string }[], now: number) => {
        const get = db.prepare(`SELECT fingerprint, disabled_at FROM subscribers WHERE subscriber_id = ?`);
        const upsert = db.prepare(
          `INSERT INTO subscribers (subscriber_id, origin, format, fingerprint, updated_at) VALUES (@id, @origin, @format, @fingerprint, @now)
           ON CONFLICT (subscriber_id) DO UPDATE SET origin = excluded.origin, format = excluded.format, fingerprint = excluded.fingerprint, updated_at = excluded.updated_at,
             disabled_at = CASE WHEN subscribers.fingerprint = excluded.fingerprint THEN subscribers.disabled_at ELSE NULL END,
             disabled_reason = CASE WHEN subscribers.fingerprint = excluded.fingerprint THEN subscribers.disabled_reason ELSE NULL END`,
        );
        const enabledAgain: string[] = [];
        for (const s of subscribers) {
          const before = get.get(s.id) as { fingerprint: string; disabled_at: number | null } | undefined;
          if (before?.disabled_at != null && before.fingerprint !== s.fingerprint) enabledAgain.push(s.id);
          upsert.run({ ...s, now });
        }
        return enabledAgain;
      }),
      disabled: db.prepare(`SELECT subscriber_id, disabled_at, disabled_reason FROM subscribers WHERE subscriber_id = ? AND disabled_at IS NOT NULL`),
      requeue: db.prepare(
        `UPDATE outbox SET state = 'pending', attempts = 0, first_attempt_at = NULL, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL, updated_at = ?
         WHERE state = 'failed' AND subscriber_id NOT IN (SELECT subscriber_id FROM subscribers WHERE disabled_at IS NOT NULL)`,
      ),
      prune: db.prepare(`DELETE FROM outbox WHERE state = 'delivered' AND updated_at < ?`),
      counts: db.prepare(`SELECT subscriber_id, state, COUNT(*) AS n FROM outbox GROUP BY subscriber_id, state`),
      subscribers: db.prepare(`SELECT subscriber_id, origin, format, disabled_at, disabled_reason FROM subscribers`),
      open: db.prepare(
        `SELECT * FROM outbox WHERE state IN ('failed', 'pending') ORDER BY CASE state WHEN 'failed' THEN 0 ELSE 1 END, subscriber_id, next_attempt_at, rowid LIMIT ?`,
      ),
      get: db.prepare(`SELECT * FROM outbox WHERE subscriber_id = ? AND message_id = ?`),
    };
  }

  /** Called after each enqueue that stored a message (the dispatcher wakes). */
  onEnqueued(listener: () => void): void {
    this.listeners.push(listener);
  }

  async enqueue(messages: readonly OutboxMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const { stored, skipped } = this.sql.enqueue(messages, this.now());
    for (const id of skipped) {
      if (this.warnedDisabled.has(id)) continue;
      this.warnedDisabled.add(id);
      this.logger.warn('subscriber is disabled (it answered 410 Gone): its messages are not stored; change its url to deliver to it again', { subscriberId: id });
    }
    if (stored > 0) for (const listener of this.listeners) listener();
  }

  /** Due rows nobody holds (all subscribers, or one), oldest first. Read only: a dispatcher claims instead. */
  due(now: number, limit: number, subscriberId?: string): OutboxRow[] {
    const rows = subscriberId === undefined ? this.sql.dueAll.all(now, now, limit) : this.sql.due.all(subscriberId, now, now, limit);
    return (rows as RawRow[]).map(toRow);
  }

  /** Leases up to `limit` due rows of one subscriber to `owner` until now + leaseMs; returns them. */
  claim(subscriberId: string, options: { owner: string; limit: number; leaseMs: number; now?: number }): OutboxRow[] {
    if (options.limit <= 0) return [];
    return (this.sql.claim.immediate(subscriberId, options.owner, options.now ?? this.now(), options.limit, options.leaseMs) as RawRow[]).map(toRow);
  }

  /** Records a delivery; false when the lease was no longer `owner`'s. */
  markDelivered(key: OutboxKey, owner: string, attempt: AttemptRecord): boolean {
    return this.sql.delivered.run({ ...key, owner, attemptedAt: attempt.attemptedAt, status: attempt.status ?? null, now: this.now() }).changes > 0;
  }

  /** Records a failed attempt to try again at `nextAttemptAt`. */
  markRetry(key: OutboxKey, owner: string, attempt: AttemptRecord & { nextAttemptAt: number; reason: string }): boolean {
    return (
      this.sql.retry.run({ ...key, owner, attemptedAt: attempt.attemptedAt, status: attempt.status ?? null, nextAttemptAt: attempt.nextAttemptAt, reason: attempt.reason, now: this.now() }).changes > 0
    );
  }

  /** Records a failure for good (`retry --deliveries` makes it pending again). */
  markFailed(key: OutboxKey, owner: string, attempt: AttemptRecord & { reason: string }): boolean {
    return this.sql.failed.run({ ...key, owner, attemptedAt: attempt.attemptedAt, status: attempt.status ?? null, reason: attempt.reason, now: this.now() }).changes > 0;
  }

  /** Gives a leased row back without counting an attempt (the dispatcher stops). */
  release(key: OutboxKey, owner: string): void {
    this.sql.release.run(key.subscriberId, key.messageId, owner);
  }

  /**
   * Ends every lease at once. Only for a dispatcher that knows no other runs on this
   * file — `serve` holds the DATA_DIR's instance lock — so that messages a killed
   * process held are sent again at once rather than when their leases run out.
   */
  releaseAllLeases(): number {
    return this.sql.releaseAll.run().changes;
  }

  /** Disables a subscriber: its pending rows become `disabled`, later messages are not stored. Returns how many rows it disabled. */
  disable(subscriberId: string, options: { reason: string; status?: number; fingerprint?: string }): number {
    this.warnedDisabled.delete(subscriberId);
    return this.sql.disable.immediate(subscriberId, options.fingerprint, options.reason, options.status ?? null, this.now()) as number;
  }

  /** Whether (and why) a subscriber is disabled. */
  disabled(subscriberId: string): { at: number; reason: string } | undefined {
    const row = this.sql.disabled.get(subscriberId) as { disabled_at: number; disabled_reason: string | null } | undefined;
    return row ? { at: row.disabled_at, reason: row.disabled_reason ?? '' } : undefined;
  }

  /**
   * Records the configured subscribers (id, origin, format, URL fingerprint) for
   * `status`; a disabled one whose URL changed is enabled again. Returns those ids.
   */
  registerSubscribers(subscribers: readonly { id: string; origin: string; format: string; fingerprint: string }[]): string[] {
    return this.sql.register.immediate(subscribers, this.now()) as string[];
  }

  /** `retry --deliveries`: failed rows pending again, attempts and the 24-hour window restarted. Returns how many. */
  requeueFailed(): number {
    const now = this.now();
    const changed = this.sql.requeue.run(now, now).changes;
    if (changed > 0) for (const listener of this.listeners) listener();
    return changed;
  }

  /** Deletes delivered rows last changed before `cutoff` (epoch ms); returns how many. */
  prune(cutoff: number): number {
    return this.sql.prune.run(cutoff).changes;
  }

  get(key: OutboxKey): OutboxRow | undefined {
    const raw = this.sql.get.get(key.subscriberId, key.messageId) as RawRow | undefined;
    return raw ? toRow(raw) : undefined;
  }

  /** For `status --deliveries`: each subscriber with its counts by state, and the failed and pending rows. */
  summary(limit = 200): OutboxSummary {
    const known = new Map<string, OutboxSubscriber>();
    const empty = (): Record<OutboxState, number> => ({ pending: 0, delivered: 0, failed: 0, disabled: 0 });
    for (const s of this.sql.subscribers.all() as { subscriber_id: string; origin: string; format: string; disabled_at: number | null; disabled_reason: string | null }[]) {
      known.set(s.subscriber_id, { id: s.subscriber_id, origin: s.origin, format: s.format, disabledAt: s.disabled_at, disabledReason: s.disabled_reason, counts: empty() });
    }
    for (const c of this.sql.counts.all() as { subscriber_id: string; state: OutboxState; n: number }[]) {
      let entry = known.get(c.subscriber_id);
      if (!entry) known.set(c.subscriber_id, (entry = { id: c.subscriber_id, origin: '', format: '', disabledAt: null, disabledReason: null, counts: empty() }));
      entry.counts[c.state] = c.n;
    }
    const open = (this.sql.open.all(limit) as RawRow[]).map(toRow).map(({ message: _message, ...rest }) => rest);
    return { subscribers: [...known.values()].sort((a, b) => a.id.localeCompare(b.id)), open };
  }

  close(): void {
    this.db.close();
  }
}
