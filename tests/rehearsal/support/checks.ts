/** Small helpers the rehearsal scenarios share: deliver a signed webhook, read what the archive holds. */
import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { InvokeResult } from './lambda-runner';
import type { Rehearsal } from './rehearsal';
import { functionUrlEvent, functionUrlHost, type Stage } from './scenario';

export type Delivery = InvokeResult & { event: Record<string, unknown> };

/** Invokes the webhook bundle with Zoom's signed request as the Function URL hands it over (or the very same request again). */
export async function deliverWebhook(
  rehearsal: Rehearsal,
  stage: Pick<Stage, 'zoom'>,
  body: unknown,
  options: { timestampSeconds?: number; sameRequestAs?: Delivery } = {},
): Promise<Delivery> {
  const event =
    options.sameRequestAs?.event ??
    functionUrlEvent({ host: functionUrlHost(rehearsal), body, secretToken: stage.zoom.webhookSecret, timestampSeconds: options.timestampSeconds });
  const result = await rehearsal.invokeFunctionUrl(event);
  return { ...result, event };
}

/** Hex SHA-256 of an archived object, read back from s3rver. */
export async function objectSha256(rehearsal: Rehearsal, key: string): Promise<string> {
  const out = await rehearsal.s3.send(new GetObjectCommand({ Bucket: rehearsal.bucket, Key: key }));
  const hash = createHash('sha256');
  for await (const chunk of out.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
  return hash.digest('hex');
}

/** Every key in the archive bucket. */
export async function archivedObjects(rehearsal: Rehearsal): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await rehearsal.s3.send(new ListObjectsV2Command({ Bucket: rehearsal.bucket, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

/** The failed invocations, one line each (error type and message: the code never puts a secret in one). */
export function failedInvocations(rehearsal: Rehearsal): string[] {
  return rehearsal.invocations.filter((i) => !i.result.ok).map((i) => `${i.service} (${i.kind}): ${i.result.ok ? '' : `${i.result.error.errorType}: ${i.result.error.errorMessage}`}`);
}

/**
 * The main path as one scenario that throws when it does not hold: a signed webhook for a
 * new recording of one file; once the bus is quiet, exactly one FileUploaded for it and
 * the archived object's SHA-256 equal to what Zoom served.
 */
export async function archiveOneFile(rehearsal: Rehearsal, stage: Pick<Stage, 'zoom'>, size = 100_000): Promise<{ recordingId: string; fileId: string; key: string }> {
  const recording = await stage.zoom.addRecording({ files: [{ size }] });
  const file = recording.files[0]!;
  const answer = await deliverWebhook(rehearsal, stage, recording.payload);
  const status = answer.ok ? (answer.result as { statusCode?: number } | null)?.statusCode : undefined;
  if (status !== 200) throw new Error(`the webhook answered ${answer.ok ? `status ${status}` : `${answer.error.errorType}: ${answer.error.errorMessage}`}`);
  await rehearsal.settle();
  const uploaded = rehearsal.eventsOf('FileUploaded').filter((e) => e.detail.fileId === file.fileId);
  if (uploaded.length !== 1) {
    throw new Error(`FileUploaded ${uploaded.length} times for the file, not once; failed invocations:\n${failedInvocations(rehearsal).join('\n') || '(none)'}`);
  }
  const key = uploaded[0]!.detail.location.key as string;
  const [stored, served] = await Promise.all([objectSha256(rehearsal, key), file.sha256()]);
  if (stored !== served) throw new Error(`the archived object's SHA-256 ${stored} is not the served file's ${served}`);
  return { recordingId: recording.uuid, fileId: file.fileId, key };
}
