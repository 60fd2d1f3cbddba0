import { createHash, ECDH } from 'node:crypto';
import { z } from 'zod';
import { secondsLeft } from './mapping';
import type { Payload, Priority } from './schemas';

/**
 * Web Push (contract Part 2, "Web Push"): the subscription a browser hands over, the endpoint allowlist
 * that keeps the workers from requesting arbitrary hosts, and the payload mapping.
 */

/** The browsers' push services (contract: the default of WEBPUSH_ALLOWED_ENDPOINTS). */
export const DEFAULT_WEBPUSH_ALLOWED_ENDPOINTS = 'fcm.googleapis.com,*.push.services.mozilla.com,*.notify.windows.com,*.push.apple.com';

/** What a push service may keep a message for when the payload has no `expiry`: 4 weeks (contract). */
export const WEBPUSH_DEFAULT_TTL_SECONDS = 28 * 24 * 3600;

/**
 * Bytes aes128gcm adds to the plaintext (RFC 8291 §4, RFC 8188 §2): the header (16 salt + 4 record size
 * + 1 key-id length + 65 key), the padding delimiter and the 16-byte tag. Push services need accept
 * only 4096 bytes of body (RFC 8030 §7.2), so the plaintext may be 4096 minus this.
 */
export const WEBPUSH_ENCRYPTION_OVERHEAD = 86 + 1 + 16;

/** One entry of WEBPUSH_ALLOWED_ENDPOINTS: a host name, or `*.` + a domain for any of its subdomains; a port when not 443. */
export interface HostPattern {
  host: string;
  anySubdomain: boolean;
  /** The port as URL.port gives it ('' is 443, https' default). */
  port: string;
}

const HOST_PATTERN = /^(\*\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/;

/** Parses a comma-separated WEBPUSH_ALLOWED_ENDPOINTS; throws a RangeError naming the bad entry. */
export function parseHostPatterns(list: string): HostPattern[] {
  const entries = list
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean);
  if (entries.length === 0) throw new RangeError('must list at least one host pattern');
  return entries.map((entry) => {
    const match = HOST_PATTERN.exec(entry);
    const port = match?.[3] === undefined ? '' : String(Number(match[3]));
    if (!match || Number(port) > 65535) throw new RangeError(`"${entry}" is not a host pattern (host, *.domain, optionally :port)`);
    return { host: match[2]!, anySubdomain: match[1] !== undefined, port: port === '443' ? '' : port };
  });
}

/**
 * Why `endpoint` may not be sent to, or undefined when it may: it must be an `https:` URL without user
 * info whose host (and port) matches one of `patterns`. Used at registration and again by the worker
 * before every send, so a registry written before the allowlist changed cannot make it reach another host.
 */
export function endpointRefusal(endpoint: string, patterns: readonly HostPattern[]): string | undefined {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return 'must be a URL';
  }
  if (url.protocol !== 'https:') return 'must be an https: URL';
  if (url.username !== '' || url.password !== '') return 'must not carry user info';
  const host = url.hostname;
  const allowed = patterns.some((p) => p.port === url.port && (p.anySubdomain ? host.endsWith(`.${p.host}`) : host === p.host));
  return allowed ? undefined : `host ${url.host} is not an allowed push service (WEBPUSH_ALLOWED_ENDPOINTS)`;
}

/** Bytes of the subscription keys (RFC 8291 §3.2: an uncompressed P-256 point and a 16-byte secret). */
const P256DH_BYTES = 65;
const AUTH_BYTES = 16;
const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;

function decodedBytes(value: string): Buffer | undefined {
  return BASE64URL.test(value) ? Buffer.from(value, 'base64url') : undefined;
}

/** A browser's `PushSubscription.toJSON()`. */
export const pushSubscriptionSchema = z.strictObject({
  // Visible ASCII only: URL parsing would silently drop a line break or tab that the registry cannot store.
  endpoint: z
    .string()
    .max(2048, 'must be at most 2048 characters')
    .regex(/^[\x21-\x7e]+$/, 'must be a URL of visible ASCII characters'),
  expirationTime: z.number().nullable().optional(),
  keys: z.strictObject({
    p256dh: z
      .string()
      .max(200)
      .refine((value) => isP256PublicKey(decodedBytes(value)), 'must be base64url of an uncompressed P-256 public key (65 bytes)'),
    auth: z
      .string()
      .max(100)
      .refine((value) => decodedBytes(value)?.length === AUTH_BYTES, `must be base64url of ${AUTH_BYTES} bytes`),
  }),
});
export type PushSubscriptionJson = z.infer<typeof pushSubscriptionSchema>;

/** True for the 65 bytes of an uncompressed point on P-256 (a subscription's p256dh, a VAPID public key). */
export function isP256PublicKey(bytes: Buffer | undefined): boolean {
  if (bytes?.length !== P256DH_BYTES || bytes[0] !== 4) return false;
  try {
    // Throws unless the bytes are a point on the curve: a key no browser could have made is refused here.
    ECDH.convertKey(bytes, 'prime256v1');
    return true;
  } catch {
    return false;
  }
}

/**
 * The subscription keys as the registry stores them: base64url of p256dh's 65 bytes then auth's 16
 * (108 characters instead of two fields and their names).
 */
export function packSubscriptionKeys(keys: { p256dh: string; auth: string }): string {
  return Buffer.concat([Buffer.from(keys.p256dh, 'base64url'), Buffer.from(keys.auth, 'base64url')]).toString('base64url');
}

export function unpackSubscriptionKeys(packed: string): { p256dh: string; auth: string } {
  const bytes = Buffer.from(packed, 'base64url');
  if (bytes.length !== P256DH_BYTES + AUTH_BYTES) throw new RangeError('stored subscription keys are damaged');
  return { p256dh: bytes.toString('base64url', 0, P256DH_BYTES), auth: bytes.toString('base64url', P256DH_BYTES) };
}

/** What one Web Push message carries besides the subscription: the plaintext and the RFC 8030 headers. */
export interface WebPushMessage {
  /** The JSON the browser's service worker gets from `event.data.json()`. */
  body: string;
  /** RFC 8030 §5.2 `TTL`, in seconds. */
  ttl: number;
  /** RFC 8030 §5.4 `Topic`: at most 32 characters of the URL-safe base64 alphabet. */
  topic?: string;
  /** RFC 8030 §5.3 `Urgency`: `high` for `high` jobs (a security alert wakes the device), else `normal`. */
  urgency: 'high' | 'normal';
}

const TOPIC = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * A `collapseKey` as an RFC 8030 Topic: kept when it already is one, else the first 32 characters of
 * its SHA-256 in base64url, so distinct keys stay distinct and equal keys still replace each other.
 */
export function webPushTopic(collapseKey: string): string {
  return TOPIC.test(collapseKey) ? collapseKey : createHash('sha256').update(collapseKey).digest('base64url').slice(0, 32);
}

/** The contract's payload mapping for Web Push; `nowMs` fixes the TTL, `priority` (the job's) the urgency. */
export function toWebPush(payload: Payload, nowMs: number, priority: Priority = 'normal'): WebPushMessage {
  const { title, body, icon, type, alert } = payload;
  const left = secondsLeft(payload, nowMs);
  return {
    body: JSON.stringify({ title, body, icon, type, alert }),
    ttl: left === undefined ? WEBPUSH_DEFAULT_TTL_SECONDS : Math.max(left, 0),
    urgency: priority === 'high' ? 'high' : 'normal',
    ...(payload.collapseKey !== undefined && { topic: webPushTopic(payload.collapseKey) }),
  };
}
