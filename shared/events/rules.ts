/**
 * Who consumes what: one EventBridge event pattern per consumer, defined once. The
 * CDK stack turns each into a rule on the bus; the single-machine bus routes with the
 * same patterns through its matcher. No pattern is written anywhere else.
 */
import { DetailType, EVENT_SOURCE } from './names';

/** The subset of EventBridge's pattern language our rules and the local matcher share. */
export type PatternValue =
  | string
  | number
  | boolean
  | null
  | { prefix: string | { 'equals-ignore-case': string } }
  | { suffix: string | { 'equals-ignore-case': string } }
  | { 'equals-ignore-case': string }
  | { wildcard: string }
  | {
      'anything-but':
        | string
        | number
        | (string | number)[]
        | { prefix: string | string[] }
        | { suffix: string | string[] }
        | { wildcard: string | string[] }
        | { 'equals-ignore-case': string | string[] };
    }
  | { numeric: (string | number)[] }
  | { exists: boolean }
  | { cidr: string };

export interface EventPattern {
  [field: string]: PatternValue[] | EventPattern | EventPattern[];
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
  audit: {
    id: 'Audit',
    description: 'every zoom-archiver event -> audit trail',
    pattern: { source: [EVENT_SOURCE] },
  },
} as const satisfies Record<string, ConsumerRule>;

export type ConsumerName = keyof typeof CONSUMER_RULES;
