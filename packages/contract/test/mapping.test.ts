import { encodedSizes, isExpired, toApns, toFcm, type Payload } from '@push/contract';

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
      'Android-only fields are ignored',
      { icon: 'i.png', collapseKey: 'k', sound: 's' },
      undefined,
      {
        headers: { 'apns-push-type': 'alert', 'apns-priority': '10' },
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
      'title, body, icon, collapseKey, type',
      { title: 'T', body: 'B', icon: 'https://x/i.png', collapseKey: 'promo', type: 'marketing' },
      {
        notification: { title: 'T', body: 'B' },
        android: { collapse_key: 'promo', notification: { icon: 'https://x/i.png' } },
        data: { type: 'marketing' },
      },
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
    expect(sizes.fcm).toBe(Buffer.byteLength('{"notification":{"body":"優惠"}}'));
  });
});
