import https from 'node:https';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import webPush from 'web-push';
import { maskToken, type Logger, type WebPushCredentials } from '@push/config';
import { endpointRefusal, toWebPush, unpackSubscriptionKeys, type HostPattern, type Payload, type WebPushMessage } from '@push/contract';
import { parseRetryAfter } from './fcm-classify';
import { ProviderClosedError, RequestTimeoutError } from './errors';
import { InFlight } from './in-flight';
import type { PushProvider, SendContext, SendOutcome } from './provider';
import { transportOutcome } from './transport';

export interface WebPushProviderOptions {
  /** The VAPID identity requests are signed with (WEBPUSH_VAPID_* and WEBPUSH_SUBJECT for the default app). */
  vapid: WebPushCredentials;
  /** WEBPUSH_ALLOWED_ENDPOINTS: checked again before every send, whatever the registry holds. */
  allowedEndpoints: readonly HostPattern[];
  /** Keep-alive connections per push-service origin: at most this many requests to one origin at a time. */
  connectionsPerOrigin: number;
  /** How long one request may wait for its answer once it has a connection, in milliseconds. */
  timeoutMs: number;
  logger?: Logger;
  /**
   * A PEM CA to trust for push services (a simulator). It replaces Node's default trust store.
   * @defaultValue unset: Node's roots plus NODE_EXTRA_CA_CERTS
   */
  ca?: string;
}

/**
 * What one push-service answer means for one subscription. Source: RFC 8030 (§5 "Requesting Push
 * Message Delivery", §8.2 "Push Message Receipt Subscription", §7.2 "Push Message Size"), RFC 8292 §4 and
 * the services' own pages (Mozilla autopush "HTTP Endpoints for Notifications", Apple "Sending web push
 * notifications", Microsoft WNS "Push notification service request and response headers").
 *
 * | status    | outcome       | why                                                                        |
 * | --------- | ------------- | -------------------------------------------------------------------------- |
 * | 201 (2xx) | sent              | "201 (Created) ... the push message was accepted"                      |
 * | 404, 410  | invalid (guarded) | the subscription expired or the user unsubscribed: it is dead          |
 * | 400       | failed            | the request is wrong (headers, VAPID token, encryption): resending cannot help |
 * | 413       | failed            | "payload too large"                                                    |
 * | 401, 403  | failed (guarded)  | VAPID refused: the key is not the one the subscription was made with   |
 * | 429       | retry (token)     | "too many requests": that origin is paused for Retry-After (else 60 s) |
 * | 5xx       | retry (outage)    | the service is in trouble; Retry-After is kept when given              |
 * | other     | failed            | unknown: do not loop on it                                             |
 *
 * Requests without any HTTP answer (timeouts, resets) never get here: they are retried (transport.ts).
 */
export function classifyWebPush(status: number, reason: string, retryAfterMs?: number): SendOutcome {
  if (status >= 200 && status < 300) return { status: 'sent' };
  if (status === 404 || status === 410) return { status: 'invalid', reason, misconfiguration: WEBPUSH_MISCONFIGURATION.gone };
  if (status === 401 || status === 403) return { status: 'failed', reason, misconfiguration: WEBPUSH_MISCONFIGURATION.vapidRefused };
  if (status === 429) return { status: 'retry', scope: 'token', reason, retryAfterMs: retryAfterMs ?? WEBPUSH_DEFAULT_PAUSE_MS };
  if (status >= 500) return { status: 'retry', scope: 'outage', reason, ...(retryAfterMs !== undefined && { retryAfterMs }) };
  return { status: 'failed', reason };
}

/** What the push services' answers that a guard may read as a misconfiguration would mean (dead-token guard). */
export const WEBPUSH_MISCONFIGURATION = {
  gone: 'most subscriptions gone at once is no mass unsubscription: a proxy or a wrong route in the way (check the network path to the push services)',
  vapidRefused:
    'VAPID refused: the subscriptions were made with another key than this one (check WEBPUSH_VAPID_PUBLIC_KEY and _PRIVATE_KEY)',
} as const;

/** A new VAPID key pair (base64url, what WEBPUSH_VAPID_PUBLIC_KEY / _PRIVATE_KEY take), from web-push. */
export function generateVapidKeys(): { publicKey: string; privateKey: string } {
  return webPush.generateVAPIDKeys();
}

/** How long an origin that answered 429 without Retry-After is left alone. */
export const WEBPUSH_DEFAULT_PAUSE_MS = 60_000;

/** A VAPID JWT is signed for 12 hours (RFC 8292 §2: at most 24) and replaced an hour before it ends. */
const VAPID_LIFETIME_S = 12 * 3600;
const VAPID_RENEW_S = 3600;
/** Error bodies are read up to this size: enough for any push service's reason. */
const MAX_ANSWER_BYTES = 2048;

interface Origin {
  /** Keep-alive connections to this origin, at most `connectionsPerOrigin` (more requests queue here). */
  agent: https.Agent;
  /** The VAPID `Authorization` header for this audience, and when it must be renewed (epoch seconds). */
  authorization?: { header: string; renewAt: number };
  /** Epoch ms until which this origin asked not to be sent to (429 Retry-After). */
  pausedUntil: number;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * The Web Push provider: RFC 8291 encryption (aes128gcm) and RFC 8292 VAPID from the `web-push` library
 * (`generateRequestDetails`), sent over our own keep-alive connections, one bounded pool per push-service
 * origin. web-push's own `sendNotification` opens whatever connections Node's global agent gives it and
 * signs a new VAPID JWT for every message; here the JWT is signed once per origin and reused while valid,
 * an origin that answers 429 is paused alone, and every endpoint is checked against the allowlist first.
 */
export function createWebPushProvider(options: WebPushProviderOptions): PushProvider {
  const { vapid, logger } = options;
  const origins = new Map<string, Origin>();
  const inFlight = new InFlight();
  let closing: Promise<void> | undefined;

  function originOf(url: URL): Origin {
    let origin = origins.get(url.origin);
    if (!origin) {
      const agent = new https.Agent({
        keepAlive: true,
        maxSockets: options.connectionsPerOrigin,
        scheduling: 'lifo',
        ...(options.ca !== undefined && { ca: options.ca }),
      });
      origin = { agent, pausedUntil: 0 };
      origins.set(url.origin, origin);
    }
    return origin;
  }

  /** The VAPID header for an origin (RFC 8292 §2: `aud` is the push service's origin), signed once per 11 hours. */
  function authorizationFor(url: URL, origin: Origin, nowS: number): string {
    if (!origin.authorization || nowS >= origin.authorization.renewAt) {
      const { Authorization } = webPush.getVapidHeaders(
        url.origin,
        vapid.subject,
        vapid.publicKey,
        vapid.privateKey,
        'aes128gcm',
        nowS + VAPID_LIFETIME_S,
      );
      origin.authorization = { header: Authorization, renewAt: nowS + VAPID_LIFETIME_S - VAPID_RENEW_S };
    }
    return origin.authorization.header;
  }

  async function sendOne(endpoint: string, keys: string | undefined, message: WebPushMessage): Promise<SendOutcome> {
    const refusal = endpointRefusal(endpoint, options.allowedEndpoints);
    if (refusal !== undefined) return { status: 'failed', reason: `EndpointNotAllowed: ${refusal} (not sent)` };
    if (keys === undefined)
      return { status: 'failed', reason: 'NoSubscriptionKeys: the subscription was unregistered before it could be sent (not sent)' };
    const url = new URL(endpoint);
    const origin = originOf(url);
    const pausedFor = origin.pausedUntil - Date.now();
    if (pausedFor > 0) {
      // Sitting out a pause up to one request timeout keeps the chunk going; a longer one is handed back.
      if (pausedFor > options.timeoutMs)
        return { status: 'retry', scope: 'token', reason: `Paused: ${url.origin} answered 429 (not sent)`, retryAfterMs: pausedFor };
      await new Promise((resolve) => setTimeout(resolve, pausedFor));
    }

    let details;
    try {
      details = webPush.generateRequestDetails({ endpoint, keys: unpackSubscriptionKeys(keys) }, message.body, {
        TTL: message.ttl,
        urgency: message.urgency,
        contentEncoding: 'aes128gcm',
        ...(message.topic !== undefined && { topic: message.topic }),
        headers: { Authorization: authorizationFor(url, origin, Math.floor(Date.now() / 1000)) },
      });
    } catch (error) {
      return { status: 'failed', reason: `EncryptionFailed: ${(error as Error).message} (not sent)` };
    }

    let outcome: SendOutcome;
    try {
      const answer = await post(url, origin.agent, details.headers, details.body, options.timeoutMs);
      const retryAfterMs = parseRetryAfter(answer.headers['retry-after'], Date.now());
      outcome = classifyWebPush(answer.status, reasonOf(answer), retryAfterMs);
      if (answer.status === 429) {
        const until = Date.now() + (retryAfterMs ?? WEBPUSH_DEFAULT_PAUSE_MS);
        if (until > origin.pausedUntil) origin.pausedUntil = until;
        logger?.warn({ origin: url.origin, pauseMs: until - Date.now() }, 'push service throttled: origin paused');
      }
    } catch (error) {
      outcome = transportOutcome(error);
    }
    if (outcome.status !== 'sent') logger?.debug({ token: maskToken(endpoint), ...outcome }, 'webpush answer');
    return outcome;
  }

  return {
    platform: 'web',
    send(tokens, payload: Payload, context?: SendContext) {
      if (closing) return Promise.reject(new ProviderClosedError('Web Push'));
      const message = toWebPush(payload, Date.now(), context?.priority);
      return inFlight.track(Promise.all(tokens.map((endpoint, i) => sendOne(endpoint, context?.keys?.[i], message))));
    },
    describe() {
      const allowed = options.allowedEndpoints.map((p) => `${p.anySubdomain ? '*.' : ''}${p.host}${p.port ? `:${p.port}` : ''}`);
      return Promise.resolve({ vapidPublicKey: vapid.publicKey, subject: vapid.subject, allowedEndpoints: allowed.join(',') });
    },
    close(): Promise<void> {
      closing ??= inFlight.drained().then(() => {
        for (const origin of origins.values()) origin.agent.destroy();
      });
      return closing;
    },
  };
}

/** One POST over the origin's agent; resolves with the answer, rejects when none comes in time. */
function post(url: URL, agent: https.Agent, headers: OutgoingHttpHeaders, body: Buffer | null, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = https.request(url, { method: 'POST', agent, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (text.length < MAX_ANSWER_BYTES) text += chunk;
      });
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text.slice(0, MAX_ANSWER_BYTES) }),
      );
      response.on('error', reject);
    });
    request.setTimeout(timeoutMs, () => request.destroy(new RequestTimeoutError(timeoutMs)));
    request.on('error', reject);
    request.end(body ?? undefined);
  });
}

/**
 * The push service's own reason: `HTTP <status>` and what its body says (Apple and Mozilla answer JSON
 * with `reason` or `message`; others plain text).
 */
function reasonOf(answer: Answer): string {
  let said = answer.body.trim();
  try {
    const parsed = JSON.parse(said) as { reason?: unknown; message?: unknown };
    const field = parsed.reason ?? parsed.message;
    if (typeof field === 'string') said = field;
  } catch {
    // Not JSON: the text as it is.
  }
  said = said.replace(/\s+/g, ' ').slice(0, 200);
  return said ? `HTTP ${answer.status}: ${said}` : `HTTP ${answer.status}`;
}
