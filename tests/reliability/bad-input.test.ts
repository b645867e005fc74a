/**
 * Bad input against the real HTTP webhook (issue 9, part 2): every case of
 * bad-input-cases.ts through a real server, course validation and the uploader
 * wired to the Zoom simulator, then checks that the server is still healthy, that
 * the foreign host was never contacted, and that the judge itself can fail.
 *
 * Unhandled rejections: Jest 30 fails the running test on its own when one occurs
 * (a listener registered here is never called inside Jest's sandbox), and the
 * plain-Node report script (report-bad-input.ts) records them with a
 * process 'unhandledRejection' listener and fails on any.
 */
import { randomBytes } from 'node:crypto';
import { ZoomHttpDownloader } from '../../shared/adapters/zoom-download';
import { DetailType } from '../../shared/events';
import { archiveKeyProblems } from './archive-key-checks';
import { BAD_INPUT_CASES, type BadInputCase } from './bad-input-cases';
import { WEBHOOK_SECRET, startBadInputEnvironment, type BadInputEnvironment } from './bad-input-runner';

describe('bad input against the real HTTP webhook', () => {
  let env: BadInputEnvironment;

  beforeAll(async () => {
    env = await startBadInputEnvironment();
  });
  afterAll(() => env?.stop());

  it.each(BAD_INPUT_CASES.map((c) => [c.category, c.name, c] as const))('%s: %s', async (_category, _name, testCase) => {
    const result = await env.run(testCase);

    expect(result.problems).toEqual([]);
    expect(result.pass).toBe(true);
  });

  describe('afterwards', () => {
    it('answers /healthz and accepts a valid signed delivery', async () => {
      expect((await env.healthz()).status).toBe(200);
      const before = env.webhookBus.published.length;

      const answer = await env.deliverValid();

      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({ status: 'accepted' });
      expect(env.webhookBus.published.slice(before).map((e) => e.detailType)).toEqual([DetailType.RecordingAvailable]);
    });

    it('never connected to the foreign host and never logged the secret', () => {
      expect(env.foreign.connections()).toBe(0);
      expect(env.logLines.length).toBeGreaterThan(0);
      expect(env.logLines.filter((line) => line.includes(WEBHOOK_SECRET))).toEqual([]);
    });
  });

  // Last: these contact the foreign host on purpose.
  describe('the judge can fail', () => {
    const wrongSignature = BAD_INPUT_CASES.find((c) => c.name === 'wrong signature (random hex)')!;

    it('reports a case whose answer or published count differs from its expectation', async () => {
      const result = await env.run({ ...wrongSignature, expect: { status: 200, published: 1 } });

      expect(result.pass).toBe(false);
      expect(result.problems).toEqual([expect.stringMatching(/^answered 401, expected 200/), 'published 0 events, expected 1']);
    });

    it('reports a case during which the foreign host was contacted', async () => {
      const leaky: BadInputCase = {
        ...wrongSignature,
        build: async (ctx) => {
          await fetch(ctx.foreign.url('/leak'));
          return wrongSignature.build(ctx);
        },
      };

      const result = await env.run(leaky);

      expect(result.problems).toEqual(['the foreign host received 1 connection(s)']);
    });

    it('counts a real download from the foreign host when an allowlist lets it through', async () => {
      const before = env.foreign.connections();
      const permissive = new ZoomHttpDownloader({ allowlist: env.foreign.host.split(':')[0]!, idleTimeoutMs: 2_000 });

      const response = await permissive.open(env.foreign.url('/rec/download/x'), { token: randomBytes(8).toString('hex'), expectedSize: 4 });
      const chunks: Buffer[] = [];
      for await (const chunk of response.body) chunks.push(chunk as Buffer);

      expect(Buffer.concat(chunks).toString()).toBe('evil');
      expect(env.foreign.connections()).toBe(before + 1);
    });

    it('finds unsafe archive keys', () => {
      for (const key of ['../a.mp4', '/a.mp4', 'a//b.mp4', 'a/./b', 'a\u202Eb.mp4', 'a\u0000b', 'x'.repeat(1025), 'e\u0301.mp4', 'a:b']) {
        expect(archiveKeyProblems(key)).not.toEqual([]);
      }
      expect(archiveKeyProblems('courses/MAQ101/2021-07-13/a b.mp4')).toEqual([]);
    });
  });
});
