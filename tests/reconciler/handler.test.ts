/**
 * The reconciler's Lambda handler: what it makes of its two inputs (the schedule's
 * event: a sweep over the look-back; a direct invocation: a backfill, validated before
 * anything is listed), the deadline taken from the invocation's remaining time and the
 * `remaining` range it answers with, and what it answers (the run's record, without
 * the per-recording list). The use case runs for real over fake ports (a Zoom listing
 * that cuts the range into month windows, an in-memory ledger and memory, a
 * MemoryPublisher) with a fake clock.
 *
 * Also the bootstrap (createReconcilerLambda): the environment and the course rules
 * checked at once, the Zoom secret refused without the Server-to-Server OAuth app (keys
 * named, values never), and once wired end to end over the real adapters — the Zoom
 * simulator's REST API and OAuth, the DynamoDB ledger and reconciler memory (dynalite).
 */
import type { Context } from 'aws-lambda';
import { ledgerTableDefinition, LEDGER_KEYS } from '../../shared/adapters/ledger-dynamodb';
import { reconcilerRejectionKey } from '../../shared/adapters/reconciler-state-dynamodb';
import { monthWindows } from '../../shared/adapters/zoom-api';
import { GetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConfigError } from '../../shared/errors';
import { DetailType } from '../../shared/events';
import { silentLogger, type AppLogger } from '../../shared/logger';
import type { ReconcilerState, RememberedRejection } from '../../shared/ports/reconciler-state';
import type { LedgerEntry, UploadLedger } from '../../shared/ports/upload-ledger';
import type { DateRange, ListOptions, RecordingPage, ZoomRecordingsApi } from '../../shared/ports/zoom-api';
import type { ZoomRecordingObject } from '../../shared/zoom/recording';
import { parseArchiverConfig } from '../../services/course-validation/config';
import { sweepRange } from '../../services/reconciler/config';
import {
  createReconcilerLambda,
  FINISH_MARGIN_MS,
  handleReconcile,
  handler,
  ReconcileInputError,
  type ReconcilerLambdaDeps,
} from '../../services/reconciler/handler';
import { startZoomSimulator, zoomEnvFor, type ZoomSimulator } from '../../tools/zoom-simulator/simulator';
import { startDynalite, type DynaliteHandle } from '../support/dynalite';
import { loadZoomFixture, scheduledEvent } from '../support/fixtures';
import { MemoryPublisher } from '../support/memory-publisher';

const MINUTES = 60_000;
const T0 = Date.UTC(2026, 6, 1, 8, 0, 0); // 2026-07-01T08:00Z
/** What Lambda says is left of a fresh 15-minute invocation. */
const fresh = { getRemainingTimeInMillis: () => 15 * MINUTES } as Pick<Context, 'getRemainingTimeInMillis'>;

/** The event the schedule rule sends. */
const scheduled = (time: number) => scheduledEvent(time, 'ZoomArchiver-ReconciliationRule');

/** A course lesson (the fixture's MAQ101 recording) on `date`, with its own ids. */
function lesson(date: string, n: number): ZoomRecordingObject {
  const object = structuredClone(loadZoomFixture('recording-completed').payload.object) as unknown as ZoomRecordingObject;
  return {
    ...object,
    uuid: `lesson-${n}==`,
    id: 900_000 + n,
    start_time: `${date}T14:00:00Z`,
    recording_files: object.recording_files.map((file) => ({ ...file, id: file.id ? `${file.id}-${n}` : undefined })),
  };
}
function staffMeeting(date: string): ZoomRecordingObject {
  const object = structuredClone(loadZoomFixture('recording-completed-not-course').payload.object) as unknown as ZoomRecordingObject;
  return { ...object, start_time: `${date}T15:00:00Z` };
}

/**
 * Zoom's listing as the reconciler sees it: the range in month windows (the real
 * adapter's cut), one page each. `onPage` runs before each page is handed out (the
 * fake clock moves there); `hang` makes the first page wait until the run is aborted.
 */
class FakeZoomApi implements ZoomRecordingsApi {
  readonly listed: DateRange[] = [];
  private calls = 0;
  hang = false;
  constructor(
    private readonly recordings: ZoomRecordingObject[],
    private readonly onPage: () => void = () => undefined,
  ) {}

  async *listRecordings(range: DateRange, options: ListOptions = {}): AsyncGenerator<RecordingPage> {
    this.listed.push(range);
    for (const window of monthWindows(range)) {
      this.calls++;
      if (this.hang) {
        await new Promise((_resolve, reject) => options.signal?.addEventListener('abort', () => reject(options.signal!.reason as Error)));
      }
      this.onPage();
      const recordings = this.recordings.filter((r) => r.start_time.slice(0, 10) >= window.from && r.start_time.slice(0, 10) <= window.to);
      yield { window, listing: 'account', pageNumber: 1, recordings };
    }
  }
  async getRecording(): Promise<undefined> {
    return undefined;
  }
  stats() {
    return { calls: this.calls, rateLimited: 0, retries: 0, pacedMs: 0 };
  }
}

class MemoryState implements ReconcilerState {
  readonly rejections = new Map<string, RememberedRejection>();
  async rejection(recordingId: string) {
    return this.rejections.get(recordingId);
  }
  async rememberRejection(entry: RememberedRejection) {
    this.rejections.set(entry.recordingId, entry);
  }
  async forgetRejection(recordingId: string) {
    this.rejections.delete(recordingId);
  }
}

interface Harness {
  deps: ReconcilerLambdaDeps;
  api: FakeZoomApi;
  publisher: MemoryPublisher;
  state: MemoryState;
  ledgerEntries: Map<string, Pick<LedgerEntry, 'state'>>;
  logged: { message: string; data: unknown }[];
  clock: { now: number };
}

function harness(recordings: ZoomRecordingObject[], options: { minutesPerPage?: number; lookbackDays?: number } = {}): Harness {
  const clock = { now: T0 };
  const api = new FakeZoomApi(recordings, () => {
    clock.now += (options.minutesPerPage ?? 0) * MINUTES;
  });
  const publisher = new MemoryPublisher();
  const state = new MemoryState();
  const ledgerEntries = new Map<string, Pick<LedgerEntry, 'state'>>();
  const ledger: Pick<UploadLedger, 'get'> = { get: async (fileId) => ledgerEntries.get(fileId) as LedgerEntry | undefined };
  const logged: Harness['logged'] = [];
  const logger: AppLogger = { ...silentLogger, info: ((message: string, data: unknown) => logged.push({ message, data })) as AppLogger['info'] };
  const deps: ReconcilerLambdaDeps = {
    api,
    ledger,
    state,
    rules: parseArchiverConfig({}),
    publisher,
    logger,
    now: () => new Date(clock.now),
    lookbackDays: options.lookbackDays ?? 3,
  };
  return { deps, api, publisher, state, ledgerEntries, logged, clock };
}

describe('the schedule\'s event: a sweep', () => {
  it('lists the look-back and today, hands over what the ledger lacks with trigger sweep, and records the run', async () => {
    const h = harness([lesson('2026-06-29', 1), lesson('2026-06-20', 2)], { lookbackDays: 3 });

    const answer = await handleReconcile(scheduled(T0), fresh, h.deps);

    expect(h.api.listed).toEqual([sweepRange(new Date(T0), 3)]);
    expect(h.api.listed).toEqual([{ from: '2026-06-28', to: '2026-07-01' }]);
    const available = h.publisher.ofType(DetailType.RecordingAvailable);
    expect(available.map((r) => [r.recordingId, r.trigger])).toEqual([['lesson-1==', 'sweep']]);
    expect(available[0]!.reconciliation?.runId).toBe(answer.runId);
    const [completed, ...more] = h.publisher.ofType(DetailType.ReconciliationCompleted);
    expect(more).toEqual([]);
    expect(completed).toMatchObject({ runId: answer.runId, trigger: 'sweep', from: '2026-06-28', to: '2026-07-01', recordingsFound: 1, recordingsHandedOver: 1 });
    // The answer: the run's record and nothing per recording.
    expect(Object.keys(answer).sort()).toEqual(['dryRun', 'remaining', 'runId', 'summary', 'trigger']);
    expect(answer).toMatchObject({ trigger: 'sweep', dryRun: false, remaining: undefined });
    expect(answer.summary).toMatchObject({ runId: answer.runId, recordingsFound: 1, filesRequested: completed!.filesRequested, errors: [] });
    expect(h.logged.find((line) => line.message === 'reconciler invocation')?.data).toMatchObject({ runId: answer.runId, scheduleEventId: `sched-${T0}` });
  });

  it('asks for nothing the ledger already has, and hands a rejected recording over once', async () => {
    const archived = lesson('2026-06-30', 3);
    const h = harness([archived, staffMeeting('2026-06-30')]);
    for (const file of archived.recording_files) if (file.id) h.ledgerEntries.set(file.id, { state: 'uploaded' });

    const first = await handleReconcile(scheduled(T0), fresh, h.deps);
    expect(first.summary).toMatchObject({ recordingsFound: 2, recordingsHandedOver: 1, filesRequested: 0, recordingsRejected: 1 });
    expect(h.publisher.ofType(DetailType.RecordingAvailable).map((r) => r.recordingId)).toEqual(['NoTcOuRsE==']);
    expect(first.summary.filesAlreadyArchived).toBeGreaterThan(0);

    const second = await handleReconcile(scheduled(T0 + 60 * MINUTES), fresh, h.deps);
    expect(second.summary).toMatchObject({ recordingsFound: 2, recordingsHandedOver: 0, recordingsRejected: 1 });
    expect(h.publisher.ofType(DetailType.RecordingAvailable)).toHaveLength(1);
  });
});

describe('a direct invocation: a backfill', () => {
  it('lists exactly the range asked for and hands over with trigger backfill', async () => {
    const h = harness([lesson('2026-01-15', 1), lesson('2026-03-02', 2), lesson('2026-07-01', 3)]);

    const answer = await handleReconcile({ from: '2026-01-01', to: '2026-03-31' }, fresh, h.deps);

    expect(h.api.listed).toEqual([{ from: '2026-01-01', to: '2026-03-31' }]);
    expect(answer).toMatchObject({ trigger: 'backfill', dryRun: false, remaining: undefined });
    expect(answer.summary).toMatchObject({ from: '2026-01-01', to: '2026-03-31', windows: 3, pages: 3, recordingsFound: 2, recordingsHandedOver: 2 });
    expect(h.publisher.ofType(DetailType.RecordingAvailable).map((r) => [r.recordingId, r.trigger])).toEqual([
      ['lesson-1==', 'backfill'],
      ['lesson-2==', 'backfill'],
    ]);
    expect(h.publisher.ofType(DetailType.ReconciliationCompleted)).toHaveLength(1);
  });

  it('dry run: lists and counts, publishes and remembers nothing, logs each recording (no topic, no host)', async () => {
    const h = harness([lesson('2026-02-03', 1), staffMeeting('2026-02-04')]);

    const answer = await handleReconcile({ from: '2026-02-01', to: '2026-02-28', dryRun: true }, fresh, h.deps);

    expect(answer).toMatchObject({ trigger: 'backfill', dryRun: true });
    expect(answer.summary).toMatchObject({ recordingsFound: 2, recordingsHandedOver: 0, recordingsRejected: 1 });
    expect(answer.summary.filesRequested).toBeGreaterThan(0);
    expect(h.publisher.published).toEqual([]);
    expect(h.state.rejections.size).toBe(0);
    const lines = h.logged.filter((line) => line.message === 'dry run: recording examined').map((line) => line.data as Record<string, unknown>);
    expect(lines.map((line) => [line.recordingId, line.outcome])).toEqual([
      ['lesson-1==', 'requested'],
      ['NoTcOuRsE==', 'rejected'],
    ]);
    expect(lines[0]).toMatchObject({ course: 'MAQ101', files: { to_request: answer.summary.filesRequested } });
    for (const line of lines) expect(Object.keys(line)).not.toEqual(expect.arrayContaining(['topic', 'hostEmail']));
  });

  it.each([
    ['a date that is not YYYY-MM-DD', { from: '2026-1-1', to: '2026-06-30' }, /from: must be a date as YYYY-MM-DD \(UTC\)/],
    ['a date not in the calendar', { from: '2026-02-30', to: '2026-06-30' }, /from: is not a calendar date/],
    ['a month that does not exist', { from: '2026-01-01', to: '2026-13-01' }, /to: is not a calendar date/],
    ['from after to', { from: '2026-06-30', to: '2026-01-01' }, /"from" \(2026-06-30\) is after "to" \(2026-01-01\)/],
    ['a missing date', { from: '2026-01-01' }, /to: is required/],
    ['a misspelt dryRun', { from: '2026-01-01', to: '2026-01-31', dry_run: true }, /unknown field "dry_run"/],
    ['dryRun as text', { from: '2026-01-01', to: '2026-01-31', dryRun: 'yes' }, /dryRun: must be a boolean/],
    ['not an object', 'backfill please', /the payload must be a JSON object/],
    ['an empty invocation', null, /the payload must be a JSON object/],
    ['another EventBridge event', { 'detail-type': DetailType.FileUploaded, source: 'zoom-archiver', detail: {} }, /not a scheduled event: detail-type "FileUploaded"/],
  ])('refuses %s before listing anything, saying why', async (_case, input, message) => {
    const h = harness([lesson('2026-01-15', 1)]);
    const error = await handleReconcile(input, fresh, h.deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReconcileInputError);
    expect((error as ReconcileInputError).retryable).toBe(false);
    expect((error as Error).message).toMatch(message);
    expect(h.api.listed).toEqual([]);
    expect(h.publisher.published).toEqual([]);
  });

  it('does not quote the payload\'s values in its errors beyond the field names', async () => {
    const h = harness([]);
    const error = (await handleReconcile({ from: 'secret-looking-text', to: '2026-01-01' }, fresh, h.deps).catch((e: unknown) => e)) as Error;
    expect(error.message).not.toContain('secret-looking-text');
  });
});

describe('the deadline', () => {
  it('stops listing a margin before Lambda\'s deadline and answers with the range left; invoking again with it finishes the job', async () => {
    const recordings = ['2026-01-10', '2026-02-10', '2026-03-10', '2026-04-10', '2026-05-10', '2026-06-10'].map((date, n) => lesson(date, n));
    // Each month's page takes 5 minutes: 15 minutes left, deadline after 14.
    const h = harness(recordings, { minutesPerPage: 5 });
    expect(FINISH_MARGIN_MS).toBe(60_000);

    const first = await handleReconcile({ from: '2026-01-01', to: '2026-06-30' }, fresh, h.deps);

    expect(first.summary).toMatchObject({ windows: 3, pages: 3, recordingsFound: 3, recordingsHandedOver: 3 });
    expect(first.remaining).toEqual({ from: '2026-04-01', to: '2026-06-30' });
    // The run is recorded as incomplete, naming the range it did not reach.
    expect(first.summary.errors).toEqual([{ window: '2026-04-01..2026-06-30', message: expect.stringMatching(/deadline/) }]);
    expect(h.publisher.ofType(DetailType.ReconciliationCompleted)).toHaveLength(1);

    const second = await handleReconcile({ ...first.remaining! }, fresh, h.deps);

    expect(h.api.listed[1]).toEqual({ from: '2026-04-01', to: '2026-06-30' });
    expect(second.remaining).toBeUndefined();
    expect(second.summary).toMatchObject({ windows: 3, recordingsFound: 3, recordingsHandedOver: 3, errors: [] });
    const handedOver = h.publisher.ofType(DetailType.RecordingAvailable).map((r) => r.recordingId);
    expect(handedOver.sort()).toEqual(recordings.map((r) => r.uuid).sort());
  });

  it('takes the deadline from the invocation\'s remaining time: with less than the margin left, one page only', async () => {
    const h = harness([lesson('2026-01-10', 1), lesson('2026-02-10', 2)]);
    const short = { getRemainingTimeInMillis: () => 30_000 };
    const answer = await handleReconcile({ from: '2026-01-01', to: '2026-02-28' }, short, h.deps, { abortMarginMs: 1_000 });
    expect(answer.summary.pages).toBe(1);
    expect(answer.remaining).toEqual({ from: '2026-02-01', to: '2026-02-28' });
  });

  it('aborts a run still inside a request just before Lambda\'s deadline, so the invocation fails instead of timing out', async () => {
    const h = harness([lesson('2026-01-10', 1)]);
    h.api.hang = true;
    const nearlyOver = { getRemainingTimeInMillis: () => 60 };
    await expect(handleReconcile({ from: '2026-01-01', to: '2026-01-31' }, nearlyOver, h.deps, { abortMarginMs: 10 })).rejects.toThrow(/about to time out/);
    expect(h.publisher.published).toEqual([]);
  });
});

describe('createReconcilerLambda (the bootstrap)', () => {
  const env = {
    LEDGER_TABLE_NAME: 'ledger',
    EVENT_BUS_NAME: 'bus',
    ZOOM_ACCOUNT_ID: 'account-id-value',
    ZOOM_CLIENT_ID: 'client-id-value',
    ZOOM_CLIENT_SECRET: 'client-secret-value',
  };
  const adapters = () => ({ publisher: new MemoryPublisher(), logger: silentLogger });

  it('names every missing or invalid variable at once', () => {
    const error = (() => {
      try {
        createReconcilerLambda({ SWEEP_LOOKBACK_DAYS: '0', ZOOM_API_REQUESTS_PER_SECOND: 'fast' }, adapters());
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.variables).toEqual(['ZOOM_API_REQUESTS_PER_SECOND', 'SWEEP_LOOKBACK_DAYS', 'LEDGER_TABLE_NAME', 'EVENT_BUS_NAME']);
    expect(error.message).toMatch(/SWEEP_LOOKBACK_DAYS: must be at least 1/);
  });

  it('loads the course rules as course validation does, and refuses bad ones naming the field', async () => {
    const inline = JSON.stringify({ naming: { template: 'inline/{course}/{fileId}.{ext}' } });
    const deps = await createReconcilerLambda({ ...env, ARCHIVER_CONFIG_JSON: inline }, adapters())();
    expect(deps.rules.source).toBe('ARCHIVER_CONFIG_JSON');
    expect(deps.rules.naming.template.source).toBe('inline/{course}/{fileId}.{ext}');
    expect((await createReconcilerLambda(env, adapters())()).rules.source).toBe('defaults');
    expect(() => createReconcilerLambda({ ...env, ARCHIVER_CONFIG_JSON: '{"naming":{"timeZone":"Mars/Base"}}' }, adapters())).toThrow(/naming\.timeZone/);
  });

  it('refuses, without ZOOM_SECRETS_ARN, an environment without the Server-to-Server OAuth app, naming the keys', () => {
    const { ZOOM_CLIENT_SECRET: _omitted, ...partial } = env;
    expect(() => createReconcilerLambda(partial, adapters())).toThrow(ConfigError);
    expect(() => createReconcilerLambda(partial, adapters())).toThrow(/; missing ZOOM_CLIENT_SECRET$/);
    const error = (() => {
      try {
        createReconcilerLambda({ LEDGER_TABLE_NAME: 'ledger', EVENT_BUS_NAME: 'bus', ZOOM_WEBHOOK_SECRET_TOKEN: 'webhook-secret-value' }, adapters());
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error.variables).toEqual(['ZOOM_ACCOUNT_ID', 'ZOOM_CLIENT_ID', 'ZOOM_CLIENT_SECRET']);
    expect(error.message).toMatch(/Server-to-Server OAuth/);
    expect(error.message).not.toContain('webhook-secret-value');
  });

  it('from Secrets Manager: refuses a secret without the OAuth keys (never keeping it), then works once the operator fills them in', async () => {
    let secret: Record<string, string> = { TOKEN_SEALING_SECRET: 'sealing-secret-value-0123456789', ZOOM_ACCOUNT_ID: 'account-id-value' };
    const reads: number[] = [];
    const secretsManager = {
      send: async () => {
        reads.push(Date.now());
        return { SecretString: JSON.stringify(secret) };
      },
    } as unknown as NonNullable<Parameters<typeof createReconcilerLambda>[1]>['secretsManager'];
    const { ZOOM_ACCOUNT_ID: _a, ZOOM_CLIENT_ID: _b, ZOOM_CLIENT_SECRET: _c, ...withoutSecrets } = env;
    const load = createReconcilerLambda({ ...withoutSecrets, ZOOM_SECRETS_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:zoom-AbCdEf' }, { ...adapters(), secretsManager });

    const error = (await load().catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.variables).toEqual(['ZOOM_CLIENT_ID', 'ZOOM_CLIENT_SECRET']);
    expect(error.message).not.toMatch(/account-id-value|sealing-secret-value/);

    secret = { ...secret, ZOOM_CLIENT_ID: 'client-id-value', ZOOM_CLIENT_SECRET: 'client-secret-value' };
    const deps = await load();
    expect(reads).toHaveLength(2);
    expect(deps.lookbackDays).toBe(3);
    expect(typeof deps.api.listRecordings).toBe('function');
    // The same object while the secret is unchanged: the OAuth token cache and the API client survive.
    expect(await load()).toBe(deps);
  });

  describe('the exported handler', () => {
    const saved = { ...process.env };
    afterEach(() => {
      process.env = { ...saved };
    });

    it('builds nothing at import and refuses, at every invocation, to run without its variables', async () => {
      delete process.env.LEDGER_TABLE_NAME;
      delete process.env.EVENT_BUS_NAME;
      const context = { getRemainingTimeInMillis: () => 15 * MINUTES } as unknown as Context;
      const error = await handler(scheduled(T0), context).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toBe('LEDGER_TABLE_NAME: is required; EVENT_BUS_NAME: is required');
      await expect(handler({ from: '2026-01-01', to: '2026-01-31' }, context)).rejects.toThrow(ConfigError);
    });
  });
});

describe('wired end to end: Zoom simulator REST API and OAuth, DynamoDB ledger and memory', () => {
  let simulator: ZoomSimulator;
  let dynalite: DynaliteHandle;
  beforeAll(async () => {
    [simulator, dynalite] = await Promise.all([startZoomSimulator(), startDynalite()]);
  });
  afterAll(async () => {
    await Promise.all([simulator?.stop(), dynalite?.stop()]);
  });

  it('a backfill hands over the course lesson, remembers the staff meeting in the ledger table, and lists it as rejected_before next time', async () => {
    const tableName = await dynalite.createTable(ledgerTableDefinition(dynalite.uniqueTableName('ledger')));
    const lessonRecording = await simulator.addRecording({ topic: '[HIS101] Modern history — lesson 1', startTime: '2026-03-03T14:00:00Z', durationMinutes: 50, files: [{ fileType: 'MP4', size: 20_000 }] });
    const staff = await simulator.addRecording({ topic: 'Staff meeting', startTime: '2026-03-04T15:00:00Z', files: [{ fileType: 'MP4', size: 10_000 }] });
    const publisher = new MemoryPublisher();
    const env = {
      LEDGER_TABLE_NAME: tableName,
      EVENT_BUS_NAME: 'zoom-archiver-bus',
      ...zoomEnvFor(simulator),
      ZOOM_API_BASE_URL: simulator.apiBaseUrl,
      ZOOM_API_REQUESTS_PER_SECOND: '50',
    };
    const deps = await createReconcilerLambda(env, { dynamoDb: dynalite.client, publisher, logger: silentLogger })();

    const first = await handleReconcile({ from: '2026-03-01', to: '2026-03-31' }, fresh, deps);

    expect(first.summary).toMatchObject({ trigger: 'backfill', listing: 'account', recordingsFound: 2, recordingsHandedOver: 2, recordingsRejected: 1, filesRequested: 1, errors: [] });
    expect(first.summary.apiCalls).toBeGreaterThan(0);
    expect(publisher.ofType(DetailType.RecordingAvailable).map((r) => r.recordingId).sort()).toEqual([lessonRecording.uuid, staff.uuid].sort());
    const stored = await DynamoDBDocumentClient.from(dynalite.client).send(
      new GetCommand({ TableName: tableName, Key: { [LEDGER_KEYS.partitionKey]: reconcilerRejectionKey(staff.uuid) } }),
    );
    expect(stored.Item).toMatchObject({ recordingId: staff.uuid });

    const second = await handleReconcile({ from: '2026-03-01', to: '2026-03-31', dryRun: true }, fresh, deps);
    expect(second.summary).toMatchObject({ recordingsFound: 2, recordingsRejected: 1, recordingsHandedOver: 0 });
  });
});
