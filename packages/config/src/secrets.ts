import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Which of `secrets` `given` is (its index), or -1, in constant time: both sides are hashed to equal length
 * and every secret is compared, so timing reveals neither a secret nor which one matched. An absent or
 * empty `given` matches nothing.
 */
export function secretIndex(secrets: readonly string[], given: string | undefined): number {
  const candidate = digest(given ?? '');
  let match = -1;
  secrets.forEach((secret, i) => {
    if (timingSafeEqual(digest(secret), candidate) && match < 0) match = i;
  });
  return given === undefined || given === '' ? -1 : match;
}

/** Whether `given` is one of `secrets` (secretIndex, constant time). */
export function matchesSecret(secrets: readonly string[], given: string | undefined): boolean {
  return secretIndex(secrets, given) >= 0;
}

/** The token of an `Authorization: Bearer <token>` header, if that is what the header holds. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
  return match?.[1];
}

/** User and password of an `Authorization: Basic <base64>` header (RFC 7617), if that is what it holds. */
export function basicCredentials(authorization: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(authorization ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
