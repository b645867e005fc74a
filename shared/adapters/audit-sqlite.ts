/**
 * AuditLog on SQLite (better-sqlite3), for the single-machine runtime and the CLI.
 * One table keyed by event id; indexes mirror the DynamoDB table's access patterns
 * (recording, course + time, problems + time, time).
 */
import type Database from 'better-sqlite3';
import { openSqliteDatabase } from './sqlite-database';
import type { AuditLog, AuditRecord, TimeRange } from '../ports/audit-log';

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

export class SqliteAuditLog implements AuditLog {
  private readonly db: Database.Database;
  private insert: Database.Statement | undefined;

  /** `path`: a file (created if absent) or ':memory:'. */
  constructor(path: string) {
    this.db = openSqliteDatabase(path);
    this.db.exec(SCHEMA);
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

  close(): void {
    this.db.close();
  }

  private select(where: string, ...params: unknown[]): AuditRecord[] {
    const rows = this.db.prepare(`SELECT * FROM audit ${where}`).all(...params) as Row[];
    return rows.map(fromRow);
  }
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
