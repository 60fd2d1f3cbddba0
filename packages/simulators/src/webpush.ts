import { createECDH, createPublicKey, randomBytes, verify, type ECDH, type KeyObject } from 'node:crypto';
import { decrypt } from 'http_ece';
import { SimulatorCore, listen, splitOptions } from './core';
import { decodeJson } from './jwt';
import { deviceHeaders, type Exchange } from './server';
import type { SimulatedSubscription, SubscribeOptions, WebPushBehaviour, WebPushSimulator, WebPushSimulatorOptions } from './types';

// A push service as RFC 8030 (HTTP push), RFC 8291 (message encryption) and RFC 8292 (VAPID) describe
// it: what a browser vendor's service checks, and the answers the Web Push provider classifies.

const PUSH_PATH = /^\/push\/([A-Za-z0-9_-]{1,128})$/;
const NAME = /^[A-Za-z0-9_-]{1,128}$/;
/** RFC 8030 §5.4: a Topic is at most 32 characters of the URL-safe base64 alphabet. */
const TOPIC = /^[A-Za-z0-9_-]{1,32}$/;
const URGENCIES = new Set(['very-low', 'low', 'normal', 'high']);
/** RFC 8292 §2: a JWT `exp` more than 24 hours ahead is refused. */
const MAX_JWT_LIFETIME_S = 24 * 3600;

interface Subscription {
  ecdh: ECDH;
  auth: string;
  /** The VAPID key the page subscribed with; messages signed by another key answer 403. */
  applicationServerKey?: string;
  gone: boolean;
}

type Answer = { status: number; reason: string; retryAfter?: number };
type Claims = { aud: string; exp: number; sub: string; k: string };

/** Starts a Web Push service stand-in: HTTPS (HTTP/1.1 and HTTP/2), VAPID checked, payloads decrypted and recorded. */
export async function startWebPushSimulator(options: WebPushSimulatorOptions = {}): Promise<WebPushSimulator> {
  const { server, behaviour } = splitOptions(options, [] as const);
  const core = new SimulatorCore<WebPushBehaviour>('webpush', { maxPayloadBytes: 4096 }, ['badRequest'], behaviour);
  const subscriptions = new Map<string, Subscription>();
  const vapid = new VapidVerifier();
  let origin = '';

  function subscribe(input: SubscribeOptions = {}): SimulatedSubscription {
    const name = input.name ?? randomBytes(16).toString('base64url');
    if (!NAME.test(name)) throw new Error('name must be 1-128 characters of A-Z a-z 0-9 _ -');
    const ecdh = createECDH('prime256v1');
    if (input.privateKey === undefined) ecdh.generateKeys();
    else ecdh.setPrivateKey(Buffer.from(input.privateKey, 'base64url'));
    const auth = input.auth ?? randomBytes(16).toString('base64url');
    subscriptions.set(name, {
      ecdh,
      auth,
      gone: false,
      ...(input.applicationServerKey !== undefined && { applicationServerKey: input.applicationServerKey }),
    });
    return { endpoint: `${origin}/push/${name}`, expirationTime: null, keys: { p256dh: ecdh.getPublicKey('base64url'), auth } };
  }

  const { sim } = await listen(core, server, true, (ex) => handle(ex), {
    subscribe: (input) => subscribe((input ?? {}) as SubscribeOptions),
  });
  origin = sim.url;

  function handle(ex: Exchange): void {
    core.recorder.request();
    const now = Date.now();
    const name = PUSH_PATH.exec(ex.path)?.[1];
    const endpoint = `${origin}${ex.path}`;
    const decided = decide(ex, name, endpoint, now);
    const delay = core.behaviour.delayFor(endpoint);
    if ('status' in decided) {
      core.recorder.reject(decided.reason);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (decided.retryAfter !== undefined) headers['retry-after'] = String(decided.retryAfter);
      return core.later(delay, () => ex.respond(decided.status, headers, JSON.stringify({ reason: decided.reason })));
    }
    core.recorder.add({ token: endpoint, headers: deviceHeaders(ex.headers), body: decided.body, vapid: decided.claims, at: now });
    core.later(delay, () => ex.respond(201, { location: `/message/${randomBytes(8).toString('hex')}` }));
  }

  /** The push service's answer to this request, or what it decrypted. */
  function decide(ex: Exchange, name: string | undefined, endpoint: string, now: number): Answer | { body: unknown; claims: Claims } {
    const b = core.behaviour;
    if (ex.method !== 'POST' || name === undefined) return { status: 404, reason: 'NotFound' };
    const outage = b.outageStatus(now);
    if (outage)
      return { status: outage, reason: 'Outage', retryAfter: Math.max(1, Math.ceil(((b.current.outageUntil ?? now) - now) / 1000)) };
    if (b.randomError()) return { status: 503, reason: 'ServiceUnavailable' };

    // RFC 8292 §4: the token must be valid for this push service before anything else is looked at.
    const claims = vapid.check(ex.headers.authorization, origin, now);
    if (typeof claims === 'string') return { status: 401, reason: claims };
    const subscription = subscriptions.get(name);
    if (!subscription || b.in('bad', endpoint)) return { status: 404, reason: 'NoSuchSubscription' };
    if (subscription.gone || b.in('dead', endpoint)) return { status: 410, reason: 'Unsubscribed' };
    if (subscription.applicationServerKey !== undefined && subscription.applicationServerKey !== claims.k) {
      return { status: 403, reason: 'VapidKeyMismatch' };
    }

    // RFC 8030 §5.2-5.4 and RFC 8291 §4: the headers a push message must carry.
    const ttl = ex.headers.ttl;
    if (ttl === undefined || !/^\d+$/.test(String(ttl))) return { status: 400, reason: 'MissingOrInvalidTTL' };
    const topic = ex.headers.topic;
    if (topic !== undefined && !TOPIC.test(String(topic))) return { status: 400, reason: 'InvalidTopic' };
    const urgency = ex.headers.urgency;
    if (urgency !== undefined && !URGENCIES.has(String(urgency))) return { status: 400, reason: 'InvalidUrgency' };
    if (ex.headers['content-encoding'] !== 'aes128gcm') return { status: 400, reason: 'UnsupportedContentEncoding' };
    if (ex.bodyLength > (b.current.maxPayloadBytes ?? 4096)) return { status: 413, reason: 'PayloadTooLarge' };
    if (b.in('badRequest', endpoint)) return { status: 400, reason: 'BadRequest' };
    if (b.in('throttled', endpoint)) return { status: 429, reason: 'TooManyRequests', retryAfter: b.current.retryAfterSeconds ?? 1 };
    if (b.flakyFirstTime(endpoint)) return { status: 503, reason: 'ServiceUnavailable' };

    let plaintext: string;
    try {
      plaintext = decrypt(ex.body, { version: 'aes128gcm', privateKey: subscription.ecdh, authSecret: subscription.auth }).toString('utf8');
    } catch (error) {
      return { status: 400, reason: `DecryptionFailed: ${(error as Error).message}` };
    }
    let body: unknown = plaintext;
    try {
      body = JSON.parse(plaintext);
    } catch {
      // Not JSON: recorded as the text.
    }
    return { body, claims };
  }

  return {
    ...sim,
    subscribe,
    unsubscribe(endpoint) {
      const name = PUSH_PATH.exec(endpoint.slice(origin.length))?.[1];
      const subscription = name === undefined ? undefined : subscriptions.get(name);
      if (subscription) subscription.gone = true;
    },
  };
}

/**
 * RFC 8292 §3: `Authorization: vapid t=<JWT>, k=<public key>`. The JWT is ES256-signed by `k`'s private
 * half, `aud` is the push service's origin, `exp` is at most 24 hours ahead, `sub` a mailto: or https:
 * contact. Each distinct header is verified once (senders reuse one for hours); the expiry is checked every time.
 */
class VapidVerifier {
  private cache = new Map<string, Claims | string>();

  check(header: string | string[] | undefined, audience: string, nowMs: number): Claims | string {
    if (typeof header !== 'string') return 'MissingVapidToken';
    let entry = this.cache.get(header);
    if (entry === undefined) {
      entry = verifyVapid(header, audience, nowMs);
      if (this.cache.size >= 10_000) this.cache.clear();
      this.cache.set(header, entry);
    }
    if (typeof entry === 'string') return entry;
    return entry.exp * 1000 <= nowMs ? 'ExpiredVapidToken' : entry;
  }
}

function verifyVapid(header: string, audience: string, nowMs: number): Claims | string {
  const match = /^vapid\s+(.+)$/i.exec(header.trim());
  if (!match) return 'NotVapidScheme';
  const params = new Map(
    match[1]!.split(',').map((part) => {
      const at = part.indexOf('=');
      return [part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim()] as const;
    }),
  );
  const jwt = params.get('t');
  const k = params.get('k');
  if (!jwt || !k) return 'MissingVapidParameter';
  let key: KeyObject;
  try {
    const point = Buffer.from(k, 'base64url');
    if (point.length !== 65 || point[0] !== 4) return 'InvalidVapidKey';
    key = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') },
      format: 'jwk',
    });
  } catch {
    return 'InvalidVapidKey';
  }
  const parts = jwt.split('.');
  if (parts.length !== 3) return 'MalformedVapidToken';
  const [h, p, s] = parts as [string, string, string];
  const head = decodeJson(h);
  const claims = decodeJson(p);
  if (!head || !claims || head.alg !== 'ES256') return 'MalformedVapidToken';
  const signature = Buffer.from(s, 'base64url');
  // JWS ES256 signatures are r||s (64 bytes), not DER.
  if (signature.length !== 64 || !verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, signature))
    return 'BadVapidSignature';
  if (claims.aud !== audience) return 'BadVapidAudience';
  const { exp, sub } = claims;
  if (typeof exp !== 'number' || exp * 1000 <= nowMs) return 'ExpiredVapidToken';
  if (exp * 1000 > nowMs + MAX_JWT_LIFETIME_S * 1000) return 'VapidExpiryTooFar';
  if (typeof sub !== 'string' || !/^(mailto:|https:)/.test(sub)) return 'BadVapidSubject';
  return { aud: audience, exp, sub, k };
}
