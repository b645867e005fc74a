/**
 * Lambda entry point of the recovery sweep, run on a schedule: re-publishes the
 * FileUploadRequested of uploads whose run died (expired lease), stopped at its
 * deadline, or that were never claimed. The ledger makes re-driving safe: an uploaded
 * file is never sent again; one re-driven UPLOAD_MAX_REDRIVES times is failed instead.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgePublisher } from '../../shared/adapters/eventbridge-publisher';
import { DynamoDbUploadLedger } from '../../shared/adapters/ledger-dynamodb';
import { ConfigError } from '../../shared/errors';
import { createLogger } from '../../shared/logger';
import { loadUploaderSettings } from './config';
import { recoverStalledUploads } from './redrive';

const required = (name: string) => {
  const value = process.env[name];
  if (!value) throw new ConfigError(`${name} is required`);
  return value;
};
const ledger = new DynamoDbUploadLedger({ client: new DynamoDBClient({}), tableName: required('LEDGER_TABLE_NAME') });
const publisher = new EventBridgePublisher({ client: new EventBridgeClient({}), eventBusName: required('EVENT_BUS_NAME') });
const logger = createLogger('uploader-recovery');
const { maxRedrives } = loadUploaderSettings(process.env);

/** A request not claimed within this long is considered lost (EventBridge delivers within seconds). */
const STALE_AFTER_MS = 15 * 60_000;

export async function handler(): Promise<{ redriven: number; failed: number; skipped: number }> {
  const result = await recoverStalledUploads({ ledger, publisher, logger, now: () => Date.now(), staleAfterMs: STALE_AFTER_MS, maxRedrives });
  return { redriven: result.redriven.length, failed: result.failed.length, skipped: result.skipped.length };
}
