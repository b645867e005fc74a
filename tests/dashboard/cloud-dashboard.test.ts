/**
 * `zoom-archiver dashboard` (cloudDashboardCommand) as an operator runs it against a
 * deployed stack: the audit and ledger tables on dynalite, EventBridge replaced by a
 * PutEvents stand-in, reached the way the SDK is configured there — from the
 * environment (AWS_ENDPOINT_URL_DYNAMODB / _EVENTBRIDGE, AWS_REGION, credentials).
 * Retry publishes the stored FileUploadRequested to the given bus; without --event-bus
 * it is disabled and says why.
 */
import { DynamoDbAuditLog, auditTableDefinition } from '../../shared/adapters/audit-dynamodb';
import { DynamoDbUploadLedger, ledgerTableDefinition } from '../../shared/adapters/ledger-dynamodb';
import { DetailType, EVENT_SOURCE, parseDetail, type DetailOf, type DetailTypeName, type FileUploadRequested } from '../../shared/events';
import { toAuditRecord } from '../../services/audit/summarize';
import { cloudDashboardCommand } from '../../host/cli/dashboard';
import { startDynalite, type DynaliteHandle } from '../support/dynalite';
import { startEventBridgeStandIn, type EventBridgeStandIn } from '../support/eventbridge-standin';

const BUS = 'zoom-archiver-bus-test';
const SEALED = 'SEALED-token-for-the-cloud-test-81c4';
const REC = 'cloud+Rec/UUID==';
const TOPIC = '[PHY201] Optics lab';
const FILE = 'cloud-file-1';
const NOW = Date.now();
const ago = (minutes: number) => new Date(NOW - minutes * 60_000).toISOString();
const FAILURE = { code: 'download_failed' as const, message: 'Zoom answered 503 three times', retryable: true };

const meta = (key: string) => ({ schemaVersion: 1 as const, correlationId: `corr-${REC}`, causationId: 'webhook', idempotencyKey: `${REC}:${key}` });
let seq = 0;
const auditRecord = <D extends DetailTypeName>(detailType: D, time: string, detail: DetailOf<D>) =>
  toAuditRecord({ id: `cloud-evt-${++seq}`, time, detailType, detail: parseDetail(detailType, detail) } as never);
const zoomFile = {
  fileId: FILE,
  idSource: 'zoom' as const,
  fileType: 'MP4',
  recordingType: 'shared_screen_with_speaker_view',
  fileSize: 52_428_800,
  downloadUrl: `https://ssrweb.zoom.us/rec/download/${FILE}`,
  status: 'completed',
};
const request: FileUploadRequested = parseDetail(DetailType.FileUploadRequested, {
  metadata: meta(`FileUploadRequested:${FILE}`),
  trigger: 'recording.completed',
  recordingId: REC,
  meetingId: '86100000002',
  course: 'PHY201',
  topic: TOPIC,
  startTime: ago(90),
  file: zoomFile,
  archiveKey: `courses/PHY201/lab/${FILE}.mp4`,
  acceptedFileCount: 1,
  part: { index: 0, count: 1 },
  downloadAccess: { sealedToken: SEALED },
});

const ENV_NAMES = ['AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_EVENTBRIDGE', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'] as const;

let dynalite: DynaliteHandle;
let events: EventBridgeStandIn;
let auditTable: string;
let ledgerTable: string;
const saved: Partial<Record<(typeof ENV_NAMES)[number], string>> = {};

beforeAll(async () => {
  dynalite = await startDynalite();
  events = await startEventBridgeStandIn();
  auditTable = await dynalite.createTable(auditTableDefinition(dynalite.uniqueTableName('audit')));
  ledgerTable = await dynalite.createTable(ledgerTableDefinition(dynalite.uniqueTableName('ledger')));

  const audit = new DynamoDbAuditLog(dynalite.client, auditTable);
  for (const record of [
    auditRecord(DetailType.RecordingAvailable, ago(61), {
      metadata: meta('available'),
      trigger: 'recording.completed',
      recordingId: REC,
      meetingId: '86100000002',
      topic: TOPIC,
      startTime: ago(90),
      receivedAt: ago(61),
      part: { index: 0, count: 1 },
      fileCount: 1,
      files: [zoomFile],
      downloadAccess: { sealedToken: SEALED },
    }),
    auditRecord(DetailType.FileUploadRequested, ago(60), request),
    auditRecord(DetailType.FileUploadFailed, ago(50), {
      metadata: meta(`FileUploadFailed:${FILE}`),
      recordingId: REC,
      fileId: FILE,
      course: 'PHY201',
      archiveKey: request.archiveKey,
      code: FAILURE.code,
      reason: FAILURE.message,
      retryable: true,
      attempts: 1,
    }),
  ]) {
    await audit.record(record);
  }
  const ledger = new DynamoDbUploadLedger({ client: dynalite.client, tableName: ledgerTable });
  await ledger.register({ fileId: FILE, recordingId: REC, groupKey: `${REC}#0`, groupSize: 1, course: 'PHY201', archiveKey: request.archiveKey, expectedSize: zoomFile.fileSize, request, now: NOW - 60 * 60_000 });
  await ledger.claim(FILE, 'lambda:1', 60_000, NOW - 59 * 60_000);
  await ledger.fail(FILE, 'lambda:1', FAILURE, NOW - 50 * 60_000);

  // The SDK reads these when a client is made and when it first sends: set for the whole file.
  for (const name of ENV_NAMES) saved[name] = process.env[name];
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: events.endpoint,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLETEST',
    AWS_SECRET_ACCESS_KEY: 'dummy-secret-for-dynalite',
  });
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
});

afterAll(async () => {
  for (const name of ENV_NAMES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  await events?.stop();
  await dynalite?.stop();
});

type Dashboard = Awaited<ReturnType<typeof cloudDashboardCommand>>;
const start = (eventBus?: string) => cloudDashboardCommand({ auditTable, ledgerTable, eventBus, env: { DASHBOARD_PORT: '0', LOG_LEVEL: 'SILENT' } });
const originOf = (dashboard: Dashboard) => new URL(dashboard.url).origin;
const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1];
const failureRow = (html: string) => {
  const start = html.indexOf(`<tr data-file-id="${FILE}"`);
  if (start < 0) throw new Error(`no failure row for ${FILE}`);
  return html.slice(start, html.indexOf('</tr>', start));
};
const postRetry = (dashboard: Dashboard, csrf: string, back = '/') =>
  fetch(new URL('/retry', dashboard.url), {
    method: 'POST',
    redirect: 'manual',
    headers: { origin: originOf(dashboard), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ fileId: FILE, csrf, back }).toString(),
  });

describe('zoom-archiver dashboard --event-bus', () => {
  let dashboard: Dashboard;
  beforeAll(async () => {
    dashboard = await start(BUS);
  });
  afterAll(async () => {
    await dashboard?.close();
  });

  it('listens on loopback with Retry on', () => {
    expect(dashboard.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(dashboard.retry).toBe(true);
  });

  it('shows the failed file from the DynamoDB tables, with Retry, and where the rest of the health is', async () => {
    const response = await fetch(dashboard.url);
    expect(response.status).toBe(200);
    const html = await response.text();

    const row = failureRow(html);
    expect(row).toContain(TOPIC);
    expect(row).toContain(FAILURE.code);
    expect(row).toContain(FAILURE.message);
    expect(row).toContain(request.archiveKey);
    expect(row).not.toMatch(/<button[^>]*disabled/);
    expect(html).toMatch(new RegExp(`<tr data-recording-id="${REC.replace(/[+/]/g, '\\$&')}" data-state="failed">`));
    expect(html).toContain(`DynamoDB ${auditTable} + ${ledgerTable}, bus ${BUS}`);
    expect(html).toContain('OperationsDashboardName');
    expect(html).toMatch(/data-health="bus-pending"><span class="muted">n\/a/);
    expect(html).not.toContain(SEALED);
  });

  it('Retry publishes the stored FileUploadRequested to the bus: one PutEvents entry, no token in it', async () => {
    events.clear();
    const html = await (await fetch(dashboard.url)).text();

    const response = await postRetry(dashboard, csrfOf(html)!);

    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location')!, dashboard.url);
    expect(location.pathname).toBe('/');
    expect(location.searchParams.get('notice')).toMatch(new RegExp(`^Re-driven ${FILE}:`));

    expect(events.requests.map((r) => r.target)).toEqual(['AWSEvents.PutEvents']);
    expect(events.requests[0]!.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(events.requests[0]!.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLETEST\/\d{8}\/eu-west-1\/events\//);
    expect(events.entries).toHaveLength(1);
    const [entry] = events.entries;
    expect(entry).toMatchObject({ EventBusName: BUS, Source: EVENT_SOURCE, DetailType: DetailType.FileUploadRequested });
    const detail = parseDetail(DetailType.FileUploadRequested, entry!.detail);
    expect(detail).toMatchObject({ recordingId: REC, archiveKey: request.archiveKey, file: { fileId: FILE }, metadata: { correlationId: `corr-${REC}` } });
    expect(detail.downloadAccess).toBeUndefined();
    expect(events.requests[0]!.body).not.toContain(SEALED);
    expect(events.requests[0]!.body).not.toContain('sealedToken');

    const after = await (await fetch(location)).text();
    expect(after).toMatch(new RegExp(`<p class="notice ok" role="status">Re-driven ${FILE}:`));
  });

  it('refuses a Retry from another origin, publishing nothing', async () => {
    events.clear();
    const html = await (await fetch(dashboard.url)).text();
    const response = await fetch(new URL('/retry', dashboard.url), {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ fileId: FILE, csrf: csrfOf(html)!, back: '/' }).toString(),
    });
    expect(response.status).toBe(403);
    expect(events.requests).toEqual([]);
  });
});

describe('zoom-archiver dashboard without --event-bus', () => {
  let dashboard: Dashboard;
  beforeAll(async () => {
    dashboard = await start(undefined);
  });
  afterAll(async () => {
    await dashboard?.close();
  });

  it('disables the Retry button, saying it needs --event-bus', async () => {
    expect(dashboard.retry).toBe(false);
    const html = await (await fetch(dashboard.url)).text();
    expect(failureRow(html)).toMatch(/<button type="submit" disabled title="Retry needs --event-bus NAME \(the stack output EventBusName\) to publish to">Retry<\/button>/);
    expect(html).toContain(`DynamoDB ${auditTable} + ${ledgerTable}</span>`);
  });

  it('answers a Retry POST with the notice that Retry needs --event-bus, publishing nothing', async () => {
    events.clear();
    const html = await (await fetch(dashboard.url)).text();

    const response = await postRetry(dashboard, csrfOf(html)!);

    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location')!, dashboard.url);
    expect(location.searchParams.get('kind')).toBe('problem');
    expect(location.searchParams.get('notice')).toBe('Retry needs --event-bus NAME (the stack output EventBusName) to publish to');
    expect(events.requests).toEqual([]);
    const after = await (await fetch(location)).text();
    expect(after).toContain('<p class="notice problem" role="status">Retry needs --event-bus NAME');
  });
});
