/**
 * The clean-up use case (services/cleanup/use-case.ts) and the check it makes
 * (services/cleanup/verdict.ts) over real stores: the SQLite clean-up schedule and the
 * SQLite upload ledger in a temporary folder, filled as the uploader fills the ledger
 * (register → claim → complete). Zoom is a small in-memory ZoomTrashApi (the real
 * client and the simulator are exercised in handler.test.ts); events go to the
 * MemoryPublisher, which refuses a detail that breaks its schema. Time is a
 * controllable clock, so due times, leases and back-off are exact.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteCleanupSchedule } from '../../shared/adapters/cleanup-sqlite';
import { SqliteUploadLedger } from '../../shared/adapters/ledger-sqlite';
import { DetailType, SCHEMA_VERSIONS, parseDetail, startMetadata, type ArchiveLocation, type DetailOf, type RecordingArchived } from '../../shared/events';
import { silentLogger, type AppLogger } from '../../shared/logger';
import type { ArchiveObjectInfo, ArchiveStore } from '../../shared/ports/archive-store';
import type { CleanupSchedule } from '../../shared/ports/cleanup-schedule';
import type { LedgerResult } from '../../shared/ports/upload-ledger';
import { ZoomApiError, type ListOptions, type ZoomTrashApi } from '../../shared/ports/zoom-api';
import { ledgerGroupKey } from '../../shared/ledger-group';
import type { ZoomRecordingFile, ZoomRecordingObject } from '../../shared/zoom/recording';
import { parseArchiverConfig, type ArchiverConfig } from '../../services/course-validation/config';
import { CLEANUP_LEASE_MS, CLEANUP_RETRY_BASE_MS, cleanupRetryDelayMs } from '../../services/cleanup/config';
import {
  cleanUpRecording,
  countOutcomes,
  runDueCleanups,
  scheduleCleanup,
  type RunDeps,
  type ScheduleDeps,
} from '../../services/cleanup/use-case';
import { judgeObject, judgeRecording } from '../../services/cleanup/verdict';
import { toAuditRecord } from '../../services/audit/summarize';
import { slackText } from '../../services/subscribers/slack';
import { MemoryPublisher } from '../support/memory-publisher';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2026, 2, 2, 9, 0, 0); // 2026-03-02T09:00Z
const COURSE = 'MAQ101';
const TOPIC = '[MAQ101] Maqam Bayati — lesson 3';
const BUCKET = 'archive-test';
/** Something that must never reach an event, a note, the audit trail or Slack. */
const URL_MARKER = 'SECRET-DOWNLOAD-PATH';
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.sim-oauth-token-value.c2lnbmF0dXJl';

// ---------------------------------------------------------------------------------
// Zoom recordings

interface FileSpec {
  id: string;
  type?: string;
  recordingType?: string;
  size?: number;
  status?: string;
  minutes?: number;
}

let uuidCounter = 0;
const nextUuid = () => `rec${++uuidCounter}+aBcD/eF==`;

function zoomFile(spec: FileSpec, start: string): ZoomRecordingFile {
  const type = spec.type ?? 'MP4';
  const begin = Date.parse(start) + 5_000;
  return {
    id: spec.id,
    recording_start: new Date(begin).toISOString(),
    recording_end: new Date(begin + (spec.minutes ?? 50) * MINUTE).toISOString(),
    file_type: type,
    file_extension: type === 'CHAT' ? 'TXT' : type,
    file_size: spec.size ?? 50_000_000 + spec.id.length,
    download_url: `https://ssrweb.zoom.us/rec/download/${URL_MARKER}-${spec.id}`,
    status: spec.status ?? 'completed',
    recording_type: spec.recordingType ?? (type === 'MP4' ? 'shared_screen_with_speaker_view' : type === 'M4A' ? 'audio_only' : type === 'CHAT' ? 'chat_file' : undefined),
  };
}

function recording(files: FileSpec[], overrides: Partial<ZoomRecordingObject> = {}): ZoomRecordingObject {
  const start = '2026-03-01T14:00:00Z';
  return {
    uuid: nextUuid(),
    id: 81234567890,
    account_id: 'acc-1',
    host_id: 'host-1',
    host_email: 'teacher@example.edu',
    topic: TOPIC,
    type: 8,
    start_time: start,
    timezone: 'Europe/Berlin',
    duration: 55,
    recording_files: files.map((file) => zoomFile(file, start)),
    ...overrides,
  };
}

/** The usual lesson: one MP4 the rules select, the audio and the chat they do not. */
function lesson(prefix = 'f'): ZoomRecordingObject {
  return recording([{ id: `${prefix}-mp4` }, { id: `${prefix}-m4a`, type: 'M4A', size: 4_000_000 }, { id: `${prefix}-chat`, type: 'CHAT', size: 1_234 }]);
}

/**
 * Zoom's two calls, in memory. A trashed recording is gone from GET (as in Zoom);
 * `staleReads` keeps showing it (Zoom's own lag after a DELETE). `failTrash` /
 * `failGet` throw the queued errors first. `afterTrash` runs once Zoom has trashed the
 * recording, before the answer is returned: a crash there loses the answer.
 */
class FakeZoom implements ZoomTrashApi {
  readonly recordings = new Map<string, ZoomRecordingObject>();
  readonly trashed = new Set<string>();
  readonly trashCalls: string[] = [];
  readonly getCalls: string[] = [];
  failTrash: Error[] = [];
  failGet: Error[] = [];
  staleReads = false;
  afterTrash?: (uuid: string) => void;

  add(object: ZoomRecordingObject): ZoomRecordingObject {
    this.recordings.set(object.uuid, object);
    return object;
  }

  async getRecording(uuid: string, _options?: ListOptions): Promise<ZoomRecordingObject | undefined> {
    this.getCalls.push(uuid);
    await new Promise((resolve) => setImmediate(resolve));
    const failure = this.failGet.shift();
    if (failure) throw failure;
    const object = this.recordings.get(uuid);
    if (!object || (this.trashed.has(uuid) && !this.staleReads)) return undefined;
    return structuredClone(object);
  }

  async trashRecording(uuid: string, _options?: ListOptions): Promise<'trashed' | 'not_found'> {
    this.trashCalls.push(uuid);
    await new Promise((resolve) => setImmediate(resolve));
    const failure = this.failTrash.shift();
    if (failure) throw failure;
    if (!this.recordings.has(uuid) || this.trashed.has(uuid)) return 'not_found';
    this.trashed.add(uuid);
    this.afterTrash?.(uuid);
    return 'trashed';
  }
}

// ---------------------------------------------------------------------------------
// Stores, clock, rules

let dir: string;
let fileCounter = 0;
const opened: { close(): void }[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zoom-archiver-cleanup-use-case-'));
});
afterEach(() => {
  for (const store of opened.splice(0)) store.close();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function rulesFor(cleanup: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}): ArchiverConfig {
  return parseArchiverConfig(cleanup === undefined ? extra : { ...extra, cleanup });
}

const ON = { trashInZoom: 'on', delayHours: 24 };
const DRY_RUN = { trashInZoom: 'dry-run', delayHours: 24 };

interface LoggedLine {
  level: string;
  message: string;
  data: unknown;
}

interface Harness {
  clock: { now: number };
  now: () => Date;
  schedulePath: string;
  schedule: SqliteCleanupSchedule;
  ledger: SqliteUploadLedger;
  zoom: FakeZoom;
  publisher: MemoryPublisher;
  archive: Map<string, number>;
  logged: LoggedLine[];
  logger: AppLogger;
  /** The consumer of RecordingArchived with these rules. */
  scheduleDeps(rules: ArchiverConfig): ScheduleDeps;
  /** A runner with these rules; `withArchive` lets it look at the archive's objects. */
  runDeps(rules: ArchiverConfig, options?: { owner?: string; schedule?: CleanupSchedule; withArchive?: boolean }): RunDeps;
  /** A second connection to the same schedule file (another process, another runner). */
  otherSchedule(): SqliteCleanupSchedule;
}

function harness(): Harness {
  const clock = { now: T0 };
  const now = () => new Date(clock.now);
  const schedulePath = join(dir, `cleanup-${++fileCounter}.sqlite`);
  const schedule = new SqliteCleanupSchedule({ path: schedulePath });
  const ledger = new SqliteUploadLedger({ path: join(dir, `ledger-${fileCounter}.sqlite`) });
  opened.push(schedule, ledger);
  const zoom = new FakeZoom();
  const publisher = new MemoryPublisher();
  const archive = new Map<string, number>();
  const logged: LoggedLine[] = [];
  const line = (level: string) => ((message: string, data?: unknown) => logged.push({ level, message, data })) as AppLogger['info'];
  const logger: AppLogger = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
  const head: Pick<ArchiveStore, 'head'> = {
    head: async (key: string): Promise<ArchiveObjectInfo | undefined> => (archive.has(key) ? { size: archive.get(key)!, metadata: {} } : undefined),
  };
  return {
    clock,
    now,
    schedulePath,
    schedule,
    ledger,
    zoom,
    publisher,
    archive,
    logged,
    logger,
    scheduleDeps: (rules) => ({ rules, schedule, logger, now }),
    runDeps: (rules, options = {}) => ({
      rules,
      schedule: options.schedule ?? schedule,
      ledger,
      archive: options.withArchive ? head : undefined,
      zoom,
      publisher,
      logger,
      now,
      owner: options.owner,
    }),
    otherSchedule: () => {
      const other = new SqliteCleanupSchedule({ path: schedulePath });
      opened.push(other);
      return other;
    },
  };
}

// ---------------------------------------------------------------------------------
// The ledger, as the uploader writes it

const sha256Of = (text: string) => createHash('sha256').update(text).digest('hex');

function locationOf(fileId: string): ArchiveLocation {
  const key = `courses/${COURSE}/2026-03-01/${fileId}.mp4`;
  return { kind: 's3', container: BUCKET, key, uri: `s3://${BUCKET}/${key}` };
}

function resultOf(file: ZoomRecordingFile): LedgerResult {
  return { size: file.file_size!, checksum: { algorithm: 'sha256', value: sha256Of(file.id!) }, location: locationOf(file.id!) };
}

function fileOf(object: ZoomRecordingObject, fileId: string): ZoomRecordingFile {
  const file = object.recording_files.find((f) => f.id === fileId);
  if (!file) throw new Error(`no file ${fileId}`);
  return file;
}

async function register(h: Harness, object: ZoomRecordingObject, fileId: string): Promise<void> {
  const file = fileOf(object, fileId);
  await h.ledger.register({
    fileId,
    recordingId: object.uuid,
    groupKey: ledgerGroupKey(object.uuid, 0),
    groupSize: 1,
    course: COURSE,
    archiveKey: locationOf(fileId).key,
    expectedSize: file.file_size,
    now: h.clock.now,
  });
}

/** register → claim → complete, and the object put in the (fake) archive with its size. */
async function archiveFile(h: Harness, object: ZoomRecordingObject, fileId: string): Promise<LedgerResult> {
  await register(h, object, fileId);
  const claim = await h.ledger.claim(fileId, `uploader:${fileId}`, 10 * MINUTE, h.clock.now);
  expect(claim.outcome).toBe('claimed');
  const result = resultOf(fileOf(object, fileId));
  expect(await h.ledger.complete(fileId, `uploader:${fileId}`, result, h.clock.now)).toBe(true);
  h.archive.set(result.location.key, result.size);
  return result;
}

async function failFile(h: Harness, object: ZoomRecordingObject, fileId: string): Promise<void> {
  await register(h, object, fileId);
  await h.ledger.claim(fileId, `uploader:${fileId}`, 10 * MINUTE, h.clock.now);
  expect(await h.ledger.fail(fileId, `uploader:${fileId}`, { code: 'download_failed', message: 'Zoom answered 503', retryable: false }, h.clock.now)).toBe(true);
}

/** The RecordingArchived the uploader publishes once every file of the part is uploaded. */
function archivedEvent(object: ZoomRecordingObject, fileIds: string[], course = COURSE): RecordingArchived {
  const detail: RecordingArchived = {
    metadata: startMetadata({ schemaVersion: SCHEMA_VERSIONS[DetailType.RecordingArchived], idempotencyKey: `RecordingArchived:${object.uuid}#0`, causationId: 'test' }),
    recordingId: object.uuid,
    course,
    part: { index: 0, count: 1 },
    files: fileIds.map((fileId) => {
      const result = resultOf(fileOf(object, fileId));
      return { fileId, location: result.location, size: result.size, checksum: result.checksum };
    }),
  };
  return parseDetail(DetailType.RecordingArchived, detail);
}

/** A lesson in Zoom, its MP4 archived, scheduled at T0 (due T0 + 24 h). */
async function archivedLesson(h: Harness, rules: ArchiverConfig, prefix = 'f'): Promise<ZoomRecordingObject> {
  const object = h.zoom.add(lesson(prefix));
  await archiveFile(h, object, `${prefix}-mp4`);
  expect(await scheduleCleanup(archivedEvent(object, [`${prefix}-mp4`]), h.scheduleDeps(rules))).toBe('scheduled');
  return object;
}

const trashedEvents = (h: Harness) => h.publisher.ofType(DetailType.RecordingTrashedInZoom);
const wouldTrashEvents = (h: Harness) => h.publisher.ofType(DetailType.RecordingWouldBeTrashed);

// ---------------------------------------------------------------------------------

describe('scheduleCleanup (the consumer of RecordingArchived)', () => {
  it('with trashInZoom "off" (the default) schedules nothing, and a run does nothing', async () => {
    const h = harness();
    const object = h.zoom.add(lesson());
    await archiveFile(h, object, 'f-mp4');
    for (const rules of [rulesFor(undefined), rulesFor({ trashInZoom: 'off', delayHours: 0 })]) {
      expect(rules.cleanup.trashInZoom).toBe('off');
      expect(await scheduleCleanup(archivedEvent(object, ['f-mp4']), h.scheduleDeps(rules))).toBe('off');
      h.clock.now += 48 * HOUR;
      expect(await runDueCleanups(h.runDeps(rules))).toEqual([]);
    }

    expect(await h.schedule.list()).toEqual([]);
    expect(h.zoom.trashCalls).toEqual([]);
    expect(h.zoom.getCalls).toEqual([]);
    expect(h.publisher.published).toEqual([]);
  });

  it('leaves a recording of an excepted course alone: "excepted", nothing scheduled', async () => {
    const h = harness();
    const rules = rulesFor({ ...ON, exceptCourses: ['LAW200', COURSE] });
    const object = h.zoom.add(lesson());
    await archiveFile(h, object, 'f-mp4');

    expect(await scheduleCleanup(archivedEvent(object, ['f-mp4']), h.scheduleDeps(rules))).toBe('excepted');
    // Another course of the same config is scheduled.
    const other = h.zoom.add(lesson('g'));
    expect(await scheduleCleanup(archivedEvent(other, ['g-mp4'], 'HIS101'), h.scheduleDeps(rules))).toBe('scheduled');

    expect((await h.schedule.list()).map((e) => e.recordingId)).toEqual([other.uuid]);
    expect(await h.schedule.get(object.uuid)).toBeUndefined();
  });

  it('records the due time delayHours after the event; fractions of an hour too', async () => {
    const h = harness();
    const object = h.zoom.add(lesson());
    expect(await scheduleCleanup(archivedEvent(object, ['f-mp4']), h.scheduleDeps(rulesFor({ trashInZoom: 'on', delayHours: 1.5 })))).toBe('scheduled');
    expect(await h.schedule.get(object.uuid)).toMatchObject({ state: 'scheduled', course: COURSE, dueAt: T0 + 90 * MINUTE, attempts: 0 });
  });
});

describe('runDueCleanups', () => {
  it('respects the delay: nothing before the due time, one trash at it, nothing after', async () => {
    const h = harness();
    const rules = rulesFor(ON);
    const object = await archivedLesson(h, rules);

    h.clock.now = T0 + 24 * HOUR - 1;
    expect(await runDueCleanups(h.runDeps(rules))).toEqual([]);
    expect(h.zoom.getCalls).toEqual([]);
    expect(h.zoom.trashCalls).toEqual([]);

    h.clock.now = T0 + 24 * HOUR;
    const results = await runDueCleanups(h.runDeps(rules));

    expect(results).toEqual([{ recordingId: object.uuid, course: COURSE, outcome: 'trashed', archivedFiles: 1, otherFiles: 2, note: undefined }]);
    expect(countOutcomes(results)).toEqual({ trashed: 1 });
    expect(h.zoom.trashCalls).toEqual([object.uuid]);
    expect(await h.schedule.get(object.uuid)).toMatchObject({ state: 'trashed', outcome: 'trashed', decidedAt: T0 + 24 * HOUR });
    expect((await h.schedule.get(object.uuid))?.trashRequestedAt).toBe(T0 + 24 * HOUR);
    const [event, ...more] = trashedEvents(h);
    expect(more).toEqual([]);
    expect(event).toMatchObject({ recordingId: object.uuid, course: COURSE, outcome: 'trashed', trashedAt: new Date(T0 + 24 * HOUR).toISOString(), dueAt: new Date(T0 + 24 * HOUR).toISOString() });
    expect(event!.metadata.idempotencyKey).toBe(`RecordingTrashedInZoom:${object.uuid}`);

    h.clock.now += 7 * 24 * HOUR;
    expect(await runDueCleanups(h.runDeps(rules))).toEqual([]);
    expect(h.zoom.trashCalls).toHaveLength(1);
    expect(trashedEvents(h)).toHaveLength(1);
  });

  it('a second RecordingArchived (another part, a re-driven file) pushes the due time back; still one trash', async () => {
    const h = harness();
    const rules = rulesFor(ON);
    const object = await archivedLesson(h, rules);

    h.clock.now = T0 + 3 * HOUR;
    expect(await scheduleCleanup(archivedEvent(object, ['f-mp4']), h.scheduleDeps(rules))).toBe('scheduled');
    expect((await h.schedule.get(object.uuid))?.dueAt).toBe(T0 + 27 * HOUR);

    h.clock.now = T0 + 24 * HOUR;
    expect(await runDueCleanups(h.runDeps(rules))).toEqual([]);
    expect(h.zoom.trashCalls).toEqual([]);

    h.clock.now = T0 + 27 * HOUR;
    expect(countOutcomes(await runDueCleanups(h.runDeps(rules)))).toEqual({ trashed: 1 });

    // A duplicate delivery after the trash changes nothing.
    h.clock.now = T0 + 28 * HOUR;
    expect(await scheduleCleanup(archivedEvent(object, ['f-mp4']), h.scheduleDeps(rules))).toBe('already_trashed');
    h.clock.now = T0 + 60 * HOUR;
    expect(await runDueCleanups(h.runDeps(rules))).toEqual([]);
    expect(h.zoom.trashCalls).toEqual([object.uuid]);
    expect(trashedEvents(h)).toHaveLength(1);
  });

  describe('holds the recording back unless every selected file is uploaded', () => {
    const due = T0 + 24 * HOUR;

    async function scheduledAt(h: Harness, object: ZoomRecordingObject, rules: ArchiverConfig): Promise<void> {
      expect(await scheduleCleanup(archivedEvent(object, []), h.scheduleDeps(rules))).toBe('scheduled');
      h.clock.now = due;
    }

    async function expectHeld(h: Harness, object: ZoomRecordingObject, rules: ArchiverConfig, note: RegExp): Promise<void> {
      const results = await runDueCleanups(h.runDeps(rules, { withArchive: true }));
      expect(results).toEqual([{ recordingId: object.uuid, course: COURSE, outcome: 'held', note: expect.stringMatching(note) }]);
      expect(await h.schedule.get(object.uuid)).toMatchObject({ state: 'held', note: expect.stringMatching(note), decidedAt: due });
      expect((await h.schedule.get(object.uuid))?.trashRequestedAt).toBeUndefined();
      expect(h.zoom.trashCalls).toEqual([]);
      expect(h.publisher.published).toEqual([]);
      expect(h.zoom.trashed.size).toBe(0);
    }

    it('a failed file: held, the file and its error code named', async () => {
      const h = harness();
      const rules = rulesFor(ON);
      const object = h.zoom.add(recording([{ id: 'ok-mp4' }, { id: 'bad-mp4', recordingType: 'gallery_view' }]));
      await archiveFile(h, object, 'ok-mp4');
      await failFile(h, object, 'bad-mp4');
      await scheduledAt(h, object, rules);

      await expectHeld(h, object, rules, /^file bad-mp4 \(download_failed\) failed: nothing is trashed until every selected file is archived$/);
    });

    it('a file still uploading, or only requested: held as not archived yet', async () => {
      const h = harness();
      const rules = rulesFor(ON);
      const object = h.zoom.add(recording([{ id: 'done' }, { id: 'uploading', recordingType: 'gallery_view' }, { id: 'requested', recordingType: 'speaker_view' }]));
      await archiveFile(h, object, 'done');
      await register(h, object, 'uploading');
      await h.ledger.claim('uploading', 'uploader-x', 10 * MINUTE, h.clock.now);
      await register(h, object, 'requested');
      await scheduledAt(h, object, rules);

      await expectHeld(h, object, rules, /^files uploading, requested not archived yet/);
    });

    it('a selected file the ledger never heard of: held, the file named', async () => {
      const h = harness();
      const rules = rulesFor(ON);
      const object = h.zoom.add(recording([{ id: 'done' }, { id: 'late-transcript-era-mp4', recordingType: 'gallery_view' }]));
      await archiveFile(h, object, 'done');
      await scheduledAt(h, object, rules);

      await expectHeld(h, object, rules, /^file late-transcript-era-mp4 not in the ledger: never requested/);
    });

    it('an eligible file still processing at Zoom: held, whether or not others are ready', async () => {
      const h = harness();
      const rules = rulesFor(ON);
      const partly = h.zoom.add(recording([{ id: 'ready' }, { id: 'busy', recordingType: 'gallery_view', status: 'processing' }]));
      await archiveFile(h, partly, 'ready');
      await scheduledAt(h, partly, rules);
      await expectHeld(h, partly, rules, /^file busy still processing at Zoom$/);

      const h2 = harness();
      const only = h2.zoom.add(recording([{ id: 'busy-only', status: 'processing' }]));
      await scheduledAt(h2, only, rules);
      await expectHeld(h2, only, rules, /^file busy-only still processing at Zoom$/);
    });

    it('names at most three files and counts the rest', async () => {
      const h = harness();
      const rules = rulesFor(ON, { files: { fileTypes: ['MP4', 'M4A'] } });
      const object = h.zoom.add(recording([{ id: 'a' }, { id: 'b', type: 'M4A' }, { id: 'c', recordingType: 'gallery_view' }, { id: 'd', recordingType: 'speaker_view' }, { id: 'e', recordingType: 'active_speaker' }]));
      await scheduledAt(h, object, rules);
      await expectHeld(h, object, rules, /^files a, b, c and 2 more not in the ledger/);
    });

    it('the archive holding another size than the ledger recorded (or nothing): held, loudly, naming the object', async () => {
      const h = harness();
      const rules = rulesFor(ON);
      const object = h.zoom.add(recording([{ id: 'short', size: 1_000_000 }, { id: 'missing', recordingType: 'gallery_view' }]));
      const short = await archiveFile(h, object, 'short');
      const missing = await archiveFile(h, object, 'missing');
      h.archive.set(short.location.key, 999_999);
      h.archive.delete(missing.location.key);
      await scheduledAt(h, object, rules);

      await expectHeld(
        h,
        object,
        rules,
        new RegExp(
          `^the archive does not hold what the ledger recorded for files short \\(holds 999999 bytes, the ledger recorded 1000000 at s3://${BUCKET}/courses/MAQ101/2026-03-01/short\\.mp4\\), missing \\(no object at .*missing\\.mp4\\): not trashed$`,
        ),
      );
    });

    it('a held recording is scheduled again by the next RecordingArchived, and trashed once the file is archived', async () => {
      const h = harness();
      const rules = rulesFor(ON);
      const object = h.zoom.add(recording([{ id: 'ok-mp4' }, { id: 'bad-mp4', recordingType: 'gallery_view' }]));
      await archiveFile(h, object, 'ok-mp4');
      await failFile(h, object, 'bad-mp4');
      await scheduledAt(h, object, rules);
      expect(countOutcomes(await runDueCleanups(h.runDeps(rules)))).toEqual({ held: 1 });
      // Not due again by itself.
      h.clock.now = due + 10 * 24 * HOUR;
      expect(await runDueCleanups(h.runDeps(rules))).toEqual([]);

      // `retry` succeeds: the uploader completes the failed file and publishes RecordingArchived.
      await h.ledger.claim('bad-mp4', 'retry-1', 10 * MINUTE, h.clock.now);
      await h.ledger.complete('bad-mp4', 'retry-1', resultOf(fileOf(object, 'bad-mp4')), h.clock.now);
      h.archive.set(locationOf('bad-mp4').key, fileOf(object, 'bad-mp4').file_size!);
      expect(await scheduleCleanup(archivedEvent(object, ['bad-mp4']), h.scheduleDeps(rules))).toBe('scheduled');
      expect(await h.schedule.get(object.uuid)).toMatchObject({ state: 'scheduled', dueAt: h.clock.now + 24 * HOUR });

      h.clock.now += 24 * HOUR;
      expect(countOutcomes(await runDueCleanups(h.runDeps(rules, { withArchive: true })))).toEqual({ trashed: 1 });
      expect(trashedEvents(h)[0]!.archivedFiles.map((f) => f.fileId).sort()).toEqual(['bad-mp4', 'ok-mp4']);
      expect(h.zoom.trashCalls).toEqual([object.uuid]);
    });
  });

  describe('never trashes a recording the rules reject', () => {
    it.each([
      ['its topic names no course any more (renamed in Zoom)', { topic: 'Staff meeting — budget' }, [{ id: 'x-mp4' }], /rejected by the course rules \(not_course_meeting: .+\); a rejected recording is never trashed/],
      ['it has no eligible file (only audio and chat)', {}, [{ id: 'x-m4a', type: 'M4A' }, { id: 'x-chat', type: 'CHAT' }], /rejected by the course rules \(no_eligible_file: .+\); a rejected recording is never trashed/],
      ['its only MP4 is too short', {}, [{ id: 'x-mp4', minutes: 1 }], /rejected by the course rules \(no_eligible_file: .*too short.*\)/],
    ] as const)('%s: held, and no trash call', async (_case, overrides, files, note) => {
      const h = harness();
      const rules = rulesFor(ON);
      const object = h.zoom.add(recording([...files], overrides));
      expect(await scheduleCleanup(archivedEvent(object, []), h.scheduleDeps(rules))).toBe('scheduled');
      h.clock.now = T0 + 24 * HOUR;

      const [result, ...more] = await runDueCleanups(h.runDeps(rules));

      expect(more).toEqual([]);
      expect(result).toMatchObject({ recordingId: object.uuid, outcome: 'held', note: expect.stringMatching(note) });
      expect(await h.schedule.get(object.uuid)).toMatchObject({ state: 'held' });
      expect(h.zoom.getCalls).toEqual([object.uuid]);
      expect(h.zoom.trashCalls).toEqual([]);
      expect(h.publisher.published).toEqual([]);
    });

    it('a course added to exceptCourses after it was scheduled: held, not trashed', async () => {
      const h = harness();
      const object = await archivedLesson(h, rulesFor(ON));
      h.clock.now = T0 + 24 * HOUR;

      const [result] = await runDueCleanups(h.runDeps(rulesFor({ ...ON, exceptCourses: [COURSE] })));

      expect(result).toMatchObject({ recordingId: object.uuid, outcome: 'held', note: `course ${COURSE} is in cleanup.exceptCourses: its recordings stay in Zoom` });
      expect(h.zoom.trashCalls).toEqual([]);
    });
  });

  describe('dry run', () => {
    it('publishes RecordingWouldBeTrashed (valid against its schema), records would_trash, deletes nothing', async () => {
      const h = harness();
      const rules = rulesFor(DRY_RUN);
      const object = await archivedLesson(h, rules);
      h.clock.now = T0 + 24 * HOUR + 5;

      const results = await runDueCleanups(h.runDeps(rules, { withArchive: true }));

      expect(results).toEqual([{ recordingId: object.uuid, course: COURSE, outcome: 'would_trash', archivedFiles: 1, otherFiles: 2 }]);
      expect(h.zoom.trashCalls).toEqual([]);
      expect(h.zoom.trashed.size).toBe(0);
      expect(await h.schedule.get(object.uuid)).toMatchObject({ state: 'would_trash', decidedAt: T0 + 24 * HOUR + 5 });
      expect(h.publisher.published.map((e) => e.detailType)).toEqual([DetailType.RecordingWouldBeTrashed]);
      const detail = parseDetail(DetailType.RecordingWouldBeTrashed, h.publisher.published[0]!.detail);
      expect(detail).toMatchObject({
        recordingId: object.uuid,
        meetingId: '81234567890',
        topic: TOPIC,
        course: COURSE,
        startTime: object.start_time,
        dueAt: new Date(T0 + 24 * HOUR).toISOString(),
        checkedAt: new Date(T0 + 24 * HOUR + 5).toISOString(),
      });
      expect(detail.metadata).toMatchObject({ schemaVersion: 1, idempotencyKey: `RecordingWouldBeTrashed:${object.uuid}:${T0 + 24 * HOUR}`, causationId: `cleanup:${object.uuid}` });

      // The dry run does not announce it again at the next run.
      h.clock.now += 24 * HOUR;
      expect(await runDueCleanups(h.runDeps(rules))).toEqual([]);
      expect(wouldTrashEvents(h)).toHaveLength(1);
    });

    it('switching the rules to "on" afterwards trashes what the dry run announced, once, after checking again', async () => {
      const h = harness();
      const object = await archivedLesson(h, rulesFor(DRY_RUN));
      h.clock.now = T0 + 24 * HOUR;
      expect(countOutcomes(await runDueCleanups(h.runDeps(rulesFor(DRY_RUN))))).toEqual({ would_trash: 1 });
      const getsAfterDryRun = h.zoom.getCalls.length;

      h.clock.now = T0 + 30 * HOUR;
      const on = rulesFor(ON);
      const results = await runDueCleanups(h.runDeps(on));

      expect(results).toMatchObject([{ recordingId: object.uuid, outcome: 'trashed' }]);
      expect(h.zoom.getCalls.length).toBe(getsAfterDryRun + 1);
      expect(h.zoom.trashCalls).toEqual([object.uuid]);
      expect(trashedEvents(h)).toHaveLength(1);
      expect(await h.schedule.get(object.uuid)).toMatchObject({ state: 'trashed', outcome: 'trashed' });

      h.clock.now += 24 * HOUR;
      expect(await runDueCleanups(h.runDeps(on))).toEqual([]);
      expect(h.zoom.trashCalls).toHaveLength(1);
    });

    it('a dry-run decision that is stale by the time "on" runs is checked again and held', async () => {
      const h = harness();
      const object = await archivedLesson(h, rulesFor(DRY_RUN));
      h.clock.now = T0 + 24 * HOUR;
      await runDueCleanups(h.runDeps(rulesFor(DRY_RUN)));
      // A late file shows up in Zoom (a second view) that the ledger does not know.
      object.recording_files.push(zoomFile({ id: 'late-view', recordingType: 'gallery_view' }, object.start_time));

      const [result] = await runDueCleanups(h.runDeps(rulesFor(ON)));

      expect(result).toMatchObject({ outcome: 'held', note: expect.stringMatching(/late-view not in the ledger/) });
      expect(h.zoom.trashCalls).toEqual([]);
    });
  });

  describe('Zoom\'s answers', () => {
    it('the DELETE landed but its answer was lost: postponed (failed), and the next run counts Zoom\'s 404 as done, publishing once (already_in_trash)', async () => {
      const h = harness();
      const rules = rulesFor(ON);
      const object = await archivedLesson(h, rules);
      const due = T0 + 24 * HOUR;
      h.clock.now = due;
      // Zoom trashes it; the answer never arrives (the socket closes under it).
      h.zoom.afterTrash = () => {
        throw new Error('socket hang up');
      };
      // Zoom's GET still shows it for a while after the DELETE.
      h.zoom.staleReads = true;

      const [first] = await runDueCleanups(h.runDeps(rules, { owner: 'runner-a' }));

      expect(first).toMatchObject({ recordingId: object.uuid, outcome: 'failed', note: `not trashed (socket hang up); trying again at ${new Date(due + 5 * MINUTE).toISOString()}` });
      expect(await h.schedule.get(object.uuid)).toMatchObject({ state: 'scheduled', attempts: 1, dueAt: due + 5 * MINUTE, trashRequestedAt: due });
      expect(trashedEvents(h)).toEqual([]);
      expect(h.logged.some((line) => line.level === 'error' && line.message === 'clean-up failed')).toBe(true);

      h.zoom.afterTrash = undefined;
      h.clock.now = due + 5 * MINUTE - 1;
      expect(await runDueCleanups(h.runDeps(rules, { owner: 'runner-b' }))).toEqual([]);
      h.clock.now = due + 5 * MINUTE;
      const results = await runDueCleanups(h.runDeps(rules, { owner: 'runner-b' }));

      expect(results).toMatchObject([{ recordingId: object.uuid, outcome: 'already_in_trash', archivedFiles: 1, otherFiles: 2 }]);
      expect(h.zoom.trashCalls).toEqual([object.uuid, object.uuid]);
      const [event, ...more] = trashedEvents(h);
      expect(more).toEqual([]);
      expect(event).toMatchObject({ recordingId: object.uuid, outcome: 'already_in_trash' });
      expect(await h.schedule.get(object.uuid)).toMatchObject({ state: 'trashed', outcome: 'already_in_trash' });

      h.clock.now += HOUR;
      expect(await runDueCleanups(h.runDeps(rules))).toEqual([]);
      expect(trashedEvents(h)).toHaveLength(1);
    });

    it('the runner dies right after its DELETE (its store gone with it): the lease expires, the next runner finds the trash done and publishes it once', async () => {
      const h = harness();
      const rules = rulesFor(ON);
      const object = await archivedLesson(h, rules);
      const due = T0 + 24 * HOUR;
      h.clock.now = due;
      const dying = h.otherSchedule();
      h.zoom.staleReads = true;
      h.zoom.afterTrash = () => {
        dying.close(); // the process is gone: nothing more is written by it
        throw new Error('killed');
      };

      await runDueCleanups(h.runDeps(rules, { owner: 'runner-a', schedule: dying }));

      expect(await h.schedule.get(object.uuid)).toMatchObject({ state: 'running', leaseOwner: 'runner-a', trashRequestedAt: due, leaseExpiresAt: due + CLEANUP_LEASE_MS });
      expect(trashedEvents(h)).toEqual([]);

      h.zoom.afterTrash = undefined;
      h.clock.now = due + CLEANUP_LEASE_MS - 1;
      expect(await runDueCleanups(h.runDeps(rules, { owner: 'runner-b' }))).toEqual([]);
      h.clock.now = due + CLEANUP_LEASE_MS;
      expect(await runDueCleanups(h.runDeps(rules, { owner: 'runner-b' }))).toMatchObject([{ recordingId: object.uuid, outcome: 'already_in_trash' }]);

      expect(h.zoom.trashCalls).toEqual([object.uuid, object.uuid]);
      expect(h.zoom.trashed).toEqual(new Set([object.uuid]));
      expect(trashedEvents(h)).toMatchObject([{ recordingId: object.uuid, outcome: 'already_in_trash' }]);
      expect(await h.schedule.get(object.uuid)).toMatchObject({ state: 'trashed', outcome: 'already_in_trash' });
    });

    it('after our DELETE, Zoom\'s GET gone by the next run: counted as our trash (already_in_trash), not as someone else\'s', async () => {
      const h = harness();
      const rules = rulesFor(ON);
      const object = await archivedLesson(h, rules);
      h.clock.now = T0 + 24 * HOUR;
      h.zoom.afterTrash = () => {
        throw new Error('socket hang up');
      };
      expect(await runDueCleanups(h.runDeps(rules, { owner: 'runner-a' }))).toMatchObject([{ outcome: 'failed' }]);
      h.zoom.afterTrash = undefined;

      h.clock.now += 5 * MINUTE;
      const [result] = await runDueCleanups(h.runDeps(rules, { owner: 'runner-b' }));

      expect(result).toMatchObject({ recordingId: object.uuid, outcome: 'already_in_trash', note: expect.stringMatching(/after our earlier DELETE/) });
      expect(await h.schedule.get(object.uuid)).toMatchObject({ state: 'trashed', outcome: 'already_in_trash' });
      // No second DELETE: the GET already said it is gone.
      expect(h.zoom.trashCalls).toEqual([object.uuid]);
      // The files cannot be listed from Zoom any more, so no event is published (see trashed() in use-case.ts).
      expect(trashedEvents(h)).toEqual([]);
    });

    it('a recording gone from Zoom without our request: state gone, no event, no DELETE', async () => {
      const h = harness();
      const rules = rulesFor(ON);
      const object = await archivedLesson(h, rules);
      h.zoom.recordings.delete(object.uuid); // someone deleted it in Zoom's portal
      h.clock.now = T0 + 24 * HOUR;

      const results = await runDueCleanups(h.runDeps(rules));

      expect(results).toEqual([{ recordingId: object.uuid, course: COURSE, outcome: 'gone', note: expect.stringMatching(/no such recording/) }]);
      expect(await h.schedule.get(object.uuid)).toMatchObject({ state: 'gone' });
      expect(h.zoom.trashCalls).toEqual([]);
      expect(h.publisher.published).toEqual([]);
    });

    it('Zoom unavailable: postponed with back-off (5 minutes, then 10), then trashed once', async () => {
      const h = harness();
      const rules = rulesFor(ON);
      const object = await archivedLesson(h, rules);
      const busy = () => new ZoomApiError('Zoom answered 429 to DELETE /meetings/x/recordings past 3 retries', 'unavailable', { status: 429 });
      h.zoom.failTrash = [busy(), busy()];
      const first = T0 + 24 * HOUR;
      h.clock.now = first;

      const [postponed] = await runDueCleanups(h.runDeps(rules));

      expect(postponed).toMatchObject({ recordingId: object.uuid, outcome: 'postponed', note: expect.stringMatching(/^Zoom unavailable \(Zoom answered 429/) });
      expect(cleanupRetryDelayMs(1)).toBe(CLEANUP_RETRY_BASE_MS);
      expect(await h.schedule.get(object.uuid)).toMatchObject({ state: 'scheduled', attempts: 1, dueAt: first + 5 * MINUTE });
      expect(postponed!.note).toContain(new Date(first + 5 * MINUTE).toISOString());
      expect(h.logged.some((line) => line.level === 'warn' && line.message === 'clean-up postponed')).toBe(true);
      expect(h.logged.some((line) => line.level === 'error')).toBe(false);

      h.clock.now = first + 5 * MINUTE - 1;
      expect(await runDueCleanups(h.runDeps(rules))).toEqual([]);
      const second = first + 5 * MINUTE;
      h.clock.now = second;
      expect(countOutcomes(await runDueCleanups(h.runDeps(rules)))).toEqual({ postponed: 1 });
      expect(await h.schedule.get(object.uuid)).toMatchObject({ state: 'scheduled', attempts: 2, dueAt: second + 10 * MINUTE });

      h.clock.now = second + 10 * MINUTE;
      expect(countOutcomes(await runDueCleanups(h.runDeps(rules)))).toEqual({ trashed: 1 });
      expect(h.zoom.trashCalls).toEqual([object.uuid, object.uuid, object.uuid]);
      expect(h.zoom.trashed).toEqual(new Set([object.uuid]));
      expect(trashedEvents(h)).toHaveLength(1);
    });

    it('Zoom unavailable at the GET is postponed too, without a DELETE', async () => {
      const h = harness();
      const rules = rulesFor(ON);
      const object = await archivedLesson(h, rules);
      h.zoom.failGet = [new ZoomApiError('Zoom answered 503 to GET past 3 retries', 'unavailable', { status: 503 })];
      h.clock.now = T0 + 24 * HOUR;

      expect(await runDueCleanups(h.runDeps(rules))).toMatchObject([{ outcome: 'postponed' }]);
      expect(await h.schedule.get(object.uuid)).toMatchObject({ state: 'scheduled', attempts: 1, dueAt: T0 + 24 * HOUR + 5 * MINUTE });
      expect((await h.schedule.get(object.uuid))?.trashRequestedAt).toBeUndefined();
      expect(h.zoom.trashCalls).toEqual([]);
    });

    it('a refusal (missing scope): failed with Zoom\'s message for a person, never a token; tried again after the back-off', async () => {
      const h = harness();
      const rules = rulesFor(ON);
      const object = await archivedLesson(h, rules);
      const message =
        'Zoom refused DELETE /meetings/x/recordings with 400 (code 4711: Invalid access token, does not contain scopes) : the app lacks the scope cloud_recording:delete:meeting_recording:admin (classic: recording:write:admin)';
      h.zoom.failTrash = [new ZoomApiError(message, 'unauthorized', { status: 400, zoomCode: 4711 }, { cause: new Error(`Bearer ${TOKEN}`) })];
      const due = T0 + 24 * HOUR;
      h.clock.now = due;

      const [result] = await runDueCleanups(h.runDeps(rules));

      expect(result).toEqual({ recordingId: object.uuid, course: COURSE, outcome: 'failed', note: `not trashed (${message}); trying again at ${new Date(due + 5 * MINUTE).toISOString()}` });
      const entry = await h.schedule.get(object.uuid);
      expect(entry).toMatchObject({ state: 'scheduled', attempts: 1, dueAt: due + 5 * MINUTE, note: expect.stringContaining('cloud_recording:delete:meeting_recording:admin') });
      for (const text of [entry!.note!, result!.note!, JSON.stringify(h.logged)]) expect(text).not.toContain(TOKEN);
      expect(h.logged.some((line) => line.level === 'error' && line.message === 'clean-up failed')).toBe(true);
      expect(h.publisher.published).toEqual([]);

      // Once the scope is granted, the next attempt trashes it.
      h.clock.now = due + 5 * MINUTE;
      expect(countOutcomes(await runDueCleanups(h.runDeps(rules)))).toEqual({ trashed: 1 });
      expect(h.zoom.trashCalls).toEqual([object.uuid, object.uuid]);
      expect(trashedEvents(h)).toMatchObject([{ outcome: 'trashed' }]);
    });

    it('a store failure (not Zoom) while checking: failed and postponed, nothing trashed', async () => {
      const h = harness();
      const rules = rulesFor(ON);
      const object = await archivedLesson(h, rules);
      h.clock.now = T0 + 24 * HOUR;
      const deps = h.runDeps(rules);
      const broken: RunDeps = { ...deps, ledger: { get: async () => Promise.reject(new Error('disk I/O error')) } };

      expect(await runDueCleanups(broken)).toMatchObject([{ recordingId: object.uuid, outcome: 'failed', note: expect.stringMatching(/^not trashed \(disk I\/O error\)/) }]);
      expect(await h.schedule.get(object.uuid)).toMatchObject({ state: 'scheduled', attempts: 1 });
      expect(h.zoom.trashCalls).toEqual([]);
    });

    it('a claim that fails (the store) is reported as failed, and the other due recordings are still tried', async () => {
      const h = harness();
      const rules = rulesFor(ON);
      const first = await archivedLesson(h, rules, 'a');
      const second = await archivedLesson(h, rules, 'b');
      h.clock.now = T0 + 24 * HOUR;
      const real = h.schedule;
      const flaky = Object.create(real) as SqliteCleanupSchedule;
      flaky.claim = async (recordingId, ...rest) => {
        if (recordingId === first.uuid) throw new Error('database is locked');
        return real.claim(recordingId, ...rest);
      };

      const results = await runDueCleanups(h.runDeps(rules, { schedule: flaky }));

      expect(results).toEqual([
        { recordingId: first.uuid, course: COURSE, outcome: 'failed', note: 'database is locked' },
        expect.objectContaining({ recordingId: second.uuid, outcome: 'trashed' }),
      ]);
      expect(h.zoom.trashCalls).toEqual([second.uuid]);
      expect(await h.schedule.get(first.uuid)).toMatchObject({ state: 'scheduled' });
    });
  });

  it('two runners at once (two connections to the schedule): exactly one DELETE, one event', async () => {
    const h = harness();
    const rules = rulesFor(ON);
    const objects = [await archivedLesson(h, rules, 'a'), await archivedLesson(h, rules, 'b'), await archivedLesson(h, rules, 'c')];
    h.clock.now = T0 + 24 * HOUR;
    const other = h.otherSchedule();

    const [first, second] = await Promise.all([
      runDueCleanups(h.runDeps(rules, { owner: 'runner-a' })),
      runDueCleanups(h.runDeps(rules, { owner: 'runner-b', schedule: other })),
    ]);

    const all = [...first, ...second];
    expect(countOutcomes(all).trashed).toBe(3);
    // They did race: each listed all three, and whoever lost a claim skipped it.
    expect(all).toHaveLength(6);
    expect(countOutcomes(all).skipped).toBe(3);
    expect(all.every((r) => r.outcome === 'trashed' || r.outcome === 'skipped')).toBe(true);
    expect([...h.zoom.trashCalls].sort()).toEqual(objects.map((o) => o.uuid).sort());
    expect(trashedEvents(h).map((e) => e.recordingId).sort()).toEqual(objects.map((o) => o.uuid).sort());
    for (const object of objects) expect(await other.get(object.uuid)).toMatchObject({ state: 'trashed' });
  });

  it('cleanUpRecording of a recording that is not due, or not scheduled: skipped, nothing asked of Zoom', async () => {
    const h = harness();
    const rules = rulesFor(ON);
    const object = await archivedLesson(h, rules);

    expect(await cleanUpRecording(object.uuid, h.runDeps(rules))).toEqual({ recordingId: object.uuid, course: '', outcome: 'skipped' });
    expect(await cleanUpRecording('never-scheduled', h.runDeps(rules))).toMatchObject({ outcome: 'skipped' });
    expect(h.zoom.getCalls).toEqual([]);
    expect(await h.schedule.get(object.uuid)).toMatchObject({ state: 'scheduled' });

    h.clock.now = T0 + 24 * HOUR;
    expect(await cleanUpRecording(object.uuid, h.runDeps(rules))).toMatchObject({ outcome: 'trashed' });
  });

  it('stops taking recordings at the deadline, and after an abort', async () => {
    const h = harness();
    const rules = rulesFor(ON);
    await archivedLesson(h, rules, 'a');
    await archivedLesson(h, rules, 'b');
    h.clock.now = T0 + 24 * HOUR;

    expect(await runDueCleanups(h.runDeps(rules), { deadlineAt: h.clock.now })).toEqual([]);
    const aborted = new AbortController();
    aborted.abort();
    expect(await runDueCleanups(h.runDeps(rules), { signal: aborted.signal })).toEqual([]);
    expect(await runDueCleanups(h.runDeps(rules), { limit: 1 })).toHaveLength(1);
    expect(h.zoom.trashCalls).toHaveLength(1);
  });
});

describe('judgeRecording / judgeObject (the check)', () => {
  it('trash: the verified files with location, size and checksum; the other files (M4A, CHAT) listed', async () => {
    const h = harness();
    const rules = rulesFor(ON);
    const object = h.zoom.add(lesson());
    const result = await archiveFile(h, object, 'f-mp4');

    const verdict = await judgeRecording(object.uuid, { zoom: h.zoom, ledger: h.ledger, archive: { head: async () => ({ size: result.size, metadata: {} }) }, rules, now: h.now });

    expect(verdict).toEqual({
      kind: 'trash',
      facts: { recordingId: object.uuid, meetingId: '81234567890', topic: TOPIC, startTime: object.start_time, course: COURSE },
      archivedFiles: [{ fileId: 'f-mp4', location: locationOf('f-mp4'), size: result.size, checksum: { algorithm: 'sha256', value: sha256Of('f-mp4') } }],
      otherFiles: [
        { fileId: 'f-m4a', fileType: 'M4A', recordingType: 'audio_only', fileSize: 4_000_000 },
        { fileId: 'f-chat', fileType: 'CHAT', recordingType: 'chat_file', fileSize: 1_234 },
      ],
    });
  });

  it('gone when Zoom has no such recording', async () => {
    const h = harness();
    expect(await judgeRecording('nothing-here==', { zoom: h.zoom, ledger: h.ledger, rules: rulesFor(ON), now: h.now })).toEqual({ kind: 'gone' });
  });

  it('never for an excepted course, hold for a file not archived, never for a rejected recording', async () => {
    const h = harness();
    const object = lesson();
    const deps = { ledger: h.ledger, now: h.now };

    expect(await judgeObject(object, { ...deps, rules: rulesFor({ ...ON, exceptCourses: [COURSE] }) })).toMatchObject({ kind: 'never', facts: { course: COURSE } });
    expect(await judgeObject(object, { ...deps, rules: rulesFor(ON) })).toMatchObject({ kind: 'hold', reason: expect.stringMatching(/f-mp4 not in the ledger/) });
    expect(await judgeObject({ ...object, topic: 'Office hours' }, { ...deps, rules: rulesFor(ON) })).toMatchObject({ kind: 'never', facts: { course: undefined } });
  });

  it('with files.fileTypes selecting M4A, the audio is archived (must be verified) instead of going to the trash', async () => {
    const h = harness();
    const rules = rulesFor(ON, { files: { fileTypes: ['MP4', 'M4A'] } });
    const object = lesson();
    await archiveFile(h, object, 'f-mp4');

    expect(await judgeObject(object, { ledger: h.ledger, rules, now: h.now })).toMatchObject({ kind: 'hold', reason: expect.stringMatching(/f-m4a not in the ledger/) });
    await archiveFile(h, object, 'f-m4a');
    const verdict = await judgeObject(object, { ledger: h.ledger, rules, now: h.now });
    expect(verdict.kind).toBe('trash');
    if (verdict.kind !== 'trash') throw new Error('unreachable');
    expect(verdict.archivedFiles.map((f) => f.fileId)).toEqual(['f-mp4', 'f-m4a']);
    expect(verdict.otherFiles.map((f) => f.fileId)).toEqual(['f-chat']);
  });
});

describe('what people see of the two events: the audit summary and Slack', () => {
  async function bothEvents(): Promise<{ wouldTrash: DetailOf<typeof DetailType.RecordingWouldBeTrashed>; trashed: DetailOf<typeof DetailType.RecordingTrashedInZoom> }> {
    const h = harness();
    const object = await archivedLesson(h, rulesFor(DRY_RUN));
    h.clock.now = T0 + 24 * HOUR;
    await runDueCleanups(h.runDeps(rulesFor(DRY_RUN)));
    await runDueCleanups(h.runDeps(rulesFor(ON)));
    const [wouldTrash] = wouldTrashEvents(h);
    const [trashed] = trashedEvents(h);
    expect(wouldTrash?.recordingId).toBe(object.uuid);
    expect(trashed?.recordingId).toBe(object.uuid);
    return { wouldTrash: wouldTrash!, trashed: trashed! };
  }

  it('the events carry the verified file with its checksum and the unarchived files, never a download URL', async () => {
    const { wouldTrash, trashed } = await bothEvents();
    for (const detail of [wouldTrash, trashed]) {
      expect(detail.archivedFiles).toEqual([{ fileId: 'f-mp4', location: locationOf('f-mp4'), size: 50_000_005, checksum: { algorithm: 'sha256', value: sha256Of('f-mp4') } }]);
      expect(detail.otherFiles.map((f) => [f.fileId, f.fileType])).toEqual([
        ['f-m4a', 'M4A'],
        ['f-chat', 'CHAT'],
      ]);
      expect(JSON.stringify(detail)).not.toMatch(new RegExp(`${URL_MARKER}|download_url|downloadUrl|ssrweb`));
    }
  });

  it('toAuditRecord: counts in the summary, bytes and types in the data, no URL', async () => {
    const { wouldTrash, trashed } = await bothEvents();

    const dry = toAuditRecord({ id: 'ev-1', time: '2026-03-03T09:00:00Z', detailType: DetailType.RecordingWouldBeTrashed, detail: wouldTrash });
    const done = toAuditRecord({ id: 'ev-2', time: '2026-03-03T09:00:01Z', detailType: DetailType.RecordingTrashedInZoom, detail: trashed });

    expect(dry).toMatchObject({ recordingId: wouldTrash.recordingId, course: COURSE, problem: false, detailType: DetailType.RecordingWouldBeTrashed });
    expect(dry.summary).toBe("dry run: would move to Zoom's trash now (1 file(s) verified in the archive, 2 unarchived file(s) would go with it); nothing deleted");
    expect(done.summary).toBe("moved to Zoom's trash: 1 file(s) verified in the archive, 2 unarchived file(s) went with it; Zoom keeps its trash 30 days");
    for (const record of [dry, done]) {
      expect(record.data).toMatchObject({ archivedFiles: 1, archivedBytes: 50_000_005, otherFiles: 2, otherFileTypes: 'M4A,CHAT', meetingId: '81234567890' });
      expect(JSON.stringify(record)).not.toMatch(new RegExp(`${URL_MARKER}|ssrweb|token`, 'i'));
    }
    expect(done.data).toMatchObject({ outcome: 'trashed' });

    const again = toAuditRecord({ id: 'ev-3', time: '2026-03-03T09:00:02Z', detailType: DetailType.RecordingTrashedInZoom, detail: { ...trashed, outcome: 'already_in_trash', otherFiles: [] } });
    expect(again.summary).toMatch(/^moved to Zoom's trash \(Zoom already had it there.*\): 1 file\(s\) verified in the archive; Zoom keeps/);
  });

  it('slackText: counts, size and file types, a status command, no URL', async () => {
    const { wouldTrash, trashed } = await bothEvents();

    const dry = slackText({ id: 'msg-1', type: DetailType.RecordingWouldBeTrashed, data: wouldTrash });
    const done = slackText({ id: 'msg-2', type: DetailType.RecordingTrashedInZoom, data: trashed });

    expect(dry).toMatch(/^:eyes: Dry run/);
    expect(dry).toContain('would now move to Zoom\'s trash — 1 file, ');
    expect(dry).toContain('2 unarchived files (M4A, CHAT) would go with it. Nothing was deleted.');
    expect(done).toMatch(/^:wastebasket: Moved to Zoom's trash/);
    expect(done).toContain('— 1 file, ');
    expect(done).toContain('2 unarchived files (M4A, CHAT) went with it. Zoom keeps its trash 30 days.');
    for (const text of [dry, done]) {
      expect(text).toContain(COURSE);
      expect(text).toContain('Maqam Bayati');
      expect(text).toContain(`zoom-archiver status --recording ${trashed.recordingId}`);
      expect(text).toMatch(/47\.7 MiB verified in the archive/);
      expect(text).not.toMatch(new RegExp(`${URL_MARKER}|ssrweb|token|https?://`, 'i'));
    }
  });
});
