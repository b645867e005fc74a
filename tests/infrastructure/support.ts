/**
 * Helpers for the CDK tests: synthesize the stack (with or without bundling the
 * functions), find a function's resources by its service, read IAM statements, and
 * evaluate the few intrinsic functions the outputs use.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ArchiverStack, type ArchiverStackProps } from '../../infrastructure/archiver-stack';

export type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[]; DeletionPolicy?: string; UpdateReplacePolicy?: string };
export type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown; Principal?: unknown };

export interface Synthesized {
  app: App;
  stack: ArchiverStack;
  template: Template;
  resources: Record<string, Resource>;
}

/** `bundle: false` skips esbuild (asset contents do not matter to the test) and saves a few seconds. */
export function synthesize(props: ArchiverStackProps = {}, options: { bundle: boolean } = { bundle: true }): Synthesized {
  const app = new App(options.bundle ? {} : { context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new ArchiverStack(app, 'Test', props);
  const template = Template.fromStack(stack);
  return { app, stack, template, resources: template.toJSON().Resources as Record<string, Resource> };
}

export const SERVICES = ['webhook', 'course-validation', 'uploader', 'audit', 'uploader-recovery', 'reconciler', 'subscribers', 'subscriber-dispatch'] as const;
export type Service = (typeof SERVICES)[number];

/** Logical ids of a service's function, role and role policy (found by POWERTOOLS_SERVICE_NAME, not by name guessing). */
export function functionOf(s: Synthesized, service: Service): { functionId: string; fn: Resource; roleId: string; policyId: string; policy: Resource } {
  const matches = Object.entries(s.resources).filter(
    ([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === service,
  );
  if (matches.length !== 1) throw new Error(`expected one ${service} function, found ${matches.length}`);
  const [functionId, fn] = matches[0]!;
  const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const policies = Object.entries(s.resources).filter(
    ([, r]) => r.Type === 'AWS::IAM::Policy' && (r.Properties.Roles as { Ref: string }[]).some((role) => role.Ref === roleId),
  );
  if (policies.length !== 1) throw new Error(`expected one policy on the ${service} role, found ${policies.length}`);
  const [policyId, policy] = policies[0]!;
  return { functionId, fn, roleId, policyId, policy };
}

export function statementsOf(policy: Resource): Statement[] {
  return policy.Properties.PolicyDocument.Statement as Statement[];
}

export const actionsOf = (statement: Statement): string[] => [statement.Action].flat();

/** The logical ids a resource expression refers to (Ref / Fn::GetAtt, also inside Fn::Join). */
export function referencedIds(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(referencedIds);
  if (value && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (typeof object.Ref === 'string') return [object.Ref];
    const getAtt = object['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return [String(getAtt[0])];
    return Object.values(object).flatMap(referencedIds);
  }
  return [];
}

/** Evaluates Fn::Join / Fn::Select / Fn::Split with the given values for Ref and Fn::GetAtt ("Id.Attr"). */
export function evaluate(value: unknown, refs: Record<string, string>): string {
  if (typeof value === 'string') return value;
  const object = value as Record<string, any>;
  if (object.Ref !== undefined) return lookup(refs, object.Ref);
  if (object['Fn::GetAtt']) return lookup(refs, object['Fn::GetAtt'].join('.'));
  if (object['Fn::Join']) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => evaluate(part, refs)).join(separator);
  }
  if (object['Fn::Select']) {
    const [index, list] = object['Fn::Select'] as [number, unknown];
    const items = splitOf(list, refs);
    return items[Number(index)] ?? '';
  }
  throw new Error(`cannot evaluate ${JSON.stringify(value)}`);
}

function splitOf(value: unknown, refs: Record<string, string>): string[] {
  const split = (value as Record<string, any>)['Fn::Split'];
  if (!split) throw new Error(`expected Fn::Split, got ${JSON.stringify(value)}`);
  const [separator, source] = split as [string, unknown];
  return evaluate(source, refs).split(separator);
}

function lookup(refs: Record<string, string>, key: string): string {
  const found = refs[key];
  if (found === undefined) throw new Error(`no value given for ${key}`);
  return found;
}

/**
 * A function's grants as "action -> resource ids", ignoring X-Ray and its own log group
 * (which must be all the logs: actions touch). With `conditions: 'none'`, a statement
 * with a Condition fails the test (grants that must be unconditional).
 */
export function grants(s: Synthesized, service: Service, options: { conditions?: 'none' | 'any' } = {}): Record<string, string[]> {
  const { policy, fn } = functionOf(s, service);
  const logGroupId = fn.Properties.LoggingConfig.LogGroup.Ref as string;
  const out: Record<string, string[]> = {};
  for (const st of statementsOf(policy)) {
    expect(st.Effect).toBe('Allow');
    if (options.conditions === 'none') expect(st.Condition).toBeUndefined();
    const ids = referencedIds(st.Resource);
    for (const action of actionsOf(st)) {
      if (action.startsWith('xray:')) continue;
      if (action.startsWith('logs:')) {
        expect(ids).toEqual([logGroupId]);
        continue;
      }
      out[action] = [...(out[action] ?? []), ...ids].sort();
    }
  }
  return out;
}
