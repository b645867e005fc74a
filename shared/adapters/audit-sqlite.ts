/**
 * AuditLog on SQLite (better-sqlite3), for the single-machine runtime and the CLI.
 * One table keyed by event id; indexes mirror the DynamoDB table's access patterns
 * (recording, course + time, problems + time, time), plus detail-type + time for
 * the recording search, the latest run of a kind and the daily totals.
 */
import type Database from 'better-sqlite3';
import { openSqliteDatabase } from './sqlite-database';
import { SEARCHABLE_DETAIL_TYPES, type AuditLog, type AuditRecord, type DailyTotal, type TimeRange } from '../ports/audit-log';
import type { DetailTypeName } from '../events';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS audit (
  event_id TEXT PRIMARY KEY,
  detail_type TEXT NOT NULL,
  time TEXT NOT NULL,
  recording_id TEXT NOT NULL,
  course TEXT,
  file_id TEXT,
  correlation_id TEXT NOT NULL,
  causation_id TEXT NOT NULL,
  problem INTEGER NOT NULL,
  summary TEXT NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_recording ON audit (recording_id, time);
CREATE INDEX IF NOT EXISTS audit_by_course ON audit (course, time) WHERE course IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_by_problem ON audit (time) WHERE problem = 1;
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (time);
CREATE INDEX IF NOT EXISTS audit_by_type ON audit (detail_type, time);
`;

interface Row {
  event_id: string;
  detail_type: string;
  time: string;
  recording_id: string;
  course: string | null;
  file_id: string | null;
  correlation_id: string;
  causation_id: string;
  problem: number;
  summary: string;
  data: string;
}

const MIN_TIME = '0000';
const MAX_TIME = '9999';
/** How far findRecordings, latestOfType and dailyTotals look back when no `since` is given. */
const LOOKBACK_DAYS = 90;
const DAY_MS = 86_400_000;
/**
 * Topic matching ignores case for every letter, not just ASCII: SQLite's lower(),
 * upper() and LIKE fold only A-Z (better-sqlite3 is built without ICU), so "Éléments"
 * would not be found by "élém". Rather than select every searchable record of the
 * range and filter in JS (each row parsed and copied out), the connection gets this
 * deterministic JS function: SQL still does the type + time range (index), the
 * order and the limit, and only matching rows leave SQLite. It folds the same way as
 * the DynamoDB adapter. Matching is then instr(), so the query's `%` and `_` are
 * plain characters with no LIKE escaping to get wrong.
 */
const FOLD_FUNCTION = 'audit_fold';
const fold = (text: string) => text.normalize('NFC').toLowerCase();
const SEARCHABLE_IN = SEARCHABLE_DETAIL_TYPES.map((type) => `'${type}'`).join(', ');

export class SqliteAuditLog implements AuditLog {
  private readonly db: Database.Database;
  private insert: Database.Statement | undefined;

  /** `path`: a file (created if absent) or ':memory:'. */
  constructor(path: string) {
    this.db = openSqliteDatabase(path);
    this.db.exec(SCHEMA);
    this.db.function(FOLD_FUNCTION, { deterministic: true }, (value: unknown) => (typeof value === 'string' ? fold(value) : null));
  }

  async record(record: AuditRecord): Promise<'written' | 'duplicate'> {
    this.insert ??= this.db.prepare(
      `INSERT OR IGNORE INTO audit (event_id, detail_type, time, recording_id, course, file_id, correlation_id, causation_id, problem, summary, data)
       VALUES (@eventId, @detailType, @time, @recordingId, @course, @fileId, @correlationId, @causationId, @problem, @summary, @data)`,
    );
    const result = this.insert.run({
        ...record,
        course: record.course ?? null,
        fileId: record.fileId ?? null,
        problem: record.problem ? 1 : 0,
        data: JSON.stringify(record.data),
      });
    return result.changes === 1 ? 'written' : 'duplicate';
  }

  async recordingHistory(recordingId: string): Promise<AuditRecord[]> {
    return this.select('WHERE recording_id = ? ORDER BY time, event_id', recordingId);
  }

  async courseEvents(course: string, range: TimeRange): Promise<AuditRecord[]> {
    return this.select('WHERE course = ? AND time >= ? AND time < ? ORDER BY time, event_id', course, range.since ?? MIN_TIME, range.until ?? MAX_TIME);
  }

  async problems(range: TimeRange): Promise<AuditRecord[]> {
    return this.select('WHERE problem = 1 AND time >= ? AND time < ? ORDER BY time DESC, event_id DESC', range.since ?? MIN_TIME, range.until ?? MAX_TIME);
  }

  async latest(limit: number, range: TimeRange = {}): Promise<AuditRecord[]> {
    return this.select('WHERE time >= ? AND time < ? ORDER BY time DESC, event_id DESC LIMIT ?', range.since ?? MIN_TIME, range.until ?? MAX_TIME, limit);
  }

  async findRecordings(text: string, range: TimeRange, limit: number): Promise<AuditRecord[]> {
    const query = text.trim();
    if (query === '' || limit <= 0) return [];
    const { since, until } = lookback(range);
    return this.select(
      `WHERE detail_type IN (${SEARCHABLE_IN}) AND time >= ? AND time < ?
         AND (recording_id = ? OR json_extract(data, '$.meetingId') = ? OR instr(${FOLD_FUNCTION}(json_extract(data, '$.topic')), ?) > 0)
       ORDER BY time DESC, event_id DESC LIMIT ?`,
      since,
      until,
      query,
      query.replace(/\s+/g, ''),
      fold(query),
      limit,
    );
  }

  async latestOfType(detailType: DetailTypeName, limit: number, range: TimeRange = {}): Promise<AuditRecord[]> {
    if (limit <= 0) return [];
    const { since, until } = lookback(range);
    return this.select('WHERE detail_type = ? AND time >= ? AND time < ? ORDER BY time DESC, event_id DESC LIMIT ?', detailType, since, until, limit);
  }

  async dailyTotals(range: TimeRange): Promise<DailyTotal[]> {
    const { since, until } = lookback(range);
    // Times are stored as toISOString() (UTC), so the first ten characters are the UTC day.
    return this.db
      .prepare(
        `SELECT substr(time, 1, 10) AS day, count(*) AS files, coalesce(sum(json_extract(data, '$.size')), 0) AS bytes
         FROM audit WHERE detail_type = 'FileUploaded' AND time >= ? AND time < ?
         GROUP BY day ORDER BY day`,
      )
      .all(since, until) as DailyTotal[];
  }

  close(): void {
    this.db.close();
  }

  private select(where: string, ...params: unknown[]): AuditRecord[] {
    const rows = this.db.prepare(`SELECT * FROM audit ${where}`).all(...params) as Row[];
    return rows.map(fromRow);
  }
}

/** The range with its default `since`: the last LOOKBACK_DAYS before `until` (or now). */
function lookback(range: TimeRange): { since: string; until: string } {
  const until = range.until ?? new Date().toISOString();
  return { since: range.since ?? new Date(new Date(until).getTime() - LOOKBACK_DAYS * DAY_MS).toISOString(), until };
}

function fromRow(row: Row): AuditRecord {
  return {
    eventId: row.event_id,
    detailType: row.detail_type as AuditRecord['detailType'],
    time: row.time,
    recordingId: row.recording_id,
    course: row.course ?? undefined,
    fileId: row.file_id ?? undefined,
    correlationId: row.correlation_id,
    causationId: row.causation_id,
    problem: row.problem === 1,
    summary: row.summary,
    data: JSON.parse(row.data) as AuditRecord['data'],
  };
}
