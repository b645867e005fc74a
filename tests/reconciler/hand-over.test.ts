/**
 * What a reconciliation hand-over changes downstream: course validation decides over
 * every file (the same names and best view as the webhook's delivery) but requests
 * only the files the reconciler asked for, and the uploader announces each run's
 * files as a group of their own.
 */
import { parseArchiverConfig } from '../../services/course-validation/config';
import { validateRecording } from '../../services/course-validation/use-case';
import { announcementGroup } from '../../services/uploader/use-case';
import { DetailType, type RecordingAvailable } from '../../shared/events';
import { ledgerGroupKey } from '../../shared/ledger-group';
import { silentLogger } from '../../shared/logger';
import { MemoryPublisher } from '../support/memory-publisher';
import { parsedEvent, recordingFromFixture } from '../course-validation/support';

const config = parseArchiverConfig({});

async function requests(recording: RecordingAvailable) {
  const publisher = new MemoryPublisher();
  await validateRecording(parsedEvent(recording), { config, publisher, logger: silentLogger });
  return publisher;
}

describe('a reconciliation hand-over', () => {
  const webhook = recordingFromFixture('recording-completed');

  it('requests only the files asked for, under the keys the webhook delivery gets', async () => {
    const all = (await requests(webhook)).ofType(DetailType.FileUploadRequested);
    expect(all.length).toBeGreaterThanOrEqual(2);
    const wanted = all[1]!.file.fileId;

    const swept: RecordingAvailable = { ...webhook, trigger: 'sweep', reconciliation: { runId: 'run-1', requestOnly: [wanted] } };
    const published = await requests(swept);
    const only = published.ofType(DetailType.FileUploadRequested);
    expect(only.map((u) => u.file.fileId)).toEqual([wanted]);
    expect(only[0]!.archiveKey).toBe(all[1]!.archiveKey);
    expect(only[0]!.acceptedFileCount).toBe(1);
    expect(only[0]!.reconciliationRunId).toBe('run-1');
    expect(only[0]!.trigger).toBe('sweep');
  });

  it('rejects, with the reason, when none of the asked-for files is accepted any more', async () => {
    const swept: RecordingAvailable = { ...webhook, trigger: 'sweep', reconciliation: { runId: 'run-2', requestOnly: ['not-a-file-of-it'] } };
    const published = await requests(swept);
    expect(published.ofType(DetailType.FileUploadRequested)).toEqual([]);
    const [rejected] = published.ofType(DetailType.RecordingRejected);
    expect(rejected?.reason).toBe('no_eligible_file');
    expect(rejected?.explanation).toMatch(/reconciliation asked for/);
  });

  it('gives each run its own announcement group, and every delivery of a webhook the same one', async () => {
    // The same webhook validated twice (a duplicate delivery): both requests land in one group.
    const [first] = (await requests(webhook)).ofType(DetailType.FileUploadRequested);
    const [again] = (await requests({ ...webhook, metadata: { ...webhook.metadata, correlationId: 'corr-duplicate' } })).ofType(DetailType.FileUploadRequested);
    expect(announcementGroup(first!)).toBe(ledgerGroupKey(webhook.recordingId, 'recording.completed#0'));
    expect(announcementGroup(again!)).toBe(announcementGroup(first!));

    const swept = (runId: string) => ({ ...webhook, trigger: 'sweep' as const, reconciliation: { runId, requestOnly: [first!.file.fileId] } });
    const [run1] = (await requests(swept('run-1'))).ofType(DetailType.FileUploadRequested);
    const [run2] = (await requests(swept('run-2'))).ofType(DetailType.FileUploadRequested);
    expect(announcementGroup(run1!)).toBe(ledgerGroupKey(webhook.recordingId, 'sweep:run-1#0'));
    expect(announcementGroup(run2!)).toBe(ledgerGroupKey(webhook.recordingId, 'sweep:run-2#0'));
  });
});
