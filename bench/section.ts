/**
 * What a benchmark section is: a module whose `run` measures one thing and returns
 * its part of the report as Markdown (starting with its own `## ` heading). bench/run.ts
 * runs the sections listed in bench/sections/index.ts in order and joins what they
 * return; a section that throws is reported as failed and the others still run.
 */

export interface BenchContext {
  /** Progress for the person watching (stderr); never part of the report. */
  log(line: string): void;
  /** Whole-number list from an environment variable, e.g. BENCH_SIZES_MIB=256,2048. */
  numbers(name: string, fallback: readonly number[]): number[];
  /** Names from an environment variable, e.g. BENCH_ONLY=transfer,bundles. */
  names(name: string): string[] | undefined;
}

export interface BenchSection {
  /** Short name, for BENCH_ONLY. */
  id: string;
  run(ctx: BenchContext): Promise<string>;
}

export function createContext(): BenchContext {
  return {
    log: (line) => console.error(`[bench] ${line}`),
    numbers(name, fallback) {
      const raw = process.env[name];
      if (!raw) return [...fallback];
      const values = raw.split(',').map((part) => Number(part.trim()));
      if (values.some((value) => !Number.isFinite(value) || value <= 0)) throw new Error(`${name} must be a comma-separated list of positive numbers, got "${raw}"`);
      return values;
    },
    names(name) {
      const raw = process.env[name];
      return raw ? raw.split(',').map((part) => part.trim()).filter(Boolean) : undefined;
    },
  };
}
