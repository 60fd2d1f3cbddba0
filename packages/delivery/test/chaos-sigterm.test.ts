import { listQueues, TokenRegistry } from '@push/store';
import { allSent, distinctResults, startTestStack, waitFor, type TestStack } from '@push/testing';

/**
 * SIGTERM to worker processes in the middle of a job: they stop taking chunks, finish the ones in flight
 * (every token they sent has its result recorded), leave nothing active for stall recovery, exit 0; the
 * next workers finish the job, and no token is sent twice.
 */

const iosToken = (n: number) => `5a9e${n.toString(16).padStart(60, '0')}`;
const fcmToken = (n: number) => `sigterm_${String(n).padStart(24, '0')}`;
const CLIENTS = 1500;

describe('SIGTERM during a job', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('chaos-sigterm', {
      workers: { ios: 0, android: 0 },
      // Slow answers keep requests in flight when the signal comes.
      apns: { latencyMs: 150, jitterMs: 50 },
      fcm: { latencyMs: 150, jitterMs: 50 },
      // The default stall detection (10 s locks): a chunk left active would delay the job by that much.
      env: { PUSH_CHUNK_CLIENTS: '100', STALLED_INTERVAL_MS: '5000' },
    });
  });
  afterAll(() => stack.close());

  it('finishes in-flight chunks, exits 0, and the next worker completes the job without resending anything', async () => {
    const registry = new TokenRegistry(stack.api.redis, stack.api.prefix);
    const clients = Array.from({ length: CLIENTS }, (_, i) => `t${i}`);
    await Promise.all(clients.flatMap((c, i) => [registry.register(c, 'ios', iosToken(i)), registry.register(c, 'android', fcmToken(i))]));
    const env = { APNS_BATCH_SIZE: '50', FCM_BATCH_SIZE: '50', WORKER_CONCURRENCY: '3', LOG_LEVEL: 'info' };
    const first = [stack.startWorkerProcess('ios', env), stack.startWorkerProcess('android', env)];
    await Promise.all(first.map((w) => w.waitForOutput(/worker ready/)));

    const jobId = await stack.push(clients, { alert: 'sigterm test' });
    await waitFor(
      () => (stack.apns.received().length >= 300 && stack.fcm.received().length >= 300 ? true : undefined),
      60_000,
      'deliveries',
    );
    const inFlightAtSignal = stack.apns.stats().inFlight + stack.fcm.stats().inFlight;
    const signalledAt = Date.now();
    const exits = await Promise.all(first.map((w) => w.stop('SIGTERM', 60_000)));
    const stopMs = Date.now() - signalledAt;
    expect(exits).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
    for (const w of first) expect(w.output()).toMatch(/"msg":"stopped"/);

    // Nothing left active: no chunk waits for stall recovery.
    for (const { queue } of listQueues(stack.api.queues)) expect(await queue.getActiveCount()).toBe(0);
    // Every token that reached a provider before the exit has its final result recorded.
    const results = await stack.allResults(jobId);
    const recorded = new Set(results.map((r) => `${r.platform}/${r.token}`));
    const sentBeforeExit = [
      ...stack.apns.received().map((n) => `ios/${n.token}`),
      ...stack.fcm.received().map((n) => `android/${n.token}`),
    ];
    expect(sentBeforeExit.filter((t) => !recorded.has(t))).toEqual([]);
    expect(results.every((r) => r.status === 'sent')).toBe(true);
    const status = (await stack.api.request('GET', `/push/jobs/${jobId}`)).body.result;
    expect(status.state).toBe('processing');
    const doneAtExit = results.length;
    expect(doneAtExit).toBeLessThan(2 * CLIENTS);

    // The next workers pick up the rest at once (well within one stall interval).
    const restartedAt = Date.now();
    const second = [stack.startWorkerProcess('ios', env), stack.startWorkerProcess('android', env)];
    const job = await stack.waitForCompletion(jobId, 60_000);
    expect(job.totals).toEqual(allSent(CLIENTS, 2 * CLIENTS));
    const all = await stack.allResults(jobId);
    expect(distinctResults(all)).toBe(2 * CLIENTS);
    // A graceful stop resends nothing: each token reached its provider exactly once.
    for (const sim of [stack.apns, stack.fcm]) {
      expect(sim.received()).toHaveLength(CLIENTS);
      expect(new Set(sim.received().map((n) => n.token)).size).toBe(CLIENTS);
    }
    for (const w of second) expect(await w.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    process.stdout.write(
      `SIGTERM: ${inFlightAtSignal} provider requests in flight at the signal; both workers exited 0 after ${stopMs} ms ` +
        `with ${doneAtExit} of ${2 * CLIENTS} results recorded; the next workers finished in ${Date.now() - restartedAt} ms; 0 sent twice\n`,
    );
  });
});

describe('SIGTERM during an FCM quota pause', () => {
  const RETRY_AFTER_S = 12;
  /** What an orchestrator typically allows between SIGTERM and SIGKILL (Docker's default is 10 s). */
  const STOP_GRACE_MS = 8000;
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('chaos-sigterm-pause', {
      workers: { ios: 0, android: 0 },
      fcm: { throttled: ['quota*'], retryAfterSeconds: RETRY_AFTER_S },
      env: { PUSH_CHUNK_CLIENTS: '10', STALLED_INTERVAL_MS: '5000' },
    });
  });
  afterAll(() => stack.close());

  // A chunk waiting out a quota pause must not hold up shutdown: close() aborts the wait, and the chunk
  // goes back to the queue (delayed until the pause ends, no attempt used) with its unsent tokens.
  it('exits 0 within the stop grace period, and the next worker honours the pause and finishes the job', async () => {
    const registry = new TokenRegistry(stack.api.redis, stack.api.prefix);
    const clients = Array.from({ length: 50 }, (_, i) => `p${i}`);
    const token = (i: number) => `${i < 10 ? 'quota' : 'free'}_${String(i).padStart(24, '0')}`;
    await Promise.all(clients.map((c, i) => registry.register(c, 'android', token(i))));
    const env = { FCM_BATCH_SIZE: '10', WORKER_CONCURRENCY: '2', LOG_LEVEL: 'info' };
    const first = stack.startWorkerProcess('android', env);
    await first.waitForOutput(/worker ready/);
    const jobId = await stack.push(clients, { alert: 'pause' });
    const throttledAt = await waitFor(
      () => ((stack.fcm.stats().rejected.QUOTA_EXCEEDED ?? 0) > 0 ? Date.now() : undefined),
      30_000,
      'a 429',
    );
    stack.fcm.setBehaviour({ throttled: [] });

    const signalledAt = Date.now();
    const exit = await first.stop('SIGTERM', STOP_GRACE_MS);
    process.stdout.write(`SIGTERM during a ${RETRY_AFTER_S} s quota pause: ${JSON.stringify(exit)} after ${Date.now() - signalledAt} ms\n`);
    expect(exit).toEqual({ code: 0, signal: null });
    for (const queue of Object.values(stack.api.queues.android)) expect(await queue.getActiveCount()).toBe(0);

    const second = stack.startWorkerProcess('android', env);
    const done = await waitFor(
      async () => {
        const p = (await stack.api.request('GET', `/push/jobs/${jobId}`)).body.result?.platforms?.android;
        return p && p.chunksDone === p.chunks ? p : undefined;
      },
      60_000,
      'the android chunks',
    );
    expect(done).toMatchObject({ tokens: 50, sent: 50, failed: 0 });
    expect(new Set(stack.fcm.received().map((n) => n.token)).size).toBe(50);
    expect(stack.fcm.received()).toHaveLength(50);
    // The pause outlived the first worker: the throttled tokens went out only after Retry-After.
    const firstQuotaSend = Math.min(...clients.slice(0, 10).map((_, i) => stack.fcm.receivedFor(token(i))[0]!.at));
    expect(firstQuotaSend - throttledAt).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000 - 100);
    expect(await second.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});
