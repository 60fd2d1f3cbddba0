import webPush from 'web-push';
import { packSubscriptionKeys, parseHostPatterns, webPushTopic, WEBPUSH_DEFAULT_TTL_SECONDS, type Payload } from '@push/contract';
import {
  classifyWebPush,
  createWebPushProvider,
  ProviderClosedError,
  WEBPUSH_MISCONFIGURATION,
  type PushProvider,
  type WebPushProviderOptions,
} from '@push/providers';
import { startWebPushSimulator, type SimulatedSubscription, type WebPushSimulator } from '@push/simulators';

// The Web Push provider through the real web-push library against the simulator over TLS: the simulator
// verifies VAPID and decrypts with the subscription's private keys, so what it records is what a browser reads.

const vapid = { ...webPush.generateVAPIDKeys(), subject: 'mailto:ops@example.com' };
let sim: WebPushSimulator;
let provider: PushProvider;
const providers: PushProvider[] = [];

function newProvider(options: Partial<WebPushProviderOptions> = {}): PushProvider {
  const p = createWebPushProvider({
    vapid,
    allowedEndpoints: parseHostPatterns(`fcm.googleapis.com,${new URL(sim.url).host}`),
    connectionsPerOrigin: 4,
    timeoutMs: 5000,
    ca: sim.caPem,
    ...options,
  });
  providers.push(p);
  return p;
}

/** Sends `payload` to subscriptions as the pipeline does: endpoints as tokens, packed keys beside them. */
function send(p: PushProvider, subs: SimulatedSubscription[], payload: Payload = { title: 'hi' }) {
  return p.send(
    subs.map((s) => s.endpoint),
    payload,
    { keys: subs.map((s) => packSubscriptionKeys(s.keys)) },
  );
}

beforeAll(async () => {
  sim = await startWebPushSimulator({ retryAfterSeconds: 1 });
  provider = newProvider();
});

beforeEach(() => {
  sim.reset();
  sim.setBehaviour({
    dead: undefined,
    bad: undefined,
    badRequest: undefined,
    throttled: undefined,
    flakyOnce: undefined,
    slow: undefined,
    maxPayloadBytes: undefined,
    retryAfterSeconds: 1,
    latencyMs: undefined,
  });
});

afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await sim.close();
});

test('encrypts the payload fields present; TTL from expiry, Topic from collapseKey, VAPID for the origin', async () => {
  const sub = sim.subscribe({ applicationServerKey: vapid.publicKey });
  const payload: Payload = {
    title: 'T',
    body: 'B',
    icon: 'https://example.com/i.png',
    type: 'chat',
    alert: 'A',
    badge: 3,
    collapseKey: 'room:42/новое',
    expiry: Math.floor(Date.now() / 1000) + 600,
  };
  expect(await send(provider, [sub], payload)).toEqual([{ status: 'sent' }]);

  const [got] = sim.receivedFor(sub.endpoint);
  expect(got?.body).toEqual({ title: 'T', body: 'B', icon: 'https://example.com/i.png', type: 'chat', alert: 'A' });
  expect(Number(got?.headers.ttl)).toBeGreaterThanOrEqual(598);
  expect(Number(got?.headers.ttl)).toBeLessThanOrEqual(600);
  expect(got?.headers.topic).toBe(webPushTopic('room:42/новое'));
  expect(got?.headers.topic).toMatch(/^[A-Za-z0-9_-]{32}$/);
  expect(got?.headers['content-encoding']).toBe('aes128gcm');
  expect(got?.headers.urgency).toBe('normal');
  expect(got?.vapid).toMatchObject({ aud: sim.url, sub: 'mailto:ops@example.com', k: vapid.publicKey });
  const exp = got!.vapid!.exp * 1000;
  expect(exp).toBeGreaterThan(Date.now() + 11 * 3600_000);
  expect(exp).toBeLessThanOrEqual(Date.now() + 24 * 3600_000);
});

test('without expiry the TTL is 4 weeks; a header-safe collapseKey is the Topic as it is; no collapseKey, no Topic', async () => {
  const [a, b] = [sim.subscribe(), sim.subscribe()];
  await send(provider, [a], { body: 'x', collapseKey: 'inbox_7' });
  await send(provider, [b], { type: 'sync' });
  expect(sim.receivedFor(a.endpoint)[0]?.headers).toMatchObject({ ttl: String(WEBPUSH_DEFAULT_TTL_SECONDS), topic: 'inbox_7' });
  expect(sim.receivedFor(b.endpoint)[0]?.headers.topic).toBeUndefined();
  expect(sim.receivedFor(b.endpoint)[0]?.body).toEqual({ type: 'sync' });
});

test('each answer of the classification table, from the simulator', async () => {
  const [ok, unknown, gone, unsubscribed, bad, throttled, flaky] = Array.from({ length: 7 }, () => sim.subscribe());
  const other = webPush.generateVAPIDKeys();
  const restricted = sim.subscribe({ applicationServerKey: other.publicKey });
  sim.unsubscribe(unsubscribed!.endpoint);
  sim.setBehaviour({
    bad: [unknown!.endpoint],
    dead: [gone!.endpoint],
    badRequest: [bad!.endpoint],
    throttled: [throttled!.endpoint],
    flakyOnce: [flaky!.endpoint],
    retryAfterSeconds: 7,
  });
  // One origin: the 429 pauses it, so the 429 goes last, on its own.
  const outcomes = await send(provider, [ok!, unknown!, gone!, unsubscribed!, bad!, flaky!, restricted]);
  expect(outcomes).toEqual([
    { status: 'sent' },
    { status: 'invalid', reason: 'HTTP 404: NoSuchSubscription', misconfiguration: WEBPUSH_MISCONFIGURATION.gone },
    { status: 'invalid', reason: 'HTTP 410: Unsubscribed', misconfiguration: WEBPUSH_MISCONFIGURATION.gone },
    { status: 'invalid', reason: 'HTTP 410: Unsubscribed', misconfiguration: WEBPUSH_MISCONFIGURATION.gone },
    { status: 'failed', reason: 'HTTP 400: BadRequest' },
    { status: 'retry', scope: 'outage', reason: 'HTTP 503: ServiceUnavailable' },
    { status: 'failed', reason: 'HTTP 403: VapidKeyMismatch', misconfiguration: WEBPUSH_MISCONFIGURATION.vapidRefused },
  ]);
  expect(await send(provider, [flaky!])).toEqual([{ status: 'sent' }]);

  sim.setBehaviour({ maxPayloadBytes: 100 });
  expect(await send(provider, [ok!], { body: 'x'.repeat(200) })).toEqual([{ status: 'failed', reason: 'HTTP 413: PayloadTooLarge' }]);

  sim.setBehaviour({ maxPayloadBytes: undefined });
  const own = newProvider();
  expect(await send(own, [throttled!])).toEqual([
    { status: 'retry', scope: 'token', reason: 'HTTP 429: TooManyRequests', retryAfterMs: 7000 },
  ]);
});

test('the table as a pure function: 2xx sent, 404/410 invalid, 400/413 failed, 429/5xx retried with Retry-After', () => {
  expect(classifyWebPush(201, 'HTTP 201')).toEqual({ status: 'sent' });
  expect(classifyWebPush(404, 'r')).toEqual({ status: 'invalid', reason: 'r', misconfiguration: WEBPUSH_MISCONFIGURATION.gone });
  expect(classifyWebPush(410, 'r')).toEqual({ status: 'invalid', reason: 'r', misconfiguration: WEBPUSH_MISCONFIGURATION.gone });
  expect(classifyWebPush(400, 'r')).toEqual({ status: 'failed', reason: 'r' });
  expect(classifyWebPush(413, 'r')).toEqual({ status: 'failed', reason: 'r' });
  expect(classifyWebPush(401, 'r')).toEqual({ status: 'failed', reason: 'r', misconfiguration: WEBPUSH_MISCONFIGURATION.vapidRefused });
  expect(classifyWebPush(403, 'r')).toEqual({ status: 'failed', reason: 'r', misconfiguration: WEBPUSH_MISCONFIGURATION.vapidRefused });
  expect(classifyWebPush(429, 'r')).toEqual({ status: 'retry', scope: 'token', reason: 'r', retryAfterMs: 60_000 });
  expect(classifyWebPush(429, 'r', 5000)).toEqual({ status: 'retry', scope: 'token', reason: 'r', retryAfterMs: 5000 });
  expect(classifyWebPush(502, 'r')).toEqual({ status: 'retry', scope: 'outage', reason: 'r' });
  expect(classifyWebPush(503, 'r', 2000)).toEqual({ status: 'retry', scope: 'outage', reason: 'r', retryAfterMs: 2000 });
  expect(classifyWebPush(302, 'r')).toEqual({ status: 'failed', reason: 'r' });
});

test('a 429 pauses that origin: later sends wait out Retry-After, or come back at once when it is longer than a request timeout', async () => {
  const own = newProvider({ timeoutMs: 3000 });
  const [hot, next] = [sim.subscribe(), sim.subscribe()];
  sim.setBehaviour({ throttled: [hot.endpoint], retryAfterSeconds: 1 });
  const throttledAt = Date.now();
  expect((await send(own, [hot]))[0]).toMatchObject({ status: 'retry', retryAfterMs: 1000 });
  expect(await send(own, [next])).toEqual([{ status: 'sent' }]);
  expect(sim.receivedFor(next.endpoint)[0]!.at - throttledAt).toBeGreaterThanOrEqual(990);

  sim.setBehaviour({ retryAfterSeconds: 30 });
  await send(own, [hot]);
  const requests = sim.stats().requests;
  const [outcome] = await send(own, [next]);
  expect(outcome).toMatchObject({
    status: 'retry',
    scope: 'token',
    reason: expect.stringMatching(/^Paused: .* answered 429 \(not sent\)$/),
  });
  expect((outcome as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(25_000);
  expect(sim.stats().requests).toBe(requests);
});

test('keep-alive connections per origin, never more requests in flight than connectionsPerOrigin', async () => {
  sim.setBehaviour({ latencyMs: 20 });
  const own = newProvider({ connectionsPerOrigin: 3 });
  const subs = Array.from({ length: 30 }, () => sim.subscribe());
  const outcomes = [...(await send(own, subs)), ...(await send(own, subs))];
  expect(outcomes.every((o) => o.status === 'sent')).toBe(true);
  expect(sim.stats()).toMatchObject({ accepted: 60, sessions: 3, maxInFlight: 3 });
});

test('endpoints outside the allowlist, http: endpoints and missing keys are refused without a request', async () => {
  const sub = sim.subscribe();
  const keys = packSubscriptionKeys(sub.keys);
  const outcomes = await provider.send(
    [
      'https://169.254.169.254/latest/meta-data',
      sub.endpoint.replace('https:', 'http:'),
      'https://evil.fcm.googleapis.com.example/x',
      sub.endpoint,
    ],
    { title: 'x' },
    { keys: [keys, keys, keys, undefined] },
  );
  expect(outcomes.map((o) => o.status)).toEqual(['failed', 'failed', 'failed', 'failed']);
  expect(outcomes.map((o) => ('reason' in o ? o.reason.split(':')[0] : ''))).toEqual([
    'EndpointNotAllowed',
    'EndpointNotAllowed',
    'EndpointNotAllowed',
    'NoSubscriptionKeys',
  ]);
  expect(sim.stats().requests).toBe(0);
});

test('no answer within the timeout is retried for that subscription; close() refuses later sends', async () => {
  const own = newProvider({ timeoutMs: 200 });
  const sub = sim.subscribe();
  sim.setBehaviour({ slow: [sub.endpoint], slowMs: 1000 });
  expect(await send(own, [sub])).toEqual([{ status: 'retry', scope: 'outage', reason: 'Timeout: no answer within 200 ms' }]);
  await own.close();
  await expect(send(own, [sub])).rejects.toThrow(ProviderClosedError);
});
