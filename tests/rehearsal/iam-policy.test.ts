/**
 * The rehearsal's IAM evaluation (support/iam-policy.ts), case by case from IAM's
 * evaluation rules: an explicit Deny wins, Allow needs action + resource + conditions,
 * wildcards, NotAction/NotResource, the condition operators the stack uses, and keys
 * the call does not carry.
 */
import { evaluate, globToRegExp, type PolicyStatement } from './support/iam-policy';

const TABLE = 'arn:aws:dynamodb:us-east-1:123456789012:table/ledger';
const allowPut: PolicyStatement = { Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:GetItem'], Resource: TABLE };

describe('actions and resources', () => {
  it.each([
    ['the exact action', 'dynamodb:PutItem', TABLE, true],
    ['an action of another case (actions are case-insensitive)', 'DynamoDB:putitem', TABLE, true],
    ['an action the statement does not list', 'dynamodb:DeleteItem', TABLE, false],
    ['another table', 'dynamodb:PutItem', 'arn:aws:dynamodb:us-east-1:123456789012:table/audit', false],
    ['the table\'s index (a different resource)', 'dynamodb:PutItem', `${TABLE}/index/group`, false],
    ['a resource of another case (resources are case-sensitive)', 'dynamodb:PutItem', TABLE.toUpperCase(), false],
  ])('%s', (_what, action, resource, allowed) => {
    expect(evaluate([allowPut], { action, resource }).allowed).toBe(allowed);
  });

  it('matches * across / and : in resources, and ? as one character', () => {
    const statement: PolicyStatement = { Effect: 'Allow', Action: 's3:Get*', Resource: 'arn:aws:s3:::archive/courses/*' };
    expect(evaluate([statement], { action: 's3:GetObject', resource: 'arn:aws:s3:::archive/courses/BIO101/2026/a:b.mp4' }).allowed).toBe(true);
    expect(evaluate([statement], { action: 's3:PutObject', resource: 'arn:aws:s3:::archive/courses/x' }).allowed).toBe(false);
    expect(evaluate([statement], { action: 's3:GetObject', resource: 'arn:aws:s3:::archive/other/x' }).allowed).toBe(false);
    expect(globToRegExp('secret:zoom-??????', false).test('secret:zoom-AbC123')).toBe(true);
    expect(globToRegExp('secret:zoom-??????', false).test('secret:zoom-AbC12')).toBe(false);
  });

  it('treats regex characters in patterns literally', () => {
    const statement: PolicyStatement = { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::a.b/(x)+' };
    expect(evaluate([statement], { action: 's3:GetObject', resource: 'arn:aws:s3:::a.b/(x)+' }).allowed).toBe(true);
    expect(evaluate([statement], { action: 's3:GetObject', resource: 'arn:aws:s3:::aXb/xx' }).allowed).toBe(false);
  });

  it('NotAction and NotResource allow everything but what they name', () => {
    const statement: PolicyStatement = { Effect: 'Allow', NotAction: 's3:Delete*', NotResource: 'arn:aws:s3:::archive/private/*' };
    expect(evaluate([statement], { action: 's3:PutObject', resource: 'arn:aws:s3:::archive/a' }).allowed).toBe(true);
    expect(evaluate([statement], { action: 's3:DeleteObject', resource: 'arn:aws:s3:::archive/a' }).allowed).toBe(false);
    expect(evaluate([statement], { action: 's3:PutObject', resource: 'arn:aws:s3:::archive/private/a' }).allowed).toBe(false);
  });

  it('denies what no statement allows (implicit deny), naming the call', () => {
    const decision = evaluate([], { action: 'sqs:SendMessage', resource: 'arn:aws:sqs:us-east-1:123456789012:q' });
    expect(decision).toEqual({ allowed: false, reason: 'no statement allows sqs:SendMessage on arn:aws:sqs:us-east-1:123456789012:q' });
  });

  it('an explicit Deny wins over any Allow, in any order', () => {
    const deny: PolicyStatement = { Effect: 'Deny', Action: 'dynamodb:*', Resource: '*' };
    for (const statements of [[allowPut, deny], [deny, allowPut]]) {
      const decision = evaluate(statements, { action: 'dynamodb:PutItem', resource: TABLE });
      expect(decision.allowed).toBe(false);
      expect(decision.reason).toMatch(/explicitly denied/);
    }
  });
});

describe('conditions', () => {
  const leading: PolicyStatement = {
    Effect: 'Allow',
    Action: 'dynamodb:PutItem',
    Resource: TABLE,
    Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['delivery#*'] } },
  };

  it('ForAllValues:StringLike holds only when every value matches', () => {
    expect(evaluate([leading], { action: 'dynamodb:PutItem', resource: TABLE, context: { 'dynamodb:LeadingKeys': ['delivery#a', 'delivery#b'] } }).allowed).toBe(true);
    expect(evaluate([leading], { action: 'dynamodb:PutItem', resource: TABLE, context: { 'dynamodb:LeadingKeys': ['delivery#a', 'file#b'] } }).allowed).toBe(false);
  });

  it('ForAllValues holds for a missing key (IAM: an empty set), without calling it unevaluated', () => {
    const decision = evaluate([leading], { action: 'dynamodb:PutItem', resource: TABLE });
    expect(decision.allowed).toBe(true);
    expect(decision.unevaluatedConditions).toBeUndefined();
  });

  it('ForAnyValue holds when one value matches', () => {
    const any: PolicyStatement = { ...leading, Condition: { 'ForAnyValue:StringEquals': { 'dynamodb:LeadingKeys': ['x'] } } };
    expect(evaluate([any], { action: 'dynamodb:PutItem', resource: TABLE, context: { 'dynamodb:LeadingKeys': ['y', 'x'] } }).allowed).toBe(true);
    expect(evaluate([any], { action: 'dynamodb:PutItem', resource: TABLE, context: { 'dynamodb:LeadingKeys': ['y'] } }).allowed).toBe(false);
  });

  it('StringLike on s3:prefix; a key the call does not carry is reported unevaluated, not failed', () => {
    const list: PolicyStatement = { Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::archive', Condition: { StringLike: { 's3:prefix': ['courses/*'] } } };
    expect(evaluate([list], { action: 's3:ListBucket', resource: 'arn:aws:s3:::archive', context: { 's3:prefix': 'courses/BIO101/' } }).allowed).toBe(true);
    expect(evaluate([list], { action: 's3:ListBucket', resource: 'arn:aws:s3:::archive', context: { 's3:prefix': '' } }).allowed).toBe(false);
    const unknown = evaluate([list], { action: 's3:ListBucket', resource: 'arn:aws:s3:::archive' });
    expect(unknown).toMatchObject({ allowed: true, unevaluatedConditions: ['s3:prefix'] });
  });

  it('Bool and NumericLessThan, as the bucket policy\'s TLS Denies use them', () => {
    const denyPlain: PolicyStatement = { Effect: 'Deny', Action: 's3:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } };
    const denyOldTls: PolicyStatement = { Effect: 'Deny', Action: 's3:*', Resource: '*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } };
    const allow: PolicyStatement = { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' };
    const call = (context: Record<string, string>) => evaluate([allow, denyPlain, denyOldTls], { action: 's3:GetObject', resource: 'arn:aws:s3:::a/b', context }).allowed;
    expect(call({ 'aws:SecureTransport': 'true', 's3:TlsVersion': '1.3' })).toBe(true);
    expect(call({ 'aws:SecureTransport': 'false', 's3:TlsVersion': '1.3' })).toBe(false);
    expect(call({ 'aws:SecureTransport': 'true', 's3:TlsVersion': '1.1' })).toBe(false);
  });

  it('ArnEquals on aws:SourceArn, StringNotEquals, IfExists and Null', () => {
    const rule = 'arn:aws:events:us-east-1:123456789012:rule/bus/Uploader';
    const send: PolicyStatement = { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: '*', Condition: { ArnEquals: { 'aws:SourceArn': rule } } };
    expect(evaluate([send], { action: 'sqs:SendMessage', resource: 'q', context: { 'aws:SourceArn': rule } }).allowed).toBe(true);
    expect(evaluate([send], { action: 'sqs:SendMessage', resource: 'q', context: { 'aws:SourceArn': `${rule}2` } }).allowed).toBe(false);
    const notEquals: PolicyStatement = { Effect: 'Allow', Action: '*', Resource: '*', Condition: { StringNotEquals: { 'aws:PrincipalServiceName': 'events.amazonaws.com' } } };
    expect(evaluate([notEquals], { action: 'a:b', resource: 'r', context: { 'aws:PrincipalServiceName': 'events.amazonaws.com' } }).allowed).toBe(false);
    expect(evaluate([notEquals], { action: 'a:b', resource: 'r', context: { 'aws:PrincipalServiceName': 'lambda.amazonaws.com' } }).allowed).toBe(true);
    const ifExists: PolicyStatement = { Effect: 'Allow', Action: '*', Resource: '*', Condition: { StringEqualsIfExists: { 'x:k': 'v' } } };
    expect(evaluate([ifExists], { action: 'a:b', resource: 'r' })).toMatchObject({ allowed: true });
    expect(evaluate([ifExists], { action: 'a:b', resource: 'r', context: { 'x:k': 'w' } }).allowed).toBe(false);
    const isNull: PolicyStatement = { Effect: 'Allow', Action: '*', Resource: '*', Condition: { Null: { 'x:k': 'true' } } };
    expect(evaluate([isNull], { action: 'a:b', resource: 'r' }).allowed).toBe(true);
    expect(evaluate([isNull], { action: 'a:b', resource: 'r', context: { 'x:k': 'v' } }).allowed).toBe(false);
  });

  it('refuses an operator it does not know rather than guess', () => {
    const odd: PolicyStatement = { Effect: 'Allow', Action: '*', Resource: '*', Condition: { DateLessThan: { 'aws:CurrentTime': '2030-01-01' } } };
    expect(() => evaluate([odd], { action: 'a:b', resource: 'r' })).toThrow(/DateLessThan/);
  });
});
