/**
 * Helpers for the course-validation tests: turn the Zoom fixtures into the
 * RecordingAvailable events the webhook would publish (through the webhook's own
 * normalizer, so the tests see what production sees), wrap them as bus events, and
 * collect published events in memory.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventBridgeEvent } from 'aws-lambda';
import { TokenSealer } from '../../shared/crypto/token-seal';
import {
  DetailType,
  EVENT_SOURCE,
  type ParsedEvent,
  type RecordingAvailable,
} from '../../shared/events';
import type { AppLogger } from '../../shared/logger';
import { ConfigError } from '../../shared/errors';
import { normalizeRecording } from '../../shared/zoom/normalize';
import { RecordingPayloadSchema } from '../../services/webhook/zoom-payload';
import { loadZoomFixture, type ZoomFixtureName, type ZoomRecordingFixture } from '../support/fixtures';

export const RECORDING_FIXTURES = [
  'recording-completed',
  'recording-completed-multipart',
  'recording-completed-unicode',
  'recording-completed-not-course',
  'recording-transcript-completed',
] as const satisfies readonly ZoomFixtureName[];
export type RecordingFixtureName = (typeof RECORDING_FIXTURES)[number];

const sealer = new TokenSealer('course-validation-tests-sealing-secret');
export const RECEIVED_AT = new Date('2025-06-02T01:00:00.000Z');

/** The RecordingAvailable detail(s) the webhook publishes for a Zoom payload. */
export function recordingAvailableFrom(fixture: ZoomRecordingFixture, correlationId = 'corr-test-1'): RecordingAvailable[] {
  const trigger = fixture.event as RecordingAvailable['trigger'];
  return normalizeRecording(
    {
      trigger,
      payload: RecordingPayloadSchema.parse(fixture.payload),
      eventTs: fixture.event_ts,
      downloadToken: fixture.download_token,
      receivedAt: RECEIVED_AT,
      correlationId,
      causationId: `zoom:${fixture.payload.object.uuid}@${fixture.event_ts}`,
    },
    sealer,
  );
}

/** The single RecordingAvailable of a fixture (they all fit one event), optionally edited first. */
export function recordingFromFixture(
  name: RecordingFixtureName,
  edit: (fixture: ZoomRecordingFixture) => void = () => undefined,
): RecordingAvailable {
  const fixture = loadZoomFixture(name);
  edit(fixture);
  const [detail, ...rest] = recordingAvailableFrom(fixture);
  if (!detail || rest.length > 0) throw new Error(`${name} did not normalize to exactly one RecordingAvailable`);
  return detail;
}

export function parsedEvent(detail: RecordingAvailable, id = 'bus-event-1'): ParsedEvent<typeof DetailType.RecordingAvailable> {
  return { id, time: '2025-06-02T01:00:01Z', detailType: DetailType.RecordingAvailable, detail };
}

export function busEvent(detail: unknown, overrides: Partial<EventBridgeEvent<string, unknown>> = {}): EventBridgeEvent<string, unknown> {
  return {
    version: '0',
    id: 'bus-event-1',
    'detail-type': DetailType.RecordingAvailable,
    source: EVENT_SOURCE,
    account: '123456789012',
    time: '2025-06-02T01:00:01Z',
    region: 'eu-west-1',
    resources: [],
    detail,
    ...overrides,
  };
}

const CONFIG_FIXTURE_DIR = join(__dirname, '..', 'fixtures', 'course-validation');
export const configFixturePath = (name: string): string => join(CONFIG_FIXTURE_DIR, name);
export const readConfigFixture = (name: string): unknown => JSON.parse(readFileSync(configFixturePath(name), 'utf8'));

export const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: unknown;
  fields: Record<string, unknown>;
}

/** AppLogger that records lines, for tests that assert what operators are told. */
export function recordingLogger(): AppLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (message: unknown, ...extra: unknown[]) => {
      lines.push({ level, message, fields: Object.assign({}, ...extra.filter((e) => typeof e === 'object')) as Record<string, unknown> });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Runs `run` and returns the ConfigError it must throw (fails the test otherwise). */
export function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}
