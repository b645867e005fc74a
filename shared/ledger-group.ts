/**
 * The ledger's group key: which files announce together. The uploader writes it with
 * each entry and reads the group back with it to decide when RecordingArchived is due.
 */

/** Group key of the files announced together: one RecordingAvailable (`part` = its trigger and part index). */
export function ledgerGroupKey(recordingId: string, part: string | number): string {
  return `${recordingId}#${part}`;
}
