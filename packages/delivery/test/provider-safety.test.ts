import type { Platform } from '@push/contract';
import type { DeliveryEvents, DeliveryWorker } from '@push/delivery';
import { TokenRegistry } from '@push/store';
import { allSent, deliveries, mobileSimulators, pushThroughOutage, startTestStack, type TestStack } from '@push/testing';

/**
 * Real providers' faults against the workers, the simulators (HTTP/2 + TLS) and Redis: an outage that
 * outlasts every retry, the misconfigurations that call every token dead, and a healthy stream with a
 * few dead tokens. Short settings keep it fast; the figures are printed for the README's guarantees.
 */

const iosToken = (tag: string, n: number) => `${tag}${n.toString(16).padStart(64 - tag.length, '0')}`;
const fcmToken = (tag: string, n: number) => `${tag}_${String(n).padStart(24, '0')}`;

/** What the workers of a test reported through their DeliveryEvents. */
function observer() {
  const seen = { misconfigurations: [] as string[], breakerOpens: { ios: [], android: [] } as Record<string, number[]>, kept: 0 };
  const events: DeliveryEvents = {
    misconfiguration: (platform, causes) => seen.misconfigurations.push(...causes.map((c) => `${platform}: ${c}`)),
    breakerOpened: (platform, ms) => {
      seen.breakerOpens[platform]!.push(ms);
    },
    deadKept: (_platform, tokens) => {
      seen.kept += tokens;
    },
  };
  return { seen, events };
}

describe('real providers: outages, misconfigurations, dead tokens', () => {
  let stack: TestStack;
  let registry: TokenRegistry;
  let workers: DeliveryWorker[] = [];
  beforeAll(async () => {
    stack = await startTestStack('safety', { workers: { ios: 0, android: 0 }, env: { PUSH_CHUNK_CLIENTS: '100' } });
    registry = new TokenRegistry(stack.api.redis, stack.api.prefix);
  });
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.close()));
    workers = [];
    stack.apns.setBehaviour({ bad: [], dead: [] });
    stack.fcm.setBehaviour({ senderMismatch: [], bad: [], dead: [] });
    stack.apns.reset();
    stack.fcm.reset();
  });
  afterAll(() => stack.close());

  const start = (env: Record<string, string>, events?: DeliveryEvents) => {
    const common = { WORKER_CONCURRENCY: '2', APNS_BATCH_SIZE: '25', FCM_BATCH_SIZE: '25', ...env };
    workers = (['ios', 'android'] as Platform[]).map((p) => stack.addWorker(p, common, events));
  };
  const registerAll = async (tag: string, count: number, name: (i: number) => [ios: string, android: string]) => {
    const clients = Array.from({ length: count }, (_, i) => `${tag}${i}`);
    await Promise.all(clients.flatMap((c, i) => [registry.register(c, 'ios', name(i)[0]), registry.register(c, 'android', name(i)[1])]));
    return clients;
  };

  it('an outage longer than every backoff: nothing fails, every token sent once, few requests per token', async () => {
    const OUTAGE_MS = 4000;
    // The old budget: 3 attempts 50 ms apart and more, spent in about 150 ms, far within the outage.
    const { seen, events } = observer();
    start(
      {
        DELIVERY_ATTEMPTS: '3',
        RETRY_BASE_DELAY_MS: '50',
        BREAKER_FAILURES: '10',
        BREAKER_BASE_DELAY_MS: '100',
        BREAKER_MAX_DELAY_MS: '400',
      },
      events,
    );
    const clients = await registerAll('o', 200, (i) => [iosToken('0ff', i), fcmToken('off', i)]);
    const { job, outageEnds } = await pushThroughOutage(stack, clients, OUTAGE_MS);
    expect(job.totals).toEqual(allSent(200, 400));

    const figures: string[] = [];
    for (const [platform, sim] of mobileSimulators(stack)) {
      const { requests, accepted, distinctTokens, firstAt } = deliveries(sim);
      expect({ accepted, distinctTokens }).toEqual({ accepted: 200, distinctTokens: 200 });
      expect(firstAt).toBeGreaterThanOrEqual(outageEnds - 50);
      // One failed request for the tokens in flight when it began, the probes, and one that is accepted.
      expect(requests).toBeLessThanOrEqual(2 * 200 + 40);
      const opens = seen.breakerOpens[platform]!;
      if (platform === 'ios') {
        // APNs sends no Retry-After: after each failed probe the breaker opened for twice as long, up to
        // 400 ms (how many probes fit in the outage depends on the machine's load).
        expect(opens.length).toBeGreaterThanOrEqual(1);
        expect(opens).toEqual(opens.map((_, i) => Math.min(400, 100 * 2 ** i)));
      } else {
        // FCM's outage answers say how long (the seconds left): honoured, one opening covered it all.
        expect(opens).toHaveLength(1);
        expect(opens[0]).toBeGreaterThanOrEqual(1000);
      }
      figures.push(
        `${platform}: ${requests} requests for 200 tokens (${(requests / 200).toFixed(2)} per token), breaker opened ${opens.length} times (${opens.join(', ')} ms)`,
      );
    }
    process.stdout.write(`provider outage of ${OUTAGE_MS} ms (DELIVERY_ATTEMPTS 3, base 50 ms): ${figures.join('; ')}\n`);
  });

  it('a provider down for longer than DELIVERY_WINDOW_SECONDS: its tokens end failed, saying why', async () => {
    start({ DELIVERY_WINDOW_SECONDS: '1', BREAKER_FAILURES: '5', BREAKER_BASE_DELAY_MS: '200', BREAKER_MAX_DELAY_MS: '200' });
    const clients = await registerAll('w', 20, (i) => [iosToken('0dd', i), fcmToken('window', i)]);
    stack.apns.outage(10_000);
    stack.fcm.outage(10_000);
    const job = await stack.waitForCompletion(await stack.push(clients, { alert: 'too long' }), 20_000);
    expect(job.totals).toMatchObject({ tokens: 40, failed: 40, sent: 0 });
    const reasons = new Set((await stack.allResults(job.jobId)).map((r) => r.reason.replace(/\(.*\)/, '(...)')));
    expect(reasons).toEqual(new Set(['not sent within DELIVERY_WINDOW_SECONDS: the provider kept failing (...)']));
    stack.apns.outage(0);
    stack.fcm.outage(0);
  });

  it('misconfigured (sandbox vs production on APNs, another sender on FCM): every token kept, failed as a suspected misconfiguration', async () => {
    const TOKENS = 1000;
    const { seen, events } = observer();
    start({ DEAD_TOKEN_GUARD_WINDOW: '500', DEAD_TOKEN_GUARD_PAUSE_SECONDS: '1' }, events);
    const clients = await registerAll('m', TOKENS, (i) => [iosToken('5a', i), fcmToken('sender', i)]);
    // Every APNs token is from the other environment, every FCM token another sender's.
    stack.apns.setBehaviour({ bad: ['*'] });
    stack.fcm.setBehaviour({ senderMismatch: ['*'] });
    const job = await stack.waitForCompletion(await stack.push(clients, { alert: 'hello' }), 60_000);
    expect(job.totals).toMatchObject({ tokens: 2 * TOKENS, failed: 2 * TOKENS, invalid: 0, sent: 0 });

    const results = await stack.allResults(job.jobId);
    const byPlatform = (p: Platform) => results.filter((r) => r.platform === p);
    expect(byPlatform('ios').every((r) => r.reason.startsWith('suspected misconfiguration: sandbox vs production'))).toBe(true);
    expect(byPlatform('android').every((r) => r.reason.startsWith('suspected misconfiguration: wrong project'))).toBe(true);
    const kept = {
      ios: (await registry.resolve(clients, 'ios')).length,
      android: (await registry.resolve(clients, 'android')).length,
    };
    expect(kept).toEqual({ ios: TOKENS, android: TOKENS });
    // The alarm: raised for both platforms, each time a window was judged.
    expect(seen.misconfigurations.filter((m) => m.startsWith('ios: sandbox vs production')).length).toBeGreaterThanOrEqual(1);
    expect(seen.misconfigurations.filter((m) => m.startsWith('android: wrong project')).length).toBeGreaterThanOrEqual(1);
    expect(seen.kept).toBe(TOKENS);
    process.stdout.write(
      `misconfiguration: iOS ${kept.ios} of ${TOKENS} kept (BadDeviceToken), Android ${kept.android} of ${TOKENS} kept (SENDER_ID_MISMATCH); ` +
        `${seen.misconfigurations.length} alarms\n`,
    );
  });

  it('a healthy stream with a few percent dead tokens still removes the dead ones', async () => {
    const TOKENS = 1000;
    const { seen, events } = observer();
    start({ DEAD_TOKEN_GUARD_WINDOW: '200' }, events);
    // 3 % dead and 1 % malformed on each platform.
    const kind = (i: number) => (i % 100 < 3 ? 'dead' : i % 100 === 3 ? 'bad0' : 'a11');
    const clients = await registerAll('h', TOKENS, (i) => [iosToken(kind(i) === 'dead' ? 'dead' : kind(i), i), fcmToken(kind(i), i)]);
    stack.apns.setBehaviour({ dead: ['dead*'], bad: ['bad0*'] });
    stack.fcm.setBehaviour({ dead: ['dead*'], bad: ['bad0*'] });
    const job = await stack.waitForCompletion(await stack.push(clients, { alert: 'hello' }), 60_000);
    expect(job.totals).toMatchObject({ tokens: 2 * TOKENS, sent: 2 * 960, invalid: 2 * 40, failed: 0 });
    expect((await registry.resolve(clients, 'ios')).length).toBe(960);
    expect((await registry.resolve(clients, 'android')).length).toBe(960);
    expect(seen.misconfigurations).toEqual([]);
    expect(seen.kept).toBe(0);
  });
});
