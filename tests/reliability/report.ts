/**
 * Writes tests/reliability/REPORT.md, the reliability suite's record (issue 9): the
 * fault scenarios (the table in faults/scenarios.ts with the outcome each run wrote
 * to .results/), totals of files archived once, failed then re-driven, lost and
 * duplicated, the bad-input table (run again here, it takes seconds), the load
 * figures, the secrets search and `npm audit --omit=dev`. Runs last in
 * `npm run test:reliability`; exits 1 when a scenario is missing or failed, or when
 * bad input, load or secrets did not pass.
 *
 *   npx tsx tests/reliability/report.ts
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAULT_SCENARIOS } from './faults/scenarios';
import { readResult, readScenarioResults, type LoadResult, type ScenarioResult, type SecretsResult } from './faults/results';
import { badInputReport } from './report-bad-input';

const ROOT = join(__dirname, '..', '..');
const REPORT = join(__dirname, 'REPORT.md');
const STALE_MS = 12 * 3600_000;

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface AuditSummary {
  line: string;
  ok: boolean | undefined;
}

/** `npm audit --omit=dev --json`, summarized; offline or refused by the registry is reported as such, not as a pass. */
function npmAudit(): AuditSummary {
  const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  let json: { metadata?: { vulnerabilities?: Record<string, number>; dependencies?: { prod?: number; total?: number } }; message?: string; error?: { summary?: string } } | undefined;
  try {
    json = JSON.parse(run.stdout || '{}');
  } catch {
    json = undefined;
  }
  const vulnerabilities = json?.metadata?.vulnerabilities;
  if (vulnerabilities) {
    const total = Object.entries(vulnerabilities).filter(([level]) => level !== 'total').reduce((sum, [, n]) => sum + n, 0);
    const levels = Object.entries(vulnerabilities).filter(([level, n]) => level !== 'total' && n > 0).map(([level, n]) => `${n} ${level}`);
    const deps = json?.metadata?.dependencies;
    return {
      ok: total === 0,
      line: `${total === 0 ? 'no known vulnerabilities' : levels.join(', ')} in ${deps?.prod ?? '?'} production dependencies (exit ${run.status}).`,
    };
  }
  const reason = json?.message ?? json?.error?.summary ?? (run.error ? run.error.message : run.stderr.trim().split('\n').pop() ?? `exit ${run.status}`);
  return { ok: undefined, line: `could not run: ${cell(reason)} (exit ${run.status}). The registry this machine reaches answers the advisory endpoint with an error, so no result; run it where registry.npmjs.org is reachable.` };
}

function faultSection(results: Map<string, ScenarioResult>): { markdown: string; ok: boolean; totals: Record<string, number> } {
  const totals = { scenarios: FAULT_SCENARIOS.length, run: 0, passed: 0, filesExpected: 0, archivedOnce: 0, failedThenRedriven: 0, lost: 0, duplicated: 0, wrongObjects: 0 };
  const rows = ['| scenario | store | fault | expected | observed | files | archived once | failed → re-driven | lost | duplicated | wrong objects | result | time |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|'];
  const now = Date.now();
  let stale = 0;
  for (const scenario of FAULT_SCENARIOS) {
    const result = results.get(scenario.id);
    if (!result) {
      rows.push(`| ${cell(scenario.name)} | ${scenario.store} | ${cell(scenario.fault)} | ${cell(scenario.expected)} | — | ${scenario.fileSizes.length} | | | | | | ⛔ not run | |`);
      continue;
    }
    totals.run++;
    if (now - Date.parse(result.finishedAt) > STALE_MS) stale++;
    if (result.passed) totals.passed++;
    const c = result.counts;
    totals.filesExpected += c.filesExpected;
    totals.archivedOnce += c.archivedOnce;
    totals.failedThenRedriven += c.failedThenRedriven;
    totals.lost += c.lost;
    totals.duplicated += c.duplicated;
    totals.wrongObjects += c.wrongObjects;
    const observed = result.passed ? result.observed : `${result.observed} — **problems:** ${result.problems.join('; ')}`;
    rows.push(
      `| ${cell(scenario.name)} | ${scenario.store} | ${cell(scenario.fault)} | ${cell(scenario.expected)} | ${cell(observed)} | ${c.filesExpected} | ${c.archivedOnce} | ${c.failedThenRedriven} | ${c.lost} | ${c.duplicated} | ${c.wrongObjects} | ${result.passed ? '✅' : '❌'} | ${seconds(result.durationMs)} |`,
    );
  }
  const times = [...results.values()].map((r) => r.finishedAt).sort();
  const ok = totals.run === totals.scenarios && totals.passed === totals.scenarios && totals.lost === 0 && totals.duplicated === 0 && totals.wrongObjects === 0;
  const markdown = [
    '## Faults through the single-machine runtime',
    '',
    'Each scenario runs the real runtime (in process, or `zoom-archiver serve` as a child where it is killed) against the Zoom simulator and a folder or an s3rver bucket, then inspects what is stored: the audit trail, the ledger, the simulator’s download counts, and every object in the archive read back and hashed with SHA-256. Every recording also carries a chat file the rules do not select, which must not be archived. Failed files are re-driven with `zoom-archiver retry --failed` (the CLI, in a child process) after the fault is cleared.',
    '',
    '- **archived once**: exactly one FileUploaded, one object under the file’s key with the bytes Zoom served, ledger `uploaded`, no download after that.',
    '- **failed → re-driven**: first FileUploadFailed with the expected code and `retryable` flag (and nothing under the key, no `.partial`), then archived once after `retry`.',
    '- **lost**: expected but not archived at the end. **duplicated**: more than one FileUploaded, a download after archiving, or more completed downloads than the fault explains. **wrong objects**: an object no eligible file owns, bytes that differ, or a `.partial` left.',
    '',
    `Results from ${times[0] ?? '—'} to ${times[times.length - 1] ?? '—'}${stale > 0 ? ` (**${stale} older than 12 hours**)` : ''}.`,
    '',
    rows.join('\n'),
  ].join('\n');
  return { markdown, ok, totals };
}

function loadSection(load: LoadResult | undefined): { markdown: string; ok: boolean } {
  if (!load) return { ok: false, markdown: '## Load\n\n⛔ not run (tests/reliability/load.long.test.ts writes .results/load.json).' };
  const l = load.latencyMs;
  const rows = [
    '| figure | value |',
    '|---|---|',
    `| deliveries | ${load.deliveries} signed \`recording.completed\` (${load.distinctRecordings} distinct recordings + ${load.duplicateDeliveries} duplicates, interleaved) |`,
    `| recordings | ${load.courseRecordings} course meetings with one ${load.fileBytes / 1024} KiB MP4 each, ${load.nonCourseRecordings} staff meetings (rejected) |`,
    `| client | ${load.concurrency} deliveries in flight; ${load.client}; the server runs with UPLOAD_CONCURRENCY=${load.uploadConcurrency} |`,
    `| answers | ${Object.entries(load.statuses).map(([s, n]) => `${n} × ${s}`).join(', ')} |`,
    `| latency (ms) | min ${l.min} · p50 ${l.p50} · p90 ${l.p90} · p99 ${l.p99} · **max ${l.max}** · mean ${l.mean} |`,
    `| sending | ${load.sendSeconds} s (${load.deliveriesPerSecond} deliveries/s) |`,
    `| bus drained | ${load.drainedSeconds} s after the first delivery |`,
    `| RecordingAvailable audited | ${load.recordingAvailableEvents} (= deliveries) |`,
    `| course recordings archived once (1 RecordingArchived, 1 FileUploaded, 1 download, bytes match) | ${load.archivedOnce} of ${load.courseRecordings} |`,
    `| staff meetings rejected (not_course_meeting, nothing requested) | ${load.rejected} of ${load.nonCourseRecordings} |`,
    `| files duplicated / recordings not processed | ${load.duplicatedFiles} / ${load.notProcessed} |`,
    `| staff meetings delivered twice whose RecordingRejected was published twice | ${load.rejectedMoreThanOnce} (known issue, see below) |`,
    ...(load.keepAlivePass
      ? [
          `| second pass: the same 2,000 over ${load.concurrency} keep-alive connections (recorded, not asserted) | ${Object.entries(load.keepAlivePass.statuses).map(([s, n]) => `${n} × ${s}`).join(', ')}; latency p50 ${load.keepAlivePass.latencyMs.p50} · p99 ${load.keepAlivePass.latencyMs.p99} · max ${load.keepAlivePass.latencyMs.max} ms; ${load.keepAlivePass.downloadsAgain} files downloaded again |`,
        ]
      : []),
    ...(load.machine ? [`| machine | ${load.machine.cpus} CPUs, shared with other work; load average (1/5/15 min) ${load.machine.loadBefore} before, ${load.machine.loadAfter} after |`] : []),
  ];
  const problems = load.problems.length > 0 ? [`**Problems:** ${load.problems.map(cell).join('; ')}`, ''] : [];
  return {
    ok: load.passed,
    markdown: [
      '## Load',
      '',
      `\`zoom-archiver serve\` as a child process, 2,000 deliveries at concurrency 100. ${load.passed ? '✅ every answer 2xx within 3 s, every recording decided once.' : '❌ see problems.'}`,
      '',
      rows.join('\n'),
      '',
      ...problems,
      `Each delivery opens its own connection: Zoom's deliveries are independent requests, and the test does not assume they share connections. With 100 keep-alive connections opened at once against a freshly started, busy server, separate runs on this machine saw the last connections of the burst accepted only after up to ~4 s (p50 ~0.1 s); a bare node:http server doing 1–3 ms of work per request shows the same (max 2.8–4.7 s), so it is Node accepting new connections slowly while busy with established ones, not the webhook. A reverse proxy in front of \`serve\` that opens a large upstream pool at once can see it; a warm pool (the second pass) does not.`,
      '',
      '**Known issue — a rejection is not deduplicated.** A staff meeting delivered twice is rejected twice: course validation publishes a RecordingRejected for every RecordingAvailable (both with the same idempotency key, `RecordingRejected:{trigger}:{recordingId}:{part}/{parts}:{reason}`), and the audit, keyed by bus event id, records both, so the audit trail (and `status`) lists the rejection twice. Archived recordings are not affected (the ledger decides FileUploaded and RecordingArchived once). The load check counts a rejected recording as decided once when all its rejections agree, and reports the repeats in the table.',
    ].join('\n'),
  };
}

function secretsSection(secrets: SecretsResult | undefined): { markdown: string; ok: boolean } {
  if (!secrets) return { ok: false, markdown: '## Secrets\n\n⛔ not run (tests/reliability/secrets.test.ts writes .results/secrets.json).' };
  const needles = secrets.needles.map((n) => `${n.count} × ${n.kind}`).join(', ');
  const haystacks = secrets.haystacks.map((h) => `${h.name} (${h.bytes.toLocaleString('en')} bytes)`).join('; ');
  return {
    ok: secrets.passed,
    markdown: [
      '## Secrets',
      '',
      `${secrets.passed ? '✅' : '❌'} After an end-to-end run of \`zoom-archiver serve\` at LOG_LEVEL=DEBUG (signed deliveries with download tokens, an expired token and OAuth, a refused token, a revoked OAuth token, an HTML page failing a file that \`retry\` then archived, a rejected meeting, a late duplicate, a forged signature, endpoint validation), **${secrets.leaks.length} leaks**.`,
      '',
      `- searched for, by value: ${needles}`,
      `- searched in: ${haystacks}`,
      `- controls: ${secrets.controls.map(cell).join('; ')}`,
      ...(secrets.leaks.length > 0 ? [`- **leaks:** ${secrets.leaks.map((l) => `${l.needle} in ${l.haystack}`).join('; ')}`] : []),
    ].join('\n'),
  };
}

async function main(): Promise<number> {
  const results = new Map(readScenarioResults().map((r) => [r.id, r]));
  const faults = faultSection(results);
  const badInput = await badInputReport();
  const load = loadSection(readResult<LoadResult>('load'));
  const secrets = secretsSection(readResult<SecretsResult>('secrets'));
  const audit = npmAudit();
  const t = faults.totals;

  const summary = [
    '| total | count |',
    '|---|---|',
    `| fault scenarios run | ${t.run} of ${t.scenarios} |`,
    `| fault scenarios passed | ${t.passed} |`,
    `| files expected | ${t.filesExpected} |`,
    `| archived once, byte-identical | ${t.archivedOnce} |`,
    `| of which failed with the right reason, then re-driven by \`retry\` | ${t.failedThenRedriven} |`,
    `| **files lost** | **${t.lost}** |`,
    `| **files duplicated** | **${t.duplicated}** |`,
    `| wrong or partial objects under a key | ${t.wrongObjects} |`,
    `| bad-input cases passed | ${badInput.passed} of ${badInput.total} |`,
    `| load | ${load.ok ? 'passed' : 'not passed'} |`,
    `| secrets | ${secrets.ok ? 'no leak' : 'not passed'} |`,
    `| npm audit --omit=dev | ${audit.ok === undefined ? 'not available' : audit.ok ? 'clean' : 'findings'} |`,
  ].join('\n');

  const markdown = [
    '# Reliability report',
    '',
    `Generated by \`npm run test:reliability\` (tests/reliability/report.ts) on ${new Date().toISOString()}, Node ${process.version}, ${cpus().length} CPUs.`,
    '',
    summary,
    '',
    faults.markdown,
    '',
    badInput.markdown,
    '',
    load.markdown,
    '',
    secrets.markdown,
    '',
    '## npm audit --omit=dev',
    '',
    audit.line,
    '',
  ].join('\n');
  writeFileSync(REPORT, markdown);
  console.log(summary);
  console.log(`\nwrote ${REPORT}`);
  return faults.ok && badInput.passed === badInput.total && load.ok && secrets.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
