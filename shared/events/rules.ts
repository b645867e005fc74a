/**
 * Who consumes what: one EventBridge event pattern per consumer, defined once. The
 * CDK stack turns each into a rule on the bus; the single-machine bus routes with the
 * same patterns through its matcher. No pattern is written anywhere else.
 */
import { DetailType, EVENT_SOURCE } from './names';

/**
 * The part of EventBridge's pattern language the rules use, and so all the local
 * matcher implements: exact values. A rule that needs an operator (prefix,
 * anything-but, numeric, ...) widens this type and teaches host/bus/event-pattern.ts
 * the operator first, so both buses keep routing alike.
 */
export type PatternValue = string | number | boolean | null;

/** Fields to match: a list of values (any may match) or a nested pattern. */
export interface EventPattern {
  [field: string]: PatternValue[] | EventPattern;
}

export interface ConsumerRule {
  /** Stable id: the CDK construct id and the local subscriber name. */
  id: string;
  description: string;
  pattern: EventPattern;
}

export const CONSUMER_RULES = {
  courseValidation: {
    id: 'CourseValidation',
    description: 'RecordingAvailable -> course validation (FileUploadRequested or RecordingRejected)',
    pattern: { source: [EVENT_SOURCE], 'detail-type': [DetailType.RecordingAvailable] },
  },
  uploader: {
    id: 'Uploader',
    description: 'FileUploadRequested -> streaming upload to the archive',
    pattern: { source: [EVENT_SOURCE], 'detail-type': [DetailType.FileUploadRequested] },
  },
  subscribers: {
    id: 'Subscribers',
    description: 'every zoom-archiver event -> the outbox of each configured subscriber that asked for its detail-type (SQLite on one machine, SQS in the cloud)',
    pattern: { source: [EVENT_SOURCE] },
  },
  cleanup: {
    id: 'Cleanup',
    description: "RecordingArchived -> the recording's clean-up in Zoom is due after cleanup.delayHours (only deployed, and only acting, when cleanup.trashInZoom is not off)",
    pattern: { source: [EVENT_SOURCE], 'detail-type': [DetailType.RecordingArchived] },
  },
  audit: {
    id: 'Audit',
    description: 'every zoom-archiver event -> audit trail',
    pattern: { source: [EVENT_SOURCE] },
  },
} as const satisfies Record<string, ConsumerRule>;

export type ConsumerName = keyof typeof CONSUMER_RULES;
