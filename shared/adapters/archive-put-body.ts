/**
 * The body handling both archive adapters share (folder and S3): validates a put's
 * input, meters and optionally hashes its body, and tells the body's own failures
 * from the store's, so both adapters report and clean up the same way.
 */
import { createHash } from 'node:crypto';
import { ArchiveBodySizeError, ArchiveInputError, type ArchivePutInput, type ArchiveWriteOrigin } from '../ports/archive-store';

/** What a metered body has seen so far. */
export interface BodyMeter {
  bytes: number;
  /** The first error the body itself raised (or the size check), as opposed to errors of the store. */
  bodyError?: unknown;
  /** Lower-case hex SHA-256 of the whole body, when asked for; set only once the body ended and passed its checks. */
  sha256?: string;
}

/**
 * Validates a put's input and wraps its body for an adapter: the returned iterable
 * yields the body's bytes, counts them, enforces contentLength (an overrun fails at
 * once, a shortfall at the end, so a short body is never committed), and records
 * which failures came from the body — errors thrown by the consumer of the iterable
 * are the store's. Aborting the signal destroys the body, so a stalled download
 * cannot hold the put. With `hash`, the body's SHA-256 is computed on the way (a
 * store that must record it or compare it before committing). Call `release()` when
 * the put is settled.
 */
export function meterPutBody(input: ArchivePutInput, options: { hash?: boolean } = {}): {
  chunks: AsyncIterable<Buffer>;
  meter: BodyMeter;
  release(): void;
} {
  const { body, contentLength, signal } = input;
  if (body.destroyed || body.readableEnded || body.readableDidRead) {
    throw new ArchiveInputError('the body was already read or destroyed');
  }
  if (contentLength !== undefined && !(Number.isSafeInteger(contentLength) && contentLength >= 0)) {
    throw new ArchiveInputError(`invalid contentLength ${contentLength}`);
  }
  const meter: BodyMeter = { bytes: 0 };
  const hash = options.hash ? createHash('sha256') : undefined;
  // The body's errors reach us through the iterator below; until it starts (lib-storage
  // pulls later) this listener keeps an early error from crashing the process.
  body.on('error', ignore);
  const onAbort = () => body.destroy(abortReason(signal));
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });

  async function* chunks(): AsyncGenerator<Buffer> {
    const source = body[Symbol.asyncIterator]() as AsyncIterator<unknown>;
    let drained = false;
    try {
      for (;;) {
        let step: IteratorResult<unknown>;
        try {
          step = await source.next();
        } catch (error) {
          meter.bodyError ??= error;
          throw error;
        }
        if (step.done) break;
        const chunk = toBuffer(step.value, meter);
        meter.bytes += chunk.length;
        if (contentLength !== undefined && meter.bytes > contentLength) {
          throw (meter.bodyError = new ArchiveBodySizeError(contentLength, meter.bytes, false));
        }
        hash?.update(chunk);
        // The yield stays outside the inner try: an error thrown in here by the consumer is the store's.
        yield chunk;
      }
      drained = true;
    } finally {
      // Ends the body when the consumer stopped early or the size check failed.
      if (!drained) await source.return?.();
    }
    if (contentLength !== undefined && meter.bytes !== contentLength) {
      throw (meter.bodyError = new ArchiveBodySizeError(contentLength, meter.bytes, true));
    }
    if (hash) meter.sha256 = hash.digest('hex');
  }

  return {
    chunks: chunks(),
    meter,
    release: () => signal?.removeEventListener('abort', onAbort),
  };
}

/** The origin of a failed put, decided when it fails (before any clean-up destroys the body). */
export function writeOrigin(meter: BodyMeter, signal: AbortSignal | undefined): ArchiveWriteOrigin {
  if (signal?.aborted) return 'aborted';
  return meter.bodyError === undefined ? 'store' : 'body';
}

/** The error a failed put's `cause` should carry: the body's own error wins over what it caused downstream. */
export function writeCause(meter: BodyMeter, signal: AbortSignal | undefined, storeError: unknown): unknown {
  if (signal?.aborted) return meter.bodyError ?? abortReason(signal);
  return meter.bodyError ?? storeError;
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  return Object.assign(new Error('the put was aborted'), { name: 'AbortError', cause: reason });
}

function ignore(): void {}

function toBuffer(chunk: unknown, meter: BodyMeter): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw (meter.bodyError = new ArchiveInputError('the body yielded something other than bytes'));
}
