/**
 * Port: the audit trail. One record per bus event (idempotent by the bus event id),
 * with the ids people search by and a compact summary — never a token or secret.
 * Every query below is served by a key or an index in both adapters (no Scan).
 */
import type { DetailTypeName } from '../events';

export interface AuditRecord {
  /** The bus event id: a redelivered event is the same record. */
  eventId: string;
  detailType: DetailTypeName;
  /** Event time, ISO 8601 UTC. */
  time: string;
  recordingId: string;
  course?: string;
  fileId?: string;
  correlationId: string;
  causationId: string;
  /** True for FileUploadFailed, RecordingRejected and a reconciliation run with failures: what operators look at first. */
  problem: boolean;
  /** One line for people, e.g. "uploaded 282825 bytes to s3://bucket/key". */
  summary: string;
  /** A few typed fields by detail-type (sizes, keys, reasons); allow-listed, never the whole detail. */
  data: Record<string, string | number | boolean | undefined>;
}

export interface TimeRange {
  since?: string;
  until?: string;
}

/** Files archived (FileUploaded records) on one UTC day. */
export interface DailyTotal {
  /** yyyy-mm-dd (UTC). */
  day: string;
  files: number;
  /** Sum of the records' `data.size`. */
  bytes: number;
}

/** The detail-types that carry a recording's topic and meeting id in `data` (what `findRecordings` matches). */
export const SEARCHABLE_DETAIL_TYPES = ['RecordingAvailable', 'RecordingRejected'] as const;

export interface AuditLog {
  /** Writes the record unless one with the same eventId exists. */
  record(record: AuditRecord): Promise<'written' | 'duplicate'>;
  /** Everything that happened to one recording, oldest first. */
  recordingHistory(recordingId: string): Promise<AuditRecord[]>;
  /** A course's events in a time range, oldest first. */
  courseEvents(course: string, range: TimeRange): Promise<AuditRecord[]>;
  /** Failed files and rejected recordings in a time range, newest first. */
  problems(range: TimeRange): Promise<AuditRecord[]>;
  /** The latest events, newest first, optionally only those since a time. */
  latest(limit: number, range?: TimeRange): Promise<AuditRecord[]>;
  /**
   * Records of SEARCHABLE_DETAIL_TYPES in a time range (without `since`: the last 90
   * days before `until`/now) matching `text`: its recording id (the meeting UUID)
   * exactly, its `data.meetingId` once spaces are removed ("851 2345 6789" finds
   * 85123456789), or its `data.topic` containing `text`, ignoring case. Newest first,
   * at most `limit`. On DynamoDB the range's day partitions are read with a filter.
   */
  findRecordings(text: string, range: TimeRange, limit: number): Promise<AuditRecord[]>;
  /** The latest records of one detail-type in a range (as for findRecordings), newest first, at most `limit` (the last sweep: ReconciliationCompleted). */
  latestOfType(detailType: DetailTypeName, limit: number, range?: TimeRange): Promise<AuditRecord[]>;
  /** FileUploaded records per UTC day of their time in a range (as for findRecordings), oldest day first; days without files are left out. */
  dailyTotals(range: TimeRange): Promise<DailyTotal[]>;
}
