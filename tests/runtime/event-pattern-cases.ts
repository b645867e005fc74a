/**
 * The EventBridge pattern-matching cases the local matcher must agree with: events and
 * patterns taken from the EventBridge user guide, grouped by page (URL above each
 * group), limited to what the local bus implements (exact values, nesting, arrays; see
 * host/bus/event-pattern.ts). Where the guide gives no verdict, the case is marked
 * "AWS-observed" and cites the AWS-recorded snapshot in localstack/localstack
 * tests/aws/services/events/event_pattern_templates/, or aws/event-ruler (the
 * matcher EventBridge runs) for its README examples.
 */
import type { EventPattern } from '../../shared/events';

export interface MatchCase {
  name: string;
  pattern: EventPattern;
  event: object;
  matches: boolean;
}

export interface RejectCase {
  name: string;
  pattern: unknown;
  /** A fragment the error message must contain, so the message stays useful. */
  message: string;
}

const EC2_TERMINATED = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
};

const AUTOSCALING_LAUNCH = {
  version: '0',
  id: '3e3c153a-8339-4e30-8c35-687ebef853fe',
  'detail-type': 'EC2 Instance Launch Successful',
  source: 'aws.autoscaling',
  account: '123456789012',
  time: '2015-11-11T21:31:47Z',
  region: 'us-east-1',
  resources: [],
  detail: { eventVersion: '', responseElements: null },
};

const MACIE_ALERT = {
  'detail-type': 'Macie Alert',
  source: 'aws.macie',
  resources: ['arn:aws:macie:us-east-1:123456789012:trigger/trigger_id/alert/alert_id', 'arn:aws:macie:us-east-1:123456789012:trigger/trigger_id'],
  detail: { 'notification-type': 'ALERT_CREATED', tags: ['Custom_Alert', 'Insider'], 'risk-score': 80, trigger: { 'alert-type': 'basic', risk: 8 } },
};

/** The running example of the content-filtering page and of event-ruler's README. */
const EC2_RUNNING = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: { 'c-count': 5, 'd-count': 3, 'x-limit': 301.8, 'source-ip': '10.0.0.33', 'instance-id': 'i-000000aaaaaa00000', state: 'running' },
};

const withDetail = (detail: Record<string, unknown>): object => ({ ...EC2_RUNNING, detail });

export const MATCH_CASES: { group: string; cases: MatchCase[] }[] = [
  {
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern.html
    group: 'event patterns: fields, nesting, values',
    cases: [
      { name: 'EC2 termination pattern matches the terminated event', pattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['terminated'] } }, event: EC2_TERMINATED, matches: true },
      { name: 'EC2 termination pattern does not match a running instance', pattern: { source: ['aws.ec2'], detail: { state: ['terminated'] } }, event: EC2_RUNNING, matches: false },
      { name: 'values in the array are ORed (aws.ec2 or aws.fargate)', pattern: { source: ['aws.ec2', 'aws.fargate'] }, event: EC2_TERMINATED, matches: true },
      { name: 'no value in the array matches', pattern: { source: ['aws.fargate', 'aws.ecs'] }, event: EC2_TERMINATED, matches: false },
      { name: 'fields are ANDed: one failing field fails the pattern', pattern: { source: ['aws.ec2'], region: ['eu-west-1'] }, event: EC2_TERMINATED, matches: false },
      { name: 'fields not in the pattern are ignored', pattern: { source: ['aws.ec2'] }, event: EC2_TERMINATED, matches: true },
      { name: 'a pattern field missing from the event fails', pattern: { source: ['aws.ec2'], detail: { 'launch-template': ['lt-1'] } }, event: EC2_TERMINATED, matches: false },
      { name: 'same nesting required: state is under detail, not top level', pattern: { state: ['terminated'] }, event: EC2_TERMINATED, matches: false },
      { name: 'Macie: nested numbers risk-score 80 and trigger.risk 8', pattern: { source: ['aws.macie'], 'detail-type': ['Macie Alert'], detail: { 'risk-score': [80], trigger: { risk: [8] } } }, event: MACIE_ALERT, matches: true },
      { name: 'Macie: trigger.risk 9 does not match 8', pattern: { detail: { trigger: { risk: [9] } } }, event: MACIE_ALERT, matches: false },
      { name: 'strings match character by character, no case folding', pattern: { source: ['AWS.EC2'] }, event: EC2_TERMINATED, matches: false },
      { name: 'the string "80" does not match the number 80', pattern: { detail: { 'risk-score': ['80'] } }, event: MACIE_ALERT, matches: false },
      { name: 'numbers compare numerically: 80.0 matches 80', pattern: { detail: { 'risk-score': [80.0] } }, event: MACIE_ALERT, matches: true },
      { name: 'booleans match JSON true, not the string "true"', pattern: { detail: { flag: [true] } }, event: withDetail({ flag: true }), matches: true },
      { name: 'the string "true" does not match JSON true', pattern: { detail: { flag: ['true'] } }, event: withDetail({ flag: true }), matches: false },
      { name: 'a nested pattern against a scalar field does not match', pattern: { source: { inner: ['aws.ec2'] } }, event: EC2_TERMINATED, matches: false },
    ],
  },
  {
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-null-values.html
    group: 'null values and empty strings',
    cases: [
      { name: 'empty string matches [""]', pattern: { detail: { eventVersion: [''] } }, event: AUTOSCALING_LAUNCH, matches: true },
      { name: 'null matches [null]', pattern: { source: ['aws.autoscaling'], 'detail-type': ['EC2 Instance Launch Successful'], detail: { responseElements: [null] } }, event: AUTOSCALING_LAUNCH, matches: true },
      { name: '[null] does not match an empty string', pattern: { detail: { eventVersion: [null] } }, event: AUTOSCALING_LAUNCH, matches: false },
      { name: '[""] does not match null', pattern: { detail: { responseElements: [''] } }, event: AUTOSCALING_LAUNCH, matches: false },
      { name: '[null] does not match a missing field', pattern: { detail: { requestParameters: [null] } }, event: AUTOSCALING_LAUNCH, matches: false },
      // AWS-observed: localstack arrays_empty_null_NEG.json5
      { name: '[null] does not match an empty array', pattern: { resources: [null] }, event: AUTOSCALING_LAUNCH, matches: false },
    ],
  },
  {
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html
    // array of objects: aws/event-ruler README, "JSON Array Matching"
    group: 'arrays in events',
    cases: [
      {
        name: 'matches when the pattern array and the event array intersect',
        pattern: { resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f', 'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f', 'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f'] },
        event: { resources: ['arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate', 'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f'] },
        matches: true,
      },
      { name: 'no intersection, no match', pattern: { resources: ['arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f'] }, event: { resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f'] }, matches: false },
      { name: 'a value matches if any element of an event array equals it', pattern: { detail: { tags: ['Insider'] } }, event: MACIE_ALERT, matches: true },
      { name: 'no element of the event array equals a value', pattern: { detail: { tags: ['Insid'] } }, event: MACIE_ALERT, matches: false },
      { name: 'an array of objects: any element with the field', pattern: { employees: { firstName: ['Anna'] } }, event: { employees: [{ firstName: 'John', lastName: 'Doe' }, { firstName: 'Anna', lastName: 'Smith' }, { firstName: 'Peter', lastName: 'Jones' }] }, matches: true },
      { name: 'array-consistent: fields from different elements do not combine', pattern: { employees: { firstName: ['Anna'], lastName: ['Jones'] } }, event: { employees: [{ firstName: 'Anna', lastName: 'Smith' }, { firstName: 'Peter', lastName: 'Jones' }] }, matches: false },
      { name: 'array-consistent: both fields from the same element', pattern: { employees: { firstName: ['Anna'], lastName: ['Smith'] } }, event: { employees: [{ firstName: 'John', lastName: 'Doe' }, { firstName: 'Anna', lastName: 'Smith' }] }, matches: true },
      { name: 'multi-level arrays are crushed out too', pattern: { employees: { firstName: ['Peter'] } }, event: { employees: [[{ firstName: 'John' }, { firstName: 'Anna' }], [{ firstName: 'Peter' }]] }, matches: true },
    ],
  },
];

/** Patterns PutRule rejects; validatePattern must reject them at start-up. */
export const REJECT_CASES: RejectCase[] = [
  // AWS-observed: localstack arrays_empty_EXC.json5
  { name: 'empty match array', pattern: { resources: [] }, message: 'empty arrays are not allowed' },
  { name: 'a bare value instead of an array', pattern: { source: 'aws.ec2' }, message: 'must be an array' },
  { name: 'a nested array as a match value', pattern: { source: [['aws.ec2']] }, message: 'match value' },
  { name: 'a non-finite number', pattern: { n: [Number.POSITIVE_INFINITY] }, message: 'finite number' },
  { name: 'an unknown operator', pattern: { detail: { state: [{ contains: 'run' }] } }, message: 'unsupported operator "contains"' },
  { name: 'an operator object with two keys', pattern: { FileName: [{ prefix: 'a', suffix: 'b' }] }, message: 'operator object with 2 keys' },
  { name: 'an empty operator object', pattern: { FileName: [{}] }, message: 'operator object with 0 keys' },
  { name: 'empty pattern', pattern: {}, message: 'empty pattern object' },
  { name: 'pattern is an array', pattern: [{ source: ['aws.ec2'] }], message: 'JSON object' },
];

/**
 * EventBridge's comparison operators, from the same guide (eb-create-pattern-operators.html),
 * none of which a consumer rule uses: the local bus refuses each at start-up instead of
 * routing differently from the CDK rule.
 */
export const OPERATOR_PATTERNS: { operator: string; pattern: object }[] = [
  { operator: 'prefix', pattern: { time: [{ prefix: '2017-10-02' }] } },
  { operator: 'suffix', pattern: { FileName: [{ suffix: '.png' }] } },
  { operator: 'equals-ignore-case', pattern: { Name: [{ 'equals-ignore-case': 'alice' }] } },
  { operator: 'wildcard', pattern: { FileName: [{ wildcard: 'dir/*.png' }] } },
  { operator: 'anything-but', pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } } },
  { operator: 'numeric', pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } } },
  { operator: 'cidr', pattern: { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } } },
  { operator: 'exists', pattern: { detail: { 'c-count': [{ exists: false }] } } },
  { operator: '$or', pattern: { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'] }] } },
];
