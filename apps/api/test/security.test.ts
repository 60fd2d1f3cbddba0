import crypto from 'node:crypto';
import type { Request, Response } from 'express';
import { startRedisServer, spawnApiProcess, startTestApi, uniquePrefix, type RedisServer, type TestApi } from '@push/testing';
import { requireApiKey } from '@push/api/auth';

const OLD_KEY = 'rotation-old-key-0123456789';
const NEW_KEY = 'rotation-new-key-9876543210';

describe('API keys', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi('security-keys', { IM_API_KEY: `${OLD_KEY}, ${NEW_KEY}` });
  });
  afterAll(() => api.close());

  const status = async (key: string | undefined) =>
    (
      await api.request(
        'POST',
        '/push/push2clients',
        { clients: ['a'], payload: { alert: 'x' } },
        key === undefined ? { 'IM-API-KEY': '' } : { 'IM-API-KEY': key },
      )
    ).status;

  it('accepts both keys of a rotation list', async () => {
    expect(await status(OLD_KEY)).toBe(200);
    expect(await status(NEW_KEY)).toBe(200);
  });

  it.each([
    ['a prefix of a key (all but the last character)', OLD_KEY.slice(0, -1)],
    ['a short prefix of a key', OLD_KEY.slice(0, 8)],
    ['a key with one more character', `${NEW_KEY}0`],
    ['a key in upper case', OLD_KEY.toUpperCase()],
    ['both keys joined as configured', `${OLD_KEY},${NEW_KEY}`],
    ['an empty key', undefined],
    ['the first key with the last character changed', `${OLD_KEY.slice(0, -1)}8`],
  ])('refuses %s with 401 INVALID_API_KEY', async (_name, key) => {
    expect(await status(key)).toBe(401);
  });

  it('compares the given key with every configured key, in constant time, whichever matches', () => {
    // Code review of auth.ts: both sides are SHA-256 digests (equal length) compared with
    // crypto.timingSafeEqual, and the loop never stops early, so the time taken reveals neither a key's
    // prefix nor which key matched. This pins that down: one 32-byte comparison per configured key, always.
    const keys = ['first-key-0123456789', 'second-key-0123456789', 'third-key-0123456789'];
    const middleware = requireApiKey(keys);
    const spy = jest.spyOn(crypto, 'timingSafeEqual');
    try {
      for (const given of [keys[0]!, keys[2]!, 'first-key-012345678', 'nope']) {
        spy.mockClear();
        const res = { locals: {} as Record<string, unknown> } as unknown as Response;
        const req = { get: (name: string) => (name.toLowerCase() === 'im-api-key' ? given : undefined) } as unknown as Request;
        let passed = false;
        try {
          middleware(req, res, () => {
            passed = true;
          });
        } catch {
          passed = false;
        }
        expect(passed).toBe(keys.includes(given));
        expect(spy).toHaveBeenCalledTimes(keys.length);
        for (const [a, b] of spy.mock.calls) expect([(a as Buffer).length, (b as Buffer).length]).toEqual([32, 32]);
        if (passed) expect(res.locals.apiKeyIndex).toBe(keys.indexOf(given));
      }
    } finally {
      spy.mockRestore();
    }
  });
});

describe('rate limit per API key', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi('security-rate', { IM_API_KEY: `${OLD_KEY},${NEW_KEY}`, API_RATE_LIMIT_PER_MINUTE: '60' });
  });
  afterAll(() => api.close());

  it('answers an enveloped 429 with Retry-After once a key used its budget; the other key has its own', async () => {
    const push = (key: string) =>
      api.request('POST', '/push/push2clients', { clients: ['r'], payload: { alert: 'x' } }, { 'IM-API-KEY': key });
    // A wrong key is refused before the limiter: it spends nobody's budget.
    for (let i = 0; i < 10; i++) expect((await push('not-a-key-0123456789')).status).toBe(401);

    // The bucket holds 60 and refills one a second: 60 pass at once, then (reads included) the key is refused.
    const started = Date.now();
    const first = await Promise.all(Array.from({ length: 60 }, () => push(OLD_KEY)));
    expect(first.map((r) => r.status)).toEqual(Array(60).fill(200));
    let refilled = 0;
    let refused = await api.request('GET', '/push/clients/someone/tokens', undefined, { 'IM-API-KEY': OLD_KEY });
    while (refused.status === 200) {
      refilled++;
      refused = await api.request('GET', '/push/clients/someone/tokens', undefined, { 'IM-API-KEY': OLD_KEY });
    }
    // Only what the bucket refilled meanwhile (one a second) passed beyond the 60.
    expect(refilled).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 1000) + 1);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ RC: 429, RM: 'Too Many Requests', error: { code: 'RATE_LIMITED', message: expect.any(String) } });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);

    // The second key is untouched by the first one's use.
    const second = await Promise.all(Array.from({ length: 50 }, () => push(NEW_KEY)));
    expect(second.map((r) => r.status)).toEqual(Array(50).fill(200));

    // After Retry-After, the first key is served again.
    const refusedAt = Date.now();
    await new Promise((r) => setTimeout(r, retryAfter * 1000));
    expect(Date.now() - refusedAt).toBeGreaterThanOrEqual(retryAfter * 1000 - 5);
    expect((await push(OLD_KEY)).status).toBe(200);
  });
});

describe('secrets in logs', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(() => redis.stop());

  it('the API process never logs an API key, a wrong key or a bearer token, at trace level, through successes, refusals, 429s and a Redis outage', async () => {
    const api = await spawnApiProcess({
      REDIS_URL: redis.url,
      REDIS_PREFIX: uniquePrefix('security-logs'),
      IM_API_KEY: `${OLD_KEY},${NEW_KEY}`,
      API_RATE_LIMIT_PER_MINUTE: '20',
      LOG_LEVEL: 'trace',
    });
    const nearMiss = `${OLD_KEY.slice(0, -1)}Z`;
    const bearer = 'ya29.secret-bearer-token-abcdef';
    try {
      const statuses: number[] = [];
      const call = async (...args: Parameters<typeof api.request>) => {
        const res = await api.request(...args);
        statuses.push(res.status);
        return res;
      };
      await call('POST', '/push/tokens', { client: 'u1', platform: 'ios', token: 'ab'.repeat(32) });
      const { body } = await call('POST', '/push/push2clients', { clients: ['u1'], payload: { alert: 'x' } }, { 'IM-API-KEY': NEW_KEY });
      await call('GET', `/push/jobs/${body.result.jobId}`);
      await call('GET', '/push/jobs/nope', undefined, { 'IM-API-KEY': nearMiss, Authorization: `Bearer ${bearer}` });
      await call('POST', '/push/push2clients', '{"clients": [', { Authorization: `Bearer ${bearer}` });
      await call('GET', '/push/clients/%E0%A4%A/tokens');
      await call('GET', `/nowhere?key=${OLD_KEY}`, undefined, { 'IM-API-KEY': OLD_KEY });
      for (let i = 0; i < 25; i++) await call('GET', '/push/clients/u1/tokens');
      expect(statuses).toContain(429);

      await redis.stop();
      for (const key of [OLD_KEY, NEW_KEY]) {
        await call('POST', '/push/push2clients', { clients: ['u2'], payload: { alert: 'x' } }, { 'IM-API-KEY': key });
        await call('POST', '/push/tokens', { client: 'u2', platform: 'ios', token: 'cd'.repeat(32) }, { 'IM-API-KEY': key });
      }
      expect(statuses.filter((s) => s === 503).length).toBeGreaterThanOrEqual(2);
      expect(new Set(statuses)).toEqual(new Set([200, 401, 400, 404, 429, 503]));
    } finally {
      expect(await api.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    }
    const logs = api.output();
    // The logs were on and said something about each kind of event.
    expect(logs).toMatch(/"msg":"API listening"/);
    expect(logs).toMatch(/redis/i);
    expect(logs.split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(3);
    for (const secret of [OLD_KEY, NEW_KEY, nearMiss, bearer, OLD_KEY.slice(0, 12), NEW_KEY.slice(0, 12)]) {
      expect(logs.includes(secret) ? `${secret} found in:\n${logs}` : 'absent').toBe('absent');
    }
  });
});
