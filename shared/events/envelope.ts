/**
 * Parses the `detail` of an EventBridge event (or of the in-process bus, which uses
 * the same shape) against the contract for its detail-type. Consumers call this one
 * helper; a mismatch throws EventEnvelopeError with the Zod error as its cause.
 */
import type { EventBridgeEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { EventEnvelopeError } from '../errors';
import { DetailSchemas, type DetailOf } from './details';
import { EVENT_SOURCE, type DetailTypeName } from './names';

/** What consumers receive: the bus event id and time, and the parsed detail. */
export interface ParsedEvent<T extends DetailTypeName> {
  id: string;
  time: string;
  detailType: T;
  detail: DetailOf<T>;
}

type IncomingEvent = Pick<EventBridgeEvent<string, unknown>, 'id' | 'time' | 'source' | 'detail-type' | 'detail'>;

export function parseEvent<T extends DetailTypeName>(event: IncomingEvent, ...expected: T[]): ParsedEvent<T> {
  const detailType = event['detail-type'];
  if (event.source !== EVENT_SOURCE) {
    throw new EventEnvelopeError(`unexpected event source "${event.source}"`, detailType);
  }
  if (!(expected as string[]).includes(detailType)) {
    throw new EventEnvelopeError(`unexpected detail-type "${detailType}", expected ${expected.join(' or ')}`, detailType);
  }
  const detail = parseDetail(detailType as T, event.detail);
  return { id: event.id, time: event.time, detailType: detailType as T, detail };
}

/** Validates a detail object against its detail-type's schema (used by producers too). */
export function parseDetail<T extends DetailTypeName>(detailType: T, detail: unknown): DetailOf<T> {
  const schema = DetailSchemas[detailType] as unknown as z.ZodMiniType<DetailOf<T>>;
  const result = schema.safeParse(detail);
  if (!result.success) {
    throw new EventEnvelopeError(
      `invalid ${detailType} detail: ${z.prettifyError(result.error).replace(/\n/g, '; ')}`,
      detailType,
      { cause: result.error },
    );
  }
  return result.data;
}
