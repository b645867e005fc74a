/**
 * `zoom-archiver status` on a seeded SQLite audit trail: the library function for
 * each query, and the real command line in a child process.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SqliteAuditLog } from '../../shared/adapters/audit-sqlite';
import { parseSince, runStatus, type Summary24h } from '../../host/cli/status';
import { dataPaths } from '../../host/paths';
import { seedRecords } from './seed';

const NOW = new Date('2026-11-22T20:00:00Z');
let dir: string;
let log: SqliteAuditLog;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'status-'));
  log = new SqliteAuditLog(dataPaths(dir).audit);
  for (const record of seedRecords()) await log.record(record);
});
afterAll(() => {
  log.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('status', () => {
  it('summarizes the last 24 hours', async () => {
    const summary = JSON.parse(await runStatus(log, { json: true }, NOW)) as Summary24h;
    expect(summary).toMatchObject({ recordingsReceived: 1, filesUploaded: 0, filesFailed: 1, recordingsRejected: 0 });
    expect(summary.problems.map((p) => p.eventId)).toEqual(['e08']);

    const text = await runStatus(log, {}, NOW);
    expect(text).toMatch(/files failed\s*│\s*1/);
    expect(text).toMatch(/FileUploadFailed.*rec-C.*failed \(not_media\)/);
  });

  it("shows one recording's history in order", async () => {
    const text = await runStatus(log, { recording: 'rec-A' }, NOW);
    const order = ['RecordingAvailable', 'FileUploadRequested', 'FileUploaded', 'RecordingArchived'].map((t) => text.indexOf(t));
    expect(order.every((index, i) => index > 0 && (i === 0 || index > order[i - 1]!))).toBe(true);
    expect(text).toContain('s3://archive/courses/MAQ101/2026-11-20/lesson.mp4');
  });

  it('filters a course by time and lists failures', async () => {
    const course = JSON.parse(await runStatus(log, { course: 'MAQ101', since: '2026-11-20T10:01:00.000Z', json: true }, NOW)) as { eventId: string }[];
    expect(course.map((r) => r.eventId)).toEqual(['e03', 'e04']);
    const failed = JSON.parse(await runStatus(log, { failed: true, json: true }, NOW)) as { eventId: string }[];
    expect(failed.map((r) => r.eventId)).toEqual(['e08', 'e06']);
  });

  it('parses relative and absolute times, and refuses nonsense', () => {
    expect(parseSince('24h', NOW)).toBe('2026-11-21T20:00:00.000Z');
    expect(parseSince('7d', NOW)).toBe('2026-11-15T20:00:00.000Z');
    expect(parseSince('2026-11-01', NOW)).toBe('2026-11-01T00:00:00.000Z');
    expect(() => parseSince('last tuesday', NOW)).toThrow(/not a time/);
  });

  it('runs as a command line against the data folder', async () => {
    const run = promisify(execFile);
    const { stdout } = await run('npx', ['tsx', 'host/cli/main.ts', 'status', '--data-dir', dir, '--recording', 'rec-C', '--json'], { cwd: join(__dirname, '..', '..') });
    expect((JSON.parse(stdout) as { detailType: string }[]).map((r) => r.detailType)).toEqual(['RecordingAvailable', 'FileUploadFailed']);

    const missing = await run('npx', ['tsx', 'host/cli/main.ts', 'status', '--data-dir', join(dir, 'nothing-here')], { cwd: join(__dirname, '..', '..') }).catch((e: { code: number; stderr: string }) => e);
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringMatching(/no audit trail at .*nothing-here/) });
  });
});
