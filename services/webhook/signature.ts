/**
 * Zoom webhook authentication. Zoom signs `v0:{x-zm-request-timestamp}:{raw body}`
 * with HMAC-SHA256 under the app's secret token and sends `v0=` + lowercase hex in
 * `x-zm-signature`. The MAC is computed over the bytes as received (re-serialized
 * JSON would not match) and compared in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

export interface SignedRequest {
  rawBody: Buffer;
  signature: string | undefined;
  timestamp: string | undefined;
}

export function signatureFor(secret: string, timestamp: string, rawBody: Buffer | string): string {
  const mac = createHmac('sha256', secret);
  mac.update(`v0:${timestamp}:`, 'utf8');
  mac.update(rawBody);
  return `v0=${mac.digest('hex')}`;
}

export function verifySignature(
  request: SignedRequest,
  secret: string,
  options: { nowMs: number; maxSkewSeconds: number },
): SignatureCheck {
  const { signature, timestamp } = request;
  if (!signature) return { ok: false, reason: 'missing x-zm-signature header' };
  if (!timestamp) return { ok: false, reason: 'missing x-zm-request-timestamp header' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'x-zm-request-timestamp is not a Unix time in seconds' };
  const skew = Math.abs(options.nowMs / 1000 - Number(timestamp));
  if (skew > options.maxSkewSeconds) {
    return { ok: false, reason: `x-zm-request-timestamp is ${Math.round(skew)} s from now (allowed: ${options.maxSkewSeconds} s)` };
  }
  const expected = Buffer.from(signatureFor(secret, timestamp, request.rawBody), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  // timingSafeEqual needs equal lengths; a length difference reveals nothing secret.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'signature does not match' };
  }
  return { ok: true };
}

/** Answer to `endpoint.url_validation`: the plain token and its HMAC under the secret token. */
export function urlValidationAnswer(plainToken: string, secret: string): { plainToken: string; encryptedToken: string } {
  return { plainToken, encryptedToken: createHmac('sha256', secret).update(plainToken, 'utf8').digest('hex') };
}
