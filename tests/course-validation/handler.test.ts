/**
 * The Lambda handler's parse path, without AWS: the module is loaded with a bus
 * name (clients are built but never called) and its exported parse-and-run
 * function is given EventBridge-shaped events and an in-memory publisher.
 */
import { MemoryPublisher } from '../support/memory-publisher';
import { parseArchiverConfig } from '../../services/course-validation/config';
import { ConfigError, EventEnvelopeError } from '../../shared/errors';
import { DetailType } from '../../shared/events';
import { busEvent, configFixturePath, recordingFromFixture, recordingLogger } from './support';

type HandlerModule = typeof import('../../services/course-validation/handler');

function loadHandler(env: Record<string, string | undefined>): HandlerModule {
  const saved = { ...process.env };
  Object.assign(process.env, { LOG_LEVEL: 'SILENT', AWS_REGION: 'eu-west-1' }, env);
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete process.env[name];
  try {
    let loaded: HandlerModule | undefined;
    jest.isolateModules(() => {
      loaded = require('../../services/course-validation/handler') as HandlerModule;
    });
    return loaded!;
  } finally {
    process.env = saved;
  }
}

describe('course-validation handler', () => {
  const { handleRecordingAvailable, handler } = loadHandler({ EVENT_BUS_NAME: 'test-bus', ARCHIVER_CONFIG: undefined });
  const deps = () => ({ config: parseArchiverConfig({}), publisher: new MemoryPublisher(), logger: recordingLogger() });

  it('exports the Lambda handler', () => {
    expect(typeof handler).toBe('function');
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
    // The handler module is loaded in isolation, so its error classes are its own copies: compare names.
    expect(error).toMatchObject({ name: EventEnvelopeError.name, retryable: false });
    expect(d.publisher.published).toEqual([]);
    const line = d.logger.lines.find((l) => l.level === 'error');
    expect(line?.fields).toMatchObject({ eventId: 'bus-event-1', detailType: DetailType.RecordingAvailable });
    expect(JSON.stringify(line)).not.toContain('sealedToken');
  });

  it('fails at load (cold start) on a bad ARCHIVER_CONFIG or a missing bus name', () => {
    expect(() => loadHandler({ EVENT_BUS_NAME: 'test-bus', ARCHIVER_CONFIG: configFixturePath('bad-time-zone.json') })).toThrow(
      /naming\.timeZone/,
    );
    expect(() => loadHandler({ EVENT_BUS_NAME: undefined })).toThrow(expect.objectContaining({ name: ConfigError.name }));
  });
});
