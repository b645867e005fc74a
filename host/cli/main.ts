#!/usr/bin/env node
/**
 * The `zoom-archiver` command line. Reads `.env` when present; every command
 * validates its configuration before doing anything and exits 2 with the reason.
 */
import { existsSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError } from '../../shared/errors';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbAuditLog } from '../../shared/adapters/audit-dynamodb';
import { SqliteAuditLog } from '../../shared/adapters/audit-sqlite';
import { dataPaths } from '../paths';
import { backfillCommand } from './backfill';
import { cleanupCommand, cleanupStatusLine } from './cleanup';
import { SqliteCleanupSchedule } from '../../shared/adapters/cleanup-sqlite';
import { deliveriesStatus, retryDeliveriesCommand } from './deliveries';
import { CLOUD_DASHBOARD_PORT, cloudDashboardCommand } from './dashboard';
import { retryCommand, retryDeadCommand } from './retry';
import { serveCommand } from './serve';
import { parseSince, runStatus } from './status';
import { loadSample, sendSignedWebhook } from './simulate';
import { printable, printableLines } from './printable';

if (existsSync('.env')) process.loadEnvFile('.env');

const port = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
};

const program = new Command('zoom-archiver').description('Archives Zoom cloud recordings of course meetings, exactly once.');

program
  .command('serve')
  .description('run the pipeline on this machine (a sandbox when no Zoom secret is configured)')
  .option('--host <host>', 'address to listen on (env HOST, default 127.0.0.1)')
  .option('--port <port>', 'port to listen on (env PORT, default 8080)', port)
  .action(async (options: { host?: string; port?: number }) => {
    const env = { ...process.env, ...(options.host ? { HOST: options.host } : {}), ...(options.port !== undefined ? { PORT: String(options.port) } : {}) };
    const serving = await serveCommand({ env, print: (line) => console.log(printableLines(line)), progress: Boolean(process.stdout.isTTY) });
    const stop = (signal: string) => {
      console.log(`${signal}: stopping — no new webhooks; in-flight uploads stop and release their leases for the next start.`);
      void serving.close().then(() => process.exit(0));
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });

program
  .command('dashboard')
  .description("the operator dashboard of a deployed stack, on this machine, against its DynamoDB tables (AWS credentials from the environment); `serve` has its own")
  .requiredOption('--audit-table <name>', 'the stack output AuditTableName')
  .requiredOption('--ledger-table <name>', 'the stack output LedgerTableName')
  .option('--event-bus <name>', 'the stack output EventBusName: Retry publishes there (without it Retry is disabled)')
  .option('--host <host>', 'address to listen on (env DASHBOARD_HOST, default 127.0.0.1; beyond loopback needs DASHBOARD_TOKEN)')
  .option('--port <port>', `port to listen on (env DASHBOARD_PORT, default ${CLOUD_DASHBOARD_PORT})`, port)
  .action(async (options: { auditTable: string; ledgerTable: string; eventBus?: string; host?: string; port?: number }) => {
    const env = { ...process.env, ...(options.host ? { DASHBOARD_HOST: options.host } : {}), ...(options.port !== undefined ? { DASHBOARD_PORT: String(options.port) } : {}) };
    const dashboard = await cloudDashboardCommand({ auditTable: options.auditTable, ledgerTable: options.ledgerTable, eventBus: options.eventBus, env });
    console.log(`dashboard: ${dashboard.url} (DynamoDB ${printable(options.auditTable)}, ${printable(options.ledgerTable)}; Retry ${dashboard.retry ? `publishes to ${printable(options.eventBus ?? '')}` : 'disabled: pass --event-bus'})`);
    const stop = () => void dashboard.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

program
  .command('retry')
  .description('re-drive failed files through the uploader (the ledger decides: an uploaded file is never sent again)')
  .argument('[fileId]', 'one file id (see status --failed)')
  .option('--failed', 'every failed file')
  .option('--since <time>', 'with --failed: failed since (e.g. 24h, 7d, 2026-11-01)')
  .option('--dead', 'the bus deliveries that failed for good (the local dead-letter queue), of any consumer')
  .option('--deliveries', 'the subscriber messages (outbound webhooks, Slack) that failed: send them again')
  .option('--data-dir <dir>', 'local state folder (env DATA_DIR)', process.env.DATA_DIR ?? './data')
  .action(async (fileId: string | undefined, options: { failed?: boolean; since?: string; dead?: boolean; deliveries?: boolean; dataDir: string }) => {
    const paths = dataPaths(options.dataDir);
    if (options.deliveries) {
      if (fileId || options.failed || options.dead) throw new ConfigError('retry --deliveries takes no FILE_ID, --failed or --dead');
      const requeued = retryDeliveriesCommand(paths);
      console.log(`${requeued} failed subscriber deliver${requeued === 1 ? 'y' : 'ies'} queued again; a running \`zoom-archiver serve\` sends them within a second, otherwise the next start does.`);
      return;
    }
    if (options.dead) {
      if (fileId || options.failed) throw new ConfigError('retry --dead takes no FILE_ID and no --failed');
      if (!existsSync(paths.bus)) throw new ConfigError(`no bus at ${paths.bus}: run \`npm start\` here first, or pass --data-dir`);
      const { redriven } = retryDeadCommand(paths);
      for (const d of redriven) console.log(`re-driven ${d.consumer} ← ${d.detailType} ${d.eventId} (${d.attempts} attempt(s); last error: ${printable(d.lastError ?? 'none')})`);
      console.log(`${redriven.length} dead deliver${redriven.length === 1 ? 'y' : 'ies'} queued again; a running \`zoom-archiver serve\` picks them up within a second, otherwise the next start does.`);
      return;
    }
    if (!fileId && !options.failed) throw new ConfigError('retry needs a FILE_ID, --failed, --dead or --deliveries');
    if (!existsSync(paths.ledger)) throw new ConfigError(`no ledger at ${paths.ledger}: run \`npm start\` here first, or pass --data-dir`);
    const result = await retryCommand(paths, fileId ? { fileId } : { since: options.since ? Date.parse(parseSince(options.since, new Date())) : undefined });
    for (const id of result.redriven) console.log(`re-driven ${printable(id)}`);
    for (const skip of result.skipped) console.log(`not re-driven ${printable(skip.fileId)}: ${printable(skip.why)}`);
    console.log(`${result.redriven.length} file(s) queued; a running \`zoom-archiver serve\` picks them up within a second, otherwise the next start does.`);
    if (result.redriven.length === 0) process.exitCode = 1;
  });

program
  .command('backfill')
  .description("list Zoom's recordings in a date range and archive what is missing, exactly once (needs Server-to-Server OAuth)")
  .option('--from <date>', 'first day, YYYY-MM-DD (UTC; default 30 days before --to)')
  .option('--to <date>', 'last day, YYYY-MM-DD (UTC; default today)')
  .option('--dry-run', 'list what would be archived, per recording; archive nothing')
  .option('--json', 'print the summary as JSON')
  .option('--data-dir <dir>', 'local state folder (env DATA_DIR)')
  .action(async (options: { from?: string; to?: string; dryRun?: boolean; json?: boolean; dataDir?: string }) => {
    const env = { ...process.env, ...(options.dataDir ? { DATA_DIR: options.dataDir } : {}) };
    const { exitCode } = await backfillCommand(options, { env, print: (line) => console.log(line), progress: Boolean(process.stderr.isTTY) && !options.json });
    process.exitCode = exitCode;
  });

program
  .command('cleanup')
  .description("what is due for Zoom's trash and what the check says now; runs the due clean-ups (cleanup.trashInZoom in the archiver config)")
  .option('--dry-run', 'list and check only: change nothing, delete nothing, record nothing')
  .option('--json', 'JSON for scripts')
  .option('--data-dir <dir>', 'local state folder (env DATA_DIR)')
  .action(async (options: { dryRun?: boolean; json?: boolean; dataDir?: string }) => {
    const env = { ...process.env, ...(options.dataDir ? { DATA_DIR: options.dataDir } : {}) };
    const { exitCode } = await cleanupCommand(options, { env, print: (line) => console.log(line) });
    process.exitCode = exitCode;
  });

program
  .command('simulate')
  .description('send a signed sample Zoom webhook to a URL and print the answer')
  .requiredOption('--url <url>', 'webhook URL, e.g. http://127.0.0.1:8080/webhooks/zoom')
  .option('--secret <secret>', 'the Zoom app secret token (env ZOOM_WEBHOOK_SECRET_TOKEN)', process.env.ZOOM_WEBHOOK_SECRET_TOKEN)
  .option('--fixture <name>', 'sample payload under tests/fixtures/zoom', 'recording-completed')
  .action(async (options: { url: string; secret?: string; fixture: string }) => {
    if (!options.secret) throw new ConfigError('simulate needs --secret or ZOOM_WEBHOOK_SECRET_TOKEN');
    const result = await sendSignedWebhook(options.url, options.secret, loadSample(options.fixture));
    console.log(`${result.status} in ${result.elapsedMs.toFixed(1)} ms`);
    console.log(printableLines(result.body));
    if (result.status >= 300) process.exitCode = 1;
  });

program
  .command('status')
  .description('what arrived, what was archived, what failed and why (from the audit trail)')
  .option('--recording <id>', "one recording's history (Zoom meeting UUID)")
  .option('--course <code>', "a course's events; with --since/--until")
  .option('--failed', 'failed files and rejected recordings (default: last 7 days)')
  .option('--since <time>', 'from (e.g. 24h, 7d, 2026-11-01)')
  .option('--until <time>', 'until (exclusive)')
  .option('--deliveries', 'subscriber deliveries (outbound webhooks, Slack): per subscriber, and the failed and pending messages')
  .option('--json', 'JSON for scripts')
  .option('--table <name>', 'read the DynamoDB audit table (AWS credentials from the environment)')
  .option('--data-dir <dir>', 'local state folder (env DATA_DIR)', process.env.DATA_DIR ?? './data')
  .action(async (options: { recording?: string; course?: string; failed?: boolean; deliveries?: boolean; since?: string; until?: string; json?: boolean; table?: string; dataDir: string }) => {
    if (options.deliveries) {
      if (options.recording || options.course || options.failed || options.table) throw new ConfigError('status --deliveries takes only --json and --data-dir');
      console.log(deliveriesStatus(dataPaths(options.dataDir), { json: options.json }));
      return;
    }
    const now = new Date();
    const since = options.since === undefined ? undefined : parseSince(options.since, now);
    const until = options.until === undefined ? undefined : parseSince(options.until, now);
    const auditPath = dataPaths(options.dataDir).audit;
    if (!options.table && !existsSync(auditPath)) {
      throw new ConfigError(`no audit trail at ${auditPath} yet: run \`npm start\` here first, or pass --data-dir or --table`);
    }
    const log = options.table ? new DynamoDbAuditLog(new DynamoDBClient({}), options.table) : new SqliteAuditLog(auditPath);
    console.log(await runStatus(log, { ...options, since, until }, now));
    if (log instanceof SqliteAuditLog) log.close();
    const cleanupPath = dataPaths(options.dataDir).cleanup;
    if (options.recording && !options.json && !options.table && existsSync(cleanupPath)) {
      const schedule = new SqliteCleanupSchedule({ path: cleanupPath });
      const line = cleanupStatusLine(await schedule.get(options.recording));
      schedule.close();
      if (line) console.log(line);
    }
  });

program.parseAsync().catch((error: unknown) => {
  const known = error instanceof ConfigError;
  console.error(`zoom-archiver: ${printableLines(error instanceof Error ? error.message : String(error))}`);
  process.exit(known ? 2 : 1);
});
