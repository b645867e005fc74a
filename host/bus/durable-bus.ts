/**
 * The single-machine event bus: EventBridge's role, kept in SQLite so that nothing
 * accepted is lost. `publish` validates each event, routes it with the rules the
 * cloud stack deploys (CONSUMER_RULES: every rule, whether or not this process runs
 * its consumer — so a publisher without consumers, such as the webhook's thread or
 * `zoom-archiver retry`, routes exactly like EventBridge), and commits the event and
 * one delivery per matching rule in one transaction before it resolves — so a webhook that answered 200
 * survives a kill -9. `sync: 'normal'` (the default; SQLite WAL with synchronous=NORMAL)
 * makes a commit durable against a crash of the process, not of the machine, without
 * an fsync per event; `sync: 'full'` adds that fsync (a power loss cannot lose an
 * acknowledged webhook either) at a measured cost in answer time (bench/results).
 * Deliveries run with bounded concurrency per consumer, retry with backoff, and end
 * `dead` (the local dead-letter queue) after the consumer's attempts, or at once when
 * the error says retrying cannot help (`retryable: false`); dead deliveries can be
 * listed and re-driven. On start, and every poll interval, pending deliveries are
 * picked up — including those written by another process or thread. Delivered
 * history older than the retention is deleted, so the file does not grow forever.
 */
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { openSqliteDatabase } from '../../shared/adapters/sqlite-database';
import { ArchiverError } from '../../shared/errors';
import { CONSUMER_RULES, EVENT_SOURCE, parseDetail, type ConsumerRule, type DetailTypeName, type DomainEvent } from '../../shared/events';
import type { AppLogger } from '../../shared/logger';
import type { EventPublisher } from '../../shared/ports/event-publisher';
import { backoffDelay, type BackoffOptions } from '../../shared/retry';
import { matchesPattern, validatePattern } from './event-pattern';
import { InboxReader } from './inbox';

/** An event as consumers receive it: EventBridge's envelope shape. */
export interface BusEnvelope {
  id: string;
  time: string;
  source: typeof EVENT_SOURCE;
  'detail-type': DetailTypeName;
  detail: unknown;
}

/** `done`: acknowledged. `later`: not handled now (e.g. shutting down); deliver again without counting an attempt. */
export type DeliveryResult = 'done' | 'later';

export interface Consumer {
  /** The id of the rule (CONSUMER_RULES) whose deliveries this consumer handles. */
  name: string;
  concurrency: number;
  /** Failed deliveries (thrown errors) before the delivery is dead. */
  maxAttempts: number;
  handle(event: BusEnvelope): Promise<DeliveryResult>;
}

export interface DurableBusOptions {
  path: string;
  /** SQLite synchronous mode: 'normal' survives process crashes, 'full' also power loss (fsync per commit). */
  sync?: 'normal' | 'full';
  logger: AppLogger;
  pollIntervalMs?: number;
  backoff?: BackoffOptions;
  now?: () => number;
  /** The routing rules; the stack's (CONSUMER_RULES) unless a test needs others. */
  rules?: readonly ConsumerRule[];
  /** Delivered events older than this are deleted (BUS_RETENTION_DAYS); dead ones are kept. */
  retentionMs?: number;
  /** Called after each publish commits, e.g. to wake a dispatcher on another thread. */
  onPublished?: () => void;
  /** The webhook's inbox file (host/bus/inbox.ts), imported into the bus as it grows. */
  inboxPath?: string;
}

/** A delivery that failed for good, for `retry --dead` and the operator. */
export interface DeadDelivery {
  seq: number;
  eventId: string;
  consumer: string;
  detailType: DetailTypeName;
  attempts: number;
  lastError: string | null;
  updatedAt: number;
}

export const DEFAULT_BUS_RETENTION_MS = 30 * 86_400_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  id TEXT PRIMARY KEY,
  time TEXT NOT NULL,
  detail_type TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL REFERENCES events(id),
  consumer TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  updated_at INTEGER NOT NULL,
  UNIQUE (event_id, consumer)
);
-- In seq order, so "the next due deliveries" stops after LIMIT rows instead of sorting the backlog.
CREATE INDEX IF NOT EXISTS deliveries_queue ON deliveries (consumer, state, seq);
-- For the retention sweep: old done deliveries, then old events.
CREATE INDEX IF NOT EXISTS deliveries_age ON deliveries (state, updated_at);
CREATE INDEX IF NOT EXISTS events_time ON events (time);
DROP INDEX IF EXISTS deliveries_pending;
-- How far the webhook's inbox has been imported (its highest seq), written with the imported rows.
CREATE TABLE IF NOT EXISTS inbox_cursor (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL
);
`;

interface DeliveryRow {
  seq: number;
  event_id: string;
  attempts: number;
  time: string;
  detail_type: DetailTypeName;
  detail: string;
}

export interface BusStats {
  pending: number;
  inFlight: number;
  dead: number;
}

export class DurableBus implements EventPublisher {
  private readonly db: Database.Database;
  private readonly consumers = new Map<string, { consumer: Consumer; inFlight: Map<number, Promise<void>> }>();
  private readonly logger: AppLogger;
  private readonly pollIntervalMs: number;
  private readonly backoff: BackoffOptions;
  private readonly now: () => number;
  private running = false;
  private pumpScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];
  private readonly sql: ReturnType<DurableBus['prepareStatements']>;
  private readonly rules: readonly ConsumerRule[];
  private readonly retentionMs: number;
  private readonly onPublished: (() => void) | undefined;
  private readonly inbox: InboxReader | undefined;
  private lastPrune = 0;

  constructor(options: DurableBusOptions) {
    this.rules = options.rules ?? Object.values(CONSUMER_RULES);
    // A bad rule fails at start-up, not at the first event.
    for (const rule of this.rules) validatePattern(rule.pattern);
    this.retentionMs = options.retentionMs ?? DEFAULT_BUS_RETENTION_MS;
    this.onPublished = options.onPublished;
    this.db = openSqliteDatabase(options.path, { synchronous: options.sync === 'full' ? 'FULL' : 'NORMAL' });
    this.db.exec(SCHEMA);
    this.sql = this.prepareStatements();
    this.inbox = options.inboxPath ? new InboxReader(options.inboxPath) : undefined;
    this.logger = options.logger;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.backoff = options.backoff ?? { baseMs: 1000, maxMs: 60_000 };
    this.now = options.now ?? Date.now;
  }

  /** Runs `consumer` for the deliveries of its rule; a name that is no rule's id is a wiring error. */
  subscribe(consumer: Consumer): void {
    if (!this.rules.some((rule) => rule.id === consumer.name)) {
      throw new Error(`no bus rule named ${consumer.name} (rules: ${this.rules.map((r) => r.id).join(', ')})`);
    }
    this.consumers.set(consumer.name, { consumer, inFlight: new Map() });
  }

  async publish(events: readonly DomainEvent[]): Promise<void> {
    const now = this.now();
    const rows = events.map((event) => {
      parseDetail(event.detailType, event.detail);
      return this.route({ id: randomUUID(), time: new Date(now).toISOString(), source: EVENT_SOURCE, 'detail-type': event.detailType, detail: event.detail });
    });
    this.sql.publish(rows, now);
    this.schedulePump();
    this.onPublished?.();
  }

  private route(envelope: BusEnvelope): { envelope: BusEnvelope; consumers: string[] } {
    return { envelope, consumers: this.rules.filter((rule) => matchesPattern(rule.pattern, envelope)).map((rule) => rule.id) };
  }

  /** The highest inbox row imported so far (0 before the first). */
  importedUpTo(): number {
    return (this.sql.cursor.get() as { seq: number } | undefined)?.seq ?? 0;
  }

  /**
   * Moves new inbox rows into the bus: events, their deliveries and the cursor in one
   * transaction, so a crash halfway leaves the rows to be imported again (ids are
   * kept, and a row already present is skipped). Returns how many were imported.
   */
  importInbox(): number {
    if (!this.inbox) return 0;
    let imported = 0;
    for (;;) {
      const rows = this.inbox.rowsAfter(this.importedUpTo(), 500);
      if (rows.length === 0) return imported;
      const now = this.now();
      const routed = rows.map((row) =>
        this.route({ id: row.id, time: row.time, source: EVENT_SOURCE, 'detail-type': row.detail_type as DetailTypeName, detail: JSON.parse(row.detail) as unknown }),
      );
      this.sql.importRows(routed, rows[rows.length - 1]!.seq, now);
      imported += rows.length;
    }
  }

  /** Deliveries that failed for good, oldest first. */
  listDead(limit = 1000): DeadDelivery[] {
    return (this.sql.dead.all(limit) as { seq: number; event_id: string; consumer: string; detail_type: DetailTypeName; attempts: number; last_error: string | null; updated_at: number }[]).map(
      (row) => ({ seq: row.seq, eventId: row.event_id, consumer: row.consumer, detailType: row.detail_type, attempts: row.attempts, lastError: row.last_error, updatedAt: row.updated_at }),
    );
  }

  /** Makes dead deliveries pending again with fresh attempts (all of them, or those in `seqs`); returns how many. */
  redriveDead(seqs?: readonly number[]): number {
    const now = this.now();
    const changed = seqs ? this.sql.redriveSome(seqs, now) : this.sql.redriveAll.run(now, now).changes;
    if (changed > 0) {
      this.schedulePump();
      this.onPublished?.();
    }
    return changed;
  }

  /** Deletes delivered history older than the retention: done deliveries, then events with no delivery left. */
  prune(): { deliveries: number; events: number } {
    const cutoff = this.now() - this.retentionMs;
    return this.sql.prune(cutoff);
  }

  /** Asks for a look at the queue now (another thread or process published). */
  poke(): void {
    this.schedulePump();
  }

  private prepareStatements() {
    const insertEvent = this.db.prepare('INSERT INTO events (id, time, detail_type, detail) VALUES (?, ?, ?, ?)');
    const insertDelivery = this.db.prepare(`INSERT INTO deliveries (event_id, consumer, state, next_attempt_at, updated_at) VALUES (?, ?, 'pending', ?, ?)`);
    const importEvent = this.db.prepare('INSERT OR IGNORE INTO events (id, time, detail_type, detail) VALUES (?, ?, ?, ?)');
    const importDelivery = this.db.prepare(`INSERT OR IGNORE INTO deliveries (event_id, consumer, state, next_attempt_at, updated_at) VALUES (?, ?, 'pending', ?, ?)`);
    const setCursor = this.db.prepare('INSERT INTO inbox_cursor (id, seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq');
    return {
      publish: this.db.transaction((rows: { envelope: BusEnvelope; consumers: string[] }[], now: number) => {
        for (const { envelope, consumers } of rows) {
          insertEvent.run(envelope.id, envelope.time, envelope['detail-type'], JSON.stringify(envelope.detail));
          for (const name of consumers) insertDelivery.run(envelope.id, name, now, now);
        }
      }),
      importRows: this.db.transaction((rows: { envelope: BusEnvelope; consumers: string[] }[], upTo: number, now: number) => {
        for (const { envelope, consumers } of rows) {
          importEvent.run(envelope.id, envelope.time, envelope['detail-type'], JSON.stringify(envelope.detail));
          for (const name of consumers) importDelivery.run(envelope.id, name, now, now);
        }
        setCursor.run(upTo);
      }),
      cursor: this.db.prepare('SELECT seq FROM inbox_cursor WHERE id = 1'),
      due: this.db.prepare(
        `SELECT d.seq, d.event_id, d.attempts, e.time, e.detail_type, e.detail FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE d.consumer = ? AND d.state = 'pending' AND d.next_attempt_at <= ? ORDER BY d.seq LIMIT ?`,
      ),
      dueCount: this.db.prepare(`SELECT COUNT(*) AS n FROM deliveries WHERE state = 'pending' AND next_attempt_at <= ?`),
      update: this.db.prepare('UPDATE deliveries SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE seq = ?'),
      counts: this.db.prepare(`SELECT state, COUNT(*) AS n FROM deliveries WHERE state != 'done' GROUP BY state`),
      dead: this.db.prepare(
        `SELECT d.seq, d.event_id, d.consumer, e.detail_type, d.attempts, d.last_error, d.updated_at FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE d.state = 'dead' ORDER BY d.seq LIMIT ?`,
      ),
      redriveAll: this.db.prepare(`UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ? WHERE state = 'dead'`),
      redriveSome: this.db.transaction((seqs: readonly number[], now: number) => {
        const one = this.db.prepare(`UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ? WHERE state = 'dead' AND seq = ?`);
        let n = 0;
        for (const seq of seqs) n += one.run(now, now, seq).changes;
        return n;
      }),
      prune: this.db.transaction((cutoff: number) => {
        const deliveries = this.db.prepare(`DELETE FROM deliveries WHERE state = 'done' AND updated_at < ?`).run(cutoff).changes;
        const events = this.db
          .prepare(`DELETE FROM events WHERE time < ? AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)`)
          .run(new Date(cutoff).toISOString()).changes;
        return { deliveries, events };
      }),
    };
  }

  /** One pump per turn of the event loop, however many publishes and completions asked for it. */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pumpAll();
    });
  }

  /** Starts delivering: first what is pending from before (a restart), then as events come. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const pending = this.stats().pending;
    if (pending > 0) this.logger.info(`resuming ${pending} undelivered event deliveries`, { pending });
    this.schedulePump();
    this.timer = setInterval(() => {
      this.schedulePump();
      this.pruneHourly();
    }, this.pollIntervalMs);
    this.timer.unref();
    this.pruneHourly();
  }

  private pruneHourly(): void {
    const now = this.now();
    if (now - this.lastPrune < 3_600_000) return;
    this.lastPrune = now;
    try {
      const pruned = this.prune();
      if (pruned.deliveries + pruned.events > 0) this.logger.info('deleted delivered bus history past its retention', pruned);
    } catch (error) {
      this.logger.warn('could not delete old bus history; will try again', { error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** Stops taking deliveries and waits for those in flight. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.consumers.values()].flatMap(({ inFlight }) => [...inFlight.values()]));
  }

  close(): void {
    this.inbox?.close();
    this.db.close();
  }

  /** Resolves when nothing is pending (due now) or in flight: for the sandbox summary and tests. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** `pending` counts deliveries not done yet (in flight included) and inbox rows not imported yet. */
  stats(): BusStats {
    const counts = this.sql.counts.all() as { state: string; n: number }[];
    const of = (state: string) => counts.find((c) => c.state === state)?.n ?? 0;
    const inFlight = [...this.consumers.values()].reduce((n, c) => n + c.inFlight.size, 0);
    const notImported = this.inbox ? this.inbox.countAfter(this.importedUpTo()) : 0;
    return { pending: of('pending') + notImported, inFlight, dead: of('dead') };
  }

  private isIdle(): boolean {
    const dueNow = this.sql.dueCount.get(this.now()) as { n: number };
    const notImported = this.inbox ? this.inbox.countAfter(this.importedUpTo()) : 0;
    return dueNow.n === 0 && notImported === 0 && [...this.consumers.values()].every((c) => c.inFlight.size === 0);
  }

  private pumpAll(): void {
    if (this.running) {
      try {
        this.importInbox();
      } catch (error) {
        this.logger.warn('could not import the webhook inbox; will try again', { error: error instanceof Error ? error.message : String(error) });
      }
      for (const entry of this.consumers.values()) this.pump(entry);
    }
    if (this.idleWaiters.length > 0 && this.isIdle()) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private pump(entry: { consumer: Consumer; inFlight: Map<number, Promise<void>> }): void {
    const { consumer, inFlight } = entry;
    const free = consumer.concurrency - inFlight.size;
    if (free <= 0) return;
    const rows = this.sql.due.all(consumer.name, this.now(), free + inFlight.size) as DeliveryRow[];
    for (const row of rows.filter((r) => !inFlight.has(r.seq)).slice(0, free)) {
      const run = this.deliver(consumer, row).finally(() => {
        inFlight.delete(row.seq);
        this.schedulePump();
      });
      inFlight.set(row.seq, run);
    }
  }

  private async deliver(consumer: Consumer, row: DeliveryRow): Promise<void> {
    const envelope: BusEnvelope = { id: row.event_id, time: row.time, source: EVENT_SOURCE, 'detail-type': row.detail_type, detail: JSON.parse(row.detail) };
    const { update } = this.sql;
    try {
      const result = await consumer.handle(envelope);
      const now = this.now();
      if (result === 'done') update.run('done', row.attempts + 1, now, null, now, row.seq);
      else update.run('pending', row.attempts, now + this.pollIntervalMs, null, now, row.seq);
    } catch (error) {
      const attempts = row.attempts + 1;
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      const now = this.now();
      // An error that says retrying cannot help (e.g. an event that breaks its contract) is dead at once.
      const hopeless = error instanceof ArchiverError && !error.retryable;
      if (attempts >= consumer.maxAttempts || hopeless) {
        update.run('dead', attempts, now, message, now, row.seq);
        this.logger.error('event delivery failed for good (dead-lettered)', { consumer: consumer.name, eventId: row.event_id, detailType: row.detail_type, attempts, retryable: !hopeless, error: message });
      } else {
        update.run('pending', attempts, now + backoffDelay(attempts, this.backoff), message, now, row.seq);
        this.logger.warn('event delivery failed; will retry', { consumer: consumer.name, eventId: row.event_id, detailType: row.detail_type, attempts, error: message });
      }
    }
  }
}
