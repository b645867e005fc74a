/**
 * Fault scenarios through the single-machine runtime with the folder archive (issue
 * 9, part 1, the quick half; the S3 half and the process kill are in
 * s3.long.test.ts). Scenarios run concurrently, each with its own simulator, runtime
 * and data folder. Also checks that the judge itself can fail.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DetailType } from '../../../shared/events';
import { dataPaths } from '../../../host/paths';
import { runScenario } from './runner';
import { FAULT_SCENARIOS, expectedCounts, type FaultScenario } from './scenarios';

const FOLDER = FAULT_SCENARIOS.filter((s) => s.store === 'folder');

describe('fault scenarios, folder store', () => {
  it('covers every fault the issue names', () => {
    const ids = FOLDER.map((s) => s.id.split('/')[1]);
    expect(ids).toEqual(
      expect.arrayContaining(['reset-10', 'reset-50', 'reset-99', '5xx-burst', '429-retry-after', '429-no-retry-after', 'oauth-recovers', 'expired-download-token', 'slow-drip', 'html-200', 'wrong-size', 'duplicates']),
    );
    expect(new Set(FAULT_SCENARIOS.map((s) => s.id)).size).toBe(FAULT_SCENARIOS.length);
  });

  it.concurrent.each(FOLDER.map((s) => [s.id, s] as const))(
    '%s',
    async (_id, scenario) => {
      const result = await runScenario(scenario);

      expect(result.problems).toEqual([]);
      expect(result.counts).toEqual(expectedCounts(scenario, result.counts.failedThenRedriven));
    },
    120_000,
  );
});

describe('the fault judge can fail', () => {
  const base = FOLDER.find((s) => s.id === 'folder/reset-50')!;

  it('reports a file that ends failed as lost', async () => {
    const gone: FaultScenario = { ...base, id: 'folder/judge-404', expect: { kind: 'archived' }, arrange: (ctx) => ctx.simulator.setFault(ctx.files[0]!.fileId, { status: 404 }) };

    const result = await runScenario(gone, { record: false });

    expect(result.passed).toBe(false);
    expect(result.counts).toMatchObject({ filesExpected: 1, archivedOnce: 0, lost: 1 });
    expect(result.problems).toEqual(expect.arrayContaining([expect.stringMatching(/unexpected FileUploadFailed not_found/)]));
  }, 60_000);

  it('reports an object under the final key with the wrong bytes, a stray object and a leftover .partial', async () => {
    const result = await runScenario(
      { ...base, id: 'folder/judge-tamper' },
      {
        record: false,
        async tamper(ctx) {
          const root = dataPaths(ctx.rig.dataDir).archive;
          const [uploaded] = (await ctx.rig.history(ctx.recording.uuid)).filter((r) => r.detailType === DetailType.FileUploaded);
          const key = String(uploaded!.data.key);
          writeFileSync(join(root, key), 'not the recording');
          mkdirSync(join(root, 'elsewhere'), { recursive: true });
          writeFileSync(join(root, 'elsewhere', 'stray.mp4'), 'stray');
          writeFileSync(join(dirname(join(root, key)), '.leftover.abc.partial'), 'half');
        },
      },
    );

    expect(result.passed).toBe(false);
    expect(result.counts).toMatchObject({ archivedOnce: 0, wrongObjects: 3 });
  }, 60_000);
});
