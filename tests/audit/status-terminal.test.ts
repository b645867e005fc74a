/**
 * A meeting topic is typed by a host; `status` must not send its escape sequences
 * raw to an operator's terminal (clear screen, fake "all OK", window title, bidi
 * reordering). Checked through the library function and the real command line.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SqliteAuditLog } from '../../shared/adapters/audit-sqlite';
import { DetailType } from '../../shared/events';
import { toAuditRecord, type AuditInput } from '../../services/audit/summarize';
import { printable, printableLines } from '../../host/cli/printable';
import { runStatus } from '../../host/cli/status';
import { dataPaths } from '../../host/paths';

const HOSTILE_TOPIC = '[MAQ101] lesson\u001b[2J\u001b[H all files archived OK \u001b]0;owned\u0007 \u202eevil\u202c\r\nfake line';
const RAW_CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const NOW = new Date('2026-11-22T20:00:00Z');

let dir: string;
let log: SqliteAuditLog;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'status-terminal-'));
  log = new SqliteAuditLog(dataPaths(dir).audit);
  const input = {
    id: 'e-hostile',
    time: '2026-11-22T10:00:00.000Z',
    detailType: DetailType.RecordingRejected,
    detail: {
      metadata: { schemaVersion: 1, correlationId: 'corr', causationId: 'cause', idempotencyKey: 'k' },
      recordingId: 'rec-\u001b[31mX',
      meetingId: '1',
      topic: HOSTILE_TOPIC,
      reason: 'not_course_meeting',
      explanation: `no course code in ${HOSTILE_TOPIC}`,
    },
  } as AuditInput;
  await log.record(toAuditRecord(input));
});
afterAll(() => {
  log.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('status shows control characters visibly', () => {
  it('escapes them in every table and in JSON', async () => {
    for (const query of [{}, { failed: true, since: '2026-11-01T00:00:00Z' }, { recording: 'rec-\u001b[31mX' }, { failed: true, since: '2026-11-01T00:00:00Z', json: true }]) {
      const text = await runStatus(log, query, NOW);
      expect(text).not.toMatch(RAW_CONTROLS);
      expect(text).toMatch(/\\x1b|\\u001b/);
    }
  });

  it('escapes them in the command line output', async () => {
    const run = promisify(execFile);
    const { stdout } = await run('npx', ['tsx', 'host/cli/main.ts', 'status', '--data-dir', dir, '--failed', '--since', '2026-11-01'], { cwd: join(__dirname, '..', '..') });
    expect(stdout).toContain('rec-\\x1b[31mX');
    expect(stdout).not.toMatch(RAW_CONTROLS);
  });

  it('keeps ordinary text, newlines in multi-line output, and non-Latin scripts as they are', () => {
    expect(printable('العربية — Cours d’été 日本語')).toBe('العربية — Cours d’été 日本語');
    expect(printableLines('a\nb\tc')).toBe('a\nb\tc');
    expect(printable('a\nb')).toBe('a\\x0ab');
    expect(printable('\u202eevil')).toBe('\\u202eevil');
  });
});
