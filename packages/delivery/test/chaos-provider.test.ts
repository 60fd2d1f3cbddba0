import { queuePrefix, queueName, TokenRegistry, type RedisClient } from '@push/store';
import {
  allSent,
  deliveries,
  mobileSimulators,
  pushThroughOutage,
  startTestStack,
  waitFor,
  type ManagedProcess,
  type TestStack,
} from '@push/testing';

/**
 * Provider faults against real worker processes and the simulators: a full outage (bounded retries with
 * exponential backoff and jitter, then everything delivered), an FCM quota 429 with Retry-After (the whole
 * FCM queue, every worker, stops sending for at least that long), an APNs 429 (only that device waits).
 */

const iosToken = (tag: string, n: number) => `${tag}${n.toString(16).padStart(64 - tag.length, '0')}`;
const fcmToken = (tag: string, n: number) => `${tag}_${String(n).padStart(24, '0')}`;

async function registerAll(stack: TestStack, entries: Array<[client: string, platform: 'ios' | 'android', token: string]>): Promise<void> {
  const registry = new TokenRegistry(stack.api.redis, stack.api.prefix);
  await Promise.all(entries.map(([c, p, t]) => registry.register(c, p, t)));
}

/** Waits until every chunk of one platform is done (the job as a whole also waits for the other platform). */
async function waitForPlatform(stack: TestStack, jobId: string, platform: 'ios' | 'android', timeoutMs = 60_000) {
  return waitFor(
    async () => {
      const res = await stack.api.request('GET', `/push/jobs/${jobId}`);
      const p = res.body.result?.platforms?.[platform];
      return p && p.chunks > 0 && p.chunksDone === p.chunks ? p : undefined;
    },
    timeoutMs,
    `${platform} chunks of job ${jobId}`,
  );
}

/** BullMQ's `delayed` events of a queue: for each chunk job, the backoff (ms) before each retry. */
async function backoffsByJob(redis: RedisClient, prefix: string, platform: 'ios' | 'android'): Promise<Map<string, number[]>> {
  const name = queueName[platform];
  const entries = await redis.xrange(`${queuePrefix(prefix, platform)}:${name}:events`, '-', '+');
  const byJob = new Map<string, number[]>();
  for (const [id, fields] of entries) {
    const f: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
    if (f.event !== 'delayed' || !f.jobId || !f.delay) continue;
    // `delay` is when the job becomes due (the worker's clock); the entry id is when it was delayed
    // (Redis' clock, on the same machine here).
    const list = byJob.get(f.jobId) ?? [];
    list.push(Number(f.delay) - Number(id.split('-')[0]));
    byJob.set(f.jobId, list);
  }
  return byJob;
}

describe('a provider outage', () => {
  const BASE = 300;
  const ATTEMPTS = 5;
  const OUTAGE_MS = 1500;
  let stack: TestStack;
  let workers: ManagedProcess[];
  beforeAll(async () => {
    stack = await startTestStack('chaos-outage', {
      workers: { ios: 0, android: 0 },
      // No Retry-After: it would be honoured, and this test measures the exponential backoff itself.
      fcm: { outageRetryAfter: false },
      // Token-level retries are what this test measures: the provider breaker, which would hold every
      // token during the outage instead (provider-safety.test.ts), never opens here.
      env: {
        PUSH_CHUNK_CLIENTS: '20',
        RETRY_BASE_DELAY_MS: String(BASE),
        DELIVERY_ATTEMPTS: String(ATTEMPTS),
        BREAKER_FAILURES: '1000000',
      },
    });
    // A slot for each of the 10 chunks: every chunk is taken at once and meets the outage. (With fewer slots a
    // retried chunk, whose fair-share round is lower, goes before the job's later chunks, which then may
    // first run once the outage is over.)
    const env = { WORKER_CONCURRENCY: '10', APNS_BATCH_SIZE: '10', FCM_BATCH_SIZE: '10', LOG_LEVEL: 'info' };
    workers = [stack.startWorkerProcess('ios', env), stack.startWorkerProcess('android', env)];
    // Ready before the outage starts, so every chunk meets it.
    await Promise.all(workers.map((w) => w.waitForOutput(/worker ready/)));
  });
  afterAll(() => stack.close());

  it('retries with exponential backoff and jitter, at most DELIVERY_ATTEMPTS requests per token, and delivers everything once it recovers', async () => {
    const clients = Array.from({ length: 200 }, (_, i) => `o${i}`);
    await registerAll(
      stack,
      clients.flatMap((c, i): Array<[string, 'ios' | 'android', string]> => [
        [c, 'ios', iosToken('0ff', i)],
        [c, 'android', fcmToken('off', i)],
      ]),
    );
    const { job, outageEnds } = await pushThroughOutage(stack, clients, OUTAGE_MS);
    expect(job.totals).toEqual(allSent(200, 400));

    const figures: string[] = [];
    for (const [platform, sim] of mobileSimulators(stack)) {
      const { requests, accepted, distinctTokens, firstAt } = deliveries(sim);
      // Every token accepted exactly once, none before the outage ended.
      expect({ accepted, distinctTokens }).toEqual({ accepted: 200, distinctTokens: 200 });
      expect(firstAt).toBeGreaterThanOrEqual(outageEnds - 50);
      const { rejected } = sim.stats();
      // Bounded: each token at most DELIVERY_ATTEMPTS requests, the failed ones included.
      expect(requests).toBeLessThanOrEqual(200 * ATTEMPTS);
      expect(requests - accepted).toBe(Object.values(rejected).reduce((a, b) => a + b, 0));

      // The retries BullMQ scheduled: attempt n waits BASE * 2^(n-1), less up to 50 % jitter.
      const backoffs = await backoffsByJob(stack.api.redis, stack.api.prefix, platform);
      expect(backoffs.size).toBe(10);
      const firstRetries: number[] = [];
      for (const delays of backoffs.values()) {
        expect(delays.length).toBeLessThanOrEqual(ATTEMPTS - 1);
        delays.forEach((delay, i) => {
          const max = BASE * 2 ** i;
          // Measured between two clocks reads (the worker's, Redis'): a few ms either way.
          expect(delay).toBeGreaterThanOrEqual(max / 2 - 50);
          expect(delay).toBeLessThanOrEqual(max + 50);
        });
        firstRetries.push(delays[0]!);
      }
      // Jitter: the chunks that failed together did not all come back together.
      expect(Math.max(...firstRetries) - Math.min(...firstRetries)).toBeGreaterThan(BASE * 0.05);
      const totalRetries = [...backoffs.values()].reduce((n, d) => n + d.length, 0);
      figures.push(
        `${platform}: ${requests} requests for 200 tokens (${(requests / 200).toFixed(2)} per token, bound ${ATTEMPTS}), ` +
          `${totalRetries} chunk retries, first-retry delays ${Math.min(...firstRetries)}-${Math.max(...firstRetries)} ms`,
      );
    }
    for (const w of workers) expect(w.running).toBe(true);
    process.stdout.write(`provider outage of ${OUTAGE_MS} ms: ${figures.join('; ')}\n`);
  });
});

describe('FCM 429 QUOTA_EXCEEDED with Retry-After', () => {
  const RETRY_AFTER_S = 2;
  /** Time for requests already on the wire, and for the pause to take hold, once the 429 is out. */
  const GRACE_MS = 500;
  const TOKENS = 1000;
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('chaos-quota', {
      workers: { ios: 0, android: 0 },
      fcm: { latencyMs: 30 },
      env: { PUSH_CHUNK_CLIENTS: '10', RETRY_BASE_DELAY_MS: '50' },
    });
    const clients = Array.from({ length: TOKENS }, (_, i) => `q${i}`);
    await registerAll(
      stack,
      clients.map((c, i): [string, 'android', string] => [c, 'android', fcmToken(i % 100 < 10 ? 'quota' : 'free', i)]),
    );
  });
  afterAll(() => stack.close());

  /**
   * Runs a job of `tokens` tokens in chunks of 10 (one send group each) on `workerCount` FCM worker
   * processes of `concurrency` slots; the first chunk's tokens answer 429 until the test sees the first
   * one. Returns the quiet gap after that 429 (ms, measured past the grace for requests already on the
   * wire) and those stragglers.
   */
  async function quotaPause(workerCount: number, concurrency: number, tokens = TOKENS): Promise<{ gap: number; stragglers: number }> {
    stack.fcm.reset();
    stack.fcm.setBehaviour({ throttled: ['quota*'], retryAfterSeconds: RETRY_AFTER_S });
    const env = { WORKER_CONCURRENCY: String(concurrency), FCM_BATCH_SIZE: '10', LOG_LEVEL: 'info' };
    const workers = Array.from({ length: workerCount }, () => stack.startWorkerProcess('android', env));
    await Promise.all(workers.map((w) => w.waitForOutput(/worker ready/)));

    // Every change of the simulator's request counter, with the time it was seen.
    const samples: Array<{ t: number; requests: number; quota: number }> = [];
    let released = false;
    const sampler = setInterval(() => {
      const s = stack.fcm.stats();
      const quota = s.rejected.QUOTA_EXCEEDED ?? 0;
      const last = samples[samples.length - 1];
      if (!last || last.requests !== s.requests) samples.push({ t: Date.now(), requests: s.requests, quota });
      if (quota > 0 && !released) {
        released = true;
        stack.fcm.setBehaviour({ throttled: [] });
      }
    }, 2);
    try {
      const clients = Array.from({ length: tokens }, (_, i) => `q${i}`);
      const jobId = await stack.push(clients, { alert: 'quota' });
      expect(await waitForPlatform(stack, jobId, 'android')).toMatchObject({ tokens, sent: tokens, failed: 0 });
    } finally {
      clearInterval(sampler);
      for (const w of workers) expect(await w.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    }
    const stats = stack.fcm.stats();
    expect(stats.accepted).toBe(tokens);
    expect(new Set(stack.fcm.received().map((n) => n.token)).size).toBe(tokens);
    expect(Object.keys(stats.rejected)).toEqual(['QUOTA_EXCEEDED']);

    const throttled = samples.find((s) => s.quota > 0)!;
    const afterGrace = samples.find((s) => s.t > throttled.t + GRACE_MS);
    const stragglers = samples.filter((s) => s.t <= throttled.t + GRACE_MS).pop()!.requests - throttled.requests;
    return { gap: afterGrace ? afterGrace.t - throttled.t : Infinity, stragglers };
  }

  it('one worker process (concurrency 1): no request of any token for at least Retry-After after the 429', async () => {
    // One chunk at a time: 300 tokens still leave ~1 s of sending after the pause.
    const { gap, stragglers } = await quotaPause(1, 1, 300);
    process.stdout.write(
      `FCM 429 (Retry-After ${RETRY_AFTER_S} s, 1 worker x 1): quiet gap ${gap} ms after the 429; ${stragglers} requests within ${GRACE_MS} ms\n`,
    );
    expect(gap).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000 - 100);
    // Nothing else was in flight: the throttled chunk was the only one running.
    expect(stragglers).toBe(0);
  });

  // The pause is shared through Redis (ProviderPause) and checked before every send group, so it holds
  // across worker processes and concurrency slots, for chunks already running too. (Before that, BullMQ's
  // worker.rateLimit() was used, which BullMQ ignores without a `limiter` option: the next request came
  // 40 ms after the 429 and 210-450 more in the following 500 ms.)
  it('two worker processes (concurrency 2 each): no request of any token, from either worker, for at least Retry-After', async () => {
    const { gap, stragglers } = await quotaPause(2, 2);
    process.stdout.write(
      `FCM 429 (Retry-After ${RETRY_AFTER_S} s, 2 workers x 2): quiet gap ${gap} ms after the 429; ${stragglers} requests within ${GRACE_MS} ms\n`,
    );
    expect(gap).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000 - 100);
    // Only what was already in flight: one 10-token group per concurrent chunk.
    expect(stragglers).toBeLessThanOrEqual(2 * 2 * 10);
  });
});

describe('APNs 429 TooManyRequests', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('chaos-apns429', {
      workers: { ios: 0, android: 0 },
      env: { PUSH_CHUNK_CLIENTS: '30', RETRY_BASE_DELAY_MS: '100', DELIVERY_ATTEMPTS: '10' },
    });
  });
  afterAll(() => stack.close());

  it('retries only the throttled device, while the rest of its chunk and the other chunks are delivered at once', async () => {
    const hot = iosToken('7007', 15);
    const clients = Array.from({ length: 60 }, (_, i) => `h${i}`);
    await registerAll(
      stack,
      clients.map((c, i): [string, 'ios', string] => [c, 'ios', i === 15 ? hot : iosToken('c001', i)]),
    );
    stack.apns.setBehaviour({ throttled: [hot] });
    const worker = stack.startWorkerProcess('ios', { WORKER_CONCURRENCY: '2', APNS_BATCH_SIZE: '30', LOG_LEVEL: 'info' });
    await worker.waitForOutput(/worker ready/);
    const jobId = await stack.push(clients, { alert: 'hot' });

    await waitFor(
      () => ((stack.apns.stats().rejected.TooManyRequests ?? 0) >= 3 ? true : undefined),
      30_000,
      'three 429s for the hot device',
    );
    // While the hot device waits, the 59 others (its own chunk included) are already delivered, once.
    expect(
      stack.apns
        .received()
        .map((n) => n.token)
        .sort(),
    ).toEqual(
      clients
        .map((_, i) => iosToken('c001', i))
        .filter((_, i) => i !== 15)
        .sort(),
    );
    stack.apns.setBehaviour({ throttled: [] });

    expect(await waitForPlatform(stack, jobId, 'ios')).toMatchObject({ tokens: 60, sent: 60, failed: 0 });
    const { requests, rejected } = stack.apns.stats();
    const hotRejected = rejected.TooManyRequests ?? 0;
    // One request per cool device; the hot one: its refusals plus the accepted one.
    expect(requests).toBe(59 + hotRejected + 1);
    expect(stack.apns.receivedFor(hot)).toHaveLength(1);
    expect(await worker.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    process.stdout.write(
      `APNs 429: 59 devices sent once while the hot one was refused ${hotRejected} times; ${requests} requests in all\n`,
    );
  });
});
