/**
 * Prints the bad-input suite as a Markdown table (category | case | expected | got |
 * pass), running the same cases as tests/reliability/bad-input.test.ts against a
 * real server. Exits 1 when a case fails, so it can gate `npm run test:reliability`.
 *
 *   npx tsx tests/reliability/report-bad-input.ts > bad-input.md
 */
import { BAD_INPUT_CASES } from './bad-input-cases';
import { startBadInputEnvironment, type CaseResult } from './bad-input-runner';

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');

export interface BadInputReport {
  /** The section as Markdown: heading, summary line, table, failures. */
  markdown: string;
  passed: number;
  total: number;
}

/** Runs every case against a real server and renders the section (report.ts includes it in REPORT.md). */
export async function badInputReport(): Promise<BadInputReport> {
  const unhandled: unknown[] = [];
  process.on('unhandledRejection', (reason) => unhandled.push(reason));
  const env = await startBadInputEnvironment();
  const results: CaseResult[] = [];
  try {
    for (const testCase of BAD_INPUT_CASES) results.push(await env.run(testCase));
    const health = await env.healthz();
    const valid = await env.deliverValid();
    results.push({
      category: 'afterwards',
      name: 'server healthy: GET /healthz, then a valid signed delivery',
      expected: '200 · 200',
      got: `${health.status} · ${valid.status}`,
      pass: health.status === 200 && valid.status === 200,
      problems: [],
    });
  } finally {
    await env.stop();
  }
  results.push({
    category: 'afterwards',
    name: 'no unhandled promise rejection',
    expected: '0',
    got: String(unhandled.length),
    pass: unhandled.length === 0,
    problems: unhandled.map(String),
  });

  const lines = ['| category | case | expected | got | pass |', '|---|---|---|---|---|'];
  for (const r of results) {
    lines.push(`| ${cell(r.category)} | ${cell(r.name)} | ${cell(r.expected)} | ${cell(r.got)} | ${r.pass ? '✅' : '❌'} |`);
  }
  const failed = results.filter((r) => !r.pass);
  const byCategory = new Map<string, number>();
  for (const r of results) byCategory.set(r.category, (byCategory.get(r.category) ?? 0) + 1);
  const out: string[] = [];
  out.push(`## Bad input against the HTTP webhook\n`);
  out.push(`${results.length - failed.length} of ${results.length} passed (${[...byCategory].map(([c, n]) => `${c}: ${n}`).join(', ')}).\n`);
  out.push(lines.join('\n'));
  if (failed.length > 0) {
    out.push('\n### Failures\n');
    for (const r of failed) out.push(`- **${cell(r.name)}**: ${r.problems.map(cell).join('; ')}`);
  }
  return { markdown: out.join('\n'), passed: results.length - failed.length, total: results.length };
}

async function main(): Promise<number> {
  const report = await badInputReport();
  console.log(report.markdown);
  return report.passed === report.total ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(2);
    },
  );
}
