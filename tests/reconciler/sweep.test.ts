/**
 * `serve`'s periodic sweep, end to end: the runtime (both threads, SQLite, folder
 * archive) lists the simulated Zoom account every SWEEP_INTERVAL_SECONDS through the
 * real REST client. A recording that never had a webhook is archived; one whose file
 * is still processing is left alone, then archived by a later sweep once Zoom has
 * finished it; a late webhook afterwards downloads nothing.
 */
import { DetailType } from '../../shared/events';
import type { AuditRecord } from '../../shared/ports/audit-log';
import type { SimulatedRecording } from '../../tools/zoom-simulator/simulator';
import { startSimulatedRuntime, type SimulatedRuntime } from '../support/runtime';
import { waitFor } from '../support/wait-for';

const SECRET = 'sweep-test-secret';
jest.setTimeout(90_000);

describe('the periodic sweep in serve', () => {
  let sim: SimulatedRuntime;
  beforeAll(async () => {
    sim = await startSimulatedRuntime({ secret: SECRET, dirPrefix: 'sweep-', env: { SWEEP_INTERVAL_SECONDS: '10', SWEEP_LOOKBACK_DAYS: '3' } });
  });
  afterAll(() => sim?.stop());

  const yesterday = () => new Date(Date.now() - 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const uploaded = (recording: SimulatedRecording) => async () => ((await sim.runtime.ledger.get(recording.files[0]!.fileId))?.state === 'uploaded' ? true : undefined);
  const sweeps = async (): Promise<AuditRecord[]> =>
    (await sim.runtime.auditLog.latest(100)).filter((record) => record.detailType === DetailType.ReconciliationCompleted && record.data.trigger === 'sweep');

  it('archives a recording that never had a webhook, and one once Zoom has finished processing it', async () => {
    const neverWebhooked = await sim.simulator.addRecording({ topic: '[BIO210] Cell biology — week 4', startTime: yesterday(), files: [{ fileType: 'MP4', size: 48_123 }] });
    const processing = await sim.simulator.addRecording({ topic: '[BIO210] Cell biology — week 5', startTime: yesterday(), files: [{ fileType: 'MP4', size: 51_001, status: 'processing' }] });

    await waitFor('the recording without a webhook archived by a sweep', uploaded(neverWebhooked), 30_000);
    const archived = await sim.runtime.ledger.get(neverWebhooked.files[0]!.fileId);
    expect(archived?.request?.trigger).toBe('sweep');
    expect(await sim.archivedSha(archived!.archiveKey)).toBe(await neverWebhooked.files[0]!.sha256());

    // Still processing at that sweep: nothing requested, nothing downloaded, examined again next time.
    const sawProcessing = await waitFor('a sweep that saw the processing recording', async () => (await sweeps()).find((record) => Number(record.data.recordingsStillProcessing) >= 1));
    expect(sawProcessing.summary).toMatch(/[1-9]\d* still processing/);
    expect(await sim.runtime.ledger.get(processing.files[0]!.fileId)).toBeUndefined();
    expect(sim.simulator.stats(processing.files[0]!.fileId).downloadRequests).toBe(0);

    sim.simulator.setFileStatus(processing.files[0]!.fileId, 'completed');
    await waitFor('the recording archived once processing finished', uploaded(processing), 30_000);
    const entry = await sim.runtime.ledger.get(processing.files[0]!.fileId);
    expect(await sim.archivedSha(entry!.archiveKey)).toBe(await processing.files[0]!.sha256());

    // A late webhook for the swept recording: acknowledged, nothing downloaded again.
    const answer = await sim.simulator.deliverWebhook(sim.webhookUrl, { ...neverWebhooked.payload, event_ts: Date.now() });
    expect(answer.status).toBe(200);
    await waitFor('the late webhook counted as a duplicate', async () => ((await sim.runtime.ledger.get(neverWebhooked.files[0]!.fileId))?.duplicates ?? 0) >= 1 || undefined);
    await sim.runtime.bus.idle();
    expect(sim.simulator.stats(neverWebhooked.files[0]!.fileId).completedDownloads).toBe(1);
    expect(sim.simulator.stats(processing.files[0]!.fileId).completedDownloads).toBe(1);

    // Later sweeps find both archived and ask for nothing.
    const before = (await sweeps()).length;
    const quiet = await waitFor('another sweep', async () => {
      const all = await sweeps();
      return all.length > before ? all[0] : undefined;
    }, 30_000);
    expect(quiet.data).toMatchObject({ filesRequested: 0, filesAlreadyArchived: 2 });
  });
});
