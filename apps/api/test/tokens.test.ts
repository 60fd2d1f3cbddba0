import { createECDH } from 'node:crypto';
import { generateVapidKeys } from '@push/providers';
import { registerDevices, startTestApi, type TestApi } from '@push/testing';

let api: TestApi;
let noWeb: TestApi;
beforeAll(async () => {
  // Web Push is enabled by a VAPID public key (the API needs no more of the identity).
  api = await startTestApi('tokens', { WEBPUSH_VAPID_PUBLIC_KEY: generateVapidKeys().publicKey });
  noWeb = await startTestApi('tokens-noweb');
});
afterAll(async () => {
  await api.close();
  await noWeb.close();
});

const ios = 'ab'.repeat(32);
const android = 'fcm-token_abcdefghijklmnop:0123456789';

describe('token registry routes', () => {
  it('registers tokens on both platforms and lists them', async () => {
    expect((await api.request('POST', '/push/tokens', { client: 'alice', platform: 'ios', token: ios.toUpperCase() })).body).toEqual({
      RC: 0,
      RM: 'OK',
      result: {},
    });
    expect((await api.request('POST', '/push/tokens', { client: 'alice', platform: 'android', token: android })).status).toBe(200);
    const list = await api.request('GET', '/push/clients/alice/tokens');
    expect(list.status).toBe(200);
    expect(list.body.result.tokens).toEqual(
      expect.arrayContaining([
        { token: ios, platform: 'ios', createdAt: expect.any(String) },
        { token: android, platform: 'android', createdAt: expect.any(String) },
      ]),
    );
    expect(list.body.result.tokens.map((t: { token: string }) => t.token).sort()).toEqual([ios, android].sort());
  });

  it('moves a token registered again to another client', async () => {
    await api.request('POST', '/push/tokens', { client: 'bob', platform: 'ios', token: ios });
    const alice = await api.request('GET', '/push/clients/alice/tokens');
    const bob = await api.request('GET', '/push/clients/bob/tokens');
    expect(alice.body.result.tokens.map((t: { token: string }) => t.token)).toEqual([android]);
    expect(bob.body.result.tokens).toEqual([{ token: ios, platform: 'ios', createdAt: expect.any(String) }]);
  });

  it('deletes a token, idempotently', async () => {
    expect((await api.request('DELETE', '/push/tokens', { token: android })).body).toEqual({ RC: 0, RM: 'OK', result: {} });
    expect((await api.request('GET', '/push/clients/alice/tokens')).body.result.tokens).toEqual([]);
    expect((await api.request('DELETE', '/push/tokens', { token: android })).status).toBe(200);
  });

  it('lists no tokens for an unknown client', async () => {
    expect((await api.request('GET', '/push/clients/nobody/tokens')).body.result).toEqual({ tokens: [] });
  });

  it.each([
    ['an unknown platform', { client: 'c', platform: 'windows', token: ios }],
    ['a non-hex iOS token', { client: 'c', platform: 'ios', token: 'zz'.repeat(32) }],
    ['an Android token with a path', { client: 'c', platform: 'android', token: '../../v1/projects/x' }],
    ['an Android token with %2F', { client: 'c', platform: 'android', token: 'abcdefghijklmnop%2Fxyz' }],
    ['a missing client', { platform: 'ios', token: ios }],
    ['a numeric client', { client: 5, platform: 'ios', token: ios }],
  ])('refuses %s with 400 INVALID_PARAMETER and registers nothing', async (_name, body) => {
    const res = await api.request('POST', '/push/tokens', body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_PARAMETER');
    expect((await api.request('GET', '/push/clients/c/tokens')).body.result.tokens).toEqual([]);
  });

  it.each([
    ['POST', '/push/tokens'],
    ['DELETE', '/push/tokens'],
    ['GET', '/push/clients/alice/tokens'],
    ['GET', '/push/jobs/00000000-0000-0000-0000-000000000000'],
    ['GET', '/push/jobs/00000000-0000-0000-0000-000000000000/results'],
    ['POST', '/push/push2clients'],
  ])('requires the API key on %s %s', async (method, path) => {
    const body = method === 'GET' ? undefined : { client: 'x', platform: 'ios', token: ios };
    const res = await api.request(method, path, body, { 'IM-API-KEY': 'wrong-key-wrong-key' });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('INVALID_API_KEY');
  });
});

describe('browser subscriptions (platform web)', () => {
  const keys = (() => {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    return { p256dh: ecdh.getPublicKey('base64url'), auth: Buffer.alloc(16, 9).toString('base64url') };
  })();
  const endpoint = 'https://fcm.googleapis.com/fcm/send/dGVzdC1zdWJzY3JpcHRpb24:APA91bHk';
  const subscription = { endpoint, expirationTime: null, keys };

  it('registers PushSubscription.toJSON(); the endpoint is the token when listing, moving and deleting', async () => {
    expect((await api.request('POST', '/push/tokens', { client: 'web-1', platform: 'web', subscription })).body).toEqual({
      RC: 0,
      RM: 'OK',
      result: {},
    });
    expect((await api.request('GET', '/push/clients/web-1/tokens')).body.result.tokens).toEqual([
      { token: endpoint, platform: 'web', createdAt: expect.any(String) },
    ]);
    await api.request('POST', '/push/tokens', { client: 'web-2', platform: 'web', subscription });
    expect((await api.request('GET', '/push/clients/web-1/tokens')).body.result.tokens).toEqual([]);
    expect((await api.request('GET', '/push/clients/web-2/tokens')).body.result.tokens.map((t: { token: string }) => t.token)).toEqual([
      endpoint,
    ]);
    // A lower-case twin of the endpoint is another subscription: deleting the upper-case one never touches it.
    const twin = { ...subscription, endpoint: endpoint.toLowerCase() };
    await api.request('POST', '/push/tokens', { client: 'web-3', platform: 'web', subscription: twin });
    expect((await api.request('DELETE', '/push/tokens', { token: endpoint })).status).toBe(200);
    expect((await api.request('GET', '/push/clients/web-2/tokens')).body.result.tokens).toEqual([]);
    expect((await api.request('DELETE', '/push/tokens', { token: endpoint })).status).toBe(200);
    expect((await api.request('GET', '/push/clients/web-3/tokens')).body.result.tokens.map((t: { token: string }) => t.token)).toEqual([
      twin.endpoint,
    ]);
  });

  it.each<[string, object, string]>([
    [
      'an http: endpoint',
      { ...subscription, endpoint: 'http://fcm.googleapis.com/fcm/send/x' },
      'subscription.endpoint: must be an https: URL',
    ],
    [
      'a host outside WEBPUSH_ALLOWED_ENDPOINTS',
      { ...subscription, endpoint: 'https://169.254.169.254/latest/meta-data' },
      'subscription.endpoint: host 169.254.169.254 is not an allowed push service (WEBPUSH_ALLOWED_ENDPOINTS)',
    ],
    [
      'an internal service',
      { ...subscription, endpoint: 'https://redis.internal:6379/' },
      'subscription.endpoint: host redis.internal:6379 is not an allowed push service (WEBPUSH_ALLOWED_ENDPOINTS)',
    ],
    [
      'a short p256dh',
      { ...subscription, keys: { ...keys, p256dh: keys.p256dh.slice(0, 80) } },
      'subscription.keys.p256dh: must be base64url of an uncompressed P-256 public key (65 bytes)',
    ],
    [
      'a long auth',
      { ...subscription, keys: { ...keys, auth: Buffer.alloc(32).toString('base64url') } },
      'subscription.keys.auth: must be base64url of 16 bytes',
    ],
    ['no keys', { endpoint }, 'subscription.keys: Invalid input: expected object, received undefined'],
  ])('refuses %s with 400 INVALID_PARAMETER and registers nothing', async (_name, sub, message) => {
    const res = await api.request('POST', '/push/tokens', { client: 'w', platform: 'web', subscription: sub });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ RC: 400, RM: 'Bad Request', error: { code: 'INVALID_PARAMETER', message } });
    expect((await api.request('GET', '/push/clients/w/tokens')).body.result.tokens).toEqual([]);
  });

  it('refuses subscriptions where Web Push is not configured (no VAPID key: no job ever waits for a web worker)', async () => {
    const res = await noWeb.request('POST', '/push/tokens', { client: 'w', platform: 'web', subscription });
    expect(res.body).toEqual({
      RC: 400,
      RM: 'Bad Request',
      error: { code: 'INVALID_PARAMETER', message: 'platform: web is not enabled on this deployment (no WEBPUSH_VAPID_PUBLIC_KEY)' },
    });
    expect((await noWeb.request('GET', '/push/clients/w/tokens')).body.result.tokens).toEqual([]);
  });

  it('queues no web chunks where Web Push is not configured, and one per chunk where it is', async () => {
    for (const [target, webChunks] of [
      [noWeb, 0],
      [api, 1],
    ] as const) {
      await registerDevices(target, ['a', 'b']);
      const res = await target.request('POST', '/push/push2clients', { clients: ['a', 'b'], payload: { alert: 'x' } });
      const job = (await target.request('GET', `/push/jobs/${res.body.result.jobId}`)).body.result;
      expect([job.platforms.ios.chunks, job.platforms.android.chunks, job.platforms.web.chunks]).toEqual([1, 1, webChunks]);
      // Two clients: the high lane.
      expect(await target.queues.web.high.getJobCountByTypes('waiting', 'prioritized')).toBe(webChunks);
    }
  });

  it('refuses a token instead of a subscription for web', async () => {
    const res = await api.request('POST', '/push/tokens', { client: 'w', platform: 'web', token: endpoint });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_PARAMETER');
  });
});
