/**
 * Clean-up in Zoom (opt-in: the stack deploys this only when the archiver config's
 * `cleanup.trashInZoom` is "dry-run" or "on"): once every selected file of a recording
 * is verified in the archive, the recording goes to Zoom's trash `cleanup.delayHours`
 * after its last RecordingArchived (services/cleanup/use-case.ts decides everything).
 *
 *   bus ──rule Cleanup (CONSUMER_RULES.cleanup: RecordingArchived)──▶ cleanup-schedule λ ──▶ cleanup#<recordingId> (ledger table, due time)
 *   every 15 min ──schedule rule──▶ cleanup λ ──byState index: the due cleanup# items──▶ re-check Zoom, ledger, archive
 *                                              ──▶ DELETE …/recordings?action=trash (or, dry run, only the event) ──PutEvents──▶ bus
 *
 * Why periodic runs over the due items in the table, not one EventBridge Scheduler
 * schedule per recording: the due times live in the same table as the ledger the
 * check reads, and the same use case runs unchanged on one machine (its timer over the
 * SQLite schedule); there are no per-recording AWS resources to create, to find again
 * when a later RecordingArchived pushes the time back, or to clean up; and idempotence
 * is in one place (the schedule's conditional writes), not split between a scheduler
 * and the table. The price is latency: a due recording waits at most one interval
 * more than its delay.
 *
 * - The scheduling consumer is a `Consumer` (retry policy, DLQ, alarm, like the others).
 * - The run: one at a time (reserved concurrency 1), so two runs never claim the same
 *   recordings or share the Zoom rate limit; 5 minutes (the handler takes no new
 *   recording in its last minute; what is left is still due for the next run). A
 *   failed run is not retried by Lambda (the next one does the same work); its errors
 *   raise an alarm. If EventBridge cannot invoke it at all, the scheduled event goes to
 *   a DLQ whose alarm says so.
 * - Least privilege. The consumer: GetItem/PutItem on `cleanup#…` items. The run: the
 *   same, plus GetItem on ledger file entries (`file#…`), Query on the byState index,
 *   s3:GetObject under the archive prefix (HeadObject; it never writes or deletes an
 *   object), PutEvents on the bus, GetSecretValue on the Zoom secret. No Scan,
 *   UpdateItem or DeleteItem, no other index. (The index grant has no LeadingKeys
 *   condition: DataTable.grantIndexQuery grants the index as a whole.)
 */
import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule, type IEventBus } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Grant } from 'aws-cdk-lib/aws-iam';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { CLEANUP_KEY_PREFIX } from '../../shared/adapters/cleanup-dynamodb';
import { LEDGER_KEYS, ledgerFileKey } from '../../shared/adapters/ledger-dynamodb';
import { CONSUMER_RULES } from '../../shared/events/rules';
import type { TrashMode } from '../../services/cleanup/config';
import type { ArchiverAlarms } from './alarms';
import type { ArchiveBucket } from './archive-bucket';
import { ArchiverFunction } from './archiver-function';
import { Consumer } from './consumer';
import type { DataTable } from './data-table';
import { DeadLetterQueue } from './dead-letter-queue';

/** Default minutes between clean-up runs. */
export const DEFAULT_CLEANUP_INTERVAL_MINUTES = 15;
/** The run's timeout: a run takes due recordings one at a time, a few API calls each, and stops taking new ones a minute before. */
export const CLEANUP_TIMEOUT = Duration.minutes(5);

export interface ZoomCleanupProps {
  bus: IEventBus;
  /** The ledger table: file entries, and the clean-up schedule's `cleanup#…` items. */
  ledger: DataTable;
  archive: ArchiveBucket;
  /** Every archive key starts with this (CourseRules.archivePrefix); the run may read objects under it only. */
  archivePrefix: string;
  zoomSecret: ISecret;
  alarms: ArchiverAlarms;
  /** cleanup.trashInZoom (never "off": then the stack deploys no ZoomCleanup); for descriptions. */
  mode: Exclude<TrashMode, 'off'>;
  /** ARCHIVER_CONFIG_JSON, the same JSON course validation gets (its `cleanup` section is the rules). */
  archiverConfigJson?: string;
  /** Minutes between runs. Default 15. */
  intervalMinutes?: number;
  /** ZOOM_API_REQUESTS_PER_SECOND; the handler's default (10) when absent. */
  zoomApiRequestsPerSecond?: number;
}

export class ZoomCleanup extends Construct {
  /** The Cleanup consumer (RecordingArchived → due time): rule, function, DLQ. */
  readonly consumer: Consumer;
  /** The periodic run that trashes (or, dry run, reports) the due recordings. */
  readonly function: ArchiverFunction;
  readonly rule: Rule;
  /** Scheduled events EventBridge could not deliver to the run. */
  readonly deadLetters: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: ZoomCleanupProps) {
    super(scope, id);
    const intervalMinutes = props.intervalMinutes ?? DEFAULT_CLEANUP_INTERVAL_MINUTES;
    if (!Number.isInteger(intervalMinutes) || intervalMinutes < 1) throw new Error(`${id}: intervalMinutes must be a whole number of minutes, at least 1`);
    const configEnv: Record<string, string> = props.archiverConfigJson === undefined ? {} : { ARCHIVER_CONFIG_JSON: props.archiverConfigJson };
    const what = props.mode === 'on' ? "move due recordings to Zoom's trash" : 'dry run: record which due recordings would go to the trash';

    this.consumer = new Consumer(this, CONSUMER_RULES.cleanup.id, {
      rule: CONSUMER_RULES.cleanup,
      bus: props.bus,
      alarms: props.alarms,
      function: {
        entry: 'services/cleanup/schedule-handler.ts',
        serviceName: 'cleanup-schedule',
        description: "RecordingArchived -> the recording's clean-up in Zoom is due after cleanup.delayHours (a cleanup# item)",
        timeout: Duration.seconds(30),
        environment: { LEDGER_TABLE_NAME: props.ledger.tableName, ...configEnv },
      },
    });
    // Reads and conditionally writes its own schedule entries; nothing else in the table.
    props.ledger.grantItemActionsOnKeyPrefix(this.consumer.function, CLEANUP_KEY_PREFIX, 'GetItem', 'PutItem');

    this.deadLetters = new DeadLetterQueue(this, 'RunDeadLetters', { consumer: 'the clean-up run', alarms: props.alarms });
    this.function = new ArchiverFunction(this, 'RunFunction', {
      entry: 'services/cleanup/handler.ts',
      serviceName: 'cleanup',
      description: `Every ${intervalMinutes} minutes: re-check each due recording (Zoom, ledger, archive), then ${what}`,
      timeout: CLEANUP_TIMEOUT,
      // Two runs must never overlap: they would claim the same recordings and share the Zoom rate limit.
      reservedConcurrentExecutions: 1,
      environment: {
        LEDGER_TABLE_NAME: props.ledger.tableName,
        EVENT_BUS_NAME: props.bus.eventBusName,
        ARCHIVE_BUCKET: props.archive.bucket.bucketName,
        ZOOM_SECRETS_ARN: props.zoomSecret.secretArn,
        ...(props.zoomApiRequestsPerSecond === undefined ? {} : { ZOOM_API_REQUESTS_PER_SECOND: String(props.zoomApiRequestsPerSecond) }),
        ...configEnv,
      },
    });
    // A run older than the interval is pointless: the next one is already due (Lambda accepts 1 minute to 6 hours).
    const maxEventAge = Duration.minutes(Math.min(Math.max(intervalMinutes, 1), 6 * 60));
    this.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge });

    // The schedule: claim, postpone, finish (GetItem + conditional PutItem), and the due entries by state.
    props.ledger.grantItemActionsOnKeyPrefix(this.function, CLEANUP_KEY_PREFIX, 'GetItem', 'PutItem');
    props.ledger.grantIndexQuery(this.function, LEDGER_KEYS.stateIndex);
    // Reads file entries only (is every selected file uploaded?); never registers or changes one.
    props.ledger.grantItemActionsOnKeyPrefix(this.function, ledgerFileKey(''), 'GetItem');
    // HeadObject on the archived files (do they hold what the ledger recorded?); read-only.
    props.archive.grantArchiveRead(this.function, props.archivePrefix);
    props.bus.grantPutEventsTo(this.function);
    // GetSecretValue only (the secret loader calls nothing else; grantRead would add DescribeSecret).
    // The secret is encrypted with the AWS managed key, which needs no key grant.
    Grant.addToPrincipal({ grantee: this.function, actions: ['secretsmanager:GetSecretValue'], resourceArns: [props.zoomSecret.secretArn] });
    props.alarms.onFunctionErrors(
      'CleanupErrors',
      this.function,
      'The clean-up run failed: due recordings stay in Zoom (a failed check never trashes) until a run succeeds. Usually the Zoom secret ' +
        'lacks the Server-to-Server OAuth keys, or the ledger table, the archive (an object it cannot read) or the bus failed; the log ' +
        'names it. infrastructure/README.md, "Clean-up in Zoom".',
    );

    this.rule = new Rule(this, 'RunRule', {
      description: `Every ${intervalMinutes} minutes: ${what}`,
      schedule: Schedule.rate(Duration.minutes(intervalMinutes)),
      targets: [
        new LambdaFunction(this.function, {
          retryAttempts: 2,
          maxEventAge,
          deadLetterQueue: this.deadLetters.queue,
        }),
      ],
    });
  }
}
