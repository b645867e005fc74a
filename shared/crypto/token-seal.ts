/**
 * Seals Zoom's webhook download_token for its trip over the bus. The token must reach
 * the uploader, but the bus keeps an archive for replay and the audit consumes every
 * event, so the token travels only as AES-256-GCM ciphertext under a key derived
 * (HKDF-SHA256) from a secret that only the webhook and the uploader hold. A replayed
 * event a day later carries a token that has expired anyway; the uploader then uses
 * Server-to-Server OAuth.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { ConfigError } from '../errors';

const INFO = 'zoom-archiver/download-token/v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Shortest secret anything seals with: a short one could be guessed offline from one sealed token. */
export const MIN_SEALING_SECRET_CHARS = 16;

/**
 * The sealing secret, decided in one place for the webhook (which seals) and the
 * uploader (which opens): TOKEN_SEALING_SECRET, else the webhook's secret token.
 * Whichever it is must have at least 16 characters; the error names the variable
 * it came from, never its value. Undefined when neither is set (the uploader then
 * downloads with OAuth only).
 */
export function sealingSecretFrom(settings: { TOKEN_SEALING_SECRET?: string; ZOOM_WEBHOOK_SECRET_TOKEN?: string }): string | undefined {
  const [name, value] = settings.TOKEN_SEALING_SECRET
    ? (['TOKEN_SEALING_SECRET', settings.TOKEN_SEALING_SECRET] as const)
    : (['ZOOM_WEBHOOK_SECRET_TOKEN', settings.ZOOM_WEBHOOK_SECRET_TOKEN] as const);
  if (!value) return undefined;
  if (value.length < MIN_SEALING_SECRET_CHARS) {
    const hint = name === 'ZOOM_WEBHOOK_SECRET_TOKEN' ? ' (it seals download tokens when TOKEN_SEALING_SECRET is not set; set TOKEN_SEALING_SECRET)' : '';
    throw new ConfigError(`${name}: must have at least ${MIN_SEALING_SECRET_CHARS} characters to seal download tokens, has ${value.length}${hint}`);
  }
  return value;
}

export class TokenSealer {
  private readonly key: Buffer;

  /** `secret`: from sealingSecretFrom; at least 16 characters. */
  constructor(secret: string) {
    if (secret.length < MIN_SEALING_SECRET_CHARS) throw new ConfigError(`the sealing secret must have at least ${MIN_SEALING_SECRET_CHARS} characters`);
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
