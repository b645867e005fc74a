/**
 * Seals Zoom's webhook download_token for its trip over the bus. The token must reach
 * the uploader, but the bus keeps an archive for replay and the audit consumes every
 * event, so the token travels only as AES-256-GCM ciphertext under a key derived
 * (HKDF-SHA256) from a secret that only the webhook and the uploader hold. A replayed
 * event a day later carries a token that has expired anyway; the uploader then uses
 * Server-to-Server OAuth.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const INFO = 'zoom-archiver/download-token/v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class TokenSealer {
  private readonly key: Buffer;

  /** `secret`: TOKEN_SEALING_SECRET, or the webhook secret token when none is set. */
  constructor(secret: string) {
    if (!secret) throw new Error('TokenSealer needs a non-empty secret');
    this.key = Buffer.from(hkdfSync('sha256', secret, 'zoom-archiver', INFO, 32));
  }

  seal(token: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** Returns the token, or undefined if the ciphertext was not sealed with this key (never throws the token). */
  open(sealed: string): string | undefined {
    const raw = Buffer.from(sealed, 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}
