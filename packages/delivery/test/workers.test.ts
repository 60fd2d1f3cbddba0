import { once } from 'node:events';
import { registerMany, startTestStack, waitFor, type TestStack } from '@push/testing';

describe('several workers on one queue', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('workers-shared', { workers: { ios: 2, android: 2 }, env: { PUSH_CHUNK_CLIENTS: '25' } });
  });
  afterAll(() => stack.close());

  it('shares the chunks between two workers per platform, each token sent exactly once', async () => {
    const clients = await registerMany(stack, 500, 's');
    const jobId = await stack.push(clients, { alert: 'shared' });
    const job = await stack.waitForCompletion(jobId);
    expect(job.totals).toMatchObject({ clients: 500, tokens: 1000, sent: 1000 });
    expect(stack.apns.received()).toHaveLength(500);
    expect(new Set(stack.apns.received().map((n) => n.token)).size).toBe(500);
    expect(new Set(stack.fcm.received().map((n) => n.token)).size).toBe(500);
    expect(stack.fcm.received()).toHaveLength(500);
  });
});

describe('a worker process killed in the middle of a job', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('workers-kill', {
      workers: { ios: 0, android: 0 },
      apns: { latencyMs: 30, jitterMs: 10 },
      fcm: { latencyMs: 30, jitterMs: 10 },
      env: { PUSH_CHUNK_CLIENTS: '100', STALLED_INTERVAL_MS: '1000' },
    });
  });
  afterAll(() => stack.close());

  it.each(['ios', 'android'] as const)('%s: a restarted worker finishes the job; every token gets one final result', async (platform) => {
    const clients = await registerMany(stack, 3000, `k${platform}`, platform === 'ios' ? 0 : 10_000);
    const sim = platform === 'ios' ? stack.apns : stack.fcm;
    sim.reset();
    const env = { APNS_BATCH_SIZE: '50', FCM_BATCH_SIZE: '50', WORKER_CONCURRENCY: '2' };
    const first = stack.spawnWorker(platform, env);
    const jobId = await stack.push(clients, { alert: 'crash test' });
    await waitFor(() => (sim.received().length >= 600 ? true : undefined), 30_000, 'some deliveries');
    first.kill('SIGKILL');
    await once(first, 'exit');
    const atKill = sim.received().length;

    stack.spawnWorker(platform, env);
    const job = await waitFor(
      async () => {
        const res = await stack.api.request('GET', `/push/jobs/${jobId}`);
        const p = res.body.result.platforms[platform];
        return p.chunksDone === p.chunks ? res.body.result : undefined;
      },
      60_000,
      'the platform to finish',
    );
    const counts = job.platforms[platform];
    expect(counts).toMatchObject({ tokens: 3000, sent: 3000, failed: 0 });

    const results = (await stack.allResults(jobId)).filter((r) => r.platform === platform);
    expect(results).toHaveLength(3000);
    expect(new Set(results.map((r) => r.token)).size).toBe(3000);

    // The other platform's job also waits on this queue: count only this job's tokens.
    const mine = new Set(results.map((r) => r.token));
    const records = sim.received().filter((n) => mine.has(n.token));
    const delivered = records.map((n) => n.token);
    const duplicates = delivered.length - new Set(delivered).size;
    expect(new Set(delivered).size).toBe(3000);
    // Only what was in flight at the kill can go out twice: at most concurrency x batch size.
    expect(duplicates).toBeLessThanOrEqual(2 * 50);

    // What the device shows: a notification sent twice replaces the first when both carry the same
    // collapse id (APNs apns-collapse-id, FCM android.notification.tag), the job id. Shown twice = a
    // token whose records carry more than one collapse id, or none.
    const collapseId = (n: (typeof records)[number]) =>
      platform === 'ios'
        ? n.headers['apns-collapse-id']
        : (n.body as { message: { android?: { notification?: { tag?: string } } } }).message.android?.notification?.tag;
    const idsByToken = new Map<string, Set<string | undefined>>();
    for (const n of records) idsByToken.set(n.token, (idsByToken.get(n.token) ?? new Set()).add(collapseId(n)));
    const shownTwice = [...idsByToken.values()].filter((ids) => ids.size > 1 || ids.has(undefined)).length;
    expect(new Set(records.map(collapseId))).toEqual(new Set([jobId]));
    expect(shownTwice).toBe(0);
    process.stdout.write(
      `${platform}: killed after ${atKill} deliveries; ${duplicates} sent twice, ${shownTwice} shown twice (one collapse id per job)\n`,
    );
  });
});
