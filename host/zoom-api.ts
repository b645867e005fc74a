/**
 * The Zoom REST client of the single-machine host, built from the configured
 * Server-to-Server OAuth app: the reconciler lists with it, the clean-up reads and
 * trashes with it. Refuses at once, naming the variables, when the app is not configured.
 */
import { missingS2sKeys } from '../shared/config/secrets';
import { ConfigError } from '../shared/errors';
import { createZoomApi, type ZoomApiClient } from '../shared/adapters/zoom-api';
import { oauthTokenSourceFor } from '../shared/adapters/zoom-oauth';
import type { RuntimeConfig } from './config';

/** `purpose` completes the error: "listing Zoom recordings needs …". */
export function openZoomApi(config: Pick<RuntimeConfig, 'secrets' | 'uploader' | 'reconciler'>, purpose: string, readmeSection: string): ZoomApiClient {
  if (missingS2sKeys(config.secrets).length > 0) {
    throw new ConfigError(`${purpose} needs Server-to-Server OAuth: set ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET (see README, "${readmeSection}")`);
  }
  return createZoomApi(config.reconciler, oauthTokenSourceFor(config.uploader.oauthTokenUrl, config.secrets));
}
