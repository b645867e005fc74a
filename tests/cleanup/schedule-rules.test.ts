/**
 * The clean-up schedule's transitions as pure functions (shared/adapters/cleanup-rules.ts),
 * used by both adapters: examples of each rule, then fast-check properties over random
 * sequences of operations — the invariants every stored entry keeps, that a due time is
 * never moved forward, that trashed is final, and that claim and isClaimable agree.
 */
import fc from 'fast-check';
import type { CleanupEntry, FinishOutcome, ScheduleInput } from '../../shared/ports/cleanup-schedule';
import {
  CLEANUP_STATES,
  CleanupInputError,
  DECIDED_STATES,
  MAX_NOTE_LENGTH,
  applyClaim,
  applyFinish,
  applyMarkTrashRequested,
  applyPostpone,
  applySchedule,
  checkedStates,
  compareDue,
  compareIds,
  compareListed,
  isClaimable,
  oneLineNote,
} from '../../shared/adapters/cleanup-rules';

const T0 = Date.UTC(2026, 2, 2, 9, 0, 0);
const HOUR = 3_600_000;
const LEASE = 300_000;

const input = (overrides: Partial<ScheduleInput> = {}): ScheduleInput => ({ recordingId: 'rec-1', course: 'MAQ101', dueAt: T0 + HOUR, now: T0, ...overrides });
const scheduled = (): CleanupEntry => applySchedule(undefined, input())!;
const running = (owner = 'a', at = T0 + HOUR): CleanupEntry => applyClaim(scheduled(), owner, LEASE, at)!;
const finished = (outcome: FinishOutcome, at = T0 + HOUR + 1): CleanupEntry => applyFinish(running(), 'a', outcome, at)!;

describe('cleanup rules', () => {
  describe('applySchedule', () => {
    it('creates scheduled, attempts 0, version 1, created and updated now', () => {
      expect(applySchedule(undefined, input({ now: T0 + 3 }))).toEqual({
        recordingId: 'rec-1',
        course: 'MAQ101',
        state: 'scheduled',
        dueAt: T0 + HOUR,
        attempts: 0,
        version: 1,
        createdAt: T0 + 3,
        updatedAt: T0 + 3,
      });
    });

    it('moves a scheduled due time back only, with the later input’s course', () => {
      const entry = scheduled();
      expect(applySchedule(entry, input({ dueAt: T0 }))).toBeUndefined();
      expect(applySchedule(entry, input({ dueAt: T0 + HOUR }))).toBeUndefined();
      expect(applySchedule(entry, input({ dueAt: T0 + 2 * HOUR, now: T0 + 9, course: 'NEW1' }))).toEqual({
        ...entry,
        course: 'NEW1',
        dueAt: T0 + 2 * HOUR,
        version: 2,
        updatedAt: T0 + 9,
      });
      // The same due time with another course: only the course changes; an older one keeps the stored course.
      expect(applySchedule(entry, input({ course: 'NEW1', now: T0 + 9 }))).toEqual({ ...entry, course: 'NEW1', version: 2, updatedAt: T0 + 9 });
      expect(applySchedule(entry, input({ course: 'OLD1', dueAt: T0 }))).toBeUndefined();
    });

    it.each(['held', 'would_trash', 'gone'] as const)('reschedules %s at a later due time, clearing the decision, keeping attempts', (state) => {
      const postponed = applyPostpone(running(), 'a', T0 + 2 * HOUR, 'Zoom unavailable', T0 + HOUR + 1)!;
      const reclaimed = applyClaim(postponed, 'a', LEASE, T0 + 2 * HOUR)!;
      const marked = applyMarkTrashRequested(reclaimed, 'a', T0 + 2 * HOUR + 1)!;
      const outcome: FinishOutcome = state === 'would_trash' ? { state, note: 'dry run' } : { state, note: 'why' };
      const decided = applyFinish(marked, 'a', outcome, T0 + 2 * HOUR + 2)!;
      expect(decided).toMatchObject({ state, decidedAt: T0 + 2 * HOUR + 2, attempts: 1 });

      expect(applySchedule(decided, input({ dueAt: T0 + 2 * HOUR }))).toBeUndefined();
      expect(applySchedule(decided, input({ dueAt: T0 + 5 * HOUR, now: T0 + 4 * HOUR }))).toEqual({
        recordingId: 'rec-1',
        course: 'MAQ101',
        state: 'scheduled',
        dueAt: T0 + 5 * HOUR,
        attempts: 1,
        trashRequestedAt: T0 + 2 * HOUR + 1,
        version: decided.version + 1,
        createdAt: T0,
        updatedAt: T0 + 4 * HOUR,
      });
    });

    it('sets rescheduleAt on a running entry (later than dueAt and than an earlier rescheduleAt), which stays running', () => {
      const entry = running();
      expect(applySchedule(entry, input({ dueAt: T0 + HOUR }))).toBeUndefined();
      const once = applySchedule(entry, input({ dueAt: T0 + 3 * HOUR, now: T0 + HOUR + 1 }))!;
      expect(once).toEqual({ ...entry, rescheduleAt: T0 + 3 * HOUR, version: entry.version + 1, updatedAt: T0 + HOUR + 1 });
      expect(applySchedule(once, input({ dueAt: T0 + 2 * HOUR }))).toBeUndefined();
      expect(applySchedule(once, input({ dueAt: T0 + 4 * HOUR }))).toMatchObject({ state: 'running', leaseOwner: 'a', rescheduleAt: T0 + 4 * HOUR });
    });

    it('never changes a trashed entry', () => {
      const trashed = finished({ state: 'trashed', outcome: 'trashed' });
      expect(applySchedule(trashed, input({ dueAt: T0 + 100 * HOUR, course: 'OTHER' }))).toBeUndefined();
    });
  });

  describe('applyClaim and isClaimable', () => {
    it('claims scheduled at dueAt, not before', () => {
      const entry = scheduled();
      expect(isClaimable(entry, T0 + HOUR - 1)).toBe(false);
      expect(applyClaim(entry, 'a', LEASE, T0 + HOUR - 1)).toBeUndefined();
      expect(applyClaim(entry, 'a', LEASE, T0 + HOUR)).toEqual({
        ...entry,
        state: 'running',
        leaseOwner: 'a',
        leaseExpiresAt: T0 + HOUR + LEASE,
        version: 2,
        updatedAt: T0 + HOUR,
      });
    });

    it('claims a running entry once its lease expired, keeping rescheduleAt and trashRequestedAt', () => {
      const marked = applyMarkTrashRequested(applySchedule(running(), input({ dueAt: T0 + 9 * HOUR }))!, 'a', T0 + HOUR + 2)!;
      expect(applyClaim(marked, 'b', LEASE, T0 + HOUR + LEASE - 1)).toBeUndefined();
      expect(applyClaim(marked, 'b', LEASE, T0 + HOUR + LEASE)).toMatchObject({
        leaseOwner: 'b',
        leaseExpiresAt: T0 + HOUR + 2 * LEASE,
        rescheduleAt: T0 + 9 * HOUR,
        trashRequestedAt: T0 + HOUR + 2,
      });
    });

    it('claims would_trash only with includeWouldTrash, and nothing in held, trashed or gone', () => {
      const later = T0 + 10 * HOUR;
      const wouldTrash = finished({ state: 'would_trash' });
      expect(applyClaim(wouldTrash, 'b', LEASE, later)).toBeUndefined();
      expect(applyClaim(wouldTrash, 'b', LEASE, later, true)).toMatchObject({ state: 'running', leaseOwner: 'b' });
      for (const outcome of [{ state: 'held', note: 'x' }, { state: 'gone', note: 'x' }, { state: 'trashed', outcome: 'trashed' }] as const) {
        expect(applyClaim(finished(outcome), 'b', LEASE, later, true)).toBeUndefined();
      }
      expect(applyClaim(undefined, 'b', LEASE, later, true)).toBeUndefined();
    });
  });

  describe('owner operations', () => {
    it('answer undefined for another owner or an entry that is not running', () => {
      const entry = running('a');
      for (const e of [entry, scheduled()]) {
        const owner = e.state === 'running' ? 'b' : 'a';
        expect(applyMarkTrashRequested(e, owner, T0)).toBeUndefined();
        expect(applyFinish(e, owner, { state: 'held', note: 'x' }, T0)).toBeUndefined();
        expect(applyPostpone(e, owner, T0, 'x', T0)).toBeUndefined();
      }
    });

    it('finish trashed: outcome, decidedAt, lease and rescheduleAt cleared', () => {
      const entry = applySchedule(running(), input({ dueAt: T0 + 9 * HOUR }))!;
      expect(applyFinish(entry, 'a', { state: 'trashed', outcome: 'already_in_trash', note: '404' }, T0 + HOUR + 5)).toEqual({
        recordingId: 'rec-1',
        course: 'MAQ101',
        state: 'trashed',
        dueAt: T0 + HOUR,
        attempts: 0,
        outcome: 'already_in_trash',
        note: '404',
        decidedAt: T0 + HOUR + 5,
        version: entry.version + 1,
        createdAt: T0,
        updatedAt: T0 + HOUR + 5,
      });
    });

    it('finish held with rescheduleAt: scheduled at it, note kept, not decided', () => {
      const entry = applySchedule(running(), input({ dueAt: T0 + 9 * HOUR }))!;
      const after = applyFinish(entry, 'a', { state: 'held', note: 'file pending' }, T0 + HOUR + 5)!;
      expect(after).toMatchObject({ state: 'scheduled', dueAt: T0 + 9 * HOUR, note: 'file pending' });
      for (const field of ['rescheduleAt', 'decidedAt', 'leaseOwner', 'leaseExpiresAt'] as const) expect(after).not.toHaveProperty(field);
    });

    it('finish gone ignores rescheduleAt: Zoom has no such recording', () => {
      const entry = applySchedule(running(), input({ dueAt: T0 + 9 * HOUR }))!;
      const gone = applyFinish(entry, 'a', { state: 'gone', note: 'deleted' }, T0 + HOUR + 5)!;
      expect(gone).toMatchObject({ state: 'gone', decidedAt: T0 + HOUR + 5, note: 'deleted' });
      expect(gone).not.toHaveProperty('rescheduleAt');
    });

    it('postpone: attempts + 1, note, trashRequestedAt kept, at rescheduleAt when that is later', () => {
      const marked = applyMarkTrashRequested(running(), 'a', T0 + HOUR + 1)!;
      expect(marked).toMatchObject({ trashRequestedAt: T0 + HOUR + 1, version: 3, updatedAt: T0 + HOUR + 1 });
      const postponed = applyPostpone(marked, 'a', T0 + 2 * HOUR, 'Zoom unavailable (503)', T0 + HOUR + 2)!;
      expect(postponed).toEqual({
        recordingId: 'rec-1',
        course: 'MAQ101',
        state: 'scheduled',
        dueAt: T0 + 2 * HOUR,
        attempts: 1,
        trashRequestedAt: T0 + HOUR + 1,
        note: 'Zoom unavailable (503)',
        version: 4,
        createdAt: T0,
        updatedAt: T0 + HOUR + 2,
      });
      const withReschedule = applySchedule(running(), input({ dueAt: T0 + 9 * HOUR }))!;
      expect(applyPostpone(withReschedule, 'a', T0 + 2 * HOUR, 'x', T0 + HOUR + 2)).toMatchObject({ dueAt: T0 + 9 * HOUR, attempts: 1 });
      expect(applyPostpone(withReschedule, 'a', T0 + 20 * HOUR, 'x', T0 + HOUR + 2)).toMatchObject({ dueAt: T0 + 20 * HOUR });
    });
  });

  describe('inputs', () => {
    it.each([
      ['an empty recording id', () => applySchedule(undefined, input({ recordingId: '' }))],
      ['an empty course', () => applySchedule(undefined, input({ course: '' }))],
      ['a fractional due time', () => applySchedule(undefined, input({ dueAt: T0 + 0.5 }))],
      ['an infinite now', () => applySchedule(undefined, input({ now: Number.POSITIVE_INFINITY }))],
      ['a lease of 0', () => applyClaim(scheduled(), 'a', 0, T0)],
      ['a fractional lease', () => applyClaim(scheduled(), 'a', 1.5, T0)],
      ['an empty owner', () => applyClaim(scheduled(), '', LEASE, T0)],
      ['a held outcome without a note', () => applyFinish(running(), 'a', { state: 'held', note: '  ' }, T0)],
      ['an unknown outcome', () => applyFinish(running(), 'a', { state: 'maybe' } as never, T0)],
      ['a NaN postpone time', () => applyPostpone(running(), 'a', Number.NaN, 'x', T0)],
      ['a note that is not text', () => applyPostpone(running(), 'a', T0, 42 as never, T0)],
      ['an unknown state to list', () => checkedStates(['nope' as never])],
    ])('refuses %s with a CleanupInputError', (_name, call) => {
      expect(call).toThrow(CleanupInputError);
    });

    it('keeps notes on one line and short', () => {
      expect(oneLineNote('file 2\nfailed\r\n\tretry')).toBe('file 2 failed retry');
      const long = oneLineNote('x'.repeat(2 * MAX_NOTE_LENGTH));
      expect(long).toHaveLength(MAX_NOTE_LENGTH);
      expect(long.endsWith('…')).toBe(true);
      expect(applyFinish(running(), 'a', { state: 'held', note: 'a\nb' }, T0 + HOUR)?.note).toBe('a b');
    });

    it('lists states in life-cycle order without repeats', () => {
      expect(checkedStates(undefined)).toEqual([...CLEANUP_STATES]);
      expect(checkedStates(['gone', 'scheduled', 'gone'])).toEqual(['scheduled', 'gone']);
    });

    it('orders ids by code point (SQLite’s BINARY order of UTF-8), not by UTF-16 unit', () => {
      // U+FF5E (one UTF-16 unit, 0xFF5E) sorts after U+1F3A5 (surrogates 0xD83C…) in UTF-16, before it by code point.
      expect(compareIds('\uff5e', '🎥')).toBeLessThan(0);
      expect(['b', 'a', '🎥', '\uff5e'].sort(compareIds)).toEqual(['a', 'b', '\uff5e', '🎥']);
    });
  });

  describe('properties', () => {
    type Op =
      | { kind: 'schedule'; dueAt: number; course: string }
      | { kind: 'claim'; owner: string; leaseMs: number; includeWouldTrash: boolean }
      | { kind: 'mark'; owner: string }
      | { kind: 'finish'; owner: string; outcome: FinishOutcome }
      | { kind: 'postpone'; owner: string; dueAt: number; note: string };
    type Step = { op: Op; advance: number };

    const owner = fc.constantFrom('a', 'b', 'c');
    const offset = fc.integer({ min: 0, max: 10 * HOUR });
    const outcome: fc.Arbitrary<FinishOutcome> = fc.oneof(
      fc.constantFrom<FinishOutcome>(
        { state: 'trashed', outcome: 'trashed' },
        { state: 'trashed', outcome: 'already_in_trash', note: 'after our DELETE' },
        { state: 'would_trash' },
        { state: 'would_trash', note: 'dry run' },
      ),
      fc.record({ state: fc.constantFrom('held' as const, 'gone' as const), note: fc.constantFrom('file failed', 'deleted in Zoom') }),
    );
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('schedule' as const), dueAt: offset, course: fc.constantFrom('MAQ101', 'LAW200') }),
      fc.record({ kind: fc.constant('claim' as const), owner, leaseMs: fc.integer({ min: 1, max: 2 * HOUR }), includeWouldTrash: fc.boolean() }),
      fc.record({ kind: fc.constant('mark' as const), owner }),
      fc.record({ kind: fc.constant('finish' as const), owner, outcome }),
      fc.record({ kind: fc.constant('postpone' as const), owner, dueAt: offset, note: fc.constant('Zoom unavailable') }),
    );
    const steps = fc.array(fc.record({ op, advance: fc.integer({ min: 0, max: 2 * HOUR }) }), { minLength: 1, maxLength: 40 });

    /** Applies one operation at `now` (offsets are relative to it); undefined = nothing written. */
    function apply(entry: CleanupEntry | undefined, op: Op, now: number): CleanupEntry | undefined {
      switch (op.kind) {
        case 'schedule':
          return applySchedule(entry, { recordingId: 'rec-1', course: op.course, dueAt: now + op.dueAt, now });
        case 'claim':
          return applyClaim(entry, op.owner, op.leaseMs, now, op.includeWouldTrash);
        case 'mark':
          return applyMarkTrashRequested(entry, op.owner, now);
        case 'finish':
          return applyFinish(entry, op.owner, op.outcome, now);
        case 'postpone':
          return applyPostpone(entry, op.owner, now + op.dueAt, op.note, now);
      }
    }

    function assertInvariants(entry: CleanupEntry): void {
      expect(CLEANUP_STATES).toContain(entry.state);
      const leased = entry.leaseOwner !== undefined || entry.leaseExpiresAt !== undefined;
      expect(leased).toBe(entry.state === 'running');
      if (entry.state === 'running') {
        expect(entry.leaseOwner).toBeDefined();
        expect(entry.leaseExpiresAt).toBeDefined();
      }
      if (entry.rescheduleAt !== undefined) {
        expect(entry.state).toBe('running');
        expect(entry.rescheduleAt).toBeGreaterThan(entry.dueAt);
      }
      expect(entry.decidedAt !== undefined).toBe(DECIDED_STATES.has(entry.state));
      expect(entry.outcome !== undefined).toBe(entry.state === 'trashed');
      if (entry.state === 'held' || entry.state === 'gone') expect(entry.note).toBeTruthy();
      for (const value of Object.values(entry)) expect(value).not.toBeUndefined();
    }

    it('every write increments the version by one, stamps updatedAt, keeps identity, and keeps the invariants', () => {
      fc.assert(
        fc.property(steps, (sequence: Step[]) => {
          let entry: CleanupEntry | undefined;
          let now = T0;
          for (const { op, advance } of sequence) {
            now += advance;
            const before = entry === undefined ? undefined : Object.freeze({ ...entry });
            const next = apply(before, op, now);
            if (!next) continue;
            expect(next.version).toBe((before?.version ?? 0) + 1);
            expect(next.updatedAt).toBe(now);
            expect(next.recordingId).toBe('rec-1');
            if (before) {
              expect(next.createdAt).toBe(before.createdAt);
              expect(next.attempts).toBeGreaterThanOrEqual(before.attempts);
              // Once a DELETE may have been sent, that is never forgotten (a later one moves the time on).
              if (before.trashRequestedAt !== undefined) expect(next.trashRequestedAt).toBeGreaterThanOrEqual(before.trashRequestedAt);
            }
            assertInvariants(next);
            entry = next;
          }
        }),
      );
    });

    it('trashed is final: no operation changes it', () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 20 }), offset, (ops, at) => {
          const trashed = finished({ state: 'trashed', outcome: 'trashed' });
          for (const o of ops) expect(apply(trashed, o, T0 + at)).toBeUndefined();
        }),
      );
    });

    it('claim succeeds exactly when isClaimable says so', () => {
      fc.assert(
        fc.property(steps, owner, fc.integer({ min: 0, max: 20 * HOUR }), fc.boolean(), (sequence, who, at, includeWouldTrash) => {
          let entry: CleanupEntry | undefined;
          let now = T0;
          for (const { op, advance } of sequence) {
            now += advance;
            entry = apply(entry, op, now) ?? entry;
          }
          const claimed = applyClaim(entry, who, LEASE, T0 + at, includeWouldTrash);
          expect(claimed !== undefined).toBe(isClaimable(entry, T0 + at, includeWouldTrash));
        }),
      );
    });

    it('schedules alone never move the due time forward: it ends at the latest due time given', () => {
      fc.assert(
        fc.property(fc.array(offset, { minLength: 1, maxLength: 30 }), (dueTimes) => {
          let entry: CleanupEntry | undefined;
          dueTimes.forEach((dueAt, i) => {
            entry = applySchedule(entry, input({ dueAt: T0 + dueAt, now: T0 + i })) ?? entry;
          });
          expect(entry).toMatchObject({ state: 'scheduled', dueAt: T0 + Math.max(...dueTimes), attempts: 0 });
          // One write per new maximum, the first included.
          const records = dueTimes.filter((d, i) => dueTimes.slice(0, i).every((before) => d > before)).length;
          expect(entry!.version).toBe(records);
        }),
      );
    });

    it('a schedule while running is not lost: a held or would_trash finish schedules at the latest due time', () => {
      fc.assert(
        fc.property(fc.array(offset, { minLength: 1, maxLength: 10 }), fc.constantFrom<FinishOutcome>({ state: 'held', note: 'x' }, { state: 'would_trash' }), (dueTimes, end) => {
          let entry = running('a', T0 + HOUR);
          for (const dueAt of dueTimes) entry = applySchedule(entry, input({ dueAt: T0 + HOUR + dueAt, now: T0 + HOUR })) ?? entry;
          const after = applyFinish(entry, 'a', end, T0 + 2 * HOUR)!;
          const latest = T0 + HOUR + Math.max(...dueTimes);
          if (latest > T0 + HOUR) expect(after).toMatchObject({ state: 'scheduled', dueAt: latest });
          else expect(after).toMatchObject({ state: end.state, dueAt: T0 + HOUR });
        }),
      );
    });

    it('the listing orders are total and consistent', () => {
      const entry = fc.record({
        recordingId: fc.string({ minLength: 1, maxLength: 4, unit: 'grapheme' }),
        state: fc.constantFrom(...CLEANUP_STATES),
        dueAt: fc.integer({ min: 0, max: 5 }),
        leaseExpiresAt: fc.integer({ min: 0, max: 5 }),
      });
      fc.assert(
        fc.property(entry, entry, (a, b) => {
          const x = { ...a, course: 'c', attempts: 0, version: 1, createdAt: 0, updatedAt: 0 } as CleanupEntry;
          const y = { ...b, course: 'c', attempts: 0, version: 1, createdAt: 0, updatedAt: 0 } as CleanupEntry;
          for (const compare of [compareDue, compareListed]) {
            expect(Math.sign(compare(x, y))).toBe(-Math.sign(compare(y, x)));
            if (x.recordingId !== y.recordingId) expect(compare(x, y)).not.toBe(0);
          }
        }),
      );
    });
  });
});
