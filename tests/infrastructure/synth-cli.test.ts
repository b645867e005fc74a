/**
 * `npx cdk synth` exactly as an operator runs it, with no AWS credentials, profile or
 * region in the environment: proves the app synthesizes offline (no lookups), that
 * bin/app.ts bundles with local esbuild, and that cdk-nag (registered there) passes.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPO_ROOT = join(__dirname, '..', '..');

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('npx cdk synth', () => {
  let outdir: string;
  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'zoom-archiver-synth-'));
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('works offline with no AWS credentials or region, with cdk-nag passing', async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_') && !name.startsWith('CDK_')));
    const { code, output } = await run('npx', ['--no-install', 'cdk', 'synth', '--quiet', '--no-notices', '--output', outdir], {
      ...env,
      // Keep the CLI from trying the network (version check, telemetry) on a machine without it.
      CDK_DISABLE_VERSION_CHECK: 'true',
      CDK_DISABLE_CLI_TELEMETRY: 'true',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    expect({ code, output: code === 0 ? '' : output }).toEqual({ code: 0, output: '' });

    const template = JSON.parse(readFileSync(join(outdir, 'ZoomArchiver.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Metadata?: Record<string, unknown> }> };
    const types = Object.values(template.Resources).map((r) => r.Type);
    expect(types.filter((t) => t === 'AWS::Lambda::Function')).toHaveLength(8);
    // cdk-nag ran (its acknowledgements are written into the template) and reported nothing.
    expect(Object.values(template.Resources).some((r) => r.Metadata?.cdk_nag !== undefined)).toBe(true);
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: { violations?: unknown[] }[] };
    expect(report.pluginReports.flatMap((p) => p.violations ?? [])).toEqual([]);
    expect(existsSync(join(outdir, 'ZoomArchiver.assets.json'))).toBe(true);
  }, 180_000);
});
