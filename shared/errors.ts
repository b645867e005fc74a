/**
 * Named errors with causes. Every error says whether retrying can help, so callers
 * (handlers, the bus, retry loops) decide without string matching.
 */
export abstract class ArchiverError extends Error {
  abstract readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An event on the bus does not match its contract: retrying the same event cannot help. */
export class EventEnvelopeError extends ArchiverError {
  readonly retryable = false;
  constructor(
    message: string,
    readonly detailType: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Publishing to the bus failed after retries; the caller must not acknowledge the input. */
export class PublishError extends ArchiverError {
  readonly retryable = true;
  constructor(
    message: string,
    readonly failedCount: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Configuration is missing or invalid: raised at start-up, with the field named. */
export class ConfigError extends ArchiverError {
  readonly retryable = false;
  /**
   * The variables (or secret keys) the message names, when the error comes from one
   * schema: lets a caller list or check them without parsing the message. Never values.
   */
  readonly variables: readonly string[];

  constructor(message: string, options?: { cause?: unknown; variables?: readonly string[] }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.variables = options?.variables ?? [];
  }
}
