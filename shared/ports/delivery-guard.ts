/**
 * Port: remembers which signed webhook deliveries were already kept, so that the
 * same signed bytes sent again inside the timestamp window (a replay) publish
 * nothing. A delivery's identity is its signature, which covers the timestamp and
 * the whole body; an entry is needed only until the timestamp leaves the window,
 * after which the signature check refuses the bytes anyway.
 *
 * Zoom's own re-deliveries differ (a new download token, a new timestamp), so they
 * are not replays; the ledger de-duplicates them downstream.
 */
export interface DeliveryGuard {
  /**
   * Records the delivery until `expiresAtMs`; false when an unexpired record exists
   * (the same bytes were kept before).
   */
  claim(key: string, expiresAtMs: number, nowMs: number): Promise<boolean>;
  /**
   * Forgets a claim whose delivery was not kept (the bus refused it), so that a
   * retry of the same bytes is accepted.
   */
  release(key: string): Promise<void>;
}

export class DeliveryGuardError extends Error {
  override readonly name = 'DeliveryGuardError';
}
