import { startTestApi, type TestApi } from '@push/testing';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi('tokens');
});
afterAll(() => api.close());

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
