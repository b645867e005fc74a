/**
 * The local EventBridge matcher against the documented examples (event-pattern-cases.ts),
 * start-up validation of malformed patterns and of the operators it does not implement,
 * and our own consumer rules against an envelope of every detail-type.
 */
import { ArchiverError } from '../../shared/errors';
import { ALL_DETAIL_TYPES, CONSUMER_RULES, DetailType, EVENT_SOURCE, type ConsumerName, type DetailTypeName } from '../../shared/events';
import { EventPatternError, matchesPattern, validatePattern } from '../../host/bus/event-pattern';
import { MATCH_CASES, OPERATOR_PATTERNS, REJECT_CASES } from './event-pattern-cases';

describe('matchesPattern: EventBridge documentation examples', () => {
  describe.each(MATCH_CASES)('$group', ({ cases }) => {
    test.each(cases)('$name', ({ pattern, event, matches }) => {
      expect(() => validatePattern(pattern)).not.toThrow();
      expect(matchesPattern(pattern, structuredClone(event))).toBe(matches);
    });
  });

  test('matching never modifies the event', () => {
    const event = { detail: { tags: ['a', ['b']], n: 3 } };
    const before = JSON.stringify(event);
    expect(matchesPattern({ detail: { tags: ['b'], n: [3] } }, event)).toBe(true);
    expect(JSON.stringify(event)).toBe(before);
  });

  test('inherited object properties are not event fields', () => {
    expect(matchesPattern({ source: ['aws.ec2'] }, Object.create({ source: 'aws.ec2' }) as object)).toBe(false);
    expect(matchesPattern({ detail: { state: ['running'] } }, { detail: Object.create({ state: 'running' }) as object })).toBe(false);
  });
});

describe('validatePattern: malformed patterns fail at start-up', () => {
  test.each(REJECT_CASES)('rejects $name', ({ pattern, message }) => {
    let caught: unknown;
    try {
      validatePattern(pattern);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(EventPatternError);
    expect((caught as Error).message).toContain(message);
  });

  test('the error names the offending path and says retrying cannot help', () => {
    const error = (() => {
      try {
        validatePattern({ detail: { state: ['running', { prefix: 'ru' }] } });
      } catch (e) {
        return e as EventPatternError;
      }
      throw new Error('validatePattern accepted an operator the matcher does not implement');
    })();
    expect(error).toBeInstanceOf(ArchiverError);
    expect(error.name).toBe('EventPatternError');
    expect(error.retryable).toBe(false);
    expect(error.path).toBe('$.detail.state[1]');
    expect(error.message).toBe(
      'Invalid event pattern at $.detail.state[1]: unsupported operator "prefix": the local bus matches exact values only, as every consumer rule does; ' +
        'add the operator to host/bus/event-pattern.ts, with tests, before a rule uses it',
    );
  });

  // Matching an operator object as if it were a value would silently route differently from the CDK rule.
  test.each(OPERATOR_PATTERNS)('refuses $operator, which the matcher does not implement', ({ operator, pattern }) => {
    expect(() => validatePattern(pattern)).toThrow(`unsupported operator "${operator}"`);
  });
});

describe('our consumer rules', () => {
  const envelope = (source: string, detailType: DetailTypeName) => ({
    version: '0',
    id: 'b7f9e8a0-0000-4000-8000-000000000001',
    source,
    'detail-type': detailType,
    account: '123456789012',
    time: '2024-05-01T10:00:00Z',
    region: 'eu-west-1',
    resources: [],
    detail: { metadata: { schemaVersion: 1, correlationId: 'corr-1' } },
  });

  // Written out by hand rather than read from the rules, so a rule edit shows up here.
  const consumes: Record<ConsumerName, readonly DetailTypeName[]> = {
    courseValidation: [DetailType.RecordingAvailable],
    uploader: [DetailType.FileUploadRequested],
    subscribers: ALL_DETAIL_TYPES,
    cleanup: [DetailType.RecordingArchived],
    audit: ALL_DETAIL_TYPES,
  };

  test.each(Object.keys(CONSUMER_RULES) as ConsumerName[])('%s pattern passes start-up validation', (name) => {
    expect(() => validatePattern(CONSUMER_RULES[name].pattern)).not.toThrow();
  });

  const grid = (Object.keys(CONSUMER_RULES) as ConsumerName[]).flatMap((name) =>
    ALL_DETAIL_TYPES.map((detailType) => ({ name, detailType, expected: consumes[name].includes(detailType) })),
  );
  test.each(grid)('$name receives $detailType: $expected', ({ name, detailType, expected }) => {
    expect(matchesPattern(CONSUMER_RULES[name].pattern, envelope(EVENT_SOURCE, detailType))).toBe(expected);
  });

  test.each(ALL_DETAIL_TYPES)('no rule accepts %s from another source', (detailType) => {
    for (const rule of Object.values(CONSUMER_RULES)) {
      expect(matchesPattern(rule.pattern, envelope('aws.s3', detailType))).toBe(false);
    }
  });

  test('no rule accepts an envelope without a source', () => {
    const { source: _dropped, ...withoutSource } = envelope(EVENT_SOURCE, DetailType.RecordingAvailable);
    for (const rule of Object.values(CONSUMER_RULES)) expect(matchesPattern(rule.pattern, withoutSource)).toBe(false);
  });
});
