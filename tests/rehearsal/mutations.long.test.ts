/**
 * The rehearsal fails where AWS would: the same main-path scenario (support/checks.ts
 * archiveOneFile: a signed webhook → the file archived with the served bytes, FileUploaded
 * once) and the IAM replay, run on the synthesized template as it is (it passes) and on
 * copies altered the ways issue 20 names (support/mutate.ts) — each must fail, and for
 * the reason the alteration causes. One synth for the file; one rehearsal per template.
 */
import { DetailType } from '../../shared/events';
import { archiveOneFile, failedInvocations } from './support/checks';
import { assetWithout, removeInvokePermissions, removeIamAction, renameEnvironmentVariable, replaceInPolicy, setHandler, setRuleDetailType } from './support/mutate';
import type { Rehearsal } from './support/rehearsal';
import { expectIamClean, prepareStage, type Stage } from './support/scenario';
import type { CfnTemplate } from './support/stack-template';

jest.setTimeout(120_000);

let stage: Stage;

beforeAll(async () => {
  stage = await prepareStage();
}, 180_000);

afterAll(async () => {
  await stage?.stop();
});

async function withRehearsal<T>(
  template: CfnTemplate | undefined,
  run: (rehearsal: Rehearsal) => Promise<T>,
  options: Parameters<Stage['rehearse']>[0] = {},
): Promise<T> {
  const rehearsal = await stage.rehearse({ ...options, ...(template ? { template } : {}) });
  try {
    return await run(rehearsal);
  } finally {
    await rehearsal.stop();
  }
}

it('passes on the template as synthesized: archived, FileUploaded, every call allowed', async () => {
  await withRehearsal(undefined, async (rehearsal) => {
    await archiveOneFile(rehearsal, stage);
    expect(rehearsal.recordedCalls().length).toBeGreaterThan(10);
    expectIamClean(rehearsal);
  });
});

it('fails when an environment variable of the uploader is renamed in the stack (LEDGER_TABLE_NAME → LEDGER_TABLE)', async () => {
  const template = renameEnvironmentVariable(stage.app.template, 'uploader', 'LEDGER_TABLE_NAME', 'LEDGER_TABLE');
  await withRehearsal(template, async (rehearsal) => {
    await expect(archiveOneFile(rehearsal, stage)).rejects.toThrow(/FileUploaded 0 times/);
    // Lambda tried three times (EventInvokeConfig), each failing at the cold start's check, then the event went to the uploader's DLQ.
    const failures = rehearsal.invocationsOf('uploader').map((i) => (i.result.ok ? 'ok' : i.result.error.errorMessage));
    expect(failures).toHaveLength(3);
    for (const message of failures) expect(message).toMatch(/LEDGER_TABLE_NAME: is required/);
    const [record] = rehearsal.queueMessages(rehearsal.deadLetterQueueArnOf('uploader')).map((m) => JSON.parse(m.body));
    expect(record.requestPayload['detail-type']).toBe(DetailType.FileUploadRequested);
  });
});

it('fails the IAM replay when an action is removed from the uploader\'s policy (s3:PutObject)', async () => {
  const template = removeIamAction(stage.app.template, 'uploader', 's3:PutObject');
  await withRehearsal(template, async (rehearsal) => {
    // s3rver does not enforce IAM: the bytes get there; the replay is what says AWS would have refused.
    await archiveOneFile(rehearsal, stage);
    expect(() => expectIamClean(rehearsal)).toThrow(/IAM replay/);
    const denied = rehearsal.iamViolations();
    expect(denied.length).toBeGreaterThan(0);
    expect(denied.every((v) => v.service === 'uploader' && v.action === 's3:PutObject')).toBe(true);
    expect(denied[0]!.resource).toMatch(new RegExp(`^arn:aws:s3:::${rehearsal.bucket}/courses/`));
  });
});

it('fails the IAM replay when course validation may no longer events:PutEvents', async () => {
  const template = removeIamAction(stage.app.template, 'course-validation', 'events:PutEvents');
  await withRehearsal(template, async (rehearsal) => {
    await archiveOneFile(rehearsal, stage);
    const denied = rehearsal.iamViolations();
    expect(denied.map((v) => `${v.service} ${v.action}`)).toEqual(['course-validation events:PutEvents']);
    expect(denied[0]!.resource).toBe(rehearsal.resolver.getAtt(rehearsal.onlyResource('AWS::Events::EventBus'), 'Arn'));
  });
});

it('fails the IAM replay when a condition no longer holds: the webhook may write `ledger#` items only, not its `delivery#` ones', async () => {
  const template = replaceInPolicy(stage.app.template, 'webhook', 'delivery#*', 'ledger#*');
  await withRehearsal(template, async (rehearsal) => {
    await archiveOneFile(rehearsal, stage);
    const denied = rehearsal.iamViolations();
    expect(denied.length).toBeGreaterThan(0);
    expect(denied.every((v) => v.service === 'webhook' && v.action === 'dynamodb:PutItem')).toBe(true);
    expect(denied[0]!.resource).toBe(rehearsal.resolver.getAtt(rehearsal.onlyResource('AWS::DynamoDB::Table', 'LedgerTable'), 'Arn'));
  });
});

it('fails when the uploader\'s Handler names an export the bundle does not have', async () => {
  const template = setHandler(stage.app.template, 'uploader', 'index.uploadHandler');
  await withRehearsal(template, async (rehearsal) => {
    await expect(archiveOneFile(rehearsal, stage)).rejects.toThrow(/Runtime\.HandlerNotFound: index\.uploadHandler is undefined or not exported/);
  });
});

it('fails when the uploader\'s rule matches nothing (a misspelt detail-type)', async () => {
  const template = setRuleDetailType(stage.app.template, 'uploader', ['FileUploadRequest']);
  await withRehearsal(template, async (rehearsal) => {
    await expect(archiveOneFile(rehearsal, stage)).rejects.toThrow(/FileUploaded 0 times/);
    expect(rehearsal.invocationsOf('uploader')).toEqual([]);
    expect(rehearsal.eventsOf(DetailType.FileUploadRequested)).toHaveLength(1);
  });
});

it('fails when EventBridge may not invoke the uploader (no Lambda::Permission): the rule\'s retries, then its DLQ', async () => {
  const template = removeInvokePermissions(stage.app.template, 'uploader');
  await withRehearsal(template, async (rehearsal) => {
    await expect(archiveOneFile(rehearsal, stage)).rejects.toThrow(/FileUploaded 0 times/);
    expect(failedInvocations(rehearsal)).toEqual([]);
    const [message] = rehearsal.queueMessages(rehearsal.deadLetterQueueArnOf('uploader'));
    expect(JSON.parse(message!.body)['detail-type']).toBe(DetailType.FileUploadRequested);
    expect(message!.messageAttributes.RULE_ARN!.StringValue).toMatch(/:rule\/.+\/ZoomArchiver-UploaderRule/);
  });
});

it('fails when a file the bundle loads at run time is left out of the asset (hash-wasm beside the uploader\'s index.js)', async () => {
  // The resumable path (every file, ARCHIVE_S3_RESUMABLE_MIN_MB 0) hashes on a worker that loads it.
  const resumable = { envOverrides: { uploader: { ARCHIVE_S3_RESUMABLE_MIN_MB: '0' } } };
  await withRehearsal(undefined, (rehearsal) => archiveOneFile(rehearsal, stage), resumable);
  const assetDirs = { uploader: assetWithout(stage.app, 'uploader', 'sha256.umd.min.js') };
  await withRehearsal(
    undefined,
    async (rehearsal) => {
      await expect(archiveOneFile(rehearsal, stage)).rejects.toThrow(/FileUploaded 0 times/);
      const said = [...failedInvocations(rehearsal), ...rehearsal.eventsOf(DetailType.FileUploadFailed).map((e) => JSON.stringify(e.detail))].join('\n');
      expect(said).toMatch(/sha256\.umd\.min\.js/);
    },
    { ...resumable, assetDirs },
  );
});
