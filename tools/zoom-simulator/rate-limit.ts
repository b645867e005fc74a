/**
 * Zoom's per-second API rate limit, as the simulator plays it: one token bucket per
 * rate-limit category (Light, Medium...), shared by every app and token of the account.
 * A bucket holds `perSecond` requests and refills continuously at `perSecond` a second;
 * no limit set means unlimited.
 */

export type RateLimitCategory = 'light' | 'medium';

/** Zoom's spelling in the X-RateLimit-Category header. */
export const CATEGORY_HEADER: Record<RateLimitCategory, string> = { light: 'Light', medium: 'Medium' };

export class TokenBucket {
  private tokens: number;
  private refilledAt: number;
  readonly capacity: number;

  constructor(
    readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(perSecond > 0) || !Number.isFinite(perSecond)) throw new Error(`rate limit must be a positive number, got ${perSecond}`);
    // A bucket below one request would never let anything through.
    this.capacity = Math.max(1, perSecond);
    this.tokens = this.capacity;
    this.refilledAt = now();
  }

  /** Takes one request's token: 0 when allowed, else the ms until one is available. */
  take(): number {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return ((1 - this.tokens) / this.perSecond) * 1000;
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.refilledAt) / 1000) * this.perSecond);
    this.refilledAt = now;
  }
}

/** A token bucket per category; categories without a limit let everything through. */
export class RateLimiter {
  private readonly buckets = new Map<RateLimitCategory, TokenBucket>();

  /** undefined removes the limit; a new limit starts with a full bucket. */
  set(category: RateLimitCategory, perSecond: number | undefined): void {
    if (perSecond === undefined) this.buckets.delete(category);
    else this.buckets.set(category, new TokenBucket(perSecond));
  }

  limit(category: RateLimitCategory): number | undefined {
    return this.buckets.get(category)?.perSecond;
  }

  /** 0 when the request may go, else the ms to wait. */
  take(category: RateLimitCategory): number {
    return this.buckets.get(category)?.take() ?? 0;
  }
}
