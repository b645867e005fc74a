/**
 * Fault scenarios through the single-machine runtime with an S3 archive (s3rver), the
 * long half of issue 9, part 1: Zoom's faults again, plus the S3 endpoint failing and
 * going away mid-upload, and `zoom-archiver serve` killed -9 mid-upload. Each scenario
 * gets its own bucket (and, when it stops S3, its own s3rver). `npm run test:reliability`.
 */
import { runScenario } from './runner';
import { useS3rverCredentials } from './rig';
import { S3rverProcess } from './s3rver-process';
import { FAULT_SCENARIOS, expectedCounts } from './scenarios';

const S3 = FAULT_SCENARIOS.filter((s) => s.store === 's3');

describe('fault scenarios, S3 store (s3rver)', () => {
  let s3rver: S3rverProcess;
  let restoreCredentials: () => void;

  beforeAll(async () => {
    restoreCredentials = useS3rverCredentials();
    s3rver = await S3rverProcess.start();
  });
  afterAll(async () => {
    await s3rver?.stop();
    restoreCredentials?.();
  });

  it.concurrent.each(S3.map((s) => [s.id, s] as const))(
    '%s',
    async (_id, scenario) => {
      const result = await runScenario(scenario, { s3rver });

      expect(result.problems).toEqual([]);
      expect(result.counts).toEqual(expectedCounts(scenario, result.counts.failedThenRedriven));
    },
    180_000,
  );
});
