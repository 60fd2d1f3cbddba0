import { HIGH_LANE_HEAD_START_MS, ProviderPause, RateLimiter, highLaneReserve } from '@push/store';
import { startTestApi, type TestApi } from '@push/testing';

// The high lane's precedence at a provider's limits, against the real Redis scripts.

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi('provider-limits');
});
afterAll(() => api.close());

describe('the provider token bucket', () => {
  it('keeps a reserve for the high lane that normal takes cannot use', async () => {
    // 600 per minute: 10 a second; the reserve is one second of quota.
    const perMinute = 600;
    expect(highLaneReserve(perMinute)).toBe(10);
    const normal = new RateLimiter(api.redis, api.prefix, 'bucket', perMinute, 60_000, highLaneReserve(perMinute));
    const high = new RateLimiter(api.redis, api.prefix, 'bucket', perMinute);
    expect(await normal.take(590)).toBe(0);
    // 10 left: a normal take of 1 would dip into the reserve; it waits for 1 + 10 - 10 permits (100 ms each).
    const wait = await normal.take(1);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(100);
    // The high lane takes the reserve at once.
    expect(await high.take(10)).toBe(0);
    // Empty now: a normal take waits for its permit and the refilled reserve (11 permits, ~1.1 s), high for its own.
    expect(await normal.take(1)).toBeGreaterThan(1000);
    const highWait = await high.take(1);
    expect(highWait).toBeGreaterThan(0);
    expect(highWait).toBeLessThanOrEqual(100);
  });

  it('still lets a normal take as large as the bucket through once it is full', async () => {
    const normal = new RateLimiter(api.redis, api.prefix, 'small', 60, 60_000, highLaneReserve(60));
    expect(await normal.take(60)).toBe(0);
  });
});

describe('the provider pause', () => {
  it('ends for the high lane HIGH_LANE_HEAD_START_MS before the normal lane', async () => {
    const high = new ProviderPause(api.redis, api.prefix, 'fcm', 'high');
    const normal = new ProviderPause(api.redis, api.prefix, 'fcm', 'normal');
    expect(await high.remainingMs()).toBe(0);
    await normal.pause(2000);
    const [h, n] = await Promise.all([high.remainingMs(), normal.remainingMs()]);
    expect(h).toBeGreaterThan(1900);
    expect(h).toBeLessThanOrEqual(2000);
    // Two PTTL reads: a few ms may pass between them.
    expect(Math.abs(n - h - HIGH_LANE_HEAD_START_MS)).toBeLessThanOrEqual(5);
    // A shorter Retry-After never shortens it.
    await high.pause(100);
    expect(await high.remainingMs()).toBeGreaterThan(1800);
  });
});
