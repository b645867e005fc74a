/**
 * The one place where the bus source and the detail-type names are spelled.
 * Producers, consumers, rule patterns (CDK and the in-process bus) and tests import
 * these constants; no other file writes an event name as a string literal.
 */
export const EVENT_SOURCE = 'zoom-archiver' as const;

export const DetailType = {
  RecordingAvailable: 'RecordingAvailable',
  RecordingRejected: 'RecordingRejected',
  FileUploadRequested: 'FileUploadRequested',
  FileUploaded: 'FileUploaded',
  FileUploadFailed: 'FileUploadFailed',
  RecordingArchived: 'RecordingArchived',
  ReconciliationCompleted: 'ReconciliationCompleted',
  RecordingWouldBeTrashed: 'RecordingWouldBeTrashed',
  RecordingTrashedInZoom: 'RecordingTrashedInZoom',
} as const;

export type DetailTypeName = (typeof DetailType)[keyof typeof DetailType];

export const ALL_DETAIL_TYPES: readonly DetailTypeName[] = Object.values(DetailType);
