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

/**
 * The checks that need no body: both headers present and well-formed, the timestamp
 * inside the window. Run before the body is read, so an unsigned or stale request
 * costs no buffering and no parsing.
 */
export function checkSignatureHeaders(
  request: Pick<SignedRequest, 'signature' | 'timestamp'>,
  options: { nowMs: number; maxSkewSeconds: number },
): SignatureCheck {
  const { signature, timestamp } = request;
  if (!signature) return { ok: false, reason: 'missing x-zm-signature header' };
  if (!timestamp) return { ok: false, reason: 'missing x-zm-request-timestamp header' };
  if (!SIGNATURE_FORMAT.test(signature)) return { ok: false, reason: 'x-zm-signature is not v0= followed by 64 hex digits' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'x-zm-request-timestamp is not a Unix time in seconds' };
  const skew = Math.abs(options.nowMs / 1000 - Number(timestamp));
  if (skew > options.maxSkewSeconds) {
    return { ok: false, reason: `x-zm-request-timestamp is ${Math.round(skew)} s from now (allowed: ${options.maxSkewSeconds} s)` };
  }
  return { ok: true };
}
// Zoom sends lowercase hex; anything else cannot match and is refused before the MAC is computed.
const SIGNATURE_FORMAT = /^v0=[0-9a-f]{64}$/;

export function verifySignature(
  request: SignedRequest,
  secret: string,
  options: { nowMs: number; maxSkewSeconds: number },
): SignatureCheck {
  const headers = checkSignatureHeaders(request, options);
  if (!headers.ok) return headers;
  const expected = Buffer.from(signatureFor(secret, request.timestamp!, request.rawBody), 'utf8');
  const given = Buffer.from(request.signature!, 'utf8');
  // timingSafeEqual needs equal lengths; a length difference reveals nothing secret.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'signature does not match' };
  }
  return { ok: true };
}

/**
 * Answer to `endpoint.url_validation`: the plain token and its HMAC under the secret
 * token. That HMAC is the same function as a delivery's signature, so the caller
 * must have verified the request's signature and the token's shape first (see the
 * use case): answering an unsigned request would sign whatever an attacker sends.
 */
export function urlValidationAnswer(plainToken: string, secret: string): { plainToken: string; encryptedToken: string } {
  return { plainToken, encryptedToken: createHmac('sha256', secret).update(plainToken, 'utf8').digest('hex') };
}
