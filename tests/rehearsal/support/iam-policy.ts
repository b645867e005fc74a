/**
 * IAM policy evaluation for the rehearsal's replay: does a statement list (a role's
 * identity policies, or a resource policy's statements, intrinsics already resolved to
 * strings) allow one call? The rules are IAM's own
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
 * an explicit Deny wins, then any Allow whose action, resource and conditions match;
 * nothing matching is an implicit deny.
 *
 * - Actions match case-insensitively, with `*` and `?` wildcards (`s3:*`, `s3:Get*`).
 * - Resources match case-sensitively, `*` and `?` crossing `/` and `:` as in IAM.
 * - Conditions: the String*, Arn*, Numeric*, Bool and Null operators, `…IfExists`, and
 *   the `ForAllValues:` / `ForAnyValue:` set prefixes. A condition key the call's
 *   context does not carry is IAM's "missing key": `…IfExists` and `ForAllValues:` hold,
 *   `Null: true` holds, anything else could not be evaluated from what the rehearsal
 *   knows — it is listed in `unevaluatedConditions` and treated as holding, so that a
 *   key the rehearsal cannot observe never fails a test by itself (the replay reports it).
 */

export interface PolicyStatement {
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

export interface IamCall {
  /** e.g. 'dynamodb:PutItem', 's3:PutObject' */
  action: string;
  /** The resource ARN the call touches. */
  resource: string;
  /** Condition-key values known for this request; absent keys are unknown. */
  context?: Record<string, string | string[]>;
}

export interface Decision {
  allowed: boolean;
  /** Which statement allowed it, which Deny matched, or that nothing allowed it. */
  reason: string;
  /** The Allow statement that matched (when allowed). */
  statement?: PolicyStatement;
  /** Condition keys of the deciding statement that the context did not carry (treated as holding). */
  unevaluatedConditions?: string[];
}

export function evaluate(statements: readonly PolicyStatement[], call: IamCall): Decision {
  let allow: { statement: PolicyStatement; unevaluated: string[]; index: number } | undefined;
  for (const [index, statement] of statements.entries()) {
    if (!actionMatches(statement, call.action) || !resourceMatches(statement, call.resource)) continue;
    const conditions = conditionsHold(statement.Condition, call.context ?? {});
    if (!conditions.hold) continue;
    if (statement.Effect === 'Deny') {
      return {
        allowed: false,
        reason: `explicitly denied by statement ${index} (${describe(statement)})`,
        statement,
        ...(conditions.unevaluated.length ? { unevaluatedConditions: conditions.unevaluated } : {}),
      };
    }
    if (statement.Effect === 'Allow' && allow === undefined) allow = { statement, unevaluated: conditions.unevaluated, index };
  }
  if (!allow) return { allowed: false, reason: `no statement allows ${call.action} on ${call.resource}` };
  return {
    allowed: true,
    reason: `allowed by statement ${allow.index} (${describe(allow.statement)})`,
    statement: allow.statement,
    ...(allow.unevaluated.length ? { unevaluatedConditions: allow.unevaluated } : {}),
  };
}

const list = (value: string | string[] | undefined): string[] | undefined => (value === undefined ? undefined : [value].flat().map(String));

function describe(statement: PolicyStatement): string {
  const actions = list(statement.Action) ?? list(statement.NotAction)?.map((a) => `not ${a}`) ?? [];
  return `${statement.Effect} ${actions.join(', ')}`;
}

/** A glob of IAM's (`*` any run, `?` one character) as a RegExp. */
export function globToRegExp(pattern: string, caseInsensitive: boolean): RegExp {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, caseInsensitive ? 'is' : 's');
}

const globMatch = (pattern: string, value: string, caseInsensitive = false) => globToRegExp(pattern, caseInsensitive).test(value);

function actionMatches(statement: PolicyStatement, action: string): boolean {
  const actions = list(statement.Action);
  if (actions) return actions.some((pattern) => globMatch(pattern, action, true));
  const notActions = list(statement.NotAction);
  if (notActions) return !notActions.some((pattern) => globMatch(pattern, action, true));
  return false;
}

function resourceMatches(statement: PolicyStatement, resource: string): boolean {
  const resources = list(statement.Resource);
  if (resources) return resources.some((pattern) => globMatch(pattern, resource));
  const notResources = list(statement.NotResource);
  if (notResources) return !notResources.some((pattern) => globMatch(pattern, resource));
  return false;
}

type ValueTest = (expected: string, actual: string) => boolean;

const number = (text: string) => (text.trim() === '' ? NaN : Number(text));
const OPERATORS: Record<string, { test: ValueTest; negated?: boolean }> = {
  StringEquals: { test: (e, a) => e === a },
  StringNotEquals: { test: (e, a) => e === a, negated: true },
  StringEqualsIgnoreCase: { test: (e, a) => e.toLowerCase() === a.toLowerCase() },
  StringNotEqualsIgnoreCase: { test: (e, a) => e.toLowerCase() === a.toLowerCase(), negated: true },
  StringLike: { test: (e, a) => globMatch(e, a) },
  StringNotLike: { test: (e, a) => globMatch(e, a), negated: true },
  ArnEquals: { test: (e, a) => globMatch(e, a) },
  ArnLike: { test: (e, a) => globMatch(e, a) },
  ArnNotEquals: { test: (e, a) => globMatch(e, a), negated: true },
  ArnNotLike: { test: (e, a) => globMatch(e, a), negated: true },
  Bool: { test: (e, a) => e.toLowerCase() === a.toLowerCase() },
  NumericEquals: { test: (e, a) => number(a) === number(e) },
  NumericNotEquals: { test: (e, a) => number(a) === number(e), negated: true },
  NumericLessThan: { test: (e, a) => number(a) < number(e) },
  NumericLessThanEquals: { test: (e, a) => number(a) <= number(e) },
  NumericGreaterThan: { test: (e, a) => number(a) > number(e) },
  NumericGreaterThanEquals: { test: (e, a) => number(a) >= number(e) },
};

function conditionsHold(condition: PolicyStatement['Condition'], context: Record<string, string | string[]>): { hold: boolean; unevaluated: string[] } {
  const unevaluated: string[] = [];
  for (const [operatorText, entries] of Object.entries(condition ?? {})) {
    let operator = operatorText;
    let set: 'all' | 'any' | undefined;
    if (operator.startsWith('ForAllValues:')) [set, operator] = ['all', operator.slice('ForAllValues:'.length)];
    else if (operator.startsWith('ForAnyValue:')) [set, operator] = ['any', operator.slice('ForAnyValue:'.length)];
    const ifExists = operator.endsWith('IfExists');
    if (ifExists) operator = operator.slice(0, -'IfExists'.length);
    for (const [key, expectedValue] of Object.entries(entries)) {
      const expected = [expectedValue].flat().map(String);
      const actualEntry = Object.entries(context).find(([name]) => name.toLowerCase() === key.toLowerCase())?.[1];
      const actual = actualEntry === undefined ? undefined : [actualEntry].flat().map(String);
      if (operator === 'Null') {
        const absent = actual === undefined || actual.length === 0;
        if (expected.some((e) => (e.toLowerCase() === 'true') === absent)) continue;
        return { hold: false, unevaluated };
      }
      const spec = OPERATORS[operator];
      if (!spec) throw new Error(`the rehearsal's IAM evaluation does not know the condition operator ${operatorText}`);
      if (actual === undefined || actual.length === 0) {
        if (ifExists || set === 'all') continue;
        unevaluated.push(key);
        continue;
      }
      const matchesOne = (value: string) => expected.some((e) => spec.test(e, value));
      let holds: boolean;
      if (set === 'all') holds = actual.every((value) => (spec.negated ? !matchesOne(value) : matchesOne(value)));
      else if (set === 'any') holds = actual.some((value) => (spec.negated ? !matchesOne(value) : matchesOne(value)));
      else holds = spec.negated ? !actual.some(matchesOne) : actual.some(matchesOne);
      if (!holds) return { hold: false, unevaluated };
    }
  }
  return { hold: true, unevaluated };
}
