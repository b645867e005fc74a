/**
 * The custom metrics the audit counts: a pure mapping from one audit record to the
 * numbers worth a graph. The audit Lambda emits them as CloudWatch Embedded Metric
 * Format (handler.ts) only when the record was `written`, so a redelivered event is
 * counted once; the CDK dashboard (infrastructure/constructs/operations-dashboard.ts)
 * reads them back by the same names, namespace and dimension, taken from here.
 *
 * What a metric may carry: a number and its unit, nothing else. No value is copied
 * from a free-text field (a failure's reason, a topic), and the only dimension is
 * `service` (one value): never a recording, file, course or run id, which would make
 * one CloudWatch metric per recording.
 */
import { DetailType } from '../../shared/events';
import type { AuditRecord } from '../../shared/ports/audit-log';

/** The CloudWatch namespace of every custom metric of the stack. */
export const METRICS_NAMESPACE = 'ZoomArchiver';

/** The one dimension of the audit's metrics: `service` = this. */
export const METRICS_SERVICE = 'audit';

export const AuditMetricName = {
  /** One per FileUploaded: a file is in the archive. */
  FilesArchived: 'FilesArchived',
  /** FileUploaded's size. */
  BytesArchived: 'BytesArchived',
  /** One per FileUploadFailed (retryable or not: an automatic retry that succeeds later counts as FilesArchived too). */
  FilesFailed: 'FilesFailed',
  /** One per RecordingRejected (any reason: a meeting that is not a course's is rejected too). */
  RecordingsRejected: 'RecordingsRejected',
  /** One per RecordingArchived: every file of a recording (of one of its parts) is archived. */
  RecordingsArchived: 'RecordingsArchived',
  /** A scheduled sweep's ReconciliationCompleted (trigger `sweep`; backfills are not counted): recordings Zoom listed. */
  SweepRecordingsFound: 'SweepRecordingsFound',
  /** …files it found missing and asked for (each one a webhook that never came, or came too early). */
  SweepFilesRequested: 'SweepFilesRequested',
  /** …files the ledger holds as failed (not asked for again). */
  SweepFilesFailed: 'SweepFilesFailed',
  /** …windows it could not list (the run is incomplete). */
  SweepErrors: 'SweepErrors',
} as const;
export type AuditMetricName = (typeof AuditMetricName)[keyof typeof AuditMetricName];

/** The units used, spelt as CloudWatch (and Powertools' MetricUnit) spell them. */
export type AuditMetricUnit = 'Count' | 'Bytes';

/** Each metric's unit. */
export const AUDIT_METRIC_UNITS: { readonly [N in AuditMetricName]: AuditMetricUnit } = {
  FilesArchived: 'Count',
  BytesArchived: 'Bytes',
  FilesFailed: 'Count',
  RecordingsRejected: 'Count',
  RecordingsArchived: 'Count',
  SweepRecordingsFound: 'Count',
  SweepFilesRequested: 'Count',
  SweepFilesFailed: 'Count',
  SweepErrors: 'Count',
};

export interface AuditMetric {
  name: AuditMetricName;
  unit: AuditMetricUnit;
  value: number;
}

const metric = (name: AuditMetricName, value: number): AuditMetric => ({ name, unit: AUDIT_METRIC_UNITS[name], value });

/** A count field of `data`, when it is one (a whole number ≥ 0); anything else is left out rather than guessed. */
function countOf(data: AuditRecord['data'], field: string): number | undefined {
  const value = data[field];
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** `name` with the value of `data[field]`, or nothing when the field is not a count. */
function fromField(name: AuditMetricName, data: AuditRecord['data'], field: string): AuditMetric[] {
  const value = countOf(data, field);
  return value === undefined ? [] : [metric(name, value)];
}

/**
 * The metrics one audit record counts; none for the detail-types not counted
 * (RecordingAvailable, FileUploadRequested, the clean-up's events) and for backfills.
 * A sweep reports all four of its numbers, zeros included, so that each sweep is one
 * sample (SampleCount of SweepRecordingsFound = sweeps that finished).
 */
export function auditMetricsOf(record: Pick<AuditRecord, 'detailType' | 'data'>): AuditMetric[] {
  const { data } = record;
  switch (record.detailType) {
    case DetailType.FileUploaded:
      return [metric(AuditMetricName.FilesArchived, 1), ...fromField(AuditMetricName.BytesArchived, data, 'size')];
    case DetailType.FileUploadFailed:
      return [metric(AuditMetricName.FilesFailed, 1)];
    case DetailType.RecordingRejected:
      return [metric(AuditMetricName.RecordingsRejected, 1)];
    case DetailType.RecordingArchived:
      return [metric(AuditMetricName.RecordingsArchived, 1)];
    case DetailType.ReconciliationCompleted:
      // A backfill lists whatever range a person asked for: counting it would make an hour of backfill look like lost webhooks.
      if (data.trigger !== 'sweep') return [];
      return [
        ...fromField(AuditMetricName.SweepRecordingsFound, data, 'recordingsFound'),
        ...fromField(AuditMetricName.SweepFilesRequested, data, 'filesRequested'),
        ...fromField(AuditMetricName.SweepFilesFailed, data, 'filesFailed'),
        ...fromField(AuditMetricName.SweepErrors, data, 'errors'),
      ];
    default:
      return [];
  }
}
