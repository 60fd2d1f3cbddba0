import { DeadTokenGuard, ProviderBreaker } from '@push/store';
import { startTestApi, waitFor, type TestApi } from '@push/testing';

/** The dead-token guard's and the breaker's scripts, called directly against Redis. */
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi('safety-state');
});
afterAll(() => api.close());

let scopes = 0;
const scope = (name: string) => `${name}-${++scopes}`;

describe('DeadTokenGuard', () => {
  const settings = { window: 100, share: 0.5, waitMs: 60_000 };
  const causes = (entries: Array<[string, number]>) => new Map(entries);

  it('judges a full window: a cause over the share is suspected, one under it is not', async () => {
    const guard = new DeadTokenGuard(api.redis, api.prefix, scope('ios'), settings);
    const first = await guard.observe(
      60,
      causes([
        ['sandbox', 51],
        ['topic', 3],
      ]),
      'fp',
    );
    expect(first).toEqual({ window: 0, closed: [] });
    expect(await guard.verdict(0)).toEqual({ waitMs: expect.any(Number) });
    const second = await guard.observe(40, causes([['sandbox', 1]]), 'fp');
    expect(second).toEqual({ window: 0, closed: [{ window: 0, answers: 100, suspected: ['sandbox'] }] });
    expect(await guard.verdict(0)).toEqual({ verdict: { answers: 100, suspected: new Set(['sandbox']) } });
    // The next window starts empty.
    expect(await guard.observe(100, causes([['sandbox', 50]]), 'fp')).toEqual({
      window: 1,
      closed: [{ window: 1, answers: 100, suspected: [] }],
    });
  });

  it('judges a window that waited long enough on the answers it has, once', async () => {
    const guard = new DeadTokenGuard(api.redis, api.prefix, scope('android'), { ...settings, waitMs: 150 });
    await guard.observe(3, causes([['project', 1]]), 'fp');
    const answer = await waitFor(async () => {
      const v = await guard.verdict(0);
      return 'verdict' in v ? v : undefined;
    });
    expect(answer).toEqual({ verdict: { answers: 3, suspected: new Set() }, closed: { window: 0, answers: 3, suspected: [] } });
    // Asked again: the same verdict, and no second `closed` (the alarm is raised once).
    expect(await guard.verdict(0)).toEqual({ verdict: { answers: 3, suspected: new Set() } });
  });

  it("closes the window when the sender's configuration changes (a deploy), so answers of two configurations never mix", async () => {
    const guard = new DeadTokenGuard(api.redis, api.prefix, scope('ios'), settings);
    await guard.observe(80, causes([]), 'old');
    const deployed = await guard.observe(10, causes([['sandbox', 10]]), 'new');
    expect(deployed.window).toBe(1);
    expect(deployed.closed).toEqual([{ window: 0, answers: 80, suspected: [] }]);
    expect(await guard.observe(90, causes([['sandbox', 90]]), 'new')).toEqual({
      window: 1,
      closed: [{ window: 1, answers: 100, suspected: ['sandbox'] }],
    });
  });

  it('a verdict that is gone is unknown', async () => {
    const guard = new DeadTokenGuard(api.redis, api.prefix, scope('web'), settings);
    expect(await guard.verdict(7)).toEqual({ unknown: true });
  });
});

describe('ProviderBreaker', () => {
  const settings = { failures: 5, baseDelayMs: 50, maxDelayMs: 200, probeLeaseMs: 5000 };

  it('opens after `failures` provider failures in a row, across calls; an answer in between starts the count again', async () => {
    const breaker = new ProviderBreaker(api.redis, api.prefix, scope('ios'), settings);
    expect(await breaker.observe(3, 0, 0, false)).toEqual({ open: false });
    expect(await breaker.observe(1, 1, 0, false)).toEqual({ open: false });
    expect(await breaker.observe(4, 0, 0, false)).toEqual({ open: false });
    expect(await breaker.observe(1, 0, 0, false)).toEqual({ open: true, waitMs: 50, opens: 1, openedNow: true });
    // Answers to requests already in flight: still open, not opened again.
    expect(await breaker.observe(2, 0, 0, false)).toEqual({ open: true, waitMs: expect.any(Number), opens: 1, openedNow: false });
    expect(await breaker.admit()).toEqual({ go: false, waitMs: expect.any(Number) });
  });

  it('half-open: one caller probes, the others wait; a failed probe opens it for twice as long, up to the maximum', async () => {
    const breaker = new ProviderBreaker(api.redis, api.prefix, scope('android'), settings);
    await breaker.observe(5, 0, 0, false);
    const delays: number[] = [];
    for (let probe = 0; probe < 4; probe++) {
      const admission = await waitFor(async () => {
        const a = await breaker.admit();
        return a.go ? a : undefined;
      }, 5000);
      expect(admission).toEqual({ go: true, probe: true });
      expect(await breaker.admit()).toEqual({ go: false, waitMs: 100 });
      const reopened = await breaker.observe(1, 0, 0, true);
      delays.push((reopened as { waitMs: number }).waitMs);
    }
    expect(delays).toEqual([100, 200, 200, 200]);
    // A probe that gets an answer closes it.
    await waitFor(async () => ((await breaker.admit()).go ? true : undefined), 5000);
    expect(await breaker.observe(0, 1, 0, true)).toEqual({ open: false });
    expect(await breaker.admit()).toEqual({ go: true, probe: false });
  });

  it("stays open at least as long as the provider's Retry-After", async () => {
    const breaker = new ProviderBreaker(api.redis, api.prefix, scope('web'), settings);
    expect(await breaker.observe(5, 0, 3000, false)).toEqual({ open: true, waitMs: 3000, opens: 1, openedNow: true });
  });
});
