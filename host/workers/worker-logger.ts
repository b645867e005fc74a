/** A logger for a worker thread: each line goes to the main thread's logger as a message (plain data only crosses threads). */
import type { AppLogger } from '../../shared/logger';

export type LogMessage = { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string; fields?: Record<string, unknown> };

/** Errors and other objects become their text. */
function cloneable(fields: unknown): Record<string, unknown> | undefined {
  if (fields === undefined) return undefined;
  try {
    return JSON.parse(JSON.stringify(fields, (_key, value: unknown) => (value instanceof Error ? `${value.name}: ${value.message}` : value))) as Record<string, unknown>;
  } catch {
    return { fields: String(fields) };
  }
}

export function workerLogger(send: (message: LogMessage) => void): AppLogger {
  const at = (level: LogMessage['level']) => (message: string, fields?: unknown) => send({ type: 'log', level, message, fields: cloneable(fields) });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as AppLogger;
}
