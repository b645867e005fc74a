/** The IAM part of the rehearsal (iam-policy.ts, recording-proxy.ts), imported from one place. */
export { evaluate } from './iam-policy';
export { startRecordingProxy } from './recording-proxy';
