import { once } from 'node:events';
import { allSent, deliveries, registerMany, startTestStack, testFcmToken, testIosToken, waitFor, type TestStack } from '@push/testing';

/** One POST per client (one-user pushes, `high` by their size), `parallel` requests in flight. */
async function pushEach(stack: TestStack, clients: string[], alert: string, parallel = 50): Promise<string[]> {
  const jobIds: string[] = new Array<string>(clients.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < clients.length; i = next++) jobIds[i] = await stack.push([clients[i]!], { alert });
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return jobIds;
}

/** Waits until every job is `completed` (first until the simulators saw each token: a cheaper poll); returns their statuses. */
async function allCompleted(stack: TestStack, jobIds: string[], tokens: number, timeoutMs = 60_000) {
  const seen = () => Math.min(...[stack.apns, stack.fcm].map((sim) => deliveries(sim).distinctTokens));
  await waitFor(() => (seen() >= tokens ? true : undefined), timeoutMs, 'every token delivered');
  return waitFor(
    async () => {
      const jobs = await Promise.all(jobIds.map(async (id) => (await stack.api.request('GET', `/push/jobs/${id}`)).body.result));
      return jobs.every((job) => job.state === 'completed') ? jobs : undefined;
    },
    timeoutMs,
    'every one-user push to complete',
  );
}

describe('one-user pushes by the thousand', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('transactional', {
      workers: { ios: 0, android: 0 },
      apns: { latencyMs: 20, jitterMs: 5 },
      fcm: { latencyMs: 20, jitterMs: 5 },
      env: { STALLED_INTERVAL_MS: '1000', PUSH_CHUNK_CLIENTS: '100' },
    });
  });
  afterAll(() => stack.close());

  it('all complete, each token with one final result, across a worker killed (SIGKILL) among them', async () => {
    const clients = await registerMany(stack, 1000, 't', 0);
    const android = stack.spawnWorker('android');
    const first = stack.spawnWorker('ios');
    const sending = pushEach(stack, clients, 'one-user');
    await waitFor(() => (stack.apns.received().length >= 200 ? true : undefined), 30_000, 'some iOS deliveries');
    first.kill('SIGKILL');
    await once(first, 'exit');
    stack.spawnWorker('ios');
    const jobIds = await sending;

    const jobs = await allCompleted(stack, jobIds, clients.length);
    for (const job of jobs) expect(job.totals).toEqual(allSent(1, 2));
    // Each token delivered (what the simulators accepted); only chunks in flight at the kill may go out twice.
    for (const [sim, token] of [
      [stack.apns, testIosToken],
      [stack.fcm, testFcmToken],
    ] as const) {
      const delivered = sim.received().map((n) => n.token);
      expect(new Set(delivered)).toEqual(new Set(clients.map((_, i) => token(i))));
      expect(delivered.length - new Set(delivered).size).toBeLessThanOrEqual(64);
    }
    android.kill('SIGTERM');
    await once(android, 'exit');
  }, 120_000);

  it('and a campaign sent among them: both finish, every token once', async () => {
    stack.apns.reset();
    stack.fcm.reset();
    for (const platform of ['ios', 'android'] as const) stack.addWorker(platform);
    const campaign = await registerMany(stack, 600, 'c', 10_000);
    const users = await registerMany(stack, 400, 'u', 20_000);
    const campaignJob = stack.push(campaign, { alert: 'campaign' });
    const userJobs = await pushEach(stack, users, 'one-user', 20);
    const [campaignDone, ...usersDone] = await allCompleted(stack, [await campaignJob, ...userJobs], 1000);
    expect(campaignDone.priority).toBe('normal');
    expect(campaignDone.totals).toEqual(allSent(600, 1200));
    for (const job of usersDone) expect(job).toMatchObject({ priority: 'high', totals: allSent(1, 2) });
    const delivered = stack.apns.received().map((n) => n.token);
    expect(delivered).toHaveLength(1000);
    expect(new Set(delivered).size).toBe(1000);
  }, 120_000);
});
