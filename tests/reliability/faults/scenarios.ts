/**
 * The fault scenarios of the reliability suite (issue 9, part 1) as a table: what
 * goes wrong, against which store, and how it must end — every eligible file
 * archived exactly once and byte-identical, or FileUploadFailed with the right reason
 * and then archived by `zoom-archiver retry`. The runner (runner.ts) plays each row
 * against the real runtime; report.ts prints the rows with their outcomes.
 *
 * Rows hold data and, where a fault has to be switched at the right moment, a small
 * hook (stop S3 mid-transfer, kill the process).
 */
import type { FailureCode } from '../../../shared/events';
import type { SimulatedFile, SimulatedRecording, ZoomSimulator } from '../../../tools/zoom-simulator/simulator';
import type { Harness, Rig, StoreKind } from './rig';
import type { S3FaultProxy } from './s3-fault-proxy';
import type { S3rverProcess } from './s3rver-process';

const MiB = 1024 * 1024;

export type Expectation =
  /** Archived within the delivery's own attempts; no FileUploadFailed. */
  | { kind: 'archived' }
  /** FileUploadFailed with this code and flag; after the fault is cleared, `retry` archives it. */
  | { kind: 'failed-then-retry'; code: FailureCode; retryable: boolean; reason?: RegExp }
  /** Either, depending on timing: archived by the uploader's retries, or FileUploadFailed(code) and then `retry`. */
  | { kind: 'archived-or-retry'; code: FailureCode; retryable: boolean };

export interface ScenarioContext {
  simulator: ZoomSimulator;
  recording: SimulatedRecording;
  /** The eligible files (MP4s), in the order of `fileSizes`. */
  files: SimulatedFile[];
  rig: Rig;
  /** S3 scenarios: the proxy the runtime talks through, and the s3rver behind it. */
  s3?: { proxy: S3FaultProxy; server: S3rverProcess };
  waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs?: number): Promise<T>;
  /** Adds a line to the scenario's observed outcome. */
  note(text: string): void;
}

export interface FaultScenario {
  /** `store/slug`, unique. */
  id: string;
  name: string;
  store: StoreKind;
  /** The fault, in words, for the report. */
  fault: string;
  /** The expected outcome, in words, for the report. */
  expected: string;
  expect: Expectation;
  /** Default in-process (the runtime in the test process); serve-process runs `zoom-archiver serve` as a child. */
  harness?: Harness;
  /** Sizes of the eligible MP4s; every recording also carries a chat file the rules do not select. */
  fileSizes: number[];
  /** Lifetime of the webhook's download_token; negative: already expired. */
  tokenTtlSeconds?: number;
  /** Runtime settings for this scenario (UPLOAD_MAX_ATTEMPTS, timeouts...). */
  env?: Record<string, string>;
  /** Concurrent deliveries of the same signed payload. Default 1. */
  deliveries?: number;
  /** After all is archived, deliver the same recording again with an expired download_token ("a day later"). */
  redeliverLater?: boolean;
  /** s3 only: the runtime talks to its own s3rver directly (no proxy), so that it can be stopped and started. */
  ownS3rver?: boolean;
  /** Completed full-body downloads per file at the end, when the fault makes the count certain. */
  completedDownloads?: number;
  /** Switch the fault on, before the delivery. */
  arrange?(ctx: ScenarioContext): void | Promise<void>;
  /** While the pipeline works: e.g. stop S3 or kill the process mid-transfer. */
  during?(ctx: ScenarioContext): Promise<void>;
  /** Switch the fault off before `retry`. */
  clear?(ctx: ScenarioContext): void | Promise<void>;
  /** Extra checks at the end; returns problems. */
  check?(ctx: ScenarioContext): string[] | Promise<string[]>;
}

type Row = Omit<FaultScenario, 'id' | 'store'> & { slug: string };

const each = (ctx: ScenarioContext, apply: (file: SimulatedFile) => void) => ctx.files.forEach(apply);

/** Every download request of the scenario's files was authorized with an OAuth token, none with the expired webhook token. */
const onlyOAuthDownloads = (ctx: ScenarioContext): string[] => {
  const ids = new Set(ctx.files.map((f) => f.fileId));
  const auths = ctx.simulator.requestLog.filter((r) => r.kind === 'download' && r.fileId && ids.has(r.fileId) && r.auth).map((r) => r.auth!);
  const problems: string[] = [];
  if (auths.length === 0) problems.push('no authorized download request was seen');
  if (auths.some((a) => a !== 'oauth')) problems.push(`download requests authorized as ${[...new Set(auths)].join(', ')}, expected only oauth`);
  ctx.note(`downloads authorized by: ${[...new Set(auths)].join(', ')}; OAuth tokens issued ${ctx.simulator.oauthStats.issued}, refused ${ctx.simulator.oauthStats.failed}`);
  return problems;
};

/** Faults of Zoom's side, played against both stores. */
const DOWNLOAD_FAULTS: Row[] = [
  ...([10, 50, 99] as const).map(
    (percent): Row => ({
      slug: `reset-${percent}`,
      name: `download reset at ${percent}%`,
      fault: `CDN closes the connection after ${percent}% of a 6 MiB body, once`,
      expected: 'archived once by the uploader’s own retry',
      expect: { kind: 'archived' },
      fileSizes: [6 * MiB],
      completedDownloads: 1,
      arrange: (ctx) => each(ctx, (f) => ctx.simulator.setFault(f.fileId, { times: 1, resetAfterBytes: Math.floor((f.size * percent) / 100) })),
    }),
  ),
  {
    slug: '5xx-burst',
    name: '5xx burst',
    fault: 'download URL answers 503 three times, then works',
    expected: 'archived once after backoff',
    expect: { kind: 'archived' },
    fileSizes: [2 * MiB, MiB + 17],
    completedDownloads: 1,
    arrange: (ctx) => each(ctx, (f) => ctx.simulator.setFault(f.fileId, { times: 3, status: 503 })),
  },
  {
    slug: '5xx-storm',
    name: '5xx storm beyond the attempts',
    fault: 'download URL answers 500 to every request (UPLOAD_MAX_ATTEMPTS=3); cleared before retry',
    expected: 'FileUploadFailed download_failed (retryable) after 3 attempts; retry → archived once',
    expect: { kind: 'failed-then-retry', code: 'download_failed', retryable: true, reason: /500/ },
    env: { UPLOAD_MAX_ATTEMPTS: '3' },
    fileSizes: [2 * MiB],
    completedDownloads: 1,
    arrange: (ctx) => each(ctx, (f) => ctx.simulator.setFault(f.fileId, { status: 500 })),
    clear: (ctx) => each(ctx, (f) => ctx.simulator.setFault(f.fileId, undefined)),
  },
  {
    slug: '429-retry-after',
    name: '429 storm with Retry-After',
    fault: 'download URL answers 429 with Retry-After: 1 three times',
    expected: 'archived once, having waited as asked',
    expect: { kind: 'archived' },
    fileSizes: [2 * MiB],
    completedDownloads: 1,
    arrange: (ctx) => each(ctx, (f) => ctx.simulator.setFault(f.fileId, { times: 3, status: 429, retryAfterSeconds: 1 })),
    check: (ctx) => {
      // Retry-After: 1 on three answers means the four requests span at least ~3 s.
      const times = ctx.simulator.requestLog.filter((r) => r.kind === 'download' && r.fileId === ctx.files[0]!.fileId).map((r) => Date.parse(r.at));
      const spanMs = Math.max(...times) - Math.min(...times);
      ctx.note(`download requests spread over ${(spanMs / 1000).toFixed(1)} s`);
      return spanMs >= 2_900 ? [] : [`retried after ${spanMs} ms in all, sooner than three Retry-After: 1 allow`];
    },
  },
  {
    slug: '429-no-retry-after',
    name: '429 storm without Retry-After',
    fault: 'download URL answers 429 (no Retry-After) three times',
    expected: 'archived once after exponential backoff',
    expect: { kind: 'archived' },
    fileSizes: [2 * MiB],
    completedDownloads: 1,
    arrange: (ctx) => each(ctx, (f) => ctx.simulator.setFault(f.fileId, { times: 3, status: 429 })),
  },
  {
    slug: '429-long-retry-after',
    name: '429 asking to wait 10 minutes',
    fault: 'download URL answers 429 with Retry-After: 600 (longer than the uploader waits in one run); cleared before retry',
    expected: 'FileUploadFailed download_failed (retryable) at once, not a 10-minute sleep; retry → archived once',
    expect: { kind: 'failed-then-retry', code: 'download_failed', retryable: true, reason: /429/ },
    fileSizes: [MiB],
    completedDownloads: 1,
    arrange: (ctx) => each(ctx, (f) => ctx.simulator.setFault(f.fileId, { status: 429, retryAfterSeconds: 600 })),
    clear: (ctx) => each(ctx, (f) => ctx.simulator.setFault(f.fileId, undefined)),
  },
  {
    slug: 'oauth-recovers',
    name: 'OAuth endpoint failing, then recovering',
    fault: 'webhook download_token expired; the OAuth token endpoint answers 503 twice',
    expected: 'archived once with an OAuth token after backoff',
    expect: { kind: 'archived' },
    tokenTtlSeconds: -60,
    fileSizes: [2 * MiB],
    completedDownloads: 1,
    arrange: (ctx) => ctx.simulator.failOAuth(2),
    check: (ctx) => [...onlyOAuthDownloads(ctx), ...(ctx.simulator.oauthStats.failed >= 2 ? [] : ['the OAuth endpoint was not asked while failing'])],
  },
  {
    slug: 'oauth-down',
    name: 'OAuth endpoint down beyond the attempts',
    fault: 'webhook download_token expired; the OAuth endpoint answers 503 to every request (UPLOAD_MAX_ATTEMPTS=3); recovers before retry',
    expected: 'FileUploadFailed download_failed (retryable, reason names OAuth); retry → archived once',
    expect: { kind: 'failed-then-retry', code: 'download_failed', retryable: true, reason: /OAuth/ },
    tokenTtlSeconds: -60,
    env: { UPLOAD_MAX_ATTEMPTS: '3' },
    fileSizes: [MiB],
    completedDownloads: 1,
    arrange: (ctx) => ctx.simulator.failOAuth(1_000_000),
    clear: (ctx) => ctx.simulator.failOAuth(0),
    check: onlyOAuthDownloads,
  },
  {
    slug: 'oauth-token-refused',
    name: 'OAuth token refused once (revoked)',
    fault: 'webhook download_token expired; the download URL refuses the first OAuth token (401)',
    expected: 'archived once with a fresh OAuth token',
    expect: { kind: 'archived' },
    tokenTtlSeconds: -60,
    fileSizes: [MiB],
    completedDownloads: 1,
    arrange: (ctx) => each(ctx, (f) => ctx.simulator.setFault(f.fileId, { times: 1, status: 401 })),
    check: (ctx) => (ctx.simulator.oauthStats.issued >= 2 ? [] : [`expected a fresh OAuth token, ${ctx.simulator.oauthStats.issued} issued`]),
  },
  {
    slug: 'expired-download-token',
    name: 'expired download_token',
    fault: 'the webhook’s download_token expired a minute ago',
    expected: 'archived once through Server-to-Server OAuth; the expired token is never sent',
    expect: { kind: 'archived' },
    tokenTtlSeconds: -60,
    fileSizes: [2 * MiB],
    completedDownloads: 1,
    check: onlyOAuthDownloads,
  },
  {
    slug: 'slow-drip',
    name: 'slow drip beyond the transfer timeout',
    fault: 'CDN drips at 256 KiB/s a 2 MiB file (8 s); UPLOAD_TRANSFER_TIMEOUT_SECONDS=2, DOWNLOAD_IDLE_TIMEOUT_SECONDS=2, UPLOAD_MAX_ATTEMPTS=2; full speed before retry',
    expected: 'FileUploadFailed timeout (retryable); retry → archived once',
    expect: { kind: 'failed-then-retry', code: 'timeout', retryable: true },
    env: { UPLOAD_TRANSFER_TIMEOUT_SECONDS: '2', DOWNLOAD_IDLE_TIMEOUT_SECONDS: '2', UPLOAD_MAX_ATTEMPTS: '2' },
    fileSizes: [2 * MiB],
    completedDownloads: 1,
    arrange: (ctx) => each(ctx, (f) => ctx.simulator.setFault(f.fileId, { bytesPerSecond: 256 * 1024 })),
    clear: (ctx) => each(ctx, (f) => ctx.simulator.setFault(f.fileId, undefined)),
  },
  {
    slug: 'html-200',
    name: 'HTML page with 200',
    fault: 'download URL answers 200 with Zoom’s “Only the host can download” HTML page; cleared before retry',
    expected: 'FileUploadFailed not_media (not retryable) after a second try with a fresh OAuth token; nothing stored; retry → archived once',
    expect: { kind: 'failed-then-retry', code: 'not_media', retryable: false },
    fileSizes: [MiB],
    completedDownloads: 1,
    arrange: (ctx) => each(ctx, (f) => ctx.simulator.setFault(f.fileId, { htmlPage: true })),
    clear: (ctx) => each(ctx, (f) => ctx.simulator.setFault(f.fileId, undefined)),
  },
  {
    slug: 'wrong-size',
    name: 'wrong size',
    fault: 'CDN serves 1,000 bytes more than the webhook’s file_size (with a matching Content-Length); cleared before retry',
    expected: 'FileUploadFailed size_mismatch (not retryable) after two tries; nothing stored; retry → archived once',
    expect: { kind: 'failed-then-retry', code: 'size_mismatch', retryable: false },
    fileSizes: [2 * MiB],
    arrange: (ctx) => each(ctx, (f) => ctx.simulator.setFault(f.fileId, { wrongSize: 1000 })),
    clear: (ctx) => each(ctx, (f) => ctx.simulator.setFault(f.fileId, undefined)),
  },
  {
    slug: 'duplicates',
    name: 'same recording 5× at once, and again a day later',
    fault: 'the same signed delivery 5 times concurrently; after archiving, once more with an expired download_token',
    expected: 'every delivery acknowledged (200); each file downloaded and archived once; the late delivery downloads nothing',
    expect: { kind: 'archived' },
    deliveries: 5,
    redeliverLater: true,
    fileSizes: [4 * MiB, 2 * MiB],
    completedDownloads: 1,
  },
];

/** Faults of the archive's side and of the process, S3 only (the folder's kill -9 is tests/runtime/kill-restart.test.ts). */
const S3_FAULTS: Row[] = [
  {
    slug: 's3-500-burst',
    name: 'S3 endpoint failing mid-upload',
    fault: 'after 2 requests pass, S3 answers 500 InternalError to the next 8 (a 12 MiB multipart upload)',
    expected: 'archived once (SDK and uploader retries)',
    expect: { kind: 'archived' },
    fileSizes: [12 * MiB],
    arrange: (ctx) => ctx.s3!.proxy.fail({ after: 2, count: 8 }),
    check: (ctx) => {
      ctx.note(`S3 answered 500 to ${ctx.s3!.proxy.stats.failed} of ${ctx.s3!.proxy.stats.requests} requests`);
      return ctx.s3!.proxy.stats.failed === 8 ? [] : [`the proxy failed ${ctx.s3!.proxy.stats.failed} requests, expected 8`];
    },
  },
  {
    slug: 's3-down',
    name: 'S3 endpoint failing beyond the attempts',
    fault: 'after CreateMultipartUpload, S3 answers 500 to everything (UPLOAD_MAX_ATTEMPTS=2); healthy again before retry',
    expected: 'FileUploadFailed archive_failed (retryable); retry → archived once',
    expect: { kind: 'failed-then-retry', code: 'archive_failed', retryable: true },
    env: { UPLOAD_MAX_ATTEMPTS: '2' },
    fileSizes: [12 * MiB],
    arrange: (ctx) => ctx.s3!.proxy.fail({ after: 1, count: Infinity }),
    clear: (ctx) => ctx.s3!.proxy.clear(),
  },
  {
    slug: 's3-gone-and-back',
    name: 'S3 endpoint going away mid-upload and coming back',
    fault: 's3rver killed (SIGKILL) while a 12 MiB file streams at 2 MiB/s, after its first part; a new s3rver on the same port and data 2 s later',
    expected: 'archived once, by the uploader’s retries or (if they ran out first) FileUploadFailed archive_failed and retry',
    expect: { kind: 'archived-or-retry', code: 'archive_failed', retryable: true },
    ownS3rver: true,
    fileSizes: [12 * MiB],
    arrange: (ctx) => each(ctx, (f) => ctx.simulator.setFault(f.fileId, { times: 1, bytesPerSecond: 2 * MiB })),
    async during(ctx) {
      const file = ctx.files[0]!;
      await ctx.waitFor('9.5 MiB streamed', () => (ctx.simulator.stats(file.fileId).bytesServed >= 9.5 * MiB ? true : undefined));
      await ctx.s3!.server.kill();
      ctx.note(`s3rver killed at ${(ctx.simulator.stats(file.fileId).bytesServed / MiB).toFixed(1)} MiB`);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await ctx.s3!.server.start();
      ctx.note('s3rver back on the same port after 2 s');
    },
  },
  {
    slug: 'sigkill-mid-upload',
    name: 'process killed (SIGKILL) mid-upload, restarted',
    fault: '`zoom-archiver serve` killed -9 after 5.5 MiB of an 8 MiB file (first multipart part sent); started again on the same data folder',
    expected: 'archived once after the lease expires; the killed multipart upload never shows as an object',
    expect: { kind: 'archived' },
    harness: 'serve-process',
    env: { UPLOAD_LEASE_SECONDS: '2', RECOVERY_INTERVAL_SECONDS: '1' },
    fileSizes: [8 * MiB],
    completedDownloads: 1,
    arrange: (ctx) => each(ctx, (f) => ctx.simulator.setFault(f.fileId, { times: 1, bytesPerSecond: MiB })),
    async during(ctx) {
      const file = ctx.files[0]!;
      await ctx.waitFor('5.5 MiB streamed', () => (ctx.simulator.stats(file.fileId).bytesServed >= 5.5 * MiB ? true : undefined));
      await ctx.rig.crash();
      const stats = ctx.simulator.stats(file.fileId);
      ctx.note(`killed -9 at ${(stats.bytesServed / MiB).toFixed(1)} MiB, ${stats.completedDownloads} download(s) completed`);
      await ctx.rig.restart();
    },
  },
];

const forStore = (store: StoreKind, rows: Row[]): FaultScenario[] => rows.map(({ slug, ...row }) => ({ ...row, id: `${store}/${slug}`, store }));

export const FAULT_SCENARIOS: readonly FaultScenario[] = [...forStore('folder', DOWNLOAD_FAULTS), ...forStore('s3', DOWNLOAD_FAULTS), ...forStore('s3', S3_FAULTS)];

/**
 * The counts a scenario must end with: every file archived once, none lost,
 * duplicated or wrong, and re-driven by `retry` exactly when the scenario says so
 * (all files for failed-then-retry, none for archived). Only archived-or-retry, which
 * depends on timing, accepts either count of re-drives.
 */
export function expectedCounts(scenario: FaultScenario, observedRedriven: number) {
  const files = scenario.fileSizes.length;
  const redriven = { 'failed-then-retry': files, archived: 0, 'archived-or-retry': observedRedriven }[scenario.expect.kind];
  return { filesExpected: files, archivedOnce: files, failedThenRedriven: redriven, lost: 0, duplicated: 0, wrongObjects: 0 };
}
