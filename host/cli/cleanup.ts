/**
 * `zoom-archiver cleanup [--dry-run] [--json]`: what is scheduled for Zoom's trash,
 * from the clean-up schedule (DATA_DIR/cleanup.sqlite), the ledger and the archive,
 * and, for each recording due now, what the check says at this moment — the same
 * check the clean-up run makes (services/cleanup/verdict.ts, which reads Zoom's
 * recording again).
 *
 * - `--dry-run`: lists and checks; changes nothing, deletes nothing, records nothing.
 * - without it: also runs the due clean-ups now, as `serve` does every
 *   CLEANUP_CHECK_INTERVAL_SECONDS, in the configured mode ("dry-run" records
 *   RecordingWouldBeTrashed, "on" trashes). Its events go to bus.sqlite: a running
 *   `serve` delivers them to the audit trail and the subscribers (or the next start).
 *   Safe beside a running `serve`: each recording is claimed by one runner.
 * Exit 2 when the configuration is invalid (cleanup.trashInZoom "off" included, for
 * the run; the listing works in every mode).
 */
import Table from 'cli-table3';
import { mkdirSync } from 'node:fs';
import { SqliteCleanupSchedule } from '../../shared/adapters/cleanup-sqlite';
import { SqliteUploadLedger } from '../../shared/adapters/ledger-sqlite';
import { ConfigError } from '../../shared/errors';
import { createLogger } from '../../shared/logger';
import type { CleanupEntry } from '../../shared/ports/cleanup-schedule';
import type { EventPublisher } from '../../shared/ports/event-publisher';
import type { CleanupResult } from '../../services/cleanup/use-case';
import { judgeRecording, type Verdict } from '../../services/cleanup/verdict';
import { DurableBus } from '../bus/durable-bus';
import { openLocalCleanup } from '../cleanup';
import { loadRuntimeConfig } from '../config';
import { createArchiveStore } from '../stores';
import { printable, printableLines } from './printable';

export interface CleanupArgs {
  dryRun?: boolean;
  json?: boolean;
}

export interface CleanupIo {
  env: Record<string, string | undefined>;
  print: (line: string) => void;
  now?: () => Date;
}

export interface CleanupListing {
  mode: string;
  delayHours: number;
  exceptCourses: string[];
  /** Every entry of the schedule, with the check's answer for those due now. */
  entries: (Pick<CleanupEntry, 'recordingId' | 'course' | 'state' | 'attempts' | 'note' | 'outcome'> & {
    dueAt: string;
    due: boolean;
    decidedAt?: string;
    /** For the due ones: what the check says now. */
    check?: { verdict: Verdict['kind'] | 'error'; reason?: string; archivedFiles?: number; otherFiles?: number };
  })[];
  /** Without --dry-run: what the run did. */
  ran?: CleanupResult[];
}

export async function cleanupCommand(args: CleanupArgs, io: CleanupIo): Promise<{ exitCode: 0 | 1; listing: CleanupListing }> {
  const now = io.now ?? (() => new Date());
  const config = loadRuntimeConfig(io.env, { webhook: 'optional' });
  const { cleanup } = config.rules;
  if (!args.dryRun && cleanup.trashInZoom === 'off') {
    throw new ConfigError(`cleanup.trashInZoom is "off" in ${config.rules.source}: nothing is cleaned up; use --dry-run to see what the check would say, or set it to "dry-run" or "on"`);
  }
  mkdirSync(config.paths.root, { recursive: true });
  const logger = createLogger('cleanup', io.env.LOG_LEVEL ?? 'WARN');
  const schedule = new SqliteCleanupSchedule({ path: config.paths.cleanup });
  const ledger = new SqliteUploadLedger({ path: config.paths.ledger });
  const archive = createArchiveStore(config);
  const bus = args.dryRun ? undefined : new DurableBus({ path: config.paths.bus, logger });
  const refuse: EventPublisher = { publish: () => Promise.reject(new Error('a dry run publishes nothing')) };
  const local = openLocalCleanup(config, { ledger, archive, publisher: bus ?? refuse, logger, schedule, now });
  try {
    const ran = args.dryRun ? undefined : await local.run();
    const entries: CleanupListing['entries'] = [];
    const at = now().getTime();
    const dueStates = new Set(cleanup.trashInZoom === 'on' ? ['scheduled', 'would_trash'] : ['scheduled']);
    for (const entry of await schedule.list({ limit: 10_000 })) {
      const due = dueStates.has(entry.state) && entry.dueAt <= at;
      let check: CleanupListing['entries'][number]['check'];
      if (due) {
        try {
          const verdict = await judgeRecording(entry.recordingId, local.deps);
          check =
            verdict.kind === 'trash'
              ? { verdict: 'trash', archivedFiles: verdict.archivedFiles.length, otherFiles: verdict.otherFiles.length }
              : { verdict: verdict.kind, reason: verdict.kind === 'gone' ? 'Zoom has no such recording' : verdict.reason };
        } catch (error) {
          check = { verdict: 'error', reason: `could not check: ${error instanceof Error ? error.message : String(error)}` };
        }
      }
      entries.push({
        recordingId: entry.recordingId,
        course: entry.course,
        state: entry.state,
        attempts: entry.attempts,
        note: entry.note,
        outcome: entry.outcome,
        dueAt: new Date(entry.dueAt).toISOString(),
        due,
        decidedAt: entry.decidedAt === undefined ? undefined : new Date(entry.decidedAt).toISOString(),
        check,
      });
    }
    const listing: CleanupListing = { mode: cleanup.trashInZoom, delayHours: cleanup.delayMs / 3_600_000, exceptCourses: [...cleanup.exceptCourses], entries, ran };
    io.print(args.json ? printableLines(JSON.stringify(listing, null, 2)) : render(listing, Boolean(args.dryRun)));
    const failed = ran?.some((result) => result.outcome === 'postponed' || result.outcome === 'failed') ?? false;
    return { exitCode: failed ? 1 : 0, listing };
  } finally {
    schedule.close();
    ledger.close();
    bus?.close();
  }
}

function render(listing: CleanupListing, dryRun: boolean): string {
  const lines = [
    `Clean-up in Zoom: trashInZoom "${listing.mode}", ${listing.delayHours} h after the last file is archived` +
      (listing.exceptCourses.length > 0 ? `, except ${listing.exceptCourses.join(', ')}` : ''),
  ];
  if (listing.ran) {
    if (listing.ran.length === 0) lines.push('Nothing was due.');
    for (const r of listing.ran) lines.push(`  ${printable(r.recordingId)} (${printable(r.course)}): ${r.outcome}${r.note ? ` — ${printable(r.note)}` : ''}`);
  }
  if (listing.entries.length === 0) {
    lines.push('No recording is scheduled (recordings are scheduled when they are archived, while cleanup.trashInZoom is not "off").');
    return lines.join('\n');
  }
  const table = new Table({ head: ['recording', 'course', 'state', 'due (UTC)', dryRun || !listing.ran ? 'check now' : 'note'], wordWrap: true, colWidths: [26, 10, 13, 21, 60], style: { head: [], border: [] } });
  for (const e of listing.entries) {
    const checkText = e.check
      ? e.check.verdict === 'trash'
        ? `would be trashed now: ${e.check.archivedFiles} file(s) verified in the archive${e.check.otherFiles ? `, ${e.check.otherFiles} unarchived file(s) with it` : ''}`
        : `not now (${e.check.verdict}): ${e.check.reason}`
      : (e.note ?? (e.due ? '' : 'not due yet'));
    table.push([printable(e.recordingId), printable(e.course), e.state + (e.outcome && e.outcome !== 'trashed' ? ` (${e.outcome})` : ''), e.dueAt.replace('T', ' ').slice(0, 19), printable(checkText)]);
  }
  lines.push(table.toString());
  if (dryRun) lines.push('Dry run: nothing was changed or deleted.');
  return lines.join('\n');
}

/** One line for `status --recording`: where the recording stands with the clean-up. */
export function cleanupStatusLine(entry: CleanupEntry | undefined): string | undefined {
  if (!entry) return undefined;
  const at = (ms: number | undefined) => (ms === undefined ? '' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19));
  switch (entry.state) {
    case 'scheduled':
      return `Clean-up in Zoom: due ${at(entry.dueAt)} UTC${entry.note ? ` (${printable(entry.note)})` : ''}`;
    case 'running':
      return `Clean-up in Zoom: being checked now (due ${at(entry.dueAt)} UTC)`;
    case 'held':
      return `Clean-up in Zoom: held back ${at(entry.decidedAt)} UTC: ${printable(entry.note ?? '')}`;
    case 'would_trash':
      return `Clean-up in Zoom: the dry run would have trashed it (${at(entry.decidedAt)} UTC); nothing was deleted`;
    case 'trashed':
      return `Clean-up in Zoom: moved to Zoom's trash ${at(entry.decidedAt)} UTC${entry.outcome === 'already_in_trash' ? ' (confirmed by 404/3301 after our DELETE)' : ''}; Zoom keeps it there 30 days`;
    case 'gone':
      return `Clean-up in Zoom: not needed — ${printable(entry.note ?? 'Zoom has no such recording')}`;
  }
}
