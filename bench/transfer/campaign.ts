/**
 * Runs transfer variants interleaved — round 1: A, B, C; round 2: B, C, A; … — so a
 * drift of the machine (other load, page cache, thermal) hits every variant alike,
 * each run in a fresh process. A failed run is kept as such, never dropped silently.
 */
import { runOnce, type Contender, type Fixture, type RunOptions, type RunResult } from './harness';
import type { Sink } from './protocol';

export interface Entry {
  /** Row label; defaults to the contender. */
  label?: string;
  contender: Contender;
  sink: Sink;
  options?: RunOptions;
}

export interface Outcome {
  entry: Entry;
  sizeMiB: number;
  round: number;
  result?: RunResult;
  error?: string;
}

export async function campaign(
  fixture: Fixture,
  entries: readonly Entry[],
  plan: readonly { sizeMiB: number; rounds: number }[],
  log: (line: string) => void,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const { sizeMiB, rounds } of plan) {
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[(i + round) % entries.length]!;
        const name = `${entry.label ?? entry.contender}/${entry.sink} ${sizeMiB} MiB, round ${round + 1}/${rounds}`;
        try {
          const result = await runOnce(fixture, entry.contender, entry.sink, sizeMiB, entry.options);
          outcomes.push({ entry, sizeMiB, round, result });
          log(`${name}: ${result.mbPerSec.toFixed(0)} MB/s, peak RSS ${result.maxRssMB.toFixed(0)} MB${result.intact ? '' : ', STORED BYTES DIFFER'}`);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          outcomes.push({ entry, sizeMiB, round, error: message });
          log(`${name}: failed: ${message}`);
        }
      }
    }
  }
  return outcomes;
}

export function labelOf(entry: Entry): string {
  return entry.label ?? entry.contender;
}

/** The runs of one row. */
export function select(outcomes: readonly Outcome[], label: string, sink: Sink, sizeMiB: number): Outcome[] {
  return outcomes.filter((o) => labelOf(o.entry) === label && o.entry.sink === sink && o.sizeMiB === sizeMiB);
}

/** Intact runs only: a corrupted or failed run has no throughput worth comparing. */
export function good(outcomes: readonly Outcome[]): RunResult[] {
  return outcomes.flatMap((o) => (o.result?.intact ? [o.result] : []));
}

/** a/b per round (both ran in the same round, minutes apart at most), for rounds where both are intact. */
export function pairedRatios(outcomes: readonly Outcome[], a: string, b: string, sink: Sink, sizeMiB: number, metric: (r: RunResult) => number): number[] {
  const byRound = (label: string) => new Map(select(outcomes, label, sink, sizeMiB).flatMap((o) => (o.result?.intact ? [[o.round, metric(o.result)] as const] : [])));
  const as = byRound(a);
  const bs = byRound(b);
  return [...as.entries()].flatMap(([round, value]) => {
    const other = bs.get(round);
    return other === undefined ? [] : [value / other];
  });
}

/** "SHA-256 ok", or how many runs stored wrong bytes or failed. */
export function integrity(outcomes: readonly Outcome[]): string {
  const corrupted = outcomes.filter((o) => o.result && !o.result.intact).length;
  const failed = outcomes.filter((o) => o.error).length;
  const problems = [corrupted ? `**CORRUPTED in ${corrupted}/${outcomes.length}**` : '', failed ? `**failed ${failed}/${outcomes.length}**` : ''].filter(Boolean);
  return problems.length ? problems.join(', ') : 'SHA-256 ok';
}
