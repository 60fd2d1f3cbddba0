import { createPrivateKey, sign } from 'node:crypto';
import https from 'node:https';
import webPush from 'web-push';
import { startWebPushSimulator, type WebPushSimulator } from '@push/simulators';
import { http1 } from './helpers';

// The Web Push simulator's own checks, with requests built by web-push and then bent one way at a time.

let sim: WebPushSimulator;
const vapid = webPush.generateVAPIDKeys();
const subject = 'mailto:ops@example.com';

beforeAll(async () => {
  sim = await startWebPushSimulator();
});
beforeEach(() => sim.reset());
afterAll(() => sim.close());

interface Built {
  endpoint: string;
  headers: Record<string, string | number>;
  body: Buffer;
}

/** A request as web-push builds it for `subscription`; `change` bends it before sending. */
function build(
  endpoint: string,
  keys: { p256dh: string; auth: string },
  options: { audience?: string; subject?: string; exp?: number; payload?: string } = {},
): Built {
  const details = webPush.generateRequestDetails({ endpoint, keys }, options.payload ?? '{"title":"hi"}', {
    TTL: 60,
    contentEncoding: 'aes128gcm',
    topic: 'abc',
  });
  const exp = options.exp ?? Math.floor(Date.now() / 1000) + 3600;
  const { Authorization } = webPush.getVapidHeaders(
    options.audience ?? new URL(endpoint).origin,
    options.subject ?? subject,
    vapid.publicKey,
    vapid.privateKey,
    'aes128gcm',
    exp,
  );
  return { endpoint, headers: { ...(details.headers as Record<string, string | number>), Authorization }, body: details.body };
}

function send(request: Built): Promise<{ status: number; reason?: string; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(request.endpoint, { method: 'POST', headers: request.headers, ca: sim.caPem, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          ...(text && { reason: (JSON.parse(text) as { reason: string }).reason }),
          ...(res.headers['retry-after'] && { retryAfter: res.headers['retry-after'] }),
        }),
      );
    });
    req.on('error', reject);
    req.end(request.body);
  });
}

test('mints a subscription over /_sim/subscribe like a browser, then decrypts and records what is sent to it', async () => {
  const minted = await http1(sim.url, sim.caPem, { path: '/_sim/subscribe', body: { name: 'laptop' } });
  expect(minted.json).toEqual({
    endpoint: `${sim.url}/push/laptop`,
    expirationTime: null,
    keys: { p256dh: expect.stringMatching(/^[A-Za-z0-9_-]{87}$/), auth: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) },
  });
  const { endpoint, keys } = minted.json as { endpoint: string; keys: { p256dh: string; auth: string } };
  expect(await send(build(endpoint, keys, { payload: '{"title":"你好","body":"b"}' }))).toEqual({ status: 201 });
  const [got] = sim.receivedFor(endpoint);
  expect(got).toMatchObject({
    body: { title: '你好', body: 'b' },
    headers: { ttl: '60', topic: 'abc', 'content-encoding': 'aes128gcm' },
    vapid: { aud: sim.url, sub: subject, k: vapid.publicKey },
  });
  expect(got!.headers.authorization).toBeUndefined();
});

test.each<[string, (b: Built) => Built, number, string]>([
  [
    'no Authorization',
    (b) => ({ ...b, headers: Object.fromEntries(Object.entries(b.headers).filter(([k]) => k !== 'Authorization')) }),
    401,
    'MissingVapidToken',
  ],
  [
    'another scheme',
    (b) => ({ ...b, headers: { ...b.headers, Authorization: `Bearer ${String(b.headers.Authorization).slice(8)}` } }),
    401,
    'NotVapidScheme',
  ],
  [
    'a signature by another key',
    (b) => ({
      ...b,
      headers: {
        ...b.headers,
        Authorization: String(b.headers.Authorization).replace(/k=.*/, `k=${webPush.generateVAPIDKeys().publicKey}`),
      },
    }),
    401,
    'BadVapidSignature',
  ],
  [
    'no TTL',
    (b) => ({ ...b, headers: Object.fromEntries(Object.entries(b.headers).filter(([k]) => k !== 'TTL')) }),
    400,
    'MissingOrInvalidTTL',
  ],
  ['a Topic of 33 characters', (b) => ({ ...b, headers: { ...b.headers, Topic: 'a'.repeat(33) } }), 400, 'InvalidTopic'],
  ['an unknown Urgency', (b) => ({ ...b, headers: { ...b.headers, Urgency: 'asap' } }), 400, 'InvalidUrgency'],
  ['aesgcm', (b) => ({ ...b, headers: { ...b.headers, 'Content-Encoding': 'aesgcm' } }), 400, 'UnsupportedContentEncoding'],
  [
    'a body that does not decrypt',
    (b) => ({ ...b, body: Buffer.concat([b.body.subarray(0, b.body.length - 1), Buffer.from([b.body[b.body.length - 1]! ^ 1])]) }),
    400,
    'DecryptionFailed: Unsupported state or unable to authenticate data',
  ],
])('refuses %s', async (_name, change, status, reason) => {
  const { endpoint, keys } = sim.subscribe();
  expect(await send(change(build(endpoint, keys)))).toEqual({ status, reason });
  expect(sim.stats()).toMatchObject({ accepted: 0, rejected: { [reason]: 1 } });
});

test.each<[string, { audience?: string; subject?: string; exp?: number }, string]>([
  ['an audience of another origin', { audience: 'https://fcm.googleapis.com' }, 'BadVapidAudience'],
  ['a subject that is no contact', { subject: 'https://example.com'.replace('https', 'http') }, 'BadVapidSubject'],
  ['a token that has expired', { exp: Math.floor(Date.now() / 1000) - 10 }, 'ExpiredVapidToken'],
])('checks the VAPID claims: refuses %s', async (_name, claims, reason) => {
  const { endpoint, keys } = sim.subscribe();
  // web-push itself refuses a subject or expiry outside the RFC; these are written around it where needed.
  let request: Built;
  try {
    request = build(endpoint, keys, claims);
  } catch {
    request = build(endpoint, keys);
    request.headers.Authorization = forgedToken(new URL(endpoint).origin, claims);
  }
  expect(await send(request)).toEqual({ status: 401, reason });
});

test('refuses a token valid for more than 24 hours, and a message signed by a key the subscription was not made with', async () => {
  const { endpoint, keys } = sim.subscribe();
  const request = build(endpoint, keys);
  request.headers.Authorization = forgedToken(new URL(endpoint).origin, { exp: Math.floor(Date.now() / 1000) + 25 * 3600 });
  expect(await send(request)).toEqual({ status: 401, reason: 'VapidExpiryTooFar' });
  const restricted = sim.subscribe({ applicationServerKey: webPush.generateVAPIDKeys().publicKey });
  expect(await send(build(restricted.endpoint, restricted.keys))).toEqual({ status: 403, reason: 'VapidKeyMismatch' });
});

test('fault rules: gone, unknown, throttled with Retry-After, flaky once, latency', async () => {
  const [gone, unknown, hot, flaky, slow] = Array.from({ length: 5 }, () => sim.subscribe());
  sim.unsubscribe(gone!.endpoint);
  sim.setBehaviour({
    bad: [unknown!.endpoint],
    throttled: [hot!.endpoint],
    retryAfterSeconds: 9,
    flakyOnce: [flaky!.endpoint],
    slow: [slow!.endpoint],
    slowMs: 150,
  });
  expect(await send(build(gone!.endpoint, gone!.keys))).toEqual({ status: 410, reason: 'Unsubscribed' });
  expect(await send(build(unknown!.endpoint, unknown!.keys))).toEqual({ status: 404, reason: 'NoSuchSubscription' });
  expect(await send(build(`${sim.url}/push/never-made`, hot!.keys))).toEqual({ status: 404, reason: 'NoSuchSubscription' });
  expect(await send(build(hot!.endpoint, hot!.keys))).toEqual({ status: 429, reason: 'TooManyRequests', retryAfter: '9' });
  expect(await send(build(flaky!.endpoint, flaky!.keys))).toEqual({ status: 503, reason: 'ServiceUnavailable' });
  expect(await send(build(flaky!.endpoint, flaky!.keys))).toEqual({ status: 201 });
  const started = Date.now();
  expect(await send(build(slow!.endpoint, slow!.keys))).toEqual({ status: 201 });
  expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  sim.setBehaviour({ bad: undefined, throttled: undefined, flakyOnce: undefined, slow: undefined, retryAfterSeconds: undefined });
});

/** A VAPID header signed properly but with claims web-push would refuse to put in one. */
function forgedToken(aud: string, claims: { subject?: string; exp?: number }): string {
  const pub = Buffer.from(vapid.publicKey, 'base64url');
  const key = createPrivateKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      d: vapid.privateKey,
      x: pub.subarray(1, 33).toString('base64url'),
      y: pub.subarray(33).toString('base64url'),
    },
    format: 'jwk',
  });
  const head = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'ES256' })).toString('base64url');
  const body = Buffer.from(
    JSON.stringify({ aud, exp: claims.exp ?? Math.floor(Date.now() / 1000) + 3600, sub: claims.subject ?? subject }),
  ).toString('base64url');
  const signature = sign('sha256', Buffer.from(`${head}.${body}`), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return `vapid t=${head}.${body}.${signature}, k=${vapid.publicKey}`;
}
