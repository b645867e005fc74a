/**
 * The CleanupSchedule contract: every adapter (SQLite, DynamoDB) runs these same
 * behaviours. Times are passed in, so due times and lease expiry are exact, not slept.
 */
import type { CleanupEntry, CleanupSchedule, CleanupState, ScheduleInput } from '../../shared/ports/cleanup-schedule';
import { CleanupInputError } from '../../shared/adapters/cleanup-rules';

export interface ScheduleUnderTest {
  schedule: CleanupSchedule;
  dispose(): Promise<void>;
}

export const T0 = Date.UTC(2026, 2, 2, 9, 0, 0);
export const HOUR = 60 * 60 * 1000;
export const DAY = 24 * HOUR;
export const LEASE = 5 * 60_000;
export const COURSE = 'MAQ101';

/** Zoom meeting-instance UUIDs are base64 and may hold `/`, `+`, `=` and `//`; the rest is for good measure. */
export const ODD_IDS = [
  'a1B2c3D4e5F6g7H8i9J0kA==',
  '/ajBcD+eF/gh==',
  '//xYz12+34/5=',
  'a//b',
  'with space and #hash and %25',
  'cleanup#nested',
  'state#requested',
  'ünïcødé-会议-🎥',
  "quote'\"back\\slash",
];

export function scheduleInput(recordingId: string, overrides: Partial<ScheduleInput> = {}): ScheduleInput {
  return { recordingId, course: COURSE, dueAt: T0 + DAY, now: T0, ...overrides };
}

export function describeCleanupScheduleContract(name: string, make: () => Promise<ScheduleUnderTest>): void {
  describe(`CleanupSchedule contract: ${name}`, () => {
    let subject: ScheduleUnderTest;
    let schedule: CleanupSchedule;
    beforeEach(async () => {
      subject = await make();
      schedule = subject.schedule;
    });
    afterEach(async () => {
      await subject.dispose();
    });

    /** Schedules `id` due at `dueAt` and claims it there for `owner`. */
    async function running(id: string, owner = 'runner-a', dueAt = T0 + DAY): Promise<CleanupEntry> {
      await schedule.schedule(scheduleInput(id, { dueAt }));
      const claimed = await schedule.claim(id, owner, LEASE, dueAt);
      if (!claimed) throw new Error(`could not claim ${id}`);
      return claimed;
    }

    describe('schedule', () => {
      it('creates a scheduled entry with every field, version 1, and reads it back', async () => {
        const stored = await schedule.schedule(scheduleInput('rec-1', { dueAt: T0 + DAY, now: T0 + 5 }));

        const expected: CleanupEntry = {
          recordingId: 'rec-1',
          course: COURSE,
          state: 'scheduled',
          dueAt: T0 + DAY,
          attempts: 0,
          version: 1,
          createdAt: T0 + 5,
          updatedAt: T0 + 5,
        };
        expect(stored).toEqual(expected);
        expect(await schedule.get('rec-1')).toEqual(expected);
      });

      it('knows nothing of a recording never scheduled', async () => {
        expect(await schedule.get('never')).toBeUndefined();
        expect(await schedule.claim('never', 'runner-a', LEASE, T0 + 2 * DAY)).toBeUndefined();
        expect(await schedule.markTrashRequested('never', 'runner-a', T0)).toBe(false);
        expect(await schedule.finish('never', 'runner-a', { state: 'held', note: 'x' }, T0)).toBe(false);
        expect(await schedule.postpone('never', 'runner-a', T0, 'x', T0)).toBe(false);
      });

      it('is not claimable before dueAt, and claimable at dueAt', async () => {
        await schedule.schedule(scheduleInput('rec-1', { dueAt: T0 + DAY }));

        expect(await schedule.claim('rec-1', 'runner-a', LEASE, T0 + DAY - 1)).toBeUndefined();
        expect(await schedule.listDue(T0 + DAY - 1)).toEqual([]);
        expect((await schedule.get('rec-1'))?.state).toBe('scheduled');

        expect((await schedule.listDue(T0 + DAY)).map((e) => e.recordingId)).toEqual(['rec-1']);
        const claimed = await schedule.claim('rec-1', 'runner-a', LEASE, T0 + DAY);
        expect(claimed).toMatchObject({ state: 'running', leaseOwner: 'runner-a', leaseExpiresAt: T0 + DAY + LEASE, version: 2, updatedAt: T0 + DAY });
        expect(await schedule.get('rec-1')).toEqual(claimed);
      });

      it('does not move the due time forward on a duplicate with an earlier (or the same) due time', async () => {
        await schedule.schedule(scheduleInput('rec-1', { dueAt: T0 + DAY }));

        const earlier = await schedule.schedule(scheduleInput('rec-1', { dueAt: T0 + HOUR, now: T0 + 1 }));
        const same = await schedule.schedule(scheduleInput('rec-1', { dueAt: T0 + DAY, now: T0 + 2 }));

        expect(earlier).toMatchObject({ dueAt: T0 + DAY, version: 1, updatedAt: T0 });
        expect(same).toEqual(earlier);
        expect(await schedule.get('rec-1')).toEqual(earlier);
        expect(await schedule.claim('rec-1', 'runner-a', LEASE, T0 + HOUR)).toBeUndefined();
      });

      it('pushes the due time back on a later one', async () => {
        await schedule.schedule(scheduleInput('rec-1', { dueAt: T0 + DAY }));

        const later = await schedule.schedule(scheduleInput('rec-1', { dueAt: T0 + 2 * DAY, now: T0 + HOUR }));

        expect(later).toMatchObject({ state: 'scheduled', dueAt: T0 + 2 * DAY, version: 2, createdAt: T0, updatedAt: T0 + HOUR });
        expect(await schedule.claim('rec-1', 'runner-a', LEASE, T0 + DAY)).toBeUndefined();
        expect(await schedule.claim('rec-1', 'runner-a', LEASE, T0 + 2 * DAY)).toBeDefined();
      });

      it('takes a new course from a later schedule, and keeps the stored one for an older duplicate', async () => {
        await schedule.schedule(scheduleInput('rec-1', { course: 'OLD100', dueAt: T0 + DAY }));

        expect((await schedule.schedule(scheduleInput('rec-1', { course: 'STALE1', dueAt: T0 + HOUR })))?.course).toBe('OLD100');
        expect(await schedule.schedule(scheduleInput('rec-1', { course: 'NEW200', dueAt: T0 + 2 * DAY }))).toMatchObject({
          course: 'NEW200',
          dueAt: T0 + 2 * DAY,
        });
        expect((await schedule.get('rec-1'))?.course).toBe('NEW200');
      });

      it('ends with the latest due time when many schedules race', async () => {
        const dueTimes = [3, 1, 6, 2, 5, 4].map((hours) => T0 + hours * HOUR);

        const stored = await Promise.all(dueTimes.map((dueAt, i) => schedule.schedule(scheduleInput('rec-race', { dueAt, now: T0 + i }))));

        for (const entry of stored) expect(entry.recordingId).toBe('rec-race');
        const final = await schedule.get('rec-race');
        expect(final).toMatchObject({ state: 'scheduled', dueAt: T0 + 6 * HOUR, attempts: 0 });
        expect(final!.version).toBeGreaterThanOrEqual(1);
        expect(final!.version).toBeLessThanOrEqual(dueTimes.length);
      });
    });

    describe('claim', () => {
      it('lets exactly one of two concurrent claims win', async () => {
        await schedule.schedule(scheduleInput('rec-1'));

        const [a, b] = await Promise.all([
          schedule.claim('rec-1', 'runner-a', LEASE, T0 + DAY),
          schedule.claim('rec-1', 'runner-b', LEASE, T0 + DAY),
        ]);

        const winners = [a, b].filter((claimed) => claimed !== undefined);
        expect(winners).toHaveLength(1);
        const stored = await schedule.get('rec-1');
        expect(stored).toEqual(winners[0]);
        expect(stored?.version).toBe(2);
      });

      it('lets exactly one of many concurrent claims win', async () => {
        await schedule.schedule(scheduleInput('rec-1'));

        const claims = await Promise.all(
          Array.from({ length: 6 }, (_, i) => schedule.claim('rec-1', `runner-${i}`, LEASE, T0 + DAY)),
        );

        const winners = claims.filter((claimed) => claimed !== undefined);
        expect(winners).toHaveLength(1);
        expect((await schedule.get('rec-1'))?.leaseOwner).toBe(winners[0]!.leaseOwner);
      });

      it('refuses a running entry whose lease has not expired', async () => {
        await running('rec-1', 'runner-a');

        expect(await schedule.claim('rec-1', 'runner-b', LEASE, T0 + DAY + LEASE - 1)).toBeUndefined();
        expect((await schedule.get('rec-1'))?.leaseOwner).toBe('runner-a');
      });

      it('gives an expired lease to another owner; the old owner’s finish, postpone and markTrashRequested then answer false', async () => {
        await running('rec-1', 'runner-a');
        const expiry = T0 + DAY + LEASE;

        const taken = await schedule.claim('rec-1', 'runner-b', LEASE, expiry);

        expect(taken).toMatchObject({ state: 'running', leaseOwner: 'runner-b', leaseExpiresAt: expiry + LEASE });
        expect(await schedule.markTrashRequested('rec-1', 'runner-a', expiry + 1)).toBe(false);
        expect(await schedule.finish('rec-1', 'runner-a', { state: 'trashed', outcome: 'trashed' }, expiry + 2)).toBe(false);
        expect(await schedule.postpone('rec-1', 'runner-a', expiry + HOUR, 'Zoom unavailable', expiry + 3)).toBe(false);
        expect(await schedule.get('rec-1')).toEqual(taken);

        expect(await schedule.markTrashRequested('rec-1', 'runner-b', expiry + 4)).toBe(true);
        expect(await schedule.finish('rec-1', 'runner-b', { state: 'trashed', outcome: 'trashed' }, expiry + 5)).toBe(true);
      });

      it('keeps trashRequestedAt when an expired lease is taken over', async () => {
        await running('rec-1', 'runner-a');
        expect(await schedule.markTrashRequested('rec-1', 'runner-a', T0 + DAY + 10)).toBe(true);

        const taken = await schedule.claim('rec-1', 'runner-b', LEASE, T0 + DAY + LEASE);

        expect(taken).toMatchObject({ leaseOwner: 'runner-b', trashRequestedAt: T0 + DAY + 10 });
      });

      it('answers false to owner operations on an entry that is not running', async () => {
        await schedule.schedule(scheduleInput('rec-1'));

        expect(await schedule.markTrashRequested('rec-1', 'runner-a', T0 + DAY)).toBe(false);
        expect(await schedule.finish('rec-1', 'runner-a', { state: 'held', note: 'x' }, T0 + DAY)).toBe(false);
        expect(await schedule.postpone('rec-1', 'runner-a', T0 + 2 * DAY, 'x', T0 + DAY)).toBe(false);
        expect((await schedule.get('rec-1'))?.version).toBe(1);
      });

      it('lets would_trash be claimed only with includeWouldTrash, once due', async () => {
        await running('rec-1', 'runner-a');
        expect(await schedule.finish('rec-1', 'runner-a', { state: 'would_trash', note: 'dry run' }, T0 + DAY + 1)).toBe(true);
        expect(await schedule.get('rec-1')).toMatchObject({ state: 'would_trash', note: 'dry run', decidedAt: T0 + DAY + 1 });

        expect(await schedule.claim('rec-1', 'runner-b', LEASE, T0 + 2 * DAY)).toBeUndefined();
        expect(await schedule.claim('rec-1', 'runner-b', LEASE, T0 + 2 * DAY, { includeWouldTrash: false })).toBeUndefined();
        expect(await schedule.listDue(T0 + 2 * DAY)).toEqual([]);
        expect((await schedule.listDue(T0 + 2 * DAY, { includeWouldTrash: true })).map((e) => e.recordingId)).toEqual(['rec-1']);

        const claimed = await schedule.claim('rec-1', 'runner-b', LEASE, T0 + 2 * DAY, { includeWouldTrash: true });
        expect(claimed).toMatchObject({ state: 'running', leaseOwner: 'runner-b' });
        expect(claimed?.decidedAt).toBeUndefined();
      });

      it('does not claim a would_trash entry before its due time, even with includeWouldTrash', async () => {
        await running('rec-1', 'runner-a');
        await schedule.finish('rec-1', 'runner-a', { state: 'would_trash' }, T0 + DAY + 1);

        expect(await schedule.claim('rec-1', 'runner-b', LEASE, T0 + DAY - 1, { includeWouldTrash: true })).toBeUndefined();
      });
    });

    describe('finish', () => {
      it('makes trashed final: schedule changes nothing, claim answers undefined', async () => {
        await running('rec-1', 'runner-a');
        expect(await schedule.markTrashRequested('rec-1', 'runner-a', T0 + DAY + 1)).toBe(true);
        expect(await schedule.finish('rec-1', 'runner-a', { state: 'trashed', outcome: 'trashed' }, T0 + DAY + 2)).toBe(true);
        const trashed = await schedule.get('rec-1');
        expect(trashed).toEqual({
          recordingId: 'rec-1',
          course: COURSE,
          state: 'trashed',
          dueAt: T0 + DAY,
          attempts: 0,
          trashRequestedAt: T0 + DAY + 1,
          outcome: 'trashed',
          decidedAt: T0 + DAY + 2,
          version: 4,
          createdAt: T0,
          updatedAt: T0 + DAY + 2,
        });

        expect(await schedule.schedule(scheduleInput('rec-1', { dueAt: T0 + 5 * DAY, course: 'OTHER1', now: T0 + 3 * DAY }))).toEqual(trashed);
        expect(await schedule.claim('rec-1', 'runner-b', LEASE, T0 + 10 * DAY, { includeWouldTrash: true })).toBeUndefined();
        expect(await schedule.finish('rec-1', 'runner-a', { state: 'held', note: 'x' }, T0 + 10 * DAY)).toBe(false);
        expect(await schedule.get('rec-1')).toEqual(trashed);
      });

      it('records already_in_trash with its note', async () => {
        await running('rec-1', 'runner-a');

        expect(
          await schedule.finish('rec-1', 'runner-a', { state: 'trashed', outcome: 'already_in_trash', note: '404 after our DELETE' }, T0 + DAY + 1),
        ).toBe(true);

        expect(await schedule.get('rec-1')).toMatchObject({ state: 'trashed', outcome: 'already_in_trash', note: '404 after our DELETE' });
      });

      it('holds with a note; a later schedule makes it scheduled again (note, decidedAt cleared; attempts kept)', async () => {
        await running('rec-1', 'runner-a');
        await schedule.postpone('rec-1', 'runner-a', T0 + DAY + HOUR, 'Zoom unavailable (503)', T0 + DAY + 1);
        await schedule.claim('rec-1', 'runner-a', LEASE, T0 + DAY + HOUR);
        expect(await schedule.finish('rec-1', 'runner-a', { state: 'held', note: 'file 2 failed' }, T0 + DAY + HOUR + 1)).toBe(true);
        const held = await schedule.get('rec-1');
        expect(held).toMatchObject({ state: 'held', note: 'file 2 failed', decidedAt: T0 + DAY + HOUR + 1, attempts: 1 });
        expect(held?.leaseOwner).toBeUndefined();
        expect(held?.leaseExpiresAt).toBeUndefined();

        const again = await schedule.schedule(scheduleInput('rec-1', { dueAt: T0 + 3 * DAY, now: T0 + 2 * DAY }));

        expect(again).toEqual({
          recordingId: 'rec-1',
          course: COURSE,
          state: 'scheduled',
          dueAt: T0 + 3 * DAY,
          attempts: 1,
          version: held!.version + 1,
          createdAt: T0,
          updatedAt: T0 + 2 * DAY,
        });
        expect(await schedule.claim('rec-1', 'runner-b', LEASE, T0 + 3 * DAY)).toBeDefined();
      });

      it('leaves held alone on a duplicate schedule that is not later', async () => {
        await running('rec-1', 'runner-a');
        await schedule.finish('rec-1', 'runner-a', { state: 'held', note: 'pending' }, T0 + DAY + 1);
        const held = await schedule.get('rec-1');

        expect(await schedule.schedule(scheduleInput('rec-1', { dueAt: T0 + DAY }))).toEqual(held);
      });

      it('reschedules would_trash and gone on a later schedule', async () => {
        await running('rec-w', 'runner-a');
        await schedule.finish('rec-w', 'runner-a', { state: 'would_trash', note: 'dry run' }, T0 + DAY + 1);
        await running('rec-g', 'runner-a');
        await schedule.finish('rec-g', 'runner-a', { state: 'gone', note: 'deleted in Zoom' }, T0 + DAY + 1);

        for (const id of ['rec-w', 'rec-g']) {
          const again = await schedule.schedule(scheduleInput(id, { dueAt: T0 + 4 * DAY, now: T0 + 2 * DAY }));
          expect(again).toMatchObject({ state: 'scheduled', dueAt: T0 + 4 * DAY });
          expect(again.note).toBeUndefined();
          expect(again.decidedAt).toBeUndefined();
        }
      });

      it('turns a held finish into scheduled at rescheduleAt when a schedule came while running', async () => {
        await running('rec-1', 'runner-a');

        const during = await schedule.schedule(scheduleInput('rec-1', { dueAt: T0 + 3 * DAY, now: T0 + DAY + 1 }));
        expect(during).toMatchObject({ state: 'running', leaseOwner: 'runner-a', dueAt: T0 + DAY, rescheduleAt: T0 + 3 * DAY });
        // An earlier one while running does not lower it.
        expect(await schedule.schedule(scheduleInput('rec-1', { dueAt: T0 + 2 * DAY, now: T0 + DAY + 2 }))).toEqual(during);

        expect(await schedule.finish('rec-1', 'runner-a', { state: 'held', note: 'file 2 pending' }, T0 + DAY + 3)).toBe(true);

        const after = await schedule.get('rec-1');
        expect(after).toMatchObject({ state: 'scheduled', dueAt: T0 + 3 * DAY, note: 'file 2 pending' });
        expect(after?.rescheduleAt).toBeUndefined();
        expect(after?.decidedAt).toBeUndefined();
        expect(after?.leaseOwner).toBeUndefined();
        expect(await schedule.claim('rec-1', 'runner-b', LEASE, T0 + 3 * DAY - 1)).toBeUndefined();
        expect(await schedule.claim('rec-1', 'runner-b', LEASE, T0 + 3 * DAY)).toBeDefined();
      });

      it('turns a would_trash finish into scheduled at rescheduleAt too, but a trashed finish stays trashed', async () => {
        await running('rec-w', 'runner-a');
        await schedule.schedule(scheduleInput('rec-w', { dueAt: T0 + 3 * DAY, now: T0 + DAY + 1 }));
        await schedule.finish('rec-w', 'runner-a', { state: 'would_trash' }, T0 + DAY + 2);
        expect(await schedule.get('rec-w')).toMatchObject({ state: 'scheduled', dueAt: T0 + 3 * DAY });

        await running('rec-t', 'runner-a');
        await schedule.schedule(scheduleInput('rec-t', { dueAt: T0 + 3 * DAY, now: T0 + DAY + 1 }));
        await schedule.finish('rec-t', 'runner-a', { state: 'trashed', outcome: 'trashed' }, T0 + DAY + 2);
        const trashed = await schedule.get('rec-t');
        expect(trashed).toMatchObject({ state: 'trashed', dueAt: T0 + DAY });
        expect(trashed?.rescheduleAt).toBeUndefined();
      });

      it('finishes even when a schedule changed the entry between the claim and the finish', async () => {
        await running('rec-1', 'runner-a');

        const [, finished] = await Promise.all([
          schedule.schedule(scheduleInput('rec-1', { dueAt: T0 + 3 * DAY, now: T0 + DAY + 1 })),
          schedule.finish('rec-1', 'runner-a', { state: 'held', note: 'pending' }, T0 + DAY + 1),
        ]);

        expect(finished).toBe(true);
        // Either order is an outcome the port allows: rescheduled by the finish, or by the schedule after it.
        expect(await schedule.get('rec-1')).toMatchObject({ state: 'scheduled', dueAt: T0 + 3 * DAY });
      });

      it('records gone as final for claims', async () => {
        await running('rec-1', 'runner-a');

        expect(await schedule.finish('rec-1', 'runner-a', { state: 'gone', note: 'deleted in Zoom by someone' }, T0 + DAY + 1)).toBe(true);

        expect(await schedule.get('rec-1')).toMatchObject({ state: 'gone', note: 'deleted in Zoom by someone', decidedAt: T0 + DAY + 1 });
        expect(await schedule.claim('rec-1', 'runner-a', LEASE, T0 + 9 * DAY, { includeWouldTrash: true })).toBeUndefined();
      });
    });

    describe('postpone and markTrashRequested', () => {
      it('postpones: scheduled at the new time, attempts + 1, note, lease cleared, trashRequestedAt kept', async () => {
        await running('rec-1', 'runner-a');
        expect(await schedule.markTrashRequested('rec-1', 'runner-a', T0 + DAY + 1)).toBe(true);
        expect(await schedule.get('rec-1')).toMatchObject({ state: 'running', trashRequestedAt: T0 + DAY + 1 });

        expect(await schedule.postpone('rec-1', 'runner-a', T0 + DAY + HOUR, 'Zoom unavailable (503)', T0 + DAY + 2)).toBe(true);

        const postponed = await schedule.get('rec-1');
        expect(postponed).toEqual({
          recordingId: 'rec-1',
          course: COURSE,
          state: 'scheduled',
          dueAt: T0 + DAY + HOUR,
          attempts: 1,
          trashRequestedAt: T0 + DAY + 1,
          note: 'Zoom unavailable (503)',
          version: 4,
          createdAt: T0,
          updatedAt: T0 + DAY + 2,
        });
        expect(await schedule.claim('rec-1', 'runner-b', LEASE, T0 + DAY + HOUR - 1)).toBeUndefined();

        await schedule.claim('rec-1', 'runner-b', LEASE, T0 + DAY + HOUR);
        expect(await schedule.postpone('rec-1', 'runner-b', T0 + DAY + 3 * HOUR, 'Zoom unavailable (429)', T0 + DAY + HOUR + 1)).toBe(true);
        expect(await schedule.get('rec-1')).toMatchObject({ attempts: 2, trashRequestedAt: T0 + DAY + 1, note: 'Zoom unavailable (429)' });
      });

      it('postpones to rescheduleAt when that is later than the back-off', async () => {
        await running('rec-1', 'runner-a');
        await schedule.schedule(scheduleInput('rec-1', { dueAt: T0 + 3 * DAY, now: T0 + DAY + 1 }));

        await schedule.postpone('rec-1', 'runner-a', T0 + DAY + HOUR, 'Zoom unavailable', T0 + DAY + 2);

        const postponed = await schedule.get('rec-1');
        expect(postponed).toMatchObject({ state: 'scheduled', dueAt: T0 + 3 * DAY, attempts: 1 });
        expect(postponed?.rescheduleAt).toBeUndefined();
      });

      it('increments the version on every write', async () => {
        const versions: number[] = [];
        versions.push((await schedule.schedule(scheduleInput('rec-1'))).version);
        versions.push((await schedule.claim('rec-1', 'runner-a', LEASE, T0 + DAY))!.version);
        await schedule.markTrashRequested('rec-1', 'runner-a', T0 + DAY + 1);
        versions.push((await schedule.get('rec-1'))!.version);
        await schedule.postpone('rec-1', 'runner-a', T0 + DAY + HOUR, 'Zoom unavailable', T0 + DAY + 2);
        versions.push((await schedule.get('rec-1'))!.version);

        expect(versions).toEqual([1, 2, 3, 4]);
      });
    });

    describe('listDue', () => {
      it('lists claimable entries earliest first: scheduled, expired running leases, would_trash when asked', async () => {
        await schedule.schedule(scheduleInput('s-late', { dueAt: T0 + 3 * HOUR }));
        await schedule.schedule(scheduleInput('s-early', { dueAt: T0 + HOUR }));
        await schedule.schedule(scheduleInput('s-future', { dueAt: T0 + 10 * HOUR }));
        // Running, lease expires at T0 + 2h (claimed at T0 + 2h - LEASE).
        await schedule.schedule(scheduleInput('r-expired', { dueAt: T0 }));
        await schedule.claim('r-expired', 'dead-runner', LEASE, T0 + 2 * HOUR - LEASE);
        // Running with a live lease at T0 + 4h.
        await schedule.schedule(scheduleInput('r-live', { dueAt: T0 }));
        await schedule.claim('r-live', 'live-runner', 2 * DAY, T0);
        // would_trash due at T0 + 2.5h.
        await schedule.schedule(scheduleInput('w', { dueAt: T0 + 2.5 * HOUR }));
        await schedule.claim('w', 'runner-a', LEASE, T0 + 2.5 * HOUR);
        await schedule.finish('w', 'runner-a', { state: 'would_trash' }, T0 + 2.5 * HOUR);
        // held and trashed never appear.
        await running('held', 'runner-a', T0);
        await schedule.finish('held', 'runner-a', { state: 'held', note: 'pending' }, T0 + 1);
        await running('trashed', 'runner-a', T0);
        await schedule.finish('trashed', 'runner-a', { state: 'trashed', outcome: 'trashed' }, T0 + 1);

        const now = T0 + 4 * HOUR;
        expect((await schedule.listDue(now)).map((e) => e.recordingId)).toEqual(['s-early', 'r-expired', 's-late']);
        expect((await schedule.listDue(now, { includeWouldTrash: true })).map((e) => e.recordingId)).toEqual([
          's-early',
          'r-expired',
          'w',
          's-late',
        ]);
        const [first] = await schedule.listDue(now);
        expect(first).toEqual(await schedule.get('s-early'));
      });

      it('includes a running entry exactly when its lease expires', async () => {
        await running('rec-1', 'runner-a', T0);

        expect(await schedule.listDue(T0 + LEASE - 1)).toEqual([]);
        expect((await schedule.listDue(T0 + LEASE)).map((e) => e.state)).toEqual(['running']);
      });

      it('stops at the limit (100 when not given), keeping the earliest', async () => {
        for (let i = 0; i < 7; i++) await schedule.schedule(scheduleInput(`rec-${i}`, { dueAt: T0 + (7 - i) * HOUR }));

        expect((await schedule.listDue(T0 + DAY, { limit: 3 })).map((e) => e.recordingId)).toEqual(['rec-6', 'rec-5', 'rec-4']);
        expect(await schedule.listDue(T0 + DAY, { limit: 0 })).toEqual([]);
        expect(await schedule.listDue(T0 + DAY)).toHaveLength(7);
      });

      it('applies the default limit of 100', async () => {
        await Promise.all(Array.from({ length: 105 }, (_, i) => schedule.schedule(scheduleInput(`bulk-${String(i).padStart(3, '0')}`, { dueAt: T0 + i }))));

        const due = await schedule.listDue(T0 + DAY);

        expect(due).toHaveLength(100);
        expect(due[0]?.recordingId).toBe('bulk-000');
        expect(due[99]?.recordingId).toBe('bulk-099');
      });

      it('orders equal due times by recording id, across states, and a limit cuts inside the ties', async () => {
        for (const id of ['c', 'a', 'b']) await schedule.schedule(scheduleInput(id, { dueAt: T0 + HOUR }));
        await running('r', 'runner-a', T0 + HOUR - LEASE);

        expect((await schedule.listDue(T0 + DAY)).map((e) => e.recordingId)).toEqual(['a', 'b', 'c', 'r']);
        expect((await schedule.listDue(T0 + DAY, { limit: 2 })).map((e) => e.recordingId)).toEqual(['a', 'b']);
      });
    });

    describe('list', () => {
      it('lists every entry by state then due time, or only the states asked for', async () => {
        await schedule.schedule(scheduleInput('s2', { dueAt: T0 + 2 * HOUR }));
        await schedule.schedule(scheduleInput('s1', { dueAt: T0 + HOUR }));
        await running('run', 'runner-a', T0);
        await running('h2', 'runner-a', T0 + 2);
        await schedule.finish('h2', 'runner-a', { state: 'held', note: 'pending' }, T0 + 3 * HOUR);
        await running('h1', 'runner-a', T0 + 1);
        await schedule.finish('h1', 'runner-a', { state: 'held', note: 'failed' }, T0 + 4 * HOUR);
        await running('t', 'runner-a', T0);
        await schedule.finish('t', 'runner-a', { state: 'trashed', outcome: 'trashed' }, T0 + 1);
        await running('g', 'runner-a', T0);
        await schedule.finish('g', 'runner-a', { state: 'gone', note: 'deleted' }, T0 + 1);
        await running('w', 'runner-a', T0);
        await schedule.finish('w', 'runner-a', { state: 'would_trash' }, T0 + 1);

        const all = await schedule.list();
        expect(all.map((e) => [e.state, e.recordingId])).toEqual([
          ['scheduled', 's1'],
          ['scheduled', 's2'],
          ['running', 'run'],
          ['held', 'h1'],
          ['held', 'h2'],
          ['would_trash', 'w'],
          ['trashed', 't'],
          ['gone', 'g'],
        ]);
        expect(all.find((e) => e.recordingId === 'h1')).toEqual(await schedule.get('h1'));

        expect((await schedule.list({ states: ['held', 'scheduled'] })).map((e) => e.recordingId)).toEqual(['s1', 's2', 'h1', 'h2']);
        expect((await schedule.list({ states: ['trashed'] })).map((e) => e.recordingId)).toEqual(['t']);
        expect(await schedule.list({ states: [] })).toEqual([]);
        expect((await schedule.list({ limit: 3 })).map((e) => e.recordingId)).toEqual(['s1', 's2', 'run']);
        expect((await schedule.list({ states: ['held', 'gone'], limit: 1 })).map((e) => e.recordingId)).toEqual(['h1']);
        expect(await schedule.list({ limit: 0 })).toEqual([]);
      });

      it('lists nothing when empty', async () => {
        expect(await schedule.list()).toEqual([]);
        expect(await schedule.listDue(T0 + 100 * DAY, { includeWouldTrash: true })).toEqual([]);
      });
    });

    describe('ids and inputs', () => {
      it('round-trips recording ids with odd characters, each on its own', async () => {
        for (const [i, id] of ODD_IDS.entries()) await schedule.schedule(scheduleInput(id, { dueAt: T0 + i }));

        for (const [i, id] of ODD_IDS.entries()) expect(await schedule.get(id)).toMatchObject({ recordingId: id, dueAt: T0 + i });
        expect(await schedule.get('a/b')).toBeUndefined();
        expect((await schedule.list()).map((e) => e.recordingId)).toEqual(ODD_IDS);
        expect(await schedule.claim('//xYz12+34/5=', 'runner-a', LEASE, T0 + DAY)).toBeDefined();
        expect((await schedule.get('a//b'))?.state).toBe('scheduled');
      });

      it('stores notes verbatim, on one line', async () => {
        await running('rec-1', 'runner-a');
        const note = 'reason with "quotes" & ; DROP TABLE — ünï';

        await schedule.finish('rec-1', 'runner-a', { state: 'held', note }, T0 + DAY + 1);

        expect((await schedule.get('rec-1'))?.note).toBe(note);
      });

      it('refuses bad input with a CleanupInputError and writes nothing', async () => {
        const bad: Array<() => Promise<unknown>> = [
          () => schedule.schedule(scheduleInput('')),
          () => schedule.schedule(scheduleInput('rec-1', { course: '' })),
          () => schedule.schedule(scheduleInput('rec-1', { dueAt: Number.NaN })),
          () => schedule.schedule(scheduleInput('rec-1', { dueAt: T0 + 0.5 })),
          () => schedule.schedule(scheduleInput('rec-1', { now: Number.POSITIVE_INFINITY })),
          () => schedule.claim('rec-1', 'runner-a', 0, T0),
          () => schedule.claim('rec-1', 'runner-a', -5, T0),
          () => schedule.claim('rec-1', '', LEASE, T0),
          () => schedule.claim('', 'runner-a', LEASE, T0),
          () => schedule.finish('rec-1', 'runner-a', { state: 'nope' } as never, T0),
          () => schedule.finish('rec-1', 'runner-a', { state: 'held', note: '' }, T0),
          () => schedule.finish('rec-1', 'runner-a', { state: 'trashed', outcome: 'maybe' } as never, T0),
          () => schedule.postpone('rec-1', 'runner-a', Number.NaN, 'x', T0),
          () => schedule.markTrashRequested('rec-1', 'runner-a', Number.NaN),
          () => schedule.listDue(Number.NaN),
          () => schedule.listDue(T0, { limit: -1 }),
          () => schedule.list({ states: ['unknown' as CleanupState] }),
        ];
        for (const call of bad) await expect(call()).rejects.toBeInstanceOf(CleanupInputError);

        expect(await schedule.get('rec-1')).toBeUndefined();
        expect(await schedule.list()).toEqual([]);
      });
    });
  });
}
