/**
 * EventBridge event-pattern matching for the single-machine bus, so a consumer rule
 * routes the same events locally as it does on the AWS bus. It implements the part of
 * the pattern language that CONSUMER_RULES use: exact values (strings, numbers,
 * booleans, null) under nested fields, a list of values ORed, and EventBridge's arrays
 * (an array in the event matches if any element does). Semantics follow the
 * EventBridge user guide ("Event patterns", "Arrays in event patterns"): see the test
 * table.
 *
 * validatePattern runs once per rule at start-up. It rejects what EventBridge's
 * PutRule would reject, and also every comparison operator (prefix, anything-but,
 * numeric, exists, $or, ...): the CDK rule would apply one while this matcher would
 * not, so a rule needing one fails here until the operator is added, with its tests.
 * matchesPattern then trusts the pattern's shape.
 */
import { ArchiverError } from '../../shared/errors';
import type { EventPattern, PatternValue } from '../../shared/events';

/** A rule's pattern is malformed or uses an operator the local bus does not implement. */
export class EventPatternError extends ArchiverError {
  readonly retryable = false;
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`Invalid event pattern at ${path}: ${problem}`);
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const field = (node: unknown, key: string): unknown => (isObject(node) && Object.hasOwn(node, key) ? node[key] : undefined);

// ---------------------------------------------------------------------------------
// Matching

export function matchesPattern(pattern: EventPattern, event: object): boolean {
  return matchNode(pattern, event);
}

/** An array in the event is "crushed out": the pattern matches if any element does. */
function matchNode(pattern: EventPattern, node: unknown): boolean {
  if (!Array.isArray(node)) return matchFields(pattern, node);
  return (node.flat(Infinity) as unknown[]).some((element) => matchFields(pattern, element));
}

function matchFields(pattern: EventPattern, node: unknown): boolean {
  return Object.entries(pattern).every(([key, spec]) => {
    const child = field(node, key);
    if (!Array.isArray(spec)) return matchNode(spec, child);
    const allowed = spec as PatternValue[];
    return leafValues(child).some((value) => allowed.includes(value as PatternValue));
  });
}

/**
 * The values a pattern leaf sees: an object is an intermediate node, not a value, and
 * an empty array or a missing field has none, so `[null]` matches neither.
 */
function leafValues(value: unknown): unknown[] {
  if (value === undefined || isObject(value)) return [];
  return Array.isArray(value) ? value.flatMap(leafValues) : [value];
}

// ---------------------------------------------------------------------------------
// Validation

export function validatePattern(pattern: unknown): void {
  validateObject(pattern, '$');
}

const NOT_IMPLEMENTED = 'the local bus matches exact values only, as every consumer rule does; add the operator to host/bus/event-pattern.ts, with tests, before a rule uses it';

function validateObject(pattern: unknown, path: string): void {
  if (!isObject(pattern)) throw new EventPatternError(path, 'a pattern must be a JSON object');
  const entries = Object.entries(pattern);
  if (entries.length === 0) throw new EventPatternError(path, 'an empty pattern object is not allowed (it would match every event); name the fields to match');
  for (const [key, spec] of entries) {
    const at = `${path}.${key}`;
    if (key === '$or') {
      throw new EventPatternError(at, `unsupported operator "$or": ${NOT_IMPLEMENTED}`);
    } else if (Array.isArray(spec)) {
      if (spec.length === 0) throw new EventPatternError(at, 'empty arrays are not allowed; an array lists the values to match');
      spec.forEach((value, i) => validateValue(value, `${at}[${i}]`));
    } else if (isObject(spec)) {
      validateObject(spec, at);
    } else {
      throw new EventPatternError(at, 'a field must be an array of match values or a nested pattern object');
    }
  }
}

function validateValue(value: unknown, path: string): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number' && Number.isFinite(value)) return;
  if (isObject(value)) {
    const keys = Object.keys(value);
    const operator = keys.length === 1 ? `operator "${keys[0]}"` : `operator object with ${keys.length} keys`;
    throw new EventPatternError(path, `unsupported ${operator}: ${NOT_IMPLEMENTED}`);
  }
  throw new EventPatternError(path, 'a match value must be a string, finite number, true, false or null');
}
