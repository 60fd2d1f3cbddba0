import { createECDH } from 'node:crypto';
import {
  encodedSizes,
  endpointRefusal,
  packSubscriptionKeys,
  parseHostPatterns,
  pushSubscriptionSchema,
  registerTokenSchema,
  toWebPush,
  unpackSubscriptionKeys,
  webPushTopic,
  DEFAULT_WEBPUSH_ALLOWED_ENDPOINTS,
  MAX_PAYLOAD_BYTES,
  WEBPUSH_DEFAULT_TTL_SECONDS,
  WEBPUSH_ENCRYPTION_OVERHEAD,
  type Payload,
} from '@push/contract';

const now = 1_800_000_000_000;
const nowS = now / 1000;

function browserKeys(): { p256dh: string; auth: string } {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { p256dh: ecdh.getPublicKey('base64url'), auth: Buffer.alloc(16, 7).toString('base64url') };
}

describe('toWebPush (contract: Web Push mapping)', () => {
  it.each<[string, Payload, ReturnType<typeof toWebPush>]>([
    [
      'the five fields present, nothing else',
      { title: 'T', body: 'B', icon: 'i', type: 'chat', alert: 'A', badge: 1, sound: 's', topic: 'io.app' },
      { body: '{"title":"T","body":"B","icon":"i","type":"chat","alert":"A"}', ttl: WEBPUSH_DEFAULT_TTL_SECONDS, urgency: 'normal' },
    ],
    [
      'an alert object as given',
      { alert: { 'loc-key': 'K', 'loc-args': ['x'] } },
      { body: '{"alert":{"loc-key":"K","loc-args":["x"]}}', ttl: WEBPUSH_DEFAULT_TTL_SECONDS, urgency: 'normal' },
    ],
    ['TTL = seconds left to expiry', { body: 'b', expiry: nowS + 90 }, { body: '{"body":"b"}', ttl: 90, urgency: 'normal' }],
    ['never a negative TTL', { body: 'b', expiry: nowS - 5 }, { body: '{"body":"b"}', ttl: 0, urgency: 'normal' }],
    [
      'a header-safe collapseKey is the Topic',
      { type: 'sync', collapseKey: 'inbox-7_a' },
      { body: '{"type":"sync"}', ttl: WEBPUSH_DEFAULT_TTL_SECONDS, urgency: 'normal', topic: 'inbox-7_a' },
    ],
  ])('%s', (_name, payload, expected) => {
    expect(toWebPush(payload, now)).toEqual(expected);
  });

  it('asks for Urgency: high for high jobs only', () => {
    expect(toWebPush({ body: 'b' }, now, 'high').urgency).toBe('high');
    expect(toWebPush({ body: 'b' }, now, 'normal').urgency).toBe('normal');
  });

  it('makes any collapseKey an RFC 8030 Topic: 32 URL-safe characters, the same for the same key, different for another', () => {
    for (const key of ['room:42/новое', 'x'.repeat(33), 'a b', 'line\nbreak']) {
      expect(webPushTopic(key)).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(webPushTopic(key)).toBe(webPushTopic(key));
    }
    expect(webPushTopic('a b')).not.toBe(webPushTopic('a_b'));
  });

  it('counts the encrypted size against the 4096-byte limit', () => {
    const sizes = encodedSizes({ body: 'x'.repeat(100) }, now);
    expect(sizes.web).toBe(Buffer.byteLength('{"body":"' + 'x'.repeat(100) + '"}') + WEBPUSH_ENCRYPTION_OVERHEAD);
    const limit = MAX_PAYLOAD_BYTES - WEBPUSH_ENCRYPTION_OVERHEAD - Buffer.byteLength('{"body":""}');
    expect(encodedSizes({ body: 'x'.repeat(limit) }, now).web).toBe(MAX_PAYLOAD_BYTES);
  });
});

describe('WEBPUSH_ALLOWED_ENDPOINTS', () => {
  const defaults = parseHostPatterns(DEFAULT_WEBPUSH_ALLOWED_ENDPOINTS);

  it.each([
    'https://fcm.googleapis.com/fcm/send/abc:APA91b',
    'https://updates.push.services.mozilla.com/wpush/v2/gAAAA',
    'https://wns2-by3p.notify.windows.com/w/?token=BQYAAA',
    'https://web.push.apple.com/QGuQyavXutnMH',
    'https://FCM.googleapis.com:443/fcm/send/x',
  ])("accepts the browsers' push services by default: %s", (endpoint) => {
    expect(endpointRefusal(endpoint, defaults)).toBeUndefined();
  });

  it.each<[string, string]>([
    ['http://fcm.googleapis.com/fcm/send/x', 'must be an https: URL'],
    ['https://push.services.mozilla.com/x', 'host push.services.mozilla.com is not an allowed push service (WEBPUSH_ALLOWED_ENDPOINTS)'],
    [
      'https://fcm.googleapis.com.evil.example/x',
      'host fcm.googleapis.com.evil.example is not an allowed push service (WEBPUSH_ALLOWED_ENDPOINTS)',
    ],
    ['https://evilpush.apple.com/x', 'host evilpush.apple.com is not an allowed push service (WEBPUSH_ALLOWED_ENDPOINTS)'],
    ['https://fcm.googleapis.com:8443/x', 'host fcm.googleapis.com:8443 is not an allowed push service (WEBPUSH_ALLOWED_ENDPOINTS)'],
    ['https://169.254.169.254/latest/meta-data', 'host 169.254.169.254 is not an allowed push service (WEBPUSH_ALLOWED_ENDPOINTS)'],
    ['https://localhost:6379/', 'host localhost:6379 is not an allowed push service (WEBPUSH_ALLOWED_ENDPOINTS)'],
    ['https://user:pw@fcm.googleapis.com/x', 'must not carry user info'],
    ['fcm.googleapis.com/x', 'must be a URL'],
  ])('refuses %s', (endpoint, why) => {
    expect(endpointRefusal(endpoint, defaults)).toBe(why);
  });

  it("takes a port for a host that is not on 443 (npm start's simulator), and only that port", () => {
    const patterns = parseHostPatterns(' 127.0.0.1:4444 , *.Example.COM ');
    expect(patterns).toEqual([
      { host: '127.0.0.1', anySubdomain: false, port: '4444' },
      { host: 'example.com', anySubdomain: true, port: '' },
    ]);
    expect(endpointRefusal('https://127.0.0.1:4444/push/a', patterns)).toBeUndefined();
    expect(endpointRefusal('https://127.0.0.1:4445/push/a', patterns)).toMatch(/not an allowed/);
    expect(endpointRefusal('https://a.b.example.com/x', patterns)).toBeUndefined();
    expect(endpointRefusal('https://example.com/x', patterns)).toMatch(/not an allowed/);
  });

  it.each(['', ' , ', 'https://fcm.googleapis.com', '*.', 'a..b', 'host:99999', '**.x.com', 'x.com/path'])(
    'refuses the list %j',
    (list) => {
      expect(() => parseHostPatterns(list)).toThrow(RangeError);
    },
  );
});

describe('subscriptions', () => {
  it('accepts PushSubscription.toJSON() as browsers give it, expirationTime included', () => {
    const keys = browserKeys();
    const subscription = { endpoint: 'https://fcm.googleapis.com/fcm/send/x', expirationTime: null, keys };
    expect(registerTokenSchema.parse({ client: 'c', platform: 'web', subscription })).toEqual({
      client: 'c',
      platform: 'web',
      subscription,
    });
    expect(pushSubscriptionSchema.safeParse({ ...subscription, expirationTime: 1_900_000_000_000 }).success).toBe(true);
  });

  it.each<[string, (k: { p256dh: string; auth: string }) => unknown]>([
    ['p256dh of 64 bytes', (k) => ({ ...k, p256dh: Buffer.alloc(64, 4).toString('base64url') })],
    ['p256dh not on the curve', (k) => ({ ...k, p256dh: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString('base64url') })],
    ['p256dh compressed', (k) => ({ ...k, p256dh: Buffer.concat([Buffer.from([2]), Buffer.alloc(64, 1)]).toString('base64url') })],
    ['auth of 15 bytes', (k) => ({ ...k, auth: Buffer.alloc(15).toString('base64url') })],
    ['auth not base64url', (k) => ({ ...k, auth: 'not base64!' })],
    ['no auth', (k) => ({ p256dh: k.p256dh })],
    ['an unknown key', (k) => ({ ...k, extra: 'x' })],
  ])('refuses keys with %s', (_name, change) => {
    const subscription = { endpoint: 'https://fcm.googleapis.com/fcm/send/x', keys: change(browserKeys()) };
    expect(pushSubscriptionSchema.safeParse(subscription).success).toBe(false);
  });

  it('refuses an endpoint with a line break or a space (URL parsing would hide it)', () => {
    const keys = browserKeys();
    for (const endpoint of ['https://fcm.googleapis.com/a\nb', 'https://fcm.googleapis.com/a b']) {
      expect(pushSubscriptionSchema.safeParse({ endpoint, keys }).success).toBe(false);
    }
  });

  it('packs the keys into 108 characters and back', () => {
    const keys = browserKeys();
    const packed = packSubscriptionKeys(keys);
    expect(packed).toMatch(/^[A-Za-z0-9_-]{108}$/);
    expect(unpackSubscriptionKeys(packed)).toEqual(keys);
    expect(() => unpackSubscriptionKeys(packed.slice(4))).toThrow(RangeError);
  });
});
