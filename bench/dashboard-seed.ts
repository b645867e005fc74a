/**
 * A large audit trail and ledger for the dashboard benchmark, written straight into a
 * data folder's SQLite files before `serve` starts: `recordings` course recordings
 * over the last `days` days, each received with three files of which two are
 * accepted and uploaded (about six audit records per recording); every 20th has one
 * file failed instead, every 10th is a rejected staff meeting. The ledger holds the
 * failed files (what the overview's failure list reads) and the files of the newest
 * 200 recordings (what a recording page reads).
 */
import { SqliteAuditLog } from '../shared/adapters/audit-sqlite';
import { SqliteUploadLedger } from '../shared/adapters/ledger-sqlite';
import { DetailType } from '../shared/events';
import type { AuditRecord } from '../shared/ports/audit-log';
import { dataPaths } from '../host/paths';

const DAY_MS = 86_400_000;
const MiB = 1024 * 1024;

export interface SeedResult {
  recordings: number;
  auditRecords: number;
  ledgerEntries: number;
  /** A recording, a course and a topic word that exist, for the page timings. */
  sample: { recordingId: string; course: string; topicWord: string };
}

export async function seedDashboardData(dataDir: string, recordings: number, days: number, now = Date.now()): Promise<SeedResult> {
  const paths = dataPaths(dataDir);
  const audit = new SqliteAuditLog(paths.audit);
  const ledger = new SqliteUploadLedger({ path: paths.ledger });
  let auditRecords = 0;
  let ledgerEntries = 0;
  const record = async (r: AuditRecord) => {
    await audit.record(r);
    auditRecords++;
  };
  try {
    for (let i = 0; i < recordings; i++) {
      const at = now - Math.floor(((recordings - i) / recordings) * days * DAY_MS);
      const iso = (offsetMs: number) => new Date(at + offsetMs).toISOString();
      const recordingId = `bench-${String(i).padStart(6, '0')}==`;
      const course = `BEN${100 + (i % 40)}`;
      const rejected = i % 10 === 9;
      const topic = rejected ? `Staff meeting ${i}` : `[${course}] Lecture ${i} — Harmonie`;
      const meetingId = String(80_000_000_000 + i);
      const base = { recordingId, correlationId: `c-${i}`, causationId: `c-${i}`, problem: false };
      await record({ ...base, eventId: `${i}-a`, detailType: DetailType.RecordingAvailable, time: iso(0), summary: `received recording.completed "${topic}" with 3 file(s)`, data: { meetingId, topic, files: 3, startTime: iso(-3_600_000) } });
      if (rejected) {
        await record({ ...base, eventId: `${i}-r`, detailType: DetailType.RecordingRejected, time: iso(50), problem: true, summary: 'rejected (not_course_meeting): not a course meeting', data: { meetingId, topic, reason: 'not_course_meeting' } });
        continue;
      }
      const failedOne = i % 20 === 0;
      for (const n of [0, 1]) {
        const fileId = `${recordingId}-f${n}`;
        const key = `courses/${course}/${iso(0).slice(0, 10)}/lecture-${i}-${n}.mp4`;
        await record({ ...base, course, fileId, eventId: `${i}-q${n}`, detailType: DetailType.FileUploadRequested, time: iso(100), summary: `requested MP4 speaker_view → ${key}`, data: { key, fileType: 'MP4', recordingType: 'speaker_view', expectedSize: 40 * MiB } });
        const failed = failedOne && n === 1;
        if (failed) {
          await record({ ...base, course, fileId, eventId: `${i}-x${n}`, detailType: DetailType.FileUploadFailed, time: iso(9_000), problem: true, summary: 'failed (not_found) after 1 attempt(s): Zoom answered 404', data: { key, code: 'not_found', reason: 'Zoom answered 404', retryable: false, attempts: 1 } });
        } else {
          await record({ ...base, course, fileId, eventId: `${i}-u${n}`, detailType: DetailType.FileUploaded, time: iso(8_000), summary: `uploaded ${40 * MiB} bytes`, data: { key, size: 40 * MiB + i, sha256: 'a'.repeat(64), transferMs: 7_900, attempts: 1 } });
        }
        if (failed || i >= recordings - 200) {
          await ledger.register({ fileId, recordingId, groupKey: recordingId, groupSize: 2, course, archiveKey: key, expectedSize: 40 * MiB, now: at });
          const owner = `bench:${i}:${n}`;
          await ledger.claim(fileId, owner, 60_000, at + 100);
          if (failed) await ledger.fail(fileId, owner, { code: 'not_found', message: 'Zoom answered 404', retryable: false }, at + 9_000);
          else await ledger.complete(fileId, owner, { size: 40 * MiB + i, checksum: { algorithm: 'sha256', value: 'a'.repeat(64) }, location: { kind: 'folder', container: '/archive', key, uri: `file:///archive/${key}` } }, at + 8_000);
          ledgerEntries++;
        }
      }
      if (!failedOne) await record({ ...base, course, eventId: `${i}-z`, detailType: DetailType.RecordingArchived, time: iso(8_100), summary: 'archived: all 2 file(s) uploaded', data: { files: 2, bytes: 80 * MiB } });
    }
  } finally {
    audit.close();
    ledger.close();
  }
  const last = recordings - 2; // not a rejected one (i % 10 === 9 is)
  return { recordings, auditRecords, ledgerEntries, sample: { recordingId: `bench-${String(last).padStart(6, '0')}==`, course: `BEN${100 + (last % 40)}`, topicWord: 'harmonie' } };
}
