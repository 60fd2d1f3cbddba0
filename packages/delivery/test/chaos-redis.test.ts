import { STATUS_CODES } from 'node:http';
import { TokenRegistry } from '@push/store';
import {
  allSent,
  distinctResults,
  hasRedisServer,
  startRestartableRedisServer,
  startTestStack,
  waitFor,
  type ApiProcess,
  type ManagedProcess,
  type RestartableRedisServer,
  type TestStack,
} from '@push/testing';

/**
 * Redis crashes (SIGKILL) in the middle of a 4,000-token job and comes back after several seconds on the
 * same port with its append-only file (fsync always). Meanwhile the API process answers 503 on /readyz and
 * an enveloped 503 on /push/ routes, and never exits; the worker processes reconnect by themselves and the
 * job completes with every token accounted for, once.
 */

const iosToken = (n: number) => `c4a0${n.toString(16).padStart(60, '0')}`;
const fcmToken = (n: number) => `chaos_redis_${String(n).padStart(24, '0')}`;
const CLIENTS = 2000;
const CHUNK = 100;
const CONCURRENCY = 2;
const OUTAGE_MS = 5000;

(hasRedisServer() ? describe : describe.skip)('Redis stopped during a job (AOF on)', () => {
  let redis: RestartableRedisServer;
  let stack: TestStack;
  beforeAll(async () => {
    redis = await startRestartableRedisServer(['--appendonly', 'yes', '--appendfsync', 'always']);
    stack = await startTestStack('chaos-redis', {
      redisUrl: redis.url,
      workers: { ios: 0, android: 0 },
      apns: { latencyMs: 20, jitterMs: 10 },
      fcm: { latencyMs: 20, jitterMs: 10 },
      env: { PUSH_CHUNK_CLIENTS: String(CHUNK), STALLED_INTERVAL_MS: '1000', RETRY_BASE_DELAY_MS: '200' },
    });
  });
  afterAll(async () => {
    if (!redis.running) await redis.restart();
    await stack.close();
    await redis.stop();
  });

  function expectEnvelope(res: { status: number; body: any }, status: number, code: string): void {
    expect(res).toMatchObject({ status, body: { RC: status, RM: STATUS_CODES[status], error: { code, message: expect.any(String) } } });
  }

  it('answers 503 while Redis is down, never crashes, and the job completes with one result per token', async () => {
    const registry = new TokenRegistry(stack.api.redis, stack.api.prefix);
    const clients = Array.from({ length: CLIENTS }, (_, i) => `r${i}`);
    await Promise.all(clients.flatMap((c, i) => [registry.register(c, 'ios', iosToken(i)), registry.register(c, 'android', fcmToken(i))]));
    // Two more clients, for a job queued once Redis is back.
    await Promise.all(
      [0, 1].flatMap((i) => [
        registry.register(`late${i}`, 'ios', iosToken(CLIENTS + i)),
        registry.register(`late${i}`, 'android', fcmToken(CLIENTS + i)),
      ]),
    );

    // A second API, as its own process, with the per-key limiter on (so it too needs Redis).
    const api: ApiProcess = await stack.startApiProcess({ API_RATE_LIMIT_PER_MINUTE: '100000' });
    const workerEnv = { APNS_BATCH_SIZE: '50', FCM_BATCH_SIZE: '50', WORKER_CONCURRENCY: String(CONCURRENCY), LOG_LEVEL: 'warn' };
    const workers: ManagedProcess[] = [stack.startWorkerProcess('ios', workerEnv), stack.startWorkerProcess('android', workerEnv)];

    const jobId = await stack.push(clients, { alert: 'redis crash test' });
    await waitFor(
      () => (stack.apns.received().length >= 400 && stack.fcm.received().length >= 400 ? true : undefined),
      60_000,
      'deliveries on both platforms',
    );

    await redis.halt('SIGKILL');
    const haltedAt = Date.now();
    const atHalt = { ios: stack.apns.received().length, android: stack.fcm.received().length };

    // While Redis is down: every answer is prompt and enveloped, health stays green, readiness red.
    const seen: Record<string, number> = {};
    const count = (what: string, status: number) => {
      seen[`${what} ${status}`] = (seen[`${what} ${status}`] ?? 0) + 1;
    };
    let rounds = 0;
    while (Date.now() - haltedAt < OUTAGE_MS) {
      rounds++;
      for (const target of [api, stack.api]) {
        const name = target === api ? 'api-process' : 'api-in-process';
        const push = await target.request('POST', '/push/push2clients', { clients: ['late'], payload: { alert: 'x' } });
        expectEnvelope(push, 503, 'SERVICE_UNAVAILABLE');
        expect(Number(push.headers.get('retry-after'))).toBeGreaterThan(0);
        count(`${name} POST /push/push2clients`, push.status);
        const ready = await target.request('GET', '/readyz');
        expectEnvelope(ready, 503, 'REDIS_UNAVAILABLE');
        count(`${name} GET /readyz`, ready.status);
        const status = await target.request('GET', `/push/jobs/${jobId}`);
        expectEnvelope(status, 503, 'SERVICE_UNAVAILABLE');
        const token = await target.request('POST', '/push/tokens', { client: 'late', platform: 'ios', token: 'ab'.repeat(32) });
        expectEnvelope(token, 503, 'SERVICE_UNAVAILABLE');
        expect((await target.request('GET', '/healthz')).status).toBe(200);
      }
      expect(api.running).toBe(true);
      for (const w of workers) expect(w.running).toBe(true);
      await new Promise((r) => setTimeout(r, 200));
    }
    const duringOutage = { ios: stack.apns.received().length - atHalt.ios, android: stack.fcm.received().length - atHalt.android };

    await redis.restart();
    const downMs = Date.now() - haltedAt;
    // Both APIs reconnect by themselves: ready again, and they queue new work.
    for (const target of [api, stack.api]) {
      await waitFor(
        async () => ((await target.request('GET', '/readyz')).status === 200 ? true : undefined),
        30_000,
        'readiness after the restart',
      );
    }
    const after = await api.request('POST', '/push/push2clients', { clients: ['late0', 'late1'], payload: { alert: 'after the crash' } });
    expect(after.status).toBe(200);

    const job = await stack.waitForCompletion(jobId, 120_000);
    expect(job.totals).toEqual(allSent(CLIENTS, 2 * CLIENTS));
    const results = await stack.allResults(jobId);
    expect(results).toHaveLength(2 * CLIENTS);
    expect(distinctResults(results)).toBe(2 * CLIENTS);

    const duplicates: Record<string, number> = {};
    for (const [platform, sim, token] of [
      ['ios', stack.apns, iosToken],
      ['android', stack.fcm, fcmToken],
    ] as const) {
      const mine = new Set(clients.map((_, i) => token(i)));
      const delivered = sim
        .received()
        .map((n) => n.token)
        .filter((t) => mine.has(t));
      expect(new Set(delivered).size).toBe(CLIENTS);
      duplicates[platform] = delivered.length - CLIENTS;
      // At most the chunks a worker had in flight when Redis went away (their locks expired meanwhile,
      // so another run of the same chunks may resend what the first run had sent but not yet recorded).
      expect(duplicates[platform]).toBeLessThanOrEqual(CONCURRENCY * CHUNK);
    }
    expect((await stack.waitForCompletion(after.body.result.jobId, 60_000)).totals).toMatchObject({ tokens: 4, sent: 4 });

    expect(api.running).toBe(true);
    for (const w of workers) expect(w.running).toBe(true);
    for (const proc of [api, ...workers]) expect(await proc.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    process.stdout.write(
      `redis outage: down ${downMs} ms (${rounds} rounds of requests, all enveloped 503: ${JSON.stringify(seen)}); ` +
        `delivered at the crash ios ${atHalt.ios} android ${atHalt.android}, during the outage ios ${duringOutage.ios} android ${duringOutage.android}; ` +
        `sent twice: ios ${duplicates.ios} android ${duplicates.android}\n`,
    );
  });
});
