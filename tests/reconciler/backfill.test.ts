/**
 * `backfill` end to end, over real HTTP against the Zoom simulator, with the
 * single-machine runtime (SQLite, folder archive) and the real REST client:
 * the webhooks of some recordings are lost, and the backfill archives exactly those,
 * once, through several pages per window and answers of 429; a late webhook afterwards
 * downloads nothing; a dry run lists and archives nothing; without a server the
 * command runs the pipeline itself; bad arguments exit 2.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backfillCommand, type BackfillSummary } from '../../host/cli/backfill';
import { dataPaths } from '../../host/paths';
import { DetailType } from '../../shared/events';
import { reconciliationRecordId } from '../../services/audit/summarize';
import { startZoomSimulator, zoomEnvFor, type SimulatedRecording, type ZoomSimulator } from '../../tools/zoom-simulator/simulator';
import { startSimulatedRuntime, type SimulatedRuntime } from '../support/runtime';
import { runCommand } from '../support/serve-process';
import { waitFor } from '../support/wait-for';

const SECRET = 'backfill-test-secret';
jest.setTimeout(120_000);

const day = (month: number, dayOfMonth: number, hour = 14) => `2026-${String(month).padStart(2, '0')}-${String(dayOfMonth).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00Z`;

/** Seven lessons of one course over September and October, and one meeting that is not a course's. */
async function addLessons(simulator: ZoomSimulator): Promise<{ lessons: SimulatedRecording[]; staff: SimulatedRecording }> {
  const lessons: SimulatedRecording[] = [];
  const dates = [day(9, 2), day(9, 9), day(9, 16), day(9, 23), day(10, 7), day(10, 14), day(10, 21)];
  for (const [index, startTime] of dates.entries()) {
    lessons.push(
      await simulator.addRecording({
        topic: `[HIS10${index}] Modern history — lesson ${index + 1}`,
        startTime,
        durationMinutes: 50,
        files: [{ fileType: 'MP4', size: 30_000 + index * 977 }],
      }),
    );
  }
  const staff = await simulator.addRecording({ topic: 'Staff meeting', startTime: day(9, 30), files: [{ fileType: 'MP4', size: 10_000 }] });
  return { lessons, staff };
}

const envFor = (simulator: ZoomSimulator, dir: string): Record<string, string> => ({
  DATA_DIR: dir,
  ZOOM_WEBHOOK_SECRET_TOKEN: SECRET,
  ...zoomEnvFor(simulator),
  ZOOM_API_BASE_URL: simulator.apiBaseUrl,
  SWEEP_INTERVAL_SECONDS: '0',
  ZOOM_API_REQUESTS_PER_SECOND: '50',
  LOG_LEVEL: 'SILENT', // the failing-file case logs its expected WARN otherwise
});

describe('backfill with a server running on the same DATA_DIR', () => {
  let sim: SimulatedRuntime;
  let lessons: SimulatedRecording[];
  let staff: SimulatedRecording;
  const delivered = [0, 2, 5];
  const lost = [1, 3, 4, 6];
  let env: Record<string, string>;

  beforeAll(async () => {
    sim = await startSimulatedRuntime({ secret: SECRET, dirPrefix: 'backfill-', env: { SWEEP_INTERVAL_SECONDS: '0' } });
    ({ lessons, staff } = await addLessons(sim.simulator));
    env = envFor(sim.simulator, sim.dir);
    for (const index of delivered) {
      const answer = await sim.simulator.deliverWebhook(sim.webhookUrl, lessons[index]!.payload);
      expect(answer.status).toBe(200);
    }
    await waitFor('the delivered lessons archived', async () => {
      const entries = await Promise.all(delivered.map((index) => sim.runtime.ledger.get(lessons[index]!.files[0]!.fileId)));
      return entries.every((entry) => entry?.state === 'uploaded') ? true : undefined;
    });
  });
  afterAll(() => sim?.stop());

  const range = { from: '2026-09-01', to: '2026-10-31' };
  const quiet = { print: () => undefined, progress: false, followIntervalMs: 50 };

  it('dry run: lists per recording what would be archived, and archives nothing', async () => {
    const printed: string[] = [];
    const { exitCode, summary } = await backfillCommand({ ...range, dryRun: true }, { env, ...quiet, print: (line) => printed.push(line) });

    expect(exitCode).toBe(0);
    expect(summary.mode).toBe('dry_run');
    expect(summary.recordingsFound).toBe(8);
    expect(summary.filesRequested).toBe(lost.length);
    expect(summary.filesAlreadyArchived).toBe(delivered.length);
    const byId = new Map(summary.recordings!.map((r) => [r.recordingId, r]));
    for (const index of lost) expect(byId.get(lessons[index]!.uuid)?.outcome).toBe('requested');
    for (const index of delivered) expect(byId.get(lessons[index]!.uuid)?.outcome).toBe('archived');
    expect(byId.get(staff.uuid)?.outcome).toBe('rejected');
    expect(byId.get(lessons[1]!.uuid)?.course).toBe('HIS101');
    // Topic, date and course per recording, and the key each missing file would get.
    expect(printed.some((line) => line.startsWith('2026-09-09  [HIS101] Modern history — lesson 2  [HIS101]  would archive'))).toBe(true);
    expect(printed.some((line) => /^\s+\+ MP4 .*→ courses\/HIS101\//.test(line))).toBe(true);

    await sim.runtime.bus.idle();
    for (const index of lost) expect(sim.simulator.stats(lessons[index]!.files[0]!.fileId).downloadRequests).toBe(0);
    expect(await sim.runtime.ledger.get(lessons[1]!.files[0]!.fileId)).toBeUndefined();
  });

  let summary: BackfillSummary;
  it('archives exactly the recordings whose webhook was lost, once, through several pages and 429s', async () => {
    sim.simulator.setMaxPageSize(2); // Zoom's maximum is 300; two per page makes every window several pages
    sim.simulator.failApi(2, { status: 429 }); // without Retry-After, as users report
    const printed: string[] = [];
    const result = await backfillCommand(range, { env, ...quiet, print: (line) => printed.push(line) });
    summary = result.summary;

    expect(result.exitCode).toBe(0);
    expect(summary.mode).toBe('handed_to_server');
    expect(summary.windows).toBe(2);
    expect(summary.pages).toBeGreaterThanOrEqual(4);
    expect(summary.rateLimited).toBeGreaterThanOrEqual(2);
    expect(summary.recordingsFound).toBe(8);
    expect(summary.filesRequested).toBe(lost.length);
    expect(summary.filesArchivedNow).toBe(lost.length);
    expect(summary.filesAlreadyArchived).toBe(delivered.length);
    expect(summary.recordingsSkippedOrRejected).toBe(1);
    expect(summary.filesFailed).toBe(0);
    expect(printed.join('\n')).toMatch(/files archived now:\s+4 of 4 requested/);

    for (const lesson of lessons) {
      const file = lesson.files[0]!;
      expect(sim.simulator.stats(file.fileId).completedDownloads).toBe(1);
      const entry = await sim.runtime.ledger.get(file.fileId);
      expect(entry?.state).toBe('uploaded');
      expect(await sim.archivedSha(entry!.archiveKey)).toBe(await file.sha256());
    }
    // The not-a-course meeting was handed over once, and rejected by course validation.
    await waitFor('the rejection in the audit trail', async () =>
      (await sim.runtime.auditLog.recordingHistory(staff.uuid)).find((record) => record.detailType === DetailType.RecordingRejected),
    );
    expect(sim.simulator.stats(staff.files[0]!.fileId).downloadRequests).toBe(0);
    // The run itself is in the audit trail.
    const [run] = await waitFor('the run record', async () => {
      const records = await sim.runtime.auditLog.recordingHistory(reconciliationRecordId(summary.runId));
      return records.length > 0 ? records : undefined;
    });
    expect(run!.detailType).toBe(DetailType.ReconciliationCompleted);
    expect(run!.data).toMatchObject({ trigger: 'backfill', recordingsFound: 8, filesRequested: 4, filesAlreadyArchived: 3, windows: 2 });
  });

  it('a late webhook afterwards downloads nothing', async () => {
    const late = lessons[lost[0]!]!;
    const answer = await sim.simulator.deliverWebhook(sim.webhookUrl, { ...late.payload, event_ts: Date.now() });
    expect(answer.status).toBe(200);
    await waitFor('the duplicate counted', async () => ((await sim.runtime.ledger.get(late.files[0]!.fileId))?.duplicates ?? 0) >= 1 || undefined);
    await sim.runtime.bus.idle();
    expect(sim.simulator.stats(late.files[0]!.fileId).completedDownloads).toBe(1);
  });

  it('a second run finds everything archived and hands over nothing, not even the rejected meeting', async () => {
    sim.simulator.setMaxPageSize(undefined);
    const { exitCode, summary: again } = await backfillCommand(range, { env, ...quiet });
    expect(exitCode).toBe(0);
    expect(again.filesRequested).toBe(0);
    expect(again.filesAlreadyArchived).toBe(lessons.length);
    expect(again.recordingsSkippedOrRejected).toBe(1);
    await sim.runtime.bus.idle();
    const rejections = (await sim.runtime.auditLog.recordingHistory(staff.uuid)).filter((record) => record.detailType === DetailType.RecordingRejected);
    expect(rejections).toHaveLength(1);
  });
});

describe('backfill without a server', () => {
  let simulator: ZoomSimulator;
  let dir: string;
  beforeEach(async () => {
    simulator = await startZoomSimulator({ webhookSecret: SECRET });
    dir = mkdtempSync(join(tmpdir(), 'backfill-alone-'));
  });
  afterEach(async () => {
    await simulator.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the pipeline itself until the work is done, then lets go of the DATA_DIR', async () => {
    const { lessons } = await addLessons(simulator);
    simulator.refuseAccountListing(4711); // a token without the account-level scope: user by user
    const { exitCode, summary } = await backfillCommand({ from: '2026-09-01', to: '2026-10-31' }, { env: envFor(simulator, dir), print: () => undefined, progress: false, followIntervalMs: 50 });

    expect(exitCode).toBe(0);
    expect(summary.mode).toBe('ran_pipeline');
    expect(summary.listing).toBe('users');
    expect(summary.filesArchivedNow).toBe(lessons.length);
    for (const lesson of lessons) expect(simulator.stats(lesson.files[0]!.fileId).completedDownloads).toBe(1);
    expect(existsSync(dataPaths(dir).instanceLock)).toBe(false);
  });

  it('exits 1 and names the file when a file fails', async () => {
    const [lesson] = (await addLessons(simulator)).lessons;
    simulator.setFault(lesson!.files[0]!.fileId, { status: 404 });
    const printed: string[] = [];
    const { exitCode, summary } = await backfillCommand({ from: '2026-09-01', to: '2026-09-05' }, { env: envFor(simulator, dir), print: (line) => printed.push(line), progress: false, followIntervalMs: 50 });
    expect(exitCode).toBe(1);
    expect(summary.filesFailed).toBe(1);
    expect(summary.failures[0]).toMatchObject({ fileId: lesson!.files[0]!.fileId, code: 'not_found' });
    expect(printed.join('\n')).toContain(lesson!.files[0]!.fileId);
  });

  it('refuses bad arguments and missing credentials with exit 2 and a clear message', async () => {
    const env = envFor(simulator, dir);
    const reversed = await runCommand(['backfill', '--from', '2026-10-02', '--to', '2026-10-01'], env);
    expect(reversed.code).toBe(2);
    expect(reversed.output).toContain('--from 2026-10-02 is after --to 2026-10-01');

    const malformed = await runCommand(['backfill', '--from', '2026-02-30'], env);
    expect(malformed.code).toBe(2);
    expect(malformed.output).toContain('--from must be a date as YYYY-MM-DD');

    const { ZOOM_ACCOUNT_ID: _a, ZOOM_CLIENT_ID: _b, ZOOM_CLIENT_SECRET: _c, ...withoutS2s } = env;
    const noCredentials = await runCommand(['backfill', '--dry-run'], withoutS2s);
    expect(noCredentials.code).toBe(2);
    expect(noCredentials.output).toMatch(/needs Server-to-Server OAuth: set ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET/);
    expect(noCredentials.output).not.toContain(simulator.clientSecret);
  });
});
