/**
 * Cloud rehearsal of the stack's paths: the synthesized stack's bundles (cdk.out),
 * under Node 22, with the template's environment, against dynalite, s3rver and the
 * stand-ins (support/rehearsal.ts); the bus routes by the template's own rules until
 * quiet. After each scenario, every SDK call every function made must be allowed by
 * its role (IAM replay), and the rehearsal must have seen nothing go wrong outside the
 * functions (an event no rule could deliver, a record nobody could write).
 */
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { Webhook } from 'standardwebhooks';
import { DynamoDbAuditLog } from '../../shared/adapters/audit-dynamodb';
import { DetailType } from '../../shared/events';
import type { Rehearsal } from './support/rehearsal';
import { archivedObjects, deliverWebhook, failedInvocations, objectSha256 } from './support/checks';
import { expectIamClean, prepareStage, type Stage } from './support/scenario';

jest.setTimeout(120_000);

let stage: Stage;
let rehearsal: Rehearsal;

beforeAll(async () => {
  stage = await prepareStage();
  rehearsal = await stage.rehearse();
}, 180_000);

afterAll(async () => {
  await stage?.stop();
});

afterEach(() => {
  expectIamClean(rehearsal);
  rehearsal.clearRecords();
});

const uploadedOf = (r: Rehearsal, fileId: string) => r.eventsOf(DetailType.FileUploaded).filter((e) => e.detail.fileId === fileId);

describe('a signed webhook, as the Function URL hands it over', () => {
  it('is archived in s3rver with the bytes Zoom served, audited in dynalite, FileUploaded on the bus', async () => {
    // Over one part (8 MiB): the store's path for S3 itself, one streamed PutObject, aws-chunked with a CRC32 trailer.
    const recording = await stage.zoom.addRecording({ files: [{ size: 9 * 1024 * 1024 + 17 }] });
    const file = recording.files[0]!;
    const answer = await deliverWebhook(rehearsal, stage, recording.payload);
    expect(answer).toMatchObject({ ok: true, result: { statusCode: 200 } });
    await rehearsal.settle();

    const uploaded = uploadedOf(rehearsal, file.fileId);
    expect(uploaded).toHaveLength(1);
    const { location, size } = uploaded[0]!.detail;
    expect(location.container).toBe(rehearsal.bucket);
    expect(size).toBe(file.size);
    expect(await objectSha256(rehearsal, location.key)).toBe(await file.sha256());
    expect(rehearsal.eventsOf(DetailType.RecordingArchived).map((e) => e.detail.recordingId)).toEqual([recording.uuid]);

    const history = await new DynamoDbAuditLog(rehearsal.dynamoDb, rehearsal.tableName('AuditTable')).recordingHistory(recording.uuid);
    expect(history.map((r) => r.detailType).sort()).toEqual(
      [DetailType.RecordingAvailable, DetailType.FileUploadRequested, DetailType.FileUploaded, DetailType.RecordingArchived].sort(),
    );
    expect(rehearsal.servers.s3Front.decodedChunkedBodies).toBeGreaterThanOrEqual(1);
    // Every function ran from its bundle under Node 22: no invocation failed.
    expect(rehearsal.invocations.filter((i) => !i.result.ok)).toEqual([]);
  });

  it('delivered twice (the same request, then Zoom re-signing it) archives one object and says FileUploaded once', async () => {
    const recording = await stage.zoom.addRecording({ files: [{ size: 256 * 1024 + 3 }] });
    const file = recording.files[0]!;
    const first = await deliverWebhook(rehearsal, stage, recording.payload);
    const replayed = await deliverWebhook(rehearsal, stage, recording.payload, { sameRequestAs: first });
    await rehearsal.settle();
    const resigned = await deliverWebhook(rehearsal, stage, recording.payload, { timestampSeconds: Math.floor(Date.now() / 1000) + 1 });
    await rehearsal.settle();
    for (const answer of [first, replayed, resigned]) expect(answer).toMatchObject({ ok: true, result: { statusCode: 200 } });

    expect(uploadedOf(rehearsal, file.fileId)).toHaveLength(1);
    const objects = await archivedObjects(rehearsal);
    const keys = objects.filter((key) => key === uploadedOf(rehearsal, file.fileId)[0]!.detail.location.key);
    expect(keys).toHaveLength(1);
    expect(stage.zoom.stats(file.fileId).completedDownloads).toBe(1);
  });

  it('a file Zoom answers 404 for ends as FileUploadFailed on the bus, no object, nothing in the DLQ', async () => {
    const recording = await stage.zoom.addRecording({ files: [{ size: 100_000 }] });
    const file = recording.files[0]!;
    stage.zoom.setFault(file.fileId, { status: 404 });
    await deliverWebhook(rehearsal, stage, recording.payload);
    await rehearsal.settle();

    const failed = rehearsal.eventsOf(DetailType.FileUploadFailed).filter((e) => e.detail.fileId === file.fileId);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.detail.retryable).toBe(false);
    expect(uploadedOf(rehearsal, file.fileId)).toEqual([]);
    expect(rehearsal.queueMessages(rehearsal.deadLetterQueueArnOf('uploader'))).toEqual([]);
    // The uploader succeeded (a failure it understands is published, not thrown): one invocation, no retry.
    expect(rehearsal.invocationsOf('uploader').map((i) => i.result.ok)).toEqual([true]);
  });
});

describe('Zoom resets the download of a file over one part mid-body', () => {
  it('the uploader retries within its invocation and archives the whole file; its environment does not crash', async () => {
    // Over 8 MiB: the streamed single PutObject, whose body breaks at 4 MiB once (Zoom's connection reset).
    const recording = await stage.zoom.addRecording({ files: [{ size: 9 * 1024 * 1024 + 5 }] });
    const file = recording.files[0]!;
    stage.zoom.setFault(file.fileId, { times: 1, resetAfterBytes: 4 * 1024 * 1024 });
    await deliverWebhook(rehearsal, stage, recording.payload);
    await rehearsal.settle();

    expect(failedInvocations(rehearsal)).toEqual([]);
    expect(rehearsal.invocationsOf('uploader')).toHaveLength(1);
    const uploaded = uploadedOf(rehearsal, file.fileId);
    expect(uploaded).toHaveLength(1);
    expect(uploaded[0]!.detail.attempts).toBe(2);
    expect(await objectSha256(rehearsal, uploaded[0]!.detail.location.key)).toBe(await file.sha256());
    expect(stage.zoom.stats(file.fileId).downloadRequests).toBe(2);
  });
});

describe('subscriber delivery', () => {
  it('a subscriber on 127.0.0.1 receives the FileUploaded, signed with Standard Webhooks, through the SQS outbox and the dispatcher', async () => {
    const before = stage.subscriber.deliveries.length;
    const recording = await stage.zoom.addRecording({ files: [{ size: 64 * 1024 }] });
    await deliverWebhook(rehearsal, stage, recording.payload);
    await rehearsal.settle();

    const deliveries = stage.subscriber.deliveries.slice(before);
    const verifier = new Webhook(stage.subscriberSecret);
    const bodies = deliveries.map((d) => {
      const headers = { 'webhook-id': String(d.headers['webhook-id']), 'webhook-timestamp': String(d.headers['webhook-timestamp']), 'webhook-signature': String(d.headers['webhook-signature']) };
      verifier.verify(d.body, headers);
      return JSON.parse(d.body) as { type: string; data: { recordingId: string; fileId?: string } };
    });
    expect(bodies.filter((b) => b.data.recordingId === recording.uuid).map((b) => b.type).sort()).toEqual([DetailType.FileUploaded, DetailType.RecordingArchived].sort());
    expect(bodies.find((b) => b.type === DetailType.FileUploaded)!.data.fileId).toBe(recording.files[0]!.fileId);
    // The dispatcher ran from its event source mapping, and answered no batch item failure.
    const dispatched = rehearsal.invocationsOf('subscriber-dispatch');
    expect(dispatched.length).toBeGreaterThan(0);
    expect(dispatched.every((i) => i.kind === 'event-source' && i.result.ok && (i.result.result as { batchItemFailures: unknown[] }).batchItemFailures.length === 0)).toBe(true);
    const outbox = rehearsal.onlyResourceArn('AWS::SQS::Queue', 'SubscriberDeliveryOutbox', (id) => !id.includes('DeadLetters'));
    expect(rehearsal.queueMessages(outbox)).toEqual([]);
  });
});

describe('the reconciliation sweep', () => {
  it('run by its schedule rule, archives a recording whose webhook never came', async () => {
    const recording = await stage.zoom.addRecording({ startTime: new Date(Date.now() - 2 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'), files: [{ size: 200_000 }] });
    const file = recording.files[0]!;
    rehearsal.runSchedule('reconciler');
    await rehearsal.settle();

    const available = rehearsal.eventsOf(DetailType.RecordingAvailable).filter((e) => e.detail.recordingId === recording.uuid);
    expect(available.map((e) => e.detail.trigger)).toEqual(['sweep']);
    const uploaded = uploadedOf(rehearsal, file.fileId);
    expect(uploaded).toHaveLength(1);
    expect(await objectSha256(rehearsal, uploaded[0]!.detail.location.key)).toBe(await file.sha256());
    const completed = rehearsal.eventsOf(DetailType.ReconciliationCompleted);
    expect(completed).toHaveLength(1);
    expect(completed[0]!.detail).toMatchObject({ trigger: 'sweep', filesRequested: 1, errors: [] });
    expect(rehearsal.invocationsOf('reconciler').map((i) => [i.kind, i.result.ok])).toEqual([['async', true]]);
  });
});

describe('clean-up in Zoom (trashInZoom "on", delayHours 0)', () => {
  it('after the archive, the clean-up run moves the recording to Zoom\'s trash', async () => {
    const recording = await stage.zoom.addRecording({ files: [{ size: 50_000 }] });
    await deliverWebhook(rehearsal, stage, recording.payload);
    await rehearsal.settle();
    expect(rehearsal.eventsOf(DetailType.RecordingArchived).map((e) => e.detail.recordingId)).toContain(recording.uuid);
    expect(stage.zoom.trashedRecordings()).not.toContain(recording.uuid);

    rehearsal.runSchedule('cleanup');
    await rehearsal.settle();
    expect(stage.zoom.trashedRecordings()).toContain(recording.uuid);
    expect(stage.zoom.permanentlyDeleted()).toEqual([]);
    const trashed = rehearsal.eventsOf(DetailType.RecordingTrashedInZoom).filter((e) => e.detail.recordingId === recording.uuid);
    expect(trashed.map((e) => e.detail.outcome)).toEqual(['trashed']);
  });
});

describe('a consumer that fails', () => {
  it('is retried by Lambda (EventInvokeConfig), then its event is in that consumer\'s DLQ as an on-failure record', async () => {
    const broken = await stage.rehearse();
    try {
      // The audit table is gone (deleted by hand): every PutItem fails, so does every audit invocation.
      await broken.dynamoDb.send(new DeleteTableCommand({ TableName: broken.tableName('AuditTable') }));
      const recording = await stage.zoom.addRecording({ files: [{ size: 10_000 }] });
      await deliverWebhook(broken, stage, recording.payload);
      await broken.settle();

      // The rest of the pipeline does not depend on the audit trail.
      expect(uploadedOf(broken, recording.files[0]!.fileId)).toHaveLength(1);
      const auditInvocations = broken.invocationsOf('audit');
      const eventsAudited = new Set(auditInvocations.map((i) => (i.event as { id: string }).id));
      expect(auditInvocations.every((i) => !i.result.ok)).toBe(true);
      expect(auditInvocations).toHaveLength(eventsAudited.size * 3); // 1 + MaximumRetryAttempts 2
      const records = broken.queueMessages(broken.deadLetterQueueArnOf('audit')).map((m) => JSON.parse(m.body));
      expect(records.map((r) => r.requestPayload.id).sort()).toEqual([...eventsAudited].sort());
      expect(records.map((r) => r.requestPayload['detail-type']).sort()).toEqual(broken.events.map((e) => e['detail-type']).sort());
      for (const record of records) {
        expect(record.requestContext).toMatchObject({ condition: 'RetriesExhausted', approximateInvokeCount: 3 });
        expect(record.responsePayload.errorType).toBe('ResourceNotFoundException');
      }
      expectIamClean(broken);
    } finally {
      await broken.stop();
    }
  });
});

describe('a transfer that cannot finish in one invocation', () => {
  it('continues in the next invocation from its checkpoint (the request published again), and the object is whole', async () => {
    const MiB = 1024 * 1024;
    // The uploader's first invocation starts as if 14 of its 15 minutes were gone: 30 s of
    // FINISH_MARGIN_MS + 4 s of transfer. Files from ARCHIVE_S3_RESUMABLE_MIN_MB resume;
    // 0 here (the template leaves the 1 GiB default), so a 24 MiB file takes the resumable path.
    const long = await stage.rehearse({
      envOverrides: { uploader: { ARCHIVE_S3_RESUMABLE_MIN_MB: '0' } },
      remainingTimeMs: (service, event) =>
        service === 'uploader' && (event as { detail?: { continuedFrom?: number } }).detail?.continuedFrom === undefined ? 34_000 : undefined,
    });
    try {
      const recording = await stage.zoom.addRecording({ files: [{ size: 24 * MiB + 123 }] });
      const file = recording.files[0]!;
      // The first download drips at 4 MiB/s: about 16 MiB (two 8 MiB parts) arrive before the first invocation's deadline.
      stage.zoom.setFault(file.fileId, { times: 1, bytesPerSecond: 4 * MiB });
      await deliverWebhook(long, stage, recording.payload);
      await long.settle();

      const requests = long.eventsOf(DetailType.FileUploadRequested).filter((e) => e.detail.file.fileId === file.fileId);
      expect(requests).toHaveLength(2);
      expect(requests[0]!.detail.continuedFrom).toBeUndefined();
      const continuedFrom = requests[1]!.detail.continuedFrom as number;
      expect(continuedFrom).toBeGreaterThanOrEqual(8 * MiB);
      expect(continuedFrom).toBeLessThan(file.size);
      expect(continuedFrom % (8 * MiB)).toBe(0); // whole parts of ARCHIVE_PART_SIZE_MB (8)
      expect(long.invocationsOf('uploader').map((i) => i.result.ok)).toEqual([true, true]);

      const uploaded = uploadedOf(long, file.fileId);
      expect(uploaded).toHaveLength(1);
      expect(await objectSha256(long, uploaded[0]!.detail.location.key)).toBe(await file.sha256());
      const stats = stage.zoom.stats(file.fileId);
      expect(stats.rangeRequests).toBeGreaterThanOrEqual(1);
      // Never downloaded whole: the first download was cut at the deadline, the second asked for the rest (206).
      expect(stats.completedDownloads).toBe(0);
      expect(stats.bytesServed).toBeLessThan(2 * file.size);
      expectIamClean(long);
    } finally {
      await long.stop();
    }
  });
});

describe('upload recovery', () => {
  it('a run that ran out of time before making progress is re-driven by the recovery sweep\'s schedule rule, then archived', async () => {
    // The uploader's first invocation per file starts with 29 s left, under its 30 s finish margin:
    // it stops at once, releasing the file with a `deadline` note for the recovery sweep.
    const seen = new Set<string>();
    const late = await stage.rehearse({
      remainingTimeMs: (service, event) => {
        const fileId = (event as { detail?: { file?: { fileId?: string } } }).detail?.file?.fileId;
        if (service !== 'uploader' || !fileId || seen.has(fileId)) return undefined;
        seen.add(fileId);
        return 29_000;
      },
    });
    try {
      const recording = await stage.zoom.addRecording({ files: [{ size: 120_000 }] });
      const file = recording.files[0]!;
      await deliverWebhook(late, stage, recording.payload);
      await late.settle();
      expect(uploadedOf(late, file.fileId)).toEqual([]);
      expect(stage.zoom.stats(file.fileId).downloadRequests).toBe(0);

      late.runSchedule('uploader-recovery');
      await late.settle();
      const sweeps = late.invocationsOf('uploader-recovery');
      expect(sweeps.map((i) => i.result.ok && i.result.result)).toEqual([{ redriven: 1, failed: 0, skipped: 0, autoRetried: 0 }]);
      const uploaded = uploadedOf(late, file.fileId);
      expect(uploaded).toHaveLength(1);
      expect(await objectSha256(late, uploaded[0]!.detail.location.key)).toBe(await file.sha256());
      expect(late.invocationsOf('uploader')).toHaveLength(2);
      expectIamClean(late);
    } finally {
      await late.stop();
    }
  });
});

it('ran every function of the template in some scenario above, each under Node 22 (the nodejs22.x runtime\'s major)', () => {
  const all = [...rehearsal.functions.values()].map((f) => f.service).sort();
  expect(all).toHaveLength(10);
  expect([...stage.invokedServices()].sort()).toEqual(all);
  for (const fn of rehearsal.functions.values()) expect(fn.resource.Properties.Runtime).toBe('nodejs22.x');
  const versions = new Set([...rehearsal.functions.values()].flatMap((f) => [...f.runner.nodeVersions]));
  expect(versions.size).toBeGreaterThan(0);
  for (const version of versions) expect(version).toMatch(/^v22\./);
  // Every condition of every deciding statement was evaluated from what the requests showed (none taken on trust).
  expect([...rehearsal.notes]).toEqual([]);
});
