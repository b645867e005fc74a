/**
 * The operations dashboard (CloudWatch): what the archiver did and what is stuck, on
 * one page. README, "Operations dashboard".
 *
 * - Files and bytes archived per hour, recordings archived, and the totals of the
 *   dashboard's time range: the audit's custom metrics (services/audit/metrics.ts,
 *   emitted as EMF by the audit Lambda, one count per audit record written, so a
 *   redelivered event is not counted twice).
 * - Failures: FilesFailed and RecordingsRejected per hour, the subscriber deliveries
 *   given up, and every function's Errors.
 * - Dead-letter depths: ApproximateNumberOfMessagesVisible of every DLQ it is given
 *   (the stack gives all of them), with the alarms' threshold (1) drawn in.
 * - Webhook latency: the webhook function's Duration p50/p99 against Zoom's 3 s
 *   wait, and its Invocations.
 * - Sweep results: the reconciliation sweeps' Sweep* metrics, how many sweeps
 *   finished, and the reconciler's Errors (a failed sweep reports nothing).
 *
 * The metric names, namespace and the one dimension (service=audit) are imported from
 * the code that emits them, never retyped. Nothing here grants anything: a dashboard
 * reads metrics with the viewer's own permissions.
 */
import { Aws, Duration } from 'aws-cdk-lib';
import {
  Dashboard,
  GraphWidget,
  Metric,
  PeriodOverride,
  SingleValueWidget,
  TextWidget,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AuditMetricName, METRICS_NAMESPACE, METRICS_SERVICE } from '../../services/audit/metrics';

/** The metric of the subscriber dispatcher's log metric filter (subscriber-delivery.ts, no dimension): deliveries given up. A test checks the two agree. */
const SUBSCRIBER_DELIVERIES_FAILED_METRIC = 'SubscriberDeliveriesFailed';

const HOUR = Duration.hours(1);
const FIVE_MINUTES = Duration.minutes(5);
/** What Zoom waits for the webhook's answer before it counts the delivery as failed. */
const ZOOM_WEBHOOK_TIMEOUT_MS = 3000;

export interface LabelledFunction {
  /** As in the stack's outputs (e.g. `Uploader` for UploaderFunctionName): the graph's legend. */
  label: string;
  function: IFunction;
}

export interface LabelledQueue {
  /** As in the stack's outputs (e.g. `Uploader` for UploaderDeadLetterQueueUrl): the graph's legend. */
  label: string;
  queue: IQueue;
}

export interface OperationsDashboardProps {
  /** The Zoom webhook's function: its latency and invocations. */
  webhook: IFunction;
  /** The reconciliation sweep's function: its errors beside the sweep results. */
  reconciler: IFunction;
  /** Every function of the stack, for the errors graph. */
  functions: readonly LabelledFunction[];
  /** Every dead-letter queue of the stack. */
  deadLetterQueues: readonly LabelledQueue[];
  /** Default: `<stack name>-operations-<region>` (dashboard names are per account, not per region). */
  dashboardName?: string;
}

export class OperationsDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const labels = (items: readonly { label: string }[], what: string) => {
      const seen = new Set<string>();
      for (const { label } of items) {
        if (seen.has(label)) throw new Error(`${id}: two ${what} are labelled "${label}"`);
        seen.add(label);
      }
    };
    labels(props.functions, 'functions');
    labels(props.deadLetterQueues, 'dead-letter queues');

    const audit = (name: AuditMetricName, label: string, statistic = 'Sum', period = HOUR) =>
      new Metric({ namespace: METRICS_NAMESPACE, metricName: name, dimensionsMap: { service: METRICS_SERVICE }, statistic, period, label });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? `${Aws.STACK_NAME}-operations-${Aws.REGION}`,
      defaultInterval: Duration.days(7),
      // Each graph keeps its own period ("per hour" stays per hour whatever the time range).
      periodOverride: PeriodOverride.INHERIT,
    });

    this.dashboard.addWidgets(
      new TextWidget({
        width: 24,
        height: 3,
        markdown: [
          '# zoom-archiver operations',
          'Archived and failed counts come from the audit trail (one per event, redeliveries not counted twice); `zoom-archiver status` has the details of each. ' +
            'A dead-letter queue above 0 has raised its alarm: read a message, fix the cause, re-drive (infrastructure/README.md, "Dead-letter queues and re-drive"). ' +
            'Files a sweep requested are webhooks that never came.',
        ].join('\n\n'),
      }),
    );

    this.dashboard.addWidgets(
      new SingleValueWidget({
        title: 'In the time range',
        width: 24,
        height: 4,
        setPeriodToTimeRange: true,
        metrics: [
          audit(AuditMetricName.FilesArchived, 'files archived'),
          audit(AuditMetricName.BytesArchived, 'bytes archived'),
          audit(AuditMetricName.RecordingsArchived, 'recordings archived'),
          audit(AuditMetricName.FilesFailed, 'file failures'),
          audit(AuditMetricName.RecordingsRejected, 'recordings rejected'),
        ],
      }),
    );

    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Files archived per hour',
        width: 12,
        left: [audit(AuditMetricName.FilesArchived, 'files archived'), audit(AuditMetricName.RecordingsArchived, 'recordings archived')],
        leftYAxis: { min: 0, showUnits: false },
      }),
      new GraphWidget({
        title: 'Bytes archived per hour',
        width: 12,
        left: [audit(AuditMetricName.BytesArchived, 'bytes archived')],
        leftYAxis: { min: 0 },
      }),
    );

    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Failures per hour',
        width: 12,
        left: [
          audit(AuditMetricName.FilesFailed, 'file failures (FileUploadFailed, retryable ones too)'),
          audit(AuditMetricName.RecordingsRejected, 'recordings rejected (not a course meeting included)'),
          new Metric({ namespace: METRICS_NAMESPACE, metricName: SUBSCRIBER_DELIVERIES_FAILED_METRIC, statistic: 'Sum', period: HOUR, label: 'subscriber deliveries given up' }),
        ],
        leftYAxis: { min: 0, showUnits: false },
      }),
      new GraphWidget({
        title: 'Function errors per 5 minutes',
        width: 12,
        left: props.functions.map(({ label, function: fn }) => fn.metricErrors({ statistic: 'Sum', period: FIVE_MINUTES, label })),
        leftYAxis: { min: 0, showUnits: false },
      }),
    );

    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Dead-letter queues: messages waiting',
        width: 12,
        left: props.deadLetterQueues.map(({ label, queue }) =>
          queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: FIVE_MINUTES, label }),
        ),
        leftAnnotations: [{ value: 1, label: 'alarm' }],
        leftYAxis: { min: 0, showUnits: false },
      }),
      new GraphWidget({
        title: 'Webhook latency',
        width: 12,
        left: [
          props.webhook.metricDuration({ statistic: 'p50', period: FIVE_MINUTES, label: 'duration p50' }),
          props.webhook.metricDuration({ statistic: 'p99', period: FIVE_MINUTES, label: 'duration p99' }),
        ],
        right: [props.webhook.metricInvocations({ statistic: 'Sum', period: FIVE_MINUTES, label: 'invocations' })],
        leftAnnotations: [{ value: ZOOM_WEBHOOK_TIMEOUT_MS, label: 'Zoom waits 3 s' }],
        leftYAxis: { min: 0, label: 'ms', showUnits: false },
        rightYAxis: { min: 0, showUnits: false },
      }),
    );

    const sweeps: IMetric[] = [
      audit(AuditMetricName.SweepRecordingsFound, 'recordings listed'),
      audit(AuditMetricName.SweepFilesRequested, 'files requested (missing)'),
      audit(AuditMetricName.SweepFilesFailed, 'files failed in the ledger'),
      audit(AuditMetricName.SweepErrors, 'windows not listed'),
    ];
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Reconciliation sweeps per hour (backfills not counted)',
        width: 24,
        left: sweeps,
        right: [
          audit(AuditMetricName.SweepRecordingsFound, 'sweeps finished', 'SampleCount'),
          props.reconciler.metricErrors({ statistic: 'Sum', period: HOUR, label: 'reconciler errors' }),
        ],
        leftYAxis: { min: 0, showUnits: false },
        rightYAxis: { min: 0, showUnits: false },
      }),
    );
  }
}
