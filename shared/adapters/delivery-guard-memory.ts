/**
 * DeliveryGuard in memory: for unit tests of the webhook use case, and bounded so
 * that a flood of distinct deliveries cannot grow it without limit (the oldest
 * records go first; expired ones are swept as new ones arrive).
 */
import type { DeliveryGuard } from '../ports/delivery-guard';

export class MemoryDeliveryGuard implements DeliveryGuard {
  private readonly seen = new Map<string, number>();

  constructor(private readonly maxEntries = 100_000) {}

  async claim(key: string, expiresAtMs: number, nowMs: number): Promise<boolean> {
    const existing = this.seen.get(key);
    if (existing !== undefined && existing > nowMs) return false;
    this.seen.delete(key);
    this.seen.set(key, expiresAtMs);
    this.evict(nowMs);
    return true;
  }

  async release(key: string): Promise<void> {
    this.seen.delete(key);
  }

  get size(): number {
    return this.seen.size;
  }

  private evict(nowMs: number): void {
    for (const [key, expiresAt] of this.seen) {
      if (this.seen.size <= this.maxEntries && expiresAt > nowMs) break;
      this.seen.delete(key);
    }
  }
}
