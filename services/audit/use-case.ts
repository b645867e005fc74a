/**
 * The audit use case: every event of the bus becomes one audit record. Redelivered
 * events (same bus id) are recorded once; events that break their contract are
 * refused by the envelope parser before they get here.
 */
import type { AppLogger } from '../../shared/logger';
import type { AuditLog, AuditRecord } from '../../shared/ports/audit-log';
import { toAuditRecord, type AuditInput } from './summarize';

export async function auditEvent(event: AuditInput, deps: { auditLog: AuditLog; logger: AppLogger }): Promise<'written' | 'duplicate'> {
  return (await recordAuditEvent(event, deps)).outcome;
}

/** As auditEvent, with the record it stored (the Lambda handler counts its metrics). */
export async function recordAuditEvent(event: AuditInput, deps: { auditLog: AuditLog; logger: AppLogger }): Promise<{ outcome: 'written' | 'duplicate'; record: AuditRecord }> {
  const record = toAuditRecord(event);
  const outcome = await deps.auditLog.record(record);
  deps.logger.debug('audit record', { outcome, eventId: record.eventId, detailType: record.detailType, correlationId: record.correlationId });
  return { outcome, record };
}
