import { STATUS_CODES } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { JobStore, TokenRegistry, storeKeys } from '@push/store';
import { fetchJson, startTestStack, TEST_API_KEY, waitFor, type TestStack } from '@push/testing';

/**
 * 200 concurrent push2clients requests from two API keys while worker processes drain an earlier job:
 * every request is answered, either accepted (200 + jobId) or refused in the envelope (429 with
 * Retry-After), none is lost (every accepted job completes with the right totals, every refused one left
 * nothing behind), and the API's memory stays bounded.
 */

const KEY_B = 'overload-second-key-0123456789';
const PER_MINUTE = 120;
const CLIENTS = 100;
const iosToken = (n: number) => `0e1d${n.toString(16).padStart(60, '0')}`;
const fcmToken = (n: number) => `overload_${String(n).padStart(24, '0')}`;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function memory(): { rss: number; heapUsed: number } {
  gc();
  gc();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

describe('overload', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('overload', {
      workers: { ios: 0, android: 0 },
      env: { IM_API_KEY: `${TEST_API_KEY},${KEY_B}`, API_RATE_LIMIT_PER_MINUTE: String(PER_MINUTE), PUSH_CHUNK_CLIENTS: '10' },
    });
  });
  afterAll(() => stack.close());

  it('answers 200 concurrent requests with a jobId or an enveloped 429, loses none, and keeps memory bounded', async () => {
    const registry = new TokenRegistry(stack.api.redis, stack.api.prefix);
    const jobs = new JobStore(stack.api.redis, stack.api.prefix, 3600);
    const clients = Array.from({ length: CLIENTS }, (_, i) => `o${i}`);
    await Promise.all(clients.flatMap((c, i) => [registry.register(c, 'ios', iosToken(i)), registry.register(c, 'android', fcmToken(i))]));
    const env = { WORKER_CONCURRENCY: '4', LOG_LEVEL: 'info' };
    const workers = [stack.startWorkerProcess('ios', env), stack.startWorkerProcess('android', env)];
    await Promise.all(workers.map((w) => w.waitForOutput(/worker ready/)));

    // Workers busy with an earlier job while the burst arrives (B's budget pays for it).
    const post = (key: string, body: unknown) =>
      fetchJson(`${stack.api.url}/push/push2clients`, 'POST', body, { 'IM-API-KEY': key }, 60_000);
    const earlier = await post(KEY_B, { clients, payload: { alert: 'earlier' } });
    expect(earlier.status).toBe(200);
    // Warm the code paths, then measure.
    const before = memory();

    const burst = Array.from({ length: 200 }, (_, i) => ({
      key: i % 4 === 3 ? KEY_B : TEST_API_KEY,
      clients: Array.from({ length: 10 }, (_, k) => clients[(i * 7 + k * 13) % CLIENTS]!),
    }));
    const started = Date.now();
    const answers = await Promise.all(
      burst.map(async (r) => {
        const t0 = Date.now();
        const res = await post(r.key, { clients: r.clients, payload: { alert: 'burst', badge: 1 } });
        return { ...r, res, ms: Date.now() - t0 };
      }),
    );
    const burstMs = Date.now() - started;

    const accepted = answers.filter((a) => a.res.status === 200);
    const refused = answers.filter((a) => a.res.status !== 200);
    for (const a of accepted) expect(a.res.body).toEqual({ RC: 0, RM: 'OK', result: { jobId: expect.stringMatching(/^[0-9a-f-]{36}$/) } });
    for (const a of refused) {
      expect([429, 503]).toContain(a.res.status);
      expect(a.res.body).toEqual({
        RC: a.res.status,
        RM: STATUS_CODES[a.res.status],
        error: { code: a.res.status === 429 ? 'RATE_LIMITED' : 'SERVICE_UNAVAILABLE', message: expect.any(String) },
      });
      expect(Number(a.res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    expect(accepted.length + refused.length).toBe(200);
    // Key A's 150 requests: its bucket of 120, plus what refilled during the burst (2 a second).
    const acceptedA = accepted.filter((a) => a.key === TEST_API_KEY).length;
    expect(acceptedA).toBeGreaterThanOrEqual(PER_MINUTE);
    expect(acceptedA).toBeLessThanOrEqual(PER_MINUTE + Math.ceil((burstMs / 60_000) * PER_MINUTE) + 1);
    // Key B's 50 (after the earlier job's 1): within its own budget, all accepted.
    expect(accepted.filter((a) => a.key === KEY_B)).toHaveLength(50);

    // None lost: exactly the accepted requests (and the earlier one) made a job, and each completes right.
    const jobIds = accepted.map((a) => a.res.body.result.jobId as string);
    expect(new Set(jobIds).size).toBe(accepted.length);
    expect(await stack.api.redis.zcard(storeKeys(stack.api.prefix).recentJobs())).toBe(accepted.length + 1);
    const statuses = await waitFor(
      async () => {
        const all = await Promise.all([earlier.body.result.jobId as string, ...jobIds].map((id) => jobs.get(id)));
        return all.every((j) => j?.state === 'completed') ? all : undefined;
      },
      120_000,
      'every accepted job to complete',
    );
    expect(statuses[0]!.totals).toMatchObject({ clients: CLIENTS, tokens: 2 * CLIENTS, sent: 2 * CLIENTS });
    accepted.forEach((a, i) => {
      const unique = new Set(a.clients).size;
      expect(statuses[i + 1]!.totals).toEqual({
        clients: unique,
        tokens: 2 * unique,
        sent: 2 * unique,
        failed: 0,
        invalid: 0,
        expired: 0,
        canceled: 0,
      });
    });
    const expectedDeliveries = CLIENTS + accepted.reduce((n, a) => n + new Set(a.clients).size, 0);
    expect(stack.apns.stats().accepted).toBe(expectedDeliveries);
    expect(stack.fcm.stats().accepted).toBe(expectedDeliveries);

    const after = memory();
    // Generous: the simulators in this process also keep every notification they accepted.
    expect(after.heapUsed - before.heapUsed).toBeLessThan(64 * 1024 * 1024);
    for (const w of workers) expect(await w.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const latencies = answers.map((a) => a.ms).sort((x, y) => x - y);
    process.stdout.write(
      `overload: 200 concurrent requests in ${burstMs} ms (p50 ${latencies[100]} ms, max ${latencies[199]} ms): ` +
        `${accepted.length} accepted (key A ${acceptedA}/150, key B 50/50), ${refused.length} refused 429; ` +
        `all ${accepted.length + 1} jobs completed (${expectedDeliveries} notifications per platform); ` +
        `API process heap ${mb(before.heapUsed)} -> ${mb(after.heapUsed)}, RSS ${mb(before.rss)} -> ${mb(after.rss)}\n`,
    );
  });
});
