/**
 * The Lambda handler of course validation, without AWS: its bootstrap
 * (createCourseValidationDeps) with an in-memory publisher, given EventBridge
 * envelopes of the RecordingAvailable the webhook publishes for the Zoom fixtures; and
 * the exported handler's cold start, which reports configuration problems by name.
 */
import { MemoryPublisher } from '../support/memory-publisher';
import { parseArchiverConfig } from '../../services/course-validation/config';
import { createCourseValidationDeps, handleRecordingAvailable, handler } from '../../services/course-validation/handler';
import { ConfigError, EventEnvelopeError } from '../../shared/errors';
import { DetailType } from '../../shared/events';
import { busEvent, configFixturePath, recordingFromFixture, recordingLogger } from './support';

describe('course-validation handler', () => {
  const deps = () => ({ config: parseArchiverConfig({}), publisher: new MemoryPublisher(), logger: recordingLogger() });

  describe('cold start', () => {
    const saved = { ...process.env };
    afterEach(() => {
      process.env = { ...saved };
    });

    it('the exported handler builds nothing at import and refuses, at every invocation, to run without EVENT_BUS_NAME', async () => {
      delete process.env.EVENT_BUS_NAME;
      const event = busEvent(recordingFromFixture('recording-completed'));

      const error = await handler(event, {}).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toBe('EVENT_BUS_NAME: is required');
      expect((error as ConfigError).variables).toEqual(['EVENT_BUS_NAME']);
      await expect(handler(event, {})).rejects.toThrow('EVENT_BUS_NAME: is required');
    });

    it('refuses bad rules, naming the field', async () => {
      process.env = { ...saved, EVENT_BUS_NAME: 'test-bus', ARCHIVER_CONFIG: configFixturePath('bad-time-zone.json') };
      await expect(handler(busEvent(recordingFromFixture('recording-completed')), {})).rejects.toThrow(/naming\.timeZone/);
      expect(() => createCourseValidationDeps({ EVENT_BUS_NAME: 'test-bus', ARCHIVER_CONFIG: configFixturePath('bad-time-zone.json') })).toThrow(ConfigError);
    });
  });

  it('bootstraps the rules from ARCHIVER_CONFIG_JSON, as the stack passes them, and publishes through the given publisher', async () => {
    const publisher = new MemoryPublisher();
    const inline = JSON.stringify({ naming: { template: 'inline/{course}/{recordingType}_{instance}.{ext}' } });
    const built = createCourseValidationDeps({ EVENT_BUS_NAME: 'test-bus', ARCHIVER_CONFIG_JSON: inline }, { publisher, logger: recordingLogger() });
    const detail = JSON.parse(JSON.stringify(recordingFromFixture('recording-completed'))) as unknown;

    await handleRecordingAvailable(busEvent(detail, { id: 'evt-7' }), built);

    const requested = publisher.ofType(DetailType.FileUploadRequested);
    expect(requested).toHaveLength(2);
    for (const request of requested) expect(request.archiveKey).toMatch(/^inline\/MAQ101\/[a-z_]+_[0-9a-f]{8}\.mp4$/);
    expect(requested[0]!.metadata.causationId).toBe('evt-7');
    // Without either variable the built-in rules apply.
    const defaults = createCourseValidationDeps({ EVENT_BUS_NAME: 'test-bus' }, { publisher: new MemoryPublisher(), logger: recordingLogger() });
    expect(defaults.config.source).toBe('defaults');
  });

  it('parses a RecordingAvailable bus event and runs the use case', async () => {
    const d = deps();
    const detail = JSON.parse(JSON.stringify(recordingFromFixture('recording-completed'))) as unknown;
    const events = await handleRecordingAvailable(busEvent(detail, { id: 'evt-42' }), d);
    expect(events.map((e) => e.detailType)).toEqual([DetailType.FileUploadRequested, DetailType.FileUploadRequested]);
    expect(d.publisher.published).toEqual(events);
    expect(d.publisher.ofType(DetailType.FileUploadRequested)[0]!.metadata.causationId).toBe('evt-42');
  });

  it.each([
    ['another source', { source: 'aws.s3' }, /unexpected event source/],
    ['another detail-type', { 'detail-type': DetailType.FileUploaded }, /unexpected detail-type/],
  ])('refuses %s', async (_case, overrides, message) => {
    const d = deps();
    const detail = recordingFromFixture('recording-completed');
    await expect(handleRecordingAvailable(busEvent(detail, overrides), d)).rejects.toThrow(message);
    expect(d.publisher.published).toEqual([]);
  });

  it('refuses a detail that breaks the contract, logs it without the payload, publishes nothing', async () => {
    const d = deps();
    const detail = { ...recordingFromFixture('recording-completed'), recordingId: '' };
    const error = await handleRecordingAvailable(busEvent(detail), d).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventEnvelopeError);
    expect(error).toMatchObject({ retryable: false });
    expect(d.publisher.published).toEqual([]);
    const line = d.logger.lines.find((l) => l.level === 'error');
    expect(line?.fields).toMatchObject({ eventId: 'bus-event-1', detailType: DetailType.RecordingAvailable });
    expect(JSON.stringify(line)).not.toContain('sealedToken');
  });
});
