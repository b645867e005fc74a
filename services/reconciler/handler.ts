/**
 * Lambda entry point of the reconciler: lists Zoom's recordings through the REST API
 * and hands the ones whose files the ledger does not have to the pipeline
 * (RecordingAvailable, trigger `sweep` or `backfill`), then publishes the run's
 * ReconciliationCompleted (services/reconciler/use-case.ts decides everything).
 *
 * Two inputs:
 * - the schedule's EventBridge event (`detail-type: Scheduled Event`): a sweep over the
 *   last SWEEP_LOOKBACK_DAYS and today (sweepRange);
 * - a direct invocation `{ "from": "YYYY-MM-DD", "to": "YYYY-MM-DD", "dryRun"?: true }`:
 *   a backfill of that range (UTC dates, both included). Anything else — a bad or
 *   impossible date, `from` after `to`, an unknown field (a misspelt `dryRun` must not
 *   turn a dry run into a real one) — fails the invocation with a message saying why,
 *   before anything is listed.
 *
 * A run stops listing new pages FINISH_MARGIN_MS before Lambda's own deadline and
 * answers with the part of the range it did not reach (`remaining`): invoke again with
 * it. The answer is the run's summary (the ReconciliationCompleted, without the
 * per-recording list, which can be large).
 *
 * createReconcilerLambda is the bootstrap: LEDGER_TABLE_NAME, EVENT_BUS_NAME, the
 * reconciler's settings and the course rules (ARCHIVER_CONFIG or ARCHIVER_CONFIG_JSON,
 * as course validation loads them) checked at once, the clients built once per
 * container. The Zoom secret is read at the first invocation and re-read every few
 * minutes; listing needs the Server-to-Server OAuth app, so a secret without its three
 * keys is refused (and never kept). `handler` builds it at the first invocation.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context } from 'aws-lambda';
import * as z from 'zod/mini';
import { EventBridgePublisher } from '../../shared/adapters/eventbridge-publisher';
import { DynamoDbUploadLedger } from '../../shared/adapters/ledger-dynamodb';
import { DynamoDbReconcilerState } from '../../shared/adapters/reconciler-state-dynamodb';
import { createZoomApi } from '../../shared/adapters/zoom-api';
import { oauthTokenSourceFor } from '../../shared/adapters/zoom-oauth';
import { missingS2sKeys, type ZoomSecrets } from '../../shared/config/secrets';
import { ArchiverError, ConfigError } from '../../shared/errors';
import { LOGGING_ENV, optionalVar, parseEnv, requiredVar, type Env } from '../../shared/lambda/env';
import { lambdaHandler } from '../../shared/lambda/handler';
import { ZOOM_SECRETS_ENV, zoomSecretsLoader, type SecretsClient } from '../../shared/lambda/zoom-secrets';
import { createLogger, type AppLogger } from '../../shared/logger';
import type { EventPublisher } from '../../shared/ports/event-publisher';
import type { DateRange } from '../../shared/ports/zoom-api';
import { loadArchiverConfig } from '../course-validation/config';
import { UploaderSettingsEnv } from '../uploader/config';
import { ReconcilerSettingsEnv, reconcilerSettingsFrom, sweepRange } from './config';
import { reconcile, type ReconcileDeps, type ReconcileReport, type ReconcileTrigger, type RecordingReport } from './use-case';

/**
 * Kept at the end of an invocation: no page is listed after Lambda's deadline minus
 * this, which leaves the page in hand (its ledger reads and its hand-over) and the
 * ReconciliationCompleted time to finish.
 */
export const FINISH_MARGIN_MS = 60_000;
/**
 * If a run is still inside one request this close to Lambda's deadline (a long 429
 * wait), it is aborted, so that the invocation fails with the run named in the log
 * rather than being killed mid-way.
 */
export const ABORT_MARGIN_MS = 10_000;

export const ReconcilerLambdaEnv = z.extend(ReconcilerSettingsEnv, {
  // The token endpoint of the Server-to-Server OAuth app, as the uploader reads it.
  ZOOM_OAUTH_TOKEN_URL: UploaderSettingsEnv.shape.ZOOM_OAUTH_TOKEN_URL,
  LEDGER_TABLE_NAME: requiredVar(),
  EVENT_BUS_NAME: requiredVar(),
  // The rules, exactly as course validation loads them: the stack inlines the same JSON.
  ARCHIVER_CONFIG: optionalVar(),
  ARCHIVER_CONFIG_JSON: optionalVar(),
  ...ZOOM_SECRETS_ENV,
  ...LOGGING_ENV,
});

/** What the handler needs: the use case's dependencies and the sweep's look-back. */
export interface ReconcilerLambdaDeps extends ReconcileDeps {
  lookbackDays: number;
}

/** An input the reconciler does not accept: fails the invocation; invoking it again cannot help. */
export class ReconcileInputError extends ArchiverError {
  readonly retryable = false;
}

const isoDate = z.string().check(
  z.regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a date as YYYY-MM-DD (UTC), e.g. 2026-01-01', abort: true }),
  z.refine((value) => {
    const ms = Date.parse(`${value}T00:00:00Z`);
    return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === value;
  }, 'is not a calendar date'),
);

/**
 * A direct invocation: a backfill. Strict, so that a misspelt field is refused rather
 * than ignored. (`from` after `to` is refused by requestFrom, once both are dates.)
 */
export const BackfillPayloadSchema = z.strictObject({
  from: isoDate,
  to: isoDate,
  dryRun: z.optional(z.boolean()),
});

export type BackfillPayload = z.output<typeof BackfillPayloadSchema>;

/** The schedule's event, as EventBridge sends it (only what is read). */
export interface ScheduledInput {
  'detail-type': 'Scheduled Event';
  id?: string;
  time?: string;
  source?: string;
}

export type ReconcileInput = ScheduledInput | BackfillPayload;

/** What the invocation answers: the run record, and the part of the range to invoke again with. */
export interface ReconcileAnswer {
  runId: string;
  trigger: ReconcileTrigger;
  dryRun: boolean;
  summary: ReconcileReport['summary'];
  /** Not listed because the invocation's time ran out: invoke again with `{ from, to }` of it. */
  remaining?: DateRange;
}

type Request = { trigger: 'sweep'; range: DateRange; dryRun: false; scheduleEventId?: string } | { trigger: 'backfill'; range: DateRange; dryRun: boolean };

/** The run an input asks for, or ReconcileInputError saying what is wrong with it. */
export function requestFrom(input: unknown, now: Date, lookbackDays: number): Request {
  if (typeof input === 'object' && input !== null && 'detail-type' in input) {
    const event = input as Partial<ScheduledInput> & Record<string, unknown>;
    if (event['detail-type'] !== 'Scheduled Event') {
      throw new ReconcileInputError(`not a scheduled event: detail-type ${JSON.stringify(String(event['detail-type']).slice(0, 100))}; invoke with {"from":"YYYY-MM-DD","to":"YYYY-MM-DD"} for a backfill`);
    }
    return { trigger: 'sweep', range: sweepRange(now, lookbackDays), dryRun: false, scheduleEventId: typeof event.id === 'string' ? event.id : undefined };
  }
  const parsed = BackfillPayloadSchema.safeParse(input, { error: describeIssue });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ${issue.message}` : issue.message));
    throw new ReconcileInputError(`invalid backfill request (expected {"from":"YYYY-MM-DD","to":"YYYY-MM-DD","dryRun"?:true}): ${problems.join('; ')}`);
  }
  const { from, to, dryRun } = parsed.data;
  if (from > to) throw new ReconcileInputError(`invalid backfill request: "from" (${from}) is after "to" (${to})`);
  return { trigger: 'backfill', range: { from, to }, dryRun: dryRun ?? false };
}

/** Messages for zod's own issues; never quotes the input (an invocation's payload lands in logs). */
function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => JSON.stringify(key.slice(0, 40))).join(', ')}`;
  if (issue.input === undefined) return 'is required';
  if (issue.code === 'invalid_type') return issue.expected === 'object' ? 'the payload must be a JSON object' : `must be a ${issue.expected}`;
  return undefined;
}

/**
 * One invocation. The deadline is the invocation's remaining time minus
 * `finishMarginMs`: no page is listed after it, and what is left is `remaining`.
 */
export async function handleReconcile(
  input: unknown,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
  deps: ReconcilerLambdaDeps,
  margins: { finishMarginMs?: number; abortMarginMs?: number } = {},
): Promise<ReconcileAnswer> {
  const startedAt = deps.now();
  const request = requestFrom(input, startedAt, deps.lookbackDays);
  const remainingMs = context.getRemainingTimeInMillis();
  const deadlineAt = startedAt.getTime() + remainingMs - (margins.finishMarginMs ?? FINISH_MARGIN_MS);
  const abort = new AbortController();
  const timer = setTimeout(
    () => abort.abort(new Error('the invocation is about to time out: the reconciliation run was stopped inside a request')),
    Math.max(0, remainingMs - (margins.abortMarginMs ?? ABORT_MARGIN_MS)),
  );
  timer.unref?.();
  try {
    const report = await reconcile(
      {
        trigger: request.trigger,
        range: request.range,
        dryRun: request.dryRun,
        deadlineAt,
        signal: abort.signal,
        // A dry run's list is its point: each recording goes to the log (the answer keeps the counts only).
        onRecording: request.dryRun ? (recording) => deps.logger.info('dry run: recording examined', recordingLog(recording)) : undefined,
      },
      deps,
    );
    deps.logger.info('reconciler invocation', {
      runId: report.runId,
      trigger: report.trigger,
      dryRun: report.dryRun,
      scheduleEventId: request.trigger === 'sweep' ? request.scheduleEventId : undefined,
      remaining: report.remaining,
    });
    return { runId: report.runId, trigger: report.trigger, dryRun: report.dryRun, summary: report.summary, remaining: report.remaining };
  } finally {
    clearTimeout(timer);
  }
}

/** One recording of a dry run, for the log: ids, course, outcome and file states (no topic, no host email). */
function recordingLog(recording: RecordingReport): Record<string, unknown> {
  const files: Record<string, number> = {};
  for (const file of recording.files) files[file.state] = (files[file.state] ?? 0) + 1;
  return { recordingId: recording.recordingId, meetingId: recording.meetingId, startTime: recording.startTime, course: recording.course, outcome: recording.outcome, reason: recording.reason, files };
}

/**
 * Listing recordings needs the Server-to-Server OAuth app: a secret without its three
 * keys is one the operator has not filled in yet (the webhook token alone cannot list),
 * and must not be kept as if it were usable. Names the missing keys, never a value.
 */
export function requireListingCredentials(secrets: ZoomSecrets): void {
  const missing = missingS2sKeys(secrets);
  if (missing.length > 0) {
    throw new ConfigError(
      `reconciler secret: listing Zoom recordings needs the Server-to-Server OAuth app (ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET); missing ${missing.join(', ')}`,
      { variables: missing },
    );
  }
}

/** What the bootstrap would otherwise build on AWS; tests pass stand-ins. */
export interface ReconcilerLambdaAdapters {
  dynamoDb?: DynamoDBClient;
  publisher?: EventPublisher;
  secretsManager?: SecretsClient;
  logger?: AppLogger;
  now?: () => Date;
}

/**
 * The reconciler's dependencies for the current Zoom secret. The loader returns the
 * same object while the secret is unchanged, so the OAuth token cache and the API
 * client (its pacing, its choice of listing) survive re-reads.
 */
export function createReconcilerLambda(env: Env, adapters: ReconcilerLambdaAdapters = {}): () => Promise<ReconcilerLambdaDeps> {
  const e = parseEnv(ReconcilerLambdaEnv, env);
  const settings = reconcilerSettingsFrom(e);
  const rules = loadArchiverConfig({ ARCHIVER_CONFIG: e.ARCHIVER_CONFIG, ARCHIVER_CONFIG_JSON: e.ARCHIVER_CONFIG_JSON });
  const logger = adapters.logger ?? createLogger('reconciler', e.LOG_LEVEL);
  const dynamoDb = adapters.dynamoDb ?? new DynamoDBClient({});
  const ledger = new DynamoDbUploadLedger({ client: dynamoDb, tableName: e.LEDGER_TABLE_NAME });
  const state = new DynamoDbReconcilerState({ client: dynamoDb, tableName: e.LEDGER_TABLE_NAME });
  const publisher = adapters.publisher ?? new EventBridgePublisher({ client: new EventBridgeClient({}), eventBusName: e.EVENT_BUS_NAME });
  const now = adapters.now ?? (() => new Date());
  logger.info('reconciler rules loaded', { source: rules.source, lookbackDays: settings.lookbackDays, requestsPerSecond: settings.requestsPerSecond });
  const build = (secrets: ZoomSecrets): ReconcilerLambdaDeps => {
    requireListingCredentials(secrets);
    const tokens = oauthTokenSourceFor(e.ZOOM_OAUTH_TOKEN_URL, secrets);
    return { api: createZoomApi(settings, tokens), ledger, state, rules, publisher, logger, now, lookbackDays: settings.lookbackDays };
  };
  return zoomSecretsLoader({ arn: e.ZOOM_SECRETS_ARN, env }, build, { client: adapters.secretsManager });
}

export const handler = lambdaHandler(
  () => createReconcilerLambda(process.env),
  async (event: unknown, context: Context, deps: () => Promise<ReconcilerLambdaDeps>): Promise<ReconcileAnswer> => handleReconcile(event, context, await deps()),
);
