/**
 * The reconciliation sweep (services/reconciler/handler.ts): every hour by default,
 * lists the recordings Zoom has for the last SWEEP_LOOKBACK_DAYS and hands the ones
 * whose files the ledger does not have to course validation (RecordingAvailable,
 * trigger `sweep`), then publishes ReconciliationCompleted. The same function takes
 * manual backfills (`aws lambda invoke` with `{ from, to, dryRun? }`; README), so it
 * exists even when the schedule is off (interval 0: no rule).
 *
 * - One run at a time (reserved concurrency 1): two sweeps, or a sweep and a backfill,
 *   would list the same recordings twice and share the account's Zoom rate limit. A
 *   scheduled event that finds a run in progress waits in Lambda's queue (throttled
 *   asynchronous invocations are retried) for at most one interval; a manual
 *   invocation meanwhile is refused (TooManyRequestsException) and can be repeated.
 * - 15 minutes (Lambda's maximum): the handler stops listing a minute before and
 *   answers with the part of the range left (`remaining`).
 * - A failed sweep is not retried by Lambda (the next one does the same work); its
 *   errors raise an alarm. If EventBridge cannot invoke it at all, the scheduled event
 *   goes to a DLQ whose alarm says so.
 * - It reads file entries of the ledger (GetItem on `file#…`), keeps its memory of
 *   rejected recordings under `reconcile#…` in the same table, puts events on the bus
 *   and reads the Zoom secret: nothing else (no Scan, no Query, no S3).
 */
import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule, type IEventBus } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Grant } from 'aws-cdk-lib/aws-iam';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ledgerFileKey } from '../../shared/adapters/ledger-dynamodb';
import { RECONCILER_KEY_PREFIX } from '../../shared/adapters/reconciler-state-dynamodb';
import { DEFAULT_SWEEP_LOOKBACK_DAYS } from '../../services/reconciler/config';
import type { ArchiverAlarms } from './alarms';
import { ArchiverFunction } from './archiver-function';
import type { DataTable } from './data-table';
import { DeadLetterQueue } from './dead-letter-queue';

/** Default interval of the sweep, in minutes. */
export const DEFAULT_SWEEP_INTERVAL_MINUTES = 60;
/** Lambda's maximum: a large backfill runs as long as it can, then answers with `remaining`. */
export const RECONCILER_TIMEOUT = Duration.minutes(15);

export interface ReconciliationSweepProps {
  bus: IEventBus;
  ledger: DataTable;
  zoomSecret: ISecret;
  alarms: ArchiverAlarms;
  /** ARCHIVER_CONFIG_JSON, the same rules course validation gets; undefined = the built-in rules. */
  courseRulesJson?: string;
  /** Minutes between sweeps; 0 = no schedule (the function stays, for manual backfills). Default 60. */
  intervalMinutes?: number;
  /** SWEEP_LOOKBACK_DAYS: days each sweep looks back. Default 3. */
  lookbackDays?: number;
  /** ZOOM_API_REQUESTS_PER_SECOND; the handler's default (10) when absent. */
  zoomApiRequestsPerSecond?: number;
}

export class ReconciliationSweep extends Construct {
  readonly function: ArchiverFunction;
  /** Undefined when the interval is 0. */
  readonly rule?: Rule;
  readonly deadLetters: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: ReconciliationSweepProps) {
    super(scope, id);
    const intervalMinutes = props.intervalMinutes ?? DEFAULT_SWEEP_INTERVAL_MINUTES;
    if (!Number.isInteger(intervalMinutes) || intervalMinutes < 0) throw new Error(`${id}: intervalMinutes must be a whole number of minutes, 0 for no schedule`);
    const lookbackDays = props.lookbackDays ?? DEFAULT_SWEEP_LOOKBACK_DAYS;

    this.deadLetters = new DeadLetterQueue(this, 'DeadLetters', { consumer: 'the reconciliation sweep', alarms: props.alarms });
    this.function = new ArchiverFunction(this, 'Function', {
      entry: 'services/reconciler/handler.ts',
      serviceName: 'reconciler',
      description: 'Lists Zoom recordings (hourly sweep, or a backfill when invoked) and hands the missing ones to the pipeline',
      timeout: RECONCILER_TIMEOUT,
      // Two runs must never overlap: they would list the same recordings and share the Zoom rate limit.
      reservedConcurrentExecutions: 1,
      environment: {
        LEDGER_TABLE_NAME: props.ledger.tableName,
        EVENT_BUS_NAME: props.bus.eventBusName,
        ZOOM_SECRETS_ARN: props.zoomSecret.secretArn,
        SWEEP_LOOKBACK_DAYS: String(lookbackDays),
        ...(props.zoomApiRequestsPerSecond === undefined ? {} : { ZOOM_API_REQUESTS_PER_SECOND: String(props.zoomApiRequestsPerSecond) }),
        ...(props.courseRulesJson === undefined ? {} : { ARCHIVER_CONFIG_JSON: props.courseRulesJson }),
      },
    });
    // A sweep older than the interval is pointless: the next one is already due (Lambda accepts 1 minute to 6 hours).
    const maxEventAge = Duration.minutes(Math.min(Math.max(intervalMinutes || 60, 1), 6 * 60));
    this.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge });

    // Reads file entries only (what the ledger knows of each file); never registers or changes one.
    props.ledger.grantItemActionsOnKeyPrefix(this.function, ledgerFileKey(''), 'GetItem');
    // Its own memory of rejected recordings.
    props.ledger.grantItemActionsOnKeyPrefix(this.function, RECONCILER_KEY_PREFIX, 'GetItem', 'PutItem', 'DeleteItem');
    props.bus.grantPutEventsTo(this.function);
    // GetSecretValue only (the secret loader calls nothing else; grantRead would add DescribeSecret).
    // The secret is encrypted with the AWS managed key, which needs no key grant.
    Grant.addToPrincipal({ grantee: this.function, actions: ['secretsmanager:GetSecretValue'], resourceArns: [props.zoomSecret.secretArn] });
    props.alarms.onFunctionErrors(
      'ReconcilerErrors',
      this.function,
      'The reconciliation sweep (or a manual backfill) failed: recordings whose webhook was lost wait until a run succeeds. See its log for the run id.',
    );

    if (intervalMinutes > 0) {
      const interval = Duration.minutes(intervalMinutes);
      this.rule = new Rule(this, 'Rule', {
        description: `Every ${intervalMinutes} minutes: list Zoom's recordings of the last ${lookbackDays} days and archive what is missing`,
        schedule: Schedule.rate(interval),
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
}
