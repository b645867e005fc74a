/**
 * The audit's custom metrics: what each audit record counts (the pure mapping of
 * services/audit/metrics.ts, fed by the production summaries), and what the audit
 * Lambda handler writes to stdout for it — one CloudWatch Embedded Metric Format line
 * per written record, in namespace ZoomArchiver with the single dimension service=audit,
 * and nothing for a redelivered (duplicate) event.
 */
import { auditTableDefinition } from '../../shared/adapters/audit-dynamodb';
import { DetailType, EVENT_SOURCE, type DetailOf } from '../../shared/events';
import { silentLogger, type AppLogger } from '../../shared/logger';
import { createAuditDeps, handleAuditEvent, type AuditMetricsSink } from '../../services/audit/handler';
import {
  AUDIT_METRIC_UNITS,
  auditMetricsOf,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
} from '../../services/audit/metrics';
import { toAuditRecord, type AuditInput } from '../../services/audit/summarize';
import { startDynalite, type DynaliteHandle } from '../support/dynalite';
import { LEAKED_TOKEN, seedEvents } from './seed';

type Reconciliation = DetailOf<typeof DetailType.ReconciliationCompleted>;

const reconciliation = (id: string, detail: Partial<Reconciliation> = {}): AuditInput => ({
  id,
  time: '2026-11-26T10:00:05Z',
  detailType: DetailType.ReconciliationCompleted,
  detail: {
    metadata: { schemaVersion: 1, correlationId: 'corr-run', causationId: 'schedule', idempotencyKey: `run-${id}` },
    runId: `run-${id}`,
    trigger: 'sweep',
    from: '2026-11-23',
    to: '2026-11-26',
    listing: 'account',
    windows: 1,
    pages: 2,
    apiCalls: 3,
    rateLimited: 0,
    recordingsFound: 12,
    recordingsHandedOver: 3,
    filesRequested: 5,
    filesAlreadyArchived: 7,
    filesInProgress: 0,
    filesFailed: 1,
    recordingsRejected: 2,
    recordingsStillProcessing: 0,
    errors: [{ window: '2026-11-23..2026-11-24', message: 'Zoom answered 503' }],
    startedAt: '2026-11-26T10:00:00Z',
    finishedAt: '2026-11-26T10:00:05Z',
    ...detail,
  },
});

/** The metric names as published (an existing stack's dashboard and alarms read them). */
const PUBLISHED_NAMES = ['BytesArchived', 'FilesArchived', 'FilesFailed', 'RecordingsArchived', 'RecordingsRejected', 'SweepErrors', 'SweepFilesFailed', 'SweepFilesRequested', 'SweepRecordingsFound'];
const seeded = (detailType: string) => seedEvents().find((e) => e.detailType === detailType)!;
const metricsOf = (event: AuditInput) => auditMetricsOf(toAuditRecord(event));

describe('auditMetricsOf (the pure mapping)', () => {
  it('counts a FileUploaded as one file archived and its size in bytes', () => {
    expect(metricsOf(seeded(DetailType.FileUploaded))).toEqual([
      { name: 'FilesArchived', unit: 'Count', value: 1 },
      { name: 'BytesArchived', unit: 'Bytes', value: 1000 },
    ]);
  });

  it('counts a failure, a rejection and an archived recording once each', () => {
    expect(metricsOf(seeded(DetailType.FileUploadFailed))).toEqual([{ name: 'FilesFailed', unit: 'Count', value: 1 }]);
    expect(metricsOf(seeded(DetailType.RecordingRejected))).toEqual([{ name: 'RecordingsRejected', unit: 'Count', value: 1 }]);
    expect(metricsOf(seeded(DetailType.RecordingArchived))).toEqual([{ name: 'RecordingsArchived', unit: 'Count', value: 1 }]);
  });

  it('reports a sweep’s four numbers, zeros included (one sample per sweep), and nothing for a backfill', () => {
    expect(metricsOf(reconciliation('s1'))).toEqual([
      { name: 'SweepRecordingsFound', unit: 'Count', value: 12 },
      { name: 'SweepFilesRequested', unit: 'Count', value: 5 },
      { name: 'SweepFilesFailed', unit: 'Count', value: 1 },
      { name: 'SweepErrors', unit: 'Count', value: 1 },
    ]);
    expect(metricsOf(reconciliation('s2', { recordingsFound: 0, filesRequested: 0, filesFailed: 0, errors: [] })).map((m) => [m.name, m.value])).toEqual([
      ['SweepRecordingsFound', 0],
      ['SweepFilesRequested', 0],
      ['SweepFilesFailed', 0],
      ['SweepErrors', 0],
    ]);
    expect(metricsOf(reconciliation('b1', { trigger: 'backfill' }))).toEqual([]);
  });

  it('counts nothing for the events that are not worth a metric', () => {
    expect(metricsOf(seeded(DetailType.RecordingAvailable))).toEqual([]);
    expect(metricsOf(seeded(DetailType.FileUploadRequested))).toEqual([]);
  });

  it('leaves out a value that is not a count rather than guessing one', () => {
    const uploaded = toAuditRecord(seeded(DetailType.FileUploaded));
    expect(auditMetricsOf({ ...uploaded, data: { ...uploaded.data, size: undefined } })).toEqual([{ name: 'FilesArchived', unit: 'Count', value: 1 }]);
    expect(auditMetricsOf({ ...uploaded, data: { ...uploaded.data, size: '1000' } })).toEqual([{ name: 'FilesArchived', unit: 'Count', value: 1 }]);
    expect(auditMetricsOf({ ...uploaded, data: { ...uploaded.data, size: -1 } })).toEqual([{ name: 'FilesArchived', unit: 'Count', value: 1 }]);
    expect(auditMetricsOf({ ...uploaded, data: { ...uploaded.data, size: Number.NaN } })).toEqual([{ name: 'FilesArchived', unit: 'Count', value: 1 }]);
  });

  it('names every metric once, with a unit, in the shared namespace', () => {
    expect(METRICS_NAMESPACE).toBe('ZoomArchiver');
    expect(METRICS_SERVICE).toBe('audit');
    // Literal names: the CloudWatch dashboard and alarms of an existing stack read these.
    expect(Object.keys(AUDIT_METRIC_UNITS).sort()).toEqual(PUBLISHED_NAMES);
  });
});

/** The EMF documents written to stdout while `run` runs (Powertools writes them with its own console on process.stdout). */
async function emfLinesDuring(run: () => Promise<void>): Promise<Record<string, unknown>[]> {
  const chunks: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return chunks
    .join('')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((doc) => '_aws' in doc);
}

interface EmfDirective {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: string; Unit: string }[];
}
const directivesOf = (doc: Record<string, unknown>) => (doc._aws as { CloudWatchMetrics: EmfDirective[] }).CloudWatchMetrics;
/** name -> value of one EMF document. */
const valuesOf = (doc: Record<string, unknown>) => Object.fromEntries(directivesOf(doc).flatMap((d) => d.Metrics.map((m) => [m.Name, doc[m.Name]])));

/** The EventBridge envelope of an audit input, as the function receives it. */
const envelope = (event: AuditInput, id = event.id) => ({
  version: '0',
  id,
  'detail-type': event.detailType,
  source: EVENT_SOURCE,
  account: '123456789012',
  time: event.time,
  region: 'eu-west-1',
  resources: [],
  detail: event.detail as unknown,
});

describe('audit Lambda handler: metrics as EMF on stdout', () => {
  let dynalite: DynaliteHandle;
  let tableName: string;
  const savedEnv = { ...process.env };
  beforeAll(async () => {
    dynalite = await startDynalite();
  });
  afterAll(() => dynalite.stop());
  beforeEach(async () => {
    // Powertools writes nothing in dev mode or when disabled: make sure neither is set by the environment running the tests.
    delete process.env.POWERTOOLS_DEV;
    delete process.env.POWERTOOLS_METRICS_DISABLED;
    delete process.env.POWERTOOLS_METRICS_NAMESPACE;
    tableName = await dynalite.createTable(auditTableDefinition(dynalite.uniqueTableName('audit-metrics')));
  });
  afterEach(() => {
    process.env = { ...savedEnv };
  });
  // The real Powertools Metrics: what the deployed function builds.
  const deps = (logger: AppLogger = silentLogger) => createAuditDeps({ AUDIT_TABLE_NAME: tableName }, { dynamoDb: dynalite.client, logger });

  it('writes one EMF line per written record, in ZoomArchiver with the one dimension service=audit, and none for its redelivery', async () => {
    const d = deps();
    const uploaded = seeded(DetailType.FileUploaded);
    const outcomes: string[] = [];

    const lines = await emfLinesDuring(async () => {
      outcomes.push(await handleAuditEvent(envelope(uploaded, 'bus-upload-1'), d));
      outcomes.push(await handleAuditEvent(envelope(uploaded, 'bus-upload-1'), d)); // EventBridge/Lambda redelivers it
      outcomes.push(await handleAuditEvent(envelope(uploaded, 'bus-upload-1'), d));
    });

    expect(outcomes).toEqual(['written', 'duplicate', 'duplicate']);
    expect(lines).toHaveLength(1);
    const [doc] = lines;
    expect(directivesOf(doc!)).toEqual([
      {
        Namespace: 'ZoomArchiver',
        Dimensions: [['service']],
        Metrics: expect.arrayContaining([
          { Name: 'FilesArchived', Unit: 'Count' },
          { Name: 'BytesArchived', Unit: 'Bytes' },
        ]),
      },
    ]);
    expect(directivesOf(doc!)[0]!.Metrics).toHaveLength(2);
    expect(valuesOf(doc!)).toEqual({ FilesArchived: 1, BytesArchived: 1000 });
    // Nothing else rides along: no recording, file, course or key, as a dimension or as a property.
    expect(Object.keys(doc!).sort()).toEqual(['BytesArchived', 'FilesArchived', '_aws', 'service']);
    expect(doc!.service).toBe('audit');
  });

  it('counts each distinct event once, whatever order the redeliveries come in, and nothing for uncounted detail-types', async () => {
    const d = deps();
    const events: [AuditInput, string][] = [
      [seeded(DetailType.RecordingAvailable), 'bus-a'],
      [seeded(DetailType.FileUploadRequested), 'bus-b'],
      [seeded(DetailType.FileUploaded), 'bus-c'],
      [seeded(DetailType.RecordingArchived), 'bus-d'],
      [seeded(DetailType.RecordingRejected), 'bus-e'],
      [seeded(DetailType.FileUploadFailed), 'bus-f'],
      [reconciliation('sweep-1'), 'bus-g'],
      [reconciliation('backfill-1', { trigger: 'backfill' }), 'bus-h'],
    ];
    const deliveries = [...events, ...[...events].reverse(), events[2]!, events[6]!];

    const lines = await emfLinesDuring(async () => {
      for (const [event, id] of deliveries) await handleAuditEvent(envelope(event, id), d);
    });

    const totals: Record<string, number> = {};
    for (const doc of lines) for (const [name, value] of Object.entries(valuesOf(doc))) totals[name] = (totals[name] ?? 0) + (value as number);
    expect(totals).toEqual({
      FilesArchived: 1,
      BytesArchived: 1000,
      RecordingsArchived: 1,
      RecordingsRejected: 1,
      FilesFailed: 1,
      SweepRecordingsFound: 12,
      SweepFilesRequested: 5,
      SweepFilesFailed: 1,
      SweepErrors: 1,
    });
    // One line per counted record: uploaded, archived, rejected, failed, the sweep.
    expect(lines).toHaveLength(5);
    for (const doc of lines) {
      expect(directivesOf(doc).map((x) => [x.Namespace, x.Dimensions])).toEqual([['ZoomArchiver', [['service']]]]);
      expect(doc.service).toBe('audit');
    }
    const written = JSON.stringify(lines);
    for (const leak of ['rec-A', 'rec-B', 'rec-C', 'MAQ101', 'PHY201', 'courses/', 'Zoom answered', 'run-sweep-1', LEAKED_TOKEN]) expect(written).not.toContain(leak);
  });

  it('writes nothing for an event that breaks its contract', async () => {
    const uploaded = seeded(DetailType.FileUploaded);
    const broken = { ...envelope(uploaded), detail: { ...(uploaded.detail as object), size: -5 } };
    const lines = await emfLinesDuring(async () => {
      await expect(handleAuditEvent(broken, deps())).rejects.toThrow();
    });
    expect(lines).toEqual([]);
  });

  it('still answers `written` when the metrics cannot be written, and keeps nothing of them for the next record', async () => {
    const warnings: unknown[][] = [];
    const logger: AppLogger = { ...silentLogger, warn: (...args: unknown[]) => void warnings.push(args) };
    const added: string[] = [];
    let cleared = 0;
    const failing: AuditMetricsSink = {
      addMetric: (name: string) => {
        added.push(name);
        if (name === 'BytesArchived') throw new Error('metric store full');
      },
      publishStoredMetrics: () => {
        throw new Error('not reached');
      },
      clearMetrics: () => {
        cleared += 1;
      },
    } as unknown as AuditMetricsSink;
    const d = createAuditDeps({ AUDIT_TABLE_NAME: tableName }, { dynamoDb: dynalite.client, logger, metrics: failing });

    expect(await handleAuditEvent(envelope(seeded(DetailType.FileUploaded)), d)).toBe('written');
    expect(added).toEqual(['FilesArchived', 'BytesArchived']);
    expect(cleared).toBe(1);
    expect(warnings).toEqual([['audit metrics not emitted', { eventId: 'e03', metrics: ['FilesArchived', 'BytesArchived'], error: 'metric store full' }]]);
  });
});
