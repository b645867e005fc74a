/**
 * The zoom-archiver stack: environment-agnostic (synthesizes offline, no lookups).
 * One construct per concern; this file only wires them together and decides the
 * per-function settings that are worth a reason (README, "Cloud stack").
 */
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { auditTableDefinition } from '../shared/adapters/audit-dynamodb';
import { DELIVERY_TTL_ATTRIBUTE } from '../shared/adapters/delivery-guard-dynamodb';
import { LEDGER_KEYS, ledgerTableDefinition } from '../shared/adapters/ledger-dynamodb';
import { CONSUMER_RULES } from '../shared/events/rules';
import { resolveCourseRules, type CourseRulesInput } from './course-rules';
import { HASH_WORKER_FILES } from './constructs/archiver-function';
import { ArchiverAlarms } from './constructs/alarms';
import { ArchiveBucket } from './constructs/archive-bucket';
import { Consumer } from './constructs/consumer';
import { DataTable } from './constructs/data-table';
import { ArchiverEventBus } from './constructs/event-bus';
import { OperationsDashboard } from './constructs/operations-dashboard';
import { ReconciliationSweep } from './constructs/reconciliation-sweep';
import { RecoverySchedule } from './constructs/recovery-schedule';
import { SubscriberDelivery } from './constructs/subscriber-delivery';
import { WebhookEndpoint } from './constructs/webhook-endpoint';
import { ZoomCleanup } from './constructs/zoom-cleanup';
import { ZoomSecrets } from './constructs/zoom-secrets';

/**
 * The uploader's memory and transfer settings, chosen together. The multipart driver holds
 * about partSize × (queueSize + 1) = 8 MiB × 5 = 40 MiB of parts; the rest of 1024 MB
 * is headroom for Node, the SDK and TLS buffers, and above all buys CPU and network:
 * Lambda allocates both in proportion to memory (1,769 MB = one vCPU), and each byte is
 * hashed (SHA-256), TLS-decrypted from Zoom and TLS-encrypted to S3. At 1024 MB a
 * 1 GB recording takes well under a minute; at 256 MB the CPU would be the bottleneck.
 */
export const UPLOADER = {
  memorySize: 1024,
  partSizeMb: 8,
  queueSize: 4,
  /** Lambda's maximum; the handler stops a transfer 30 s before it to record the outcome. */
  timeout: Duration.minutes(15),
  /**
   * At most this many files download at once: bounds the load on Zoom's download
   * servers and on the account's Lambda concurrency. Further events wait in Lambda's
   * asynchronous queue (throttled, retried for up to 6 hours), they are not lost.
   */
  reservedConcurrency: 10,
} as const;

export interface ArchiverStackProps extends StackProps {
  /** The course-validation rules (ARCHIVER_CONFIG JSON); the built-in defaults when absent. */
  courseRules?: CourseRulesInput;
  /** Subscribed to the alarm topic. */
  alarmEmail?: string;
  /**
   * Reserved concurrency of the uploader; `'unreserved'` for accounts whose concurrency
   * quota is too small to reserve any (new accounts start at 10). Default 10.
   */
  uploaderReservedConcurrency?: number | 'unreserved';
  /** Minutes between reconciliation sweeps; 0 = no schedule (the function stays, for backfills). Default 60. */
  sweepIntervalMinutes?: number;
  /** Days each reconciliation sweep looks back (SWEEP_LOOKBACK_DAYS). Default 3. */
  sweepLookbackDays?: number;
  /** The reconciler's and the clean-up run's pace of Zoom API calls (ZOOM_API_REQUESTS_PER_SECOND); the handler's default (10) when absent. */
  zoomApiRequestsPerSecond?: number;
  /** Minutes between clean-up runs (only deployed when the config's cleanup.trashInZoom is not "off"). Default 15. */
  cleanupIntervalMinutes?: number;
}

export class ArchiverStack extends Stack {
  constructor(scope: Construct, id: string, props: ArchiverStackProps = {}) {
    super(scope, id, props);
    const rules = resolveCourseRules(props.courseRules);

    const alarms = new ArchiverAlarms(this, 'Alarms', { email: props.alarmEmail });
    const events = new ArchiverEventBus(this, 'Events');
    const secrets = new ZoomSecrets(this, 'ZoomSecrets');
    const archive = new ArchiveBucket(this, 'Archive');
    // TTL: the webhook's replay records (delivery#…) expire with their timestamp window.
    const ledger = new DataTable(this, 'LedgerTable', { definition: ledgerTableDefinition('ledger'), timeToLiveAttribute: DELIVERY_TTL_ATTRIBUTE });
    const audit = new DataTable(this, 'AuditTable', { definition: auditTableDefinition('audit') });

    const webhook = new WebhookEndpoint(this, 'Webhook', { bus: events.bus, zoomSecret: secrets.secret, deliveries: ledger });
    alarms.onFunctionErrors('WebhookErrors', webhook.function, 'The Zoom webhook failed; Zoom retries a few times, then drops the notification.');

    const courseValidation = new Consumer(this, CONSUMER_RULES.courseValidation.id, {
      rule: CONSUMER_RULES.courseValidation,
      bus: events.bus,
      alarms,
      function: {
        entry: 'services/course-validation/handler.ts',
        serviceName: 'course-validation',
        description: 'RecordingAvailable -> FileUploadRequested per eligible file, or RecordingRejected',
        timeout: Duration.seconds(30),
        environment: {
          EVENT_BUS_NAME: events.bus.eventBusName,
          ...(rules.inlineJson === undefined ? {} : { ARCHIVER_CONFIG_JSON: rules.inlineJson }),
        },
      },
    });
    events.bus.grantPutEventsTo(courseValidation.function);

    const reserved = props.uploaderReservedConcurrency ?? UPLOADER.reservedConcurrency;
    const uploader = new Consumer(this, CONSUMER_RULES.uploader.id, {
      rule: CONSUMER_RULES.uploader,
      bus: events.bus,
      alarms,
      function: {
        entry: 'services/uploader/handler.ts',
        bundleFiles: HASH_WORKER_FILES,
        serviceName: 'uploader',
        description: 'FileUploadRequested -> stream one recording file from Zoom into the archive',
        memorySize: UPLOADER.memorySize,
        timeout: UPLOADER.timeout,
        reservedConcurrentExecutions: reserved === 'unreserved' ? undefined : reserved,
        environment: {
          ARCHIVE_BUCKET: archive.bucket.bucketName,
          LEDGER_TABLE_NAME: ledger.tableName,
          EVENT_BUS_NAME: events.bus.eventBusName,
          ZOOM_SECRETS_ARN: secrets.secret.secretArn,
          ARCHIVE_PART_SIZE_MB: String(UPLOADER.partSizeMb),
          ARCHIVE_QUEUE_SIZE: String(UPLOADER.queueSize),
        },
      },
    });
    archive.grantArchiveWrite(uploader.function, rules.archivePrefix);
    ledger.grantItemActions(uploader.function, 'GetItem', 'PutItem', 'UpdateItem', 'BatchGetItem');
    ledger.grantIndexQuery(uploader.function, LEDGER_KEYS.groupIndex);
    events.bus.grantPutEventsTo(uploader.function);
    secrets.secret.grantRead(uploader.function);
    alarms.onFunctionErrors(
      'UploaderErrors',
      uploader.function,
      'The uploader failed (not a FileUploadFailed: an error it could not record, or a timeout). Lambda retries; then the event goes to its DLQ.',
    );

    const auditTrail = new Consumer(this, CONSUMER_RULES.audit.id, {
      rule: CONSUMER_RULES.audit,
      bus: events.bus,
      alarms,
      function: {
        entry: 'services/audit/handler.ts',
        serviceName: 'audit',
        description: 'Every zoom-archiver event -> audit trail',
        environment: { AUDIT_TABLE_NAME: audit.tableName },
      },
    });
    audit.grantItemActions(auditTrail.function, 'PutItem');

    // Every event -> an SQS outbox -> each subscriber over HTTPS (signed); subscribers from the same
    // configuration file, secrets as keys of the Zoom secret (README, "Subscribers").
    const subscriberDelivery = new SubscriberDelivery(this, 'SubscriberDelivery', {
      bus: events.bus,
      alarms,
      zoomSecret: secrets.secret,
      subscribers: rules.config.subscribers,
      source: props.courseRules?.source,
      archiverConfigJson: rules.inlineJson,
    });

    const recovery = new RecoverySchedule(this, 'UploadRecovery', { bus: events.bus, ledger, alarms });

    const reconciler = new ReconciliationSweep(this, 'Reconciliation', {
      bus: events.bus,
      ledger,
      zoomSecret: secrets.secret,
      alarms,
      courseRulesJson: rules.inlineJson,
      intervalMinutes: props.sweepIntervalMinutes,
      lookbackDays: props.sweepLookbackDays,
      zoomApiRequestsPerSecond: props.zoomApiRequestsPerSecond,
    });

    // Clean-up in Zoom, opt-in: with trashInZoom "off" (the default) nothing that could trash is deployed.
    const trashInZoom = rules.config.cleanup.trashInZoom;
    const cleanup =
      trashInZoom === 'off'
        ? undefined
        : new ZoomCleanup(this, 'ZoomCleanup', {
            bus: events.bus,
            ledger,
            archive,
            archivePrefix: rules.archivePrefix,
            zoomSecret: secrets.secret,
            alarms,
            mode: trashInZoom,
            archiverConfigJson: rules.inlineJson,
            intervalMinutes: props.cleanupIntervalMinutes,
            zoomApiRequestsPerSecond: props.zoomApiRequestsPerSecond,
          });

    // Every function and every dead-letter queue, labelled as in the outputs below (README, "Operations dashboard").
    const consumers = [courseValidation, uploader, auditTrail, subscriberDelivery.consumer, ...(cleanup ? [cleanup.consumer] : [])];
    const dashboard = new OperationsDashboard(this, 'Operations', {
      webhook: webhook.function,
      reconciler: reconciler.function,
      functions: [
        { label: 'Webhook', function: webhook.function },
        ...consumers.map((consumer) => ({ label: consumer.node.id, function: consumer.function })),
        { label: 'SubscriberDispatch', function: subscriberDelivery.dispatcher },
        { label: 'Recovery', function: recovery.function },
        { label: 'Reconciler', function: reconciler.function },
        ...(cleanup ? [{ label: 'CleanupRun', function: cleanup.function }] : []),
      ],
      deadLetterQueues: [
        ...consumers.map((consumer) => ({ label: consumer.node.id, queue: consumer.deadLetters.queue })),
        { label: 'SubscriberOutbox', queue: subscriberDelivery.outboxDeadLetters },
        { label: 'Recovery', queue: recovery.deadLetters.queue },
        { label: 'Reconciler', queue: reconciler.deadLetters.queue },
        ...(cleanup ? [{ label: 'CleanupRun', queue: cleanup.deadLetters.queue }] : []),
      ],
    });

    // Every output below is listed in infrastructure/README.md ("Deploy"), and every name
    // the READMEs tell an operator to read is an output (tests/infrastructure/outputs.test.ts).
    new CfnOutput(this, 'WebhookUrl', {
      value: webhook.webhookUrl,
      description: 'Zoom app > Feature > Event Subscriptions > Event notification endpoint URL',
    });
    new CfnOutput(this, 'WebhookFunctionName', {
      value: webhook.function.functionName,
      description: 'aws lambda update-function-configuration after a secret rotation',
    });
    new CfnOutput(this, 'EventBusName', { value: events.bus.eventBusName, description: 'Subscribe to FileUploaded with a rule on this bus' });
    new CfnOutput(this, 'EventBusArn', { value: events.bus.eventBusArn, description: 'aws events start-replay --destination Arn' });
    new CfnOutput(this, 'EventArchiveArn', { value: events.archive.archiveArn, description: 'aws events start-replay --event-source-arn' });
    new CfnOutput(this, 'ArchiveBucketName', { value: archive.bucket.bucketName });
    new CfnOutput(this, 'ArchiveKeyPrefix', { value: rules.archivePrefix || '(whole bucket)', description: 'The uploader may write only under this prefix' });
    new CfnOutput(this, 'LedgerTableName', { value: ledger.tableName });
    new CfnOutput(this, 'AuditTableName', { value: audit.tableName });
    new CfnOutput(this, 'ZoomSecretArn', { value: secrets.secret.secretArn, description: 'Put the Zoom credentials here (JSON)' });
    new CfnOutput(this, 'AlarmTopicArn', { value: alarms.topic.topicArn, description: 'Subscribe to receive the alarms' });
    new CfnOutput(this, 'OperationsDashboardName', {
      value: dashboard.dashboard.dashboardName,
      description: 'CloudWatch > Dashboards: files and bytes archived, failures, dead-letter depths, webhook latency, sweeps',
    });
    for (const consumer of consumers) {
      const name = consumer.node.id;
      new CfnOutput(this, `${name}DeadLetterQueueUrl`, { value: consumer.deadLetters.queue.queueUrl, description: `Events ${name} could not process (re-drive)` });
      new CfnOutput(this, `${name}FunctionName`, { value: consumer.function.functionName, description: 'Invoke with a dead-lettered event to re-drive it' });
      new CfnOutput(this, `${name}RuleArn`, { value: consumer.rule.ruleArn, description: `aws events start-replay --destination FilterArns: replay to ${name} only` });
    }
    new CfnOutput(this, 'SubscriberOutboxQueueUrl', {
      value: subscriberDelivery.outbox.queueUrl,
      description: 'Subscriber messages waiting for delivery (or for their next attempt)',
    });
    new CfnOutput(this, 'SubscriberOutboxDeadLetterQueueUrl', {
      value: subscriberDelivery.outboxDeadLetters.queueUrl,
      description: 'Subscriber messages the dispatcher failed on repeatedly (aws sqs start-message-move-task to re-drive)',
    });
    new CfnOutput(this, 'SubscriberDispatchFunctionName', { value: subscriberDelivery.dispatcher.functionName, description: 'Sends outbox messages to the subscribers' });
    new CfnOutput(this, 'RecoveryDeadLetterQueueUrl', {
      value: recovery.deadLetters.queue.queueUrl,
      description: 'Scheduled recovery sweeps EventBridge could not invoke',
    });
    new CfnOutput(this, 'RecoveryFunctionName', { value: recovery.function.functionName, description: 'The uploader recovery sweep' });
    new CfnOutput(this, 'ReconcilerFunctionName', {
      value: reconciler.function.functionName,
      description: 'The reconciliation sweep; invoke with {"from":"YYYY-MM-DD","to":"YYYY-MM-DD"} for a backfill',
    });
    new CfnOutput(this, 'ReconcilerDeadLetterQueueUrl', {
      value: reconciler.deadLetters.queue.queueUrl,
      description: 'Scheduled reconciliation sweeps EventBridge could not invoke',
    });
    if (cleanup) {
      // The Cleanup consumer (scheduling) has its outputs in the loop above; these are the periodic run's.
      new CfnOutput(this, 'CleanupRunFunctionName', {
        value: cleanup.function.functionName,
        description: "The clean-up run (moves due recordings to Zoom's trash); invoke with {} to run it now",
      });
      new CfnOutput(this, 'CleanupRunDeadLetterQueueUrl', {
        value: cleanup.deadLetters.queue.queueUrl,
        description: 'Scheduled clean-up runs EventBridge could not invoke',
      });
    }
  }
}
