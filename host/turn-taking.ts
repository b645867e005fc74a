/**
 * Webhooks take turns with the rest of the event loop, a few per loop iteration.
 *
 * libuv accepts one new connection per loop iteration (libuv/libuv#3696, libuv 1.45
 * and later, which Node.js 20 ships; seen here on 20.20): the listening socket gets
 * its turn once per poll phase. Without turns, every request already read is handled
 * in the same iteration, so under load an iteration lasts (busy connections × the
 * webhook's cost) — 40 ms at 50 keep-alive connections here — and a sender opening a
 * new connection waits that long per connection queued before it to be accepted:
 * measured up to 0.5–0.9 s at concurrency 50, while the server's own time per webhook
 * stayed under 5 ms.
 *
 * With turns, each iteration handles at most `perTurn` webhooks (FIFO, after their
 * headers are parsed) and then lets the loop go round: new connections are accepted
 * and read between turns, and a new sender waits in the same queue as everyone else
 * (Little's law: connections ÷ throughput) instead of behind each iteration in turn.
 * Nothing is dropped or reordered: a waiting request is only held in memory, bounded
 * by the server's connection cap and request timeout.
 */

/** Webhooks handled per loop iteration: 1–4 measured the same; 4 keeps the per-iteration overhead smaller. */
export const WEBHOOKS_PER_LOOP_TURN = 4;

export class TurnTaking {
  // Bounded by the server's connection cap, so taking from the front with splice is cheap.
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly perTurn: number = WEBHOOKS_PER_LOOP_TURN) {
    if (!Number.isInteger(perTurn) || perTurn < 1) throw new RangeError(`perTurn must be a positive integer, got ${perTurn}`);
  }

  /** Resolves at the caller's turn: in order of asking, at most `perTurn` per loop iteration. */
  take(): Promise<void> {
    return new Promise((resolve) => {
      // A turn is scheduled exactly while someone waits.
      if (this.waiting.push(resolve) === 1) setImmediate(this.turn);
    });
  }

  /** Requests waiting for a turn. */
  get queued(): number {
    return this.waiting.length;
  }

  // An immediate queued from inside an immediate runs in the next iteration, after its poll phase.
  private readonly turn = (): void => {
    for (const resolve of this.waiting.splice(0, this.perTurn)) resolve();
    if (this.waiting.length > 0) setImmediate(this.turn);
  };
}
