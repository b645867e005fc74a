/**
 * One behaviour suite for every AuditLog adapter: idempotent writes and the queries
 * operators ask (the CLI's four, the dashboard's search, latest run and daily totals),
 * on the same seeded trail.
 */
import type { AuditLog } from '../../shared/ports/audit-log';
import { LEAKED_TOKEN, SEARCH_MEETING_ID, SEARCH_UUID, searchSeedRecords, seedRecords } from './seed';

/** The search seed's "now": 90 days before it is 2026-09-06, after the August records. */
const UNTIL = '2026-12-05T00:00:00.000Z';
const EVERYTHING = { since: '2026-08-01T00:00:00.000Z', until: UNTIL };
const ids = (records: { eventId: string }[]) => records.map((r) => r.eventId);

export function describeAuditLogContract(name: string, open: () => Promise<{ log: AuditLog; rawDump: () => Promise<string>; close: () => Promise<void> }>): void {
  describe(`${name} AuditLog contract`, () => {
    let log: AuditLog;
    let rawDump: () => Promise<string>;
    let close: () => Promise<void>;

    beforeAll(async () => {
      ({ log, rawDump, close } = await open());
      for (const record of [...seedRecords(), ...searchSeedRecords()]) expect(await log.record(record)).toBe('written');
    });
    afterAll(() => close());

    it('records a redelivered event once', async () => {
      const again = seedRecords()[0]!;
      expect(await log.record(again)).toBe('duplicate');
      expect((await log.recordingHistory('rec-A')).map((r) => r.eventId)).toEqual(['e01', 'e02', 'e03', 'e04']);
    });

    it('answers the history of one recording, oldest first, with the records intact', async () => {
      const history = await log.recordingHistory('rec-A');
      expect(history).toEqual(seedRecords().filter((r) => r.recordingId === 'rec-A'));
      expect(await log.recordingHistory('no-such-recording')).toEqual([]);
    });

    it("answers a course's events in a time range", async () => {
      expect((await log.courseEvents('MAQ101', {})).map((r) => r.eventId)).toEqual(['e02', 'e03', 'e04']);
      expect((await log.courseEvents('MAQ101', { since: '2026-11-20T10:01:00.000Z' })).map((r) => r.eventId)).toEqual(['e03', 'e04']);
      expect((await log.courseEvents('MAQ101', { until: '2026-11-20T10:02:00.000Z' })).map((r) => r.eventId)).toEqual(['e02']);
      expect(await log.courseEvents('PHY201', { since: '2026-11-23T00:00:00.000Z' })).toEqual([]);
    });

    it('answers failures and rejections in a time range, newest first', async () => {
      expect((await log.problems({ since: '2026-11-01T00:00:00.000Z', until: '2026-12-01T00:00:00.000Z' })).map((r) => r.eventId)).toEqual(['e08', 'e06']);
      expect((await log.problems({ since: '2026-11-22T00:00:00.000Z', until: '2026-12-01T00:00:00.000Z' })).map((r) => r.eventId)).toEqual(['e08']);
    });

    it('answers the latest N events, newest first', async () => {
      expect((await log.latest(3, { until: '2026-11-23T00:00:00.000Z' })).map((r) => r.eventId)).toEqual(['e08', 'e07', 'e06']);
      expect((await log.latest(100, { since: '2026-11-21T00:00:00.000Z', until: '2026-11-23T00:00:00.000Z' })).map((r) => r.eventId)).toEqual(['e08', 'e07', 'e06', 'e05']);
    });

    describe('findRecordings', () => {
      it('matches the topic ignoring case, accented letters too, newest first', async () => {
        expect(ids(await log.findRecordings('éLÉm', { until: UNTIL }, 10))).toEqual(['s09', 's03']);
        expect(ids(await log.findRecordings('RÉVISION', { until: UNTIL }, 10))).toEqual(['s09']);
        // Both searchable detail-types: the rejection (e06) and the announcement (e05).
        expect(ids(await log.findRecordings('sTaFf', { until: UNTIL }, 10))).toEqual(['e06', 'e05']);
        expect(ids(await log.findRecordings('  lesson 1 ', { until: UNTIL }, 10))).toEqual(['e01']);
      });

      it('matches the meeting id with or without spaces, whole', async () => {
        expect(ids(await log.findRecordings('851 2345 6789', { until: UNTIL }, 10))).toEqual(['s09', 's03']);
        expect(ids(await log.findRecordings(SEARCH_MEETING_ID, { until: UNTIL }, 10))).toEqual(['s09', 's03']);
        expect(await log.findRecordings('851 2345', { until: UNTIL }, 10)).toEqual([]);
      });

      it('matches a recording id (meeting UUID) exactly, with the records intact', async () => {
        const found = await log.findRecordings(SEARCH_UUID, { until: UNTIL }, 10);
        // Its RecordingAvailable only: not its FileUploaded, nor the trash check carrying the same topic and meeting id.
        expect(found).toEqual(searchSeedRecords().filter((r) => r.eventId === 's03'));
        expect(await log.findRecordings(SEARCH_UUID.slice(0, 8), { until: UNTIL }, 10)).toEqual([]);
        expect(await log.findRecordings(SEARCH_UUID.toLowerCase(), { until: UNTIL }, 10)).toEqual([]);
      });

      it('takes % and _ literally', async () => {
        expect(ids(await log.findRecordings('100%', EVERYTHING, 10))).toEqual(['s07']);
        expect(ids(await log.findRecordings('%', EVERYTHING, 10))).toEqual(['s07']);
        expect(ids(await log.findRecordings('_', EVERYTHING, 10))).toEqual(['s07']);
        expect(ids(await log.findRecordings('lab', EVERYTHING, 10))).toEqual(['e07']);
        expect(await log.findRecordings('l_b', EVERYTHING, 10)).toEqual([]);
        expect(await log.findRecordings('l%', EVERYTHING, 10)).toEqual([]);
      });

      it('finds nothing for blank text', async () => {
        expect(await log.findRecordings('   ', EVERYTHING, 10)).toEqual([]);
      });

      it('keeps to the range: since included, until excluded, the last 90 days without since', async () => {
        expect(ids(await log.findRecordings('élém', EVERYTHING, 10))).toEqual(['s09', 's03', 's01']);
        expect(ids(await log.findRecordings('élém', { since: '2026-12-01T09:00:00.000Z', until: '2026-12-03T08:00:00.000Z' }, 10))).toEqual(['s03']);
        expect(ids(await log.findRecordings('élém', { since: '2026-12-01T09:00:00.001Z', until: UNTIL }, 10))).toEqual(['s09']);
        expect(ids(await log.findRecordings(SEARCH_MEETING_ID, { until: '2026-10-01T00:00:00.000Z' }, 10))).toEqual(['s01']);
        expect(await log.findRecordings(SEARCH_MEETING_ID, { until: '2026-12-01T00:00:00.000Z' }, 10)).toEqual([]);
      });

      it('returns at most limit, the newest', async () => {
        expect(ids(await log.findRecordings('élém', EVERYTHING, 2))).toEqual(['s09', 's03']);
        expect(ids(await log.findRecordings('e', EVERYTHING, 3))).toEqual(['s09', 's07', 's03']);
        expect(await log.findRecordings('élém', EVERYTHING, 0)).toEqual([]);
      });
    });

    describe('latestOfType', () => {
      it('answers the latest records of one detail-type, newest first, at most limit', async () => {
        expect(ids(await log.latestOfType('ReconciliationCompleted', 1, { until: UNTIL }))).toEqual(['s08']);
        expect(ids(await log.latestOfType('ReconciliationCompleted', 5, { until: UNTIL }))).toEqual(['s08', 's06']);
        expect(ids(await log.latestOfType('FileUploaded', 3, EVERYTHING))).toEqual(['s10', 's05', 's04']);
        expect(ids(await log.latestOfType('FileUploaded', 10, EVERYTHING))).toEqual(['s10', 's05', 's04', 'e03', 's02']);
        expect((await log.latestOfType('ReconciliationCompleted', 1, { until: UNTIL }))[0]).toEqual(searchSeedRecords().find((r) => r.eventId === 's08'));
      });

      it('keeps to the range, the last 90 days without since', async () => {
        expect(ids(await log.latestOfType('ReconciliationCompleted', 5, { until: '2026-12-03T03:00:00.000Z' }))).toEqual(['s06']);
        expect(ids(await log.latestOfType('ReconciliationCompleted', 5, { since: '2026-12-02T03:00:00.001Z', until: UNTIL }))).toEqual(['s08']);
        expect(ids(await log.latestOfType('FileUploaded', 10, { until: UNTIL }))).toEqual(['s10', 's05', 's04', 'e03']);
        expect(await log.latestOfType('RecordingArchived', 1, { since: '2026-11-21T00:00:00.000Z', until: UNTIL })).toEqual([]);
        expect(ids(await log.latestOfType('RecordingArchived', 1, { until: UNTIL }))).toEqual(['e04']);
      });
    });

    describe('dailyTotals', () => {
      it('sums the files and bytes uploaded per UTC day, oldest first, leaving out days without files', async () => {
        expect(await log.dailyTotals({ since: '2026-11-20T00:00:00.000Z', until: UNTIL })).toEqual([
          { day: '2026-11-20', files: 1, bytes: 1000 },
          { day: '2026-12-01', files: 2, bytes: 7500 },
          { day: '2026-12-03', files: 1, bytes: 1200 },
        ]);
      });

      it('keeps to the range, the last 90 days without since', async () => {
        expect(await log.dailyTotals({ since: '2026-12-01T09:05:30.000Z', until: '2026-12-03T09:00:00.000Z' })).toEqual([{ day: '2026-12-01', files: 1, bytes: 2500 }]);
        expect(await log.dailyTotals({ until: UNTIL })).toEqual([
          { day: '2026-11-20', files: 1, bytes: 1000 },
          { day: '2026-12-01', files: 2, bytes: 7500 },
          { day: '2026-12-03', files: 1, bytes: 1200 },
        ]);
        expect((await log.dailyTotals(EVERYTHING))[0]).toEqual({ day: '2026-08-01', files: 1, bytes: 999_999 });
        expect(await log.dailyTotals({ since: '2026-12-04T00:00:00.000Z', until: UNTIL })).toEqual([]);
      });
    });

    it('stores no download token anywhere, not even inside a sealed value or a URL', async () => {
      const dump = await rawDump();
      expect(dump).toContain('rec-A'); // the dump really holds the records
      expect(dump).not.toContain(LEAKED_TOKEN);
      expect(dump).not.toContain(LEAKED_TOKEN.split('.')[2]!);
      expect(dump).not.toContain('sealed-');
    });
  });
}
