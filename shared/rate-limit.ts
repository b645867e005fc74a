/**
 * A local token bucket that paces our own requests below a remote rate limit (Zoom's
 * per-account, per-second limits). Written here rather than taken from npm: `limiter`
 * (4.1.0, CommonJS-compatible) reads `performance.now()` and sleeps with its own
 * `setTimeout`, so neither its clock nor its waits can be injected or aborted, and
 * `bottleneck` has had no release since 2019. This one is a few lines, takes the clock
 * as a parameter, and leaves the waiting (and its AbortSignal) to the caller.
 *
 * Reservations go into debt: each `reserve()` takes a token at once and answers how
 * long to wait before using it, so callers that reserve together are spaced out in
 * the order they asked, and none waits for a token another one got.
 */
export class TokenBucket {
  /** Burst size: max(1, perSecond), so a rate below 1/s still lets one request through. */
  readonly capacity: number;
  private tokens: number;
  private refilledAt: number;

  constructor(
    readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isFinite(perSecond) || perSecond <= 0) throw new RangeError(`a rate must be a positive number, got ${perSecond}`);
    this.capacity = Math.max(1, perSecond);
    this.tokens = this.capacity;
    this.refilledAt = now();
  }

  /** Takes one token: 0 when one was there, else the whole milliseconds to wait before using it. */
  reserve(): number {
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.perSecond) * 1000);
  }

  /** Gives back a reserved token that was not used (its wait was aborted). */
  refund(): void {
    this.tokens = Math.min(this.capacity, this.tokens + 1);
  }

  private refill(): void {
    const now = this.now();
    // A clock that went backwards adds nothing (and does not take tokens away).
    const elapsedMs = Math.max(0, now - this.refilledAt);
    this.tokens = Math.min(this.capacity, this.tokens + (elapsedMs / 1000) * this.perSecond);
    this.refilledAt = now;
  }
}
