/** Summary statistics for benchmark samples (milliseconds or any unit). */
export interface Summary {
  n: number;
  median: number;
  p99: number;
  min: number;
  max: number;
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { n: sorted.length, median: at(0.5), p99: at(0.99), min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

export const fmt = (value: number, digits = 3) => value.toFixed(digits);
