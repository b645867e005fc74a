/**
 * Polls until a condition holds, for tests and benchmarks that watch another process
 * or a stream make progress (a file appearing, an audit record, bytes served): no
 * fixed sleeps, and a timeout that says what never happened.
 */

export interface WaitForOptions {
  /** Pause between checks; default 100 ms. */
  intervalMs?: number;
}

/**
 * Resolves with the first value `check` returns other than undefined; rejects once
 * `timeoutMs` passed without one. `description` names what was awaited in that error
 * (a function, to report the progress made so far).
 */
export async function waitFor<T>(
  description: string | (() => string),
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
  { intervalMs = 100 }: WaitForOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof description === 'function' ? description() : description}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
