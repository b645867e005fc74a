/**
 * The clean-up's two Lambda handlers against real parts: the DynamoDB ledger table
 * (dynalite, made from the ledger adapter's own definition) holding both the ledger
 * entries and the `cleanup#…` items, the Zoom simulator over HTTP (its OAuth endpoint
 * and REST API, every DELETE recorded), the archive either in s3rver (a real object
 * put there) or a fake `{ head }`, the Zoom secret from a Secrets Manager stand-in,
 * and the MemoryPublisher in place of EventBridge.
 *
 * - createCleanupScheduleDeps + handleRecordingArchived: the consumer of RecordingArchived.
 * - createCleanupLambda + handleCleanupRun: the scheduled run, its deadline, its bootstrap.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { cleanupKey, DynamoDbCleanupSchedule } from '../../shared/adapters/cleanup-dynamodb';
import { DynamoDbUploadLedger, LEDGER_KEYS, ledgerTableDefinition } from '../../shared/adapters/ledger-dynamodb';
import { ConfigError } from '../../shared/errors';
import { DetailType, EVENT_SOURCE, SCHEMA_VERSIONS, startMetadata, type ArchiveLocation, type RecordingArchived } from '../../shared/events';
import { ledgerGroupKey } from '../../shared/ledger-group';
import { silentLogger, type AppLogger } from '../../shared/logger';
import type { ArchiveObjectInfo } from '../../shared/ports/archive-store';
import type { LedgerResult } from '../../shared/ports/upload-ledger';
import { CleanupRunError, createCleanupLambda, FINISH_MARGIN_MS, handleCleanupRun, type CleanupLambdaAdapters } from '../../services/cleanup/handler';
import { createCleanupScheduleDeps, handleRecordingArchived } from '../../services/cleanup/schedule-handler';
import { startDynalite, type DynaliteHandle } from '../support/dynalite';
import { MemoryPublisher } from '../support/memory-publisher';
import { startS3rver, type S3rverHandle } from '../support/s3rver';
import { startZoomSimulator, type SimulatedRecording, type ZoomSimulator } from '../support/zoom-simulator';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const COURSE = 'MAQ101';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:zoom-AbCdEf';
/** A fresh 15-minute invocation. */
const fresh: Pick<Context, 'getRemainingTimeInMillis'> = { getRemainingTimeInMillis: () => 15 * MINUTE };

let simulator: ZoomSimulator;
let dynalite: DynaliteHandle;
let s3: S3rverHandle;

beforeAll(async () => {
  [simulator, dynalite, s3] = await Promise.all([startZoomSimulator(), startDynalite(), startS3rver()]);
}, 30_000);
afterAll(async () => {
  await Promise.all([simulator?.stop(), dynalite?.stop(), s3?.stop()]);
});
afterEach(() => {
  simulator.refuseTrash(undefined);
});

type SecretsClient = NonNullable<CleanupLambdaAdapters['secretsManager']>;

/** Secrets Manager as the loader sees it: GetSecretValue answers the JSON of `secret()`. */
function secretsManager(secret: () => Record<string, string>): SecretsClient & { reads: number } {
  const client = {
    reads: 0,
    send: async () => {
      client.reads++;
      return { SecretString: JSON.stringify(secret()) };
    },
  };
  return client as unknown as SecretsClient & { reads: number };
}

const s2sSecret = () => ({
  ZOOM_ACCOUNT_ID: simulator.accountId,
  ZOOM_CLIENT_ID: simulator.clientId,
  ZOOM_CLIENT_SECRET: simulator.clientSecret,
  TOKEN_SEALING_SECRET: 'sealing-secret-value-0123456789',
});

interface Setup {
  tableName: string;
  clock: { now: number };
  now: () => Date;
  ledger: DynamoDbUploadLedger;
  schedule: DynamoDbCleanupSchedule;
  publisher: MemoryPublisher;
  logged: { level: string; message: string; data: unknown }[];
  logger: AppLogger;
  /** The environment of both Lambdas for these rules. */
  env(cleanup: Record<string, unknown> | undefined, extra?: Record<string, string>): Record<string, string>;
}

async function setup(): Promise<Setup> {
  const tableName = await dynalite.createTable(ledgerTableDefinition(dynalite.uniqueTableName('ledger')));
  const clock = { now: Date.UTC(2026, 2, 2, 9, 0, 0) };
  const logged: Setup['logged'] = [];
  const line = (level: string) => ((message: string, data?: unknown) => logged.push({ level, message, data })) as AppLogger['info'];
  return {
    tableName,
    clock,
    now: () => new Date(clock.now),
    ledger: new DynamoDbUploadLedger({ client: dynalite.client, tableName }),
    schedule: new DynamoDbCleanupSchedule({ client: dynalite.client, tableName }),
    publisher: new MemoryPublisher(),
    logged,
    logger: { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') },
    env: (cleanup, extra = {}) => ({
      LEDGER_TABLE_NAME: tableName,
      EVENT_BUS_NAME: 'zoom-archiver-bus',
      ARCHIVE_BUCKET: s3.bucket,
      ...(cleanup === undefined ? {} : { ARCHIVER_CONFIG_JSON: JSON.stringify({ cleanup }) }),
      ZOOM_SECRETS_ARN: SECRET_ARN,
      ZOOM_API_BASE_URL: simulator.apiBaseUrl,
      ZOOM_OAUTH_TOKEN_URL: simulator.oauthTokenUrl,
      ZOOM_API_REQUESTS_PER_SECOND: '50',
      ...extra,
    }),
  };
}

const ON = { trashInZoom: 'on', delayHours: 24 };

function locationOf(fileId: string): ArchiveLocation {
  const key = `courses/${COURSE}/2026-03-01/${fileId}.mp4`;
  return { kind: 's3', container: s3.bucket, key, uri: `s3://${s3.bucket}/${key}` };
}

/** A lesson in the simulator: an MP4 the rules select, the audio and the chat they do not. */
async function addLesson(uuid?: string): Promise<SimulatedRecording> {
  return simulator.addRecording({
    uuid,
    topic: '[MAQ101] Maqam Bayati — lesson 3',
    startTime: '2026-03-01T14:00:00Z',
    durationMinutes: 50,
    files: [{ fileType: 'MP4', size: 20_000 }, { fileType: 'M4A', size: 8_000 }, { fileType: 'CHAT', size: 300 }],
  });
}

/** The MP4 uploaded as the uploader records it: register → claim → complete. */
async function archiveMp4(s: Setup, lesson: SimulatedRecording): Promise<LedgerResult> {
  const mp4 = lesson.files.find((f) => f.fileType === 'MP4')!;
  await s.ledger.register({
    fileId: mp4.fileId,
    recordingId: lesson.uuid,
    groupKey: ledgerGroupKey(lesson.uuid, 0),
    groupSize: 1,
    course: COURSE,
    archiveKey: locationOf(mp4.fileId).key,
    expectedSize: mp4.size,
    now: s.clock.now,
  });
  expect((await s.ledger.claim(mp4.fileId, 'uploader-1', 10 * MINUTE, s.clock.now)).outcome).toBe('claimed');
  const result: LedgerResult = { size: mp4.size, checksum: { algorithm: 'sha256', value: await mp4.sha256() }, location: locationOf(mp4.fileId) };
  expect(await s.ledger.complete(mp4.fileId, 'uploader-1', result, s.clock.now)).toBe(true);
  return result;
}

/** RecordingArchived as EventBridge hands it to the consumer. */
function archivedEnvelope(lesson: SimulatedRecording, result: LedgerResult): EventBridgeEvent<string, unknown> {
  const mp4 = lesson.files.find((f) => f.fileType === 'MP4')!;
  const detail: RecordingArchived = {
    metadata: startMetadata({ schemaVersion: SCHEMA_VERSIONS[DetailType.RecordingArchived], idempotencyKey: `RecordingArchived:${lesson.uuid}#0`, causationId: 'uploader' }),
    recordingId: lesson.uuid,
    course: COURSE,
    part: { index: 0, count: 1 },
    files: [{ fileId: mp4.fileId, location: result.location, size: result.size, checksum: result.checksum }],
  };
  return {
    version: '0',
    id: `bus-${lesson.uuid}`,
    'detail-type': DetailType.RecordingArchived,
    source: EVENT_SOURCE,
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'eu-west-1',
    resources: [],
    detail,
  };
}

/** Every clean-up item of the table (raw). */
async function cleanupItems(tableName: string): Promise<Record<string, unknown>[]> {
  const { Items = [] } = await DynamoDBDocumentClient.from(dynalite.client).send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
  return Items.filter((item) => String(item[LEDGER_KEYS.partitionKey]).startsWith('cleanup#'));
}

const trashCallsFor = (uuid: string) => simulator.trashCalls().filter((call) => call.uuid === uuid);

/** Scheduled through the consumer Lambda at the setup's clock (due 24 h later). */
async function scheduled(s: Setup, lesson: SimulatedRecording, result: LedgerResult, cleanup: Record<string, unknown> = ON): Promise<void> {
  const deps = createCleanupScheduleDeps({ LEDGER_TABLE_NAME: s.tableName, ARCHIVER_CONFIG_JSON: JSON.stringify({ cleanup }) }, { dynamoDb: dynalite.client, logger: silentLogger, now: s.now });
  expect(await handleRecordingArchived(archivedEnvelope(lesson, result), deps)).toBe('scheduled');
}

describe('the schedule consumer (handleRecordingArchived)', () => {
  it('records the due time as a cleanup# item of the ledger table, 24 h after the event', async () => {
    const s = await setup();
    const lesson = await addLesson();
    const result = await archiveMp4(s, lesson);

    await scheduled(s, lesson, result);

    const items = await cleanupItems(s.tableName);
    expect(items).toEqual([expect.objectContaining({ [LEDGER_KEYS.partitionKey]: cleanupKey(lesson.uuid), recordingId: lesson.uuid, course: COURSE, state: 'scheduled', dueAt: s.clock.now + 24 * HOUR })]);
  });

  it('with trashInZoom "off" (explicitly, or by default) writes nothing to the table', async () => {
    const s = await setup();
    const lesson = await addLesson();
    const result = await archiveMp4(s, lesson);
    for (const env of [
      { LEDGER_TABLE_NAME: s.tableName, ARCHIVER_CONFIG_JSON: JSON.stringify({ cleanup: { trashInZoom: 'off' } }) },
      { LEDGER_TABLE_NAME: s.tableName },
    ]) {
      const deps = createCleanupScheduleDeps(env, { dynamoDb: dynalite.client, logger: silentLogger, now: s.now });
      expect(await handleRecordingArchived(archivedEnvelope(lesson, result), deps)).toBe('off');
    }

    expect(await cleanupItems(s.tableName)).toEqual([]);
    // The ledger entry is all the table holds.
    const { Items = [] } = await DynamoDBDocumentClient.from(dynalite.client).send(new ScanCommand({ TableName: s.tableName }));
    expect(Items.map((item) => item.state)).toEqual(['uploaded']);
  });

  it('refuses a detail that breaks its contract (so EventBridge retries and dead-letters it), and another detail-type', async () => {
    const s = await setup();
    const deps = createCleanupScheduleDeps({ LEDGER_TABLE_NAME: s.tableName, ARCHIVER_CONFIG_JSON: JSON.stringify({ cleanup: ON }) }, { dynamoDb: dynalite.client, logger: silentLogger });
    const lesson = await addLesson();
    const good = archivedEnvelope(lesson, { size: 1, checksum: { algorithm: 'sha256', value: 'a'.repeat(64) }, location: locationOf('x') });

    await expect(handleRecordingArchived({ ...good, detail: { ...(good.detail as object), course: '' } }, deps)).rejects.toThrow(/invalid RecordingArchived detail/);
    await expect(handleRecordingArchived({ ...good, 'detail-type': DetailType.FileUploaded }, deps)).rejects.toThrow(/unexpected detail-type/);
    expect(await cleanupItems(s.tableName)).toEqual([]);
  });

  it('names a missing LEDGER_TABLE_NAME and a bad cleanup field at once', () => {
    expect(() => createCleanupScheduleDeps({}, { dynamoDb: dynalite.client })).toThrow(ConfigError);
    expect(() => createCleanupScheduleDeps({}, { dynamoDb: dynalite.client })).toThrow(/LEDGER_TABLE_NAME: is required/);
    expect(() => createCleanupScheduleDeps({ LEDGER_TABLE_NAME: 't', ARCHIVER_CONFIG_JSON: '{"cleanup":{"delayHours":-1}}' }, { dynamoDb: dynalite.client })).toThrow(
      /ARCHIVER_CONFIG_JSON: cleanup\.delayHours: must be 0 or more/,
    );
  });
});

describe('the clean-up run (handleCleanupRun)', () => {
  it('s3rver holding the object: exactly one DELETE action=trash, RecordingTrashedInZoom published, the item trashed; a second run does nothing', async () => {
    const s = await setup();
    // A UUID that Zoom wants double-encoded (starts with `/`, holds `//`).
    const lesson = await addLesson('/cLeAnUp//TeSt+1==');
    const result = await archiveMp4(s, lesson);
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: result.location.key, Body: Buffer.alloc(result.size, 7) }));
    await scheduled(s, lesson, result);
    const secrets = secretsManager(s2sSecret);
    const deps = await createCleanupLambda(s.env(ON), { dynamoDb: dynalite.client, s3: s3.client, publisher: s.publisher, secretsManager: secrets, logger: s.logger, now: s.now })();
    expect(secrets.reads).toBe(1);

    // Not due yet: nothing asked of Zoom.
    s.clock.now += 24 * HOUR - 1;
    const before = simulator.apiStats().byRoute.meeting_recordings;
    expect(await handleCleanupRun(fresh, deps)).toEqual({ outcomes: {}, results: [] });
    expect(simulator.apiStats().byRoute.meeting_recordings).toBe(before);

    s.clock.now += 1;
    const answer = await handleCleanupRun(fresh, deps);

    expect(answer.outcomes).toEqual({ trashed: 1 });
    expect(answer.results).toEqual([{ recordingId: lesson.uuid, course: COURSE, outcome: 'trashed', archivedFiles: 1, otherFiles: 2, note: undefined }]);
    expect(trashCallsFor(lesson.uuid)).toEqual([{ uuid: lesson.uuid, action: 'trash', status: 204 }]);
    expect(simulator.trashedRecordings()).toContain(lesson.uuid);
    expect(simulator.permanentlyDeleted()).toEqual([]);
    const [event, ...more] = s.publisher.ofType(DetailType.RecordingTrashedInZoom);
    expect(more).toEqual([]);
    expect(s.publisher.published).toHaveLength(1);
    expect(event).toMatchObject({ recordingId: lesson.uuid, course: COURSE, outcome: 'trashed', archivedFiles: [{ fileId: lesson.files[0]!.fileId, location: result.location, size: 20_000, checksum: result.checksum }] });
    expect(event!.otherFiles.map((f) => f.fileType).sort()).toEqual(['CHAT', 'M4A']);
    expect(await s.schedule.get(lesson.uuid)).toMatchObject({ state: 'trashed', outcome: 'trashed' });

    s.clock.now += HOUR;
    expect(await handleCleanupRun(fresh, deps)).toEqual({ outcomes: {}, results: [] });
    expect(trashCallsFor(lesson.uuid)).toHaveLength(1);
    expect(s.publisher.published).toHaveLength(1);
    expect(s.logged.some((line) => line.message === 'clean-up run')).toBe(true);
  });

  it('s3rver holding another size than the ledger recorded: held, no DELETE', async () => {
    const s = await setup();
    const lesson = await addLesson();
    const result = await archiveMp4(s, lesson);
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: result.location.key, Body: Buffer.alloc(result.size - 1) }));
    await scheduled(s, lesson, result);
    const deps = await createCleanupLambda(s.env(ON), { dynamoDb: dynalite.client, s3: s3.client, publisher: s.publisher, secretsManager: secretsManager(s2sSecret), logger: silentLogger, now: s.now })();
    s.clock.now += 24 * HOUR;

    const answer = await handleCleanupRun(fresh, deps);

    expect(answer.outcomes).toEqual({ held: 1 });
    expect(answer.results[0]!.note).toMatch(new RegExp(`holds ${result.size - 1} bytes, the ledger recorded ${result.size}`));
    expect(trashCallsFor(lesson.uuid)).toEqual([]);
    expect(await s.schedule.get(lesson.uuid)).toMatchObject({ state: 'held' });
  });

  it('dry run through the Lambda: RecordingWouldBeTrashed, the item would_trash, no DELETE', async () => {
    const s = await setup();
    const lesson = await addLesson();
    const result = await archiveMp4(s, lesson);
    const dryRun = { trashInZoom: 'dry-run', delayHours: 24 };
    await scheduled(s, lesson, result, dryRun);
    const head = async (): Promise<ArchiveObjectInfo> => ({ size: result.size, metadata: {} });
    const deps = await createCleanupLambda(s.env(dryRun), { dynamoDb: dynalite.client, archive: { head }, publisher: s.publisher, secretsManager: secretsManager(s2sSecret), logger: silentLogger, now: s.now })();
    s.clock.now += 24 * HOUR;

    expect((await handleCleanupRun(fresh, deps)).outcomes).toEqual({ would_trash: 1 });
    expect(s.publisher.published.map((e) => e.detailType)).toEqual([DetailType.RecordingWouldBeTrashed]);
    expect(trashCallsFor(lesson.uuid)).toEqual([]);
    expect(await s.schedule.get(lesson.uuid)).toMatchObject({ state: 'would_trash' });
  });

  it('Zoom refusing the trash (missing scope 4711): the run fails naming the scope (never the OAuth token or the client secret), and heals once the scope is granted', async () => {
    const s = await setup();
    const lesson = await addLesson();
    const result = await archiveMp4(s, lesson);
    await scheduled(s, lesson, result);
    simulator.refuseTrash(4711);
    const head = async (): Promise<ArchiveObjectInfo> => ({ size: result.size, metadata: {} });
    const deps = await createCleanupLambda(s.env(ON), { dynamoDb: dynalite.client, archive: { head }, publisher: s.publisher, secretsManager: secretsManager(s2sSecret), logger: s.logger, now: s.now })();
    s.clock.now += 24 * HOUR;
    const due = s.clock.now;

    const error = (await handleCleanupRun(fresh, deps).catch((e: unknown) => e)) as CleanupRunError;

    expect(error).toBeInstanceOf(CleanupRunError);
    expect(error.message).toMatch(/^clean-up run: 1 recording\(s\) failed, e\.g\. .*: not trashed \(Zoom refused DELETE .*cloud_recording:delete:meeting_recording:admin/);
    expect(trashCallsFor(lesson.uuid)).toEqual([{ uuid: lesson.uuid, action: 'trash', status: 400 }]);
    expect(simulator.trashedRecordings()).not.toContain(lesson.uuid);
    const stored = await s.schedule.get(lesson.uuid);
    expect(stored).toMatchObject({ state: 'scheduled', attempts: 1, dueAt: due + 5 * MINUTE, note: expect.stringContaining('cloud_recording:delete:meeting_recording:admin') });
    for (const text of [error.message, JSON.stringify(s.logged), JSON.stringify(stored)]) {
      expect(text).not.toContain(simulator.clientSecret);
      expect(text).not.toMatch(/sim-oauth\.|Bearer/);
    }
    expect(s.publisher.published).toEqual([]);

    // The operator grants the scope (a new token carries it); the next run after the back-off trashes it.
    simulator.refuseTrash(undefined);
    simulator.revokeOAuthTokens();
    s.clock.now = due + 5 * MINUTE;
    const answer = await handleCleanupRun(fresh, deps);
    expect(answer.outcomes).toEqual({ trashed: 1 });
    expect(trashCallsFor(lesson.uuid).map((call) => call.status)).toEqual([400, 204]);
    expect(s.publisher.ofType(DetailType.RecordingTrashedInZoom)).toHaveLength(1);
  });

  it('the deadline: with less than the margin left, nothing is claimed and Zoom is not asked', async () => {
    const s = await setup();
    const lesson = await addLesson();
    const result = await archiveMp4(s, lesson);
    await scheduled(s, lesson, result);
    const deps = await createCleanupLambda(s.env(ON), { dynamoDb: dynalite.client, archive: { head: async () => ({ size: result.size, metadata: {} }) }, publisher: s.publisher, secretsManager: secretsManager(s2sSecret), logger: silentLogger, now: s.now })();
    s.clock.now += 24 * HOUR;
    const gets = simulator.apiStats().byRoute.meeting_recordings;

    const answer = await handleCleanupRun({ getRemainingTimeInMillis: () => FINISH_MARGIN_MS - 1 }, deps);

    expect(answer).toEqual({ outcomes: {}, results: [] });
    expect(await s.schedule.get(lesson.uuid)).toMatchObject({ state: 'scheduled', version: 1 });
    expect(simulator.apiStats().byRoute.meeting_recordings).toBe(gets);
    expect(trashCallsFor(lesson.uuid)).toEqual([]);

    // With time left, the next invocation takes it.
    expect((await handleCleanupRun({ getRemainingTimeInMillis: () => FINISH_MARGIN_MS + 1 }, deps)).outcomes).toEqual({ trashed: 1 });
  });
});

describe('createCleanupLambda (the bootstrap)', () => {
  it('names a missing LEDGER_TABLE_NAME (and the other required variables) in a ConfigError', () => {
    const attempt = (env: Record<string, string>) => {
      try {
        createCleanupLambda(env, { dynamoDb: dynalite.client, publisher: new MemoryPublisher(), logger: silentLogger });
      } catch (error) {
        return error;
      }
      throw new Error('expected a ConfigError');
    };
    const { LEDGER_TABLE_NAME: _omitted, ...withoutTable } = { LEDGER_TABLE_NAME: 't', EVENT_BUS_NAME: 'bus', ARCHIVE_BUCKET: 'b', ...s2sSecret() };
    const error = attempt(withoutTable) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.variables).toEqual(['LEDGER_TABLE_NAME']);
    expect(error.message).toBe('LEDGER_TABLE_NAME: is required');

    const none = attempt({}) as ConfigError;
    expect(none.variables).toEqual(expect.arrayContaining(['LEDGER_TABLE_NAME', 'EVENT_BUS_NAME', 'ARCHIVE_BUCKET']));
  });

  it('refuses a secret without the Server-to-Server keys, naming them, never their values; works once they are filled in', async () => {
    const s = await setup();
    let secret: Record<string, string> = { ZOOM_ACCOUNT_ID: simulator.accountId, TOKEN_SEALING_SECRET: 'sealing-secret-value-0123456789' };
    const secrets = secretsManager(() => secret);
    const load = createCleanupLambda(s.env(ON), { dynamoDb: dynalite.client, publisher: s.publisher, secretsManager: secrets, logger: silentLogger, now: s.now });

    const error = (await load().catch((e: unknown) => e)) as ConfigError;

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.variables).toEqual(['ZOOM_CLIENT_ID', 'ZOOM_CLIENT_SECRET']);
    expect(error.message).toMatch(/Server-to-Server OAuth app .*missing ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET$/);
    expect(error.message).not.toMatch(new RegExp(`${simulator.accountId}|sealing-secret-value`));

    secret = s2sSecret();
    const deps = await load();
    expect(secrets.reads).toBe(2);
    expect(deps.rules.cleanup.trashInZoom).toBe('on');
    expect(typeof deps.zoom.trashRecording).toBe('function');
  });

  it('without ZOOM_SECRETS_ARN: an environment without the keys is refused at once, naming all three', () => {
    const s = { env: { LEDGER_TABLE_NAME: 't', EVENT_BUS_NAME: 'bus', ARCHIVE_BUCKET: 'b', ZOOM_WEBHOOK_SECRET_TOKEN: 'webhook-secret-value' } };
    const error = (() => {
      try {
        createCleanupLambda(s.env, { dynamoDb: dynalite.client, publisher: new MemoryPublisher(), logger: silentLogger });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.variables).toEqual(['ZOOM_ACCOUNT_ID', 'ZOOM_CLIENT_ID', 'ZOOM_CLIENT_SECRET']);
    expect(error.message).not.toContain('webhook-secret-value');
  });

  it('refuses bad clean-up rules naming the field', () => {
    expect(() =>
      createCleanupLambda({ LEDGER_TABLE_NAME: 't', EVENT_BUS_NAME: 'bus', ARCHIVE_BUCKET: 'b', ARCHIVER_CONFIG_JSON: '{"cleanup":{"trashInZoom":"yes"}}', ...s2sSecret() }, { dynamoDb: dynalite.client, publisher: new MemoryPublisher(), logger: silentLogger }),
    ).toThrow(/ARCHIVER_CONFIG_JSON: cleanup\.trashInZoom: expected "off", "dry-run" or "on"/);
  });
});
