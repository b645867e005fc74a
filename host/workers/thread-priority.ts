/**
 * Lowers the scheduling priority of the calling thread only (Linux: a thread's nice
 * value is its own, and threads it starts inherit it), so that on a busy machine the
 * thread that answers Zoom gets the CPU first and the consumers' and the dashboard's
 * threads take what is left. Nothing is lost by waiting: every accepted event is
 * committed to the inbox before the 200, and the consumers catch up when the CPU is
 * free. Raising a nice value needs no privilege; elsewhere (macOS, Windows) there is
 * no per-thread nice, and this does nothing.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** The nice value background threads run at (0 is normal, 19 the lowest priority). */
export const BACKGROUND_NICENESS = 10;

/** The calling thread's id (Linux), from /proc/thread-self → "<pid>/task/<tid>"; undefined elsewhere. */
export function currentThreadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/** Sets this thread's nice value to at least `niceness`; answers the value now in effect, or undefined where threads have none. */
export function lowerThreadPriority(niceness: number = BACKGROUND_NICENESS): number | undefined {
  const tid = currentThreadId();
  if (tid === undefined) return undefined;
  try {
    if (getPriority(tid) < niceness) setPriority(tid, niceness);
    return getPriority(tid);
  } catch {
    return undefined;
  }
}
