/**
 * The product's one logger: Powertools Logger, structured JSON, the same shape in
 * Lambda and on one machine. Callers pass `correlationId` (and ids, never tokens) in
 * each line's extra fields. LOG_LEVEL sets the level (default INFO; SILENT in tests).
 */
import { Logger } from '@aws-lambda-powertools/logger';

export type AppLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export function createLogger(serviceName: string, logLevel: string = process.env.LOG_LEVEL ?? 'INFO'): Logger {
  return new Logger({ serviceName, logLevel: logLevel.toUpperCase() as 'INFO' });
}

/** A logger that drops everything (tests of use cases that do not assert on logs). */
export const silentLogger: AppLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
