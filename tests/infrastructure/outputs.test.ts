/**
 * Every stack output the operator documentation names exists in the synthesized
 * template, and every output the template has is documented. The names are read
 * from the two READMEs, not retyped here, so a README that starts naming a new
 * output (or a renamed one) fails this test until the stack has it. The stack is
 * synthesized with every opt-in part deployed (clean-up in Zoom), so that every output
 * exists; the default stack has the same outputs but the clean-up ones.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONSUMER_RULES } from '../../shared/events/rules';
import { functionOf, synthesize, type Synthesized } from './support';

const REPO_ROOT = join(__dirname, '..', '..');
const DOCS = ['README.md', 'infrastructure/README.md'] as const;
const read = (file: string) => readFileSync(join(REPO_ROOT, file), 'utf8');

/** A PascalCase word of at least two parts: "WebhookUrl", not "Consumer" or "Uploader". */
const PASCAL = '[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+';
/** How output names end in this stack; used only where the text around a name does not say it is an output. */
const OUTPUT_SUFFIX = '(?:Url|Name|Arn|Prefix)';
/** `<Consumer>DeadLetterQueueUrl` stands for one output per consumer. */
const CONSUMER_TEMPLATE = /<Consumer>([A-Z][A-Za-z0-9]+)/g;
const CONSUMER_IDS = Object.values(CONSUMER_RULES).map((rule) => rule.id);

export interface Mention {
  name: string;
  file: string;
  /** Which rule found it, for the failure message. */
  how: string;
}

/**
 * The output names a Markdown text mentions:
 * - `--query "Stacks[0].Outputs[?OutputKey=='X']…"` in a command;
 * - the "Outputs:" paragraph (every backticked name in it, whatever its suffix);
 * - the names after "# prints" in a `cdk deploy` comment;
 * - `<Consumer>Suffix` templates, expanded to each consumer;
 * - placeholders `<WebhookFunctionName>` and `<EventBusName output>` in commands;
 * - backticked names ending like an output (`ZoomSecretArn`, `WebhookUrl`).
 */
export function mentionedOutputs(markdown: string, file: string): Mention[] {
  const found: Mention[] = [];
  const add = (name: string, how: string) => found.push({ name, file, how });
  const all = (pattern: RegExp, text = markdown) => [...text.matchAll(pattern)];

  for (const m of all(/OutputKey=='([^']+)'/g)) add(m[1]!, 'OutputKey query');
  for (const paragraph of all(/^Outputs:[\s\S]*?(?=\n[ \t]*\n|(?![\s\S]))/gm)) {
    const expanded = paragraph[0].replace(/`?<Consumer>([A-Z][A-Za-z0-9]+)`?/g, (_all, suffix: string) => CONSUMER_IDS.map((id) => `\`${id}${suffix}\``).join(' '));
    for (const m of all(/`([A-Za-z0-9]+)`/g, expanded)) add(m[1]!, 'Outputs: list');
  }
  for (const line of all(/#\s*prints\s+([^\n]+)/g)) {
    for (const m of all(new RegExp(`\\b(${PASCAL})\\b`, 'g'), line[1]!)) add(m[1]!, '"# prints" comment');
  }
  for (const m of all(CONSUMER_TEMPLATE)) for (const id of CONSUMER_IDS) add(`${id}${m[1]!}`, '<Consumer> template');
  for (const m of all(new RegExp(`<(${PASCAL})(?: output)?>`, 'g'))) add(m[1]!, 'placeholder');
  for (const m of all(new RegExp(`\`(${PASCAL}${OUTPUT_SUFFIX})\``, 'g'))) add(m[1]!, 'backticked name');
  return found;
}

describe('mentionedOutputs (the extraction itself)', () => {
  it('finds each documented form and nothing that is not a name', () => {
    const text = [
      'Outputs: `WebhookUrl`, `EventBusName`, and per consumer `<Consumer>DeadLetterQueueUrl`',
      'and `StackRevision` (for re-driving).',
      '',
      'Not an output: `FileUploaded`, `Uploader`, <bucket>, <secret token>, <Uploader rule ARN>.',
      '```sh',
      'npx cdk deploy   # prints ArchiveBucketName, LedgerTableName, …',
      `SECRET_ARN=$(aws cloudformation describe-stacks --query "Stacks[0].Outputs[?OutputKey=='ZoomSecretArn'].OutputValue")`,
      'aws lambda update-function-configuration --function-name <WebhookFunctionName>',
      "EventBus.fromEventBusName(this, 'Bus', '<EventBusArn output>')",
      '```',
      'The alarm topic (`AlarmTopicArn`).',
    ].join('\n');
    const names = [...new Set(mentionedOutputs(text, 'sample').map((m) => m.name))].sort();
    expect(names).toEqual(
      [
        'AlarmTopicArn',
        'ArchiveBucketName',
        'AuditDeadLetterQueueUrl',
        'CleanupDeadLetterQueueUrl',
        'CourseValidationDeadLetterQueueUrl',
        'EventBusArn',
        'EventBusName',
        'LedgerTableName',
        'StackRevision',
        'SubscribersDeadLetterQueueUrl',
        'UploaderDeadLetterQueueUrl',
        'WebhookFunctionName',
        'WebhookUrl',
        'ZoomSecretArn',
      ].sort(),
    );
  });
});

describe('stack outputs named in the READMEs', () => {
  let s: Synthesized;
  let outputs: string[];
  let mentions: Mention[];

  beforeAll(() => {
    s = synthesize({ courseRules: { json: { cleanup: { trashInZoom: 'on' } }, source: 'test rules' } }, { bundle: false });
    outputs = Object.keys(s.template.toJSON().Outputs ?? {});
    mentions = DOCS.flatMap((file) => mentionedOutputs(read(file), file));
  }, 60_000);

  it('reads names from both READMEs, including the ones operators are told to use', () => {
    const names = new Set(mentions.map((m) => m.name));
    // If the extraction ever matched nothing (or stopped seeing a form), this fails
    // instead of the next test passing vacuously.
    for (const known of ['WebhookUrl', 'WebhookFunctionName', 'ZoomSecretArn', 'EventArchiveArn', 'UploaderDeadLetterQueueUrl', 'UploaderFunctionName']) {
      expect(names).toContain(known);
    }
    for (const file of DOCS) expect(mentions.filter((m) => m.file === file).length).toBeGreaterThan(0);
    expect(new Set(mentions.map((m) => m.how))).toEqual(
      new Set(['OutputKey query', 'Outputs: list', '"# prints" comment', '<Consumer> template', 'placeholder', 'backticked name']),
    );
  });

  it('has an output for every name the READMEs mention', () => {
    const missing = mentions.filter((m) => !outputs.includes(m.name)).map((m) => `${m.name} (${m.file}, ${m.how})`);
    expect([...new Set(missing)]).toEqual([]);
  });

  it('has a dead-letter queue URL output for every dead-letter queue in the stack', () => {
    const queues = Object.entries(s.resources)
      .filter(([, r]) => r.Type === 'AWS::SQS::Queue')
      .map(([id]) => id);
    expect(queues).toHaveLength(10);
    const urlOutputs = Object.values(s.template.toJSON().Outputs as Record<string, { Value: unknown }>).map((o) => JSON.stringify(o.Value));
    for (const queue of queues) expect(urlOutputs).toContain(JSON.stringify({ Ref: queue }));
  });

  it('has the same outputs without clean-up in Zoom, but the clean-up ones', () => {
    const withoutCleanup = Object.keys(synthesize({}, { bundle: false }).template.toJSON().Outputs ?? {});
    const cleanupOutputs = ['CleanupDeadLetterQueueUrl', 'CleanupFunctionName', 'CleanupRuleArn', 'CleanupRunDeadLetterQueueUrl', 'CleanupRunFunctionName'];
    expect(outputs.filter((name) => !withoutCleanup.includes(name)).sort()).toEqual(cleanupOutputs);
    expect(withoutCleanup.filter((name) => !outputs.includes(name))).toEqual([]);
  }, 60_000);

  it('documents every output it has in the infrastructure README', () => {
    const documented = new Set(mentionedOutputs(read('infrastructure/README.md'), 'infrastructure/README.md').map((m) => m.name));
    expect(outputs.filter((name) => !documented.has(name))).toEqual([]);
  });

  it('points WebhookFunctionName, RecoveryFunctionName, ReconcilerFunctionName and SubscriberDispatchFunctionName at their functions', () => {
    s.template.hasOutput('SubscriberDispatchFunctionName', { Value: { Ref: functionOf(s, 'subscriber-dispatch').functionId } });
    s.template.hasOutput('WebhookFunctionName', { Value: { Ref: functionOf(s, 'webhook').functionId } });
    s.template.hasOutput('RecoveryFunctionName', { Value: { Ref: functionOf(s, 'uploader-recovery').functionId } });
    s.template.hasOutput('ReconcilerFunctionName', { Value: { Ref: functionOf(s, 'reconciler').functionId } });
  });
});
