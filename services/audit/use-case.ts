/**
 * The audit use case: every event of the bus becomes one audit record. Redelivered
 * events (same bus id) are recorded once; events that break their contract are
 * refused by the envelope parser before they get here.
 */
import type { AppLogger } from '../../shared/logger';
import type { AuditLog } from '../../shared/ports/audit-log';
import { toAuditRecord, type AuditInput } from './summarize';

export async function auditEvent(event: AuditInput, deps: { auditLog: AuditLog; logger: AppLogger }): Promise<'written' | 'duplicate'> {
  const record = toAuditRecord(event);
  const outcome = await deps.auditLog.record(record);
  deps.logger.debug('audit record', { outcome, eventId: record.eventId, detailType: record.detailType, correlationId: record.correlationId });
  return outcome;
}
