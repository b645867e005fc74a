/**
 * Metadata carried by every event detail. It is created once where a flow starts
 * (the webhook) and derived, never re-invented, by each later step (`deriveMetadata`).
 */
import { randomUUID } from 'node:crypto';
import * as z from 'zod/mini';

export const MetadataSchema = z.object({
  /** Version of the detail's schema; a consumer refuses versions it does not know. */
  schemaVersion: z.int().check(z.positive()),
  /** Follows one recording delivery from the webhook to the archive. */
  correlationId: z.string().check(z.minLength(1), z.maxLength(200)),
  /** Id of the event (or webhook delivery) that caused this one. */
  causationId: z.string().check(z.minLength(1), z.maxLength(200)),
  /** Same business fact => same key, whatever the delivery; consumers de-duplicate on it. */
  idempotencyKey: z.string().check(z.minLength(1), z.maxLength(1024)),
});

export type Metadata = z.infer<typeof MetadataSchema>;

/** Metadata for the first event of a flow. */
export function startMetadata<V extends number>(input: {
  schemaVersion: V;
  idempotencyKey: string;
  causationId: string;
  correlationId?: string;
}): Metadata & { schemaVersion: V } {
  return {
    schemaVersion: input.schemaVersion,
    correlationId: input.correlationId ?? randomUUID(),
    causationId: input.causationId,
    idempotencyKey: input.idempotencyKey,
  };
}

/**
 * Metadata for an event caused by another: keeps the correlation id, points the
 * causation id at the cause (its bus event id when known, else its idempotency key).
 */
export function deriveMetadata<V extends number>(
  cause: { metadata: Metadata; eventId?: string },
  next: { schemaVersion: V; idempotencyKey: string },
): Metadata & { schemaVersion: V } {
  return {
    schemaVersion: next.schemaVersion,
    correlationId: cause.metadata.correlationId,
    causationId: cause.eventId ?? cause.metadata.idempotencyKey,
    idempotencyKey: next.idempotencyKey,
  };
}
