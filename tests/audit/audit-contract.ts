/**
 * One behaviour suite for every AuditLog adapter: idempotent writes and the four
 * queries operators ask, on the same seeded trail.
 */
import type { AuditLog } from '../../shared/ports/audit-log';
import { LEAKED_TOKEN, seedRecords } from './seed';

export function describeAuditLogContract(name: string, open: () => Promise<{ log: AuditLog; rawDump: () => Promise<string>; close: () => Promise<void> }>): void {
  describe(`${name} AuditLog contract`, () => {
    let log: AuditLog;
    let rawDump: () => Promise<string>;
    let close: () => Promise<void>;

    beforeAll(async () => {
      ({ log, rawDump, close } = await open());
      for (const record of seedRecords()) expect(await log.record(record)).toBe('written');
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

    it('stores no download token anywhere, not even inside a sealed value or a URL', async () => {
      const dump = await rawDump();
      expect(dump).toContain('rec-A'); // the dump really holds the records
      expect(dump).not.toContain(LEAKED_TOKEN);
      expect(dump).not.toContain(LEAKED_TOKEN.split('.')[2]!);
      expect(dump).not.toContain('sealed-');
    });
  });
}
