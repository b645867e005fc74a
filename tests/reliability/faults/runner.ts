/**
 * Plays one fault scenario (scenarios.ts) against the real runtime and judges it by
 * what is stored, not by what the code says it did: the audit trail (FileUploaded,
 * FileUploadFailed, RecordingArchived), the ledger, the simulator's own download
 * counts, and every object in the archive read back and hashed. Each run ends with a
 * ScenarioResult (counts per file: archived once, failed then re-driven, lost,
 * duplicated, wrong objects) that the test asserts on and report.ts prints.
 */
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { DetailType } from '../../../shared/events';
import type { AuditRecord } from '../../../shared/ports/audit-log';
import { startZoomSimulator, type FileStats, type SimulatedFileSpec } from '../../../tools/zoom-simulator/simulator';
import { createS3rverClient } from '../../support/s3rver';
import { waitFor } from '../../support/wait-for';
import { writeResult, type ScenarioCounts, type ScenarioResult } from './results';
import { WEBHOOK_SECRET, startRig, type ArchiveTarget, type ArchiveListing, type Rig } from './rig';
import type { FaultScenario, ScenarioContext } from './scenarios';
import { startS3FaultProxy, type S3FaultProxy } from './s3-fault-proxy';
import { S3rverProcess } from './s3rver-process';

const RECORDING_TYPES = ['shared_screen_with_speaker_view', 'gallery_view', 'speaker_view', 'active_speaker'];
/** Room for a duplicate transfer or announcement to show up, should one be coming. */
const GRACE_MS = 1_500;

export interface RunOptions {
  /** The s3rver S3 scenarios share (each gets its own bucket); scenarios with ownS3rver start their own. */
  s3rver?: S3rverProcess;
  /** Write the result for report.ts (default true; the judge's self-tests do not). */
  record?: boolean;
  /** Runs after the scenario, before the final inspection: lets a self-test plant something wrong. */
  tamper?(ctx: ScenarioContext): Promise<void>;
}

const ofType = (history: AuditRecord[], type: string, fileId?: string) =>
  history.filter((r) => r.detailType === type && (fileId === undefined || r.fileId === fileId));

export async function runScenario(scenario: FaultScenario, options: RunOptions = {}): Promise<ScenarioResult> {
  const started = Date.now();
  const problems: string[] = [];
  const notes: string[] = [];
  const counts: ScenarioCounts = { filesExpected: scenario.fileSizes.length, archivedOnce: 0, failedThenRedriven: 0, lost: 0, duplicated: 0, wrongObjects: 0 };
  const cleanup: (() => Promise<unknown>)[] = [];
  let rig: Rig | undefined;

  try {
    const simulator = await startZoomSimulator({ webhookSecret: WEBHOOK_SECRET });
    cleanup.push(() => simulator.stop());

    let s3: ScenarioContext['s3'];
    let target: ArchiveTarget = { kind: 'folder' };
    if (scenario.store === 's3') {
      let server = options.s3rver;
      if (scenario.ownS3rver || !server) {
        const own = await S3rverProcess.start();
        cleanup.push(() => own.stop());
        server = own;
      }
      const s3rver = server;
      const proxy: S3FaultProxy = await startS3FaultProxy(() => s3rver.endpoint);
      cleanup.push(() => proxy.stop());
      const client = createS3rverClient(s3rver.endpoint);
      cleanup.push(async () => client.destroy());
      const bucket = `fault-${scenario.id.replace(/[^a-z0-9]+/g, '-')}`.slice(0, 63).replace(/-$/, '');
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      target = { kind: 's3', bucket, client, runtimeEndpoint: scenario.ownS3rver ? s3rver.endpoint : proxy.endpoint };
      s3 = { proxy, server: s3rver };
    }

    rig = await startRig({ harness: scenario.harness ?? 'in-process', simulator, target, env: scenario.env });
    const theRig = rig;
    cleanup.unshift(() => theRig.close());

    const mp4s: SimulatedFileSpec[] = scenario.fileSizes.map((size, i) => ({
      fileType: 'MP4',
      size,
      recordingType: RECORDING_TYPES[i % RECORDING_TYPES.length],
      recordingStart: '2026-11-26T09:00:00Z',
      recordingEnd: '2026-11-26T09:45:00Z',
    }));
    const recording = await simulator.addRecording({
      topic: `[REL101] ${scenario.name}`,
      files: [...mp4s, { fileType: 'CHAT', content: 'Teacher: see you next week\n' }],
      downloadTokenTtlSeconds: scenario.tokenTtlSeconds,
    });
    const files = recording.files.filter((f) => f.fileType === 'MP4');
    const ctx: ScenarioContext = { simulator, recording, files, rig, s3, waitFor, note: (text) => notes.push(text) };
    const history = () => theRig.history(recording.uuid);
    const stats = (fileId: string): FileStats => simulator.stats(fileId);

    /** Every eligible file has reached an end (uploaded or failed) in the audit and the bus has nothing left to deliver. */
    const settled = async (what: string, done: (h: AuditRecord[], fileId: string) => boolean, timeoutMs = 60_000) =>
      waitFor(
        what,
        async () => {
          const h = await history();
          return files.every((f) => done(h, f.fileId)) && theRig.openDeliveries() === 0 ? h : undefined;
        },
        timeoutMs,
      );
    const uploadedOrFailed = (h: AuditRecord[], id: string) => ofType(h, DetailType.FileUploaded, id).length + ofType(h, DetailType.FileUploadFailed, id).length > 0;
    const uploaded = (h: AuditRecord[], id: string) => ofType(h, DetailType.FileUploaded, id).length > 0;

    await scenario.arrange?.(ctx);
    const deliveries = scenario.deliveries ?? 1;
    // Zoom's duplicates are separate deliveries, each signed at its own time; identical signed bytes would be a replay (published once).
    const sentAt = Math.floor(Date.now() / 1000);
    const answers = await Promise.all(
      Array.from({ length: deliveries }, (_, i) => simulator.deliverWebhook(theRig.webhookUrl(), recording.payload, { timestampSeconds: sentAt - i })),
    );
    const statuses = answers.map((a) => a.status);
    if (statuses.some((s) => s !== 200)) problems.push(`webhook answered ${statuses.join(', ')}, expected 200 to each`);
    await scenario.during?.(ctx);

    // Phase 1: the delivery's own run ends.
    let h = await settled('every file uploaded or failed', uploadedOrFailed);
    const keyOf = new Map<string, string>();
    for (const file of files) {
      const keys = [...new Set(ofType(h, DetailType.FileUploadRequested, file.fileId).map((r) => String(r.data.key)))];
      if (keys.length !== 1) problems.push(`${file.fileId}: ${keys.length} distinct archive keys requested`);
      if (keys[0]) keyOf.set(file.fileId, keys[0]);
    }

    const failedFirst = files.filter((f) => ofType(h, DetailType.FileUploadFailed, f.fileId).length > 0 && !uploaded(h, f.fileId));
    const expectation = scenario.expect;
    const failuresExpected = expectation.kind === 'failed-then-retry' ? files : expectation.kind === 'archived-or-retry' ? failedFirst : [];
    for (const file of files) {
      const failures = ofType(h, DetailType.FileUploadFailed, file.fileId);
      for (const failure of failures) {
        const reason = String(failure.data.reason);
        const shown = reason.replace(/https?:\/\/\S+/g, '‹url›').replace(/courses\/.*?\.mp4/g, '‹key›');
        notes.push(`FileUploadFailed ${failure.data.code}${failure.data.retryable ? ' (retryable)' : ''} after ${failure.data.attempts} attempt(s): “${shown}”`);
        if (/eyJ|access_token|sig=|exp=\d/.test(reason) || reason.includes(recording.downloadToken)) problems.push(`a failure reason may carry a token or a query string: ${reason}`);
      }
      if (expectation.kind === 'archived' && failures.length > 0) problems.push(`${file.fileId}: unexpected FileUploadFailed ${failures.map((f) => f.data.code).join(', ')}`);
      if (expectation.kind !== 'archived' && failuresExpected.includes(file)) {
        const right = failures.filter((f) => f.data.code === expectation.code && f.data.retryable === expectation.retryable);
        if (right.length !== 1) problems.push(`${file.fileId}: expected one FileUploadFailed ${expectation.code} (retryable ${expectation.retryable}), got ${failures.map((f) => `${f.data.code}/${f.data.retryable}`).join(', ') || 'none'}`);
        if (expectation.kind === 'failed-then-retry' && expectation.reason && !right.some((f) => expectation.reason!.test(String(f.data.reason)))) {
          problems.push(`${file.fileId}: the failure reason does not match ${expectation.reason}`);
        }
      }
    }

    if (failuresExpected.length > 0) {
      // Never a partial or wrong object: nothing under the failed files' keys, no temporary file left.
      const listing = await theRig.listArchive();
      for (const file of failuresExpected) {
        if (listing.objects.some((o) => o.key === keyOf.get(file.fileId))) problems.push(`${file.fileId}: an object is under its key although the upload failed`);
        const entry = await theRig.ledgerEntry(file.fileId);
        if (entry?.state !== 'failed') problems.push(`${file.fileId}: ledger state ${entry?.state} after FileUploadFailed, expected failed`);
      }
      if (listing.partials.length > 0) problems.push(`partial files left after the failure: ${listing.partials.join(', ')}`);

      await scenario.clear?.(ctx);
      const retried = await theRig.retryFailed();
      const redriven = failuresExpected.filter((f) => retried.output.includes(`re-driven ${f.fileId}`));
      notes.push(`zoom-archiver retry --failed: exit ${retried.code}, ${redriven.length} re-driven`);
      if (retried.code !== 0 || redriven.length !== failuresExpected.length) problems.push(`retry did not re-drive every failed file (exit ${retried.code}): ${retried.output.trim()}`);
      const failedBefore = new Map(files.map((f) => [f.fileId, ofType(h, DetailType.FileUploadFailed, f.fileId).length]));
      h = await settled('every re-driven file uploaded or failed again', (hh, id) => uploaded(hh, id) || ofType(hh, DetailType.FileUploadFailed, id).length > (failedBefore.get(id) ?? 0));
    } else if (expectation.kind === 'failed-then-retry') {
      problems.push('no file failed');
    }

    // Downloads after a file is archived are duplicates.
    const atArchive = new Map(files.map((f) => [f.fileId, stats(f.fileId).downloadRequests]));
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS));
    h = await settled('quiet after the grace period', uploadedOrFailed);

    let expectedAvailable = deliveries;
    if (scenario.redeliverLater) {
      const payload = structuredClone(recording.payload);
      payload.download_token = await simulator.issueDownloadToken(recording.uuid, -60);
      payload.event_ts = Date.now();
      const late = await simulator.deliverWebhook(theRig.webhookUrl(), payload);
      expectedAvailable++;
      if (late.status !== 200) problems.push(`the late delivery was answered ${late.status}`);
      await waitFor('the late delivery audited', async () => (ofType(await history(), DetailType.RecordingAvailable).length >= expectedAvailable ? true : undefined), 20_000);
      await new Promise((resolve) => setTimeout(resolve, GRACE_MS));
      h = await settled('the late delivery handled', uploadedOrFailed);
      const ledger = await Promise.all(files.map((f) => theRig.ledgerEntry(f.fileId)));
      notes.push(`late delivery: ${late.status}; duplicates counted by the ledger: ${ledger.map((e) => e?.duplicates ?? 0).join(', ')}`);
    }

    if (scenario.check) problems.push(...(await scenario.check(ctx)));
    if (options.tamper) await options.tamper(ctx);

    // Final inspection.
    h = await history();
    const listing: ArchiveListing = await theRig.listArchive();
    const available = ofType(h, DetailType.RecordingAvailable).length;
    if (available !== expectedAvailable) problems.push(`${available} RecordingAvailable audited, expected ${expectedAvailable}`);
    const archivedEvents = ofType(h, DetailType.RecordingArchived).length;
    if (archivedEvents !== 1) problems.push(`${archivedEvents} RecordingArchived, expected exactly 1`);
    for (const other of recording.files.filter((f) => !files.includes(f))) {
      if (stats(other.fileId).downloadRequests > 0) problems.push(`${other.fileType} file ${other.fileId.slice(0, 8)} is not eligible but was downloaded`);
    }
    if (theRig.deadDeliveries() > 0) problems.push(`${theRig.deadDeliveries()} bus deliveries dead-lettered`);
    const ownedKeys = new Set(keyOf.values());
    for (const object of listing.objects) {
      if (!ownedKeys.has(object.key)) {
        counts.wrongObjects++;
        problems.push(`an object no eligible file owns: ${object.key}`);
      }
    }
    if (listing.partials.length > 0) {
      counts.wrongObjects += listing.partials.length;
      problems.push(`partial files left: ${listing.partials.join(', ')}`);
    }

    for (const file of files) {
      const expectedSha = await simulator.expectedSha256(file.fileId);
      const announced = ofType(h, DetailType.FileUploaded, file.fileId);
      const object = listing.objects.find((o) => o.key === keyOf.get(file.fileId));
      const entry = await theRig.ledgerEntry(file.fileId);
      const s = stats(file.fileId);
      const label = `${file.fileId.slice(0, 8)}`;
      if (object && object.sha256 !== expectedSha) {
        counts.wrongObjects++;
        problems.push(`${label}: the archived bytes differ from what Zoom served (${object.size} bytes, sha256 ${object.sha256.slice(0, 12)}…)`);
      }
      const announcedRight = announced.length > 0 && announced.every((r) => r.data.sha256 === expectedSha && r.data.size === file.size);
      if (announced.length > 0 && !announcedRight) problems.push(`${label}: FileUploaded announces another size or checksum`);
      const archived = Boolean(object) && announced.length > 0;
      const downloadsAfter = s.downloadRequests - (atArchive.get(file.fileId) ?? s.downloadRequests);
      const tooManyCompleted = scenario.completedDownloads !== undefined && s.completedDownloads > scenario.completedDownloads;
      const duplicated = announced.length > 1 || downloadsAfter > 0 || tooManyCompleted;
      if (announced.length > 1) problems.push(`${label}: ${announced.length} FileUploaded`);
      if (downloadsAfter > 0) problems.push(`${label}: downloaded ${downloadsAfter} more time(s) after it was archived`);
      if (scenario.completedDownloads !== undefined && s.completedDownloads !== scenario.completedDownloads) {
        problems.push(`${label}: ${s.completedDownloads} completed download(s), expected ${scenario.completedDownloads}`);
      }
      if (entry?.state !== 'uploaded') problems.push(`${label}: ledger state ${entry?.state}, expected uploaded`);
      if (!archived) problems.push(`${label}: not archived (object ${object ? 'present' : 'missing'}, ${announced.length} FileUploaded)`);

      if (duplicated) counts.duplicated++;
      if (!archived) counts.lost++;
      const once = archived && !duplicated && object!.sha256 === expectedSha && announcedRight && entry?.state === 'uploaded';
      if (once) counts.archivedOnce++;
      if (once && failuresExpected.includes(file)) counts.failedThenRedriven++;
      const attempts = announced.map((r) => r.data.attempts).join('+');
      notes.push(
        `${label}: ${announced.length}× FileUploaded (attempts ${attempts || '-'}); downloads ${s.downloadRequests} requested, ${s.completedDownloads} completed; faults applied ${s.faultsApplied}`,
      );
    }
  } catch (error) {
    problems.push(`scenario aborted: ${error instanceof Error ? error.message : String(error)}`);
    counts.lost = Math.max(counts.lost, counts.filesExpected - counts.archivedOnce);
  } finally {
    if (problems.length > 0 && rig) problems.push(`log tail: ${rig.logTail().slice(-15).join(' | ')}`);
    for (const step of cleanup) await step().catch(() => undefined);
  }

  const result: ScenarioResult = {
    id: scenario.id,
    name: scenario.name,
    store: scenario.store,
    fault: scenario.fault,
    expected: scenario.expected,
    observed: notes.join('; '),
    passed: problems.length === 0,
    problems,
    counts,
    durationMs: Date.now() - started,
    finishedAt: new Date().toISOString(),
  };
  if (options.record !== false) writeResult(`fault-${scenario.id.replace(/[^a-zA-Z0-9-]+/g, '-')}`, result);
  return result;
}
