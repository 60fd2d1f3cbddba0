import { batched, DeadTokenGuard, ProviderBreaker, RateLimiter, storeScripts, type StoreScripts } from '@push/store';
import { startTestApi, type TestApi } from '@push/testing';

describe('batched', () => {
  /** A flush that records each batch and answers when `release` is called. */
  function recorder() {
    const batches: number[][] = [];
    const releases: Array<() => void> = [];
    const call = batched(async (items: number[]) => {
      batches.push(items);
      await new Promise<void>((resolve) => releases.push(resolve));
      if (items.includes(-1)) throw new Error('flush failed');
      return items.map((n) => n * 10);
    });
    return { call, batches, release: () => releases.shift()!() };
  }

  it('sends a call at once when none is in flight, and those made meanwhile together in the next flush, each answered in order', async () => {
    const { call, batches, release } = recorder();
    const first = call(1);
    // Sent at once: in the same write as the caller's other commands.
    expect(batches).toEqual([[1]]);
    const meanwhile = [call(2), call(3)];
    await new Promise((r) => setImmediate(r));
    const later = call(4);
    await new Promise((r) => setImmediate(r));
    // Still one flush: the next waits for the one in flight.
    expect(batches).toEqual([[1]]);
    release();
    expect(await first).toBe(10);
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([[1], [2, 3, 4]]);
    release();
    expect(await Promise.all([...meanwhile, later])).toEqual([20, 30, 40]);
  });

  it('rejects every call of a failed flush, and the next flush goes on', async () => {
    const { call, batches, release } = recorder();
    const alone = call(6);
    const failed = [call(-1), call(7)];
    release();
    expect(await alone).toBe(60);
    await new Promise((r) => setImmediate(r));
    const later = call(8);
    release();
    await expect(failed[0]).rejects.toThrow('flush failed');
    await expect(failed[1]).rejects.toThrow('flush failed');
    await new Promise((r) => setImmediate(r));
    release();
    expect(await later).toBe(80);
    expect(batches).toEqual([[6], [-1, 7], [8]]);
  });
});

describe('provider safety state shared by concurrent chunks (one script call for many)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi('batched');
  });
  afterAll(() => api.close());
  /**
   * Counts the calls of one store script from here on, in units of one lone call (ioredis' auto-pipelining
   * calls a script's method twice for one command).
   */
  const calls = (script: keyof StoreScripts) => {
    const spy = jest.spyOn(storeScripts(api.redis), script);
    return { count: () => spy.mock.calls.length / 2 };
  };
  afterEach(() => jest.restoreAllMocks());

  it('half-open breaker: of many concurrent admissions exactly one is the probe, the others wait', async () => {
    const breaker = new ProviderBreaker(api.redis, api.prefix, 'half-open', {
      failures: 1,
      baseDelayMs: 1,
      maxDelayMs: 1,
      probeLeaseMs: 60_000,
    });
    await breaker.observe(1, 0, 0, false);
    await new Promise((r) => setTimeout(r, 5));
    const admit = calls('breakerAdmit');
    const admissions = await Promise.all(Array.from({ length: 20 }, () => breaker.admit()));
    // The first alone, the 19 made while it was in flight together.
    expect(admit.count()).toBe(2);
    expect(admissions.filter((a) => a.go)).toEqual([{ go: true, probe: true }]);
    expect(admissions.filter((a) => !a.go)).toHaveLength(19);
  });

  it('breaker: concurrent observations count together; the one that opens it is reported opened once', async () => {
    const breaker = new ProviderBreaker(api.redis, api.prefix, 'together', {
      failures: 5,
      baseDelayMs: 60_000,
      maxDelayMs: 60_000,
      probeLeaseMs: 1000,
    });
    const observe = calls('breakerObserve');
    const states = await Promise.all(Array.from({ length: 5 }, () => breaker.observe(1, 0, 0, false)));
    // Two calls (the first alone, four together) counted the five failures in a row: the second opened it.
    expect(observe.count()).toBe(2);
    expect(states.map((s) => s.open)).toEqual([false, true, true, true, true]);
    expect(states.filter((s) => s.open && s.openedNow)).toHaveLength(1);
  });

  it('dead-token guard: concurrent groups go into one window, counted together; a window they close is returned once', async () => {
    const guard = new DeadTokenGuard(api.redis, api.prefix, 'together', { window: 10, share: 0.5, waitMs: 60_000 });
    const observe = calls('deadTokenGuard');
    const observed = await Promise.all(Array.from({ length: 5 }, () => guard.observe(2, new Map([['sandbox', 2]]), 'fp')));
    expect(observe.count()).toBe(2);
    expect(observed.map((o) => o.window)).toEqual([0, 0, 0, 0, 0]);
    expect(observed.flatMap((o) => o.closed)).toEqual([{ window: 0, answers: 10, suspected: ['sandbox'] }]);
  });

  it('token bucket: concurrent takes are taken together, all of them or none', async () => {
    const bucket = new RateLimiter(api.redis, api.prefix, 'together', 10);
    const take = calls('takePermits');
    expect(await Promise.all([bucket.takeTogether(1), bucket.takeTogether(4), bucket.takeTogether(4)])).toEqual([0, 0, 0]);
    expect(take.count()).toBe(2);
    // 1 left. The first take goes alone; the other two together: 3 permits, more than are left, so neither
    // is taken, although the take of 1 alone would have passed.
    const waits = await Promise.all([bucket.takeTogether(0), bucket.takeTogether(1), bucket.takeTogether(2)]);
    expect(waits[0]).toBe(0);
    expect(waits[1]).toBeGreaterThan(0);
    expect(waits[2]).toBe(waits[1]);
    expect(await bucket.takeTogether(1)).toBe(0);
    // `take` stays one script call each (API requests pass or fail alone).
    expect(await Promise.all([bucket.take(1), bucket.take(1)])).toEqual([expect.any(Number), expect.any(Number)]);
    expect(take.count()).toBe(7);
  });
});
