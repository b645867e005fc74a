/**
 * The ReconcilerState contract: every adapter (SQLite, DynamoDB) runs these same
 * behaviours. Times are passed in, so expiry is exact, not slept.
 */
import type { ReconcilerState, RememberedRejection } from '../../shared/ports/reconciler-state';

export interface StateUnderTest {
  state: ReconcilerState;
  dispose(): Promise<void>;
}

export const T0 = Date.UTC(2026, 2, 2, 9, 0, 0);
const DAY = 24 * 60 * 60 * 1000;
const KEEP = 30 * DAY;

/** Zoom recording UUIDs are base64 and may hold `/`, `+`, `=` and `//`; the rest is for good measure. */
export const ODD_IDS = [
  'a1B2c3D4e5F6g7H8i9J0kA==',
  '/ajBcD+eF/gh==',
  '//xYz12+34/5=',
  'a//b',
  'with space and #hash and %25',
  'reconcile#rejected#nested',
  'ünïcødé-会议-🎥',
  "quote'\"back\\slash",
];

export function rejectionOf(recordingId: string, overrides: Partial<RememberedRejection> = {}): RememberedRejection {
  return { recordingId, fingerprint: `fp-${recordingId}-1`, reason: 'no_course_match', rememberedAt: T0, ...overrides };
}

export function describeReconcilerStateContract(name: string, make: () => Promise<StateUnderTest>): void {
  describe(`ReconcilerState contract: ${name}`, () => {
    let subject: StateUnderTest;
    let state: ReconcilerState;
    beforeEach(async () => {
      subject = await make();
      state = subject.state;
    });
    afterEach(async () => {
      await subject.dispose();
    });

    it('knows nothing of a recording never remembered', async () => {
      expect(await state.rejection('never-seen', T0)).toBeUndefined();
      expect(await state.rejection('never-seen')).toBeUndefined();
    });

    it('reads back every field of a remembered rejection', async () => {
      const entry = rejectionOf('rec-1', { fingerprint: 'sha256:abc', reason: 'no_eligible_file', rememberedAt: T0 + 123 });

      await state.rememberRejection(entry, KEEP);

      expect(await state.rejection('rec-1', T0 + 1_000)).toEqual(entry);
    });

    it('tells recordings apart', async () => {
      await state.rememberRejection(rejectionOf('rec-a', { fingerprint: 'fa' }), KEEP);
      await state.rememberRejection(rejectionOf('rec-b', { fingerprint: 'fb' }), KEEP);

      expect((await state.rejection('rec-a', T0))?.fingerprint).toBe('fa');
      expect((await state.rejection('rec-b', T0))?.fingerprint).toBe('fb');
      expect(await state.rejection('rec-c', T0)).toBeUndefined();
    });

    it('replaces a rejection remembered before: new fingerprint, reason and time', async () => {
      await state.rememberRejection(rejectionOf('rec-1', { fingerprint: 'old', reason: 'no_course_match' }), KEEP);
      const replacement = rejectionOf('rec-1', { fingerprint: 'new', reason: 'no_eligible_file', rememberedAt: T0 + DAY });

      await state.rememberRejection(replacement, KEEP);

      expect(await state.rejection('rec-1', T0 + DAY)).toEqual(replacement);
    });

    it('keeps a replaced rejection for the new keep time, counted from its new rememberedAt', async () => {
      await state.rememberRejection(rejectionOf('rec-1', { fingerprint: 'old' }), DAY);
      await state.rememberRejection(rejectionOf('rec-1', { fingerprint: 'new', rememberedAt: T0 + DAY / 2 }), DAY);

      expect((await state.rejection('rec-1', T0 + DAY + 1))?.fingerprint).toBe('new');
      expect(await state.rejection('rec-1', T0 + DAY / 2 + DAY + 1)).toBeUndefined();
    });

    it('forgets a recording, and forgetting an unknown one is a no-op', async () => {
      await state.rememberRejection(rejectionOf('rec-1'), KEEP);
      await state.rememberRejection(rejectionOf('rec-2'), KEEP);

      await state.forgetRejection('rec-1');
      await state.forgetRejection('never-seen');

      expect(await state.rejection('rec-1', T0)).toBeUndefined();
      expect(await state.rejection('rec-2', T0)).toEqual(rejectionOf('rec-2'));
    });

    it('remembers a forgotten recording again', async () => {
      await state.rememberRejection(rejectionOf('rec-1', { fingerprint: 'first' }), KEEP);
      await state.forgetRejection('rec-1');
      await state.rememberRejection(rejectionOf('rec-1', { fingerprint: 'second', rememberedAt: T0 + 5 }), KEEP);

      expect(await state.rejection('rec-1', T0 + 5)).toEqual(rejectionOf('rec-1', { fingerprint: 'second', rememberedAt: T0 + 5 }));
    });

    it('keeps a rejection for keepMs from its rememberedAt, to the millisecond, then reads it as absent', async () => {
      await state.rememberRejection(rejectionOf('rec-1', { rememberedAt: T0 + 250 }), KEEP);

      expect(await state.rejection('rec-1', T0 + 250)).toBeDefined();
      expect(await state.rejection('rec-1', T0 + 250 + KEEP)).toBeDefined();
      expect(await state.rejection('rec-1', T0 + 250 + KEEP + 1)).toBeUndefined();
      expect(await state.rejection('rec-1', T0 + 250 + 2 * KEEP)).toBeUndefined();
    });

    it('keeps nothing past its instant with keepMs 0', async () => {
      await state.rememberRejection(rejectionOf('rec-1'), 0);

      expect(await state.rejection('rec-1', T0)).toBeDefined();
      expect(await state.rejection('rec-1', T0 + 1)).toBeUndefined();
    });

    it('lets an expired recording be remembered again', async () => {
      await state.rememberRejection(rejectionOf('rec-1', { fingerprint: 'first' }), DAY);
      expect(await state.rejection('rec-1', T0 + 2 * DAY)).toBeUndefined();

      const again = rejectionOf('rec-1', { fingerprint: 'second', rememberedAt: T0 + 2 * DAY });
      await state.rememberRejection(again, DAY);

      expect(await state.rejection('rec-1', T0 + 2 * DAY)).toEqual(again);
    });

    it('reads at the current time when no `now` is given', async () => {
      const now = Date.now();
      await state.rememberRejection(rejectionOf('fresh', { rememberedAt: now }), KEEP);
      await state.rememberRejection(rejectionOf('stale', { rememberedAt: now - 2 * DAY }), DAY);

      expect(await state.rejection('fresh')).toEqual(rejectionOf('fresh', { rememberedAt: now }));
      expect(await state.rejection('stale')).toBeUndefined();
    });

    it('round-trips recording ids with odd characters, each on its own', async () => {
      for (const [index, id] of ODD_IDS.entries()) {
        await state.rememberRejection(rejectionOf(id, { fingerprint: `fp-${index}` }), KEEP);
      }

      for (const [index, id] of ODD_IDS.entries()) {
        expect(await state.rejection(id, T0)).toEqual(rejectionOf(id, { fingerprint: `fp-${index}` }));
      }
      // `a//b` is not `a/b`, nor is `/ajBcD+eF/gh==` without its padding.
      expect(await state.rejection('a/b', T0)).toBeUndefined();
      expect(await state.rejection('/ajBcD+eF/gh', T0)).toBeUndefined();

      await state.forgetRejection('//xYz12+34/5=');
      expect(await state.rejection('//xYz12+34/5=', T0)).toBeUndefined();
      expect(await state.rejection('a//b', T0)).toBeDefined();
    });

    it('stores fingerprints and reasons verbatim', async () => {
      const entry = rejectionOf('rec-1', { fingerprint: 'sha256:' + 'f'.repeat(64) + ' ünï', reason: 'reason with "quotes" & ; DROP' });

      await state.rememberRejection(entry, KEEP);

      expect(await state.rejection('rec-1', T0)).toEqual(entry);
    });

    it('refuses a negative or fractional keep time, and remembers nothing', async () => {
      await expect(state.rememberRejection(rejectionOf('rec-1'), -1)).rejects.toBeInstanceOf(RangeError);
      await expect(state.rememberRejection(rejectionOf('rec-1'), Number.POSITIVE_INFINITY)).rejects.toBeInstanceOf(RangeError);
      await expect(state.rememberRejection(rejectionOf('rec-1', { rememberedAt: T0 + 0.5 }), KEEP)).rejects.toBeInstanceOf(RangeError);

      expect(await state.rejection('rec-1', T0)).toBeUndefined();
    });

    it('answers many concurrent writers and readers consistently', async () => {
      await Promise.all(ODD_IDS.map((id, index) => state.rememberRejection(rejectionOf(id, { fingerprint: `c-${index}` }), KEEP)));

      const read = await Promise.all(ODD_IDS.map((id) => state.rejection(id, T0)));

      expect(read.map((entry) => entry?.fingerprint)).toEqual(ODD_IDS.map((_, index) => `c-${index}`));
    });
  });
}
