import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12; // NIST SP 800-38D's recommended GCM nonce length
const TAG_BYTES = 16;

/** Thrown when a sealed value cannot be opened: another SECRETS_KEY, another app's record, or tampering. */
export class SealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = this.constructor.name;
  }
}

/**
 * Encrypts `plaintext` with AES-256-GCM under `key` (SECRETS_KEY, 32 bytes), a fresh random nonce each
 * time; `context` (the app id) is authenticated but not stored, so a value copied into another app's
 * record does not open there. Result: `v1:<base64 of nonce | tag | ciphertext>`.
 */
export function seal(key: Buffer, context: string, plaintext: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
}

/** The plaintext `seal` was given; SealError when `key` or `context` differ or the value was changed. */
export function unseal(key: Buffer, context: string, sealed: string): string {
  const [version, data] = sealed.split(':', 2);
  if (version !== VERSION || data === undefined) throw new SealError('not a sealed value');
  const raw = Buffer.from(data, 'base64');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new SealError('sealed value too short');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw new SealError('cannot decrypt: SECRETS_KEY is not the one that encrypted it, or the value was changed');
  }
}
