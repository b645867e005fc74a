/**
 * The checks both ledger adapters (DynamoDB and SQLite) apply identically before a
 * write, in one place so that a file one ledger accepts, the other accepts too (see
 * the size limits in shared/ports/upload-ledger.ts).
 */
import type { FileUploadRequested } from '../events';
import { LedgerInputError, LedgerRefusedError, type LedgerRequest, type RegisterInput } from '../ports/upload-ledger';

/** A stored request over this size is refused: it would crowd the checkpoint out of a DynamoDB item. */
export const MAX_LEDGER_REQUEST_BYTES = 16 * 1024;

/** The request to store, without the (sealed) download token, size-checked. */
export function storableRequest(request: RegisterInput['request'], fileId: string): LedgerRequest | undefined {
  if (request === undefined) return undefined;
  const { downloadAccess: _dropped, ...rest } = request as FileUploadRequested;
  const size = Buffer.byteLength(JSON.stringify(rest), 'utf8');
  if (size > MAX_LEDGER_REQUEST_BYTES) {
    throw new LedgerRefusedError(fileId, `the ledger refused file ${fileId}: its request is ${size} bytes, over the ledger's limit of ${MAX_LEDGER_REQUEST_BYTES}`);
  }
  return rest;
}

/** Lease durations must be positive whole milliseconds; anything else is a caller bug. */
export function assertLeaseMs(leaseMs: number): void {
  if (!Number.isInteger(leaseMs) || leaseMs <= 0) {
    throw new LedgerInputError(`lease must be a positive whole number of milliseconds, got ${leaseMs}`);
  }
}
