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
}
