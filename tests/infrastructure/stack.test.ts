/**
 * CDK assertions on the synthesized stack: what matters for security and for Zoom,
 * not resource counts. Bundles the functions with local esbuild (no Docker).
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ArchiverStack } from '../../infrastructure/archiver-stack';
import { EVENT_SOURCE } from '../../shared/events';

let template: Template;

beforeAll(() => {
  const app = new App();
  template = Template.fromStack(new ArchiverStack(app, 'Test'));
});

describe('webhook endpoint', () => {
  it('is a public Function URL (Zoom signs requests; the handler verifies them)', () => {
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE' });
  });

  it('runs Node 22 on arm64 with the bus and the secret ARN, never a secret value, in its environment', () => {
    const functions = template.findResources('AWS::Lambda::Function', {
      Properties: { Handler: 'index.handler', Environment: { Variables: { ZOOM_SECRETS_ARN: Match.anyValue() } } },
    });
    const [webhook] = Object.values(functions) as { Properties: Record<string, any> }[];
    expect(webhook).toBeDefined();
    expect(webhook!.Properties.Runtime).toBe('nodejs22.x');
    expect(webhook!.Properties.Architectures).toEqual(['arm64']);
    const variables = Object.keys(webhook!.Properties.Environment.Variables);
    expect(variables).toEqual(expect.arrayContaining(['EVENT_BUS_NAME', 'ZOOM_SECRETS_ARN']));
    expect(variables.filter((name) => /SECRET_TOKEN|CLIENT_SECRET|SEALING/.test(name))).toEqual([]);
  });

  it('may only put events on the product bus and read the Zoom secret', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } }[];
    const actions = policies.flatMap((p) => p.Properties.PolicyDocument.Statement.flatMap((s) => [s.Action].flat()));
    expect(actions.filter((a) => a.endsWith('*') && !a.startsWith('xray:'))).toEqual([]);
    expect(actions).toEqual(expect.arrayContaining(['events:PutEvents', 'secretsmanager:GetSecretValue']));
  });
});

describe('event bus', () => {
  it('archives every zoom-archiver event for replay', () => {
    template.hasResourceProperties('AWS::Events::Archive', {
      EventPattern: { source: [EVENT_SOURCE] },
      RetentionDays: 90,
    });
  });
});
