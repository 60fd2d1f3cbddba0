import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';

export type ProviderTokenError = 'MissingProviderToken' | 'InvalidProviderToken' | 'ExpiredProviderToken';

/** A new APNs token-auth key: EC P-256, private half as PKCS#8 PEM (the content of a .p8 file). */
export function generateSigningKey(): { privatePem: string; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey };
}

/** The public half of a given .p8 key; throws when it is not an EC P-256 private key. */
export function publicKeyOf(privatePem: string): KeyObject {
  const key = createPrivateKey(privatePem);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('signingKeyPem must be an EC P-256 private key (PKCS#8 PEM, like an APNs .p8 file)');
  }
  return createPublicKey(key);
}

/** Ten characters from A-Z0-9, the shape of Apple key and team ids. */
export function appleId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from(randomBytes(10), (b) => alphabet[b % alphabet.length]).join('');
}

type Verified = { ok: true; iat: number; epoch: number; credential: string } | { ok: false; reason: ProviderTokenError };

/** Cache bound: a client keeps one JWT for 20-60 minutes, so a handful of entries is the normal case. */
const CACHE_LIMIT = 10_000;

/**
 * Checks `authorization: bearer <JWT>` the way APNs does: ES256 signature by one of the known keys, `kid` =
 * its keyId, `iss` = its teamId, `iat` not older than the maximum age. Each distinct JWT is verified once
 * and then served from a cache, so the per-request cost is a Map look-up.
 */
export class ProviderTokenVerifier {
  maxAgeSeconds = 3600;
  private cache = new Map<string, Verified>();
  /** Bumped by expireAll(): entries verified under an older epoch are expired. */
  private epoch = 0;
  /** Tokens issued before this (Unix seconds) are expired. */
  private notBeforeIat = 0;
  /** The accepted keys by key id, each with its team. */
  private readonly keys = new Map<string, { publicKey: KeyObject; teamId: string }>();

  constructor(publicKey: KeyObject, keyId: string, teamId: string) {
    this.addKey(publicKey, keyId, teamId);
  }

  /** Accepts one more signing key (another Apple developer account: several apps in one test). */
  addKey(publicKey: KeyObject, keyId: string, teamId: string): void {
    this.keys.set(keyId, { publicKey, teamId });
  }

  /** The error APNs would answer, or the accepted key as `<teamId>.<keyId>`. */
  check(authorization: string | undefined, nowMs: number): ProviderTokenError | { credential: string } {
    if (!authorization) return 'MissingProviderToken';
    let entry = this.cache.get(authorization);
    if (entry === undefined) {
      entry = this.verify(authorization, nowMs);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(authorization, entry);
    }
    if (!entry.ok) return entry.reason;
    if (entry.epoch < this.epoch || nowMs - entry.iat * 1000 > this.maxAgeSeconds * 1000) {
      return 'ExpiredProviderToken';
    }
    return { credential: entry.credential };
  }

  /** Every token issued before now is expired; tokens issued from now on are accepted. */
  expireAll(nowMs: number): void {
    this.epoch++;
    this.notBeforeIat = Math.floor(nowMs / 1000);
  }

  private verify(authorization: string, nowMs: number): Verified {
    const match = /^bearer\s+(\S*)$/i.exec(authorization.trim());
    if (!match) return { ok: false, reason: 'InvalidProviderToken' };
    const jwt = match[1] ?? '';
    if (jwt === '') return { ok: false, reason: 'MissingProviderToken' };
    const parts = jwt.split('.');
    if (parts.length !== 3) return { ok: false, reason: 'InvalidProviderToken' };
    const [h, p, s] = parts as [string, string, string];
    const header = decodeJson(h);
    const payload = decodeJson(p);
    if (!header || !payload) return { ok: false, reason: 'InvalidProviderToken' };
    const key = typeof header.kid === 'string' ? this.keys.get(header.kid) : undefined;
    if (header.alg !== 'ES256' || !key) return { ok: false, reason: 'InvalidProviderToken' };
    if (payload.iss !== key.teamId || typeof payload.iat !== 'number' || !Number.isInteger(payload.iat)) {
      return { ok: false, reason: 'InvalidProviderToken' };
    }
    // An iat far in the future is a client clock or signing bug, not a fresh token.
    if (payload.iat * 1000 > nowMs + 3600_000) return { ok: false, reason: 'InvalidProviderToken' };
    const signature = Buffer.from(s, 'base64url');
    // JWS ES256 signatures are r||s (64 bytes), not DER.
    const valid =
      signature.length === 64 && verify('sha256', Buffer.from(`${h}.${p}`), { key: key.publicKey, dsaEncoding: 'ieee-p1363' }, signature);
    if (!valid) return { ok: false, reason: 'InvalidProviderToken' };
    const iat = payload.iat;
    return { ok: true, iat, epoch: iat < this.notBeforeIat ? -1 : this.epoch, credential: `${key.teamId}.${String(header.kid)}` };
  }
}

/** One base64url JWT part as a JSON object, or undefined when it is not one. */
export function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
