import { once } from 'node:events';
import { TokenRegistry } from '@push/store';
import { startTestStack, waitFor, type TestStack } from '@push/testing';

// Lanes and fair share (contract Part 2), asserted by order, not by timing: one chunk per client
// (PUSH_CHUNK_CLIENTS=1) and iOS tokens named after their client, so the order in which requests reached
// the APNs simulator (it records them on arrival) is the order in which the worker took the chunks.

const iosToken = (client: string) => Buffer.from(client).toString('hex').padEnd(64, '0');
const clientOf = (token: string) => Buffer.from(token.replace(/(00)+$/, ''), 'hex').toString();

/** Clients `<tag>0`..`<tag>{count-1}`, each with one iOS token, registered straight into the registry. */
async function registerIos(stack: TestStack, tag: string, count: number): Promise<string[]> {
  const registry = new TokenRegistry(stack.api.redis, stack.api.prefix);
  const clients = Array.from({ length: count }, (_, i) => `${tag}${i}`);
  await Promise.all(clients.map((c) => registry.register(c, 'ios', iosToken(c))));
  return clients;
}

const receivedClients = (stack: TestStack) => stack.apns.received().map((n) => clientOf(n.token));

async function jobStatus(stack: TestStack, jobId: string) {
  return (await stack.api.request('GET', `/push/jobs/${jobId}`)).body.result;
}

describe('fair share between normal jobs', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('lanes-fair', {
      workers: { ios: 0, android: 0 },
      apns: { latencyMs: 20 },
      env: { PUSH_CHUNK_CLIENTS: '1', WORKER_CONCURRENCY: '1' },
    });
  });
  afterAll(() => stack.close());

  it('takes the chunks of two normal jobs queued together in turns', async () => {
    const a = await registerIos(stack, 'a', 6);
    const b = await registerIos(stack, 'b', 3);
    const jobA = await stack.push(a, { alert: 'A' }, { priority: 'normal' });
    const jobB = await stack.push(b, { alert: 'B' }, { priority: 'normal' });
    // One worker, one normal slot, started once both jobs wait: it takes round 1 of both, then round 2, ...
    stack.addWorker('ios');
    stack.addWorker('android');
    await stack.waitForCompletion(jobA);
    await stack.waitForCompletion(jobB);
    // Chunks of one job may go in another order than listed (docs/lanes.md): the turns are what counts.
    const order = receivedClients(stack);
    expect(order.map((c) => c[0])).toEqual(['a', 'b', 'a', 'b', 'a', 'b', 'a', 'a', 'a']);
    expect(order.filter((c) => c[0] === 'b')).toEqual(b);
    expect(order.filter((c) => c[0] === 'a').sort()).toEqual(a);
  });

  it('lets a job queued while a big one drains progress from its start, not after it', async () => {
    stack.apns.reset();
    const big = await registerIos(stack, 'big', 12);
    const late = await registerIos(stack, 'late', 3);
    const bigJob = await stack.push(big, { alert: 'big' }, { priority: 'normal' });
    await waitFor(() => (stack.apns.received().length >= 3 ? true : undefined), 20_000, 'the big job to be under way');
    const lateJob = await stack.push(late, { alert: 'late' }, { priority: 'normal' });
    await stack.waitForCompletion(lateJob);
    await stack.waitForCompletion(bigJob);
    const order = receivedClients(stack);
    // The late job's chunks (rounds 1-3) are taken next, one after the other, before the big job's
    // later rounds, which follow (in another order than listed for the three whose places it took).
    const at = late.map((c) => order.indexOf(c));
    expect(at).toEqual([at[0], at[0]! + 1, at[0]! + 2]);
    expect(order.slice(0, at[0])).toEqual(big.slice(0, at[0]));
    expect(order.slice(at[2]! + 1).sort()).toEqual(big.slice(at[0]).sort());
    expect(order.length - 1 - at[2]!).toBeGreaterThanOrEqual(4);
  });
});

describe('the high lane', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('lanes-high', {
      workers: { ios: 0, android: 0 },
      // Normal tokens answer after 1 s: a normal chunk holds its slot that long. High tokens answer at once.
      apns: { slow: ['6e*'], slowMs: 1000 },
      // Requests without `priority` naming at most 5 clients are high, larger ones normal.
      env: { PUSH_CHUNK_CLIENTS: '1', WORKER_CONCURRENCY: '2', HIGH_WORKER_CONCURRENCY: '1', PRIORITY_HIGH_MAX_CLIENTS: '5' },
    });
  });
  afterAll(() => stack.close());

  it("takes a high job's chunks before a backlog of normal chunks queued earlier", async () => {
    const normal = await registerIos(stack, 'n', 6);
    const high = await registerIos(stack, 'h', 3);
    const normalJob = await stack.push(normal, { alert: 'campaign' });
    const highJob = await stack.push(high, { alert: 'alert' });
    expect((await jobStatus(stack, normalJob)).priority).toBe('normal');
    expect((await jobStatus(stack, highJob)).priority).toBe('high');
    // Both jobs wait (6 normal chunks queued first), then one worker process starts.
    stack.addWorker('ios');
    stack.addWorker('android');
    const done = await stack.waitForCompletion(highJob);
    expect(done.totals).toMatchObject({ tokens: 3, sent: 3 });
    // Every high chunk went out while the normal backlog still waited: no normal token answered yet, and
    // only the two normal slots' chunks left the queue.
    expect((await jobStatus(stack, normalJob)).totals.sent).toBe(0);
    expect(receivedClients(stack).filter((c) => c.startsWith('n')).length).toBeLessThanOrEqual(2);
    expect(await stack.api.queues.ios.normal.getPrioritizedCount()).toBeGreaterThanOrEqual(4);
    await stack.waitForCompletion(normalJob, 60_000);
  });

  it('starts a high chunk while every normal slot of the worker is busy', async () => {
    stack.apns.reset();
    const normal = await registerIos(stack, 'n2-', 4);
    const high = await registerIos(stack, 'h2-', 1);
    const normalJob = await stack.push(normal, { alert: 'campaign' }, { priority: 'normal' });
    // Both normal slots (WORKER_CONCURRENCY=2) hold a chunk whose request is with the provider.
    await waitFor(
      async () => ((await stack.api.queues.ios.normal.getActiveCount()) === 2 && stack.apns.stats().inFlight === 2 ? true : undefined),
      20_000,
      'both normal slots busy',
    );
    const highJob = await stack.push(high, { alert: 'alert' });
    const done = await stack.waitForCompletion(highJob);
    expect(done).toMatchObject({ priority: 'high', totals: { tokens: 1, sent: 1 } });
    // The normal slots were still busy with their first chunks when the high one finished.
    expect((await jobStatus(stack, normalJob)).totals.sent).toBe(0);
    expect(receivedClients(stack).sort()).toEqual(['h2-0', 'n2-0', 'n2-1']);
    expect(await stack.api.queues.ios.normal.getActiveCount()).toBe(2);
    await stack.waitForCompletion(normalJob, 60_000);
  });
});

describe('a worker killed mid-blast with a high job in flight', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('lanes-kill', {
      workers: { ios: 0, android: 0 },
      apns: { latencyMs: 30, jitterMs: 10, slow: ['68*'], slowMs: 1000 },
      env: { PUSH_CHUNK_CLIENTS: '100', STALLED_INTERVAL_MS: '1000' },
    });
  });
  afterAll(() => stack.close());

  it('ends with exactly one result per token of both jobs', async () => {
    const blast = await registerIos(stack, 'b', 2000);
    // High tokens start with 'h' (hex 68): slow, so the high chunk is with the provider at the kill.
    const alert = await registerIos(stack, 'h', 20);
    const env = { APNS_BATCH_SIZE: '50', WORKER_CONCURRENCY: '2', HIGH_WORKER_CONCURRENCY: '1' };
    const first = stack.spawnWorker('ios', env);
    stack.spawnWorker('android', env);
    const blastJob = await stack.push(blast, { alert: 'blast' });
    await waitFor(() => (stack.apns.received().length >= 300 ? true : undefined), 30_000, 'the blast under way');
    const highJob = await stack.push(alert, { alert: 'security alert' });
    await waitFor(
      async () => ((await jobStatus(stack, highJob)).state === 'processing' ? true : undefined),
      10_000,
      'the high job in flight',
    );
    first.kill('SIGKILL');
    await once(first, 'exit');
    expect((await jobStatus(stack, highJob)).state).toBe('processing');

    stack.spawnWorker('ios', env);
    for (const [jobId, clients] of [
      [highJob, alert],
      [blastJob, blast],
    ] as const) {
      const job = await stack.waitForCompletion(jobId, 60_000);
      expect(job.platforms.ios).toMatchObject({ tokens: clients.length, sent: clients.length, failed: 0 });
      const results = (await stack.allResults(jobId)).filter((r) => r.platform === 'ios');
      expect(results).toHaveLength(clients.length);
      expect(new Set(results.map((r) => r.token)).size).toBe(clients.length);
      const delivered = new Set(stack.apns.received().map((n) => n.token));
      for (const c of clients) expect(delivered.has(iosToken(c))).toBe(true);
    }
  });
});
