/**
 * `zoom-archiver status --deliveries [--json]` and `zoom-archiver retry --deliveries`:
 * the subscribers' outbox (DATA_DIR/outbox.sqlite) — each subscriber with its origin
 * (never its URL's path, a Slack URL's secret) and its messages counted by state; the
 * failed and pending ones with attempts, next attempt and last error — and the failed
 * ones made pending again, for a running `serve` to send within a second (or the next
 * start).
 */
import { existsSync } from 'node:fs';
import Table from 'cli-table3';
import { SqliteSubscriberOutbox, type OutboxSummary } from '../../shared/adapters/outbox-sqlite';
import { createLogger } from '../../shared/logger';
import type { dataPaths } from '../paths';
import { printable, printableLines } from './printable';

type Paths = ReturnType<typeof dataPaths>;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function openOutbox(paths: Paths): SqliteSubscriberOutbox | undefined {
  if (!existsSync(paths.outbox)) return undefined;
  return new SqliteSubscriberOutbox({ path: paths.outbox, logger: createLogger('status', process.env.LOG_LEVEL ?? 'WARN') });
}

/** The report `status --deliveries` prints. */
export function deliveriesStatus(paths: Paths, options: { json?: boolean } = {}): string {
  const outbox = openOutbox(paths);
  if (!outbox) {
    return options.json
      ? JSON.stringify({ outbox: paths.outbox, subscribers: [], messages: [] }, null, 2)
      : `No subscriber deliveries yet (no outbox at ${paths.outbox}): configure \`subscribers\` in the archiver config and run \`zoom-archiver serve\`.`;
  }
  try {
    const summary = outbox.summary();
    return options.json ? printableLines(JSON.stringify(asJson(paths, summary), null, 2)) : render(paths, summary);
  } finally {
    outbox.close();
  }
}

function asJson(paths: Paths, summary: OutboxSummary) {
  return {
    outbox: paths.outbox,
    subscribers: summary.subscribers.map((s) => ({
      id: s.id,
      origin: s.origin || null,
      format: s.format || null,
      disabled: s.disabledAt === null ? null : { at: iso(s.disabledAt), reason: s.disabledReason },
      counts: s.counts,
    })),
    messages: summary.open.map((row) => ({
      subscriberId: row.subscriberId,
      messageId: row.messageId,
      type: row.type,
      state: row.state,
      attempts: row.attempts,
      nextAttemptAt: row.state === 'pending' ? iso(row.nextAttemptAt) : null,
      firstAttemptAt: iso(row.firstAttemptAt),
      lastAttemptAt: iso(row.lastAttemptAt),
      lastStatus: row.lastStatus,
      lastError: row.lastError,
    })),
  };
}

function render(paths: Paths, summary: OutboxSummary): string {
  if (summary.subscribers.length === 0) return `No subscriber messages in ${paths.outbox}.`;
  const style = { head: [], border: [] };
  const subscribers = new Table({ head: ['subscriber', 'origin', 'format', 'pending', 'delivered', 'failed', 'disabled'], style });
  for (const s of summary.subscribers) {
    subscribers.push([printable(s.id), printable(s.origin || '(not configured now)'), printable(s.format || '—'), s.counts.pending, s.counts.delivered, s.counts.failed, s.counts.disabled]);
  }
  const lines = [`Subscriber deliveries (${paths.outbox})`, subscribers.toString()];
  for (const s of summary.subscribers.filter((x) => x.disabledAt !== null)) {
    lines.push(`${printable(s.id)} is DISABLED since ${iso(s.disabledAt)}: ${printable(s.disabledReason ?? '')}`);
  }
  if (summary.open.length > 0) {
    const rows = new Table({ head: ['subscriber', 'event', 'message id', 'state', 'attempts', 'next attempt (UTC)', 'last error'], wordWrap: true, colWidths: [26, 18, 38, 9, 10, 21, 50], style });
    for (const row of summary.open) {
      const next = row.state === 'pending' ? new Date(row.nextAttemptAt).toISOString().replace('T', ' ').slice(0, 19) : '—';
      rows.push([printable(row.subscriberId), printable(row.type), printable(row.messageId), row.state, row.attempts, next, printable(row.lastError ?? '')]);
    }
    lines.push('', `Failed and pending messages: ${summary.open.length}`, rows.toString());
  }
  const failed = summary.subscribers.reduce((n, s) => n + s.counts.failed, 0);
  lines.push('', failed > 0 ? `Send the ${failed} failed one(s) again: zoom-archiver retry --deliveries` : 'Nothing failed.');
  return lines.join('\n');
}

/** `retry --deliveries`: failed messages pending again (attempts and 24-hour window restarted); returns how many. */
export function retryDeliveriesCommand(paths: Paths): number {
  const outbox = openOutbox(paths);
  if (!outbox) return 0;
  try {
    return outbox.requeueFailed();
  } finally {
    outbox.close();
  }
}
