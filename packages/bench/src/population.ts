import { createECDH, createHash } from 'node:crypto';
import { packSubscriptionKeys, type Platform } from '@push/contract';
import type { TokenRegistry } from '@push/store';

/**
 * The benchmark's users and devices, derived from their index so that every process (the bench, the
 * baseline scripts) builds the same ones without passing them around. Sizes are those of real tokens:
 * APNs 64 hex characters, FCM 152 characters (`<22>:APA91b<123>`), client ids of 12 characters.
 */
export interface Population {
  clients: number;
  iosShare: number;
  androidShare: number;
}

export const clientId = (i: number): string => `user${String(i).padStart(8, '0')}`;

export function iosToken(i: number): string {
  return createHash('sha256').update(`ios-${i}`).digest('hex');
}

export function fcmToken(i: number): string {
  const a = createHash('sha256').update(`fcm-${i}`).digest('base64url');
  const b = createHash('sha512').update(`fcm-${i}`).digest('base64url');
  return `${a.slice(0, 22)}:APA91b${(b + b).slice(0, 123)}`;
}

/** Position of client `i` in 0..1, spread evenly, deciding which platforms it has. */
const position = (i: number): number => (i % 10_000) / 10_000;

export function hasPlatform(p: Population, i: number, platform: Platform): boolean {
  return platform === 'ios' ? position(i) < p.iosShare : position(i) >= 1 - p.androidShare;
}

/** The tokens of one platform, in client order. */
export function tokensOf(p: Population, platform: Platform): string[] {
  const make = platform === 'ios' ? iosToken : fcmToken;
  const tokens: string[] = [];
  for (let i = 0; i < p.clients; i++) if (hasPlatform(p, i, platform)) tokens.push(make(i));
  return tokens;
}

export function countTokens(p: Population, platform: Platform): number {
  let n = 0;
  for (let i = 0; i < p.clients; i++) if (hasPlatform(p, i, platform)) n++;
  return n;
}

/**
 * Registers every client's tokens straight into the registry (not through the API: a hundred thousand
 * HTTP calls would measure the API, not the pipeline). Clients `from`..p.clients-1; `window` registrations are in flight at once and
 * ioredis pipelines them automatically.
 */
export async function registerPopulation(registry: TokenRegistry, p: Population, from = 0, window = 4000): Promise<number> {
  const now = Date.now();
  let registered = 0;
  let next = from;
  const lane = async () => {
    while (next < p.clients) {
      const i = next++;
      if (hasPlatform(p, i, 'ios')) {
        await registry.register(clientId(i), 'ios', iosToken(i), now);
        registered++;
      }
      if (hasPlatform(p, i, 'android')) {
        await registry.register(clientId(i), 'android', fcmToken(i), now);
        registered++;
      }
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
  return registered;
}

export function clientIds(count: number, from = 0): string[] {
  return Array.from({ length: count }, (_, i) => clientId(from + i));
}

/**
 * The Web Push run's users: clients of their own (`web00000001`), one browser subscription each. Their keys
 * are derived from the index like the tokens above, so the simulators' process can hold the private halves
 * (to decrypt) while the bench registers the public ones and the direct script sends to the same.
 */
export const webClientId = (i: number): string => `web${String(i).padStart(8, '0')}`;
export const webSubscriptionName = (i: number): string => `w${i}`;

/** The browser's secrets of subscription `i`: its P-256 private key and auth secret (base64url). */
export function webSecrets(i: number): { privateKey: string; auth: string } {
  return {
    privateKey: createHash('sha256').update(`web-key-${i}`).digest('base64url'),
    auth: createHash('sha256').update(`web-auth-${i}`).digest().subarray(0, 16).toString('base64url'),
  };
}

/** Subscription `i` as `PushSubscription.toJSON()` gives it, on the simulator at `origin`. */
export function webSubscription(i: number, origin: string): { endpoint: string; keys: { p256dh: string; auth: string } } {
  const { privateKey, auth } = webSecrets(i);
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(privateKey, 'base64url'));
  return { endpoint: `${origin}/push/${webSubscriptionName(i)}`, keys: { p256dh: ecdh.getPublicKey('base64url'), auth } };
}

/** Registers `count` web clients' subscriptions straight into the registry, `window` at a time. */
export async function registerWebClients(registry: TokenRegistry, count: number, origin: string, window = 4000): Promise<void> {
  const now = Date.now();
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      const { endpoint, keys } = webSubscription(i, origin);
      await registry.register(webClientId(i), 'web', endpoint, now, { keys: packSubscriptionKeys(keys) });
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
}
