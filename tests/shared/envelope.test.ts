import { core } from 'zod/mini';
import { EventEnvelopeError } from '../../shared/errors';
import { ALL_DETAIL_TYPES, DetailSchemas, DetailType, EVENT_SOURCE, parseEvent } from '../../shared/events';

const rejected = {
  metadata: { schemaVersion: 1, correlationId: 'c', causationId: 'k', idempotencyKey: 'i' },
  recordingId: 'r',
  meetingId: '1',
  topic: 't',
  reason: 'not_course_meeting',
  explanation: 'no course code in the topic',
};
const busEvent = (overrides: Record<string, unknown> = {}) => ({
  id: 'evt-1',
  time: '2026-11-27T10:00:00Z',
  source: EVENT_SOURCE,
  'detail-type': DetailType.RecordingRejected,
  detail: rejected,
  ...overrides,
});

describe('event envelope', () => {
  it('has one schema per detail-type, each requiring metadata', () => {
    expect(Object.keys(DetailSchemas).sort()).toEqual([...ALL_DETAIL_TYPES].sort());
    for (const schema of Object.values(DetailSchemas)) {
      expect(schema.safeParse({}).success).toBe(false);
    }
  });

  it('parses a valid detail and keeps id and time', () => {
    const parsed = parseEvent(busEvent(), DetailType.RecordingRejected);
    expect(parsed).toEqual({ id: 'evt-1', time: '2026-11-27T10:00:00Z', detailType: DetailType.RecordingRejected, detail: rejected });
  });

  it('throws a typed error with the Zod error as cause for an invalid detail', () => {
    const attempt = () => parseEvent(busEvent({ detail: { ...rejected, reason: 'because' } }), DetailType.RecordingRejected);
    expect(attempt).toThrow(EventEnvelopeError);
    try {
      attempt();
    } catch (error) {
      expect((error as EventEnvelopeError).cause).toBeInstanceOf(core.$ZodError);
      expect((error as EventEnvelopeError).retryable).toBe(false);
      expect((error as EventEnvelopeError).message).toMatch(/reason/);
    }
  });

  it.each([
    ['another source', { source: 'aws.s3' }, /unexpected event source/],
    ['another detail-type', { 'detail-type': DetailType.FileUploaded }, /unexpected detail-type/],
    ['an unknown schema version', { detail: { ...rejected, metadata: { ...rejected.metadata, schemaVersion: 2 } } }, /schemaVersion/],
  ])('refuses %s', (_name, overrides, message) => {
    expect(() => parseEvent(busEvent(overrides), DetailType.RecordingRejected)).toThrow(message);
  });
});
