/**
 * EventBridge event-pattern matching for the single-machine bus, so a consumer rule
 * routes the same events locally as it does on the AWS bus. Semantics follow the
 * EventBridge user guide ("Event patterns", "Comparison operators", "$or") and, where
 * the guide is silent, AWS's own matcher (aws/event-ruler): see the test table.
 *
 * validatePattern runs once per rule at start-up and rejects what EventBridge's
 * PutRule would reject; matchesPattern then trusts the pattern's shape.
 */
import { BlockList, isIP, isIPv4, isIPv6 } from 'node:net';
import { ArchiverError } from '../../shared/errors';
import type { EventPattern, PatternValue } from '../../shared/events';

/** A rule's pattern is malformed or uses an operator EventBridge does not have. */
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
const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
const lower = (s: string): string => s.toLowerCase();

// ---------------------------------------------------------------------------------
// Matching

export function matchesPattern(pattern: EventPattern, event: object): boolean {
  return matchNode(pattern, event);
}

/** An array in the event is "crushed out": the pattern matches if any element does. */
function matchNode(pattern: EventPattern, node: unknown): boolean {
  if (!Array.isArray(node)) return matchFields(pattern, node);
  const elements = node.flat(Infinity) as unknown[];
  return elements.length === 0 ? matchFields(pattern, undefined) : elements.some((element) => matchFields(pattern, element));
}

function matchFields(pattern: EventPattern, node: unknown): boolean {
  return Object.entries(pattern).every(([key, spec]) => {
    if (key === '$or') return (spec as EventPattern[]).some((alternative) => matchFields(alternative, node));
    const child = field(node, key);
    return Array.isArray(spec) ? matchLeaf(spec as PatternValue[], child) : matchNode(spec, child);
  });
}

/**
 * The values a pattern leaf sees: an object is an intermediate node, not a value (so
 * `exists: false` matches it, as the docs show), an empty array has no values, and a
 * missing field has none either, which is why `anything-but` never matches it.
 */
function leafValues(value: unknown): unknown[] {
  if (value === undefined || isObject(value)) return [];
  return Array.isArray(value) ? value.flatMap(leafValues) : [value];
}

function matchLeaf(spec: PatternValue[], value: unknown): boolean {
  const values = leafValues(value);
  return spec.some((condition) => {
    if (isObject(condition) && 'exists' in condition) return condition.exists === values.length > 0;
    return values.some((v) => matchValue(condition, v));
  });
}

function matchValue(condition: PatternValue, value: unknown): boolean {
  if (!isObject(condition)) return value === condition;
  const [operator, arg] = Object.entries(condition)[0] as [string, unknown];
  const text = typeof value === 'string' ? value : undefined;
  switch (operator) {
    case 'prefix':
    case 'suffix':
      return text !== undefined && affixMatches(operator, arg as string | { 'equals-ignore-case': string }, text);
    case 'equals-ignore-case':
      return text !== undefined && lower(text) === lower(arg as string);
    case 'wildcard':
      return text !== undefined && wildcardRegExp(arg as string).test(text);
    case 'anything-but':
      return !excludedBy(arg, value);
    case 'numeric':
      return typeof value === 'number' && numericMatches(arg as (string | number)[], value);
    case 'cidr':
      return text !== undefined && cidrContains(arg as string, text);
    default:
      return false;
  }
}

function affixMatches(operator: 'prefix' | 'suffix', arg: string | { 'equals-ignore-case': string }, text: string): boolean {
  const [needle, haystack] = typeof arg === 'string' ? [arg, text] : [lower(arg['equals-ignore-case']), lower(text)];
  return operator === 'prefix' ? haystack.startsWith(needle) : haystack.endsWith(needle);
}

/** anything-but is the negation of its inner match; a non-string never has a prefix. */
function excludedBy(arg: unknown, value: unknown): boolean {
  if (!isObject(arg)) return asList(arg).includes(value);
  const [operator, inner] = Object.entries(arg)[0] as [string, string | string[]];
  if (typeof value !== 'string') return false;
  return asList(inner).some((s) =>
    operator === 'wildcard' ? wildcardRegExp(s).test(value)
    : operator === 'equals-ignore-case' ? lower(s) === lower(value)
    : affixMatches(operator as 'prefix' | 'suffix', s, value),
  );
}

function numericMatches(terms: (string | number)[], value: number): boolean {
  for (let i = 0; i < terms.length; i += 2) {
    const bound = terms[i + 1] as number;
    const ok = { '=': value === bound, '<': value < bound, '<=': value <= bound, '>': value > bound, '>=': value >= bound }[terms[i] as string];
    if (!ok) return false;
  }
  return true;
}

const wildcards = new Map<string, RegExp>();
/** `*` is any run of characters (possibly empty); `\*` and `\\` are the literal characters. */
function wildcardRegExp(wildcard: string): RegExp {
  let re = wildcards.get(wildcard);
  if (!re) {
    const source = wildcard.replace(/\\[*\\]|\*|[.+?^${}()|[\]\\/-]/g, (t) => (t === '*' ? '.*' : t.length === 2 ? `\\${t[1]}` : `\\${t}`));
    re = new RegExp(`^${source}$`, 's');
    wildcards.set(wildcard, re);
  }
  return re;
}

const subnets = new Map<string, BlockList>();
function cidrContains(cidr: string, address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  let list = subnets.get(cidr);
  if (!list) {
    const [network, bits] = cidr.split('/') as [string, string];
    list = new BlockList();
    list.addSubnet(network, Number(bits), isIPv4(network) ? 'ipv4' : 'ipv6');
    subnets.set(cidr, list);
  }
  return list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

// ---------------------------------------------------------------------------------
// Validation

export function validatePattern(pattern: unknown): void {
  validateObject(pattern, '$');
}

function validateObject(pattern: unknown, path: string): void {
  if (!isObject(pattern)) throw new EventPatternError(path, 'a pattern must be a JSON object');
  const entries = Object.entries(pattern);
  if (entries.length === 0) throw new EventPatternError(path, 'an empty pattern object is not allowed (it would match every event); name the fields to match');
  for (const [key, spec] of entries) {
    const at = `${path}.${key}`;
    if (key === '$or') {
      if (!Array.isArray(spec) || spec.length < 2) throw new EventPatternError(at, '$or takes an array of at least two patterns');
      spec.forEach((alternative, i) => validateObject(alternative, `${at}[${i}]`));
    } else if (Array.isArray(spec)) {
      if (spec.length === 0) throw new EventPatternError(at, 'empty arrays are not allowed; an array lists the values to match');
      spec.forEach((value, i) => validateMatch(value, `${at}[${i}]`));
    } else if (isObject(spec)) {
      validateObject(spec, at);
    } else {
      throw new EventPatternError(at, 'a field must be an array of match values or a nested pattern object');
    }
  }
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStringList = (v: unknown): boolean => Array.isArray(v) && v.length > 0 && v.every(isString);

function validateMatch(value: unknown, path: string): void {
  if (value === null || isString(value) || typeof value === 'boolean' || isNumber(value)) return;
  if (!isObject(value)) throw new EventPatternError(path, 'a match value must be a string, finite number, true, false, null or an operator object');
  const keys = Object.keys(value);
  if (keys.length !== 1) throw new EventPatternError(path, `an operator object has exactly one key, got ${keys.length}`);
  const operator = keys[0] as string;
  const arg = value[operator];
  const fail = (problem: string): never => {
    throw new EventPatternError(path, `${operator}: ${problem}`);
  };
  switch (operator) {
    case 'prefix':
    case 'suffix':
      if (!isString(arg) && !(isObject(arg) && Object.keys(arg).length === 1 && isString(arg['equals-ignore-case']))) {
        fail('takes a string or { "equals-ignore-case": string }');
      }
      return;
    case 'equals-ignore-case':
      if (!isString(arg)) fail('takes a string');
      return;
    case 'wildcard':
      return validateWildcard(arg, fail);
    case 'exists':
      if (typeof arg !== 'boolean') fail('takes true or false');
      return;
    case 'anything-but':
      return validateAnythingBut(arg, fail);
    case 'numeric':
      return validateNumeric(arg, fail);
    case 'cidr':
      return validateCidr(arg, fail);
    default:
      throw new EventPatternError(path, `unknown operator "${operator}"`);
  }
}

function validateWildcard(arg: unknown, fail: (problem: string) => never): void {
  if (!isString(arg)) fail('takes a string');
  // Blank out the legal escapes first, so `\**` is an escaped star then a wildcard.
  const unescaped = (arg as string).replace(/\\[*\\]/g, '  ');
  if (unescaped.includes('\\')) fail('a backslash may only escape "*" or "\\"');
  if (unescaped.includes('**')) fail(`consecutive wildcard characters at position ${unescaped.indexOf('**') + 1}`);
}

function validateAnythingBut(arg: unknown, fail: (problem: string) => never): void {
  if (isString(arg) || isNumber(arg)) return;
  if (Array.isArray(arg)) {
    if (arg.length === 0 || !(arg.every(isString) || arg.every(isNumber))) fail('a list must be non-empty and all strings or all numbers');
    return;
  }
  if (!isObject(arg) || Object.keys(arg).length !== 1) fail('takes a string, a number, a list, or one of prefix/suffix/wildcard/equals-ignore-case');
  const [inner, operand] = Object.entries(arg as Json)[0] as [string, unknown];
  if (!['prefix', 'suffix', 'wildcard', 'equals-ignore-case'].includes(inner)) fail(`unsupported inner operator "${inner}"`);
  if (!isString(operand) && !isStringList(operand)) fail(`${inner} takes a string or a list of strings`);
  const operands = asList(operand as string | string[]);
  if ((inner === 'prefix' || inner === 'suffix') && operands.includes('')) fail(`empty ${inner} not allowed`);
  if (inner === 'wildcard') operands.forEach((w) => validateWildcard(w, fail));
}

const LOWER_BOUNDS = ['>', '>='];
const UPPER_BOUNDS = ['<', '<='];
function validateNumeric(arg: unknown, fail: (problem: string) => never): void {
  if (!Array.isArray(arg) || (arg.length !== 2 && arg.length !== 4)) fail('takes [op, n] or [">"|">=", n, "<"|"<=", m]');
  const [op1, n1, op2, n2] = arg as unknown[];
  if (!['=', ...LOWER_BOUNDS, ...UPPER_BOUNDS].includes(op1 as string)) fail(`unrecognized numeric operator ${JSON.stringify(op1)}`);
  if (!isNumber(n1)) fail(`the value after "${String(op1)}" must be a number`);
  if (op2 === undefined) return;
  if (!LOWER_BOUNDS.includes(op1 as string) || !UPPER_BOUNDS.includes(op2 as string)) fail('a range is a lower bound (> or >=) followed by an upper bound (< or <=)');
  if (!isNumber(n2)) fail(`the value after "${String(op2)}" must be a number`);
  if ((n1 as number) >= (n2 as number)) fail('the lower bound must be less than the upper bound');
}

function validateCidr(arg: unknown, fail: (problem: string) => never): void {
  if (!isString(arg)) fail('takes a string such as "10.0.0.0/24"');
  const parts = (arg as string).split('/');
  const [network = '', bits = ''] = parts;
  const maxBits = isIPv4(network) ? 32 : isIPv6(network) ? 128 : 0;
  if (parts.length !== 2 || maxBits === 0) fail(`malformed CIDR ${JSON.stringify(arg)}`);
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > maxBits) fail(`mask bits must be an integer from 0 to ${maxBits}`);
}
