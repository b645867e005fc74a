/**
 * Altered copies of a synthesized template, to show that the rehearsal fails when the
 * stack is wrong in the ways only AWS would otherwise show: a renamed environment
 * variable, an IAM action removed, a wrong handler export, a rule that matches nothing,
 * a missing invoke permission. Each returns a new template; the bundles (assets) are
 * the synthesized ones.
 */
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { resourcesOfType, type CfnResource, type CfnTemplate, type SynthesizedApp } from './stack-template';

const copy = (template: CfnTemplate): CfnTemplate => JSON.parse(JSON.stringify(template)) as CfnTemplate;

/** The logical id of the function whose POWERTOOLS_SERVICE_NAME is `service`. */
export function functionIdOf(template: CfnTemplate, service: string): string {
  const found = resourcesOfType(template, 'AWS::Lambda::Function').filter(([, r]) => r.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === service);
  if (found.length !== 1) throw new Error(`expected one function of service ${service}, found ${found.length}`);
  return found[0]![0];
}

function fnOf(template: CfnTemplate, service: string): CfnResource {
  return template.Resources[functionIdOf(template, service)]!;
}

export function renameEnvironmentVariable(template: CfnTemplate, service: string, from: string, to: string): CfnTemplate {
  const out = copy(template);
  const variables = fnOf(out, service).Properties.Environment.Variables as Record<string, unknown>;
  if (!(from in variables)) throw new Error(`${service} has no variable ${from}`);
  variables[to] = variables[from];
  delete variables[from];
  return out;
}

/** Removes `action` from every statement of the function's role policies (a statement left with no action goes). */
export function removeIamAction(template: CfnTemplate, service: string, action: string): CfnTemplate {
  const out = copy(template);
  const roleId = fnOf(out, service).Properties.Role['Fn::GetAtt'][0] as string;
  let removed = 0;
  for (const [, policy] of resourcesOfType(out, 'AWS::IAM::Policy')) {
    if (!(policy.Properties.Roles ?? []).some((r: { Ref?: string }) => r.Ref === roleId)) continue;
    const document = policy.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] };
    document.Statement = document.Statement.flatMap((statement) => {
      const actions = [statement.Action].flat();
      const kept = actions.filter((a) => a !== action);
      removed += actions.length - kept.length;
      if (kept.length === 0) return [];
      return [{ ...statement, Action: kept.length === 1 ? kept[0]! : kept }];
    });
  }
  if (removed === 0) throw new Error(`${service}'s role has no ${action}`);
  return out;
}

export function setHandler(template: CfnTemplate, service: string, handler: string): CfnTemplate {
  const out = copy(template);
  fnOf(out, service).Properties.Handler = handler;
  return out;
}

/** The rule(s) whose target is the function, with their pattern's detail-type replaced. */
export function setRuleDetailType(template: CfnTemplate, service: string, detailTypes: string[]): CfnTemplate {
  const out = copy(template);
  const id = functionIdOf(out, service);
  const rules = resourcesOfType(out, 'AWS::Events::Rule').filter(([, r]) => r.Properties.EventPattern && JSON.stringify(r.Properties.Targets).includes(`"${id}"`));
  if (rules.length === 0) throw new Error(`no event rule targets ${service}`);
  for (const [, rule] of rules) rule.Properties.EventPattern['detail-type'] = detailTypes;
  return out;
}

/** Deletes the Lambda::Permission resources that let EventBridge invoke the function. */
export function removeInvokePermissions(template: CfnTemplate, service: string): CfnTemplate {
  const out = copy(template);
  const id = functionIdOf(out, service);
  const permissions = resourcesOfType(out, 'AWS::Lambda::Permission').filter(
    ([, p]) => p.Properties.Principal === 'events.amazonaws.com' && JSON.stringify(p.Properties.FunctionName).includes(`"${id}"`),
  );
  if (permissions.length === 0) throw new Error(`no permission lets EventBridge invoke ${service}`);
  for (const [permissionId] of permissions) delete out.Resources[permissionId];
  return out;
}

/**
 * A copy of the function's asset directory (inside the app's outdir, removed with it)
 * without `fileName`: a file the bundle loads at run time, left out of the asset.
 */
export function assetWithout(app: SynthesizedApp, service: string, fileName: string): string {
  const source = app.assetDirOf(fnOf(app.template, service));
  if (!existsSync(path.join(source, fileName))) throw new Error(`${service}'s asset has no ${fileName}`);
  const target = mkdtempSync(path.join(app.outdir, `altered-${service}-`));
  cpSync(source, target, { recursive: true });
  rmSync(path.join(target, fileName));
  return target;
}

/** Replaces a string value (e.g. a condition's pattern) wherever it appears in the function's role policies. */
export function replaceInPolicy(template: CfnTemplate, service: string, from: string, to: string): CfnTemplate {
  const out = copy(template);
  const roleId = fnOf(out, service).Properties.Role['Fn::GetAtt'][0] as string;
  let replaced = 0;
  const walk = (value: unknown): unknown => {
    if (value === from) {
      replaced++;
      return to;
    }
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    return value;
  };
  for (const [, policy] of resourcesOfType(out, 'AWS::IAM::Policy')) {
    if ((policy.Properties.Roles ?? []).some((r: { Ref?: string }) => r.Ref === roleId)) policy.Properties.PolicyDocument = walk(policy.Properties.PolicyDocument);
  }
  if (replaced === 0) throw new Error(`${service}'s policies hold no ${JSON.stringify(from)}`);
  return out;
}
