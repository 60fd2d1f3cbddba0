import {
  APNS_MAX_COLLAPSE_ID_BYTES,
  encodedSizes,
  FCM_MAX_TTL_SECONDS,
  isExpired,
  payloadSchema,
  toApns,
  toFcm,
  type Payload,
} from '@push/contract';

const now = 1_800_000_000_000; // ms
const nowS = now / 1000;

describe('toApns (contract: Payload mapping)', () => {
  it.each<[string, Payload, string | undefined, ReturnType<typeof toApns>]>([
    [
      'string alert, badge, sound, topic, type',
      { alert: 'hi', badge: 2, sound: 'default', topic: 'io.app', type: 'promo' },
      undefined,
      {
        headers: { 'apns-push-type': 'alert', 'apns-priority': '10', 'apns-topic': 'io.app' },
        body: { aps: { alert: 'hi', badge: 2, sound: 'default' }, type: 'promo' },
      },
    ],
    [
      'localized alert object as given',
      { alert: { 'loc-key': 'K', 'loc-args': ['a', 'b'] } },
      'io.default',
      {
        headers: { 'apns-push-type': 'alert', 'apns-priority': '10', 'apns-topic': 'io.default' },
        body: { aps: { alert: { 'loc-key': 'K', 'loc-args': ['a', 'b'] } } },
      },
    ],
    [
      'title/body when alert is absent',
      { title: 'T', body: 'B' },
      'io.default',
      {
        headers: { 'apns-push-type': 'alert', 'apns-priority': '10', 'apns-topic': 'io.default' },
        body: { aps: { alert: { title: 'T', body: 'B' } } },
      },
    ],
    [
      'alert wins over title/body',
      { alert: 'A', title: 'T', body: 'B' },
      undefined,
      {
        headers: { 'apns-push-type': 'alert', 'apns-priority': '10' },
        body: { aps: { alert: 'A' } },
      },
    ],
    [
      'payload topic wins over APNS_TOPIC; expiry header',
      { badge: 0, topic: 'io.mine', expiry: 1_900_000_000 },
      'io.default',
      {
        headers: { 'apns-push-type': 'alert', 'apns-priority': '10', 'apns-topic': 'io.mine', 'apns-expiration': '1900000000' },
        body: { aps: { badge: 0 } },
      },
    ],
    [
      'nothing shown: background push',
      { type: 'sync' },
      'io.default',
      {
        headers: { 'apns-push-type': 'background', 'apns-priority': '5', 'apns-topic': 'io.default' },
        body: { aps: { 'content-available': 1 }, type: 'sync' },
      },
    ],
    [
      'Android-only fields are ignored, but collapseKey is the collapse id',
      { icon: 'i.png', collapseKey: 'k', sound: 's' },
      undefined,
      {
        headers: { 'apns-push-type': 'alert', 'apns-priority': '10', 'apns-collapse-id': 'k' },
        body: { aps: { sound: 's' } },
      },
    ],
  ])('%s', (_name, payload, topic, expected) => {
    expect(toApns(payload, topic)).toEqual(expected);
  });
});

describe('toFcm (contract: Payload mapping)', () => {
  it.each<[string, Payload, ReturnType<typeof toFcm>]>([
    [
      'title, body, icon URL (the image), collapseKey, type',
      { title: 'T', body: 'B', icon: 'https://x/i.png', collapseKey: 'promo', type: 'marketing' },
      {
        notification: { title: 'T', body: 'B' },
        android: { collapse_key: 'promo', notification: { image: 'https://x/i.png' } },
        data: { type: 'marketing' },
      },
    ],
    [
      'an icon that is not a URL is a drawable name',
      { title: 'T', icon: 'ic_promo' },
      { notification: { title: 'T' }, android: { notification: { icon: 'ic_promo' } } },
    ],
    ['an http URL too, whatever its case', { icon: 'HTTP://x/i.png' }, { android: { notification: { image: 'HTTP://x/i.png' } } }],
    [
      'ttl capped at 28 days',
      { title: 'T', expiry: nowS + 40 * 24 * 3600 },
      { notification: { title: 'T' }, android: { ttl: `${FCM_MAX_TTL_SECONDS}s` } },
    ],
    ['string alert becomes the body when title and body are absent', { alert: 'hello' }, { notification: { body: 'hello' } }],
    ['body wins over alert', { alert: 'a', body: 'b' }, { notification: { body: 'b' } }],
    ['object alert has no FCM field', { alert: { 'loc-key': 'K' } }, {}],
    ['expiry becomes the seconds left', { title: 'T', expiry: nowS + 90 }, { notification: { title: 'T' }, android: { ttl: '90s' } }],
    ['iOS-only fields are ignored', { badge: 1, sound: 'x', topic: 't' }, {}],
  ])('%s', (_name, payload, expected) => {
    expect(toFcm(payload, now)).toEqual(expected);
  });
});

describe('per-job collapse ids (a re-sent notification replaces the first)', () => {
  const jobId = '5d0c6b1e-8a47-4f0e-9a51-3f1c2a7b9e10';

  it('APNs: apns-collapse-id is the job id, or the collapseKey when set', () => {
    expect(toApns({ alert: 'a' }, 'io.app', jobId).headers['apns-collapse-id']).toBe(jobId);
    expect(toApns({ type: 'sync' }, 'io.app', jobId).headers['apns-collapse-id']).toBe(jobId);
    expect(toApns({ alert: 'a', collapseKey: 'promo' }, 'io.app', jobId).headers['apns-collapse-id']).toBe('promo');
    expect(toApns({ alert: 'a' }, 'io.app').headers['apns-collapse-id']).toBeUndefined();
  });

  it('APNs: a collapseKey over 64 bytes becomes its SHA-256 (still one id per key)', () => {
    const long = '優'.repeat(30); // 90 bytes
    const id = toApns({ alert: 'a', collapseKey: long }, 'io.app', jobId).headers['apns-collapse-id']!;
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(Buffer.byteLength(id)).toBeLessThanOrEqual(APNS_MAX_COLLAPSE_ID_BYTES);
    expect(toApns({ badge: 1, collapseKey: long }, 'io.app', 'other-job').headers['apns-collapse-id']).toBe(id);
  });

  it('FCM: android.notification.tag is the job id for a shown notification without collapseKey', () => {
    expect(toFcm({ title: 'T' }, now, jobId)).toEqual({ notification: { title: 'T' }, android: { notification: { tag: jobId } } });
    expect(toFcm({ icon: 'ic' }, now, jobId)).toEqual({ android: { notification: { icon: 'ic', tag: jobId } } });
    // collapseKey keeps its Android meaning, and no tag is added.
    expect(toFcm({ title: 'T', collapseKey: 'promo' }, now, jobId)).toEqual({
      notification: { title: 'T' },
      android: { collapse_key: 'promo' },
    });
    // A data-only message shows nothing: a tag would make it show.
    expect(toFcm({ type: 'sync' }, now, jobId)).toEqual({ data: { type: 'sync' } });
  });
});

describe('topics', () => {
  it.each(['io.app.voip', 'io.app.complication', 'io.app.VoIP'])('refuses %s with a message naming the choice', (topic) => {
    const parsed = payloadSchema.safeParse({ alert: 'a', topic });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.message).toMatch(/VoIP \(\.voip\) and watch complication \(\.complication\) topics are not supported/);
  });

  it.each(['io.app', 'io.app.voipish', 'com.example.app-1'])('accepts %s', (topic) => {
    expect(payloadSchema.safeParse({ alert: 'a', topic }).success).toBe(true);
  });
});

describe('expiry and size', () => {
  it.each([
    [undefined, false],
    [nowS + 1, false],
    [nowS, true],
    [nowS - 1, true],
    [0, true],
  ])('expiry %p is expired: %p', (expiry, expected) => {
    expect(isExpired(expiry === undefined ? {} : { expiry }, now)).toBe(expected);
  });

  it('measures both encodings in bytes, counting UTF-8', () => {
    const sizes = encodedSizes({ alert: '優惠' }, now);
    expect(sizes.apns).toBe(Buffer.byteLength('{"aps":{"alert":"優惠"}}'));
    // FCM's counts the per-job tag a worker adds (a job id is a UUID: 36 characters).
    expect(sizes.fcm).toBe(Buffer.byteLength(`{"notification":{"body":"優惠"},"android":{"notification":{"tag":"${'0'.repeat(36)}"}}}`));
  });
});
