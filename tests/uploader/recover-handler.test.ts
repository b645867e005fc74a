/**
 * The recovery sweep's Lambda handler: its bootstrap (createRecoveryDeps) reads the
 * ledger in LEDGER_TABLE_NAME (dynalite, the DynamoDB adapter the function uses) and
 * takes the staleness and the re-drive cap from the uploader's settings, through the
 * rule the single-machine host uses too (recoveryStaleAfterMs). Driven by the
 * scheduled event EventBridge sends, with a fake clock; the bus is a MemoryPublisher.
 */
import type { ScheduledEvent } from 'aws-lambda';
import { DynamoDbUploadLedger, ledgerTableDefinition } from '../../shared/adapters/ledger-dynamodb';
import { ConfigError } from '../../shared/errors';
import { DetailType, type FileUploadRequested } from '../../shared/events';
import { silentLogger } from '../../shared/logger';
import { recoveryStaleAfterMs, UNCLAIMED_REQUEST_ALLOWANCE_MS } from '../../services/uploader/config';
import { createRecoveryDeps, handler, handleRecoverySweep } from '../../services/uploader/recover-handler';
import { startDynalite, type DynaliteHandle } from '../support/dynalite';
import { loadZoomFixture, scheduledEvent } from '../support/fixtures';
import { MemoryPublisher } from '../support/memory-publisher';
import { uploadRequestsFor } from '../support/pipeline';

const T0 = Date.UTC(2026, 10, 26, 9, 0, 0);
const SECONDS = 1000;
const MINUTES = 60 * SECONDS;

/** The event the schedule rule (rate(5 minutes)) sends. */
const scheduled = (time: number): ScheduledEvent => scheduledEvent(time, 'ZoomArchiver-UploadRecoveryRule');

describe('recoveryStaleAfterMs', () => {
  it('gives an unclaimed request 15 minutes, and never less than a lease', () => {
    expect(UNCLAIMED_REQUEST_ALLOWANCE_MS).toBe(15 * MINUTES);
    expect(recoveryStaleAfterMs({ leaseMs: 60 * SECONDS })).toBe(15 * MINUTES);
    expect(recoveryStaleAfterMs({ leaseMs: 60 * MINUTES })).toBe(60 * MINUTES);
  });
});

describe('uploader recovery Lambda handler', () => {
  let dynalite: DynaliteHandle;
  let requests: FileUploadRequested[];
  let tableName: string;
  let ledger: DynamoDbUploadLedger;
  let publisher: MemoryPublisher;
  let now: number;
  beforeAll(async () => {
    dynalite = await startDynalite();
    // Real-shaped requests: the webhook and course validation run on a Zoom fixture (two eligible files).
    requests = (await uploadRequestsFor(loadZoomFixture('recording-completed'), 'recovery-test-webhook-secret')).map((r) => r.detail);
  });
  afterAll(() => dynalite.stop());
  beforeEach(async () => {
    tableName = await dynalite.createTable(ledgerTableDefinition(dynalite.uniqueTableName('ledger')));
    ledger = new DynamoDbUploadLedger({ client: dynalite.client, tableName });
    publisher = new MemoryPublisher();
    now = T0;
  });

  const env = (more: Record<string, string> = {}) => ({ LEDGER_TABLE_NAME: tableName, EVENT_BUS_NAME: 'zoom-archiver-bus', ...more });
  const deps = (more: Record<string, string> = {}) => createRecoveryDeps(env(more), { dynamoDb: dynalite.client, publisher, logger: silentLogger, now: () => now });
  const redriven = () => publisher.ofType(DetailType.FileUploadRequested).map((r) => r.file.fileId);
  const register = (request: FileUploadRequested) =>
    ledger.register({
      fileId: request.file.fileId,
      recordingId: request.recordingId,
      groupKey: 'g',
      groupSize: request.acceptedFileCount,
      archiveKey: request.archiveKey,
      expectedSize: request.file.fileSize,
      request,
      now,
    });

  it('the exported handler refuses to start without its variables, naming each', async () => {
    const saved = { ...process.env };
    try {
      delete process.env.LEDGER_TABLE_NAME;
      delete process.env.EVENT_BUS_NAME;
      process.env.UPLOAD_MAX_REDRIVES = '0';
      const error = await handler(scheduled(now), {}).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toBe('UPLOAD_MAX_REDRIVES: must be positive; LEDGER_TABLE_NAME: is required; EVENT_BUS_NAME: is required');
    } finally {
      process.env = saved;
    }
  });

  it('re-drives an expired lease at once, but an unclaimed request only after 15 minutes, not after a lease', async () => {
    const [crashed, unclaimed] = requests as [FileUploadRequested, FileUploadRequested];
    await register(crashed);
    await ledger.claim(crashed.file.fileId, 'dead-container:run', 60 * SECONDS, now);
    await register(unclaimed);

    now = T0 + 61 * SECONDS;
    expect(await handleRecoverySweep(scheduled(now), deps())).toEqual({ redriven: 1, failed: 0, skipped: 0, autoRetried: 0 });
    expect(redriven()).toEqual([crashed.file.fileId]);
    expect(await ledger.get(crashed.file.fileId)).toMatchObject({ state: 'requested', redrives: 1 });

    now = T0 + 15 * MINUTES + 1;
    expect(await handleRecoverySweep(scheduled(now), deps())).toEqual({ redriven: 1, failed: 0, skipped: 0, autoRetried: 0 });
    expect(redriven()).toEqual([crashed.file.fileId, unclaimed.file.fileId]);
    // It cost no transfer: not counted against the cap.
    expect(await ledger.get(unclaimed.file.fileId)).toMatchObject({ redrives: 0 });
  });

  it('takes the staleness from UPLOAD_LEASE_SECONDS when a lease is longer than 15 minutes', async () => {
    const [request] = requests as [FileUploadRequested];
    await register(request);

    now = T0 + 15 * MINUTES + 1;
    expect((await handleRecoverySweep(scheduled(now), deps({ UPLOAD_LEASE_SECONDS: '3600' }))).redriven).toBe(0);
    now = T0 + 60 * MINUTES;
    expect((await handleRecoverySweep(scheduled(now), deps({ UPLOAD_LEASE_SECONDS: '3600' }))).redriven).toBe(1);
  });

  it('fails a file re-driven UPLOAD_MAX_REDRIVES times: FileUploadFailed deadline, retryable', async () => {
    const [request] = requests as [FileUploadRequested];
    await register(request);
    const die = async () => {
      expect((await ledger.claim(request.file.fileId, `run-${now}`, 60 * SECONDS, now)).outcome).toBe('claimed');
      now += 61 * SECONDS;
    };

    await die();
    expect(await handleRecoverySweep(scheduled(now), deps({ UPLOAD_MAX_REDRIVES: '1' }))).toEqual({ redriven: 1, failed: 0, skipped: 0, autoRetried: 0 });
    await die();
    expect(await handleRecoverySweep(scheduled(now), deps({ UPLOAD_MAX_REDRIVES: '1' }))).toEqual({ redriven: 0, failed: 1, skipped: 0, autoRetried: 0 });

    expect(publisher.ofType(DetailType.FileUploadFailed)).toEqual([expect.objectContaining({ fileId: request.file.fileId, code: 'deadline', retryable: true })]);
    expect(await ledger.get(request.file.fileId)).toMatchObject({ state: 'failed' });
  });

  it('re-drives a retryable failure by itself when it is due, on the schedule of AUTO_RETRY_BASE_SECONDS (default 5 minutes)', async () => {
    const [request] = requests as [FileUploadRequested];
    await register(request);
    await ledger.claim(request.file.fileId, 'run-1', 60 * SECONDS, now);
    now += 61 * SECONDS;
    // The re-drive cap reached at once (UPLOAD_MAX_REDRIVES=1, one re-drive done): `deadline`, scheduled 5 minutes later.
    await handleRecoverySweep(scheduled(now), deps({ UPLOAD_MAX_REDRIVES: '1' }));
    await ledger.claim(request.file.fileId, 'run-2', 60 * SECONDS, now);
    now += 61 * SECONDS;
    expect(await handleRecoverySweep(scheduled(now), deps({ UPLOAD_MAX_REDRIVES: '1' }))).toMatchObject({ failed: 1 });
    const [failure] = publisher.ofType(DetailType.FileUploadFailed);
    expect(failure).toMatchObject({ code: 'deadline', retryable: true, nextAttemptAt: new Date(now + 5 * MINUTES).toISOString() });

    now += 5 * MINUTES - 1;
    expect(await handleRecoverySweep(scheduled(now), deps({ UPLOAD_MAX_REDRIVES: '1' }))).toMatchObject({ autoRetried: 0 });
    now += 1;
    expect(await handleRecoverySweep(scheduled(now), deps({ UPLOAD_MAX_REDRIVES: '1' }))).toEqual({ redriven: 0, failed: 0, skipped: 0, autoRetried: 1 });
    const retried = publisher.ofType(DetailType.FileUploadRequested).at(-1)!;
    expect(retried).toMatchObject({ file: { fileId: request.file.fileId }, autoRetry: { attempt: 1, maxAttempts: 8 } });
    expect(retried.metadata.idempotencyKey).toBe(`FileUploadRequested:${request.file.fileId}:auto-retry:1`);
    expect(await ledger.get(request.file.fileId)).toMatchObject({ state: 'requested', autoRetries: 1 });
  });

  it('does not re-drive failures by itself with AUTO_RETRY_MAX_ATTEMPTS=0', async () => {
    const [request] = requests as [FileUploadRequested];
    await register(request);
    for (let run = 1; run <= 2; run++) {
      await ledger.claim(request.file.fileId, `run-${run}`, 60 * SECONDS, now);
      now += 61 * SECONDS;
      await handleRecoverySweep(scheduled(now), deps({ UPLOAD_MAX_REDRIVES: '1', AUTO_RETRY_MAX_ATTEMPTS: '0' }));
    }
    expect(publisher.ofType(DetailType.FileUploadFailed)[0]).toMatchObject({ code: 'deadline', retryable: true });
    expect(publisher.ofType(DetailType.FileUploadFailed)[0]!.nextAttemptAt).toBeUndefined();

    now += 24 * 60 * MINUTES;
    expect(await handleRecoverySweep(scheduled(now), deps({ UPLOAD_MAX_REDRIVES: '1', AUTO_RETRY_MAX_ATTEMPTS: '0' }))).toEqual({ redriven: 0, failed: 0, skipped: 0, autoRetried: 0 });
    expect(await ledger.get(request.file.fileId)).toMatchObject({ state: 'failed', autoRetries: 0 });
  });
});
