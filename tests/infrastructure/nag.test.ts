/**
 * cdk-nag's AwsSolutions pack on the stack (cdk-nag 3: a CDK policy-validation
 * plugin; findings are acknowledged with Validations.of(construct).acknowledge).
 * Zero unacknowledged findings, every acknowledgement has a written reason, and none
 * is stale: each one silences a finding that really exists — for the default stack
 * and for one with every opt-in part deployed (clean-up in Zoom). Bundling is skipped:
 * the rules look at resource properties, not at the code.
 */
import { App, Validations } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { ArchiverStack, type ArchiverStackProps } from '../../infrastructure/archiver-stack';

const unbundled = () => new App({ context: { 'aws:cdk:bundling-stacks': [] } });

/** rule id -> construct paths of the resources it was raised on. */
function findings(scope: IConstruct): Map<string, string[]> {
  const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(scope);
  return new Map(report.violations.map((v) => [v.ruleName, v.violatingResources.map((r) => r.constructPath ?? r.resourceLogicalId ?? '')]));
}

interface Acknowledgement {
  path: string;
  id: string;
  reason: string;
}

function acknowledgements(scope: IConstruct): Acknowledgement[] {
  return scope.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id: id.replace(/^annotation::/i, ''), reason })),
      ),
  );
}

const VARIANTS: [string, ArchiverStackProps][] = [
  ['the default stack', {}],
  ['clean-up in Zoom on', { courseRules: { json: { cleanup: { trashInZoom: 'on' } }, source: 'test rules' } }],
];

describe.each(VARIANTS)('cdk-nag AwsSolutions: %s', (_name, props) => {
  let stack: ArchiverStack;
  beforeAll(() => {
    stack = new ArchiverStack(unbundled(), 'Nag', props);
  });

  it('reports no unacknowledged error or warning', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
    const described = report.violations.map((v) => `${v.severity} ${v.ruleName}: ${v.description} @ ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    expect(described).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('gives every acknowledgement an AwsSolutions rule id and a written reason', () => {
    const acks = acknowledgements(stack);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.id).toMatch(/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      expect(ack.reason.length).toBeGreaterThanOrEqual(80);
    }
  });

  it('has no stale acknowledgement: each one silences a finding raised without it, on a resource below it', () => {
    const acks = acknowledgements(stack);
    const spy = jest.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => undefined);
    let raw: Map<string, string[]>;
    try {
      raw = findings(new ArchiverStack(unbundled(), 'Nag', props));
    } finally {
      spy.mockRestore();
    }
    for (const ack of acks) {
      const paths = raw.get(ack.id) ?? [];
      expect({ ack: `${ack.id} @ ${ack.path}`, silences: paths.some((p) => p.startsWith(`${ack.path}/`)) }).toEqual({
        ack: `${ack.id} @ ${ack.path}`,
        silences: true,
      });
    }
    // ...and every raw finding is covered by one of them (the first test, seen from the other side).
    for (const [id, paths] of raw) {
      for (const path of paths) {
        expect({ finding: `${id} @ ${path}`, acknowledged: acks.some((a) => a.id === id && path.startsWith(`${a.path}/`)) }).toEqual({
          finding: `${id} @ ${path}`,
          acknowledged: true,
        });
      }
    }
  });
});

describe('cdk-nag AwsSolutions gate', () => {
  it('stops synthesis when a finding is not acknowledged (how bin/app.ts registers the pack)', () => {
    const app = unbundled();
    const gated = new ArchiverStack(app, 'Gate');
    new Queue(gated, 'Careless', { encryption: QueueEncryption.UNENCRYPTED });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }));
    let message = '';
    try {
      app.synth();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/AwsSolutions-SQS2/);
    // Only the careless queue is reported: the stack's own resources pass.
    expect([...message.matchAll(/^\s+(Gate\/\S+)/gm)].map((m) => m[1])).toEqual(Array(3).fill('Gate/Careless/Resource'));
  }, 60_000);
});
