/**
 * The reliability suite's results on disk: each fault scenario, the load run and the
 * secrets check write a JSON file to tests/reliability/.results/ as they finish (pass
 * or fail), and report.ts turns them into REPORT.md. Writing from the tests keeps the
 * report to what really ran, without running the long scenarios a second time. The
 * folder ignores itself in git.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const RESULTS_DIR = join(__dirname, '..', '.results');

export interface ScenarioCounts {
  filesExpected: number;
  /** Exactly one FileUploaded, one object under the key with the SHA-256 Zoom served, ledger uploaded, no later download. */
  archivedOnce: number;
  /** Had FileUploadFailed with the expected code and retryable flag, then `zoom-archiver retry` archived it once. */
  failedThenRedriven: number;
  /** Expected but not archived at the end. */
  lost: number;
  /** More than one FileUploaded, a download after it was archived, or more completed downloads than the fault explains. */
  duplicated: number;
  /** Objects under a key no eligible file owns, objects whose bytes differ, or `.partial` files left. */
  wrongObjects: number;
}

export interface ScenarioResult {
  id: string;
  name: string;
  store: string;
  fault: string;
  expected: string;
  /** What happened, in words (codes seen, re-drives, attempts). */
  observed: string;
  passed: boolean;
  problems: string[];
  counts: ScenarioCounts;
  durationMs: number;
  finishedAt: string;
}

export interface LatencySummary {
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  deliveries: number;
  distinctRecordings: number;
  duplicateDeliveries: number;
  courseRecordings: number;
  nonCourseRecordings: number;
  fileBytes: number;
  concurrency: number;
  uploadConcurrency: number;
  /** How the deliveries were sent. */
  client: string;
  statuses: Record<string, number>;
  latencyMs: LatencySummary;
  sendSeconds: number;
  deliveriesPerSecond: number;
  /** From the first delivery until the bus had nothing left to deliver. */
  drainedSeconds: number;
  recordingAvailableEvents: number;
  /** Course recordings with exactly one RecordingArchived, one FileUploaded, one completed download, the right bytes. */
  archivedOnce: number;
  /** Non-course recordings rejected (not_course_meeting), nothing requested. */
  rejected: number;
  /** Non-course recordings delivered twice whose rejection was published twice (same idempotency key). */
  rejectedMoreThanOnce: number;
  notProcessed: number;
  duplicatedFiles: number;
  /** The same deliveries again over keep-alive connections opened at once: latencies recorded, not asserted. */
  keepAlivePass?: { statuses: Record<string, number>; latencyMs: LatencySummary; sendSeconds: number; downloadsAgain: number };
  /** The load test shares the machine; its 1/5/15-minute load averages put the latencies in context. */
  machine?: { cpus: number; loadBefore: string; loadAfter: string };
  passed: boolean;
  problems: string[];
  finishedAt: string;
}

export interface SecretsResult {
  needles: { kind: string; count: number }[];
  haystacks: { name: string; bytes: number }[];
  leaks: { needle: string; haystack: string }[];
  controls: string[];
  passed: boolean;
  problems: string[];
  finishedAt: string;
}

function ensureDir(): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, '.gitignore'), '*\n');
}

export function writeResult(name: string, result: unknown): void {
  ensureDir();
  writeFileSync(join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
}

export function readResult<T>(name: string): T | undefined {
  try {
    return JSON.parse(readFileSync(join(RESULTS_DIR, `${name}.json`), 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function readScenarioResults(): ScenarioResult[] {
  let names: string[];
  try {
    names = readdirSync(RESULTS_DIR).filter((name) => name.startsWith('fault-') && name.endsWith('.json'));
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const result = readResult<ScenarioResult>(name.replace(/\.json$/, ''));
    return result ? [result] : [];
  });
}
