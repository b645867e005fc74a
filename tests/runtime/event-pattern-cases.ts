/**
 * The EventBridge pattern-matching cases the local matcher must agree with: events and
 * patterns taken from the EventBridge user guide, grouped by page (URL above each
 * group). Where the guide gives no verdict, the case is marked "AWS-observed" and
 * cites the AWS-recorded snapshot in localstack/localstack
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
const CW = (fields: Record<string, unknown>): object => ({ source: 'aws.cloudwatch', ...fields });

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
      { name: 'an operator matches if any element matches', pattern: { detail: { tags: [{ prefix: 'Insid' }] } }, event: MACIE_ALERT, matches: true },
      { name: 'an array of objects: any element with the field', pattern: { employees: { firstName: ['Anna'] } }, event: { employees: [{ firstName: 'John', lastName: 'Doe' }, { firstName: 'Anna', lastName: 'Smith' }, { firstName: 'Peter', lastName: 'Jones' }] }, matches: true },
      { name: 'array-consistent: fields from different elements do not combine', pattern: { employees: { firstName: ['Anna'], lastName: ['Jones'] } }, event: { employees: [{ firstName: 'Anna', lastName: 'Smith' }, { firstName: 'Peter', lastName: 'Jones' }] }, matches: false },
      { name: 'array-consistent: both fields from the same element', pattern: { employees: { firstName: ['Anna'], lastName: ['Smith'] } }, event: { employees: [{ firstName: 'John', lastName: 'Doe' }, { firstName: 'Anna', lastName: 'Smith' }] }, matches: true },
      { name: 'multi-level arrays are crushed out too', pattern: { employees: { firstName: ['Peter'] } }, event: { employees: [[{ firstName: 'John' }, { firstName: 'Anna' }], [{ firstName: 'Peter' }]] }, matches: true },
    ],
  },
  {
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
    // (#eb-filtering-prefix-matching, suffix, equals-ignore-case)
    group: 'prefix, suffix, equals-ignore-case',
    cases: [
      { name: 'time begins with 2017-10-02', pattern: { time: [{ prefix: '2017-10-02' }] }, event: EC2_RUNNING, matches: true },
      { name: 'time does not begin with 2017-10-03', pattern: { time: [{ prefix: '2017-10-03' }] }, event: EC2_RUNNING, matches: false },
      { name: 'region is in the US', pattern: { region: [{ prefix: 'us-' }] }, event: EC2_RUNNING, matches: true },
      { name: 'prefix only applies to strings', pattern: { detail: { 'c-count': [{ prefix: '5' }] } }, event: EC2_RUNNING, matches: false },
      { name: 'prefix ignoring case: service starts with "eventb"', pattern: { service: [{ prefix: { 'equals-ignore-case': 'eventb' } }] }, event: { service: 'EventBridge' }, matches: true },
      { name: 'prefix is case sensitive without equals-ignore-case', pattern: { service: [{ prefix: 'eventb' }] }, event: { service: 'EventBridge' }, matches: false },
      { name: 'FileName ends with .png', pattern: { FileName: [{ suffix: '.png' }] }, event: { FileName: 'photo.png' }, matches: true },
      { name: 'suffix is case sensitive', pattern: { FileName: [{ suffix: '.png' }] }, event: { FileName: 'photo.PNG' }, matches: false },
      { name: 'suffix ignoring case: service ends with "tbridge"', pattern: { service: [{ suffix: { 'equals-ignore-case': 'tbridge' } }] }, event: { service: 'EVENTBRIDGE' }, matches: true },
      { name: 'Name equals "alice" ignoring case', pattern: { Name: [{ 'equals-ignore-case': 'alice' }] }, event: { Name: 'Alice' }, matches: true },
      { name: 'equals-ignore-case is still whole-string', pattern: { Name: [{ 'equals-ignore-case': 'alice' }] }, event: { Name: 'Alicia' }, matches: false },
    ],
  },
  {
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#eb-filtering-wildcard-matching
    group: 'wildcard',
    cases: [
      { name: 'dir/*.png matches dir/1.png', pattern: { FileName: [{ wildcard: 'dir/*.png' }] }, event: { FileName: 'dir/1.png' }, matches: true },
      { name: '* spans path separators', pattern: { FileName: [{ wildcard: 'dir/*.png' }] }, event: { FileName: 'dir/a/b.png' }, matches: true },
      { name: 'dir/*.png does not match dir/1.jpg', pattern: { FileName: [{ wildcard: 'dir/*.png' }] }, event: { FileName: 'dir/1.jpg' }, matches: false },
      { name: 'any account in an event bus ARN', pattern: { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] }, event: { EventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/myEventBus' }, matches: true },
      { name: '* may match nothing (event-ruler: Simple*Service)', pattern: { source: [{ wildcard: 'Simple*Service' }] }, event: { source: 'SimpleService' }, matches: true },
      { name: '\\* is a literal asterisk', pattern: { key: [{ wildcard: 'file\\*.txt' }] }, event: { key: 'file*.txt' }, matches: true },
      { name: '\\* does not act as a wildcard', pattern: { key: [{ wildcard: 'file\\*.txt' }] }, event: { key: 'fileA.txt' }, matches: false },
      { name: '\\\\ is a literal backslash, followed by a wildcard', pattern: { path: [{ wildcard: 'C:\\\\*' }] }, event: { path: 'C:\\Windows' }, matches: true },
      { name: 'regex characters are literal (the dot is not "any")', pattern: { key: [{ wildcard: 'a.c*' }] }, event: { key: 'abcd' }, matches: false },
      { name: 'wildcard only applies to strings', pattern: { detail: { 'c-count': [{ wildcard: '*' }] } }, event: EC2_RUNNING, matches: false },
    ],
  },
  {
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#eb-filtering-anything-but
    group: 'anything-but',
    cases: [
      { name: 'state is anything but initializing', pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } }, event: EC2_RUNNING, matches: true },
      { name: 'state initializing is excluded', pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } }, event: withDetail({ state: 'initializing' }), matches: false },
      { name: 'x-limit is anything but 123', pattern: { detail: { 'x-limit': [{ 'anything-but': 123 }] } }, event: EC2_RUNNING, matches: true },
      { name: 'list of strings: running is not stopped/overloaded', pattern: { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } }, event: EC2_RUNNING, matches: true },
      { name: 'list of strings: stopped is excluded', pattern: { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } }, event: withDetail({ state: 'stopped' }), matches: false },
      { name: 'list of numbers: 300 is excluded', pattern: { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } }, event: withDetail({ 'x-limit': 300 }), matches: false },
      { name: 'anything-but prefix init: running matches', pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } }, event: EC2_RUNNING, matches: true },
      { name: 'anything-but prefix init: initializing is excluded', pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } }, event: withDetail({ state: 'initializing' }), matches: false },
      { name: 'region is not in the US', pattern: { region: [{ 'anything-but': { prefix: 'us-' } }] }, event: EC2_RUNNING, matches: false },
      { name: 'FileName does not end with .png', pattern: { FileName: [{ 'anything-but': { suffix: '.png' } }] }, event: { FileName: 'notes.txt' }, matches: true },
      { name: 'FileName ending with .png is excluded', pattern: { FileName: [{ 'anything-but': { suffix: '.png' } }] }, event: { FileName: 'photo.png' }, matches: false },
      { name: 'anything-but ignoring case excludes INITIALIZING', pattern: { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] }, event: { state: 'INITIALIZING' }, matches: false },
      { name: 'FilePath not including /lib/ (wildcard)', pattern: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] }, event: { FilePath: '/usr/bin/tool' }, matches: true },
      { name: 'FilePath including /lib/ is excluded', pattern: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] }, event: { FilePath: '/usr/lib/tool' }, matches: false },
      { name: 'events not from an AWS service (source not aws.*)', pattern: { source: [{ 'anything-but': { prefix: 'aws.' } }] }, event: { source: 'zoom-archiver' }, matches: true },
      // AWS-observed: localstack content_anything_but_string_missing_NEG.json5
      { name: 'a missing field does NOT match anything-but', pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } }, event: withDetail({}), matches: false },
      // AWS-observed: localstack content_anything_but_string_null.json5
      { name: 'null is "anything but" a string, so it matches', pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } }, event: withDetail({ state: null }), matches: true },
      // AWS-observed: localstack content_anything_prefix_int_value.json5
      { name: 'a number has no prefix, so anything-but prefix matches it', pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } }, event: withDetail({ state: 12 }), matches: true },
      { name: 'an event array matches if any element is not excluded', pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } }, event: withDetail({ state: ['initializing', 'running'] }), matches: true },
      { name: 'an event array whose every element is excluded does not match', pattern: { detail: { state: [{ 'anything-but': ['initializing', 'stopped'] }] } }, event: withDetail({ state: ['initializing', 'stopped'] }), matches: false },
    ],
  },
  {
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#filtering-numeric-matching
    group: 'numeric',
    cases: [
      { name: 'c-count in (0,5], d-count < 10, x-limit = 3.018e2', pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }], 'd-count': [{ numeric: ['<', 10] }], 'x-limit': [{ numeric: ['=', 3.018e2] }] } }, event: EC2_RUNNING, matches: true },
      { name: 'c-count 6 is outside (0,5]', pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } }, event: withDetail({ 'c-count': 6 }), matches: false },
      { name: 'c-count 0 is outside (0,5] (open bottom)', pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } }, event: withDetail({ 'c-count': 0 }), matches: false },
      { name: '>= includes the bound', pattern: { n: [{ numeric: ['>=', 5] }] }, event: { n: 5 }, matches: true },
      { name: '< excludes the bound', pattern: { n: [{ numeric: ['<', 5] }] }, event: { n: 5 }, matches: false },
      { name: 'numeric only works on JSON numbers, not numeric strings', pattern: { detail: { 'x-limit': [{ numeric: ['=', 301.8] }] } }, event: withDetail({ 'x-limit': '301.8' }), matches: false },
      { name: 'numeric does not match a missing field', pattern: { detail: { 'e-count': [{ numeric: ['>', 0] }] } }, event: EC2_RUNNING, matches: false },
      { name: 'numeric on an event array: any element in range', pattern: { n: [{ numeric: ['>', 10] }] }, event: { n: [1, 50] }, matches: true },
      // AWS-observed: localstack numeric-int-float.json5
      { name: '101.0 is > 100', pattern: { number: [{ numeric: ['>', 100] }] }, event: { number: 101.0 }, matches: true },
    ],
  },
  {
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#eb-filtering-ip-matching
    group: 'cidr',
    cases: [
      { name: '10.0.0.33 is in 10.0.0.0/24', pattern: { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } }, event: EC2_RUNNING, matches: true },
      { name: '10.0.1.5 is not in 10.0.0.0/24', pattern: { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } }, event: { detail: { sourceIPAddress: '10.0.1.5' } }, matches: false },
      { name: 'a string that is not an IP never matches', pattern: { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } }, event: { detail: { sourceIPAddress: 'not-an-ip' } }, matches: false },
      { name: 'IPv6 address in 2001:db8::/32', pattern: { ip: [{ cidr: '2001:db8::/32' }] }, event: { ip: '2001:db8:0:0:1::1' }, matches: true },
      { name: 'IPv6 address outside 2001:db8::/32', pattern: { ip: [{ cidr: '2001:db8::/32' }] }, event: { ip: '2001:db9::1' }, matches: false },
      { name: 'an IPv4 address is not in an IPv6 range', pattern: { ip: [{ cidr: '2001:db8::/32' }] }, event: { ip: '10.0.0.1' }, matches: false },
    ],
  },
  {
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#eb-filtering-exists-matching
    group: 'exists',
    cases: [
      { name: 'exists:false matches an event without detail.c-count', pattern: { detail: { 'c-count': [{ exists: false }] } }, event: { 'detail-type': 'EC2 Instance State-change Notification', detail: { state: ['initializing', 'running'] } }, matches: true },
      { name: 'exists:false matches when c-count is an object (not a leaf)', pattern: { detail: { 'c-count': [{ exists: false }] } }, event: { detail: { state: ['initializing', 'running'], 'c-count': { c1: 100 } } }, matches: true },
      { name: 'exists:true matches a present c-count', pattern: { detail: { 'c-count': [{ exists: true }] } }, event: EC2_RUNNING, matches: true },
      { name: 'exists:true does not match a missing field', pattern: { detail: { description: [{ exists: true }] } }, event: EC2_RUNNING, matches: false },
      { name: 'exists:false does not match a present field', pattern: { detail: { 'c-count': [{ exists: false }] } }, event: EC2_RUNNING, matches: false },
      { name: 'exists:true on an object (intermediate node) does not match', pattern: { detail: [{ exists: true }] }, event: EC2_RUNNING, matches: false },
      { name: 'exists:true matches a field whose value is null', pattern: { detail: { responseElements: [{ exists: true }] } }, event: AUTOSCALING_LAUNCH, matches: true },
      // AWS-observed: localstack exists_list_empty_NEG.json5
      { name: 'exists:true does not match an empty array', pattern: { resources: [{ exists: true }] }, event: AUTOSCALING_LAUNCH, matches: false },
      { name: 'exists:false matches an empty array', pattern: { resources: [{ exists: false }] }, event: AUTOSCALING_LAUNCH, matches: true },
      // AWS-observed: localstack content_exists_false_NEG.json5
      { name: 'exists:false on a present deep leaf does not match', pattern: { detail: { level1: { level2: { level3: { level4: [{ exists: false }] } } } } }, event: { detail: { level1: { level2: { level3: { level4: 'l4 value' } } } } }, matches: false },
      { name: 'exists:false matches when the parent object is missing too', pattern: { detail: { 'c-count': [{ exists: false }] } }, event: { source: 'aws.ec2' }, matches: true },
      // AWS-observed: localstack or-exists.json5 (values ORed: anything-but fails, exists:false holds)
      { name: 'anything-but OR exists:false on a missing field', pattern: { dynamodb: { NewImage: { homemade: { S: [{ 'anything-but': ['roses'] }, { exists: false }] } } } }, event: { dynamodb: { NewImage: { homemade: { N: '789' } } } }, matches: true },
    ],
  },
  {
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#eb-filtering-complex-example-or
    // and aws/event-ruler README, "The $or Primitive"
    group: '$or',
    cases: [
      { name: 'source AND (metricName OR namespace): metricName', pattern: { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }] }, event: CW({ metricName: 'CPUUtilization' }), matches: true },
      { name: 'source AND (metricName OR namespace): namespace', pattern: { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }] }, event: CW({ namespace: 'AWS/ES' }), matches: true },
      { name: 'neither alternative holds', pattern: { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }] }, event: CW({ metricName: 'NetworkIn', namespace: 'AWS/RDS' }), matches: false },
      { name: 'an alternative holds but the AND field fails', pattern: { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'] }] }, event: { source: 'aws.ec2', metricName: 'CPUUtilization' }, matches: false },
      {
        name: 'parallel $or at two levels, both satisfied',
        pattern: { $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }], detail: { $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }] } },
        event: { namespace: 'AWS/EC2', detail: { 'detail-type': 'CloudWatch Alarm State Change' } },
        matches: true,
      },
      {
        name: 'parallel $or: the nested one fails',
        pattern: { $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }], detail: { $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }] } },
        event: { namespace: 'AWS/EC2', detail: { source: 'aws.ec2' } },
        matches: false,
      },
      { name: 'an alternative with AND inside needs all its fields', pattern: { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization'] }, { metricType: ['MetricType'], namespace: ['AWS/EC2', 'AWS/ES'] }, { scope: ['Service'] }] }, event: CW({ metricType: 'MetricType' }), matches: false },
      { name: 'the AND-inside alternative with both fields', pattern: { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization'] }, { metricType: ['MetricType'], namespace: ['AWS/EC2', 'AWS/ES'] }, { scope: ['Service'] }] }, event: CW({ metricType: 'MetricType', namespace: 'AWS/ES' }), matches: true },
      {
        name: 'nested $or inside an $or alternative',
        pattern: { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization'] }, { metricType: ['MetricType'], namespace: ['AWS/EC2'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] }, { scope: ['Service'] }] },
        event: CW({ metricType: 'MetricType', namespace: 'AWS/EC2', spaceId: 1000 }),
        matches: true,
      },
      {
        name: '$or of numeric conditions under detail (operators page example)',
        pattern: { detail: { $or: [{ 'c-count': [{ numeric: ['>', 0, '<=', 5] }] }, { 'd-count': [{ numeric: ['<', 10] }] }, { 'x-limit': [{ numeric: ['=', 3.018e2] }] }] } },
        event: withDetail({ 'c-count': 9, 'd-count': 30, 'x-limit': 301.8 }),
        matches: true,
      },
      {
        name: '$or of numeric conditions, none true',
        pattern: { detail: { $or: [{ 'c-count': [{ numeric: ['>', 0, '<=', 5] }] }, { 'd-count': [{ numeric: ['<', 10] }] }, { 'x-limit': [{ numeric: ['=', 3.018e2] }] }] } },
        event: withDetail({ 'c-count': 9, 'd-count': 30, 'x-limit': 1 }),
        matches: false,
      },
    ],
  },
  {
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#eb-filtering-complex-example
    group: 'complex example',
    cases: [
      {
        name: 'prefix + anything-but + numeric + cidr all hold',
        pattern: { time: [{ prefix: '2017-10-02' }], detail: { state: [{ 'anything-but': 'initializing' }], 'c-count': [{ numeric: ['>', 0, '<=', 5] }], 'd-count': [{ numeric: ['<', 10] }], 'x-limit': [{ 'anything-but': [100, 200, 300] }], 'source-ip': [{ cidr: '10.0.0.0/8' }] } },
        event: EC2_RUNNING,
        matches: true,
      },
      {
        name: 'one failing condition (state initializing) fails the whole pattern',
        pattern: { time: [{ prefix: '2017-10-02' }], detail: { state: [{ 'anything-but': 'initializing' }], 'c-count': [{ numeric: ['>', 0, '<=', 5] }], 'source-ip': [{ cidr: '10.0.0.0/8' }] } },
        event: withDetail({ ...EC2_RUNNING.detail, state: 'initializing' }),
        matches: false,
      },
    ],
  },
];

/** Patterns PutRule rejects; validatePattern must reject them at start-up. */
export const REJECT_CASES: RejectCase[] = [
  { name: 'unknown operator', pattern: { detail: { state: [{ contains: 'run' }] } }, message: 'unknown operator "contains"' },
  { name: 'operator object with two keys', pattern: { FileName: [{ prefix: 'a', suffix: 'b' }] }, message: 'exactly one key' },
  { name: 'operator object with no key', pattern: { FileName: [{}] }, message: 'exactly one key' },
  { name: 'numeric: unknown operator', pattern: { n: [{ numeric: ['!=', 1] }] }, message: 'unrecognized numeric operator "!="' },
  // AWS-observed: localstack content_numeric_EXC.json5
  { name: 'numeric: two lower bounds', pattern: { n: [{ numeric: ['>', 0, '>', 0] }] }, message: 'lower bound' },
  { name: 'numeric: upper bound first', pattern: { n: [{ numeric: ['<', 10, '>', 0] }] }, message: 'lower bound' },
  { name: 'numeric: bottom not below top', pattern: { n: [{ numeric: ['>', 10, '<', 5] }] }, message: 'less than the upper bound' },
  { name: 'numeric: value not a number', pattern: { n: [{ numeric: ['>', '10'] }] }, message: 'must be a number' },
  { name: 'numeric: too many terms', pattern: { n: [{ numeric: ['>', 0, '<', 5, '=', 3] }] }, message: 'numeric' },
  { name: 'numeric: not an array', pattern: { n: [{ numeric: 5 }] }, message: 'numeric' },
  // AWS-observed: localstack content_wildcard_repeating_star_EXC.json5
  { name: 'wildcard: consecutive wildcards', pattern: { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:**:event-bus/*' }] }, message: 'consecutive wildcard characters' },
  // AWS-observed: localstack content_wildcard_int_EXC.json5
  { name: 'wildcard: not a string', pattern: { EventBusArn: [{ wildcard: 123 }] }, message: 'wildcard: takes a string' },
  { name: 'wildcard: backslash escaping another character', pattern: { path: [{ wildcard: 'C:\\Windows' }] }, message: 'backslash' },
  { name: 'wildcard: trailing lone backslash', pattern: { path: [{ wildcard: 'abc\\' }] }, message: 'backslash' },
  // AWS-observed: localstack content_anything_but_string_null_type_EXC.json5
  { name: 'anything-but: null', pattern: { detail: { state: [{ 'anything-but': null }] } }, message: 'anything-but' },
  { name: 'anything-but: mixed strings and numbers', pattern: { state: [{ 'anything-but': ['a', 1] }] }, message: 'all strings or all numbers' },
  { name: 'anything-but: empty list', pattern: { state: [{ 'anything-but': [] }] }, message: 'non-empty' },
  { name: 'anything-but: unsupported inner operator', pattern: { state: [{ 'anything-but': { numeric: ['>', 1] } }] }, message: 'unsupported inner operator "numeric"' },
  // AWS-observed: localstack content_anything_prefix_empty_EXC.json5
  { name: 'anything-but: empty prefix', pattern: { FileName: [{ 'anything-but': { prefix: '' } }] }, message: 'empty prefix' },
  // AWS-observed: localstack content_anything_prefix_ignorecase_EXC.json5
  { name: 'anything-but: prefix with equals-ignore-case', pattern: { FileName: [{ 'anything-but': { prefix: { 'equals-ignore-case': 'x' } } }] }, message: 'prefix takes a string' },
  { name: 'anything-but: bad wildcard inside', pattern: { FilePath: [{ 'anything-but': { wildcard: ['*/lib/*', '**'] } }] }, message: 'consecutive wildcard characters' },
  { name: 'exists: not a boolean', pattern: { state: [{ exists: 'yes' }] }, message: 'exists: takes true or false' },
  { name: 'prefix: a number', pattern: { state: [{ prefix: 5 }] }, message: 'prefix' },
  { name: 'prefix: unknown nested operator', pattern: { state: [{ prefix: { wildcard: 'a*' } }] }, message: 'prefix' },
  { name: 'equals-ignore-case: a list', pattern: { state: [{ 'equals-ignore-case': ['a'] }] }, message: 'equals-ignore-case: takes a string' },
  { name: 'cidr: no mask', pattern: { ip: [{ cidr: '10.0.0.0' }] }, message: 'malformed CIDR' },
  { name: 'cidr: mask too large', pattern: { ip: [{ cidr: '10.0.0.0/33' }] }, message: 'mask bits' },
  { name: 'cidr: not an address', pattern: { ip: [{ cidr: '10.0.0.300/24' }] }, message: 'malformed CIDR' },
  { name: 'cidr: IPv6 mask too large', pattern: { ip: [{ cidr: '2001:db8::/129' }] }, message: 'mask bits' },
  // AWS-observed: localstack arrays_empty_EXC.json5
  { name: 'empty match array', pattern: { resources: [] }, message: 'empty arrays are not allowed' },
  { name: 'a bare value instead of an array', pattern: { source: 'aws.ec2' }, message: 'must be an array' },
  { name: 'a nested array as a match value', pattern: { source: [['aws.ec2']] }, message: 'match value' },
  { name: 'a non-finite number', pattern: { n: [Number.POSITIVE_INFINITY] }, message: 'finite number' },
  { name: '$or with one alternative', pattern: { $or: [{ source: ['aws.ec2'] }] }, message: 'at least two' },
  { name: '$or that is not an array', pattern: { $or: { source: ['aws.ec2'] } }, message: 'at least two' },
  { name: '$or alternative with a bad operator', pattern: { $or: [{ source: ['aws.ec2'] }, { region: [{ begins: 'us-' }] }] }, message: '$.$or[1].region[0]' },
  { name: 'empty pattern', pattern: {}, message: 'empty pattern object' },
  { name: 'pattern is an array', pattern: [{ source: ['aws.ec2'] }], message: 'JSON object' },
];
