/**
 * The operations dashboard as synthesized: its DashboardBody (an Fn::Join of JSON and
 * references) is joined with a placeholder per reference and parsed, then read widget
 * by widget. Every dead-letter queue of the template (found by what uses it as one, not
 * by name) has its depth on it, the webhook's Duration and Invocations are there, every
 * function's Errors, and the audit's custom metrics in namespace ZoomArchiver with the
 * one dimension service=audit — by the names services/audit/metrics.ts exports.
 */
import { METRICS_NAMESPACE, METRICS_SERVICE } from '../../services/audit/metrics';
import { functionOf, referencedIds, synthesize, type Resource, type Synthesized } from './support';

/** One metric line of a widget: namespace, name, dimensions, options (stat, period, label). */
interface MetricLine {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
  options: { stat?: string; period?: number; label?: string; yAxis?: string };
}

interface Widget {
  type: string;
  properties: { title?: string; view?: string; metrics?: unknown[][]; markdown?: string; annotations?: { horizontal?: { value: number; label?: string; yAxis?: string }[] } };
}

/** A reference as it reads once the body is joined: `@Ref:Id@` or `@GetAtt:Id.Attr@`. */
const ref = (id: string) => `@Ref:${id}@`;
const getAtt = (id: string, attr: string) => `@GetAtt:${id}.${attr}@`;

function joinBody(value: unknown): string {
  if (typeof value === 'string') return value;
  const object = value as Record<string, any>;
  if (typeof object.Ref === 'string') return ref(object.Ref);
  if (Array.isArray(object['Fn::GetAtt'])) return getAtt(object['Fn::GetAtt'][0], object['Fn::GetAtt'][1]);
  if (object['Fn::Join']) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map(joinBody).join(separator);
  }
  throw new Error(`unexpected intrinsic in the dashboard body: ${JSON.stringify(value)}`);
}

function metricLine(raw: unknown[]): MetricLine {
  const last = raw[raw.length - 1];
  const options = (last && typeof last === 'object' ? last : {}) as MetricLine['options'];
  const strings = (options === last ? raw.slice(0, -1) : raw) as string[];
  for (const s of strings) expect(typeof s).toBe('string'); // no math expressions, no "..." shorthand
  const [namespace, name, ...pairs] = strings;
  expect(pairs.length % 2).toBe(0);
  const dimensions: Record<string, string> = {};
  for (let i = 0; i < pairs.length; i += 2) dimensions[pairs[i]!] = pairs[i + 1]!;
  return { namespace: namespace!, name: name!, dimensions, options };
}

interface Dashboard {
  id: string;
  resource: Resource;
  body: { widgets: Widget[]; start?: string; periodOverride?: string };
  widget(title: string): Widget;
  lines(title: string): MetricLine[];
  allLines(): MetricLine[];
}

function dashboardOf(s: Synthesized): Dashboard {
  const dashboards = Object.entries(s.resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Dashboard');
  expect(dashboards).toHaveLength(1);
  const [id, resource] = dashboards[0]!;
  const raw = resource.Properties.DashboardBody;
  expect(Object.keys(raw)).toEqual(['Fn::Join']);
  const body = JSON.parse(joinBody(raw)) as Dashboard['body'];
  const widget = (title: string) => {
    const found = body.widgets.filter((w) => w.properties.title === title);
    expect({ title, count: found.length }).toEqual({ title, count: 1 });
    return found[0]!;
  };
  const linesOf = (w: Widget) => (w.properties.metrics ?? []).map(metricLine);
  return { id, resource, body, widget, lines: (title) => linesOf(widget(title)), allLines: () => body.widgets.flatMap(linesOf) };
}

/**
 * The queues the template uses as dead-letter queues: of a rule target (DeadLetterConfig),
 * of a Lambda asynchronous invocation (on-failure destination), of another queue (RedrivePolicy).
 */
function deadLetterQueueIds(s: Synthesized): string[] {
  const queues = new Set(Object.entries(s.resources).filter(([, r]) => r.Type === 'AWS::SQS::Queue').map(([id]) => id));
  const used = new Set<string>();
  const add = (value: unknown) => referencedIds(value).filter((id) => queues.has(id)).forEach((id) => used.add(id));
  for (const r of Object.values(s.resources)) {
    if (r.Type === 'AWS::Events::Rule') for (const target of r.Properties.Targets ?? []) add(target.DeadLetterConfig);
    if (r.Type === 'AWS::Lambda::EventInvokeConfig') add(r.Properties.DestinationConfig?.OnFailure);
    if (r.Type === 'AWS::SQS::Queue') add(r.Properties.RedrivePolicy?.deadLetterTargetArn);
  }
  return [...used].sort();
}

const archiverFunctionIds = (s: Synthesized) =>
  Object.entries(s.resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME)
    .map(([id]) => id)
    .sort();

const DLQ_WIDGET = 'Dead-letter queues: messages waiting';
const ERRORS_WIDGET = 'Function errors per 5 minutes';
const SWEEP_WIDGET = 'Reconciliation sweeps per hour (backfills not counted)';

describe.each([
  ['the default stack', {}, 7],
  ['clean-up in Zoom on', { courseRules: { json: { cleanup: { trashInZoom: 'on' } }, source: 'test rules' } }, 9],
] as const)('operations dashboard: %s', (_name, props, dlqCount) => {
  let s: Synthesized;
  let d: Dashboard;
  beforeAll(() => {
    s = synthesize(props, { bundle: false });
    d = dashboardOf(s);
  }, 60_000);

  it('shows the depth of every dead-letter queue in the template, and of nothing else', () => {
    const dlqs = deadLetterQueueIds(s);
    expect(dlqs).toHaveLength(dlqCount);
    const lines = d.lines(DLQ_WIDGET);
    for (const line of lines) {
      expect(line).toMatchObject({ namespace: 'AWS/SQS', name: 'ApproximateNumberOfMessagesVisible', options: { stat: 'Maximum' } });
      expect(Object.keys(line.dimensions)).toEqual(['QueueName']);
    }
    expect(lines.map((l) => l.dimensions.QueueName).sort()).toEqual(dlqs.map((id) => getAtt(id, 'QueueName')).sort());
    // The outbox is not a DLQ: its backlog is normal (messages waiting for their next attempt).
    const outbox = Object.entries(s.resources).find(([, r]) => r.Type === 'AWS::SQS::Queue' && r.Properties.RedrivePolicy)![0];
    expect(JSON.stringify(d.body)).not.toContain(getAtt(outbox, 'QueueName'));
    // The alarms' threshold, drawn in.
    expect(d.widget(DLQ_WIDGET).properties.annotations?.horizontal).toEqual([{ value: 1, label: 'alarm', yAxis: 'left' }]);
    // Each line is labelled, and no two alike.
    const labels = lines.map((l) => l.options.label);
    expect(new Set(labels).size).toBe(dlqCount);
    expect(labels).toContain('SubscriberOutbox');
  });

  it("shows the webhook function's Duration p50 and p99 against Zoom's 3 s, and its Invocations", () => {
    const webhook = functionOf(s, 'webhook').functionId;
    const lines = d.lines('Webhook latency');
    const ofWebhook = (name: string, stat: string) =>
      lines.filter((l) => l.namespace === 'AWS/Lambda' && l.name === name && l.dimensions.FunctionName === ref(webhook) && l.options.stat === stat);
    expect(ofWebhook('Duration', 'p50')).toHaveLength(1);
    expect(ofWebhook('Duration', 'p99')).toHaveLength(1);
    expect(ofWebhook('Invocations', 'Sum')).toEqual([expect.objectContaining({ options: expect.objectContaining({ yAxis: 'right' }) })]);
    expect(lines).toHaveLength(3);
    expect(d.widget('Webhook latency').properties.annotations?.horizontal).toEqual([{ value: 3000, label: 'Zoom waits 3 s', yAxis: 'left' }]);
  });

  it('shows the Errors of every function of the stack', () => {
    const lines = d.lines(ERRORS_WIDGET);
    for (const line of lines) expect(line).toMatchObject({ namespace: 'AWS/Lambda', name: 'Errors', options: { stat: 'Sum' } });
    expect(lines.map((l) => l.dimensions.FunctionName).sort()).toEqual(archiverFunctionIds(s).map(ref).sort());
    expect(new Set(lines.map((l) => l.options.label)).size).toBe(lines.length);
  });

  it('reads every custom metric of the audit by its exported name, in ZoomArchiver with the one dimension service=audit', () => {
    const custom = d.allLines().filter((l) => l.namespace === METRICS_NAMESPACE);
    const audit = custom.filter((l) => l.name !== 'SubscriberDeliveriesFailed');
    for (const line of audit) expect(line.dimensions).toEqual({ service: METRICS_SERVICE });
    // Literal names, not the constant both sides import: a renamed or dropped metric fails here.
    expect([...new Set(audit.map((l) => l.name))].sort()).toEqual(['BytesArchived', 'FilesArchived', 'FilesFailed', 'RecordingsArchived', 'RecordingsRejected', 'SweepErrors', 'SweepFilesFailed', 'SweepFilesRequested', 'SweepRecordingsFound']);
    expect(METRICS_NAMESPACE).toBe('ZoomArchiver');
    expect(METRICS_SERVICE).toBe('audit');

    // Per hour, summed, where the brief says so.
    const hourly = (title: string) => d.lines(title).filter((l) => l.namespace === METRICS_NAMESPACE);
    expect(hourly('Files archived per hour').map((l) => [l.name, l.options.stat, l.options.period])).toEqual([
      ['FilesArchived', 'Sum', 3600],
      ['RecordingsArchived', 'Sum', 3600],
    ]);
    expect(hourly('Bytes archived per hour').map((l) => [l.name, l.options.stat, l.options.period])).toEqual([['BytesArchived', 'Sum', 3600]]);
    expect(hourly('Failures per hour').map((l) => l.name)).toEqual(['FilesFailed', 'RecordingsRejected', 'SubscriberDeliveriesFailed']);
    expect(hourly(SWEEP_WIDGET).map((l) => [l.name, l.options.stat])).toEqual([
      ['SweepRecordingsFound', 'Sum'],
      ['SweepFilesRequested', 'Sum'],
      ['SweepFilesFailed', 'Sum'],
      ['SweepErrors', 'Sum'],
      ['SweepRecordingsFound', 'SampleCount'],
    ]);
    const reconciler = functionOf(s, 'reconciler').functionId;
    expect(d.lines(SWEEP_WIDGET).filter((l) => l.name === 'Errors').map((l) => l.dimensions.FunctionName)).toEqual([ref(reconciler)]);
    expect(d.widget('In the time range').properties.view).toBe('singleValue');
  });

  it("draws SubscriberDeliveriesFailed as the dispatcher's metric filter publishes it (same namespace and name, no dimension)", () => {
    const filters = Object.values(s.resources).filter((r) => r.Type === 'AWS::Logs::MetricFilter');
    const published = filters.flatMap((f) => f.Properties.MetricTransformations as { MetricNamespace: string; MetricName: string; Dimensions?: unknown }[]);
    const drawn = d.allLines().filter((l) => l.name === 'SubscriberDeliveriesFailed');
    expect(drawn).toHaveLength(1);
    expect(published).toContainEqual(expect.objectContaining({ MetricNamespace: drawn[0]!.namespace, MetricName: drawn[0]!.name }));
    expect(published.find((p) => p.MetricName === drawn[0]!.name)!.Dimensions).toBeUndefined();
    expect(drawn[0]!.dimensions).toEqual({});
  });

  it('keeps each graph’s own period, shows a week, and is named after the stack and region (the OperationsDashboardName output)', () => {
    expect(d.body.periodOverride).toBe('inherit');
    expect(d.body.start).toBe('-P7D');
    expect(d.resource.Properties.DashboardName).toEqual({ 'Fn::Join': ['', [{ Ref: 'AWS::StackName' }, '-operations-', { Ref: 'AWS::Region' }]] });
    s.template.hasOutput('OperationsDashboardName', { Value: { Ref: d.id } });
  });
});
