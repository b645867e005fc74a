/**
 * Port: the little the reconciler remembers between runs — the recordings it handed
 * over that course validation rejects (not a course's, no eligible file), each with
 * the fingerprint of what Zoom listed. While Zoom lists the same recording with the
 * same fingerprint, the next sweep does not hand it over again; a changed file set or
 * topic (a transcript that arrived, a renamed meeting) makes it new. Everything else
 * the reconciler needs to know — what is archived, in flight or failed — is the
 * ledger's, and its runs are in the audit trail.
 *
 * Adapters: SQLite on one machine (DATA_DIR/reconciler.sqlite), DynamoDB in the cloud
 * (items `reconcile#rejected#<uuid>` in the ledger table, with a TTL).
 * Times are epoch milliseconds passed in by the caller.
 */

export interface RememberedRejection {
  recordingId: string;
  /** Opaque digest of the listed recording (see the reconciler's fingerprintOf). */
  fingerprint: string;
  /** The reason course validation is expected to give (RejectionReason). */
  reason: string;
  rememberedAt: number;
}

export interface ReconcilerState {
  /**
   * The rejection remembered for a recording, if any and not expired at `now`
   * (epoch ms, default Date.now()): one whose rememberedAt + keepMs has passed is absent.
   */
  rejection(recordingId: string, now?: number): Promise<RememberedRejection | undefined>;
  /** Remembers (or replaces) a recording's rejection. Kept for `keepMs` (DynamoDB TTL / SQLite clean-up). */
  rememberRejection(entry: RememberedRejection, keepMs: number): Promise<void>;
  /** Forgets a recording (its rules or files changed so that it is accepted now). */
  forgetRejection(recordingId: string): Promise<void>;
  close?(): void;
}
