/**
 * The webhook's Lambda handler: its bootstrap (createWebhookLambda) and its request
 * path (handleWebhookRequest), with Function URL events shaped as Lambda delivers them
 * (payload format 2.0, base64 body) and signed as Zoom signs them. The bus is a
 * MemoryPublisher; replays are remembered in a ledger table on dynalite, the table
 * LEDGER_TABLE_NAME names, as the deployed function does.
 */
import { randomUUID } from 'node:crypto';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { DELIVERY_KEY_PREFIX } from '../../shared/adapters/delivery-guard-dynamodb';
import { ledgerTableDefinition } from '../../shared/adapters/ledger-dynamodb';
import { TokenSealer } from '../../shared/crypto/token-seal';
import { ConfigError } from '../../shared/errors';
import { DetailType } from '../../shared/events';
import { silentLogger } from '../../shared/logger';
import { WEBHOOK_PATH } from '../../services/webhook/http';
import { createWebhookLambda, handler, handleWebhookRequest, type FunctionUrlEvent } from '../../services/webhook/handler';
import { startDynalite, type DynaliteHandle } from '../support/dynalite';
import { loadZoomFixture, signedHeaders } from '../support/fixtures';
import { MemoryPublisher } from '../support/memory-publisher';

const SECRET = 'webhook-handler-test-secret-token';
const SEALING = 'webhook-handler-test-sealing-secret';
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:zoom-archiver/zoom-AbCdEf';
const context = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => 5_000 } as unknown as Context;

/** A Lambda Function URL event (payload format 2.0) for a POST of `body`, base64-encoded as Lambda sends JSON it did not decode. */
function functionUrlEvent(body: string, headers: Record<string, string>): FunctionUrlEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: WEBHOOK_PATH,
    rawQueryString: '',
    headers: { ...headers, host: 'abc123.lambda-url.eu-west-1.on.aws', 'x-zm-trackingid': 'v=2.0;clid=aw1;rid=123' },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abc123',
      domainName: 'abc123.lambda-url.eu-west-1.on.aws',
      domainPrefix: 'abc123',
      http: { method: 'POST', path: WEBHOOK_PATH, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'Zoom Marketplace/1.0a' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: '27/Nov/2026:10:00:00 +0000',
      timeEpoch: Date.now(),
    },
    body: Buffer.from(body).toString('base64'),
    isBase64Encoded: true,
  } as unknown as FunctionUrlEvent;
}

const signed = (body: string, secret = SECRET) => functionUrlEvent(body, signedHeaders(body, secret));
const json = (result: { body?: string }) => JSON.parse(result.body ?? '{}') as Record<string, unknown>;

/** A Secrets Manager stand-in answering whatever `text` holds now, counting the reads. */
function fakeSecretsManager() {
  const fake = { text: '{}', reads: 0, ids: [] as unknown[], client: undefined as unknown as Pick<SecretsManagerClient, 'send'> };
  fake.client = {
    send: async (command: { input: { SecretId?: string } }) => {
      fake.reads++;
      fake.ids.push(command.input.SecretId);
      return { SecretString: fake.text };
    },
  } as unknown as Pick<SecretsManagerClient, 'send'>;
  return fake;
}

describe('webhook Lambda handler', () => {
  let dynalite: DynaliteHandle;
  let tableName: string;
  let publisher: MemoryPublisher;
  let env: Record<string, string>;
  beforeAll(async () => {
    dynalite = await startDynalite();
  });
  afterAll(() => dynalite.stop());
  beforeEach(async () => {
    tableName = await dynalite.createTable(ledgerTableDefinition(dynalite.uniqueTableName('ledger')));
    publisher = new MemoryPublisher();
    env = { EVENT_BUS_NAME: 'zoom-archiver-bus', LEDGER_TABLE_NAME: tableName, ZOOM_WEBHOOK_SECRET_TOKEN: SECRET };
  });

  const deliveryItems = async () =>
    ((await dynalite.client.send(new ScanCommand({ TableName: tableName }))).Items ?? []).filter((item) => item.pk?.S?.startsWith(DELIVERY_KEY_PREFIX));

  describe('cold start', () => {
    const saved = { ...process.env };
    afterEach(() => {
      process.env = { ...saved };
    });

    it('the exported handler refuses to start without its variables, naming each, at every invocation', async () => {
      // Importing the module (above) built nothing; the first invocation bootstraps from process.env.
      process.env = { ...saved, ZOOM_WEBHOOK_SECRET_TOKEN: SECRET };
      delete process.env.EVENT_BUS_NAME;
      delete process.env.LEDGER_TABLE_NAME;
      const body = JSON.stringify(loadZoomFixture('recording-completed'));

      const error = await handler(signed(body), context).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toBe('EVENT_BUS_NAME: is required; LEDGER_TABLE_NAME: is required');
      await expect(handler(signed(body), context)).rejects.toThrow(/EVENT_BUS_NAME: is required/);
    });

    it('lists an invalid setting with the missing ones, and a missing secret token without quoting anything', () => {
      expect(() => createWebhookLambda({ LEDGER_TABLE_NAME: tableName, WEBHOOK_MAX_SKEW_SECONDS: '-5' })).toThrow(
        new ConfigError('WEBHOOK_MAX_SKEW_SECONDS: must be positive; EVENT_BUS_NAME: is required'),
      );
      // Without ZOOM_SECRETS_ARN the secret comes from the environment, checked at the bootstrap.
      expect(() => createWebhookLambda({ EVENT_BUS_NAME: 'bus', LEDGER_TABLE_NAME: tableName, TOKEN_SEALING_SECRET: SEALING })).toThrow(
        /ZOOM_WEBHOOK_SECRET_TOKEN: is required/,
      );
      expect(() => createWebhookLambda({ ...env, ZOOM_WEBHOOK_SECRET_TOKEN: 'short-token' })).toThrow(
        /^ZOOM_WEBHOOK_SECRET_TOKEN: must have at least 16 characters.*set TOKEN_SEALING_SECRET\)$/,
      );
    });
  });

  it('accepts a signed recording.completed: publishes RecordingAvailable with the token sealed, remembers the delivery in the ledger table', async () => {
    const fixture = loadZoomFixture('recording-completed');
    const deps = createWebhookLambda(env, { publisher, dynamoDb: dynalite.client, logger: silentLogger });
    const event = signed(JSON.stringify(fixture, null, 2));

    const result = await handleWebhookRequest(event, context, deps);

    expect(result.statusCode).toBe(200);
    expect(json(result)).toMatchObject({ status: 'accepted', recordingId: fixture.payload.object.uuid });
    const [available, ...more] = publisher.ofType(DetailType.RecordingAvailable);
    expect(more).toEqual([]);
    expect(available!.recordingId).toBe(fixture.payload.object.uuid);
    // Sealed with the webhook secret token (no TOKEN_SEALING_SECRET): what the uploader opens.
    expect(new TokenSealer(SECRET).open(available!.downloadAccess!.sealedToken)).toBe(fixture.download_token);
    expect(await deliveryItems()).toHaveLength(1);

    // The same signed bytes again: the ledger table remembers them, nothing is published.
    const replay = await handleWebhookRequest(event, context, deps);
    expect(json(replay)).toMatchObject({ status: 'duplicate' });
    expect(publisher.published).toHaveLength(1);
  });

  it('refuses a request signed with another secret: 401, nothing published or remembered', async () => {
    const deps = createWebhookLambda(env, { publisher, dynamoDb: dynalite.client, logger: silentLogger });
    const result = await handleWebhookRequest(signed(JSON.stringify(loadZoomFixture('recording-completed')), 'another-secret-token-000'), context, deps);

    expect(result.statusCode).toBe(401);
    expect(publisher.published).toEqual([]);
    expect(await deliveryItems()).toEqual([]);
  });

  it('with ZOOM_SECRETS_ARN reads the secret from Secrets Manager, refuses it until it is usable, and seals with TOKEN_SEALING_SECRET', async () => {
    const secrets = fakeSecretsManager();
    // What the stack creates: a random sealing secret only, the Zoom token not filled in yet; the environment's is not used.
    secrets.text = JSON.stringify({ TOKEN_SEALING_SECRET: SEALING });
    const deps = createWebhookLambda({ ...env, ZOOM_SECRETS_ARN: ARN }, { publisher, dynamoDb: dynalite.client, secretsManager: secrets.client, logger: silentLogger });
    const fixture = loadZoomFixture('recording-completed');

    const refused = await handleWebhookRequest(signed(JSON.stringify(fixture)), context, deps).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toMatch(/ZOOM_WEBHOOK_SECRET_TOKEN: is required/);
    expect((refused as Error).message).not.toContain(SEALING);
    expect(publisher.published).toEqual([]);

    // The operator fills it in; the refused value was not kept, so the next request reads again.
    secrets.text = JSON.stringify({ TOKEN_SEALING_SECRET: SEALING, ZOOM_WEBHOOK_SECRET_TOKEN: SECRET });
    const result = await handleWebhookRequest(signed(JSON.stringify(fixture)), context, deps);

    expect(result.statusCode).toBe(200);
    expect(secrets.reads).toBe(2);
    expect(secrets.ids).toEqual([ARN, ARN]);
    const sealed = publisher.ofType(DetailType.RecordingAvailable)[0]!.downloadAccess!.sealedToken;
    expect(new TokenSealer(SEALING).open(sealed)).toBe(fixture.download_token);
    expect(new TokenSealer(SECRET).open(sealed)).toBeUndefined();
  });
});
