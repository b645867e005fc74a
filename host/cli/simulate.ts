/**
 * `zoom-archiver simulate`: sends a signed sample Zoom webhook to any URL (a local
 * server or a deployed Function URL) and reports the answer and how long it took.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../bundle-mode';
import { signatureFor } from '../../services/webhook/signature';

export const SAMPLE_DIR = join(PROJECT_ROOT, 'tests', 'fixtures', 'zoom');

export interface SimulateResult {
  status: number;
  body: string;
  elapsedMs: number;
}

export function loadSample(name: string): string {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`unknown sample "${name}"`);
  return readFileSync(join(SAMPLE_DIR, `${name}.json`), 'utf8');
}

export async function sendSignedWebhook(url: string, secret: string, body: string): Promise<SimulateResult> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'x-zm-request-timestamp': timestamp,
      'x-zm-signature': signatureFor(secret, timestamp, body),
    },
    body,
  });
  const text = await response.text();
  return { status: response.status, body: text, elapsedMs: performance.now() - started };
}
