/**
 * Clean-up in Zoom end to end on the single-machine runtime: the simulated Zoom
 * delivers signed webhooks to the real HTTP server, the files are archived (SQLite
 * ledger, folder archive), the clean-up consumer schedules each archived recording in
 * DATA_DIR/cleanup.sqlite, and serve's clean-up run (every CLEANUP_CHECK_INTERVAL_SECONDS,
 * 1 s here) re-reads the recording from the simulator's REST API and sends the real
 * DELETE /v2/meetings/{uuid}/recordings?action=trash. Every case asserts on what the
 * simulator received (trashCalls: the HTTP requests themselves), on the audit trail and,
 * where something was trashed, on the archived bytes.
 *
 * Absence ("no DELETE") is only asserted after a positive event proved the pipeline got
 * past the point where a DELETE could have been decided (a failure or a rejection in the
 * audit trail, a held entry, a witness recording trashed meanwhile), and then after a
 * bounded extra wait of a few check intervals.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteAuditLog } from '../../shared/adapters/audit-sqlite';
import { SqliteCleanupSchedule } from '../../shared/adapters/cleanup-sqlite';
import { DetailType } from '../../shared/events';
import type { AuditRecord } from '../../shared/ports/audit-log';
import type { CleanupEntry } from '../../shared/ports/cleanup-schedule';
import { loadRuntimeConfig } from '../../host/config';
import { dataPaths } from '../../host/paths';
import type { CleanupListing } from '../../host/cli/cleanup';
import {
  startZoomSimulator,
  zoomEnvFor,
  type SimulatedFileSpec,
  type SimulatedRecording,
  type SimulatedRecordingSpec,
  type ZoomSimulator,
} from '../../tools/zoom-simulator/simulator';
import { startSimulatedRuntime, type SimulatedRuntime } from '../support/runtime';
import { runCommand, startServe, type ServeProcess } from '../support/serve-process';
import { waitFor } from '../support/wait-for';

jest.setTimeout(60_000);

const SECRET = 'cleanup-runtime-test-secret';
const MiB = 1024 * 1024;
const CHECK_INTERVAL_MS = 1_000;
/** "A few check intervals": the bounded wait after a positive event, before asserting that nothing (more) happened. */
const FEW_INTERVALS_MS = 3 * CHECK_INTERVAL_MS;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const mp4 = (size: number, recordingType: string): SimulatedFileSpec => ({
  fileType: 'MP4',
  size,
  recordingType,
  recordingStart: '2026-11-26T09:00:00Z',
  recordingEnd: '2026-11-26T09:30:00Z',
});
const transcript = (): SimulatedFileSpec => ({ fileType: 'TRANSCRIPT', content: 'WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.000\nGood morning.\n', recordingStart: '2026-11-26T09:00:00Z', recordingEnd: '2026-11-26T09:30:00Z' });

/** The archiver config of these tests: MP4s and transcripts are archived (M4A, CHAT are not), EXC101 stays in Zoom. */
const archiverConfig = (cleanup: Record<string, unknown>) =>
  JSON.stringify({ files: { fileTypes: ['MP4', 'TRANSCRIPT'] }, cleanup: { delayHours: 0, exceptCourses: ['EXC101'], ...cleanup } });

const ofType = (records: readonly AuditRecord[], detailType: string) => records.filter((r) => r.detailType === detailType);

/** The schedule entry as serve's worker wrote it (a connection of its own, reads only). */
async function scheduleEntry(dataDir: string, recordingId: string): Promise<CleanupEntry | undefined> {
  const schedule = new SqliteCleanupSchedule({ path: dataPaths(dataDir).cleanup });
  try {
    return await schedule.get(recordingId);
  } finally {
    schedule.close();
  }
}

const deletesFor = (simulator: ZoomSimulator, uuid: string) => simulator.trashCalls().filter((call) => call.uuid === uuid);

/** A Zoom-shaped meeting UUID (base64 of 16 bytes) with the given characters written over it at `at`. */
function uuidWith(chars: string, at: number): string {
  const base = randomBytes(16).toString('base64').replace(/\//g, 'A');
  return base.slice(0, at) + chars + base.slice(at + chars.length);
}

/** Zoom's rule for a meeting UUID in a path: double-encoded when it starts with `/` or contains `//`. */
const meetingPath = (uuid: string) => {
  const once = encodeURIComponent(uuid);
  return uuid.startsWith('/') || uuid.includes('//') ? encodeURIComponent(once) : once;
};

async function oauthToken(simulator: ZoomSimulator): Promise<string> {
  const response = await fetch(simulator.oauthTokenUrl, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${simulator.clientId}:${simulator.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: `grant_type=account_credentials&account_id=${simulator.accountId}`,
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** GET /v2/meetings/{uuid}/recordings on the simulator, as any Zoom client would: the status and the files it lists. */
async function zoomRecording(simulator: ZoomSimulator, uuid: string): Promise<{ status: number; fileIds: string[] }> {
  const response = await fetch(`${simulator.apiBaseUrl}/meetings/${meetingPath(uuid)}/recordings`, { headers: { authorization: `Bearer ${await oauthToken(simulator)}` } });
  const body = (await response.json()) as { recording_files?: { id?: string }[] };
  return { status: response.status, fileIds: (body.recording_files ?? []).flatMap((f) => (f.id ? [f.id] : [])) };
}

describe('clean-up in Zoom on serve: trashInZoom "on", delayHours 0', () => {
  let sim: SimulatedRuntime;
  beforeAll(async () => {
    sim = await startSimulatedRuntime({
      secret: SECRET,
      dirPrefix: 'cleanup-on-',
      env: { ARCHIVER_CONFIG_JSON: archiverConfig({ trashInZoom: 'on' }), CLEANUP_CHECK_INTERVAL_SECONDS: String(CHECK_INTERVAL_MS / 1000), UPLOAD_CONCURRENCY: '3' },
    });
  });
  afterAll(() => sim?.stop());

  const history = (recording: SimulatedRecording) => sim.runtime.auditLog.recordingHistory(recording.uuid);
  const deliver = async (payload: unknown, timestampSeconds?: number) => {
    const answer = await sim.simulator.deliverWebhook(sim.webhookUrl, payload, timestampSeconds === undefined ? {} : { timestampSeconds });
    expect(answer.status).toBe(200);
  };
  const waitTrashed = (uuid: string, timeoutMs = 20_000) =>
    waitFor(`${uuid} in the simulator's trash (DELETEs so far: ${JSON.stringify(sim.simulator.trashCalls())})`, () => (sim.simulator.trashedRecordings().includes(uuid) ? true : undefined), timeoutMs);
  /** A course recording delivered and trashed: the clean-up run is alive and past whatever was delivered before it. */
  const witnessTrashed = async (topic: string) => {
    const witness = await sim.simulator.addRecording({ topic, files: [mp4(64 * 1024, 'speaker_view')] });
    await deliver(witness.payload);
    await waitTrashed(witness.uuid);
    return witness;
  };

  it('a. trashes a course recording once, after every selected file is verified, despite three deliveries of its webhook', async () => {
    const recording = await sim.simulator.addRecording({
      topic: '[CLN101] Clean-up lesson 1',
      files: [mp4(2 * MiB + 13, 'shared_screen_with_speaker_view'), mp4(MiB + 7, 'gallery_view'), { fileType: 'M4A', size: 300_001 }, { fileType: 'CHAT', content: 'hello class' }],
    });
    const [first, second, audio, chat] = recording.files;

    // Zoom's duplicates: separate deliveries, each signed at its own time.
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 3; i++) await deliver(recording.payload, now - i);

    await waitTrashed(recording.uuid);
    const trashedAt = Date.now();
    await sleep(FEW_INTERVALS_MS); // a second DELETE, had one been coming (a duplicate delivery, a rescheduled entry), would be sent by now
    await sim.runtime.bus.idle();

    const deletes = deletesFor(sim.simulator, recording.uuid);
    expect(deletes).toEqual([{ uuid: recording.uuid, action: 'trash', status: 204 }]);
    expect(sim.simulator.permanentlyDeleted()).toEqual([]);
    expect((await zoomRecording(sim.simulator, recording.uuid)).status).toBe(404);

    const records = await history(recording);
    // The three deliveries were one recording: each file downloaded once, one RecordingArchived.
    expect(ofType(records, DetailType.RecordingAvailable)).toHaveLength(3);
    expect(ofType(records, DetailType.RecordingArchived)).toHaveLength(1);
    const uploads = ofType(records, DetailType.FileUploaded);
    expect(uploads.map((r) => r.fileId).sort()).toEqual([first!.fileId, second!.fileId].sort());
    for (const upload of uploads) {
      expect(await sim.archivedSha(String(upload.data.key))).toBe(await sim.simulator.expectedSha256(upload.fileId!));
      expect(sim.simulator.stats(upload.fileId!).completedDownloads).toBe(1);
    }
    expect(sim.simulator.stats(audio!.fileId).downloadRequests).toBe(0);
    expect(sim.simulator.stats(chat!.fileId).downloadRequests).toBe(0);

    const trashed = ofType(records, DetailType.RecordingTrashedInZoom);
    expect(trashed).toHaveLength(1);
    expect(trashed[0]!.course).toBe('CLN101');
    expect(trashed[0]!.data).toMatchObject({ outcome: 'trashed', archivedFiles: 2, archivedBytes: 3 * MiB + 20, otherFiles: 2 });
    expect(String(trashed[0]!.data.otherFileTypes).split(',').sort()).toEqual(['CHAT', 'M4A']);
    expect(trashed[0]!.summary).toContain("moved to Zoom's trash: 2 file(s) verified in the archive, 2 unarchived file(s) went with it");
    // The event is recorded once Zoom has answered the DELETE, not before it was sent.
    const deleteRequest = sim.simulator.requestLog.filter((entry) => entry.method === 'DELETE' && entry.path === `/v2/meetings/${meetingPath(recording.uuid)}/recordings`);
    expect(deleteRequest).toHaveLength(1);
    expect(Date.parse(String(trashed[0]!.data.trashedAt))).toBeGreaterThanOrEqual(Date.parse(deleteRequest[0]!.at));
    expect(Date.parse(String(trashed[0]!.data.trashedAt))).toBeLessThanOrEqual(trashedAt + CHECK_INTERVAL_MS);
    expect(ofType(records, DetailType.RecordingWouldBeTrashed)).toHaveLength(0);

    expect(await scheduleEntry(sim.dir, recording.uuid)).toMatchObject({ state: 'trashed', outcome: 'trashed', course: 'CLN101' });
  });

  it('b1. never trashes a recording one of whose selected files failed: with the MP4 of the same delivery failed, it is never even scheduled', async () => {
    const recording = await sim.simulator.addRecording({ topic: '[CLN102] One file gone', files: [mp4(MiB, 'speaker_view'), mp4(MiB + 1, 'gallery_view')] });
    const [ok, broken] = recording.files;
    sim.simulator.setFault(broken!.fileId, { status: 404 }); // forever

    await deliver(recording.payload);
    const failure = await waitFor('FileUploadFailed in the audit trail', async () => ofType(await history(recording), DetailType.FileUploadFailed)[0], 20_000);
    expect(failure).toMatchObject({ fileId: broken!.fileId, data: expect.objectContaining({ code: 'not_found', retryable: false }) });
    await waitFor('the other file archived', async () => ofType(await history(recording), DetailType.FileUploaded)[0], 20_000);
    await sim.runtime.bus.idle(); // every consumer, the clean-up's included, has seen all there is to see
    await witnessTrashed('[CLN902] Witness for b1'); // the clean-up run trashes what is due meanwhile
    await sleep(FEW_INTERVALS_MS);

    expect(deletesFor(sim.simulator, recording.uuid)).toEqual([]);
    expect((await zoomRecording(sim.simulator, recording.uuid)).fileIds.sort()).toEqual([ok!.fileId, broken!.fileId].sort());
    // What the product does: the uploader announces RecordingArchived only once every accepted file of the delivery is
    // uploaded (services/uploader/use-case.ts, announceIfGroupComplete), and RecordingArchived is the clean-up's only
    // trigger, so a recording with a failed file is never scheduled — no schedule entry at all, rather than one `held`
    // (b2 shows the `held` entry, for a failure the schedule does see).
    const records = await history(recording);
    expect(ofType(records, DetailType.RecordingArchived)).toHaveLength(0);
    expect(await scheduleEntry(sim.dir, recording.uuid)).toBeUndefined();
    expect(ofType(records, DetailType.RecordingTrashedInZoom)).toHaveLength(0);
  });

  it('b2. holds back a scheduled recording whose late transcript failed: the entry is held, naming the file, and nothing is trashed', async () => {
    // Zoom sends recording.completed (the videos) and recording.transcript_completed (the transcript) as two webhooks,
    // delivered (and retried) independently. Here the transcript's arrives first and its download fails for good; the
    // videos' then archive and schedule the recording — but Zoom's copy still holds the failed transcript, which the
    // check at the due time re-reads from the API and finds failed in the ledger.
    const recording = await sim.simulator.addRecording({ topic: '[CLN103] Transcript gone', files: [mp4(MiB, 'speaker_view'), transcript()] });
    const [video, vtt] = recording.files;
    sim.simulator.setFault(vtt!.fileId, { status: 404 });
    const only = (fileId: string, event: string) => {
      const payload = structuredClone(recording.payload);
      payload.event = event;
      payload.payload.object.recording_files = payload.payload.object.recording_files.filter((f) => f.id === fileId);
      return payload;
    };

    await deliver(only(vtt!.fileId, 'recording.transcript_completed'));
    await waitFor('the transcript failed in the audit trail', async () => ofType(await history(recording), DetailType.FileUploadFailed).find((r) => r.fileId === vtt!.fileId), 20_000);
    await deliver(only(video!.fileId, 'recording.completed'));
    await waitFor('the video archived (RecordingArchived)', async () => ofType(await history(recording), DetailType.RecordingArchived)[0], 20_000);

    const held = await waitFor('the schedule entry held back', async () => {
      const entry = await scheduleEntry(sim.dir, recording.uuid);
      return entry?.state === 'held' ? entry : undefined;
    }, 20_000);
    expect(held.course).toBe('CLN103');
    expect(held.note).toContain(vtt!.fileId);
    expect(held.note).toContain('not_found');
    expect(held.note).toContain('failed: nothing is trashed until every selected file is archived');
    expect(held.note).not.toContain(video!.fileId);

    await sleep(FEW_INTERVALS_MS);
    expect(deletesFor(sim.simulator, recording.uuid)).toEqual([]);
    expect(await scheduleEntry(sim.dir, recording.uuid)).toMatchObject({ state: 'held', note: held.note, version: held.version });
    expect((await zoomRecording(sim.simulator, recording.uuid)).status).toBe(200);
    expect(ofType(await history(recording), DetailType.RecordingTrashedInZoom)).toHaveLength(0);
  });

  it('c. never schedules or trashes a rejected meeting (a topic without a course code)', async () => {
    const recording = await sim.simulator.addRecording({ topic: 'Staff meeting [Draft] — budget', files: [mp4(MiB, 'speaker_view')] });
    await deliver(recording.payload);
    const rejected = await waitFor('RecordingRejected in the audit trail', async () => ofType(await history(recording), DetailType.RecordingRejected)[0], 20_000);
    expect(rejected.problem).toBe(true);
    await sim.runtime.bus.idle();
    await witnessTrashed('[CLN903] Witness for c');
    await sleep(FEW_INTERVALS_MS);

    expect(deletesFor(sim.simulator, recording.uuid)).toEqual([]);
    expect(await scheduleEntry(sim.dir, recording.uuid)).toBeUndefined();
    expect((await zoomRecording(sim.simulator, recording.uuid)).status).toBe(200);
    const records = await history(recording);
    expect(ofType(records, DetailType.FileUploaded)).toHaveLength(0);
    expect(ofType(records, DetailType.RecordingTrashedInZoom)).toHaveLength(0);
  });

  it('f. trashes recordings whose UUID starts with "/" or contains "//" (double-encoded, or the simulator answers 404)', async () => {
    const leading = await sim.simulator.addRecording({ uuid: uuidWith('/', 0), topic: '[CLN104] Leading slash', files: [mp4(200_000, 'speaker_view')] });
    const double = await sim.simulator.addRecording({ uuid: uuidWith('//', 9), topic: '[CLN105] Double slash', files: [mp4(210_000, 'speaker_view')] });
    expect(leading.uuid.startsWith('/')).toBe(true);
    expect(double.uuid).toContain('//');

    await deliver(leading.payload);
    await deliver(double.payload);
    await waitTrashed(leading.uuid);
    await waitTrashed(double.uuid);
    await sleep(FEW_INTERVALS_MS);

    // Decoded to the very UUID (a once-encoded path would be recorded as its raw segment, and answered 404).
    expect(deletesFor(sim.simulator, leading.uuid)).toEqual([{ uuid: leading.uuid, action: 'trash', status: 204 }]);
    expect(deletesFor(sim.simulator, double.uuid)).toEqual([{ uuid: double.uuid, action: 'trash', status: 204 }]);
    expect(sim.simulator.trashCalls().filter((call) => call.status !== 204)).toEqual([]);
    expect(sim.simulator.permanentlyDeleted()).toEqual([]);
    for (const recording of [leading, double]) {
      const records = await history(recording);
      const [upload] = ofType(records, DetailType.FileUploaded);
      expect(await sim.archivedSha(String(upload!.data.key))).toBe(await recording.files[0]!.sha256());
      expect(ofType(records, DetailType.RecordingTrashedInZoom)).toEqual([expect.objectContaining({ data: expect.objectContaining({ outcome: 'trashed', archivedFiles: 1 }) })]);
      expect((await zoomRecording(sim.simulator, recording.uuid)).status).toBe(404);
    }
  });

  it('h. never trashes a recording of a course in cleanup.exceptCourses (archived, never scheduled)', async () => {
    const recording = await sim.simulator.addRecording({ topic: '[EXC101] Kept in Zoom', files: [mp4(300_000, 'speaker_view')] });
    await deliver(recording.payload);
    const archived = await waitFor('RecordingArchived in the audit trail', async () => ofType(await history(recording), DetailType.RecordingArchived)[0], 20_000);
    expect(archived.course).toBe('EXC101');
    await sim.runtime.bus.idle(); // the clean-up consumer has had the RecordingArchived
    await witnessTrashed('[CLN904] Witness for h');
    await sleep(FEW_INTERVALS_MS);

    expect(deletesFor(sim.simulator, recording.uuid)).toEqual([]);
    expect(await scheduleEntry(sim.dir, recording.uuid)).toBeUndefined();
    expect((await zoomRecording(sim.simulator, recording.uuid)).status).toBe(200);
    expect(ofType(await history(recording), DetailType.RecordingTrashedInZoom)).toHaveLength(0);
    const [upload] = ofType(await history(recording), DetailType.FileUploaded);
    expect(await sim.archivedSha(String(upload!.data.key))).toBe(await recording.files[0]!.sha256());
  });
});

describe('clean-up in Zoom on serve: trashInZoom "dry-run", and the cleanup command', () => {
  let sim: SimulatedRuntime;
  /** The environment `zoom-archiver` commands get: the same data folder and Zoom app; `cleanup` as given. */
  let cliEnv: (cleanup: Record<string, unknown>) => Record<string, string>;
  beforeAll(async () => {
    sim = await startSimulatedRuntime({
      secret: SECRET,
      dirPrefix: 'cleanup-dry-',
      env: { ARCHIVER_CONFIG_JSON: archiverConfig({ trashInZoom: 'dry-run' }), CLEANUP_CHECK_INTERVAL_SECONDS: String(CHECK_INTERVAL_MS / 1000) },
    });
    cliEnv = (cleanup) => ({ DATA_DIR: sim.dir, ZOOM_WEBHOOK_SECRET_TOKEN: SECRET, ...zoomEnvFor(sim.simulator), ARCHIVER_CONFIG_JSON: archiverConfig(cleanup) });
  });
  afterAll(() => sim?.stop());

  const history = (recording: SimulatedRecording) => sim.runtime.auditLog.recordingHistory(recording.uuid);
  const deliverAndWaitDryRun = async (spec: SimulatedRecordingSpec) => {
    const recording = await sim.simulator.addRecording(spec);
    expect((await sim.simulator.deliverWebhook(sim.webhookUrl, recording.payload)).status).toBe(200);
    const event = await waitFor('RecordingWouldBeTrashed in the audit trail', async () => ofType(await history(recording), DetailType.RecordingWouldBeTrashed)[0], 20_000);
    return { recording, event };
  };

  it('d. dry-run deletes nothing: RecordingWouldBeTrashed once, no DELETE, the recording still in Zoom', async () => {
    const { recording, event } = await deliverAndWaitDryRun({
      topic: '[DRY101] Dry run lesson',
      files: [mp4(MiB + 3, 'speaker_view'), mp4(MiB, 'gallery_view'), { fileType: 'M4A', size: 100_000 }],
    });
    expect(event.course).toBe('DRY101');
    expect(event.data).toMatchObject({ archivedFiles: 2, otherFiles: 1, otherFileTypes: 'M4A' });
    expect(event.summary).toContain("dry run: would move to Zoom's trash now");
    expect(event.summary).toContain('nothing deleted');
    await sleep(FEW_INTERVALS_MS); // the dry run decides once: no second event, no DELETE on a later run
    await sim.runtime.bus.idle();

    expect(sim.simulator.trashCalls()).toEqual([]);
    expect(sim.simulator.trashedRecordings()).toEqual([]);
    expect(sim.simulator.permanentlyDeleted()).toEqual([]);
    expect((await zoomRecording(sim.simulator, recording.uuid)).fileIds.sort()).toEqual(recording.files.map((f) => f.fileId).sort());
    const records = await history(recording);
    expect(ofType(records, DetailType.RecordingWouldBeTrashed)).toHaveLength(1);
    expect(ofType(records, DetailType.RecordingTrashedInZoom)).toHaveLength(0);
    for (const upload of ofType(records, DetailType.FileUploaded)) {
      expect(await sim.archivedSha(String(upload.data.key))).toBe(await sim.simulator.expectedSha256(upload.fileId!));
    }
    expect(await scheduleEntry(sim.dir, recording.uuid)).toMatchObject({ state: 'would_trash', course: 'DRY101' });
  });

  it('i. `cleanup --dry-run` says it would trash a due recording and sends nothing; `cleanup --json` trashes it once; `status --recording` shows it', async () => {
    // serve (dry-run) has decided it would trash it; the command runs with trashInZoom "on", so the entry is due for it
    // (switching from the dry run to "on" trashes what the dry run announced, re-checked first).
    const { recording } = await deliverAndWaitDryRun({ topic: '[DRY102] Command lesson', files: [mp4(MiB, 'speaker_view'), { fileType: 'CHAT', content: 'questions?' }] });
    const on = cliEnv({ trashInZoom: 'on' });

    const dryRun = await runCommand(['cleanup', '--dry-run'], on);
    expect(dryRun.code).toBe(0);
    expect(dryRun.output).toContain('Clean-up in Zoom: trashInZoom "on"');
    expect(dryRun.output).toContain(recording.uuid);
    expect(dryRun.output).toContain('would be trashed now: 1 file(s) verified in the archive');
    expect(dryRun.output).toContain('Dry run: nothing was changed or deleted.');
    expect(sim.simulator.trashCalls()).toEqual([]);
    expect(await scheduleEntry(sim.dir, recording.uuid)).toMatchObject({ state: 'would_trash' });

    const run = await runCommand(['cleanup', '--json'], on);
    expect(run.code).toBe(0);
    const listing = JSON.parse(run.output) as CleanupListing;
    expect(listing).toMatchObject({ mode: 'on', delayHours: 0, exceptCourses: ['EXC101'] });
    // Every entry the dry run announced is due for "on": this one, and d's (which d is done with).
    expect(listing.ran?.find((r) => r.recordingId === recording.uuid)).toEqual({ recordingId: recording.uuid, course: 'DRY102', outcome: 'trashed', archivedFiles: 1, otherFiles: 1 });
    expect(listing.ran?.every((r) => r.outcome === 'trashed')).toBe(true);
    expect(sim.simulator.trashCalls()).toHaveLength(listing.ran!.length);
    expect(listing.entries.find((e) => e.recordingId === recording.uuid)).toMatchObject({ course: 'DRY102', state: 'trashed', outcome: 'trashed', due: false });
    expect(deletesFor(sim.simulator, recording.uuid)).toEqual([{ uuid: recording.uuid, action: 'trash', status: 204 }]);
    expect(sim.simulator.permanentlyDeleted()).toEqual([]);

    // The command's RecordingTrashedInZoom went to bus.sqlite; the running serve delivers it to the audit trail.
    const trashed = await waitFor('RecordingTrashedInZoom in the audit trail', async () => ofType(await history(recording), DetailType.RecordingTrashedInZoom)[0], 20_000);
    expect(trashed.data).toMatchObject({ outcome: 'trashed', archivedFiles: 1, otherFiles: 1, otherFileTypes: 'CHAT' });

    // A second run finds nothing due, and sends nothing.
    const again = await runCommand(['cleanup'], on);
    expect(again.code).toBe(0);
    expect(again.output).toContain('Nothing was due.');
    expect(deletesFor(sim.simulator, recording.uuid)).toHaveLength(1);

    const status = await runCommand(['status', '--recording', recording.uuid, '--data-dir', sim.dir], on);
    expect(status.code).toBe(0);
    expect(status.output).toMatch(/Clean-up in Zoom: moved to Zoom's trash \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; Zoom keeps it there 30 days/);
    expect(status.output).toContain('RecordingTrashedIn'); // the table cuts the detail-type; --json has it whole
    expect(status.output).toContain("moved to Zoom's trash: 1 file(s) verified in the archive");
    const statusJson = await runCommand(['status', '--recording', recording.uuid, '--json', '--data-dir', sim.dir], on);
    expect(statusJson.code).toBe(0);
    const events = JSON.parse(statusJson.output) as AuditRecord[];
    expect(events.map((e) => e.detailType)).toEqual(expect.arrayContaining([DetailType.RecordingArchived, DetailType.RecordingWouldBeTrashed, DetailType.RecordingTrashedInZoom]));
    expect(events.filter((e) => e.detailType === DetailType.RecordingTrashedInZoom)).toEqual([expect.objectContaining({ recordingId: recording.uuid, course: 'DRY102' })]);
  });
});

describe('clean-up in Zoom across a restart of the serve process', () => {
  let simulator: ZoomSimulator;
  let dir: string;
  const running: ServeProcess[] = [];
  beforeAll(async () => {
    simulator = await startZoomSimulator({ webhookSecret: SECRET });
    dir = mkdtempSync(join(tmpdir(), 'cleanup-restart-'));
  });
  afterAll(async () => {
    for (const serve of running) await serve.kill('SIGKILL');
    await simulator?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('e. a pending delay survives kill -9: trashed once after the restart, and not before the due time', async () => {
    const env = {
      DATA_DIR: dir,
      ZOOM_WEBHOOK_SECRET_TOKEN: SECRET,
      ...zoomEnvFor(simulator),
      // 0.002 h = 7.2 s: long enough to kill and restart serve before it is due.
      ARCHIVER_CONFIG_JSON: archiverConfig({ trashInZoom: 'on', delayHours: 0.002 }),
      CLEANUP_CHECK_INTERVAL_SECONDS: '1',
    };
    const recording = await simulator.addRecording({ topic: '[RST101] Restarted', files: [mp4(MiB, 'speaker_view'), mp4(512 * 1024, 'gallery_view')] });

    const first = await startServe(env);
    running.push(first);
    expect((await simulator.deliverWebhook(`${first.url}/webhooks/zoom`, recording.payload)).status).toBe(200);
    const scheduled = await waitFor('the recording scheduled in cleanup.sqlite', async () => {
      const entry = await scheduleEntry(dir, recording.uuid);
      return entry?.state === 'scheduled' ? entry : undefined;
    }, 20_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const killedAt = Date.now();
    expect(killedAt).toBeLessThan(scheduled.dueAt); // killed before it was due, or the test shows nothing
    expect(scheduled.dueAt - scheduled.createdAt).toBe(Math.round(0.002 * 3_600_000));
    expect(simulator.trashCalls()).toEqual([]);

    const second = await startServe(env);
    running.push(second);
    const restartedAt = Date.now();
    await waitFor('the recording in the trash after the restart', () => (simulator.trashedRecordings().includes(recording.uuid) ? true : undefined), 30_000);
    await sleep(FEW_INTERVALS_MS);

    expect(simulator.trashCalls()).toEqual([{ uuid: recording.uuid, action: 'trash', status: 204 }]);
    expect(simulator.permanentlyDeleted()).toEqual([]);
    const deleteAt = Date.parse(simulator.requestLog.find((entry) => entry.method === 'DELETE')!.at);
    expect(deleteAt).toBeGreaterThanOrEqual(scheduled.dueAt);
    expect(deleteAt).toBeGreaterThan(restartedAt - 1_000);
    expect(await scheduleEntry(dir, recording.uuid)).toMatchObject({ state: 'trashed', outcome: 'trashed', dueAt: scheduled.dueAt });

    expect(await second.kill('SIGTERM')).toBe(0);
    const audit = new SqliteAuditLog(dataPaths(dir).audit);
    try {
      const records = await audit.recordingHistory(recording.uuid);
      const trashed = ofType(records, DetailType.RecordingTrashedInZoom);
      expect(trashed).toHaveLength(1);
      expect(trashed[0]!.data).toMatchObject({ outcome: 'trashed', archivedFiles: 2, dueAt: new Date(scheduled.dueAt).toISOString() });
      expect(Date.parse(String(trashed[0]!.data.trashedAt))).toBeGreaterThanOrEqual(scheduled.dueAt);
      expect(ofType(records, DetailType.RecordingArchived)).toHaveLength(1);
    } finally {
      audit.close();
    }
  });
});

describe('clean-up settings refused at start-up', () => {
  const base = {
    DATA_DIR: join(tmpdir(), 'cleanup-config-never-created'),
    ZOOM_WEBHOOK_SECRET_TOKEN: SECRET,
    ZOOM_ACCOUNT_ID: 'acct',
    ZOOM_CLIENT_ID: 'client',
    ZOOM_CLIENT_SECRET: 'client-secret',
    ZOOM_OAUTH_TOKEN_URL: 'http://127.0.0.1:9/oauth/token',
    ZOOM_API_BASE_URL: 'http://127.0.0.1:9/v2',
    ZOOM_DOWNLOAD_HOSTS: '127.0.0.1',
    SWEEP_INTERVAL_SECONDS: '0',
  };
  const withCleanup = (cleanup: unknown, env: Record<string, string> = base) => ({ ...env, ARCHIVER_CONFIG_JSON: JSON.stringify({ cleanup }) });
  const withoutS2s = Object.fromEntries(Object.entries(base).filter(([key]) => !['ZOOM_ACCOUNT_ID', 'ZOOM_CLIENT_ID', 'ZOOM_CLIENT_SECRET'].includes(key)));
  const refusal = (env: Record<string, string>) => {
    try {
      loadRuntimeConfig(env);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('loadRuntimeConfig accepted the configuration');
  };

  it('g. loadRuntimeConfig names the field of each invalid cleanup setting, and trashInZoom "on" without Server-to-Server OAuth', () => {
    expect(refusal(withCleanup({ trashInZoom: 'sometimes' }))).toMatch(/ARCHIVER_CONFIG_JSON: cleanup\.trashInZoom: expected "off", "dry-run" or "on"/);
    expect(refusal(withCleanup({ delayHours: -1 }))).toMatch(/cleanup\.delayHours: must be 0 or more/);
    expect(refusal(withCleanup({ delayHours: '24' }))).toMatch(/cleanup\.delayHours: expected a number of hours/);
    expect(refusal(withCleanup({ delayHours: 721 }))).toMatch(/cleanup\.delayHours: must be at most 720/);
    expect(refusal(withCleanup({ exceptCourses: ['A', 'A'] }))).toMatch(/cleanup\.exceptCourses\[1\]: "A" is listed twice/);
    expect(refusal(withCleanup({ trashInZoom: 'on', delyHours: 1 }))).toMatch(/cleanup\.delyHours: unknown field/);
    const noOAuth = refusal(withCleanup({ trashInZoom: 'on' }, withoutS2s));
    expect(noOAuth).toContain('cleanup.trashInZoom: "on" needs Zoom Server-to-Server OAuth');
    expect(noOAuth).toContain('ZOOM_ACCOUNT_ID');
    expect(refusal(withCleanup({ trashInZoom: 'dry-run' }, withoutS2s))).toContain('ZOOM_ACCOUNT_ID');
    expect(refusal({ ...withCleanup({ trashInZoom: 'on' }), CLEANUP_CHECK_INTERVAL_SECONDS: '0' })).toContain('CLEANUP_CHECK_INTERVAL_SECONDS');

    // The same settings valid: accepted, with what they say (the witness that the refusals above are about the values).
    const config = loadRuntimeConfig({ ...withCleanup({ trashInZoom: 'on', delayHours: 0.5, exceptCourses: ['A', 'B'] }), CLEANUP_CHECK_INTERVAL_SECONDS: '5' });
    expect(config.rules.cleanup).toEqual({ trashInZoom: 'on', delayMs: 1_800_000, exceptCourses: new Set(['A', 'B']) });
    expect(config.cleanupCheckIntervalMs).toBe(5_000);
    expect(loadRuntimeConfig(withCleanup({ trashInZoom: 'off' }, withoutS2s)).rules.cleanup.trashInZoom).toBe('off');
  });

  it('g. a real serve exits 2 and the cleanup command exits 2, naming the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cleanup-config-'));
    try {
      const env = { ...base, DATA_DIR: dir };
      const serve = async (cleanup: unknown, over: Record<string, string> = env) => {
        try {
          const started = await startServe(withCleanup(cleanup, over), { timeoutMs: 20_000 });
          await started.kill('SIGKILL');
          return 'serve started with an invalid configuration';
        } catch (error) {
          return (error as Error).message;
        }
      };
      const [sometimes, noOAuth, negative, twice] = await Promise.all([
        serve({ trashInZoom: 'sometimes' }),
        serve({ trashInZoom: 'on' }, { ...withoutS2s, DATA_DIR: dir }),
        runCommand(['cleanup', '--data-dir', dir], withCleanup({ trashInZoom: 'on', delayHours: -1 }, env)),
        runCommand(['cleanup', '--dry-run'], withCleanup({ trashInZoom: 'dry-run', exceptCourses: ['A', 'A'] }, env)),
      ]);
      expect(sometimes).toMatch(/^serve exited 2:/);
      expect(sometimes).toContain('cleanup.trashInZoom:');
      expect(noOAuth).toMatch(/^serve exited 2:/);
      expect(noOAuth).toContain('ZOOM_ACCOUNT_ID');
      expect(negative.code).toBe(2);
      expect(negative.output).toContain('cleanup.delayHours:');
      expect(twice.code).toBe(2);
      expect(twice.output).toContain('cleanup.exceptCourses[1]: "A" is listed twice');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
