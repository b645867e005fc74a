/**
 * The uploader's Lambda handler: its bootstrap (createUploaderLambda) builds the same
 * adapters the deployed function uses — the S3 store on the ARCHIVE_BUCKET (s3rver),
 * the DynamoDB ledger on LEDGER_TABLE_NAME (dynalite) — and the uploader's settings and
 * Zoom secret from the environment or Secrets Manager; only the bus is a
 * MemoryPublisher. Events are EventBridge envelopes of the FileUploadRequested the
 * real webhook and course validation produce for a simulated Zoom recording.
 *
 * Also the rule both runtimes share for what an outcome means to the bus
 * (uploadDisposition), and that the Lambda handler follows it.
 */
import { randomUUID } from 'node:crypto';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { DynamoDbUploadLedger, ledgerTableDefinition } from '../../shared/adapters/ledger-dynamodb';
import { ConfigError } from '../../shared/errors';
import { DetailType, EVENT_SOURCE, type FileUploadRequested } from '../../shared/events';
import { silentLogger } from '../../shared/logger';
import { createUploaderLambda, DeliverAgainLaterError, handler, handleUpload } from '../../services/uploader/handler';
import type { UploadOutcome } from '../../services/uploader/use-case';
import { uploadDisposition } from '../../services/uploader/wiring';
import { startZoomSimulator, zoomEnvFor, type ZoomSimulator } from '../../tools/zoom-simulator/simulator';
import { startDynalite, type DynaliteHandle } from '../support/dynalite';
import { MemoryPublisher } from '../support/memory-publisher';
import { uploadRequestsFor } from '../support/pipeline';
import { startS3rver, type S3rverHandle } from '../support/s3rver';
import { mp4 } from './harness';

const MiB = 1024 * 1024;
const WEBHOOK_SECRET = 'uploader-handler-test-webhook-secret';
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:zoom-archiver/zoom-AbCdEf';
/** What Lambda says is left of a fresh 15-minute invocation. */
const context = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => 15 * 60_000 } as unknown as Context;

/** The envelope EventBridge hands the function. */
const envelope = (detail: FileUploadRequested) => ({
  version: '0',
  id: randomUUID(),
  'detail-type': DetailType.FileUploadRequested,
  source: EVENT_SOURCE,
  account: '123456789012',
  time: new Date().toISOString(),
  region: 'eu-west-1',
  resources: [],
  detail,
});

describe('uploader Lambda handler', () => {
  let simulator: ZoomSimulator;
  let s3: S3rverHandle;
  let dynalite: DynaliteHandle;
  let tableName: string;
  let publisher: MemoryPublisher;
  let env: Record<string, string>;
  beforeAll(async () => {
    [simulator, s3, dynalite] = await Promise.all([startZoomSimulator(), startS3rver(), startDynalite()]);
  });
  afterAll(async () => {
    await Promise.all([simulator.stop(), s3.stop(), dynalite.stop()]);
  });
  beforeEach(async () => {
    tableName = await dynalite.createTable(ledgerTableDefinition(dynalite.uniqueTableName('ledger')));
    publisher = new MemoryPublisher();
    env = {
      ARCHIVE_BUCKET: s3.bucket,
      LEDGER_TABLE_NAME: tableName,
      EVENT_BUS_NAME: 'zoom-archiver-bus',
      // The OAuth app, token URL and download hosts of the simulated Zoom.
      ...zoomEnvFor(simulator),
      ZOOM_WEBHOOK_SECRET_TOKEN: WEBHOOK_SECRET,
    };
  });

  const adapters = () => ({ s3: s3.client, dynamoDb: dynalite.client, publisher, logger: silentLogger });
  const ledger = () => new DynamoDbUploadLedger({ client: dynalite.client, tableName });
  async function requestFor(size: number): Promise<FileUploadRequested> {
    const recording = await simulator.addRecording({ topic: '[UPL201] Handler test', files: [mp4(size)] });
    const [request] = await uploadRequestsFor(recording.payload, WEBHOOK_SECRET);
    return request!.detail;
  }

  describe('cold start', () => {
    const saved = { ...process.env };
    afterEach(() => {
      process.env = { ...saved };
    });

    it('the exported handler refuses to start, at every invocation, naming every missing or invalid variable at once', async () => {
      process.env = { ...saved, UPLOAD_LEASE_SECONDS: 'sixty', ARCHIVE_PART_SIZE_MB: '4' };
      for (const name of ['ARCHIVE_BUCKET', 'LEDGER_TABLE_NAME', 'EVENT_BUS_NAME']) delete process.env[name];
      const event = envelope(await requestFor(MiB));

      const error = await handler(event, context).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toBe(
        'UPLOAD_LEASE_SECONDS: must be a number; ARCHIVE_PART_SIZE_MB: must be at least 5 (S3 minimum part size); ' +
          'ARCHIVE_BUCKET: is required; LEDGER_TABLE_NAME: is required; EVENT_BUS_NAME: is required',
      );
      await expect(handler(event, context)).rejects.toThrow(ConfigError);
      expect(simulator.stats(event.detail.file.fileId).requests).toBe(0);
    });

    it('refuses, without ZOOM_SECRETS_ARN, Zoom credentials in the environment it cannot use, naming them', () => {
      const { ZOOM_ACCOUNT_ID: _omitted, ...partialOAuth } = env;
      expect(() => createUploaderLambda(partialOAuth, adapters())).toThrow(/ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET/);
      expect(() => createUploaderLambda({ ...env, TOKEN_SEALING_SECRET: 'short-seal' }, adapters())).toThrow(
        new ConfigError('TOKEN_SEALING_SECRET: must have at least 16 characters'),
      );
    });
  });

  it('archives a requested file through the bootstrapped adapters: S3 object, ledger entry, FileUploaded, with the webhook token opened', async () => {
    const request = await requestFor(3 * MiB);
    const deps = await createUploaderLambda(env, adapters())();

    const outcome = await handleUpload(envelope(request), context, deps);

    expect(outcome).toMatchObject({ outcome: 'uploaded', attempts: 1 });
    const [uploaded, ...more] = publisher.ofType(DetailType.FileUploaded);
    expect(more).toEqual([]);
    const sha256 = await simulator.expectedSha256(request.file.fileId);
    expect(uploaded).toMatchObject({
      fileId: request.file.fileId,
      location: { kind: 's3', container: s3.bucket, key: request.archiveKey },
      size: 3 * MiB,
      checksum: { algorithm: 'sha256', value: sha256 },
    });
    // The object is in ARCHIVE_BUCKET, the entry in LEDGER_TABLE_NAME.
    expect(await deps.store.head(request.archiveKey)).toMatchObject({ size: 3 * MiB });
    expect(await ledger().get(request.file.fileId)).toMatchObject({ state: 'uploaded' });
    // The sealing secret (the webhook token here) opened the webhook's download token: no OAuth needed.
    const downloads = simulator.requestLog.filter((entry) => entry.fileId === request.file.fileId && entry.kind === 'download');
    expect(downloads.map((entry) => entry.auth)).toEqual(['webhook']);
    expect(simulator.oauthStats.requests).toBe(0);
  });

  it('acknowledges a file another run holds the lease on: returns in_progress_elsewhere, downloads and publishes nothing', async () => {
    const request = await requestFor(MiB);
    const other = ledger();
    await other.register({ ...request, fileId: request.file.fileId, groupKey: 'another-run', groupSize: 1, expectedSize: request.file.fileSize, request, now: Date.now() });
    expect((await other.claim(request.file.fileId, 'another-container:run', 60_000, Date.now())).outcome).toBe('claimed');
    const deps = await createUploaderLambda(env, adapters())();

    const outcome = await handleUpload(envelope(request), context, deps);

    expect(outcome.outcome).toBe('in_progress_elsewhere');
    expect(simulator.stats(request.file.fileId).requests).toBe(0);
    expect(publisher.published).toEqual([]);
  });

  it('makes Lambda deliver again an outcome the bus must redeliver (a run released at shutdown): the invocation throws, retryable', async () => {
    const request = await requestFor(MiB);
    const deps = await createUploaderLambda(env, adapters())();

    const error = await handleUpload(envelope(request), context, { ...deps, shutdown: AbortSignal.abort() }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DeliverAgainLaterError);
    expect(error).toMatchObject({ outcome: 'released', retryable: true });
    expect(await ledger().get(request.file.fileId)).toMatchObject({ state: 'requested' });
    expect(publisher.published).toEqual([]);
  });

  it('with ZOOM_SECRETS_ARN takes the credentials from Secrets Manager only, and does not keep a secret it cannot use', async () => {
    let text = '{}'; // created by the stack without values
    let reads = 0;
    const secretsManager = { send: async () => (reads++, { SecretString: text }) } as unknown as Pick<SecretsManagerClient, 'send'>;
    // The environment's Zoom values must not be used when the secret is in Secrets Manager.
    const load = createUploaderLambda({ ...env, ZOOM_SECRETS_ARN: ARN }, { ...adapters(), secretsManager });

    const refused = await load().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).message).toMatch(/^uploader secret: needs TOKEN_SEALING_SECRET or ZOOM_WEBHOOK_SECRET_TOKEN/);

    text = JSON.stringify({ TOKEN_SEALING_SECRET: WEBHOOK_SECRET });
    const deps = await load();
    expect(reads).toBe(2);
    const request = await requestFor(MiB);
    expect((await handleUpload(envelope(request), context, deps)).outcome).toBe('uploaded');
    expect(simulator.requestLog.filter((e) => e.fileId === request.file.fileId && e.kind === 'download').map((e) => e.auth)).toEqual(['webhook']);
  });
});

describe('uploadDisposition: what an outcome means to the bus, in Lambda and on one machine', () => {
  const entry = {} as Extract<UploadOutcome, { entry: unknown }>['entry'];
  it.each<[UploadOutcome, 'acknowledge' | 'deliver_again_later']>([
    [{ outcome: 'uploaded', result: {} as never, attempts: 1 }, 'acknowledge'],
    [{ outcome: 'duplicate', entry }, 'acknowledge'],
    // The lease holder finishes, or its lease expires and the recovery sweep re-drives it.
    [{ outcome: 'in_progress_elsewhere', entry }, 'acknowledge'],
    [{ outcome: 'failed', code: 'not_found', retryable: false, attempts: 1 }, 'acknowledge'],
    [{ outcome: 'failed', code: 'download_failed', retryable: true, attempts: 5 }, 'acknowledge'],
    [{ outcome: 'deadline', attempts: 2 }, 'acknowledge'],
    [{ outcome: 'lease_lost' }, 'acknowledge'],
    [{ outcome: 'released' }, 'deliver_again_later'],
  ])('%j → %s', (outcome, disposition) => {
    expect(uploadDisposition(outcome)).toBe(disposition);
  });
});
